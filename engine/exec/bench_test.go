package exec

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/engine/source"
)

// benchRows is the size of the benchmark tables: a tenth or so of the 10M-row orders table the
// engine is meant for, in DefaultBatchRows batches.
const benchRows = 2_000_000

// benchOrders is an orders table: region and status dictionary-encoded (status also as plain
// strings), the order time over two years, the amount as decimal(12,2), a customer id with
// about 200k distinct values, and a product id in 1…100k.
var benchOrders = sync.OnceValue(func() *source.Table {
	mem := memory.NewGoAllocator()
	rng := rand.New(rand.NewPCG(42, 42))
	schema := schemaOf("region", dictString, "status", dictString, "status_s", plan.String, "ts", tsUTC,
		"amount", plan.Decimal(12, 2), "customer", plan.Int64, "product", plan.Int64)
	regions := make([]string, 20)
	for i := range regions {
		regions[i] = fmt.Sprintf("region-%02d", i)
	}
	statuses := []string{"placed", "paid", "shipped", "completed", "cancelled", "refunded"}
	dict := func(words []string) arrow.Array {
		b := array.NewStringBuilder(mem)
		defer b.Release()
		b.AppendValues(words, nil)
		return b.NewArray()
	}
	regionDict, statusDict := dict(regions), dict(statuses)
	start := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	span := int64(2 * 365 * 24 * time.Hour / time.Microsecond)
	var batches []arrow.RecordBatch
	for lo := 0; lo < benchRows; lo += DefaultBatchRows {
		n := min(DefaultBatchRows, benchRows-lo)
		ri, si := array.NewInt32Builder(mem), array.NewInt32Builder(mem)
		ss := array.NewStringBuilder(mem)
		ts := array.NewTimestampBuilder(mem, tsUTC.(*arrow.TimestampType))
		am := array.NewDecimal128Builder(mem, plan.Decimal(12, 2).(*arrow.Decimal128Type))
		cu, pr := array.NewInt64Builder(mem), array.NewInt64Builder(mem)
		for i := 0; i < n; i++ {
			r, s := rng.Int32N(20), rng.Int32N(6)
			ri.Append(r)
			si.Append(s)
			ss.Append(statuses[s])
			ts.Append(arrow.Timestamp(start + rng.Int64N(span)))
			am.Append(decimal128.FromI64(rng.Int64N(100_000) + 100))
			cu.Append(rng.Int64N(200_000))
			pr.Append(rng.Int64N(100_000) + 1)
		}
		rIdx, sIdx := ri.NewArray(), si.NewArray()
		cols := []arrow.Array{
			array.NewDictionaryArray(dictString, rIdx, regionDict), array.NewDictionaryArray(dictString, sIdx, statusDict),
			ss.NewArray(), ts.NewArray(), am.NewArray(), cu.NewArray(), pr.NewArray(),
		}
		batches = append(batches, array.NewRecordBatch(schema, cols, int64(n)))
		releaseAll(cols)
		releaseAll([]arrow.Array{rIdx, sIdx})
		for _, b := range []array.Builder{ri, si, ss, ts, am, cu, pr} {
			b.Release()
		}
	}
	t, err := source.NewTable("orders", schema, batches)
	if err != nil {
		panic(err)
	}
	releaseBatches(batches)
	return t
})

// benchProducts is the dimension the orders join: ids 1…100k, dense.
var benchProducts = sync.OnceValue(func() *source.Table {
	mem := memory.NewGoAllocator()
	schema := schemaOf("p.id", plan.Int64, "p.price", plan.Decimal(12, 2))
	ids := array.NewInt64Builder(mem)
	prices := array.NewDecimal128Builder(mem, plan.Decimal(12, 2).(*arrow.Decimal128Type))
	for i := int64(1); i <= 100_000; i++ {
		ids.Append(i)
		prices.Append(decimal128.FromI64(i % 997 * 100))
	}
	cols := []arrow.Array{ids.NewArray(), prices.NewArray()}
	ids.Release()
	prices.Release()
	b := array.NewRecordBatch(schema, cols, 100_000)
	releaseAll(cols)
	t, err := source.NewTable("products", schema, []arrow.RecordBatch{b})
	if err != nil {
		panic(err)
	}
	b.Release()
	return t
})

// benchScans returns n scans over the named columns of t sharing one Morsels.
func benchScans(b *testing.B, t *source.Table, n int, names ...string) []Operator {
	b.Helper()
	cols := make([]int, len(names))
	fields := make([]arrow.Field, len(names))
	for i, name := range names {
		idx := t.Schema().FieldIndices(name)
		cols[i], fields[i] = idx[0], t.Schema().Field(idx[0])
	}
	m := NewMorsels(t)
	ops := make([]Operator, n)
	for i := range ops {
		ops[i] = must(NewTableScan(m, cols, arrow.NewSchema(fields, nil)))
	}
	return ops
}

