package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5"

	"github.com/koujing/koujing/engine/pgtest"
	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/engine/postgres"
)

func TestParseTableName(t *testing.T) {
	tests := []struct {
		in, schema, table, err string
	}{
		{"orders", "", "orders", ""},
		{"sales.orders", "sales", "orders", ""},
		{"Sales.Orders", "Sales", "Orders", ""},
		{`"my schema"."Odd ""T"""`, "my schema", `Odd "T"`, ""},
		{`s."a.b"`, "s", "a.b", ""},
		{"a.b.c", "", "", "3 parts"},
		{"a.", "", "", "empty part"},
		{"", "", "", "empty part"},
		{`"open`, "", "", "unclosed quote"},
		{`"a"b`, "", "", "after a quoted name"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			schema, table, err := postgres.ParseTableName(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil || schema != tt.schema || table != tt.table {
				t.Errorf("got %q, %q, %v; want %q, %q", schema, table, err, tt.schema, tt.table)
			}
			written := postgres.FormatTableName(schema, table)
			if s, tb, err := postgres.ParseTableName(written); err != nil || s != schema || tb != table {
				t.Errorf("FormatTableName wrote %q, which reads back as %q, %q, %v", written, s, tb, err)
			}
		})
	}
	for _, parts := range [][2]string{{"", `"x`}, {"a.b", "c"}, {`s"`, `t"."u`}} {
		written := postgres.FormatTableName(parts[0], parts[1])
		if s, tb, err := postgres.ParseTableName(written); err != nil || s != parts[0] || tb != parts[1] {
			t.Errorf("FormatTableName%q wrote %q, which reads back as %q, %q, %v", parts, written, s, tb, err)
		}
	}
}

// catalogFixture creates two schemas: the first with tables that TableSchema reads, the second
// with a table named like one of the first, to tell search_path resolution apart.
func catalogFixture(t *testing.T) (first, second string, exec func(string)) {
	pool := pgtest.Connect(t)
	first, second = pgtest.NewSchema(t, pool), pgtest.NewSchema(t, pool)
	exec = func(sql string) {
		t.Helper()
		sql = strings.NewReplacer("S1", pgx.Identifier{first}.Sanitize(), "S2", pgx.Identifier{second}.Sanitize()).Replace(sql)
		if _, err := pool.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`
CREATE TABLE S1.orders (order_id int8 NOT NULL, customer_id int4, amount numeric(12,2) NOT NULL, status varchar(16));
CREATE TABLE S1.order_items (item_id int8, qty int2);
CREATE TABLE S1.customers (customer_id int4, name text);
CREATE TABLE S1."Mixed Case" ("Key" int4);
CREATE TABLE S1.dropped (a int4, b text, c float8);
ALTER TABLE S1.dropped DROP COLUMN b;
CREATE TABLE S1.numerics (p5 numeric(5,0), p38 numeric(38,10), plain numeric, big numeric(50,2));
CREATE TABLE S1.events (id int8, payload jsonb, tags text[]);
CREATE DOMAIN S1.positive AS int4 NOT NULL CHECK (VALUE > 0);
CREATE TABLE S1.domains (p S1.positive, q int4);
CREATE VIEW S1.order_view AS SELECT order_id, amount * 2 AS doubled FROM S1.orders;
CREATE INDEX orders_idx ON S1.orders (order_id);
CREATE TABLE S2.orders (other_id int2);`)
	return first, second, exec
}

