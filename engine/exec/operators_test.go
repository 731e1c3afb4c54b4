package exec

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/plan"
)

// wideSchema has a column of every type the operators gather.
var wideSchema = schemaOf(
	"id", plan.Int64, "i8", arrow.PrimitiveTypes.Int8, "i16", arrow.PrimitiveTypes.Int16, "i32", arrow.PrimitiveTypes.Int32,
	"f32", arrow.PrimitiveTypes.Float32, "f64", plan.Float64, "dec", plan.Decimal(12, 2), "flag", plan.Boolean,
	"s", plan.String, "ds", dictString, "d8", dict8, "ts", tsUTC, "day", plan.Date,
)

// wideRows returns n rows of wideSchema as JSON; every fifth row is NULL but for its id.
func wideRows(n int) string {
	var b strings.Builder
	b.WriteString("[")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		if i%5 == 4 {
			fmt.Fprintf(&b, `{"id":%d}`, i)
			continue
		}
		fmt.Fprintf(&b, `{"id":%d,"i8":%d,"i16":%d,"i32":%d,"f32":%g,"f64":%g,"dec":"%d.%02d","flag":%t,"s":"s%d","ds":"d%d","d8":"e%d","ts":"2024-01-%02dT%02d:00:00Z","day":"2024-02-%02d"}`,
			i, i%100-50, i*3, i*1000, float32(i)/4, float64(i)/8, i, i%100, i%2 == 0, i, i%3, i%4, i%28+1, i%24, i%29+1)
	}
	b.WriteString("]")
	return b.String()
}

// ids returns the first column of rows (formatted "id|…").
func ids(rows []string) string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i], _, _ = strings.Cut(r, "|")
	}
	return strings.Join(out, " ")
}

