package semantic_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/semantic"
)

// TestWriteArrowIPC writes a result whose batches are slices of larger arrays, with a dictionary
// column holding NULLs, entries no row uses and a NULL entry, reads the stream back and checks
// every value, the plain text type, and that only the rows' own values are sent.
func TestWriteArrowIPC(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dictType := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}
	dict, _, err := array.FromJSON(mem, arrow.BinaryTypes.String, strings.NewReader(`["east", "west", null, "secret"]`))
	if err != nil {
		t.Fatal(err)
	}
	defer dict.Release()
	indices, _, err := array.FromJSON(mem, arrow.PrimitiveTypes.Int8, strings.NewReader(`[3, 0, 1, null, 2, 0, 1, 3]`))
	if err != nil {
		t.Fatal(err)
	}
	defer indices.Release()
	regions := array.NewDictionaryArray(dictType, indices, dict)
	defer regions.Release()
	counts, _, err := array.FromJSON(mem, arrow.PrimitiveTypes.Int64, strings.NewReader(`[9, 1, 2, 3, 4, 5, 6, 9]`))
	if err != nil {
		t.Fatal(err)
	}
	defer counts.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "orders.region", Type: dictType, Nullable: true}, {Name: "order_count", Type: arrow.PrimitiveTypes.Int64}}, nil)
	whole := array.NewRecordBatch(schema, []arrow.Array{regions, counts}, 8)
	defer whole.Release()
	res := &semantic.Result{
		Columns: []semantic.OutputColumn{{Name: "orders.region", Kind: semantic.DimensionColumn, Type: dictType},
			{Name: "order_count", Kind: semantic.MetricColumn, Type: arrow.PrimitiveTypes.Int64, Metric: &semantic.Metric{Name: "order_count"}}},
		Batches:  []arrow.RecordBatch{whole.NewSlice(1, 4), whole.NewSlice(4, 7)},
		Rows:     6,
		Versions: []semantic.MetricVersion{{Metric: "order_count", Version: 3}},
	}
	defer res.Release()

	var stream bytes.Buffer
	batches := 0
	if err := res.WriteArrowIPC(&stream, mem, func() error { batches++; return nil }); err != nil {
		t.Fatal(err)
	}
	if batches != 2 {
		t.Errorf("afterBatch was called %d times for 2 batches", batches)
	}
	if bytes.Contains(stream.Bytes(), []byte("secret")) {
		t.Error("the stream carries a dictionary entry no row of the result has")
	}
	rd, err := ipc.NewReader(&stream, ipc.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	if got := rd.Schema().Field(0).Type; !arrow.TypeEqual(got, arrow.BinaryTypes.String) {
		t.Errorf("the dictionary column is sent as %s, want utf8", got)
	}
	if v, _ := rd.Schema().Field(1).Metadata.GetValue(semantic.ArrowVersionKey); v != "3" {
		t.Errorf("order_count's version is %q in the metadata, want 3", v)
	}
	var got []string
	for rd.Next() {
		b := rd.RecordBatch()
		for i := 0; i < int(b.NumRows()); i++ {
			v := semantic.FormatValue(b.Column(0), i)
			if b.Column(0).IsNull(i) {
				v = "NULL"
			}
			got = append(got, v+"="+semantic.FormatValue(b.Column(1), i))
		}
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	want := "east=1 west=2 NULL=3 NULL=4 east=5 west=6"
	if strings.Join(got, " ") != want {
		t.Errorf("rows %v, want %s", got, want)
	}
}
