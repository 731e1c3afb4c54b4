package exec

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/plan"
)

var salesSchema = schemaOf("region", plan.String, "rd", dictString, "qty", arrow.PrimitiveTypes.Int32,
	"amount", plan.Decimal(12, 2), "price", plan.Float64, "day", plan.Date, "ts", tsUTC, "paid", plan.Boolean,
	"cust", plan.Int64, "i8", arrow.PrimitiveTypes.Int8, "f", plan.Float64)

const salesRows = `[
{"region":"east", "rd":"east", "qty":2,   "amount":"10.00","price":1.5, "day":"2024-01-01","ts":"2024-01-01T10:00:00Z","paid":true, "cust":100, "i8":1,   "f":0.5},
{"region":"east", "rd":"east", "qty":1,   "amount":"5.50", "price":2.0, "day":"2024-01-02","ts":"2024-01-02T11:00:00Z","paid":false,"cust":101, "i8":1,   "f":-0.0},
{"region":"west", "rd":"west", "qty":3,   "amount":null,   "price":0.5, "day":"2024-01-01","ts":"2024-01-01T12:00:00Z","paid":true, "cust":100, "i8":2,   "f":0.0},
{"region":null,   "rd":null,   "qty":4,   "amount":"1.25", "price":null,"day":"2024-02-01","ts":null,                  "paid":null, "cust":102, "i8":null,"f":null},
{"region":"west", "rd":"west", "qty":null,"amount":"2.00", "price":4.0, "day":null,        "ts":"2024-02-01T00:00:00Z","paid":true, "cust":null,"i8":2,   "f":0.5},
{"region":"east", "rd":"east", "qty":5,   "amount":"-3.00","price":0.25,"day":"2024-01-01","ts":"2024-01-01T13:00:00Z","paid":null, "cust":101, "i8":1,   "f":0.0},
{"region":"north","rd":"north","qty":1,   "amount":null,   "price":null,"day":"2024-03-01","ts":"2024-03-01T00:00:00Z","paid":false,"cust":103, "i8":3,   "f":1.5},
{"region":null,   "rd":null,   "qty":null,"amount":null,   "price":null,"day":null,        "ts":null,                  "paid":null, "cust":null,"i8":null,"f":null}
]`

// sc returns a reference to a column of the sales fixture.
func sc(name string) *plan.Column {
	f, ok := salesSchema.FieldsByName(name)
	if !ok {
		panic("no sales column " + name)
	}
	return col(name, f[0].Type)
}

func agg(name string, fn plan.AggFunc, arg, filter plan.Expr) plan.AggExpr {
	return must(plan.NewAggExpr(name, fn, arg, filter))
}

// aggregateRows runs a HashAggregate over inputs and returns its rows, sorted.
func aggregateRows(t *testing.T, env *Env, inputs []Operator, groupBy []plan.Named, aggs []plan.AggExpr) ([]string, error) {
	t.Helper()
	node := must(plan.NewAggregate(schemaNode(inputs[0].Schema()), groupBy, aggs))
	h, err := NewHashAggregate(env, inputs, groupBy, aggs, nil, node.Schema())
	if err != nil {
		return nil, err
	}
	batches, err := Collect(context.Background(), h)
	if err != nil {
		return nil, err
	}
	defer releaseBatches(batches)
	checkBatches(t, h.Schema(), batches, env.BatchRows)
	return sorted(rowsOf(batches)), nil
}

// schemaNode is a plan leaf with the given schema, so that plan constructors can derive output
// schemas for operators under test.
func schemaNode(s *arrow.Schema) plan.Node {
	cols := make([]string, s.NumFields())
	fields := make([]arrow.Field, s.NumFields())
	for i, f := range s.Fields() {
		cols[i] = f.Name
		fields[i] = f
	}
	// A scan with an empty alias would qualify names as ".x"; build it over the bare names and
	// then strip the alias by projecting.
	scan := must(plan.NewScan("test", "t", "t", arrow.NewSchema(fields, nil), cols, nil))
	named := make([]plan.Named, len(cols))
	for i, f := range s.Fields() {
		named[i] = plan.Named{Name: f.Name, Expr: col("t."+f.Name, f.Type)}
	}
	return must(plan.NewProject(scan, named))
}

