package pgwire

import (
	"context"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
	"github.com/koujing/koujing/semantic/store"
)

// TestApplicationNameInLineage: a session's application_name, given at startup as BI tools give
// it or changed with SET, is the client its queries are audited as, and lineage shows it as a
// consumer of the metric, owned by the session's user.
func TestApplicationNameInLineage(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	defs, err := semantic.SplitDefinitions(demo.FS)
	if err != nil {
		t.Fatal(err)
	}
	gov, err := semantic.OpenGovernance(ctx, st, defs, semantic.GovernanceOptions{Resolver: semantic.SourcesResolver(fixture.src), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gov.Close)
	a, err := demo.NewAuthorizerFor(ctx, gov.Catalog, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	svc := semantic.NewService(gov.Catalog(), engine.New(fixture.src, engine.Options{Allocator: fixture.queryMem}),
		semantic.ServiceOptions{Authorizer: a, Governance: gov})
	// Served here rather than by testServer, which serves the fixture's ungoverned service.
	srv := New(svc, Options{Authenticator: demoAuthenticator(t), Logger: quietLogger()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	addr := ln.Addr().String()

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
