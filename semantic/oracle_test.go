package semantic_test

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

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
		svc := semantic.NewService(cat, engine.New(src, engine.Options{Allocator: mem, Parallelism: parallelism, BatchRows: 4096}), semantic.ServiceOptions{})
		for _, c := range oracletest.Cases(t) {
			t.Run(c.Name, func(t *testing.T) {
				res, err := svc.Query(ctx, c.Query.MetricQuery())
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
}
