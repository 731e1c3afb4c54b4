package semantic_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/engine/pgtest"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
	"github.com/koujing/koujing/semantic/oracletest"
)

// oracleScale keeps the suite quick while every group stays populated: 20,000 orders.
const oracleScale = 0.02

// loadOracleData generates the demo dataset at oracleScale and loads it into a new schema of the
// test database. The caller releases the dataset.
func loadOracleData(t *testing.T, mem memory.Allocator) (*pgxpool.Pool, *demodata.Dataset, string) {
	t.Helper()
	pool := pgtest.Connect(t)
	ds, err := demodata.Generate(context.Background(), mem, oracleScale)
	if err != nil {
		t.Fatal(err)
	}
	return pool, ds, pgtest.LoadDemo(t, pool, ds)
}

// TestOracle runs every oracle case through the compiler and the embedded engine and compares
// the answer with PostgreSQL's answer to the plain SQL, over the same generated data.
func TestOracle(t *testing.T) {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	pool, ds, schema := loadOracleData(t, mem)
	src := engine.NewSources(mem)
	defer src.Close()
	src.SetDemo(ds)
	cat, err := semantic.LoadFS(ctx, demo.FS, semantic.SourcesResolver(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, parallelism := range []int{1, 4} {
		runOracle(t, semantic.NewService(cat, engine.New(src, engine.Options{Allocator: mem, Parallelism: parallelism, BatchRows: 4096}), semantic.ServiceOptions{}), pool, schema)
	}
}

// TestOracleFromFiles exports the demo as CSV, points the demo definitions at the files instead
// of the built-in tables, and runs the oracle suite again: what the CSV reader infers (decimals,
// times, NULLs, dictionaries) must give the very same numbers.
func TestOracleFromFiles(t *testing.T) {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	pool, ds, schema := loadOracleData(t, mem)
	dir := t.TempDir()
	err := demodata.WriteCSV(ctx, dir, ds)
	ds.Release()
	if err != nil {
		t.Fatal(err)
	}
	writeDemoDefinitions(t, dir, func(table string) string { return "{file: " + table + ".csv}" }, nil)
	src := engine.NewSources(mem)
	defer src.Close()
	cat, err := semantic.LoadDir(ctx, dir, semantic.SourcesResolver(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range cat.Models() {
		if m.Source.File == "" {
			t.Fatalf("model %s still reads %s", m.Name, m.Source)
		}
	}
	runOracle(t, semantic.NewService(cat, engine.New(src, engine.Options{Allocator: mem, Parallelism: 2}), semantic.ServiceOptions{}), pool, schema)
}

// runOracle answers every oracle case with svc and compares with PostgreSQL.
func runOracle(t *testing.T, svc *semantic.Service, pool *pgxpool.Pool, schema string) {
	t.Helper()
	runOracleAs(t, svc, svc.Catalog().FullAccess(), pool, schema, true)
}

// runOracleAs answers every oracle case with svc as acc's principal asks it, and compares with
// PostgreSQL answering the case's SQL over the tables in schema. With requireRows, a case that
// PostgreSQL answers with no rows fails, as it would check nothing.
func runOracleAs(t *testing.T, svc *semantic.Service, acc *semantic.Access, pool *pgxpool.Pool, schema string, requireRows bool) {
	t.Helper()
	for _, c := range oracletest.Cases(t) {
		t.Run(c.Name, func(t *testing.T) {
			res, err := svc.Query(context.Background(), acc, c.Query.MetricQuery())
			if err != nil {
				t.Fatal(err)
			}
			defer res.Release()
			got := oracletest.ResultRows(t, res)
			want := oracletest.SQLRows(t, pool, schema, c.SQL)
			oracletest.Compare(t, got, want, c.Query.Ordered())
			if requireRows && len(want) == 0 && c.Name != "a filter value carrying SQL is only data" {
				t.Errorf("PostgreSQL returned no rows; the case checks nothing")
			}
		})
	}
}

// oracleMode is one way the demo definitions read the oracle data: every model from PostgreSQL,
// when each whole query must become one statement the warehouse runs (pushdown), or orders and
// their items from PostgreSQL and customers and products from CSV files, when the engine joins
// what the warehouse sends with what it read itself (federation).
type oracleMode struct {
	name     string
	sourceOf func(table string) string
	onePlan  bool
}

// warehouseModes returns the modes over the oracle data in schema, with its CSV files in files.
func warehouseModes(schema, files string) []oracleMode {
	warehouse := func(table string) string { return "{connection: warehouse, table: " + schema + "." + table + "}" }
	return []oracleMode{
		{"pushdown", warehouse, true},
		{"federation", func(table string) string {
			if table == "customers" || table == "products" {
				return "{file: " + filepath.Join(files, table+".csv") + "}"
			}
			return warehouse(table)
		}, false},
	}
}

// modeCatalog loads the demo definitions reading the oracle data as mode says, with sources of
// their own that are closed when the test ends.
func modeCatalog(t *testing.T, mem memory.Allocator, mode oracleMode) (*semantic.Catalog, *engine.Sources) {
	t.Helper()
	dir := t.TempDir()
	writeDemoDefinitions(t, dir, mode.sourceOf, map[string]string{"connections.yaml": "connections:\n  - name: warehouse\n    url: " + pgtest.URL() + "\n"})
	src := engine.NewSources(mem)
	t.Cleanup(src.Close)
	cat, err := semantic.LoadDir(context.Background(), dir, semantic.SourcesResolver(src))
	if err != nil {
		t.Fatal(err)
	}
	return cat, src
}

// checkPushedDown checks that each oracle case runs as the mode says: as one statement in the
// warehouse, or with at least part of it there.
func checkPushedDown(t *testing.T, svc *semantic.Service, acc *semantic.Access, mode oracleMode) {
	t.Helper()
	for _, c := range oracletest.Cases(t) {
		ex, err := svc.Explain(acc, c.Query.MetricQuery())
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		pushed := len(ex.Statements) == 1 && strings.Count(ex.Physical, "\n") == 1
		if mode.onePlan && !pushed {
			t.Errorf("%s: not one statement in the warehouse:\n%s", c.Name, ex.Physical)
		}
		if !mode.onePlan && len(ex.Statements) == 0 {
			t.Errorf("%s: the warehouse runs nothing:\n%s", c.Name, ex.Physical)
		}
	}
}

// TestOracleWarehouse runs the oracle suite with the demo tables in PostgreSQL, in each
// warehouse mode.
func TestOracleWarehouse(t *testing.T) {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	pool, ds, schema := loadOracleData(t, mem)
	orders := ds.Table("orders").NumRows()
	files := t.TempDir()
	err := demodata.WriteCSV(ctx, files, ds)
	ds.Release()
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range warehouseModes(schema, files) {
		t.Run(mode.name, func(t *testing.T) {
			cat, src := modeCatalog(t, mem, mode)
			svc := semantic.NewService(cat, engine.New(src, engine.Options{Allocator: mem, Parallelism: 2}), semantic.ServiceOptions{})
			checkPushedDown(t, svc, cat.FullAccess(), mode)
			runOracle(t, svc, pool, schema)
			tooMany := semantic.NewService(cat, engine.New(src, engine.Options{Allocator: mem, MaxRows: 3}), semantic.ServiceOptions{})
			q := semantic.MetricQuery{Metrics: []string{"gmv_paid"}, Dimensions: []string{"customers.city"}}
			if res, err := tooMany.Query(ctx, cat.FullAccess(), q); !errors.Is(err, engine.ErrTooManyRows) {
				if err == nil {
					res.Release()
				}
				t.Errorf("GMV by city with at most 3 rows: %v, want %v", err, engine.ErrTooManyRows)
			}
		})
	}
	// The injection case sent its value to the warehouse in both modes; the table is still whole.
	var n int64
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+schema+".orders").Scan(&n); err != nil || n != orders {
		t.Errorf("%s.orders after the suite: %d rows (%v), want %d", schema, n, err, orders)
	}
}

// writeDemoDefinitions writes the demo definitions into dir with each model's source replaced by
// sourceOf(table), plus any extra files.
func writeDemoDefinitions(t *testing.T, dir string, sourceOf func(table string) string, extra map[string]string) {
	t.Helper()
	if err := demo.Write(dir, sourceOf); err != nil {
		t.Fatal(err)
	}
	for name, text := range extra {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