// drain runs op to the end without keeping its batches and returns the rows it yielded.
func drain(b *testing.B, op Operator) int64 {
	ctx := context.Background()
	if err := op.Open(ctx); err != nil {
		b.Fatal(err)
	}
	rows := int64(0)
	for {
		batch, err := op.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if batch == nil {
			break
		}
		rows += batch.NumRows()
	}
	if err := op.Close(); err != nil {
		b.Fatal(err)
	}
	return rows
}

// reportRows records the input rows processed per second.
func reportRows(b *testing.B, rowsPerOp int64, ops int) {
	b.ReportMetric(float64(rowsPerOp)*float64(ops)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkHashAggregateDecimalSumByDictAndMonth(b *testing.B) {
	orders := benchOrders()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		b.Skip(err)
	}
	groupBy := []plan.Named{
		{Name: "region", Expr: col("region", dictString)},
		{Name: "month", Expr: must(plan.NewTimeTrunc(col("ts", tsUTC), plan.Month, shanghai))},
	}
	aggs := []plan.AggExpr{agg("gmv", plan.Sum, col("amount", plan.Decimal(12, 2)), nil)}
	schema := schemaOf("region", plan.String, "month", plan.Timestamp("Asia/Shanghai"), "gmv", plan.Decimal(38, 2))
	for _, ways := range []int{1, 4} {
		b.Run(fmt.Sprintf("pipelines=%d", ways), func(b *testing.B) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(b, 0)
			env := &Env{Mem: mem}
			b.SetBytes(orders.NumRows() * (4 + 8 + 16))
			b.ReportAllocs()
			ops := 0
			for b.Loop() {
				h := must(NewHashAggregate(env, benchScans(b, orders, ways, "region", "ts", "amount"), groupBy, aggs, nil, schema))
				if n := drain(b, h); n != 20*24 {
					b.Fatalf("%d groups", n)
				}
				ops++
			}
			reportRows(b, orders.NumRows(), ops)
		})
	}
}

func BenchmarkCountDistinctInt(b *testing.B) {
	orders := benchOrders()
	aggs := []plan.AggExpr{agg("customers", plan.CountDistinct, col("customer", plan.Int64), nil)}
	for _, tc := range []struct {
		name    string
		groupBy []plan.Named
		schema  *arrow.Schema
	}{
		{"global", nil, schemaOf("customers", plan.Int64)},
		{"by region", []plan.Named{{Name: "region", Expr: col("region", dictString)}}, schemaOf("region", plan.String, "customers", plan.Int64)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(b, 0)
			env := &Env{Mem: mem}
			b.SetBytes(orders.NumRows() * (8 + 4))
			b.ReportAllocs()
			ops := 0
			for b.Loop() {
				h := must(NewHashAggregate(env, benchScans(b, orders, 1, "region", "customer"), tc.groupBy, aggs, nil, tc.schema))
				drain(b, h)
				ops++
			}
			reportRows(b, orders.NumRows(), ops)
		})
	}
}

func BenchmarkHashJoinDenseInt(b *testing.B) {
	orders, products := benchOrders(), benchProducts()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(b, 0)
	env := &Env{Mem: mem}
	probeCols := []string{"product", "amount"}
	b.SetBytes(orders.NumRows()*(8+16) + products.NumRows()*(8+16))
	b.ReportAllocs()
	ops := 0
	for b.Loop() {
		probe := benchScans(b, orders, 1, probeCols...)[0]
		build := NewJoinBuild(env, benchScans(b, products, 1, "p.id", "p.price")[0], []plan.Expr{col("p.id", plan.Int64)}, false)
		j := must(NewHashJoin(env, probe, build, allColumns(plan.InnerJoin, []plan.Expr{col("product", plan.Int64)}, probe.Schema(), products.Schema())))
		if n := drain(b, j); n != orders.NumRows() {
			b.Fatalf("%d rows", n)
		}
		if !build.table.dense {
			b.Fatal("the build side is not dense")
		}
		build.Release()
		ops++
	}
	reportRows(b, orders.NumRows(), ops)
}

func BenchmarkFilterIn(b *testing.B) {
	orders := benchOrders()
	strs := func(t arrow.DataType, words ...string) []*plan.Literal {
		var out []*plan.Literal
		for _, w := range words {
			out = append(out, must(plan.NewLiteral(w, t)))
		}
		return out
	}
	var custs []*plan.Literal
	for i := int64(0); i < 200_000; i += 1000 {
		custs = append(custs, must(plan.NewLiteral(i, plan.Int64)))
	}
	for _, tc := range []struct {
		name  string
		col   string
		bytes int64
		pred  plan.Expr
	}{
		{"dictionary", "status", 4, must(plan.NewIn(col("status", dictString), strs(plan.String, "paid", "shipped", "completed"), false))},
		{"string", "status_s", 12, must(plan.NewIn(col("status_s", plan.String), strs(plan.String, "paid", "shipped", "completed"), false))},
		{"int", "customer", 8, must(plan.NewIn(col("customer", plan.Int64), custs, false))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(b, 0)
			env := &Env{Mem: mem}
			b.SetBytes(orders.NumRows() * tc.bytes)
			b.ReportAllocs()
			ops := 0
			for b.Loop() {
				f := must(NewFilter(env, benchScans(b, orders, 1, tc.col, "amount")[0], tc.pred))
				drain(b, f)
				ops++
			}
			reportRows(b, orders.NumRows(), ops)
		})
	}
}