func TestFilter(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env := &Env{Mem: mem}
	rec := recordJSON(t, mem, wideSchema, wideRows(12))
	defer rec.Release()
	all := rowsOf([]arrow.RecordBatch{rec})
	id, i8, flag, ds := col("id", plan.Int64), col("i8", arrow.PrimitiveTypes.Int8), col("flag", plan.Boolean), col("ds", dictString)
	tests := []struct {
		name string
		pred plan.Expr
		keep func(i int) bool
	}{
		{"none pass", bin(t, plan.Gt, id, lit(t, int64(100), plan.Int64)), func(int) bool { return false }},
		{"all pass", plan.NewIsNull(id, true), func(int) bool { return true }},
		{"literal true", lit(t, true, plan.Boolean), func(int) bool { return true }},
		{"literal NULL", plan.Null(plan.Boolean), func(int) bool { return false }},
		{"some pass", bin(t, plan.Lt, id, lit(t, int64(5), plan.Int64)), func(i int) bool { return i < 5 }},
		{"NULL rows dropped", bin(t, plan.Gt, i8, lit(t, int64(-48), plan.Int64)), func(i int) bool { return i%5 != 4 && i%100-50 > -48 }},
		{"boolean column", flag, func(i int) bool { return i%5 != 4 && i%2 == 0 }},
		{"not boolean column", must(plan.NewNot(flag)), func(i int) bool { return i%5 != 4 && i%2 != 0 }},
		{"dictionary", bin(t, plan.Eq, ds, lit(t, "d1", plan.String)), func(i int) bool { return i%5 != 4 && i%3 == 1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parts := splitRecord(rec, 4, 3, 0, 5)
			defer releaseBatches(parts)
			src := newBatchSource(t, wideSchema, parts...)
			f, err := NewFilter(env, src, tc.pred)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for i, r := range all {
				if tc.keep(i) {
					want = append(want, r)
				}
			}
			got := collectRows(t, f, 0)
			if !slices.Equal(got, want) {
				t.Fatalf("\n got: %q\nwant: %q", got, want)
			}
		})
	}

	// A batch whose rows all pass is passed on as it is.
	t.Run("all pass without copying", func(t *testing.T) {
		src := newBatchSource(t, wideSchema, rec)
		f, err := NewFilter(env, src, lit(t, true, plan.Boolean))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		out, err := f.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if out.Column(8) != rec.Column(8) {
			t.Error("filter copied a batch whose rows all pass")
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestFilterDictionariesChange filters dictionary columns whose batches share a dictionary, then
// switch to others: predicates answered once per dictionary entry must notice the change.
func TestFilterDictionariesChange(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := schemaOf("k", dictString)
	d1 := arrayJSON(t, mem, plan.String, `["paid", "placed", "Shipped"]`)
	defer d1.Release()
	d2 := arrayJSON(t, mem, plan.String, `["shipped", "paid", "void"]`)
	defer d2.Release()
	var batches []arrow.RecordBatch
	for _, b := range []struct {
		dict arrow.Array
		idx  []int32
	}{{d1, []int32{0, 1, 2, -1}}, {d1, []int32{2, 2, 0}}, {d2, []int32{0, 1, 2}}, {d1, []int32{1, 0}}, {d2, []int32{2, -1, 0}}} {
		k := dictOver(mem, b.dict, b.idx)
		batches = append(batches, array.NewRecordBatch(schema, []arrow.Array{k}, int64(k.Len())))
		k.Release()
	}
	defer releaseBatches(batches)
	k := col("k", dictString)
	str := func(s string) *plan.Literal { return lit(t, s, plan.String) }
	tests := []struct {
		pred plan.Expr
		want string
	}{
		{bin(t, plan.Eq, k, str("paid")), "paid paid paid paid"},
		{bin(t, plan.GtEq, k, str("s")), "shipped void void shipped"},
		{must(plan.NewIn(k, []*plan.Literal{str("paid"), str("shipped")}, false)), "paid paid shipped paid paid shipped"},
		{must(plan.NewIn(k, []*plan.Literal{str("paid"), str("shipped")}, true)), "placed Shipped Shipped Shipped void placed void"},
		{must(plan.NewContains(k, "SHIP", false)), "Shipped Shipped Shipped shipped shipped"},
	}
	for _, tc := range tests {
		f := must(NewFilter(&Env{Mem: mem}, newBatchSource(t, schema, batches...), tc.pred))
		if got := strings.Join(collectRows(t, f, 0), " "); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.pred, got, tc.want)
		}
	}
}

func TestProject(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env := &Env{Mem: mem}
	rec := recordJSON(t, mem, wideSchema, wideRows(7))
	defer rec.Release()
	parts := splitRecord(rec, 3, 4)
	defer releaseBatches(parts)
	id, dec, ds := col("id", plan.Int64), col("dec", plan.Decimal(12, 2)), col("ds", dictString)
	i8, i16, f32 := col("i8", arrow.PrimitiveTypes.Int8), col("i16", arrow.PrimitiveTypes.Int16), col("f32", arrow.PrimitiveTypes.Float32)
	exprs := []plan.Named{
		{Name: "ds", Expr: ds},
		{Name: "twice", Expr: bin(t, plan.Mul, dec, lit(t, int64(2), plan.Int64))},
		{Name: "id", Expr: id},
		{Name: "small", Expr: bin(t, plan.Add, i8, i16)},
		{Name: "half", Expr: bin(t, plan.Mul, f32, lit(t, 2.0, plan.Float64))},
		{Name: "neg", Expr: must(plan.NewNegate(f32))},
	}
	var fields []arrow.Field
	for _, e := range exprs {
		fields = append(fields, nullable(e.Name, e.Expr.DataType()))
	}
	schema := arrow.NewSchema(fields, nil)
	p, err := NewProject(env, newBatchSource(t, wideSchema, parts...), exprs, schema)
	if err != nil {
		t.Fatal(err)
	}
	got := collectRows(t, p, 0)
	want := []string{"d0|0.00|0|-50|0|-0", "d1|2.02|1|-46|0.5|-0.25", "d2|4.04|2|-42|1|-0.5", "d0|6.06|3|-38|1.5|-0.75",
		"NULL|NULL|4|NULL|NULL|NULL", "d2|10.10|5|-30|2.5|-1.25", "d0|12.12|6|-26|3|-1.5"}
	if !slices.Equal(got, want) {
		t.Fatalf("\n got: %q\nwant: %q", got, want)
	}

	if _, err := NewProject(env, newBatchSource(t, wideSchema), []plan.Named{{Name: "x", Expr: col("missing", plan.Int64)}}, schemaOf("x", plan.Int64)); err == nil {
		t.Error("project of a missing column compiled")
	}
}

func TestLimit(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := recordJSON(t, mem, wideSchema, wideRows(12))
	defer rec.Release()
	tests := []struct {
		offset, count int64
		want          string
		pulls         int // batches the limit may pull from its input (of 3, 0, 4 and 5 rows)
	}{
		{0, -1, "0 1 2 3 4 5 6 7 8 9 10 11", 4},
		{0, 0, "", 0},
		{0, 3, "0 1 2", 1},
		{0, 4, "0 1 2 3", 3},
		{2, 3, "2 3 4", 3},
		{2, 5, "2 3 4 5 6", 3},
		{3, 4, "3 4 5 6", 3},
		{5, -1, "5 6 7 8 9 10 11", 4},
		{7, 5, "7 8 9 10 11", 4},
		{11, 5, "11", 4},
		{12, 1, "", 4},
		{20, 3, "", 4},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("offset %d count %d", tc.offset, tc.count), func(t *testing.T) {
			parts := splitRecord(rec, 3, 0, 4, 5)
			defer releaseBatches(parts)
			src := newBatchSource(t, wideSchema, parts...)
			got := ids(collectRows(t, NewLimit(src, tc.offset, tc.count), 0))
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if src.pulls > tc.pulls {
				t.Errorf("pulled %d batches, needed %d", src.pulls, tc.pulls)
			}
		})
	}
}

// sortSchema and sortRows: the sort fixture, one row per id.
var sortSchema = schemaOf("id", plan.Int64, "region", plan.String, "rd", dictString, "amount", plan.Decimal(12, 2),
	"qty", plan.Int64, "score", plan.Float64, "day", plan.Date, "flag", plan.Boolean, "n32", arrow.PrimitiveTypes.Int32,
	"f32", arrow.PrimitiveTypes.Float32, "ts", tsUTC, "i8", arrow.PrimitiveTypes.Int8, "i16", arrow.PrimitiveTypes.Int16)

const sortRows = `[
{"id":0,"region":"east", "rd":"east", "amount":"10.50","qty":3,   "score":1.5, "day":"2024-01-02","flag":true, "n32":5, "f32":0.5, "ts":"2024-01-02T00:00:00Z","i8":3,  "i16":300},
{"id":1,"region":"west", "rd":"west", "amount":null,   "qty":1,   "score":null,"day":"2024-01-01","flag":false,"n32":-1,"f32":null,"ts":"2024-01-01T00:00:00Z","i8":-1, "i16":-100},
{"id":2,"region":"east", "rd":"east", "amount":"2.00", "qty":null,"score":-3,  "day":null,        "flag":null, "n32":null,"f32":-2,"ts":null,                  "i8":null,"i16":null},
{"id":3,"region":null,   "rd":null,   "amount":"10.50","qty":3,   "score":0,   "day":"2024-01-03","flag":true, "n32":7, "f32":1,   "ts":"2024-01-03T00:00:00Z","i8":7,  "i16":700},
{"id":4,"region":"north","rd":"north","amount":"-1.25","qty":2,   "score":1.5, "day":"2024-01-01","flag":false,"n32":0, "f32":0.25,"ts":"2024-01-01T00:00:00Z","i8":0,  "i16":0},
{"id":5,"region":"east", "rd":"east", "amount":"2.00", "qty":5,   "score":2.25,"day":"2024-01-02","flag":true, "n32":5, "f32":3,   "ts":"2024-01-02T00:00:00Z","i8":5,  "i16":500},
{"id":6,"region":"west", "rd":"west", "amount":"0.00", "qty":3,   "score":-0.5,"day":"2023-12-31","flag":false,"n32":-9,"f32":-1,  "ts":"2023-12-31T00:00:00Z","i8":-9, "i16":-900},
{"id":7,"region":null,   "rd":null,   "amount":null,   "qty":null,"score":null,"day":null,        "flag":null, "n32":null,"f32":null,"ts":null,                "i8":null,"i16":null}
]`

func TestSort(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := recordJSON(t, mem, sortSchema, sortRows)
	defer rec.Release()
	key := func(name string, desc, nullsFirst bool) plan.SortKey {
		f, _ := sortSchema.FieldsByName(name)
		return plan.SortKey{Expr: col(name, f[0].Type), Desc: desc, NullsFirst: nullsFirst}
	}
	const asc, desc, last, first = false, true, false, true
	tests := []struct {
		name  string
		keys  []plan.SortKey
		limit int64
		want  string
	}{
		{"int asc nulls last", []plan.SortKey{key("qty", asc, last)}, -1, "1 4 0 3 6 5 2 7"},
		{"int asc nulls first", []plan.SortKey{key("qty", asc, first)}, -1, "2 7 1 4 0 3 6 5"},
		{"int desc nulls first", []plan.SortKey{key("qty", desc, first)}, -1, "2 7 5 0 3 6 4 1"},
		{"int desc nulls last", []plan.SortKey{key("qty", desc, last)}, -1, "5 0 3 6 4 1 2 7"},
		{"string asc", []plan.SortKey{key("region", asc, last)}, -1, "0 2 5 4 1 6 3 7"},
		{"string desc nulls first", []plan.SortKey{key("region", desc, first)}, -1, "3 7 1 6 4 0 2 5"},
		{"dictionary asc", []plan.SortKey{key("rd", asc, last)}, -1, "0 2 5 4 1 6 3 7"},
		{"dictionary desc", []plan.SortKey{key("rd", desc, last)}, -1, "1 6 4 0 2 5 3 7"},
		{"decimal asc", []plan.SortKey{key("amount", asc, last)}, -1, "4 6 2 5 0 3 1 7"},
		{"float desc", []plan.SortKey{key("score", desc, last)}, -1, "5 0 4 3 6 2 1 7"},
		{"date asc nulls first", []plan.SortKey{key("day", asc, first)}, -1, "2 7 6 1 4 0 5 3"},
		{"timestamp desc", []plan.SortKey{key("ts", desc, last)}, -1, "3 0 5 1 4 6 2 7"},
		{"bool asc", []plan.SortKey{key("flag", asc, last)}, -1, "1 4 6 0 3 5 2 7"},
		{"int32 asc", []plan.SortKey{key("n32", asc, last)}, -1, "6 1 4 0 5 3 2 7"},
		{"int16 desc", []plan.SortKey{key("i16", desc, last)}, -1, "3 5 0 4 1 6 2 7"},
		{"int8 asc", []plan.SortKey{key("i8", asc, first)}, -1, "2 7 6 1 4 0 5 3"},
		{"float32 asc", []plan.SortKey{key("f32", asc, last)}, -1, "2 6 4 0 3 5 1 7"},
		{"two keys", []plan.SortKey{key("region", asc, last), key("amount", desc, first)}, -1, "0 2 5 4 1 6 7 3"},
		{"ties broken by next key", []plan.SortKey{key("qty", asc, last), key("score", desc, last)}, -1, "1 4 0 3 6 5 2 7"},
		{"ties keep arrival order", []plan.SortKey{key("flag", desc, first)}, -1, "2 7 0 3 5 1 4 6"},
		{"expression key", []plan.SortKey{{Expr: bin(t, plan.Mul, col("qty", plan.Int64), lit(t, int64(-1), plan.Int64))}}, -1, "5 0 3 6 4 1 2 7"},
		{"limit", []plan.SortKey{key("qty", asc, last)}, 3, "1 4 0"},
		{"limit zero", []plan.SortKey{key("qty", asc, last)}, 0, ""},
		{"limit past the end", []plan.SortKey{key("qty", asc, last)}, 100, "1 4 0 3 6 5 2 7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parts := splitRecord(rec, 3, 0, 5)
			defer releaseBatches(parts)
			env := &Env{Mem: mem, BatchRows: 3}
			s := NewSort(env, newBatchSource(t, sortSchema, parts...), tc.keys, tc.limit)
			if got := ids(collectRows(t, s, 3)); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSortDictionariesPerBatch sorts batches whose dictionary columns each have a dictionary
// of their own, so that gathering them needs the dictionaries unified.
func TestSortDictionariesPerBatch(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := schemaOf("id", plan.Int64, "rd", dictString)
	var batches []arrow.RecordBatch
	for _, rows := range []string{
		`[{"id":0,"rd":"pear"},{"id":1,"rd":"apple"}]`,
		`[{"id":2,"rd":"fig"},{"id":3,"rd":null},{"id":4,"rd":"apple"}]`,
		`[{"id":5,"rd":"banana"}]`,
	} {
		batches = append(batches, recordJSON(t, mem, schema, rows))
	}
	defer releaseBatches(batches)
	env := &Env{Mem: mem}
	s := NewSort(env, newBatchSource(t, schema, batches...), []plan.SortKey{{Expr: col("rd", dictString)}}, -1)
	got := collectRows(t, s, 0)
	want := []string{"1|apple", "4|apple", "5|banana", "2|fig", "0|pear", "3|NULL"}
	if !slices.Equal(got, want) {
		t.Fatalf("\n got: %q\nwant: %q", got, want)
	}
}

// TestTakeEveryType gathers every column type through Filter and Sort, at offsets, and compares
// with the input's own rows.
func TestTakeEveryType(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env := &Env{Mem: mem, BatchRows: 4}
	rec := recordJSON(t, mem, wideSchema, wideRows(30))
	defer rec.Release()
	all := rowsOf([]arrow.RecordBatch{rec})
	parts := splitRecord(rec, 7, 11, 12)
	defer releaseBatches(parts)
	id := col("id", plan.Int64)
	f, err := NewFilter(env, newBatchSource(t, wideSchema, parts...), must(plan.NewIn(id, []*plan.Literal{
		lit(t, int64(1), plan.Int64), lit(t, int64(4), plan.Int64), lit(t, int64(8), plan.Int64), lit(t, int64(9), plan.Int64),
		lit(t, int64(13), plan.Int64), lit(t, int64(19), plan.Int64), lit(t, int64(29), plan.Int64)}, false)))
	if err != nil {
		t.Fatal(err)
	}
	s := NewSort(env, f, []plan.SortKey{{Expr: id, Desc: true}}, -1)
	got := collectRows(t, s, 4)
	var want []string
	for _, i := range []int{29, 19, 13, 9, 8, 4, 1} {
		want = append(want, all[i])
	}
	if !slices.Equal(got, want) {
		t.Fatalf("\n got: %q\nwant: %q", got, want)
	}
}
