package semantic

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/koujing/koujing/engine/golden"
	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/semantic/sqlexpr"
)

// stubResolver serves fixed schemas for the demo connection and records every source it is asked
// about.
type stubResolver struct {
	tables map[string]*arrow.Schema
	files  map[string]*arrow.Schema
	asked  []Source
}

func (r *stubResolver) TableSchema(_ context.Context, src Source) (*arrow.Schema, error) {
	r.asked = append(r.asked, src)
	if src.File != "" {
		if s, ok := r.files[src.File]; ok {
			return s, nil
		}
		return nil, fmt.Errorf("open %s: no such file", src.File)
	}
	if src.Connection != DemoConnection {
		return nil, fmt.Errorf("unknown connection %s", src.Connection)
	}
	if s, ok := r.tables[src.Table]; ok {
		return s, nil
	}
	return nil, &UnknownTableError{Connection: src.Connection, Table: src.Table, Tables: sortedKeys(r.tables)}
}

// demoSchemas are the demo dataset's schemas as the brief for engine/demodata gives them, kept
// here so that the golden files do not change when the generator does.
func demoSchemas() map[string]*arrow.Schema {
	dict := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	money10 := &arrow.Decimal128Type{Precision: 10, Scale: 2}
	money12 := &arrow.Decimal128Type{Precision: 12, Scale: 2}
	i64 := arrow.PrimitiveTypes.Int64
	return map[string]*arrow.Schema{
		"customers": arrow.NewSchema([]arrow.Field{
			{Name: "customer_id", Type: i64},
			{Name: "name", Type: arrow.BinaryTypes.String},
			{Name: "segment", Type: dict},
			{Name: "region", Type: dict},
			{Name: "city", Type: dict, Nullable: true},
			{Name: "signup_date", Type: arrow.FixedWidthTypes.Date32},
		}, nil),
		"products": arrow.NewSchema([]arrow.Field{
			{Name: "product_id", Type: i64},
			{Name: "category", Type: dict},
			{Name: "brand", Type: dict},
			{Name: "unit_price", Type: money10},
		}, nil),
		"orders": arrow.NewSchema([]arrow.Field{
			{Name: "order_id", Type: i64},
			{Name: "customer_id", Type: i64},
			{Name: "channel", Type: dict},
			{Name: "status", Type: dict},
			{Name: "created_at", Type: ts},
			{Name: "paid_at", Type: ts, Nullable: true},
			{Name: "amount", Type: money12},
			{Name: "coupon_amount", Type: money12, Nullable: true},
			{Name: "region", Type: dict},
		}, nil),
		"order_items": arrow.NewSchema([]arrow.Field{
			{Name: "item_id", Type: i64},
			{Name: "order_id", Type: i64},
			{Name: "product_id", Type: i64},
			{Name: "quantity", Type: arrow.PrimitiveTypes.Int32},
			{Name: "price", Type: money10},
		}, nil),
	}
}

