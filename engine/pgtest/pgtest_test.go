package pgtest_test

import (
	"context"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/engine/pgtest"
	"github.com/koujing/koujing/engine/postgres"
	"github.com/koujing/koujing/engine/source"
)

const scale = 0.01

func generate(t *testing.T) *demodata.Dataset {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	d, err := demodata.Generate(context.Background(), mem, scale)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Release()
		mem.AssertSize(t, 0)
	})
	return d
}

// aggregates are facts about the demo data, each as PostgreSQL prints it. They are computed
// in SQL from a loaded schema and in Go from the Arrow data, and must agree.
type aggregates map[string]string

// aggregateSQL computes the aggregates of the demo schema %[1]s.
var aggregateSQL = map[string]string{
	"customers":        `SELECT count(*)::text FROM %[1]s.customers`,
	"products":         `SELECT count(*)::text FROM %[1]s.products`,
	"orders":           `SELECT count(*)::text FROM %[1]s.orders`,
	"order_items":      `SELECT count(*)::text FROM %[1]s.order_items`,
	"inventory":        `SELECT count(*)::text FROM %[1]s.inventory`,
	"sum(units)":       `SELECT sum(units_on_hand)::text FROM %[1]s.inventory`,
	"sum(amount)":      `SELECT sum(amount)::text FROM %[1]s.orders`,
	"sum(coupon)":      `SELECT sum(coupon_amount)::text FROM %[1]s.orders`,
	"count(paid_at)":   `SELECT count(paid_at)::text FROM %[1]s.orders`,
	"sum(items)":       `SELECT sum(quantity * price)::text FROM %[1]s.order_items`,
	"distinct cities":  `SELECT count(DISTINCT city)::text FROM %[1]s.customers`,
	"sum(unit_price)":  `SELECT sum(unit_price)::text FROM %[1]s.products`,
	"max(created_at)":  `SELECT max(created_at)::text FROM %[1]s.orders`,
	"min(signup_date)": `SELECT min(signup_date)::text FROM %[1]s.customers`,
}

func sqlAggregates(t *testing.T, pool *pgxpool.Pool, schema string) aggregates {
	t.Helper()
	got := aggregates{}
	for name, sql := range aggregateSQL {
		var v string
		if err := pool.QueryRow(context.Background(), fmt.Sprintf(sql, pgx.Identifier{schema}.Sanitize())).Scan(&v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got[name] = v
	}
	return got
}

func arrowAggregates(t *testing.T, d *demodata.Dataset) aggregates {
	t.Helper()
	want := aggregates{}
	for _, tab := range d.Tables() {
		want[tab.Name()] = fmt.Sprint(tab.NumRows())
	}
	amount, coupon, items, unitPrice := new(big.Int), new(big.Int), new(big.Int), new(big.Int)
	paid := 0
	var maxCreated arrow.Timestamp
	forEachRow(d.Table(demodata.Orders), func(b arrow.RecordBatch, i int) {
		amount.Add(amount, col[*array.Decimal128](b, "amount").Value(i).BigInt())
		if c := col[*array.Decimal128](b, "coupon_amount"); c.IsValid(i) {
			coupon.Add(coupon, c.Value(i).BigInt())
		}
		if col[*array.Timestamp](b, "paid_at").IsValid(i) {
			paid++
		}
		maxCreated = max(maxCreated, col[*array.Timestamp](b, "created_at").Value(i))
	})
	forEachRow(d.Table(demodata.OrderItems), func(b arrow.RecordBatch, i int) {
		q := big.NewInt(int64(col[*array.Int32](b, "quantity").Value(i)))
		items.Add(items, q.Mul(q, col[*array.Decimal128](b, "price").Value(i).BigInt()))
	})
	forEachRow(d.Table(demodata.Products), func(b arrow.RecordBatch, i int) {
		unitPrice.Add(unitPrice, col[*array.Decimal128](b, "unit_price").Value(i).BigInt())
	})
	cities := map[string]bool{}
	minSignup := arrow.Date32(1 << 30)
	forEachRow(d.Table(demodata.Customers), func(b arrow.RecordBatch, i int) {
		if c := col[*array.Dictionary](b, "city"); c.IsValid(i) {
			cities[c.Dictionary().(*array.String).Value(c.GetValueIndex(i))] = true
		}
		minSignup = min(minSignup, col[*array.Date32](b, "signup_date").Value(i))
	})
	want["sum(amount)"] = cents(amount)
	want["sum(coupon)"] = cents(coupon)
	want["count(paid_at)"] = fmt.Sprint(paid)
	want["sum(items)"] = cents(items)
	want["distinct cities"] = fmt.Sprint(len(cities))
	want["sum(unit_price)"] = cents(unitPrice)
	want["max(created_at)"] = maxCreated.ToTime(arrow.Microsecond).Format("2006-01-02 15:04:05.999999-07")
	want["min(signup_date)"] = minSignup.FormattedString()
	units := 0
	forEachRow(d.Table(demodata.Inventory), func(b arrow.RecordBatch, i int) {
		units += int(col[*array.Int32](b, "units_on_hand").Value(i))
	})
	want["sum(units)"] = fmt.Sprint(units)
	return want
}

// cents formats an amount of cents as PostgreSQL prints a numeric of scale 2.
func cents(n *big.Int) string {
	s := fmt.Sprintf("%03s", n.String())
	return s[:len(s)-2] + "." + s[len(s)-2:]
}

func forEachRow(tab *source.Table, fn func(b arrow.RecordBatch, i int)) {
	for _, b := range tab.Batches() {
		for i := range int(b.NumRows()) {
			fn(b, i)
		}
	}
}

func col[T arrow.Array](b arrow.RecordBatch, name string) T {
	return b.Column(b.Schema().FieldIndices(name)[0]).(T)
}

func compare(t *testing.T, what string, got, want aggregates) {
	t.Helper()
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %s = %s, want %s", what, name, got[name], w)
		}
	}
}

