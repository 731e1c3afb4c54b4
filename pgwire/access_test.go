package pgwire

import (
	"context"
	"strings"
	"testing"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/semantic"
)

// TestAccessAsRoles checks that the SQL API shows and answers exactly what GraphQL does for the
// demo's roles: east_sales sees only the east's rows and no customers.name — in pg_attribute,
// information_schema and queries alike, where naming it fails as a column that never existed
// does; a viewer may read the catalog but not query; the demo user sees everything.
func TestAccessAsRoles(t *testing.T) {
	ctx := context.Background()
	addr := testServer(t, Options{})
	eastToken := tokenFor(t, "bob", "east_sales", map[string]any{"region": "east"})
	east := connect(t, addr, "bob", eastToken)
	analyst := connect(t, addr, "demo", "demo")

	count := func(sql string, as string) int64 {
		t.Helper()
		conn := analyst
		if as == "east" {
			conn = east
		}
		var n int64
		if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}
	const nameInAttribute = `SELECT count(*) FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'sales' AND c.relname = 'orders' AND a.attname = 'customers.name'`
	const nameInColumns = `SELECT count(*) FROM information_schema.columns WHERE table_schema = 'sales' AND table_name = 'customers' AND column_name = 'name'`
	if n := count(nameInAttribute, "analyst"); n != 1 {
		t.Errorf("the analyst sees customers.name in pg_attribute %d times, want 1", n)
	}
	if n := count(nameInColumns, "analyst"); n != 1 {
		t.Errorf("the analyst sees customers.name in information_schema %d times, want 1", n)
	}
	if n := count(nameInAttribute, "east"); n != 0 {
		t.Errorf("east_sales sees customers.name in pg_attribute %d times, want 0", n)
	}
	if n := count(nameInColumns, "east"); n != 0 {
		t.Errorf("east_sales sees customers.name in information_schema %d times, want 0", n)
	}
	if n := count(`SELECT count(*) FROM information_schema.columns WHERE column_name IN ('coupon_rate', 'net_take_rate')`, "east"); n != 0 {
		t.Errorf("east_sales sees finance's metrics as %d columns, want 0", n)
	}

	// Naming the hidden column fails exactly as naming one that never existed.
	_, hidden := east.Exec(ctx, `SELECT customers.name, order_count FROM sales.orders GROUP BY 1`)
	_, missing := east.Exec(ctx, `SELECT customers.nome, order_count FROM sales.orders GROUP BY 1`)
	he := wantSQLError(t, hidden, codeUndefinedColumn, "customers.name")
	me := wantSQLError(t, missing, codeUndefinedColumn, "customers.nome")
	if strings.ReplaceAll(he.Message, "customers.name", "X") != strings.ReplaceAll(me.Message, "customers.nome", "X") ||
		strings.ReplaceAll(he.Hint, "customers.name", "X") != strings.ReplaceAll(me.Hint, "customers.nome", "X") || he.Position != me.Position {
		t.Errorf("hidden and missing columns differ:\n%+v\n%+v", he, me)
	}
	_, hiddenMetric := east.Exec(ctx, `SELECT coupon_rate FROM sales.orders`)
	wantSQLError(t, hiddenMetric, codeUndefinedColumn, "coupon_rate")

	// Row filters: east_sales counts only the east's orders, as the service does for it.
	rows, err := east.Query(ctx, `SELECT orders.region, order_count, gmv_paid FROM sales.orders GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var regions []string
	var eastOrders int64
	for rows.Next() {
		var region string
		var n int64
		var gmv any
		if err := rows.Scan(&region, &n, &gmv); err != nil {
			t.Fatal(err)
		}
		regions = append(regions, region)
		eastOrders = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(regions) != 1 || regions[0] != "east" {
		t.Fatalf("east_sales sees regions %v, want only east", regions)
	}
	who := &authz.Principal{Subject: "bob", Tenant: "demo", Roles: []string{"east_sales"}, Attributes: map[string]any{"region": "east"}}
	acc, err := fixture.svc.Access(who)
	if err != nil {
		t.Fatal(err)
	}
	res, err := fixture.svc.Query(ctx, acc, semantic.MetricQuery{Metrics: []string{"order_count"}})
	if err != nil {
		t.Fatal(err)
	}
	want := res.Batches[0].Column(0).ValueStr(0)
	res.Release()
	if got := count(`SELECT order_count FROM sales.orders`, "east"); want != itoa(got) || got != eastOrders {
		t.Errorf("east_sales counts %d orders over SQL (%d by region); the service counts %s", got, eastOrders, want)
	}
	if all := count(`SELECT order_count FROM sales.orders`, "analyst"); all <= eastOrders {
		t.Errorf("the analyst counts %d orders, east_sales %d", all, eastOrders)
	}

	// A viewer may read the catalog but not query.
	viewer := connect(t, addr, "vic", tokenFor(t, "vic", "viewer", nil))
	if n := func() int64 {
		var n int64
		if err := viewer.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}(); n == 0 {
		t.Error("a viewer sees no tables")
	}
	_, err = viewer.Exec(ctx, `SELECT order_count FROM sales.orders`)
	wantSQLError(t, err, codeInsufficientPriv, "may see metric order_count but not query it")
}
