package exec

import (
	"context"
	"fmt"
	"math"
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
	"github.com/koujing/koujing/engine/source"
)

// Types the fixtures use besides plan's value types.
var (
	dictString = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	dict8      = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}
	tsUTC      = plan.Timestamp("UTC")
)

// nullable returns a nullable field.
func nullable(name string, t arrow.DataType) arrow.Field {
	return arrow.Field{Name: name, Type: t, Nullable: true}
}

// schemaOf returns a schema of nullable fields, given as name, type, name, type, ….
func schemaOf(nameTypes ...any) *arrow.Schema {
	fields := make([]arrow.Field, 0, len(nameTypes)/2)
	for i := 0; i < len(nameTypes); i += 2 {
		fields = append(fields, nullable(nameTypes[i].(string), nameTypes[i+1].(arrow.DataType)))
	}
	return arrow.NewSchema(fields, nil)
}

// recordJSON builds a record of schema from JSON rows; the caller releases it.
func recordJSON(t testing.TB, mem memory.Allocator, schema *arrow.Schema, rows string) arrow.RecordBatch {
	t.Helper()
	rec, _, err := array.RecordFromJSON(mem, schema, strings.NewReader(rows))
	if err != nil {
		t.Fatalf("fixture %s: %v", rows, err)
	}
	return rec
}

// arrayJSON builds an array of type dt from a JSON list; the caller releases it.
func arrayJSON(t testing.TB, mem memory.Allocator, dt arrow.DataType, list string) arrow.Array {
	t.Helper()
	a, _, err := array.FromJSON(mem, dt, strings.NewReader(list))
	if err != nil {
		t.Fatalf("fixture %s: %v", list, err)
	}
	return a
}

// dictOver returns a dictionary array whose rows index dict (-1 for NULL); the caller releases it.
func dictOver(mem memory.Allocator, dict arrow.Array, idx []int32) arrow.Array {
	b := array.NewInt32Builder(mem)
	defer b.Release()
	for _, i := range idx {
		if i < 0 {
			b.AppendNull()
		} else {
			b.Append(i)
		}
	}
	indices := b.NewArray()
	defer indices.Release()
	return array.NewDictionaryArray(dictString, indices, dict)
}

// must panics on a constructor error; it keeps fixture tables short, and a bad fixture is a bug
// in the test.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func col(name string, t arrow.DataType) *plan.Column { return plan.NewColumn(name, t) }

