package exec

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/plan"
)

// joinKeyKind is one way of writing join keys: the column types on each side, and how a key
// number 0…9 is written in JSON.
type joinKeyKind struct {
	name        string
	left, right []arrow.DataType
	json        func(k, col int) string
	dense       bool // the build side (without NULLs) is dense enough for direct indexing
}

var joinKeyKinds = []joinKeyKind{
	{"dense int64", []arrow.DataType{plan.Int64}, []arrow.DataType{plan.Int64},
		func(k, _ int) string { return fmt.Sprint(k) }, true},
	{"sparse int64", []arrow.DataType{plan.Int64}, []arrow.DataType{plan.Int64},
		func(k, _ int) string { return fmt.Sprint(int64(k)*1_000_000_007 - 4_000_000_000) }, false},
	{"int32 probe, int64 build", []arrow.DataType{arrow.PrimitiveTypes.Int32}, []arrow.DataType{plan.Int64},
		func(k, _ int) string { return fmt.Sprint(k - 5) }, true},
	{"date", []arrow.DataType{plan.Date}, []arrow.DataType{plan.Date},
		func(k, _ int) string { return fmt.Sprintf(`"2024-02-%02d"`, 20+k) }, true},
	{"string", []arrow.DataType{plan.String}, []arrow.DataType{plan.String},
		func(k, _ int) string { return fmt.Sprintf(`"k%d"`, k) }, false},
	{"dictionary", []arrow.DataType{dictString}, []arrow.DataType{dictString},
		func(k, _ int) string { return fmt.Sprintf(`"k%d"`, k) }, false},
	{"dictionary probe, string build", []arrow.DataType{dictString}, []arrow.DataType{plan.String},
		func(k, _ int) string { return fmt.Sprintf(`"k%d"`, k) }, false},
	{"decimal", []arrow.DataType{plan.Decimal(12, 2)}, []arrow.DataType{plan.Decimal(12, 2)},
		func(k, _ int) string { return fmt.Sprintf(`"%d.50"`, k-3) }, false},
	{"two columns", []arrow.DataType{plan.Int64, plan.String}, []arrow.DataType{plan.Int64, dictString},
		func(k, c int) string {
			if c == 0 {
				return fmt.Sprint(k % 3)
			}
			return fmt.Sprintf(`"s%d"`, k/3)
		}, false},
}

// joinSide is one input of a join: batches and their rows as formatted cells.
type joinSide struct {
	schema  *arrow.Schema
	batches []arrow.RecordBatch
	rows    [][]string
	keys    []plan.Expr
}

// makeJoinSide generates n rows (split into batches of the given sizes): an id, the key columns,
// and a payload. A key is NULL with probability pNull; with two key columns each may be.
func makeJoinSide(t testing.TB, mem memory.Allocator, rng *rand.Rand, prefix string, types []arrow.DataType,
	kind joinKeyKind, sizes []int, pNull float64) *joinSide {
	t.Helper()
	fields := []arrow.Field{nullable(prefix+".id", plan.Int64)}
	s := &joinSide{}
	for c, typ := range types {
		name := fmt.Sprintf("%s.k%d", prefix, c)
		fields = append(fields, nullable(name, typ))
		s.keys = append(s.keys, col(name, typ))
	}
	fields = append(fields, nullable(prefix+".v", plan.String))
	s.schema = arrow.NewSchema(fields, nil)
	id := 0
	for _, n := range sizes {
		var js strings.Builder
		js.WriteString("[")
		for r := 0; r < n; r++ {
			if r > 0 {
				js.WriteString(",")
			}
			fmt.Fprintf(&js, `{"%s.id":%d`, prefix, id)
			k := rng.IntN(10)
			for c := range types {
				v := "null"
				if rng.Float64() >= pNull {
					v = kind.json(k, c)
				}
				fmt.Fprintf(&js, `,"%s.k%d":%s`, prefix, c, v)
			}
			fmt.Fprintf(&js, `,"%s.v":"%s%d"}`, prefix, prefix, id)
			id++
		}
		js.WriteString("]")
		b := recordJSON(t, mem, s.schema, js.String())
		s.batches = append(s.batches, b)
		for _, row := range rowsOf([]arrow.RecordBatch{b}) {
			s.rows = append(s.rows, strings.Split(row, "|"))
		}
	}
	return s
}

func (s *joinSide) release() { releaseBatches(s.batches) }