func TestHashAggregateHandWorked(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := recordJSON(t, mem, salesSchema, salesRows)
	defer rec.Release()
	fl := floatText
	monthOf := func(e plan.Expr) plan.Expr { return must(plan.NewTimeTrunc(e, plan.Month, time.UTC)) }
	tests := []struct {
		name    string
		groupBy []plan.Named
		aggs    []plan.AggExpr
		want    []string
	}{
		{"global", nil, []plan.AggExpr{
			agg("n", plan.Count, nil, nil),
			agg("n_amount", plan.Count, sc("amount"), nil),
			agg("sum_amount", plan.Sum, sc("amount"), nil),
			agg("avg_amount", plan.Avg, sc("amount"), nil),
			agg("min_amount", plan.Min, sc("amount"), nil),
			agg("max_amount", plan.Max, sc("amount"), nil),
			agg("regions", plan.CountDistinct, sc("region"), nil),
			agg("sum_qty", plan.Sum, sc("qty"), nil),
			agg("avg_qty", plan.Avg, sc("qty"), nil),
			agg("min_qty", plan.Min, sc("qty"), nil),
			agg("min_region", plan.Min, sc("region"), nil),
			agg("max_rd", plan.Max, sc("rd"), nil),
			agg("max_day", plan.Max, sc("day"), nil),
			agg("min_ts", plan.Min, sc("ts"), nil),
			agg("sum_price", plan.Sum, sc("price"), nil),
			agg("avg_price", plan.Avg, sc("price"), nil),
			agg("customers", plan.CountDistinct, sc("cust"), nil),
			agg("rds", plan.CountDistinct, sc("rd"), nil),
			agg("max_i8", plan.Max, sc("i8"), nil),
			agg("paid_kinds", plan.CountDistinct, sc("paid"), nil),
		}, []string{strings.Join([]string{"8", "5", "15.75", fl(15.75 / 5), "-3.00", "10.00", "3", "16", fl(16.0 / 6), "1",
			"east", "west", "2024-03-01", "2024-01-01T10:00:00Z", "8.25", fl(8.25 / 5), "4", "3", "3", "2"}, "|")}},
		{"by region, with filters", []plan.Named{{Name: "region", Expr: sc("region")}}, []plan.AggExpr{
			agg("n", plan.Count, nil, nil),
			agg("sum_amount", plan.Sum, sc("amount"), nil),
			agg("n_amount", plan.Count, sc("amount"), nil),
			agg("paid_amount", plan.Sum, sc("amount"), sc("paid")),
			agg("paid_rows", plan.Count, nil, sc("paid")),
			agg("unpaid_qty", plan.Sum, sc("qty"), must(plan.NewNot(sc("paid")))),
		}, []string{"NULL|2|1.25|1|NULL|0|NULL", "east|3|12.50|3|10.00|1|1", "north|1|NULL|0|NULL|0|1", "west|2|2.00|1|2.00|2|NULL"}},
		{"filter that is NULL", []plan.Named{{Name: "rd", Expr: sc("rd")}}, []plan.AggExpr{
			agg("s", plan.Sum, sc("amount"), plan.Null(plan.Boolean)),
			agg("n", plan.Count, nil, plan.Null(plan.Boolean)),
			agg("d", plan.CountDistinct, sc("cust"), plan.Null(plan.Boolean)),
			agg("m", plan.Max, sc("region"), plan.Null(plan.Boolean)),
		}, []string{"NULL|NULL|0|0|NULL", "east|NULL|0|0|NULL", "north|NULL|0|0|NULL", "west|NULL|0|0|NULL"}},
		{"dictionary and month", []plan.Named{{Name: "rd", Expr: sc("rd")}, {Name: "month", Expr: monthOf(sc("ts"))}}, []plan.AggExpr{
			agg("qty", plan.Sum, sc("qty"), nil),
		}, []string{"NULL|NULL|4", "east|2024-01-01T00:00:00Z|8", "north|2024-03-01T00:00:00Z|1", "west|2024-01-01T00:00:00Z|3", "west|2024-02-01T00:00:00Z|NULL"}},
		{"float key, -0 is 0", []plan.Named{{Name: "f", Expr: sc("f")}}, []plan.AggExpr{agg("n", plan.Count, nil, nil)},
			[]string{"0.5|2", "0|3", "1.5|1", "NULL|2"}},
		{"bool key", []plan.Named{{Name: "paid", Expr: sc("paid")}}, []plan.AggExpr{agg("n", plan.Count, nil, nil), agg("qty", plan.Sum, sc("qty"), nil)},
			[]string{"NULL|3|9", "false|2|2", "true|3|5"}},
		{"decimal key", []plan.Named{{Name: "amount", Expr: sc("amount")}}, []plan.AggExpr{agg("n", plan.Count, nil, nil)},
			[]string{"-3.00|1", "1.25|1", "10.00|1", "2.00|1", "5.50|1", "NULL|3"}},
		{"timestamp key", []plan.Named{{Name: "ts", Expr: sc("ts")}}, []plan.AggExpr{agg("n", plan.Count, nil, nil)},
			[]string{"2024-01-01T10:00:00Z|1", "2024-01-01T12:00:00Z|1", "2024-01-01T13:00:00Z|1", "2024-01-02T11:00:00Z|1",
				"2024-02-01T00:00:00Z|1", "2024-03-01T00:00:00Z|1", "NULL|2"}},
		{"three keys", []plan.Named{{Name: "i8", Expr: sc("i8")}, {Name: "day", Expr: sc("day")}, {Name: "region", Expr: sc("region")}},
			[]plan.AggExpr{agg("n", plan.Count, nil, nil), agg("c", plan.CountDistinct, sc("cust"), nil)},
			[]string{"1|2024-01-01|east|2|2", "1|2024-01-02|east|1|1", "2|2024-01-01|west|1|1", "2|NULL|west|1|0",
				"3|2024-03-01|north|1|1", "NULL|2024-02-01|NULL|1|1", "NULL|NULL|NULL|1|0"}},
		{"expression key", []plan.Named{{Name: "big", Expr: bin(t, plan.Gt, sc("qty"), lit(t, int64(2), plan.Int64))}},
			[]plan.AggExpr{agg("n", plan.Count, nil, nil)}, []string{"NULL|2", "false|3", "true|3"}},
		{"count of NULL", nil, []plan.AggExpr{agg("n", plan.Count, plan.Null(arrow.Null), nil), agg("m", plan.Count, plan.Null(plan.Int64), nil)},
			[]string{"0|0"}},
	}
	for _, tc := range tests {
		for _, inputs := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/%d inputs", tc.name, inputs), func(t *testing.T) {
				parts := splitRecord(rec, 3, 0, 2, 3)
				defer releaseBatches(parts)
				tbl := newTable(t, salesSchema, parts)
				defer tbl.Release()
				env := &Env{Mem: mem, BatchRows: 2}
				got, err := aggregateRows(t, env, scansOf(t, tbl, inputs), tc.groupBy, tc.aggs)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, tc.want) {
					t.Fatalf("\n got: %q\nwant: %q", got, tc.want)
				}
			})
		}
	}
}

