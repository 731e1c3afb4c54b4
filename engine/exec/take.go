package exec

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// take gathers a's values at the given row indices; an index of -1 yields NULL. It is how
// filters, joins and sorts build their output without per-row interfaces.
func take(mem memory.Allocator, a arrow.Array, idx []int32) (arrow.Array, error) {
	switch a.DataType().ID() {
	case arrow.INT8:
		return takeFixed[int8](mem, a, idx), nil
	case arrow.INT16:
		return takeFixed[int16](mem, a, idx), nil
	case arrow.INT32, arrow.DATE32:
		return takeFixed[int32](mem, a, idx), nil
	case arrow.INT64, arrow.TIMESTAMP:
		return takeFixed[int64](mem, a, idx), nil
	case arrow.FLOAT32:
		return takeFixed[float32](mem, a, idx), nil
	case arrow.FLOAT64:
		return takeFixed[float64](mem, a, idx), nil
	case arrow.DECIMAL128:
		return takeFixed[decimal128.Num](mem, a, idx), nil
	case arrow.BOOL:
		return takeBool(mem, a, idx), nil
	case arrow.STRING:
		return takeString(mem, a.(*array.String), idx), nil
	case arrow.DICTIONARY:
		d := a.(*array.Dictionary)
		indices, err := take(mem, d.Indices(), idx)
		if err != nil {
			return nil, err
		}
		defer indices.Release()
		return array.NewDictionaryArray(a.DataType(), indices, d.Dictionary()), nil
	case arrow.NULL:
		return array.NewNull(len(idx)), nil
	}
	return nil, fmt.Errorf("cannot gather values of type %s", a.DataType())
}

func takeFixed[T fixedWidth](mem memory.Allocator, a arrow.Array, idx []int32) arrow.Array {
	src := values[T](a)
	srcValid, srcOff := validity(a)
	n := len(idx)
	vbuf, out := newFixed[T](mem, n)
	var validBuf *memory.Buffer
	var valid []byte
	nulls := 0
	for i, j := range idx {
		if j < 0 || !isValid(srcValid, srcOff, int(j)) {
			if validBuf == nil {
				validBuf, valid = newBitmap(mem, n)
				bitutil.SetBitsTo(valid, 0, int64(i), true)
			}
			var zero T
			out[i] = zero
			nulls++
			continue
		}
		out[i] = src[j]
		if valid != nil {
			bitutil.SetBit(valid, i)
		}
	}
	return makeFixedArray(a.DataType(), n, validBuf, vbuf, nulls)
}

func takeBool(mem memory.Allocator, a arrow.Array, idx []int32) arrow.Array {
	b := a.(*array.Boolean)
	n := len(idx)
	vbuf, vals := newBitmap(mem, n)
	validBuf, valid := newBitmap(mem, n)
	nulls := 0
	for i, j := range idx {
		if j < 0 || b.IsNull(int(j)) {
			nulls++
			continue
		}
		bitutil.SetBit(valid, i)
		if b.Value(int(j)) {
			bitutil.SetBit(vals, i)
		}
	}
	return makeFixedArray(arrow.FixedWidthTypes.Boolean, n, validBuf, vbuf, nulls)
}

func takeString(mem memory.Allocator, s *array.String, idx []int32) arrow.Array {
	n := len(idx)
	size := 0
	for _, j := range idx {
		if j >= 0 {
			size += s.ValueLen(int(j))
		}
	}
	offBuf, offsets := newFixed[int32](mem, n+1)
	dataBuf := memory.NewResizableBuffer(mem)
	dataBuf.Resize(size)
	data := dataBuf.Bytes()
	validBuf, valid := newBitmap(mem, n)
	nulls, pos := 0, 0
	for i, j := range idx {
		offsets[i] = int32(pos)
		if j < 0 || s.IsNull(int(j)) {
			nulls++
			continue
		}
		bitutil.SetBit(valid, i)
		pos += copy(data[pos:], s.Value(int(j)))
	}
	offsets[n] = int32(pos)
	if nulls == 0 {
		validBuf.Release()
		validBuf = nil
	}
	arrData := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{validBuf, offBuf, dataBuf}, nil, nulls, 0)
	defer arrData.Release()
	for _, b := range []*memory.Buffer{validBuf, offBuf, dataBuf} {
		if b != nil {
			b.Release()
		}
	}
	return array.MakeFromData(arrData)
}

// takeRecord gathers every column of a record at the given rows, into a record of schema.
func takeRecord(mem memory.Allocator, schema *arrow.Schema, r arrow.RecordBatch, idx []int32) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, r.NumCols())
	defer releaseAll(cols)
	for i, c := range r.Columns() {
		out, err := take(mem, c, idx)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", r.ColumnName(i), err)
		}
		cols[i] = out
	}
	return array.NewRecordBatch(schema, cols, int64(len(idx))), nil
}

// releaseAll releases every non-nil array.
func releaseAll(arrs []arrow.Array) {
	for _, a := range arrs {
		if a != nil {
			a.Release()
		}
	}
}