// nestedLoopJoin is the oracle: every pair of rows compared key by key.
func nestedLoopJoin(kind plan.JoinKind, left, right *joinSide, nullSafe bool) []string {
	nk := len(left.keys)
	match := func(l, r []string) bool {
		for c := 1; c <= nk; c++ {
			if l[c] == "NULL" || r[c] == "NULL" {
				if !(nullSafe && l[c] == r[c]) {
					return false
				}
			} else if l[c] != r[c] {
				return false
			}
		}
		return true
	}
	nulls := func(n int) []string { return slices.Repeat([]string{"NULL"}, n) }
	var out []string
	used := make([]bool, len(right.rows))
	for _, l := range left.rows {
		found := false
		for j, r := range right.rows {
			if match(l, r) {
				found, used[j] = true, true
				out = append(out, strings.Join(append(slices.Clone(l), r...), "|"))
			}
		}
		if !found && kind != plan.InnerJoin {
			out = append(out, strings.Join(append(slices.Clone(l), nulls(len(right.schema.Fields()))...), "|"))
		}
	}
	if kind == plan.FullJoin {
		for j, r := range right.rows {
			if !used[j] {
				out = append(out, strings.Join(append(nulls(len(left.schema.Fields())), r...), "|"))
			}
		}
	}
	return out
}

func joinSchema(left, right *arrow.Schema) *arrow.Schema {
	return arrow.NewSchema(append(slices.Clone(left.Fields()), right.Fields()...), nil)
}

// allColumns is a join of the given kind and keys that emits every column of both sides.
func allColumns(kind plan.JoinKind, keys []plan.Expr, left, right *arrow.Schema) JoinSpec {
	spec := JoinSpec{Kind: kind, ProbeKeys: keys, Schema: joinSchema(left, right)}
	for i := range left.Fields() {
		spec.OutProbe = append(spec.OutProbe, i)
	}
	for i := range right.Fields() {
		spec.OutBuild = append(spec.OutBuild, i)
	}
	return spec
}

// TestHashJoinMatchesNestedLoop joins random inputs with every kind of key, join kind, NULL
// handling and batch size, and with empty sides, and compares with a nested-loop join.
func TestHashJoinMatchesNestedLoop(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	shapes := []struct {
		name              string
		leftRows, buildRs []int
	}{
		{"batches", []int{7, 0, 13, 20}, []int{10, 15}},
		{"empty build", []int{7, 13}, nil},
		{"empty build batch", []int{7, 13}, []int{0}},
		{"empty probe", nil, []int{10, 15}},
	}
	seed := uint64(0)
	for _, kk := range joinKeyKinds {
		for _, shape := range shapes {
			for _, buildNulls := range []bool{false, true} {
				seed++
				rng := rand.New(rand.NewPCG(seed, 7))
				pNull := 0.0
				if buildNulls {
					pNull = 0.2
				}
				left := makeJoinSide(t, mem, rng, "l", kk.left, kk, shape.leftRows, 0.2)
				right := makeJoinSide(t, mem, rng, "r", kk.right, kk, shape.buildRs, pNull)
				for _, kind := range []plan.JoinKind{plan.InnerJoin, plan.LeftJoin, plan.FullJoin} {
					for _, nullSafe := range []bool{false, true} {
						for _, batchRows := range []int{3, 1000} {
							name := fmt.Sprintf("%s/%s/build NULLs %t/%s/null-safe %t/batch %d", kk.name, shape.name, buildNulls, kind, nullSafe, batchRows)
							t.Run(name, func(t *testing.T) {
								env := &Env{Mem: mem, BatchRows: batchRows}
								jb := NewJoinBuild(env, newBatchSource(t, right.schema, right.batches...), right.keys, nullSafe)
								defer jb.Release()
								j, err := NewHashJoin(env, newBatchSource(t, left.schema, left.batches...), jb, allColumns(kind, left.keys, left.schema, right.schema))
								if err != nil {
									t.Fatal(err)
								}
								got := collectRows(t, j, batchRows)
								want := nestedLoopJoin(kind, left, right, nullSafe)
								if !slices.Equal(sorted(got), sorted(want)) {
									t.Fatalf("\n got: %q\nwant: %q", sorted(got), sorted(want))
								}
								if dense := kk.dense && !buildNulls && len(right.rows) > 0; jb.table.dense != dense {
									t.Errorf("dense table %t, want %t", jb.table.dense, dense)
								}
							})
						}
					}
				}
				left.release()
				right.release()
			}
		}
	}
}

