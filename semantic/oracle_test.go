package semantic_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
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

// TestOracle runs every oracle case through the compiler and the embedded engine and compares
// the answer with PostgreSQL's answer to the plain SQL, over the same generated data.
func TestOracle(t *testing.T) {
	pool := pgtest.Connect(t)
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ds, err := demodata.Generate(ctx, mem, oracleScale)
	if err != nil {
		t.Fatal(err)
	}
	schema := pgtest.LoadDemo(t, pool, ds)
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
	pool := pgtest.Connect(t)
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ds, err := demodata.Generate(ctx, mem, oracleScale)
	if err != nil {
		t.Fatal(err)
	}
	schema := pgtest.LoadDemo(t, pool, ds)
	dir := t.TempDir()
	err = demodata.WriteCSV(ctx, dir, ds)
	ds.Release()
	if err != nil {
		t.Fatal(err)
	}
	demoSource := regexp.MustCompile(`source: \{connection: demo, table: (\w+)\}`)
	err = fs.WalkDir(demo.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(demo.FS, path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, path), demoSource.ReplaceAll(data, []byte("source: {file: $1.csv}")), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
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
	for _, c := range oracletest.Cases(t) {
		t.Run(c.Name, func(t *testing.T) {
			res, err := svc.Query(context.Background(), c.Query.MetricQuery())
			if err != nil {
				t.Fatal(err)
			}
			defer res.Release()
			got := oracletest.ResultRows(t, res)
			want := oracletest.SQLRows(t, pool, schema, c.SQL)
			oracletest.Compare(t, got, want, c.Query.Ordered())
			if len(want) == 0 && c.Name != "a filter value carrying SQL is only data" {
				t.Errorf("PostgreSQL returned no rows; the case checks nothing")
			}
		})
	}
}