// TestLoadBroken loads each directory under testdata/broken and compares the problems found with
// the want.txt next to the definitions. Run with -update to rewrite them, then read the diff: every
// position must point at the offending token.
func TestLoadBroken(t *testing.T) {
	dirs, err := os.ReadDir(filepath.Join("testdata", "broken"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		t.Run(d.Name(), func(t *testing.T) {
			dir := filepath.Join("testdata", "broken", d.Name())
			cat, err := LoadDir(context.Background(), dir, &stubResolver{tables: demoSchemas()})
			if cat != nil {
				t.Errorf("LoadDir returned a catalog along with problems")
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("LoadDir(%s) = %v, want Problems", dir, err)
			}
			golden.Compare(t, filepath.Join(dir, "want.txt"), ps.Error()+"\n")
		})
	}
}

func TestLoadFileSourceResolvesAgainstDir(t *testing.T) {
	dir := t.TempDir()
	defs := `models:
  - name: sales
    source: {file: data/sales.csv}
    primary_key: id
    dimensions:
      - name: day
        type: time
    measures:
      - name: total
        agg: sum
        expr: amount
  - name: targets
    source: {file: /srv/targets.parquet}
    primary_key: id
`
	if err := os.WriteFile(filepath.Join(dir, "models.yml"), []byte(defs), 0o644); err != nil {
		t.Fatal(err)
	}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	salesPath := filepath.Join(dir, "data", "sales.csv")
	r := &stubResolver{files: map[string]*arrow.Schema{salesPath: schema, "/srv/targets.parquet": schema}}
	cat, err := LoadDir(context.Background(), dir, r)
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	var asked []string
	for _, s := range r.asked {
		asked = append(asked, s.File)
	}
	if want := []string{salesPath, "/srv/targets.parquet"}; strings.Join(asked, "|") != strings.Join(want, "|") {
		t.Errorf("resolver asked for %q, want %q", asked, want)
	}
	sales := cat.Model("sales")
	if sales == nil || sales.Source.File != salesPath {
		t.Fatalf("model sales has source %v, want file %s", sales, salesPath)
	}
	if sales.Schema != schema {
		t.Errorf("model sales has schema %v, want the resolver's", sales.Schema)
	}
	if got := sales.Source.Pos; got.File != filepath.Join(dir, "models.yml") || got.Line != 3 {
		t.Errorf("source position %v, want %s line 3", got, filepath.Join(dir, "models.yml"))
	}
	if d := sales.Dimension("day"); d == nil || d.Type != DimensionTime || len(d.Granularities) != 5 {
		t.Errorf("dimension day = %+v, want a time dimension with every granularity", d)
	}
}

func TestLoadFSNamesFilesByPath(t *testing.T) {
	fsys := fstest.MapFS{
		"defs/orders.yaml": {Data: []byte("models:\n  - name: orders\n    source: {connection: demo, table: orders}\n    primary_key: order_id\n    dimensions:\n      - name: regoin\n")},
		"defs/notes.txt":   {Data: []byte("not: [definitions")},
		"other.yml":        {Data: []byte("metrics:\n  - name: n\n    measure: orders.nope\n")},
	}
	_, err := LoadFS(context.Background(), fsys, &stubResolver{tables: demoSchemas()})
	want := "defs/orders.yaml:6:15: dimension orders.regoin has no expr, and model orders has no column regoin to read (hint: did you mean region?)\n" +
		"other.yml:3:14: metric n: model orders has no measure nope"
	if err == nil || err.Error() != want {
		t.Errorf("LoadFS error:\n%v\nwant:\n%s", err, want)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		load func() error
		want string
	}{
		{"missing directory", func() error {
			_, err := LoadDir(context.Background(), filepath.Join(t.TempDir(), "nope"), &stubResolver{})
			return err
		}, "load definitions: stat "},
		{"no resolver", func() error {
			_, err := LoadFS(context.Background(), fstest.MapFS{}, nil)
			return err
		}, "load definitions: no schema resolver"},
		{"cancelled", func() error {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := LoadFS(ctx, fstest.MapFS{"a.yaml": {Data: []byte("models: []")}}, &stubResolver{})
			return err
		}, "load definitions: context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.load()
			var ps Problems
			if err == nil || errors.As(err, &ps) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %v, want one starting %q that is not Problems", err, tt.want)
			}
		})
	}
}