// TestHashJoinFanOut checks a hand-worked join where one probe row matches many build rows,
// more than a batch holds, and NULL keys that match only when the join is null-safe.
func TestHashJoinFanOut(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	lschema := schemaOf("l.id", plan.Int64, "l.k", plan.Int64)
	rschema := schemaOf("r.k", plan.Int64, "r.w", plan.String)
	left := recordJSON(t, mem, lschema, `[{"l.id":0,"l.k":1},{"l.id":1,"l.k":2},{"l.id":2,"l.k":null},{"l.id":3,"l.k":4},{"l.id":4,"l.k":1}]`)
	defer left.Release()
	right := recordJSON(t, mem, rschema, `[{"r.k":1,"r.w":"a"},{"r.k":3,"r.w":"c"},{"r.k":1,"r.w":"b"},{"r.k":null,"r.w":"n"},
		{"r.k":1,"r.w":"d"},{"r.k":2,"r.w":"e"},{"r.k":1,"r.w":"f"},{"r.k":1,"r.w":"g"}]`)
	defer right.Release()
	tests := []struct {
		kind     plan.JoinKind
		nullSafe bool
		want     string
	}{
		{plan.InnerJoin, false, "0|1|1|a 0|1|1|b 0|1|1|d 0|1|1|f 0|1|1|g 1|2|2|e 4|1|1|a 4|1|1|b 4|1|1|d 4|1|1|f 4|1|1|g"},
		{plan.InnerJoin, true, "0|1|1|a 0|1|1|b 0|1|1|d 0|1|1|f 0|1|1|g 1|2|2|e 2|NULL|NULL|n 4|1|1|a 4|1|1|b 4|1|1|d 4|1|1|f 4|1|1|g"},
		{plan.LeftJoin, false, "0|1|1|a 0|1|1|b 0|1|1|d 0|1|1|f 0|1|1|g 1|2|2|e 2|NULL|NULL|NULL 3|4|NULL|NULL 4|1|1|a 4|1|1|b 4|1|1|d 4|1|1|f 4|1|1|g"},
		{plan.FullJoin, false, "0|1|1|a 0|1|1|b 0|1|1|d 0|1|1|f 0|1|1|g 1|2|2|e 2|NULL|NULL|NULL 3|4|NULL|NULL 4|1|1|a 4|1|1|b 4|1|1|d 4|1|1|f 4|1|1|g NULL|NULL|3|c NULL|NULL|NULL|n"},
		{plan.FullJoin, true, "0|1|1|a 0|1|1|b 0|1|1|d 0|1|1|f 0|1|1|g 1|2|2|e 2|NULL|NULL|n 3|4|NULL|NULL 4|1|1|a 4|1|1|b 4|1|1|d 4|1|1|f 4|1|1|g NULL|NULL|3|c"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s null-safe %t", tc.kind, tc.nullSafe), func(t *testing.T) {
			env := &Env{Mem: mem, BatchRows: 3}
			jb := NewJoinBuild(env, newBatchSource(t, rschema, right), []plan.Expr{col("r.k", plan.Int64)}, tc.nullSafe)
			defer jb.Release()
			j, err := NewHashJoin(env, newBatchSource(t, lschema, left), jb, allColumns(tc.kind, []plan.Expr{col("l.k", plan.Int64)}, lschema, rschema))
			if err != nil {
				t.Fatal(err)
			}
			got := collectRows(t, j, 3)
			// Within a probe row, matches come in build order.
			if tc.kind == plan.InnerJoin && !tc.nullSafe && strings.Join(got, " ") != "0|1|1|a 0|1|1|b 0|1|1|d 0|1|1|f 0|1|1|g 1|2|2|e 4|1|1|a 4|1|1|b 4|1|1|d 4|1|1|f 4|1|1|g" {
				t.Errorf("inner join order: %q", got)
			}
			if g := strings.Join(sorted(got), " "); g != tc.want {
				t.Fatalf("\n got: %s\nwant: %s", g, tc.want)
			}
		})
	}
}

// TestHashJoinExpressionKeys joins on computed keys: the probe's k+1 against the build's k.
func TestHashJoinExpressionKeys(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	lschema := schemaOf("l.k", arrow.PrimitiveTypes.Int32)
	rschema := schemaOf("r.k", plan.Int64)
	left := recordJSON(t, mem, lschema, `[{"l.k":1},{"l.k":2},{"l.k":null},{"l.k":9}]`)
	defer left.Release()
	right := recordJSON(t, mem, rschema, `[{"r.k":2},{"r.k":3},{"r.k":4}]`)
	defer right.Release()
	env := &Env{Mem: mem}
	jb := NewJoinBuild(env, newBatchSource(t, rschema, right), []plan.Expr{col("r.k", plan.Int64)}, false)
	defer jb.Release()
	key := bin(t, plan.Add, col("l.k", arrow.PrimitiveTypes.Int32), lit(t, int64(1), plan.Int64))
	j, err := NewHashJoin(env, newBatchSource(t, lschema, left), jb, allColumns(plan.LeftJoin, []plan.Expr{key}, lschema, rschema))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(collectRows(t, j, 0), " "); got != "1|2 2|3 NULL|NULL 9|NULL" {
		t.Fatalf("got %s", got)
	}
}

