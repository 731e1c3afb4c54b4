package demodata

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// column holds the buffers of one fixed-width column of one batch while the generator fills
// them. The buffers are allocated at their final size, written in place and handed to Arrow
// without a copy.
type column struct {
	typ      arrow.DataType
	dict     arrow.ArrayData // the shared dictionary of a dictionary column
	validity *memory.Buffer  // nil for a column without nulls
	values   *memory.Buffer
	nulls    int
}

// newColumn allocates a column of n values of field's type; a nullable field gets a validity
// bitmap with every bit cleared, which the generator sets for the values it writes.
func newColumn(mem memory.Allocator, field arrow.Field, n int, dict arrow.Array) *column {
	valueType := field.Type
	if dt, ok := field.Type.(*arrow.DictionaryType); ok {
		valueType = dt.IndexType
	}
	width := valueType.(arrow.FixedWidthDataType).BitWidth() / 8
	c := &column{typ: field.Type, values: memory.NewResizableBuffer(mem)}
	c.values.Resize(n * width)
	if dict != nil {
		c.dict = dict.Data()
	}
	if field.Nullable {
		c.validity = memory.NewResizableBuffer(mem)
		c.validity.Resize(int(bitutil.BytesForBits(int64(n))))
		clear(c.validity.Bytes())
	}
	return c
}

// setValidity marks value i valid or null; only a nullable column may have nulls.
func (c *column) setValidity(i int, valid bool) {
	if valid {
		bitutil.SetBit(c.validity.Bytes(), i)
	} else {
		c.nulls++
	}
}

func (c *column) int64s() []int64       { return arrow.Int64Traits.CastFromBytes(c.values.Bytes()) }
func (c *column) int32s() []int32       { return arrow.Int32Traits.CastFromBytes(c.values.Bytes()) }
func (c *column) int8s() []int8         { return arrow.Int8Traits.CastFromBytes(c.values.Bytes()) }
func (c *column) dates() []arrow.Date32 { return arrow.Date32Traits.CastFromBytes(c.values.Bytes()) }
func (c *column) times() []arrow.Timestamp {
	return arrow.TimestampTraits.CastFromBytes(c.values.Bytes())
}
func (c *column) decimals() []decimal128.Num {
	return arrow.Decimal128Traits.CastFromBytes(c.values.Bytes())
}

// array hands the column's buffers over to a new array of length n; the column must not be
// used after.
func (c *column) array(n int) arrow.Array {
	data := array.NewData(c.typ, n, []*memory.Buffer{c.validity, c.values}, nil, c.nulls, 0)
	defer data.Release()
	if c.dict != nil {
		data.SetDictionary(c.dict)
	}
	c.release()
	return array.MakeFromData(data)
}

// release drops the column's references to its buffers.
func (c *column) release() {
	if c.validity != nil {
		c.validity.Release()
		c.validity = nil
	}
	if c.values != nil {
		c.values.Release()
		c.values = nil
	}
}

// batchColumns allocates the columns of one batch of n rows of schema, taking dictionary
// columns' dictionaries from dicts by field name.
func batchColumns(mem memory.Allocator, schema *arrow.Schema, n int, dicts map[string]arrow.Array) []*column {
	cols := make([]*column, schema.NumFields())
	for i, f := range schema.Fields() {
		if f.Type.ID() == arrow.STRING {
			continue // strings are built by stringColumn
		}
		cols[i] = newColumn(mem, f, n, dicts[f.Name])
	}
	return cols
}

func releaseColumns(cols []*column) {
	for _, c := range cols {
		if c != nil {
			c.release()
		}
	}
}

// record hands cols (and extra, for the string columns, by position) over to a record batch
// of n rows.
func record(schema *arrow.Schema, cols []*column, extra map[int]arrow.Array, n int) arrow.RecordBatch {
	arrs := make([]arrow.Array, len(cols))
	defer func() {
		for _, a := range arrs {
			if a != nil {
				a.Release()
			}
		}
	}()
	for i, c := range cols {
		if c == nil {
			arrs[i] = extra[i]
			arrs[i].Retain()
			continue
		}
		arrs[i] = c.array(n)
	}
	return array.NewRecordBatch(schema, arrs, int64(n))
}

// newStringArray builds a non-null string array of n values, value(i) for each i, with
// buffers of exactly the needed size.
func newStringArray(mem memory.Allocator, n int, value func(i int) string) (arrow.Array, error) {
	size := 0
	for i := range n {
		size += len(value(i))
	}
	if size > 1<<31-1 {
		return nil, fmt.Errorf("string column of %d bytes exceeds the 2 GiB limit of utf8", size)
	}
	offsets := memory.NewResizableBuffer(mem)
	defer offsets.Release()
	offsets.Resize((n + 1) * 4)
	data := memory.NewResizableBuffer(mem)
	defer data.Release()
	data.Resize(size)

	offs := arrow.Int32Traits.CastFromBytes(offsets.Bytes())
	bytes := data.Bytes()
	pos := 0
	for i := range n {
		offs[i] = int32(pos)
		pos += copy(bytes[pos:], value(i))
	}
	offs[n] = int32(pos)
	d := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{nil, offsets, data}, nil, 0, 0)
	defer d.Release()
	return array.MakeFromData(d), nil
}

// newDictionary returns a string array of values, to be shared by every batch of a dictionary
// column.
func newDictionary(mem memory.Allocator, values []string) arrow.Array {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.AppendValues(values, nil)
	return b.NewArray()
}