func lit(t testing.TB, v any, typ arrow.DataType) *plan.Literal {
	t.Helper()
	l, err := plan.NewLiteral(v, typ)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func bin(t testing.TB, op plan.BinaryOp, l, r plan.Expr) plan.Expr {
	t.Helper()
	e, err := plan.NewBinary(op, l, r)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func dec(t testing.TB, s string, scale int32) decimal128.Num {
	t.Helper()
	v, err := decimal128.FromString(s, plan.MaxDecimalPrecision, scale)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func micros(t testing.TB, s string) int64 {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UnixMicro()
}

func days(t testing.TB, s string) int32 {
	t.Helper()
	tm, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return int32(tm.Unix() / 86400)
}

// cell formats row i of a for comparison: NULL, integers, shortest floats, decimals at their
// scale, strings as they are, timestamps in RFC 3339 in their zone, dates as 2006-01-02.
func cell(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "NULL"
	}
	switch x := a.(type) {
	case *array.Int8:
		return strconv.FormatInt(int64(x.Value(i)), 10)
	case *array.Int16:
		return strconv.FormatInt(int64(x.Value(i)), 10)
	case *array.Int32:
		return strconv.FormatInt(int64(x.Value(i)), 10)
	case *array.Int64:
		return strconv.FormatInt(x.Value(i), 10)
	case *array.Float32:
		return strconv.FormatFloat(float64(x.Value(i)), 'g', -1, 32)
	case *array.Float64:
		return strconv.FormatFloat(x.Value(i), 'g', -1, 64)
	case *array.Decimal128:
		return x.Value(i).ToString(x.DataType().(*arrow.Decimal128Type).Scale)
	case *array.String:
		return x.Value(i)
	case *array.Dictionary:
		return cell(x.Dictionary(), x.GetValueIndex(i))
	case *array.Boolean:
		return strconv.FormatBool(x.Value(i))
	case *array.Timestamp:
		loc, err := x.DataType().(*arrow.TimestampType).GetZone()
		if err != nil || loc == nil {
			loc = time.UTC
		}
		return time.UnixMicro(int64(x.Value(i))).In(loc).Format(time.RFC3339Nano)
	case *array.Date32:
		return x.Value(i).ToTime().Format(time.DateOnly)
	}
	return fmt.Sprintf("?%s", a.DataType())
}

// cells formats every row of a.
func cells(a arrow.Array) []string {
	out := make([]string, a.Len())
	for i := range out {
		out[i] = cell(a, i)
	}
	return out
}

// rowsOf formats every row of the batches, its cells joined by "|".
func rowsOf(batches []arrow.RecordBatch) []string {
	var out []string
	for _, b := range batches {
		for i := 0; i < int(b.NumRows()); i++ {
			parts := make([]string, b.NumCols())
			for c := range parts {
				parts[c] = cell(b.Column(c), i)
			}
			out = append(out, strings.Join(parts, "|"))
		}
	}
	return out
}

// sorted returns a sorted copy, for comparing results whose order is not defined.
func sorted(rows []string) []string {
	out := slices.Clone(rows)
	slices.Sort(out)
	return out
}

// collectRows runs op to the end and returns its rows. It checks that every batch has op's
// schema, with column types to match, and at most maxBatch rows when maxBatch > 0.
func collectRows(t testing.TB, op Operator, maxBatch int) []string {
	t.Helper()
	batches, err := Collect(context.Background(), op)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	checkBatches(t, op.Schema(), batches, maxBatch)
	return rowsOf(batches)
}

func checkBatches(t testing.TB, schema *arrow.Schema, batches []arrow.RecordBatch, maxBatch int) {
	t.Helper()
	for _, b := range batches {
		if b.NumCols() != int64(schema.NumFields()) {
			t.Fatalf("batch has %d columns, schema %d", b.NumCols(), schema.NumFields())
		}
		for c, f := range schema.Fields() {
			if got := b.Column(c).DataType(); !arrow.TypeEqual(got, f.Type) {
				t.Fatalf("column %s is %s, schema says %s", f.Name, got, f.Type)
			}
			if b.Column(c).Len() != int(b.NumRows()) {
				t.Fatalf("column %s has %d rows, batch %d", f.Name, b.Column(c).Len(), b.NumRows())
			}
		}
		if maxBatch > 0 && b.NumRows() > int64(maxBatch) {
			t.Fatalf("batch of %d rows, more than BatchRows %d", b.NumRows(), maxBatch)
		}
	}
}

// batchSource is an operator over fixed batches that checks it is used as Operator says: opened
// once before Next, closed exactly once. It counts the batches pulled.
type batchSource struct {
	t       testing.TB
	schema  *arrow.Schema
	batches []arrow.RecordBatch
	pos     int
	pulls   int
	opened  bool
	closed  int
}

func newBatchSource(t testing.TB, schema *arrow.Schema, batches ...arrow.RecordBatch) *batchSource {
	s := &batchSource{t: t, schema: schema, batches: batches}
	t.Cleanup(func() {
		if s.opened && s.closed != 1 {
			t.Errorf("source opened and closed %d times", s.closed)
		}
	})
	return s
}

func (s *batchSource) Schema() *arrow.Schema { return s.schema }

func (s *batchSource) Open(context.Context) error {
	if s.opened {
		s.t.Error("source opened twice")
	}
	s.opened = true
	return nil
}

func (s *batchSource) Next(context.Context) (arrow.RecordBatch, error) {
	if !s.opened || s.closed > 0 {
		s.t.Error("Next on a source that is not open")
	}
	if s.pos >= len(s.batches) {
		return nil, nil
	}
	s.pulls++
	s.pos++
	return s.batches[s.pos-1], nil
}

func (s *batchSource) Close() error {
	s.closed++
	return nil
}

// splitRecord slices rec into batches of the given sizes (which must add up to its rows); the
// caller releases them.
func splitRecord(rec arrow.RecordBatch, sizes ...int64) []arrow.RecordBatch {
	var out []arrow.RecordBatch
	pos := int64(0)
	for _, n := range sizes {
		out = append(out, rec.NewSlice(pos, pos+n))
		pos += n
	}
	if pos != rec.NumRows() {
		panic(fmt.Sprintf("sizes add up to %d, record has %d rows", pos, rec.NumRows()))
	}
	return out
}

func releaseBatches(bs []arrow.RecordBatch) {
	for _, b := range bs {
		b.Release()
	}
}

// newTable returns a source table over batches; the caller releases it.
func newTable(t testing.TB, schema *arrow.Schema, batches []arrow.RecordBatch) *source.Table {
	t.Helper()
	tbl, err := source.NewTable("t", schema, batches)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// scansOf returns n scans of every column of tbl sharing one Morsels, so that together they read
// each batch once. Columns are named as the table names them.
func scansOf(t testing.TB, tbl *source.Table, n int) []Operator {
	t.Helper()
	m := NewMorsels(tbl)
	cols := make([]int, tbl.Schema().NumFields())
	for i := range cols {
		cols[i] = i
	}
	ops := make([]Operator, n)
	for i := range ops {
		s, err := NewTableScan(m, cols, tbl.Schema())
		if err != nil {
			t.Fatal(err)
		}
		ops[i] = s
	}
	return ops
}

// evalRows compiles e over rec's schema, evaluates it over rec and returns the formatted values,
// checking the result's length and type against the plan.
func evalRows(t testing.TB, env *Env, e plan.Expr, rec arrow.RecordBatch) ([]string, error) {
	t.Helper()
	ev, err := compileExpr(env, e, rec.Schema())
	if err != nil {
		return nil, err
	}
	defer closeEvaluator(ev)
	a, err := ev.eval(rec)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	if a.Len() != int(rec.NumRows()) {
		t.Fatalf("%s: %d values for %d rows", e, a.Len(), rec.NumRows())
	}
	if !arrow.TypeEqual(a.DataType(), e.DataType()) {
		t.Fatalf("%s: evaluates to %s, plan says %s", e, a.DataType(), e.DataType())
	}
	if a.NullN() != countNulls(a) {
		t.Fatalf("%s: NullN %d, but %d rows are NULL", e, a.NullN(), countNulls(a))
	}
	return cells(a), nil
}

func countNulls(a arrow.Array) int {
	n := 0
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			n++
		}
	}
	return n
}

// floatText is how cell prints a float64.
func floatText(f float64) string {
	if math.IsNaN(f) {
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