// TestHashJoinParallelProbes runs four probes over parts of one table against one shared build,
// concurrently, as the engine does under an aggregation; together they must give the join.
func TestHashJoinParallelProbes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(11, 12))
	for _, kk := range []joinKeyKind{joinKeyKinds[0], joinKeyKinds[1], joinKeyKinds[5]} {
		t.Run(kk.name, func(t *testing.T) {
			left := makeJoinSide(t, mem, rng, "l", kk.left, kk, []int{50, 30, 40, 10, 60, 20, 5, 33}, 0.1)
			defer left.release()
			right := makeJoinSide(t, mem, rng, "r", kk.right, kk, []int{15, 15}, 0)
			defer right.release()
			tbl := newTable(t, left.schema, left.batches)
			defer tbl.Release()
			env := &Env{Mem: mem, BatchRows: 16}
			jb := NewJoinBuild(env, newBatchSource(t, right.schema, right.batches...), right.keys, false)
			defer jb.Release()
			results := make([][]string, 4)
			errs := make([]error, 4)
			var wg sync.WaitGroup
			for i, scan := range scansOf(t, tbl, 4) {
				j, err := NewHashJoin(env, scan, jb, allColumns(plan.LeftJoin, left.keys, left.schema, right.schema))
				if err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					batches, err := Collect(context.Background(), j)
					results[i], errs[i] = rowsOf(batches), err
					releaseBatches(batches)
				}()
			}
			wg.Wait()
			var got []string
			for i := range results {
				if errs[i] != nil {
					t.Fatal(errs[i])
				}
				got = append(got, results[i]...)
			}
			want := nestedLoopJoin(plan.LeftJoin, left, right, false)
			if !slices.Equal(sorted(got), sorted(want)) {
				t.Fatalf("%d rows, want %d", len(got), len(want))
			}
		})
	}
}

// TestJoinSlices checks that consecutive slices of one array are joined back without a copy,
// with their NULLs, dictionaries included, and that anything else is left to concatenation.
func TestJoinSlices(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ints := arrayJSON(t, mem, arrow.PrimitiveTypes.Int64, `[1, null, 3, 4, null, 6, 7]`)
	defer ints.Release()
	dict := arrayJSON(t, mem, arrow.BinaryTypes.String, `["a", "b"]`)
	defer dict.Release()
	idx := arrayJSON(t, mem, arrow.PrimitiveTypes.Int32, `[0, 1, null, 1, 0]`)
	defer idx.Release()
	strs := array.NewDictionaryArray(plan.DictionaryOfStrings, idx, dict)
	defer strs.Release()
	slices := func(a arrow.Array, cuts ...int64) []arrow.Array {
		var out []arrow.Array
		for i := 0; i+1 < len(cuts); i++ {
			out = append(out, array.NewSlice(a, cuts[i], cuts[i+1]))
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		parts []arrow.Array
		want  arrow.Array // nil: not joinable
	}{
		{"ints from the start", slices(ints, 0, 3, 5, 7), ints},
		{"ints from the middle", slices(ints, 1, 2, 6), array.NewSlice(ints, 1, 6)},
		{"dictionary strings", slices(strs, 0, 2, 5), strs},
		{"a gap", append(slices(ints, 0, 2), slices(ints, 3, 7)...), nil},
		{"another array", append(slices(ints, 0, 2), slices(idx, 2, 4)...), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer releaseAll(tc.parts)
			got := joinSlices(tc.parts)
			if tc.want == nil {
				if got != nil {
					got.Release()
					t.Fatal("joined parts that are not consecutive slices of one array")
				}
				return
			}
			defer tc.want.Release()
			if got == nil {
				t.Fatal("consecutive slices were not joined")
			}
			defer got.Release()
			if !array.Equal(got, tc.want) || got.NullN() != tc.want.NullN() {
				t.Errorf("got %v (%d nulls), want %v (%d nulls)", got, got.NullN(), tc.want, tc.want.NullN())
			}
			if got.Data().Buffers()[1] != tc.want.Data().Buffers()[1] {
				t.Error("the joined array copied its values")
			}
		})
	}
}
