package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// writeTemp writes content to a file called name in a fresh temporary directory and returns its
// path.
func writeTemp(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// cellString formats one value for comparison: decimals at their scale, so that 1.50 and 1.5
// differ; strings quoted, so that "" and NULL differ.
func cellString(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "NULL"
	}
	switch a := a.(type) {
	case *array.Decimal128:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.String:
		return fmt.Sprintf("%q", a.Value(i))
	case *array.Dictionary:
		return cellString(a.Dictionary(), a.GetValueIndex(i))
	}
	return a.ValueStr(i)
}

// columnStrings returns every value of column col of tbl, over all batches.
func columnStrings(tbl *Table, col int) []string {
	var out []string
	for _, b := range tbl.Batches() {
		c := b.Column(col)
		for i := range c.Len() {
			out = append(out, cellString(c, i))
		}
	}
	return out
}

var dictUTF8 = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

func TestReadCSVInference(t *testing.T) {
	timestampUTC := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	tests := []struct {
		name     string
		csv      string
		types    []arrow.DataType
		nullable []bool
		values   [][]string // one slice a column
	}{
		{
			name:     "ints",
			csv:      "n\n1\n-2\n+3\n0\n9223372036854775807\n-9223372036854775808\n",
			types:    []arrow.DataType{arrow.PrimitiveTypes.Int64},
			nullable: []bool{false},
			values:   [][]string{{"1", "-2", "3", "0", "9223372036854775807", "-9223372036854775808"}},
		},
		{
			name:     "negative decimals",
			csv:      "amount\n-0.5\n12.25\n-123.45\n.75\n",
			types:    []arrow.DataType{&arrow.Decimal128Type{Precision: 38, Scale: 2}},
			nullable: []bool{false},
			values:   [][]string{{"-0.50", "12.25", "-123.45", "0.75"}},
		},
		{
			name:     "mixed int and decimal is decimal at the largest scale",
			csv:      "x\n1\n2.5\n-3.125\n",
			types:    []arrow.DataType{&arrow.Decimal128Type{Precision: 38, Scale: 3}},
			nullable: []bool{false},
			values:   [][]string{{"1.000", "2.500", "-3.125"}},
		},
		{
			name:     "decimal keeps 38 digits exactly",
			csv:      "x\n12345678901234567890123456789.123456789\n-0.000000001\n",
			types:    []arrow.DataType{&arrow.Decimal128Type{Precision: 38, Scale: 9}},
			nullable: []bool{false},
			values:   [][]string{{"12345678901234567890123456789.123456789", "-0.000000001"}},
		},
		{
			name:     "integer beyond int64 is decimal",
			csv:      "x\n12345678901234567890\n1\n",
			types:    []arrow.DataType{&arrow.Decimal128Type{Precision: 38, Scale: 0}},
			nullable: []bool{false},
			values:   [][]string{{"12345678901234567890", "1"}},
		},
		{
			name:     "exponent is float",
			csv:      "x\n1\n2.5\n1e3\n-2.5E-1\n",
			types:    []arrow.DataType{arrow.PrimitiveTypes.Float64},
			nullable: []bool{false},
			values:   [][]string{{"1", "2.5", "1000", "-0.25"}},
		},
		{
			name:     "more than nine decimals is float",
			csv:      "x\n0.1234567891\n2\n",
			types:    []arrow.DataType{arrow.PrimitiveTypes.Float64},
			nullable: []bool{false},
			values:   [][]string{{"0.1234567891", "2"}},
		},
		{
			name:     "NaN among numbers is float, alone is text",
			csv:      "x,y\n1.5,NaN\nNaN,nan\n",
			types:    []arrow.DataType{arrow.PrimitiveTypes.Float64, arrow.BinaryTypes.String},
			nullable: []bool{false, false},
			values:   [][]string{{"1.5", "NaN"}, {`"NaN"`, `"nan"`}},
		},
		{
			name:     "leading zeros stay text",
			csv:      "zip\n02139\n10001\n",
			types:    []arrow.DataType{arrow.BinaryTypes.String},
			nullable: []bool{false},
			values:   [][]string{{`"02139"`, `"10001"`}},
		},
		{
			name:     "bools in any case",
			csv:      "b\nTrue\nfalse\nTRUE\n",
			types:    []arrow.DataType{arrow.FixedWidthTypes.Boolean},
			nullable: []bool{false},
			values:   [][]string{{"true", "false", "true"}},
		},
		{
			name:     "dates",
			csv:      "d\n2023-01-31\n2024-02-29\n1969-12-31\n",
			types:    []arrow.DataType{arrow.FixedWidthTypes.Date32},
			nullable: []bool{false},
			values:   [][]string{{"2023-01-31", "2024-02-29", "1969-12-31"}},
		},
		{
			name:     "impossible date is text",
			csv:      "d\n2023-02-29\n2023-01-01\n",
			types:    []arrow.DataType{arrow.BinaryTypes.String},
			nullable: []bool{false},
			values:   [][]string{{`"2023-02-29"`, `"2023-01-01"`}},
		},
		{
			name: "timestamps with offsets convert to UTC",
			csv: "t\n2023-01-01T08:15:30Z\n2023-01-01 08:15:30.123456+00\n2023-01-01 16:15:30+08:00\n" +
				"2023-01-01 16:15:30.5+0800\n2023-01-01 03:15:30-05\n2023-01-01T09:15:30.1234565+01:00\n",
			types:    []arrow.DataType{timestampUTC},
			nullable: []bool{false},
			values: [][]string{{"2023-01-01T08:15:30Z", "2023-01-01T08:15:30.123456Z", "2023-01-01T08:15:30Z",
				"2023-01-01T08:15:30.5Z", "2023-01-01T08:15:30Z", "2023-01-01T08:15:30.123457Z"}},
		},
		{
			name:     "timestamps without offsets read as UTC, dates as midnight",
			csv:      "t\n2023-01-01 08:15:30\n2023-01-01T08:15:30.25\n2023-01-02\n2023-01-03 00:00\n",
			types:    []arrow.DataType{timestampUTC},
			nullable: []bool{false},
			values: [][]string{{"2023-01-01T08:15:30Z", "2023-01-01T08:15:30.25Z", "2023-01-02T00:00:00Z",
				"2023-01-03T00:00:00Z"}},
		},
		{
			name:     "timestamps with and without offsets stay text",
			csv:      "t\n2023-01-01 08:15:30+00\n2023-01-01 08:15:30\n",
			types:    []arrow.DataType{arrow.BinaryTypes.String},
			nullable: []bool{false},
			values:   [][]string{{`"2023-01-01 08:15:30+00"`, `"2023-01-01 08:15:30"`}},
		},
		{
			name:     "NULLs",
			csv:      "a,b,c\n1,,x\n,,\n3,,z\n",
			types:    []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.BinaryTypes.String, arrow.BinaryTypes.String},
			nullable: []bool{true, true, true},
			values:   [][]string{{"1", "NULL", "3"}, {"NULL", "NULL", "NULL"}, {`"x"`, "NULL", `"z"`}},
		},
		{
			name:     "quoted fields with commas, newlines and quotes",
			csv:      "id,note\n1,\"hello, world\"\n2,\"line1\r\nline2\"\n\"3\",\"say \"\"hi\"\"\"\n4,\"\"\n5,5\" pipe\n",
			types:    []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.BinaryTypes.String},
			nullable: []bool{false, false},
			values: [][]string{{"1", "2", "3", "4", "5"},
				{`"hello, world"`, `"line1\nline2"`, `"say \"hi\""`, `""`, `"5\" pipe"`}},
		},
		{
			name:     "quoted empty string makes a number column text",
			csv:      "x\n1\n\"\"\n",
			types:    []arrow.DataType{arrow.BinaryTypes.String},
			nullable: []bool{false},
			values:   [][]string{{`"1"`, `""`}},
		},
		{
			name:     "string column with few distinct values is a dictionary",
			csv:      "city\nParis\nLyon\nParis\n\nParis\n",
			types:    []arrow.DataType{dictUTF8},
			nullable: []bool{false},
			values:   [][]string{{`"Paris"`, `"Lyon"`, `"Paris"`, `"Paris"`}},
		},
		{
			name:     "string column with many distinct values is not",
			csv:      "name\nann\nbob\ncid\nann\n",
			types:    []arrow.DataType{arrow.BinaryTypes.String},
			nullable: []bool{false},
			values:   [][]string{{`"ann"`, `"bob"`, `"cid"`, `"ann"`}},
		},
		{
			name:     "column that turns to text late is counted again",
			csv:      "x\n1\n1\n1\nn/a\n",
			types:    []arrow.DataType{dictUTF8},
			nullable: []bool{false},
			values:   [][]string{{`"1"`, `"1"`, `"1"`, `"n/a"`}},
		},
		{
			name:     "byte order mark and CRLF",
			csv:      "\ufeffa,b\r\n1,x\r\n2,\r\n",
			types:    []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.BinaryTypes.String},
			nullable: []bool{false, true},
			values:   [][]string{{"1", "2"}, {`"x"`, "NULL"}},
		},
		{
			name:     "header only",
			csv:      "a,b\n",
			types:    []arrow.DataType{arrow.BinaryTypes.String, arrow.BinaryTypes.String},
			nullable: []bool{false, false},
			values:   [][]string{nil, nil},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			path := writeTemp(t, "data.csv", tt.csv)
			// Two rows a batch, so that every case also crosses batch boundaries.
			tbl, err := readFile(context.Background(), mem, path, 2)
			if err != nil {
				t.Fatal(err)
			}
			defer tbl.Release()

			if got := tbl.Schema().NumFields(); got != len(tt.types) {
				t.Fatalf("got %d columns, want %d", got, len(tt.types))
			}
			for i, f := range tbl.Schema().Fields() {
				if !arrow.TypeEqual(f.Type, tt.types[i]) {
					t.Errorf("column %s: type %s, want %s", f.Name, f.Type, tt.types[i])
				}
				if f.Nullable != tt.nullable[i] {
					t.Errorf("column %s: nullable %v, want %v", f.Name, f.Nullable, tt.nullable[i])
				}
				if got := columnStrings(tbl, i); strings.Join(got, "|") != strings.Join(tt.values[i], "|") {
					t.Errorf("column %s: values\n got %q\nwant %q", f.Name, got, tt.values[i])
				}
			}

			schema, err := FileSchema(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			if !schema.Equal(tbl.Schema()) {
				t.Errorf("FileSchema = %s, ReadFile's schema = %s", schema, tbl.Schema())
			}
		})
	}
}