func TestLoadDemo(t *testing.T) {
	pool := pgtest.Connect(t)
	d := generate(t)
	schema := pgtest.LoadDemo(t, pool, d)
	compare(t, "loaded with CopyTable", sqlAggregates(t, pool, schema), arrowAggregates(t, d))

	rows, err := pool.Query(context.Background(), `
		SELECT table_name || '.' || column_name || ' ' ||
			CASE WHEN data_type = 'numeric' THEN format('numeric(%s,%s)', numeric_precision, numeric_scale) ELSE data_type END ||
			CASE WHEN is_nullable = 'YES' THEN ' NULL' ELSE ' NOT NULL' END
		FROM information_schema.columns WHERE table_schema = $1
		ORDER BY array_position(ARRAY['customers', 'products', 'orders', 'order_items', 'inventory'], table_name::text), ordinal_position`, schema)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"customers.customer_id bigint NOT NULL",
		"customers.name text NOT NULL",
		"customers.segment text NOT NULL",
		"customers.region text NOT NULL",
		"customers.city text NULL",
		"customers.signup_date date NOT NULL",
		"products.product_id bigint NOT NULL",
		"products.category text NOT NULL",
		"products.brand text NOT NULL",
		"products.unit_price numeric(10,2) NOT NULL",
		"orders.order_id bigint NOT NULL",
		"orders.customer_id bigint NOT NULL",
		"orders.channel text NOT NULL",
		"orders.status text NOT NULL",
		"orders.created_at timestamp with time zone NOT NULL",
		"orders.paid_at timestamp with time zone NULL",
		"orders.amount numeric(12,2) NOT NULL",
		"orders.coupon_amount numeric(12,2) NULL",
		"orders.region text NOT NULL",
		"order_items.item_id bigint NOT NULL",
		"order_items.order_id bigint NOT NULL",
		"order_items.product_id bigint NOT NULL",
		"order_items.quantity integer NOT NULL",
		"order_items.price numeric(10,2) NOT NULL",
		"inventory.snapshot_id bigint NOT NULL",
		"inventory.snapshot_date date NOT NULL",
		"inventory.product_id bigint NOT NULL",
		"inventory.warehouse text NOT NULL",
		"inventory.units_on_hand integer NOT NULL",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("columns are\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	var keys int
	err = pool.QueryRow(context.Background(), `SELECT count(*) FROM information_schema.table_constraints
		WHERE table_schema = $1 AND constraint_type = 'PRIMARY KEY'`, schema).Scan(&keys)
	if err != nil {
		t.Fatal(err)
	}
	if keys != 5 {
		t.Errorf("%d tables have a primary key, want 5", keys)
	}
}

// TestCSVMatchesArrow loads the CSV files of WriteCSV with COPY ... FORMAT csv next to the
// tables loaded from Arrow and checks that both hold exactly the same rows.
func TestCSVMatchesArrow(t *testing.T) {
	pool := pgtest.Connect(t)
	d := generate(t)
	fromArrow := pgtest.LoadDemo(t, pool, d)
	fromCSV := pgtest.NewSchema(t, pool)
	dir := t.TempDir()
	ctx := context.Background()
	if err := demodata.WriteCSV(ctx, dir, d); err != nil {
		t.Fatal(err)
	}

	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, tab := range d.Tables() {
		ddl, err := postgres.CreateTableSQL(fromCSV, tab.Name(), tab.Schema())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, ddl); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(filepath.Join(dir, tab.Name()+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		copySQL := fmt.Sprintf("COPY %s FROM STDIN WITH (FORMAT csv, HEADER true)", pgx.Identifier{fromCSV, tab.Name()}.Sanitize())
		tag, err := conn.Conn().PgConn().CopyFrom(ctx, f, copySQL)
		if err != nil {
			t.Fatalf("%s: %v", copySQL, err)
		}
		if tag.RowsAffected() != tab.NumRows() {
			t.Errorf("COPY %s loaded %d rows, want %d", tab.Name(), tag.RowsAffected(), tab.NumRows())
		}
	}

	compare(t, "loaded from CSV", sqlAggregates(t, pool, fromCSV), sqlAggregates(t, pool, fromArrow))
	for _, name := range demodata.TableNames() {
		var diff int64
		a, c := pgx.Identifier{fromArrow, name}.Sanitize(), pgx.Identifier{fromCSV, name}.Sanitize()
		sql := fmt.Sprintf("SELECT (SELECT count(*) FROM (TABLE %[1]s EXCEPT ALL TABLE %[2]s) x) + (SELECT count(*) FROM (TABLE %[2]s EXCEPT ALL TABLE %[1]s) y)", a, c)
		if err := pool.QueryRow(ctx, sql).Scan(&diff); err != nil {
			t.Fatal(err)
		}
		if diff != 0 {
			t.Errorf("%s: %d rows differ between the Arrow and the CSV load", name, diff)
		}
	}
}