// TestHashAggregateEmptyInput: a global aggregate over no rows yields one row (counts 0, the rest
// NULL); a grouped one yields none.
func TestHashAggregateEmptyInput(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	empty := recordJSON(t, mem, salesSchema, `[]`)
	defer empty.Release()
	aggs := []plan.AggExpr{
		agg("n", plan.Count, nil, nil), agg("c", plan.Count, sc("amount"), nil), agg("s", plan.Sum, sc("amount"), nil),
		agg("a", plan.Avg, sc("qty"), nil), agg("mn", plan.Min, sc("region"), nil), agg("mx", plan.Max, sc("ts"), nil),
		agg("d", plan.CountDistinct, sc("rd"), nil), agg("sf", plan.Sum, sc("price"), sc("paid")),
	}
	for _, shape := range []struct {
		name    string
		batches []arrow.RecordBatch
		inputs  int
	}{
		{"no batches", nil, 1},
		{"no batches, 4 inputs", nil, 4},
		{"empty batches, 4 inputs", []arrow.RecordBatch{empty, empty}, 4},
	} {
		t.Run(shape.name, func(t *testing.T) {
			tbl := newTable(t, salesSchema, shape.batches)
			defer tbl.Release()
			env := &Env{Mem: mem}
			got, err := aggregateRows(t, env, scansOf(t, tbl, shape.inputs), nil, aggs)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"0|0|NULL|NULL|NULL|NULL|0|NULL"}; !slices.Equal(got, want) {
				t.Fatalf("global: got %q, want %q", got, want)
			}
			got, err = aggregateRows(t, env, scansOf(t, tbl, shape.inputs), []plan.Named{{Name: "rd", Expr: sc("rd")}}, aggs)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 0 {
				t.Fatalf("grouped: got %q, want no rows", got)
			}
		})
	}
}