func BenchmarkTimeTruncMonth(b *testing.B) {
	orders := benchOrders()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		b.Skip(err)
	}
	e := must(plan.NewTimeTrunc(col("ts", tsUTC), plan.Month, shanghai))
	schema := schemaOf("month", e.DataType())
	// Sorted timestamps hit the last period almost always; random ones search the cache.
	sortedTable := func() *source.Table {
		mem := memory.NewGoAllocator()
		var all []int64
		for _, batch := range orders.Batches() {
			all = append(all, values[int64](batch.Column(3))...)
		}
		slices.Sort(all)
		var batches []arrow.RecordBatch
		for lo := 0; lo < len(all); lo += DefaultBatchRows {
			a := timestamps(mem, tsUTC, all[lo:min(lo+DefaultBatchRows, len(all))], nil)
			batches = append(batches, array.NewRecordBatch(schemaOf("ts", tsUTC), []arrow.Array{a}, int64(a.Len())))
			a.Release()
		}
		t := must(source.NewTable("ts", schemaOf("ts", tsUTC), batches))
		releaseBatches(batches)
		return t
	}()
	defer sortedTable.Release()
	for _, tc := range []struct {
		name  string
		table *source.Table
	}{{"random order", orders}, {"time order", sortedTable}} {
		b.Run(tc.name, func(b *testing.B) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(b, 0)
			env := &Env{Mem: mem}
			b.SetBytes(tc.table.NumRows() * 8)
			b.ReportAllocs()
			ops := 0
			for b.Loop() {
				p := must(NewProject(env, benchScans(b, tc.table, 1, "ts")[0], []plan.Named{{Name: "month", Expr: e}}, schema))
				drain(b, p)
				ops++
			}
			reportRows(b, tc.table.NumRows(), ops)
		})
	}
}

// BenchmarkMask masks a column of 64k names in Latin and Chinese characters, held as plain
// strings and dictionary-encoded (1,000 distinct names).
func BenchmarkMask(b *testing.B) {
	mem := memory.NewGoAllocator()
	rng := rand.New(rand.NewPCG(7, 7))
	given, family := []string{"Wei", "Fang", "Jing", "Xiu", "伟", "芳"}, []string{"Wang", "Li", "Zhang", "王", "李", "张"}
	names := make([]string, 1000)
	for i := range names {
		names[i] = given[rng.IntN(len(given))] + " " + family[rng.IntN(len(family))] + fmt.Sprint(i)
	}
	const rows = 64 * 1024
	plain, idx := array.NewStringBuilder(mem), array.NewInt32Builder(mem)
	var bytes int64
	for range rows {
		k := rng.Int32N(int32(len(names)))
		plain.Append(names[k])
		idx.Append(k)
		bytes += int64(len(names[k]))
	}
	strs, indices := plain.NewArray(), idx.NewArray()
	plain.Release()
	idx.Release()
	dict := dictOf(mem, names)
	dicts := array.NewDictionaryArray(dictString, indices, dict)
	releaseAll([]arrow.Array{indices, dict})
	defer releaseAll([]arrow.Array{strs, dicts})
	for _, in := range []arrow.Array{strs, dicts} {
		rec := array.NewRecordBatch(schemaOf("name", in.DataType()), []arrow.Array{in}, rows)
		defer rec.Release()
		encoding := "string"
		if in == dicts {
			encoding = "dictionary"
		}
		for _, kind := range []plan.MaskKind{plan.MaskHash, plan.MaskPartial} {
			b.Run(kind.String()+"/"+encoding, func(b *testing.B) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(b, 0)
				ev := must(compileExpr(&Env{Mem: mem}, must(plan.NewMask(col("name", in.DataType()), kind)), rec.Schema()))
				defer closeEvaluator(ev)
				b.SetBytes(bytes)
				b.ReportAllocs()
				for b.Loop() {
					out, err := ev.eval(rec)
					if err != nil {
						b.Fatal(err)
					}
					out.Release()
				}
				reportRows(b, rows, b.N)
			})
		}
	}
}

// dictOf returns a string array of words; the caller releases it.
func dictOf(mem memory.Allocator, words []string) arrow.Array {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.AppendValues(words, nil)
	return b.NewArray()
}
