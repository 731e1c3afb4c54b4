package semantic

import (
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The keys of the metadata ArrowSchema puts on each field, and on the schema.
const (
	// ArrowKindKey says what a column holds: "dimension", "time" or "metric".
	ArrowKindKey = "koujing.kind"
	// ArrowDimensionKey names the dimension of a dimension or time column ("orders.created_at").
	ArrowDimensionKey = "koujing.dimension"
	// ArrowGranularityKey is the unit a time column is truncated to ("month").
	ArrowGranularityKey = "koujing.granularity"
	// ArrowMetricKey names the metric of a metric column.
	ArrowMetricKey = "koujing.metric"
	// ArrowUnitKey is a metric's unit ("CNY"), when it has one.
	ArrowUnitKey = "koujing.unit"
	// ArrowFormatKey is how a metric is meant to be shown ("currency", "percent"), when set.
	ArrowFormatKey = "koujing.format"
	// ArrowLabelKey is the metric's or dimension's label, when it has one.
	ArrowLabelKey = "koujing.label"
	// ArrowVersionKey is the version of the metric's definition that answered, when definitions
	// are versioned (they are not when read from files).
	ArrowVersionKey = "koujing.version"
	// ArrowRowsKey, on the schema, is the number of rows of the result.
	ArrowRowsKey = "koujing.rows"
)

// ArrowSchema returns the schema of the result as WriteArrowIPC sends it: each column under its
// name with the type it was computed in — decimals keep their precision and scale, timestamps
// their time zone (the query's, for the time column) — except text that the engine keeps
// dictionary-encoded, which is sent as plain utf8. Field metadata says what each column is (see
// the Arrow*Key constants).
func (r *Result) ArrowSchema() *arrow.Schema {
	versions := map[string]int{}
	for _, v := range r.Versions {
		versions[v.Metric] = v.Version
	}
	fields := make([]arrow.Field, len(r.Columns))
	for i, c := range r.Columns {
		meta := map[string]string{ArrowKindKey: string(c.Kind)}
		set := func(k, v string) {
			if v != "" {
				meta[k] = v
			}
		}
		if c.Dimension != nil {
			set(ArrowDimensionKey, c.Dimension.QualifiedName())
			set(ArrowLabelKey, c.Dimension.Label)
		}
		if c.Granularity != nil {
			set(ArrowGranularityKey, c.Granularity.String())
		}
		if m := c.Metric; m != nil {
			set(ArrowMetricKey, m.Name)
			set(ArrowLabelKey, m.Label)
			set(ArrowUnitKey, m.Unit)
			set(ArrowFormatKey, m.Format)
			if v := versions[m.Name]; v > 0 {
				set(ArrowVersionKey, strconv.Itoa(v))
			}
		}
		fields[i] = arrow.Field{Name: c.Name, Type: plainType(c.Type), Nullable: true, Metadata: arrow.MetadataFrom(meta)}
	}
	meta := arrow.MetadataFrom(map[string]string{ArrowRowsKey: strconv.FormatInt(r.Rows, 10)})
	return arrow.NewSchema(fields, &meta)
}

// plainType is the type a column is sent in: a dictionary's value type, any other type as it is.
func plainType(t arrow.DataType) arrow.DataType {
	if d, ok := t.(*arrow.DictionaryType); ok {
		return d.ValueType
	}
	return t
}

// WriteArrowIPC writes the result to w as an Arrow IPC stream: the schema (ArrowSchema), one
// record batch per batch of the result, and the end-of-stream marker. afterBatch, when not nil, is
// called after each batch is written, so that a caller can flush it to a client before the next.
// mem allocates the plain copies of dictionary-encoded columns, each released once written; the
// result's own batches are sent without copying. After an error the stream has no end marker,
// so that no reader takes what was written for the whole result.
func (r *Result) WriteArrowIPC(w io.Writer, mem memory.Allocator, afterBatch func() error) error {
	schema := r.ArrowSchema()
	iw := ipc.NewWriter(w, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	for _, b := range r.Batches {
		rec, err := plainBatch(schema, b, mem)
		if err != nil {
			return err
		}
		err = iw.Write(rec)
		rec.Release()
		if err != nil {
			return err
		}
		if afterBatch != nil {
			if err := afterBatch(); err != nil {
				return err
			}
		}
	}
	return iw.Close()
}

// plainBatch returns b under schema, with its dictionary columns decoded to plain text. Release
// it when done.
func plainBatch(schema *arrow.Schema, b arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, error) {
	if int(b.NumCols()) != schema.NumFields() {
		return nil, fmt.Errorf("arrow: a batch has %d columns, the result %d", b.NumCols(), schema.NumFields())
	}
	cols := make([]arrow.Array, b.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, c := range b.Columns() {
		if d, ok := c.(*array.Dictionary); ok {
			s, err := dictionaryStrings(d, mem)
			if err != nil {
				return nil, fmt.Errorf("arrow: column %s: %w", schema.Field(i).Name, err)
			}
			cols[i] = s
			continue
		}
		if !arrow.TypeEqual(c.DataType(), schema.Field(i).Type) {
			return nil, fmt.Errorf("arrow: column %s is %s in one batch and %s in the result", schema.Field(i).Name, c.DataType(), schema.Field(i).Type)
		}
		c.Retain()
		cols[i] = c
	}
	return array.NewRecordBatch(schema, cols, b.NumRows()), nil
}

// dictionaryStrings decodes a dictionary of strings into a plain string array, so that a client
// gets only the values of rows it may see: a dictionary can hold every value of its source
// table, those of rows that row filters keep out included.
func dictionaryStrings(d *array.Dictionary, mem memory.Allocator) (arrow.Array, error) {
	dict, ok := d.Dictionary().(*array.String)
	if !ok {
		return nil, fmt.Errorf("a dictionary of %s, not of strings", d.Dictionary().DataType())
	}
	n := d.Len()
	valid := func(i int) (int, bool) {
		if d.IsNull(i) {
			return 0, false
		}
		j := d.GetValueIndex(i)
		return j, dict.IsValid(j)
	}
	total, nulls := 0, 0
	for i := 0; i < n; i++ {
		if j, ok := valid(i); ok {
			total += dict.ValueLen(j)
		} else {
			nulls++
		}
	}
	if total > math.MaxInt32 {
		return nil, fmt.Errorf("%d bytes of text in one batch, more than a utf8 array holds", total)
	}
	offsets := memory.NewResizableBuffer(mem)
	defer offsets.Release()
	offsets.Resize(arrow.Int32Traits.BytesRequired(n + 1))
	values := memory.NewResizableBuffer(mem)
	defer values.Release()
	values.Resize(total)
	var bitmap *memory.Buffer
	if nulls > 0 {
		bitmap = memory.NewResizableBuffer(mem)
		defer bitmap.Release()
		bitmap.Resize(int(bitutil.BytesForBits(int64(n))))
		clear(bitmap.Bytes())
	}
	offs := arrow.Int32Traits.CastFromBytes(offsets.Bytes())
	out := values.Bytes()
	pos := 0
	for i := 0; i < n; i++ {
		offs[i] = int32(pos)
		if j, ok := valid(i); ok {
			pos += copy(out[pos:], dict.Value(j))
			if bitmap != nil {
				bitutil.SetBit(bitmap.Bytes(), i)
			}
		}
	}
	offs[n] = int32(pos)
	data := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{bitmap, offsets, values}, nil, nulls, 0)
	defer data.Release()
	return array.NewStringData(data), nil
}
