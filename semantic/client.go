package semantic

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The client of a query is the program that asked it on a principal's behalf: a dashboard, a
// notebook, a BI tool, a saved GraphQL operation. It is recorded with the query in the audit log,
// so that lineage shows which dashboards and tools read a metric, not only who ran them.
//
// It travels in the context rather than in MetricQuery because it is not part of the question:
// the same question from Metabase and from psql is compiled to the same plan and shares one
// cached result, and every surface already hands its request's context to Service.Query.

// ClientHeader is the HTTP header in which a client names itself to GraphQL, POST /arrow and
// MCP over HTTP: a dashboard ("metabase/dashboard/12"), a chart ("superset:chart:Sales by
// region"), a notebook. The surfaces read it; it is here so that they all read the same one.
const ClientHeader = "X-Koujing-Client"

// MaxClientChars bounds the length of a client's name, in characters; a longer one is cut.
const MaxClientChars = 200

type clientKey struct{}

// WithClient returns ctx carrying the name of the client that asks the queries run under it, as
// CleanClient leaves it; an empty name leaves ctx without one.
func WithClient(ctx context.Context, name string) context.Context {
	name = CleanClient(name)
	if name == "" {
		return ctx
	}
	return context.WithValue(ctx, clientKey{}, name)
}

// ClientOf returns the name of the client ctx carries, or "".
func ClientOf(ctx context.Context) string {
	name, _ := ctx.Value(clientKey{}).(string)
	return name
}

// CleanClient makes a client's name, which the client chose, fit to show: invalid UTF-8,
// control and format characters (such as bidirectional overrides, which would turn the text
// around it) are dropped, spaces, tabs and line breaks become single spaces, and the name is
// cut to MaxClientChars characters. It is display text only, never put into SQL.
func CleanClient(name string) string {
	var b strings.Builder
	n, space := 0, false
	for _, r := range name {
		if n == MaxClientChars {
			break
		}
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			continue
		}
		if space {
			if n+1 == MaxClientChars {
				break // rather than end on a space
			}
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