// TestHashAggregateDictionaries groups dictionary columns whose batches share one dictionary,
// and whose batches each have their own, in different orders.
func TestHashAggregateDictionaries(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := schemaOf("k", dictString, "v", plan.Int64)
	shared := arrayJSON(t, mem, plan.String, `["x", "y", "z"]`)
	defer shared.Release()
	other := arrayJSON(t, mem, plan.String, `["z", "w", "x"]`)
	defer other.Release()
	var batches []arrow.RecordBatch
	add := func(dict arrow.Array, idx []int32, vals string) {
		k := dictOver(mem, dict, idx)
		defer k.Release()
		v := arrayJSON(t, mem, plan.Int64, vals)
		defer v.Release()
		batches = append(batches, array.NewRecordBatch(schema, []arrow.Array{k, v}, int64(k.Len())))
	}
	add(shared, []int32{0, 1, 0, -1}, `[1, 2, 3, 4]`)
	add(shared, []int32{2, 2, 1}, `[5, 6, 7]`)
	add(other, []int32{0, 1, 2, 2}, `[8, 9, 10, 11]`)
	add(shared, []int32{0, -1}, `[12, 13]`)
	defer releaseBatches(batches)
	tbl := newTable(t, schema, batches)
	defer tbl.Release()
	k := col("k", dictString)
	for _, inputs := range []int{1, 2, 4} {
		env := &Env{Mem: mem}
		got, err := aggregateRows(t, env, scansOf(t, tbl, inputs), []plan.Named{{Name: "k", Expr: k}}, []plan.AggExpr{
			agg("s", plan.Sum, col("v", plan.Int64), nil), agg("n", plan.Count, k, nil), agg("d", plan.CountDistinct, k, nil),
			agg("mn", plan.Min, k, nil),
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"NULL|17|0|0|NULL", "w|9|1|1|w", "x|37|5|1|x", "y|9|2|1|y", "z|19|3|1|z"}
		if !slices.Equal(got, want) {
			t.Fatalf("%d inputs:\n got: %q\nwant: %q", inputs, got, want)
		}
	}
}

func TestHashAggregateOverflow(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := schemaOf("v", plan.Int64)
	a := recordJSON(t, mem, schema, `[{"v":9223372036854775807}]`)
	defer a.Release()
	b := recordJSON(t, mem, schema, `[{"v":1}]`)
	defer b.Release()
	for _, inputs := range []int{1, 2} {
		tbl := newTable(t, schema, []arrow.RecordBatch{a, b})
		_, err := aggregateRows(t, &Env{Mem: mem}, scansOf(t, tbl, inputs), nil, []plan.AggExpr{agg("s", plan.Sum, col("v", plan.Int64), nil)})
		tbl.Release()
		if !errors.Is(err, ErrOverflow) {
			t.Errorf("%d inputs: sum past MaxInt64: %v, want ErrOverflow", inputs, err)
		}
	}
}

// genColumn is one column of generated data: its Go values per row (nil for NULL).
type genColumn struct {
	name string
	typ  arrow.DataType
	vals []any
	// dictionary columns: shared uses one dictionary for every batch; otherwise each batch
	// gets its own, in a random order.
	shared bool
}

// genTable is random data for the aggregate property test.
type genTable struct {
	cols    []*genColumn
	byName  map[string]*genColumn
	schema  *arrow.Schema
	batches []arrow.RecordBatch
}

func (g *genTable) release() { releaseBatches(g.batches) }

func (g *genTable) col(name string) *plan.Column {
	c := g.byName[name]
	return col(name, c.typ)
}

// makeGenTable generates rows in batches with every key and value type, NULLs included.
func makeGenTable(t testing.TB, mem memory.Allocator, rng *rand.Rand, batches, rowsPer int) *genTable {
	n := batches * rowsPer
	pick := func(pNull float64, choices ...any) func() any {
		return func() any {
			if rng.Float64() < pNull {
				return nil
			}
			return choices[rng.IntN(len(choices))]
		}
	}
	ranged := func(pNull float64, fn func() any) func() any {
		return func() any {
			if rng.Float64() < pNull {
				return nil
			}
			return fn()
		}
	}
	day0 := int32(19700) // 2023-12-09
	ts0 := int64(1_700_000_000_000_000)
	specs := []struct {
		name   string
		typ    arrow.DataType
		gen    func() any
		shared bool
	}{
		{"k_str", plan.String, pick(0.1, "a", "b", "c", "d", "e"), false},
		{"k_dshared", dictString, pick(0.1, "x", "y", "z", "w"), true},
		{"k_dvar", dictString, pick(0.1, "p", "q", "r", "s", "t"), false},
		{"k_i8", arrow.PrimitiveTypes.Int8, pick(0.1, int8(-3), int8(-1), int8(0), int8(2), int8(3)), false},
		{"k_i32", arrow.PrimitiveTypes.Int32, pick(0.1, int32(-100000), int32(0), int32(7), int32(100000)), false},
		{"k_i64", plan.Int64, pick(0.1, int64(-1)<<40, int64(5), int64(1)<<40, int64(123456789)), false},
		{"k_ts", tsUTC, pick(0.1, ts0, ts0+1, ts0+86_400_000_000, ts0-3_600_000_000), false},
		{"k_date", plan.Date, pick(0.1, day0, day0+1, day0+31, day0-400), false},
		{"k_dec", plan.Decimal(10, 2), pick(0.1, int64(-150), int64(0), int64(225), int64(10000)), false},
		{"k_bool", plan.Boolean, pick(0.1, true, false), false},
		{"k_f64", plan.Float64, pick(0.1, math.Copysign(0, -1), 0.0, 1.5, -2.25), false},
		{"v_i64", plan.Int64, ranged(0.2, func() any { return rng.Int64N(2_000_001) - 1_000_000 }), false},
		{"v_i32", arrow.PrimitiveTypes.Int32, ranged(0.2, func() any { return int32(rng.IntN(2001) - 1000) }), false},
		{"v_f64", plan.Float64, ranged(0.2, func() any { return float64(rng.IntN(801)-400) / 4 }), false},
		{"v_dec", plan.Decimal(12, 2), ranged(0.2, func() any { return rng.Int64N(200_001) - 100_000 }), false},
		{"v_str", plan.String, pick(0.2, "apple", "banana", "cherry", "date", "elder", "fig"), false},
		{"v_date", plan.Date, ranged(0.2, func() any { return day0 + rng.Int32N(60) }), false},
		{"v_ts", tsUTC, ranged(0.2, func() any { return ts0 + rng.Int64N(1_000_000_000_000) }), false},
		{"flag", plan.Boolean, pick(0.2, true, false), false},
	}
	g := &genTable{byName: map[string]*genColumn{}}
	var fields []arrow.Field
	for _, s := range specs {
		c := &genColumn{name: s.name, typ: s.typ, shared: s.shared, vals: make([]any, n)}
		for i := range c.vals {
			c.vals[i] = s.gen()
		}
		g.cols = append(g.cols, c)
		g.byName[s.name] = c
		fields = append(fields, nullable(s.name, s.typ))
	}
	g.schema = arrow.NewSchema(fields, nil)
	sharedDicts := map[string]arrow.Array{}
	defer func() {
		for _, d := range sharedDicts {
			d.Release()
		}
	}()
	for b := 0; b < batches; b++ {
		lo, hi := b*rowsPer, (b+1)*rowsPer
		arrs := make([]arrow.Array, len(g.cols))
		for ci, c := range g.cols {
			if c.typ.ID() == arrow.DICTIONARY {
				arrs[ci] = genDictionary(mem, rng, c, lo, hi, sharedDicts)
				continue
			}
			bld := array.NewBuilder(mem, c.typ)
			for _, v := range c.vals[lo:hi] {
				if v == nil {
					bld.AppendNull()
					continue
				}
				switch x := bld.(type) {
				case *array.Int8Builder:
					x.Append(v.(int8))
				case *array.Int32Builder:
					x.Append(v.(int32))
				case *array.Int64Builder:
					x.Append(v.(int64))
				case *array.Float64Builder:
					x.Append(v.(float64))
				case *array.Decimal128Builder:
					x.Append(decimal128.FromI64(v.(int64)))
				case *array.StringBuilder:
					x.Append(v.(string))
				case *array.BooleanBuilder:
					x.Append(v.(bool))
				case *array.Date32Builder:
					x.Append(arrow.Date32(v.(int32)))
				case *array.TimestampBuilder:
					x.Append(arrow.Timestamp(v.(int64)))
				default:
					t.Fatalf("no builder for %s", c.typ)
				}
			}
			arrs[ci] = bld.NewArray()
			bld.Release()
		}
		g.batches = append(g.batches, array.NewRecordBatch(g.schema, arrs, int64(hi-lo)))
		releaseAll(arrs)
	}
	return g
}

// genDictionary builds rows lo…hi of a dictionary column: over one dictionary kept in shared,
// or over a dictionary of its own holding the batch's values in a random order.
func genDictionary(mem memory.Allocator, rng *rand.Rand, c *genColumn, lo, hi int, shared map[string]arrow.Array) arrow.Array {
	var words []string
	if c.shared {
		words = []string{"x", "y", "z", "w"}
	} else {
		seen := map[string]bool{}
		for _, v := range c.vals[lo:hi] {
			if v != nil && !seen[v.(string)] {
				seen[v.(string)] = true
				words = append(words, v.(string))
			}
		}
		rng.Shuffle(len(words), func(i, j int) { words[i], words[j] = words[j], words[i] })
	}
	index := map[string]int32{}
	for i, w := range words {
		index[w] = int32(i)
	}
	dict := shared[c.name]
	if dict == nil {
		b := array.NewStringBuilder(mem)
		b.AppendValues(words, nil)
		dict = b.NewArray()
		b.Release()
		if c.shared {
			shared[c.name] = dict
		} else {
			defer dict.Release()
		}
	}
	idx := make([]int32, 0, hi-lo)
	for _, v := range c.vals[lo:hi] {
		if v == nil {
			idx = append(idx, -1)
		} else {
			idx = append(idx, index[v.(string)])
		}
	}
	return dictOver(mem, dict, idx)
}

// format prints a generated value as cell prints the engine's output of type t.
func format(t arrow.DataType, v any) string {
	if v == nil {
		return "NULL"
	}
	switch x := v.(type) {
	case int8:
		return strconv.Itoa(int(x))
	case int32:
		if t.ID() == arrow.DATE32 {
			return time.Unix(int64(x)*86400, 0).UTC().Format(time.DateOnly)
		}
		return strconv.Itoa(int(x))
	case int64:
		switch {
		case plan.IsDecimal(t):
			return decimal128.FromI64(x).ToString(plan.DecimalScale(t))
		case t.ID() == arrow.TIMESTAMP:
			return time.UnixMicro(x).UTC().Format(time.RFC3339Nano)
		}
		return strconv.FormatInt(x, 10)
	case float64:
		if x == 0 {
			x = 0 // -0 groups, and prints, as 0
		}
		return floatText(x)
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	}
	panic(fmt.Sprintf("format %T", v))
}

// oracleAgg is an aggregate with the plain Go computation of its result over a group's rows.
type oracleAgg struct {
	expr   plan.AggExpr
	oracle func(rows []int) string
}

func oracleAggs(g *genTable) []oracleAgg {
	vals := func(name string, rows []int, filter func(int) bool) []any {
		var out []any
		for _, r := range rows {
			if v := g.byName[name].vals[r]; v != nil && (filter == nil || filter(r)) {
				out = append(out, v)
			}
		}
		return out
	}
	flagTrue := func(r int) bool { v := g.byName["flag"].vals[r]; return v != nil && v.(bool) }
	flagFalse := func(r int) bool { v := g.byName["flag"].vals[r]; return v != nil && !v.(bool) }
	sumInt := func(name string, filter func(int) bool) func([]int) string {
		return func(rows []int) string {
			vs := vals(name, rows, filter)
			if len(vs) == 0 {
				return "NULL"
			}
			s := int64(0)
			for _, v := range vs {
				s += toInt64(v)
			}
			if plan.IsDecimal(g.byName[name].typ) {
				return format(plan.Decimal(38, 2), s)
			}
			return strconv.FormatInt(s, 10)
		}
	}
	sumFloat := func(name string, filter func(int) bool) func([]int) string {
		return func(rows []int) string {
			vs := vals(name, rows, filter)
			if len(vs) == 0 {
				return "NULL"
			}
			s := 0.0
			for _, v := range vs {
				s += v.(float64)
			}
			return floatText(s)
		}
	}
	avg := func(name string, filter func(int) bool) func([]int) string {
		return func(rows []int) string {
			vs := vals(name, rows, filter)
			if len(vs) == 0 {
				return "NULL"
			}
			c := g.byName[name]
			if c.typ.ID() == arrow.FLOAT64 {
				s := 0.0
				for _, v := range vs {
					s += v.(float64)
				}
				return floatText(s / float64(len(vs)))
			}
			s := int64(0)
			for _, v := range vs {
				s += toInt64(v)
			}
			if plan.IsDecimal(c.typ) {
				return floatText(float64(s) / math.Pow10(int(plan.DecimalScale(c.typ))) / float64(len(vs)))
			}
			return floatText(float64(s) / float64(len(vs)))
		}
	}
	minMax := func(name string, max bool, filter func(int) bool) func([]int) string {
		return func(rows []int) string {
			vs := vals(name, rows, filter)
			if len(vs) == 0 {
				return "NULL"
			}
			best := vs[0]
			for _, v := range vs[1:] {
				c := compareAny(v, best)
				if (max && c > 0) || (!max && c < 0) {
					best = v
				}
			}
			return format(g.byName[name].typ, best)
		}
	}
	count := func(name string, filter func(int) bool) func([]int) string {
		return func(rows []int) string {
			if name == "" {
				n := 0
				for _, r := range rows {
					if filter == nil || filter(r) {
						n++
					}
				}
				return strconv.Itoa(n)
			}
			return strconv.Itoa(len(vals(name, rows, filter)))
		}
	}
	distinct := func(name string, filter func(int) bool) func([]int) string {
		return func(rows []int) string {
			seen := map[string]bool{}
			for _, v := range vals(name, rows, filter) {
				seen[format(g.byName[name].typ, v)] = true
			}
			return strconv.Itoa(len(seen))
		}
	}
	c := g.col
	flag := c("flag")
	notFlag := must(plan.NewNot(flag))
	var out []oracleAgg
	add := func(name string, fn plan.AggFunc, arg, filter plan.Expr, oracle func([]int) string) {
		out = append(out, oracleAgg{agg(name, fn, arg, filter), oracle})
	}
	add("count", plan.Count, nil, nil, count("", nil))
	add("count_str", plan.Count, c("v_str"), nil, count("v_str", nil))
	add("count_dvar", plan.Count, c("k_dvar"), nil, count("k_dvar", nil))
	for _, name := range []string{"v_i64", "v_i32", "v_dec"} {
		add("sum_"+name, plan.Sum, c(name), nil, sumInt(name, nil))
		add("avg_"+name, plan.Avg, c(name), nil, avg(name, nil))
	}
	add("sum_v_f64", plan.Sum, c("v_f64"), nil, sumFloat("v_f64", nil))
	add("avg_v_f64", plan.Avg, c("v_f64"), nil, avg("v_f64", nil))
	for _, name := range []string{"v_i64", "v_i32", "v_f64", "v_dec", "v_str", "v_date", "v_ts", "k_dshared", "k_dvar", "k_i8"} {
		add("min_"+name, plan.Min, c(name), nil, minMax(name, false, nil))
		add("max_"+name, plan.Max, c(name), nil, minMax(name, true, nil))
	}
	for _, name := range []string{"v_i64", "v_i32", "v_str", "v_dec", "v_f64", "k_f64", "k_bool", "v_date", "v_ts", "k_dvar", "k_dshared", "k_i8"} {
		add("distinct_"+name, plan.CountDistinct, c(name), nil, distinct(name, nil))
	}
	add("count_flag", plan.Count, nil, flag, count("", flagTrue))
	add("sum_dec_flag", plan.Sum, c("v_dec"), flag, sumInt("v_dec", flagTrue))
	add("sum_i64_not_flag", plan.Sum, c("v_i64"), notFlag, sumInt("v_i64", flagFalse))
	add("avg_f64_not_flag", plan.Avg, c("v_f64"), notFlag, avg("v_f64", flagFalse))
	add("distinct_str_flag", plan.CountDistinct, c("v_str"), flag, distinct("v_str", flagTrue))
	add("distinct_i64_flag", plan.CountDistinct, c("v_i64"), flag, distinct("v_i64", flagTrue))
	add("min_str_flag", plan.Min, c("v_str"), flag, minMax("v_str", false, flagTrue))
	add("max_ts_not_flag", plan.Max, c("v_ts"), notFlag, minMax("v_ts", true, flagFalse))
	add("count_null_filter", plan.Count, nil, plan.Null(plan.Boolean), func([]int) string { return "0" })
	return out
}

func toInt64(v any) int64 {
	switch x := v.(type) {
	case int8:
		return int64(x)
	case int32:
		return int64(x)
	case int64:
		return x
	}
	panic(fmt.Sprintf("toInt64 %T", v))
}

func compareAny(a, b any) int {
	switch x := a.(type) {
	case string:
		return strings.Compare(x, b.(string))
	case float64:
		return cmp.Compare(x, b.(float64))
	case bool:
		return cmpBool(x, b.(bool))
	}
	return cmp.Compare(toInt64(a), toInt64(b))
}

// oracleGroupBy computes the expected rows of an aggregation of g with plain Go maps.
func oracleGroupBy(g *genTable, keys []string, aggs []oracleAgg) []string {
	groups := map[string][]int{}
	n := len(g.cols[0].vals)
	if len(keys) == 0 {
		groups[""] = []int{}
	}
	for r := 0; r < n; r++ {
		parts := make([]string, len(keys))
		for i, k := range keys {
			c := g.byName[k]
			parts[i] = format(plan.ValueType(c.typ), c.vals[r])
		}
		key := strings.Join(parts, "|")
		groups[key] = append(groups[key], r)
	}
	var out []string
	for key, rows := range groups {
		var parts []string
		if len(keys) > 0 {
			parts = append(parts, key)
		}
		for _, a := range aggs {
			parts = append(parts, a.oracle(rows))
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return sorted(out)
}

// TestHashAggregateMatchesOracle groups random data by zero to three keys of every key type and
// computes every aggregate over every supported type, with one input and with four parallel
// inputs sharing the batches, and compares with an aggregation done with Go maps.
func TestHashAggregateMatchesOracle(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(2024, 3))
	g := makeGenTable(t, mem, rng, 10, 250)
	defer g.release()
	tbl := newTable(t, g.schema, g.batches)
	defer tbl.Release()
	aggs := oracleAggs(g)
	exprs := make([]plan.AggExpr, len(aggs))
	for i, a := range aggs {
		exprs[i] = a.expr
	}
	keySets := [][]string{
		{},
		{"k_str"}, {"k_dshared"}, {"k_dvar"}, {"k_i8"}, {"k_i32"}, {"k_i64"}, {"k_ts"}, {"k_date"}, {"k_dec"}, {"k_bool"}, {"k_f64"},
		{"k_str", "k_i8"}, {"k_dvar", "k_bool"}, {"k_dshared", "k_dvar"},
		{"k_date", "k_dec", "k_f64"}, {"k_i64", "k_dshared", "k_ts"}, {"k_i32", "k_str", "k_bool"},
	}
	for _, keys := range keySets {
		want := oracleGroupBy(g, keys, aggs)
		groupBy := make([]plan.Named, len(keys))
		for i, k := range keys {
			groupBy[i] = plan.Named{Name: k, Expr: g.col(k)}
		}
		for _, inputs := range []int{1, 4} {
			for _, batchRows := range []int{0, 7} {
				t.Run(fmt.Sprintf("by %s/%d inputs/batch %d", strings.Join(keys, ","), inputs, batchRows), func(t *testing.T) {
					env := &Env{Mem: mem, BatchRows: batchRows}
					got, err := aggregateRows(t, env, scansOf(t, tbl, inputs), groupBy, exprs)
					if err != nil {
						t.Fatal(err)
					}
					if len(got) != len(want) {
						t.Fatalf("%d groups, want %d", len(got), len(want))
					}
					for i := range got {
						if got[i] != want[i] {
							gp, wp := strings.Split(got[i], "|"), strings.Split(want[i], "|")
							for c := range gp {
								if c < len(wp) && gp[c] != wp[c] {
									name := "key"
									if c >= len(keys) {
										name = aggs[c-len(keys)].expr.String()
									}
									t.Errorf("row %d column %d (%s): got %s, want %s", i, c, name, gp[c], wp[c])
								}
							}
							t.Fatalf("\n got: %s\nwant: %s", got[i], want[i])
						}
					}
				})
			}
		}
	}
}

// TestHashAggregateWhere checks that a predicate applied as the aggregation's selection gives
// what a Filter operator below the aggregation gives, for every key shape and aggregate, with
// batches where every row, some rows and no row pass, and NULL predicate values.
func TestHashAggregateWhere(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(7, 11))
	g := makeGenTable(t, mem, rng, 6, 200)
	defer g.release()
	tbl := newTable(t, g.schema, g.batches)
	defer tbl.Release()
	aggs := oracleAggs(g)
	exprs := make([]plan.AggExpr, len(aggs))
	for i, a := range aggs {
		exprs[i] = a.expr
	}
	flag := g.col("flag")
	never := must(plan.NewBinary(plan.And, flag, must(plan.NewNot(flag))))
	preds := map[string]plan.Expr{
		"flag":         flag,
		"not flag":     must(plan.NewNot(flag)),
		"never":        never,
		"always":       plan.NewIsNull(flag, true),
		"flag or null": must(plan.NewBinary(plan.Or, flag, plan.NewIsNull(g.col("k_str"), false))),
		// Predicates on the keys leave whole groups without a selected row: those groups must
		// not appear.
		"on a key":       must(plan.NewIn(g.col("k_dshared"), []*plan.Literal{must(plan.NewLiteral("x", plan.String))}, false)),
		"on another key": must(plan.NewBinary(plan.Gt, g.col("k_i64"), must(plan.NewLiteral(int64(5), plan.Int64)))),
	}
	for _, keys := range [][]string{{}, {"k_dshared"}, {"k_i64"}, {"k_str", "k_bool"}, {"k_i64", "k_dshared"}, {"k_date", "k_dec", "k_f64"}} {
		groupBy := make([]plan.Named, len(keys))
		for i, k := range keys {
			groupBy[i] = plan.Named{Name: k, Expr: g.col(k)}
		}
		for name, pred := range preds {
			for _, inputs := range []int{1, 3} {
				t.Run(fmt.Sprintf("by %s where %s/%d inputs", strings.Join(keys, ","), name, inputs), func(t *testing.T) {
					env := &Env{Mem: mem}
					filtered := scansOf(t, tbl, inputs)
					for i, in := range filtered {
						filtered[i] = must(NewFilter(env, in, pred))
					}
					want, err := aggregateRows(t, env, filtered, groupBy, exprs)
					if err != nil {
						t.Fatal(err)
					}
					node := must(plan.NewAggregate(schemaNode(g.schema), groupBy, exprs))
					h, err := NewHashAggregate(env, scansOf(t, tbl, inputs), groupBy, exprs, pred, node.Schema())
					if err != nil {
						t.Fatal(err)
					}
					batches, err := Collect(context.Background(), h)
					if err != nil {
						t.Fatal(err)
					}
					defer releaseBatches(batches)
					got := sorted(rowsOf(batches))
					if !slices.Equal(got, want) {
						t.Errorf("with the selection:\n%s\nwith a Filter below:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
					}
				})
			}
		}
	}
}

// TestDistinctModes checks count_distinct through its bitmap and hash-set modes: sets that stay
// small, a set that meets a negative or a huge value mid-way, and partials in different modes
// merged together — against counts done with Go maps.
func TestDistinctModes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := schemaOf("g", plan.Int64, "v", plan.Int64)
	rng := rand.New(rand.NewPCG(5, 8))
	cases := map[string]func(batch, row int) int64{
		"small values":            func(int, int) int64 { return rng.Int64N(5000) },
		"a negative value late":   func(b, r int) int64 { return map[bool]int64{true: -7, false: rng.Int64N(3000)}[b == 3 && r == 10] },
		"a huge value late":       func(b, r int) int64 { return map[bool]int64{true: 1 << 50, false: rng.Int64N(3000)}[b == 2 && r == 0] },
		"huge only in one batch":  func(b, r int) int64 { return map[bool]int64{true: rng.Int64N(1 << 40), false: rng.Int64N(100)}[b == 1] },
		"beyond the bitmap limit": func(int, int) int64 { return rng.Int64N(maxDistinctWords * 64 * 2) },
	}
	for name, value := range cases {
		t.Run(name, func(t *testing.T) {
			var batches []arrow.RecordBatch
			want := map[int64]map[int64]bool{}
			for b := 0; b < 6; b++ {
				var rows []string
				for r := 0; r < 300; r++ {
					g, v := rng.Int64N(7), value(b, r)
					if want[g] == nil {
						want[g] = map[int64]bool{}
					}
					want[g][v] = true
					rows = append(rows, fmt.Sprintf(`{"g":%d,"v":%d}`, g, v))
				}
				batches = append(batches, recordJSON(t, mem, schema, "["+strings.Join(rows, ",")+"]"))
			}
			tbl := newTable(t, schema, batches)
			releaseBatches(batches)
			defer tbl.Release()
			var wantRows []string
			for g, vs := range want {
				wantRows = append(wantRows, fmt.Sprintf("%d|%d", g, len(vs)))
			}
			for _, inputs := range []int{1, 3} {
				got, err := aggregateRows(t, &Env{Mem: mem}, scansOf(t, tbl, inputs),
					[]plan.Named{{Name: "g", Expr: col("g", plan.Int64)}},
					[]plan.AggExpr{agg("n", plan.CountDistinct, col("v", plan.Int64), nil)})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, sorted(wantRows)) {
					t.Errorf("%d inputs: got %v, want %v", inputs, got, sorted(wantRows))
				}
			}
		})
	}
}

