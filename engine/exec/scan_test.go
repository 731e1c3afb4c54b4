package exec

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/plan"
)

// TestTableScanSplitsMorsels checks that scans sharing Morsels read every batch exactly once,
// renamed to the scan's schema and projected to its columns.
func TestTableScanSplitsMorsels(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := recordJSON(t, mem, wideSchema, wideRows(40))
	defer rec.Release()
	parts := splitRecord(rec, 5, 5, 0, 10, 10, 10)
	defer releaseBatches(parts)
	tbl := newTable(t, wideSchema, parts)
	defer tbl.Release()
	m := NewMorsels(tbl)
	schema := schemaOf("x.s", plan.String, "x.id", plan.Int64)
	var scans []*TableScan
	for range 3 {
		scans = append(scans, must(NewTableScan(m, []int{8, 0}, schema)))
	}
	var got []string
	for i := 0; ; i++ {
		s := scans[i%3]
		if i < 3 {
			if err := s.Open(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		b, err := s.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			break
		}
		checkBatches(t, schema, []arrow.RecordBatch{b}, 0)
		got = append(got, rowsOf([]arrow.RecordBatch{b})...)
	}
	for _, s := range scans {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	for i := 0; i < 40; i++ {
		s := fmt.Sprintf("s%d", i)
		if i%5 == 4 {
			s = "NULL"
		}
		want = append(want, fmt.Sprintf("%s|%d", s, i))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("\n got: %q\nwant: %q", got, want)
	}

	if _, err := NewTableScan(m, []int{0}, schemaOf("x", plan.String)); err == nil {
		t.Error("a scan whose schema has another type than the table was accepted")
	}
	if _, err := NewTableScan(m, []int{0, 1}, schemaOf("x", plan.Int64)); err == nil {
		t.Error("a scan with more columns than its schema was accepted")
	}
}

// TestConcurrentQueriesShareTable runs queries from several goroutines over one table whose
// dictionary columns were built with NewDictionaryArray, as the CSV and Parquet readers build
// them; arrow fills in such a column's dictionary lazily, which must not race (run with -race).
func TestConcurrentQueriesShareTable(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := schemaOf("k", dictString, "v", plan.Int64)
	var batches []arrow.RecordBatch
	for i := 0; i < 200; i++ {
		dict := arrayJSON(t, mem, plan.String, `["a", "b", "c"]`)
		k := dictOver(mem, dict, []int32{0, 1, 2, 0})
		dict.Release()
		v := arrayJSON(t, mem, plan.Int64, fmt.Sprintf(`[%d, 1, 2, 3]`, i))
		batches = append(batches, array.NewRecordBatch(schema, []arrow.Array{k, v}, 4))
		k.Release()
		v.Release()
	}
	defer releaseBatches(batches)
	tbl := newTable(t, schema, batches)
	defer tbl.Release()
	k, v := col("k", dictString), col("v", plan.Int64)
	queries := []func(env *Env) Operator{
		func(env *Env) Operator {
			return must(NewFilter(env, scansOf(t, tbl, 1)[0], bin(t, plan.Eq, k, lit(t, "a", plan.String))))
		},
		func(env *Env) Operator {
			return NewSort(env, scansOf(t, tbl, 1)[0], []plan.SortKey{{Expr: k}, {Expr: v}}, 5)
		},
		func(env *Env) Operator {
			aggs := []plan.AggExpr{agg("s", plan.Sum, v, nil)}
			return must(NewHashAggregate(env, scansOf(t, tbl, 2), []plan.Named{{Name: "k", Expr: k}}, aggs, nil, schemaOf("k", plan.DictionaryOfStrings, "s", plan.Int64)))
		},
	}
	want := make([][]string, len(queries))
	for i, q := range queries {
		want[i] = sorted(collectRows(t, q(&Env{Mem: mem}), 0))
	}
	// A fresh table, so that no dictionary has been looked at yet.
	var fresh []arrow.RecordBatch
	for _, b := range batches {
		k := b.Column(0).(*array.Dictionary)
		dict := array.MakeFromData(k.Data().Dictionary())
		nk := array.NewDictionaryArray(dictString, k.Indices(), dict)
		dict.Release()
		fresh = append(fresh, array.NewRecordBatch(schema, []arrow.Array{nk, b.Column(1)}, b.NumRows()))
		nk.Release()
	}
	defer releaseBatches(fresh)
	tbl2 := newTable(t, schema, fresh)
	defer tbl2.Release()
	tbl = tbl2
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 4 {
		for i, q := range queries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				op := q(&Env{Mem: mem})
				batches, err := Collect(context.Background(), op)
				if err != nil {
					t.Error(err)
					return
				}
				got := sorted(rowsOf(batches))
				releaseBatches(batches)
				if !slices.Equal(got, want[i]) {
					t.Errorf("query %d: got %q, want %q", i, got, want[i])
				}
			}()
		}
	}
	close(start)
	wg.Wait()
}
