package pgwire

import (
	"context"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/koujing/koujing/semantic"
)

// codeWarning is the SQLSTATE of a warning (01000), as PostgreSQL sends it with a notice.
const codeWarning = "01000"

// warnAbout tells the client what a GraphQL client reads in extensions.warnings and
// extensions.quality: each deprecated metric of a result, with its replacement and sunset, and
// each metric whose quality rules did not all pass. Each goes in a notice of severity WARNING,
// sent before the result's rows as PostgreSQL sends the warnings of a statement; psql prints
// them, drivers hand them to their notice handlers, and, notices being allowed at any time, the
// extended protocol's exchange is unchanged.
func (c *conn) warnAbout(ctx context.Context, acc *semantic.Access, metrics, warnings []string) {
	for _, w := range warnings {
		c.be.Send(warning(w, ""))
	}
	for _, f := range c.srv.svc.ResultQualityFlags(ctx, acc, metrics) {
		c.be.Send(warning(f.Message(), "The numbers were computed, but the data they read may be incomplete, stale or inconsistent; ask the metric's owner before relying on them."))
	}
}

// warning is a notice of severity WARNING.
func warning(msg, hint string) *pgproto3.NoticeResponse {
	return &pgproto3.NoticeResponse{Severity: "WARNING", SeverityUnlocalized: "WARNING", Code: codeWarning, Message: msg, Hint: hint}
}
