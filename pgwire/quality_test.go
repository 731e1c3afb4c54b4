package pgwire

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/store"
)

// governedServer serves the demo's definitions kept in a new metadata store, after running
// gmv_placed's quality rules (orders_fresh fails: the demo's data ends with 2025) and
// deprecating coupon_spend_placed in favour of coupon_spend.
func governedServer(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	demoStore := governedDemo(t)
	svc, gov := demoStore.Service, demoStore.Governance
	if _, err := svc.RunQualityRules(ctx, svc.Catalog().FullAccess(), semantic.QualitySelection{Metric: "gmv_placed"}); err != nil {
		t.Fatal(err)
	}
	as := func(sub, role string) *semantic.Access {
		acc, err := svc.Access(&authz.Principal{Subject: sub, Tenant: "demo", Roles: []string{role}})
		if err != nil {
			t.Fatal(err)
		}
		return acc
	}
	dep := &store.Deprecation{Replacement: "coupon_spend", Sunset: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)}
	cr, err := gov.Propose(ctx, as("ann", "analyst"), semantic.Proposal{Title: "deprecate",
		Items: []semantic.ProposedItem{{Action: store.Deprecate, Kind: store.KindMetric, Name: "coupon_spend_placed", Deprecation: dep}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gov.Review(ctx, as("fay", "finance_steward"), cr.ID, cr.Revision, store.Approve, ""); err != nil {
		t.Fatal(err)
	}
	return serveService(t, svc, Options{})
}

// TestQualityNotices checks that a SQL client is told what a GraphQL client reads in
// extensions.quality and extensions.warnings, as PostgreSQL tells of warnings: psql prints a
// WARNING for gmv_placed's red line and for a deprecated metric; pgx receives the notices, over
// the extended protocol as over the simple one, and the rows as before; a role that may not see
// a metric is told nothing of it.
func TestQualityNotices(t *testing.T) {
	addr := governedServer(t)

	out, err := runPsql(t, addr, "demo", "demo", `SELECT orders.region, gmv_placed FROM sales.orders GROUP BY 1 ORDER BY 1`,
		`SELECT coupon_spend_placed FROM sales.orders`, `SELECT customer_count FROM sales.customers`)
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	for _, want := range []string{
		"WARNING:  metric gmv_placed crossed a quality red line (score 92.86 of 100): rule orders_fresh (freshness) failed, measuring ",
		"HINT:  The numbers were computed",
		"WARNING:  metric coupon_spend_placed is deprecated; use coupon_spend instead (it will be retired on 2027-03-01)",
		"WARNING:  metric coupon_spend_placed crossed a quality red line",
		" east    | ", "(5 rows)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("psql's output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "WARNING:"); n != 3 {
		t.Errorf("psql printed %d warnings, want 3 (customer_count has no rules):\n%s", n, out)
	}

	// pgx, with a prepared statement and with the simple protocol.
	var mu sync.Mutex
	var notices []*pgconn.Notice
	connectNoticed := func(user, password string) *pgx.Conn {
		cfg, err := pgx.ParseConfig(connURL(addr, user, password))
		if err != nil {
			t.Fatal(err)
		}
		cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
			mu.Lock()
			defer mu.Unlock()
			notices = append(notices, n)
		}
		conn, err := pgx.ConnectConfig(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(context.Background()) })
		return conn
	}
	taken := func() []*pgconn.Notice {
		mu.Lock()
		defer mu.Unlock()
		n := notices
		notices = nil
		return n
	}
	ctx := context.Background()
	conn := connectNoticed("demo", "demo")
	const sql = `SELECT orders.region, gmv_placed FROM sales.orders WHERE channel = $1 GROUP BY 1 ORDER BY 1`
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol} {
		for range 2 {
			rows, err := conn.Query(ctx, sql, mode, "app")
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for rows.Next() {
				n++
			}
			if err := rows.Err(); err != nil || n != 5 {
				t.Fatalf("%v: %d rows, %v", mode, n, err)
			}
			got := taken()
			if len(got) != 1 || got[0].Severity != "WARNING" || got[0].Code != "01000" ||
				!strings.HasPrefix(got[0].Message, "metric gmv_placed crossed a quality red line") || !strings.Contains(got[0].Message, "orders_fresh") {
				t.Errorf("%v: notices %+v", mode, got)
			}
		}
	}

	// east_sales may not see coupon_rate, built on the orders: no notice tells of it.
	east := connectNoticed("eve", tokenFor(t, "eve", "east_sales", map[string]any{"region": "east"}))
	_, err = east.Exec(ctx, `SELECT coupon_rate FROM sales.orders`)
	wantSQLError(t, err, codeUndefinedColumn, "coupon_rate")
	if got := taken(); len(got) != 0 {
		t.Errorf("east_sales was told %+v", got)
	}
	var v float64
	if err := east.QueryRow(ctx, `SELECT gmv_placed FROM sales.orders`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if got := taken(); len(got) != 1 || !strings.Contains(got[0].Message, "orders_fresh") {
		t.Errorf("east_sales's notices for gmv_placed: %+v", got)
	}
}
