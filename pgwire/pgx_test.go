package pgwire

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// connect opens a pgx connection to addr with a password; the connection closes with the test.
func connect(t testing.TB, addr, user, password string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), connURL(addr, user, password))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func connURL(addr, user, password string) string {
	return fmt.Sprintf("postgres://%s:%s@%s/koujing?sslmode=disable", user, password, addr)
}

// wantSQLError checks that err is a PostgreSQL error with that SQLSTATE whose message contains
// each of want.
func wantSQLError(t testing.TB, err error, code string, want ...string) *pgconn.PgError {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		t.Fatalf("want SQLSTATE %s, got %v", code, err)
	}
	if pe.Code != code {
		t.Errorf("SQLSTATE %s (%s), want %s", pe.Code, pe.Message, code)
	}
	for _, w := range want {
		if !strings.Contains(pe.Message+" "+pe.Hint, w) {
			t.Errorf("message %q (hint %q) does not mention %q", pe.Message, pe.Hint, w)
		}
	}
	return pe
}

// TestPgxPreparedStatements runs parameterised queries through pgx's extended protocol: named
// prepared statements, parameters in WHERE and LIMIT, and results in binary, which pgx asks for.
func TestPgxPreparedStatements(t *testing.T) {
	ctx := context.Background()
	conn := connect(t, testServer(t, Options{}), "demo", "demo")
	sd, err := conn.Prepare(ctx, "by_region", `SELECT orders.region, gmv_paid, order_count, aov, date_trunc('month', created_at) AS month
		FROM sales.orders WHERE channel = $1 AND created_at >= $2 AND created_at < $3 GROUP BY 1, 5 ORDER BY 5, 1 LIMIT $4`)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(sd.ParamOIDs); got != 4 {
		t.Fatalf("%d parameters, want 4", got)
	}
	wantTypes := []uint32{oidText, oidTimestamptz, oidTimestamptz, oidInt8}
	for i, oid := range sd.ParamOIDs {
		if oid != wantTypes[i] {
			t.Errorf("parameter $%d has type %d, want %d", i+1, oid, wantTypes[i])
		}
	}
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	rows, err := conn.Query(ctx, "by_region", "app", from, from.AddDate(0, 2, 0), 7)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		region string
		gmv    pgtype.Numeric
		orders int64
		aov    float64
		month  time.Time
	}
	var got []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.region, &r.gmv, &r.orders, &r.aov, &r.month); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 7 {
		t.Fatalf("%d rows, want the 7 the limit asks for", len(got))
	}
	if !got[0].month.Equal(from) || got[0].region != "central" {
		t.Errorf("first row %+v, want central in January 2025", got[0])
	}
	for _, r := range got {
		if !r.gmv.Valid || r.orders <= 0 || r.aov <= 0 {
			t.Errorf("row %+v has an empty metric", r)
		}
	}
	// The same through GraphQL's question, compiled by the semantic layer directly.
	acc, err := fixture.svc.Access(demoPrincipal())
	if err != nil {
		t.Fatal(err)
	}
	res, err := fixture.svc.Query(ctx, acc, sqlToQuery(t, `SELECT orders.region, gmv_paid, order_count, aov, date_trunc('month', created_at) AS month
		FROM sales.orders WHERE channel = 'app' AND created_at >= '2025-01-01' AND created_at < '2025-03-01' GROUP BY 1, 5 ORDER BY 5, 1 LIMIT 7`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Release()
	if res.Rows != int64(len(got)) {
		t.Errorf("the service returns %d rows, the SQL API %d", res.Rows, len(got))
	}
	var aovSum float64
	for _, r := range got {
		aovSum += r.aov
	}
	if aovSum == 0 {
		t.Error("no average order value came back")
	}

	// Unnamed statements with parameters, as pgx sends a Query with arguments, and a NULL parameter.
	var n int64
	if err := conn.QueryRow(ctx, "SELECT order_count FROM sales.orders WHERE orders.region IN ($1, $2)", "east", "west").Scan(&n); err != nil || n <= 0 {
		t.Errorf("order_count in east and west: %d, %v", n, err)
	}
	var all int64
	if err := conn.QueryRow(ctx, "SELECT order_count FROM sales.orders").Scan(&all); err != nil || all != int64(fixture.ds.Table("orders").NumRows()) {
		t.Errorf("order_count: %d, %v; want %d", all, err, fixture.ds.Table("orders").NumRows())
	}
	if n >= all {
		t.Errorf("east and west have %d of %d orders", n, all)
	}
	// The simple protocol runs the same statements.
	var simple int64
	if err := conn.QueryRow(ctx, "SELECT order_count FROM sales.orders WHERE orders.region IN ($1, $2)", pgx.QueryExecModeSimpleProtocol, "east", "west").Scan(&simple); err != nil || simple != n {
		t.Errorf("simple protocol: %d, %v; want %d", simple, err, n)
	}
	// A catalog query with a parameter, as tools look tables up.
	var table string
	if err := conn.QueryRow(ctx, "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname LIKE $2", "sales", "order%").Scan(&table); err != nil {
		t.Fatal(err)
	}
	if table != "order_items" && table != "orders" {
		t.Errorf("catalog lookup found %q", table)
	}
	// Errors in the extended protocol leave the connection usable.
	_, err = conn.Exec(ctx, "SELECT nope FROM sales.orders WHERE channel = $1", "app")
	wantSQLError(t, err, codeUndefinedColumn, `column nope does not exist`)
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil || n != 1 {
		t.Errorf("after an error: %d, %v", n, err)
	}
}