// TestDistinctKeys checks a DISTINCT over one integer key — the bitmap path, and its move to
// ordinary groups on a negative or huge key, with NULLs, a selection and parallel partials —
// against the set of keys computed with a Go map.
func TestDistinctKeys(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := schemaOf("v", plan.Int64, "keep", plan.Boolean)
	rng := rand.New(rand.NewPCG(3, 9))
	cases := map[string]func(batch, row int) string{
		"small keys": func(int, int) string { return strconv.Itoa(rng.IntN(2000)) },
		"keys and NULLs": func(_, r int) string {
			return map[bool]string{true: "null", false: strconv.Itoa(rng.IntN(50))}[r%7 == 0]
		},
		"a negative key late": func(b, r int) string {
			return map[bool]string{true: "-3", false: strconv.Itoa(rng.IntN(500))}[b == 4 && r == 5]
		},
		"a huge key in one batch": func(b, _ int) string {
			return map[bool]string{true: strconv.FormatInt(rng.Int64N(1<<45), 10), false: strconv.Itoa(rng.IntN(100))}[b == 2]
		},
	}
	for name, key := range cases {
		t.Run(name, func(t *testing.T) {
			var batches []arrow.RecordBatch
			all, kept := map[string]bool{}, map[string]bool{}
			for b := 0; b < 6; b++ {
				var rows []string
				for r := 0; r < 200; r++ {
					k, keep := key(b, r), rng.IntN(3) > 0
					all[k] = true
					if keep {
						kept[k] = true
					}
					rows = append(rows, fmt.Sprintf(`{"v":%s,"keep":%t}`, k, keep))
				}
				batches = append(batches, recordJSON(t, mem, schema, "["+strings.Join(rows, ",")+"]"))
			}
			tbl := newTable(t, schema, batches)
			releaseBatches(batches)
			defer tbl.Release()
			keys := func(set map[string]bool) []string {
				var out []string
				for k := range set {
					out = append(out, strings.ReplaceAll(k, "null", "NULL"))
				}
				return sorted(out)
			}
			groupBy := []plan.Named{{Name: "v", Expr: col("v", plan.Int64)}}
			node := must(plan.NewAggregate(schemaNode(schema), groupBy, nil))
			for _, where := range []plan.Expr{nil, col("keep", plan.Boolean)} {
				want := keys(all)
				if where != nil {
					want = keys(kept)
				}
				for _, inputs := range []int{1, 3} {
					h := must(NewHashAggregate(&Env{Mem: mem, BatchRows: 64}, scansOf(t, tbl, inputs), groupBy, nil, where, node.Schema()))
					batches, err := Collect(context.Background(), h)
					if err != nil {
						t.Fatal(err)
					}
					got := sorted(rowsOf(batches))
					releaseBatches(batches)
					if !slices.Equal(got, want) {
						t.Errorf("where %v, %d inputs: got %d keys %v, want %d keys %v", where, inputs, len(got), got, len(want), want)
					}
				}
			}
		})
	}
}