func TestLoadEmpty(t *testing.T) {
	cat, err := LoadFS(context.Background(), fstest.MapFS{"empty.yaml": {Data: []byte("# nothing yet\n")}}, &stubResolver{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Models())+len(cat.Metrics())+len(cat.Domains()) != 0 {
		t.Errorf("empty definitions gave a catalog with content")
	}
}

func TestBindExpr(t *testing.T) {
	orders := &DataModel{Name: "orders", Schema: demoSchemas()["orders"]}
	tests := []struct {
		src  string
		want string
		typ  string
	}{
		{"amount", "orders.amount", "decimal(12,2)"},
		{"orders.amount", "orders.amount", "decimal(12,2)"},
		{"amount - coalesce(coupon_amount, 0)", "(orders.amount - coalesce(orders.coupon_amount, 0))", "decimal(38,2)"},
		{"amount * 0.9", "(orders.amount * 0.9)", "decimal(38,3)"},
		{"amount / 2", "(orders.amount / 2)", "float"},
		{"-amount", "(-orders.amount)", "decimal(12,2)"},
		{"status IN ('paid', 'shipped')", "(orders.status IN ('paid', 'shipped'))", "boolean"},
		{"order_id NOT IN (1, -2)", "(orders.order_id NOT IN (1, -2))", "boolean"},
		{"amount IN ('1.5', 2)", "(orders.amount IN (1.50, 2.00))", "boolean"},
		{"created_at >= '2024-03-01'", "(orders.created_at >= TIMESTAMP '2024-03-01 00:00:00Z')", "boolean"},
		{"'2024-03-01' < paid_at", "(TIMESTAMP '2024-03-01 00:00:00Z' < orders.paid_at)", "boolean"},
		{"amount BETWEEN 10 AND '20.5'", "((orders.amount >= 10) AND (orders.amount <= 20.50))", "boolean"},
		{"amount NOT BETWEEN 10 AND 20", "((orders.amount < 10) OR (orders.amount > 20))", "boolean"},
		{"paid_at IS NOT NULL AND NOT (status = 'refunded')", "((orders.paid_at IS NOT NULL) AND (NOT (orders.status = 'refunded')))", "boolean"},
		{"CASE WHEN amount > 100 THEN 'big' ELSE 'small' END", "CASE WHEN (orders.amount > 100) THEN 'big' ELSE 'small' END", "string"},
		{"99999999999999999999", "99999999999999999999", "decimal(38,0)"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			ast, err := sqlexpr.Parse(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			e, err := bindExpr(orders, ast)
			if err != nil {
				t.Fatalf("bind %q: %v", tt.src, err)
			}
			if e.String() != tt.want || plan.TypeName(e.DataType()) != tt.typ {
				t.Errorf("bind %q = %s (%s), want %s (%s)", tt.src, e, plan.TypeName(e.DataType()), tt.want, tt.typ)
			}
		})
	}
}

func TestBindExprErrors(t *testing.T) {
	orders := &DataModel{Name: "orders", Schema: demoSchemas()["orders"]}
	tests := []struct {
		src  string
		off  int
		msg  string
		hint string
	}{
		{"amout + 1", 0, "model orders has no column amout", "did you mean amount?"},
		{"orders.zzz", 7, "model orders has no column zzz", "the columns of orders are: order_id, customer_id, channel, status, created_at, paid_at, amount, coupon_amount, region"},
		{"customers.name", 0, "customers.name is qualified by customers, but an expression of model orders reads only its own columns", "define the expression on model customers, or drop the qualifier"},
		{"amount + status", 7, "+ needs numeric operands, got decimal(12,2) and string", ""},
		{"created_at > 'soon'", 13, `"soon" is not a time; write 2024-03-01, 2024-03-01T08:00:00 or 2024-03-01T08:00:00+08:00`, ""},
		{"status IN (1)", 11, "1 is not a string, but status is; quote it as '1'", ""},
		{"order_id IN (1.5)", 13, `"1.5" is not an integer`, ""},
		{"status IN (amount)", 11, "an IN list holds only constants, not amount", ""},
		{"coalesce(status, 1)", 17, "1 is an integer, but status is a string; the arguments of coalesce must have one type", ""},
		{"NOT amount", 0, "NOT needs a boolean operand, got decimal(12,2)", ""},
		{"CASE WHEN amount THEN 1 END", 10, "the condition amount is a decimal(12,2), not a boolean", ""},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			ast, err := sqlexpr.Parse(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			_, err = bindExpr(orders, ast)
			var ee *exprError
			if !errors.As(err, &ee) {
				t.Fatalf("bind %q = %v, want an *exprError", tt.src, err)
			}
			if ee.off != tt.off || ee.msg != tt.msg || ee.hint != tt.hint {
				t.Errorf("bind %q error at %d: %q (hint %q)\nwant at %d: %q (hint %q)", tt.src, ee.off, ee.msg, ee.hint, tt.off, tt.msg, tt.hint)
			}
		})
	}
}

func TestClosest(t *testing.T) {
	tests := []struct {
		word       string
		candidates []string
		want       string
	}{
		{"amout", []string{"amount", "channel"}, "amount"},
		{"lable", []string{"name", "label", "description"}, "label"},
		{"Region", []string{"region"}, "region"},
		{"x", []string{"y"}, ""},
		{"channel", []string{"amount"}, ""},
		{"coupon", []string{"coupon_amount"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.word, func(t *testing.T) {
			if got := closest(tt.word, tt.candidates); got != tt.want {
				t.Errorf("closest(%q, %q) = %q, want %q", tt.word, tt.candidates, got, tt.want)
			}
		})
	}
}

func TestSnakeCase(t *testing.T) {
	tests := []struct{ in, want string }{
		{"OrderCount", "order_count"},
		{"gmv-paid", "gmv_paid"},
		{"Bad Name!", "bad_name"},
		{"区域", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := snakeCase(tt.in); got != tt.want {
				t.Errorf("snakeCase(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzLoadFS checks that no definitions file, however mangled, makes the loader panic or fail
// with anything but Problems, and that a catalog comes only without problems.
func FuzzLoadFS(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "broken", "*", "*.yaml"))
	demo, _ := filepath.Glob(filepath.Join("demo", "*.yaml"))
	for _, name := range append(seeds, demo...) {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	f.Fuzz(func(t *testing.T, defs string) {
		cat, err := LoadFS(context.Background(), fstest.MapFS{"defs.yaml": {Data: []byte(defs)}}, &stubResolver{tables: demoSchemas()})
		var ps Problems
		switch {
		case err == nil && cat == nil:
			t.Fatal("no catalog and no error")
		case err != nil && cat != nil:
			t.Fatalf("a catalog along with %v", err)
		case err != nil && !errors.As(err, &ps):
			t.Fatalf("error %v is not Problems", err)
		case err != nil && len(ps) == 0:
			t.Fatal("empty Problems")
		}
	})
}