func TestReadCSVSharesOneDictionary(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var sb strings.Builder
	sb.WriteString("region,id\n")
	for i := range 10 {
		fmt.Fprintf(&sb, "%s,%d\n", []string{"north", "south", "east"}[i%3], i)
	}
	path := writeTemp(t, "regions.csv", sb.String())
	tbl, err := readFile(context.Background(), mem, path, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()

	if n := len(tbl.Batches()); n != 3 {
		t.Fatalf("got %d batches, want 3", n)
	}
	first := tbl.Batches()[0].Column(0).Data().Dictionary()
	for i, b := range tbl.Batches() {
		if d := b.Column(0).Data().Dictionary(); d != first {
			t.Errorf("batch %d has its own dictionary", i)
		}
	}
	// The same value has the same index in every batch: north is row 0 and row 9.
	last := tbl.Batches()[2].Column(0).(*array.Dictionary)
	if got := last.GetValueIndex(last.Len() - 1); got != 0 {
		t.Errorf("north in the last batch has index %d, want 0", got)
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name string
		path string
		want string
	}{
		{
			name: "missing file",
			path: filepath.Join(dir, "missing.csv"),
			want: "read source file: open " + filepath.Join(dir, "missing.csv") + ": no such file or directory",
		},
		{
			name: "unknown extension",
			path: write("data.json", "{}"),
			want: "source file " + filepath.Join(dir, "data.json") + `: unsupported file type ".json"; supported are .csv and .parquet`,
		},
		{
			name: "no extension",
			path: write("data", "a\n1\n"),
			want: "source file " + filepath.Join(dir, "data") + ": no file extension; name the file .csv or .parquet",
		},
		{
			name: "empty file",
			path: write("empty.csv", ""),
			want: filepath.Join(dir, "empty.csv") + ": file is empty; a CSV file needs a header row naming its columns",
		},
		{
			name: "duplicate header",
			path: write("dup.csv", "id,amount,note,amount\n1,2,x,3\n"),
			want: filepath.Join(dir, "dup.csv") + `:1: column 4: duplicate column name "amount" (also column 2); column names must be unique`,
		},
		{
			name: "empty header",
			path: write("blank.csv", "id,,note\n1,2,3\n"),
			want: filepath.Join(dir, "blank.csv") + ":1: column 2: the header names no column; give every column a name",
		},
		{
			name: "ragged row",
			path: write("orders.csv", "id,amount\n1,2.50\n2,\"3,\n50\"\n3,4.50,extra\n"),
			want: filepath.Join(dir, "orders.csv") + ":5: row has 3 fields but the header has 2; quote values that contain commas",
		},
		{
			name: "unclosed quote",
			path: write("quote.csv", "id,note\n1,ok\n2,\"never closed\n3,x\n"),
			want: filepath.Join(dir, "quote.csv") + ":3: column note: quoted field is never closed; check for a missing closing quote",
		},
		{
			name: "text after closing quote",
			path: write("after.csv", "id,note\n1,\"a\"b\n"),
			want: filepath.Join(dir, "after.csv") + `:2: column note: text after the closing quote; write a quote inside a quoted field as two quotes ("")`,
		},
		{
			name: "invalid UTF-8",
			path: write("latin1.csv", "id,name\n1,Jos\xe9\n"),
			want: filepath.Join(dir, "latin1.csv") + ":2: column name: invalid UTF-8; save the file as UTF-8",
		},
		{
			name: "not a Parquet file",
			path: write("bad.parquet", "id\n1\n"),
			want: "read " + filepath.Join(dir, "bad.parquet") + ": parquet: file too small (size=5)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			tbl, err := ReadFile(context.Background(), mem, tt.path)
			if err == nil {
				tbl.Release()
				t.Fatal("ReadFile succeeded, want an error")
			}
			if err.Error() != tt.want {
				t.Errorf("ReadFile error\n got %s\nwant %s", err, tt.want)
			}
			if _, err := FileSchema(context.Background(), tt.path); err == nil || err.Error() != tt.want {
				t.Errorf("FileSchema error\n got %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestReadFileMissingIsNotExist(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	_, err := ReadFile(context.Background(), mem, filepath.Join(t.TempDir(), "missing.parquet"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want an error that is os.ErrNotExist", err)
	}
}

func TestReadCSVCancelled(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	path := writeTemp(t, "data.csv", "a\n1\n2\n")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := ReadFile(ctx, mem, path)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// benchmarkCSV returns a CSV file of n orders with the kinds of columns a model reads.
func benchmarkCSV(n int) []byte {
	var buf bytes.Buffer
	buf.WriteString("order_id,customer,region,amount,quantity,discount,paid,ordered_at,ship_date,note\n")
	regions := []string{"north", "south", "east", "west"}
	for i := range n {
		fmt.Fprintf(&buf, "%d,customer-%d,%s,%d.%02d,%d,%g,%t,2024-%02d-%02d %02d:%02d:%02d+00,2024-%02d-%02d,\"note %d, with a comma\"\n",
			i, i%5000, regions[i%len(regions)], i%10000, i%100, i%17, float64(i%7)/8, i%3 == 0,
			i%12+1, i%28+1, i%24, i%60, (i*7)%60, i%12+1, i%28+1, i)
	}
	return buf.Bytes()
}

func BenchmarkReadCSV(b *testing.B) {
	data := benchmarkCSV(200_000)
	path := writeTemp(b, "orders.csv", string(data))
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(b, 0)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		tbl, err := ReadFile(context.Background(), mem, path)
		if err != nil {
			b.Fatal(err)
		}
		if tbl.NumRows() != 200_000 {
			b.Fatalf("got %d rows", tbl.NumRows())
		}
		tbl.Release()
	}
}
