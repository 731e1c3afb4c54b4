package source

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// writeParquet writes batches to a Parquet file in a fresh temporary directory, one row group a
// batch, storing the Arrow schema so that dictionary columns read back as dictionaries.
func writeParquet(t *testing.T, mem memory.Allocator, schema *arrow.Schema, batches ...arrow.RecordBatch) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(schema, f,
		parquet.NewWriterProperties(parquet.WithAllocator(mem)),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem)))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		if err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func recordFromJSON(t *testing.T, mem memory.Allocator, schema *arrow.Schema, rows string) arrow.RecordBatch {
	t.Helper()
	rec, _, err := array.RecordFromJSON(mem, schema, strings.NewReader(rows))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestReadParquetRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "amount", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}, Nullable: true},
		{Name: "customer", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "region", Type: dictUTF8, Nullable: true},
		{Name: "ordered_at", Type: ts},
		{Name: "ship_date", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	}, nil)
	// Two row groups whose dictionaries differ, in order and in content.
	first := recordFromJSON(t, mem, schema, `[
		{"id": 1, "amount": "12.50", "customer": "ann", "region": "north", "ordered_at": "2024-01-02T03:04:05.123456Z", "ship_date": "2024-01-03"},
		{"id": 2, "amount": null, "customer": null, "region": "south", "ordered_at": "2024-01-02T00:00:00Z", "ship_date": null},
		{"id": 3, "amount": "-0.01", "customer": "", "region": null, "ordered_at": "1969-12-31T23:59:59.999999Z", "ship_date": "1969-12-31"}
	]`)
	defer first.Release()
	second := recordFromJSON(t, mem, schema, `[
		{"id": 4, "amount": "9999999999.99", "customer": "bob", "region": "east", "ordered_at": "2024-02-29T12:00:00Z", "ship_date": "2024-03-01"},
		{"id": 5, "amount": "0.00", "customer": "cid", "region": "north", "ordered_at": "2024-03-01T00:00:00Z", "ship_date": "2024-03-02"}
	]`)
	defer second.Release()
	path := writeParquet(t, mem, schema, first, second)

	// Two rows a batch, so that batches straddle the row groups.
	tbl, err := readFile(context.Background(), mem, path, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()

	if !tbl.Schema().Equal(schema) {
		t.Fatalf("schema\n got %s\nwant %s", tbl.Schema(), schema)
	}
	if tbl.NumRows() != 5 || len(tbl.Batches()) != 3 {
		t.Fatalf("got %d rows in %d batches, want 5 in 3", tbl.NumRows(), len(tbl.Batches()))
	}
	want := [][]string{
		{"1", "2", "3", "4", "5"},
		{"12.50", "NULL", "-0.01", "9999999999.99", "0.00"},
		{`"ann"`, "NULL", `""`, `"bob"`, `"cid"`},
		{`"north"`, `"south"`, "NULL", `"east"`, `"north"`},
		{"2024-01-02T03:04:05.123456Z", "2024-01-02T00:00:00Z", "1969-12-31T23:59:59.999999Z", "2024-02-29T12:00:00Z", "2024-03-01T00:00:00Z"},
		{"2024-01-03", "NULL", "1969-12-31", "2024-03-01", "2024-03-02"},
	}
	for i, f := range tbl.Schema().Fields() {
		if got := columnStrings(tbl, i); strings.Join(got, "|") != strings.Join(want[i], "|") {
			t.Errorf("column %s:\n got %q\nwant %q", f.Name, got, want[i])
		}
	}
	dict := tbl.Batches()[0].Column(3).Data().Dictionary()
	for i, b := range tbl.Batches() {
		if b.Column(3).Data().Dictionary() != dict {
			t.Errorf("batch %d has its own dictionary", i)
		}
	}
	north0 := tbl.Batches()[0].Column(3).(*array.Dictionary).GetValueIndex(0)
	north4 := tbl.Batches()[2].Column(3).(*array.Dictionary).GetValueIndex(0)
	if north0 != north4 {
		t.Errorf("north has index %d in batch 0 and %d in batch 2", north0, north4)
	}

	fileSchema, err := FileSchema(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if !fileSchema.Equal(tbl.Schema()) {
		t.Errorf("FileSchema = %s, ReadFile's schema = %s", fileSchema, tbl.Schema())
	}
}

func TestReadParquetConvertsToEngineTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	schema := arrow.NewSchema([]arrow.Field{
		{Name: "ns", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "ms", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "Europe/Paris"}},
		{Name: "local", Type: &arrow.TimestampType{Unit: arrow.Microsecond}},
		{Name: "big", Type: arrow.BinaryTypes.LargeString, Nullable: true},
	}, nil)
	rec := recordFromJSON(t, mem, schema, `[
		{"ns": "2024-01-02T03:04:05.1234565Z", "ms": "2024-01-02T03:04:05.123Z", "local": "2024-01-02T03:04:05", "big": "x"},
		{"ns": "1969-12-31T23:59:59.9999994Z", "ms": "1969-12-31T23:59:59.999Z", "local": "1969-12-31T23:59:59", "big": null},
		{"ns": null, "ms": "2024-01-02T00:00:00Z", "local": "2024-01-02T00:00:00", "big": ""}
	]`)
	defer rec.Release()
	path := writeParquet(t, mem, schema, rec)

	tbl, err := ReadFile(context.Background(), mem, path)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()

	wantSchema := arrow.NewSchema([]arrow.Field{
		{Name: "ns", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "ms", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "Europe/Paris"}},
		{Name: "local", Type: &arrow.TimestampType{Unit: arrow.Microsecond}},
		{Name: "big", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	if !tbl.Schema().Equal(wantSchema) {
		t.Fatalf("schema\n got %s\nwant %s", tbl.Schema(), wantSchema)
	}
	cols := tbl.Batches()[0]
	wantMicros := [][]any{
		{int64(1704164645123457), int64(-1), nil},
		{int64(1704164645123000), int64(-1000), int64(1704153600000000)},
	}
	for c, want := range wantMicros {
		a := cols.Column(c).(*array.Timestamp)
		for i, w := range want {
			if w == nil {
				if !a.IsNull(i) {
					t.Errorf("column %d row %d: got %d, want NULL", c, i, a.Value(i))
				}
				continue
			}
			if got := int64(a.Value(i)); got != w.(int64) {
				t.Errorf("column %d row %d: got %d, want %d", c, i, got, w)
			}
		}
	}
	if got := strings.Join(columnStrings(tbl, 3), "|"); got != `"x"|NULL|""` {
		t.Errorf("big: got %s", got)
	}

	fileSchema, err := FileSchema(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if !fileSchema.Equal(tbl.Schema()) {
		t.Errorf("FileSchema = %s, ReadFile's schema = %s", fileSchema, tbl.Schema())
	}
}

func TestReadParquetCancelled(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	rec := recordFromJSON(t, mem, schema, `[{"id": 1}, {"id": 2}]`)
	defer rec.Release()
	path := writeParquet(t, mem, schema, rec)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadFile(ctx, mem, path); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestReadParquetEmpty(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	path := writeParquet(t, mem, schema)
	tbl, err := ReadFile(context.Background(), mem, path)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	if tbl.NumRows() != 0 || !tbl.Schema().Equal(schema) {
		t.Errorf("got %d rows, schema %s", tbl.NumRows(), tbl.Schema())
	}
}