// TestDistinctPairs checks a DISTINCT over an integer key and a string key (what a bridge
// computes) in both column orders, with NULLs in either key, values that force the sets out of
// bitmaps, a selection and parallel partials, against the set of pairs computed with a Go map.
func TestDistinctPairs(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := schemaOf("v", plan.Int64, "s", dictString, "keep", plan.Boolean)
	rng := rand.New(rand.NewPCG(13, 21))
	for _, negative := range []bool{false, true} {
		var batches []arrow.RecordBatch
		all, kept := map[string]bool{}, map[string]bool{}
		for b := 0; b < 5; b++ {
			var rows []string
			for r := 0; r < 150; r++ {
				v := strconv.Itoa(rng.IntN(40))
				if r%11 == 0 {
					v = "null"
				}
				if negative && b == 3 && r == 7 {
					v = "-12"
				}
				s := `"` + string(rune('a'+rng.IntN(4))) + `"`
				if r%13 == 0 {
					s = "null"
				}
				keep := rng.IntN(2) == 0
				pair := strings.ReplaceAll(v+"|"+strings.Trim(s, `"`), "null", "NULL")
				all[pair] = true
				if keep {
					kept[pair] = true
				}
				rows = append(rows, fmt.Sprintf(`{"v":%s,"s":%s,"keep":%t}`, v, s, keep))
			}
			batches = append(batches, recordJSON(t, mem, schema, "["+strings.Join(rows, ",")+"]"))
		}
		tbl := newTable(t, schema, batches)
		releaseBatches(batches)
		for _, where := range []plan.Expr{nil, col("keep", plan.Boolean)} {
			want := all
			if where != nil {
				want = kept
			}
			for _, setFirst := range []bool{true, false} {
				groupBy := []plan.Named{{Name: "v", Expr: col("v", plan.Int64)}, {Name: "s", Expr: col("s", dictString)}}
				if !setFirst {
					groupBy[0], groupBy[1] = groupBy[1], groupBy[0]
				}
				var wantRows []string
				for p := range want {
					if !setFirst {
						v, s, _ := strings.Cut(p, "|")
						p = s + "|" + v
					}
					wantRows = append(wantRows, p)
				}
				node := must(plan.NewAggregate(schemaNode(schema), groupBy, nil))
				for _, inputs := range []int{1, 3} {
					name := fmt.Sprintf("negative %v/where %v/int key first %v/%d inputs", negative, where, setFirst, inputs)
					h := must(NewHashAggregate(&Env{Mem: mem, BatchRows: 50}, scansOf(t, tbl, inputs), groupBy, nil, where, node.Schema()))
					out, err := Collect(context.Background(), h)
					if err != nil {
						t.Fatal(name, err)
					}
					checkBatches(t, node.Schema(), out, 50)
					got := sorted(rowsOf(out))
					releaseBatches(out)
					if !slices.Equal(got, sorted(wantRows)) {
						t.Errorf("%s: got %d pairs, want %d\n got %v\nwant %v", name, len(got), len(wantRows), got, sorted(wantRows))
					}
				}
			}
		}
		tbl.Release()
	}
}
