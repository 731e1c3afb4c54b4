package pgwire

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/semantic"
)

// TestApplicationNameInLineage: a session's application_name, given at startup as BI tools give
// it or changed with SET, is the client its queries are audited as, and lineage shows it as a
// consumer of the metric, owned by the session's user.
func TestApplicationNameInLineage(t *testing.T) {
	ctx := context.Background()
	demoStore := governedDemo(t)
	svc, gov := demoStore.Service, demoStore.Governance
	// Served here rather than by testServer, which serves the fixture's ungoverned service.
	addr := serveService(t, svc, Options{})

	conn, err := pgx.Connect(ctx, connURL(addr, "demo", "demo")+"&application_name="+url.PathEscape("Metabase v0.50.3"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, "SELECT order_count FROM sales.orders").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "SET application_name = 'DBeaver 24.1.0'"); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT order_count FROM sales.orders").Scan(&n); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	gov.Close() // flushes the audit of queries

	admin, err := svc.Access(&authz.Principal{Subject: "ada", Tenant: "demo", Roles: []string{"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := svc.Lineage().Graph(ctx, admin, semantic.LineageQuery{Kind: semantic.LineageMetric, Key: "order_count", Direction: semantic.Downstream, Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	var consumers []string
	for _, n := range g.Nodes {
		if n.Kind == semantic.LineageConsumer {
			consumers = append(consumers, n.Key+" owned by "+strings.Join(n.Owners, ","))
		}
	}
	if want := []string{"DBeaver 24.1.0 (demo@demo) owned by demo@demo", "Metabase v0.50.3 (demo@demo) owned by demo@demo"}; !slices.Equal(consumers, want) {
		t.Errorf("consumers of order_count %q, want %q", consumers, want)
	}
}