func TestTableSchema(t *testing.T) {
	s1, s2, _ := catalogFixture(t)
	ctx := context.Background()
	c, _ := openTest(t, nil)
	onPath, _ := openTest(t, func(cfg *postgres.ConnectionConfig) {
		cfg.URL += "&search_path=" + s1
	})
	bothPath, _ := openTest(t, func(cfg *postgres.ConnectionConfig) {
		cfg.URL += "&search_path=" + s2 + "," + s1
	})

	field := func(name string, typ arrow.DataType, nullable bool) arrow.Field {
		return arrow.Field{Name: name, Type: typ, Nullable: nullable}
	}
	orders := arrow.NewSchema([]arrow.Field{
		field("order_id", arrow.PrimitiveTypes.Int64, false),
		field("customer_id", arrow.PrimitiveTypes.Int32, true),
		field("amount", plan.Decimal(12, 2), false),
		field("status", arrow.BinaryTypes.String, true),
	}, nil)
	tests := []struct {
		conn  *postgres.Connection
		table string
		want  *arrow.Schema
	}{
		{c, s1 + ".orders", orders},
		{onPath, "orders", orders},
		{bothPath, "orders", arrow.NewSchema([]arrow.Field{field("other_id", arrow.PrimitiveTypes.Int16, true)}, nil)},
		{bothPath, "customers", arrow.NewSchema([]arrow.Field{
			field("customer_id", arrow.PrimitiveTypes.Int32, true), field("name", arrow.BinaryTypes.String, true)}, nil)},
		{c, s1 + ".Mixed Case", arrow.NewSchema([]arrow.Field{field("Key", arrow.PrimitiveTypes.Int32, true)}, nil)},
		{c, `"` + s1 + `"."Mixed Case"`, arrow.NewSchema([]arrow.Field{field("Key", arrow.PrimitiveTypes.Int32, true)}, nil)},
		{c, s1 + ".dropped", arrow.NewSchema([]arrow.Field{
			field("a", arrow.PrimitiveTypes.Int32, true), field("c", arrow.PrimitiveTypes.Float64, true)}, nil)},
		{c, s1 + ".domains", arrow.NewSchema([]arrow.Field{
			field("p", arrow.PrimitiveTypes.Int32, false), field("q", arrow.PrimitiveTypes.Int32, true)}, nil)},
		{c, s1 + ".order_view", arrow.NewSchema([]arrow.Field{
			field("order_id", arrow.PrimitiveTypes.Int64, true), field("doubled", postgres.UnconstrainedNumeric, true)}, nil)},
	}
	for _, tt := range tests {
		t.Run(tt.table, func(t *testing.T) {
			got, err := tt.conn.TableSchema(ctx, tt.table)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestTableSchemaErrors(t *testing.T) {
	s1, _, _ := catalogFixture(t)
	ctx := context.Background()
	c, _ := openTest(t, nil)
	onPath, _ := openTest(t, func(cfg *postgres.ConnectionConfig) { cfg.URL += "&search_path=" + s1 })

	t.Run("missing table", func(t *testing.T) {
		for _, tc := range []struct {
			conn  *postgres.Connection
			table string
		}{{c, s1 + ".ordrs"}, {onPath, "ordrs"}, {c, s1 + ".ORDERS"}, {c, s1 + ".orders_idx"}} {
			_, err := tc.conn.TableSchema(ctx, tc.table)
			var nt *postgres.NoTableError
			if !errors.Is(err, postgres.ErrNoTable) || !errors.As(err, &nt) {
				t.Fatalf("%s: err = %v, want a NoTableError", tc.table, err)
			}
			if nt.Schema != s1 || !slices.Contains(nt.Tables, "orders") || slices.Contains(nt.Tables, "orders_idx") {
				t.Errorf("%s: %+v, want the readable tables of %s, orders among them", tc.table, nt, s1)
			}
		}
	})
	t.Run("missing schema", func(t *testing.T) {
		_, err := c.TableSchema(ctx, "koujing_no_such_schema.orders")
		var nt *postgres.NoTableError
		if !errors.As(err, &nt) || len(nt.Tables) != 0 || !strings.Contains(err.Error(), "has no tables") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("unsupported types", func(t *testing.T) {
		_, err := c.TableSchema(ctx, s1+".events")
		for _, want := range []string{
			"column payload has type jsonb, which Koujing cannot read", "cast it in a view",
			"column tags has type text[]",
		} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, want it to say %q", err, want)
			}
		}
	})
	t.Run("numeric precision", func(t *testing.T) {
		_, err := c.TableSchema(ctx, s1+".numerics")
		if err == nil || !strings.Contains(err.Error(), "column big has type numeric(50,2)") || strings.Contains(err.Error(), "p38") {
			t.Errorf("err = %v, want only column big refused", err)
		}
	})
	t.Run("bad name", func(t *testing.T) {
		if _, err := c.TableSchema(ctx, "a.b.c"); err == nil || errors.Is(err, postgres.ErrNoTable) {
			t.Errorf("err = %v, want a malformed-name error", err)
		}
	})
}

func TestTables(t *testing.T) {
	s1, s2, exec := catalogFixture(t)
	ctx := context.Background()
	c, _ := openTest(t, nil)
	got, err := c.Tables(ctx, s1)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Mixed Case", "customers", "domains", "dropped", "events", "numerics", "order_items", "order_view", "orders"}
	if !slices.Equal(got, want) {
		t.Errorf("Tables(%s) = %q, want %q", s1, got, want)
	}
	onPath, _ := openTest(t, func(cfg *postgres.ConnectionConfig) { cfg.URL += "&search_path=" + s2 })
	if got, err := onPath.Tables(ctx, ""); err != nil || !slices.Equal(got, []string{"orders"}) {
		t.Errorf("Tables of the search path = %q, %v", got, err)
	}
	exec("CREATE TABLE S2.parted (d date) PARTITION BY RANGE (d); CREATE TABLE S2.parted_2024 PARTITION OF S2.parted FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')")
	if got, err := c.Tables(ctx, s2); err != nil || fmt.Sprint(got) != "[orders parted]" {
		t.Errorf("Tables(%s) = %q, %v; want the partitioned table without its partition", s2, got, err)
	}
}
