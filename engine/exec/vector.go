package exec

import (
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// fixedWidth is every physical value type the kernels read as a plain slice: integers (also
// timestamps and dates), floats and 128-bit decimals.
type fixedWidth interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64 | decimal128.Num
}

// indexWidth is every integer type a dictionary's indices may have.
type indexWidth interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// dictLookup sets out[i] = table[indices[i]] for every row of a dictionary's index array,
// whatever the indices' width; rows that are NULL get whatever their index slot points at.
func dictLookup[V any](indices arrow.Array, table, out []V) {
	switch indices.DataType().ID() {
	case arrow.INT8:
		lookup(values[int8](indices), table, out)
	case arrow.INT16:
		lookup(values[int16](indices), table, out)
	case arrow.INT32:
		lookup(values[int32](indices), table, out)
	case arrow.INT64:
		lookup(values[int64](indices), table, out)
	case arrow.UINT8:
		lookup(values[uint8](indices), table, out)
	case arrow.UINT16:
		lookup(values[uint16](indices), table, out)
	case arrow.UINT32:
		lookup(values[uint32](indices), table, out)
	case arrow.UINT64:
		lookup(values[uint64](indices), table, out)
	default:
		panic(fmt.Sprintf("dictionary indices of type %s", indices.DataType()))
	}
}

func lookup[T indexWidth, V any](idx []T, table, out []V) {
	out = out[:len(idx)]
	var zero V
	for i, j := range idx {
		// A NULL row's index slot may hold anything; never read past the table for it.
		if uint64(j) < uint64(len(table)) {
			out[i] = table[j]
		} else {
			out[i] = zero
		}
	}
}

// packBools sets bit i of out (len(out) >= (len(b)+7)/8) to b[i], eight rows per byte.
func packBools(b []bool, out []byte) {
	n := len(b)
	i := 0
	for ; i+8 <= n; i += 8 {
		out[i>>3] = b2u8(b[i]) | b2u8(b[i+1])<<1 | b2u8(b[i+2])<<2 | b2u8(b[i+3])<<3 |
			b2u8(b[i+4])<<4 | b2u8(b[i+5])<<5 | b2u8(b[i+6])<<6 | b2u8(b[i+7])<<7
	}
	for ; i < n; i++ {
		out[i>>3] |= b2u8(b[i]) << (i & 7)
	}
}

func b2u8(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// values returns the value buffer of a fixed-width array as a typed slice, honouring the
// array's offset. The slice aliases the array's memory: it is valid while the array is.
func values[T fixedWidth](a arrow.Array) []T {
	d := a.Data()
	buf := d.Buffers()[1]
	if buf == nil || buf.Len() == 0 {
		return nil
	}
	var zero T
	all := unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(buf.Bytes()))), buf.Len()/int(unsafe.Sizeof(zero)))
	return all[d.Offset() : d.Offset()+d.Len()]
}

// validity returns the array's validity bitmap and its bit offset, or nil when no value is NULL.
func validity(a arrow.Array) ([]byte, int) {
	if a.NullN() == 0 {
		return nil, 0
	}
	return a.NullBitmapBytes(), a.Data().Offset()
}

// isValid reports whether bit i+off of a validity bitmap is set; a nil bitmap means all valid.
func isValid(bitmap []byte, off, i int) bool {
	return bitmap == nil || bitutil.BitIsSet(bitmap, off+i)
}

// newFixed allocates an uninitialised buffer of n values of type T.
func newFixed[T fixedWidth](mem memory.Allocator, n int) (*memory.Buffer, []T) {
	var zero T
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n * int(unsafe.Sizeof(zero)))
	if n == 0 {
		return buf, nil
	}
	return buf, unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(buf.Bytes()))), n)
}

// newBitmap allocates a bitmap of n bits, all clear.
func newBitmap(mem memory.Allocator, n int) (*memory.Buffer, []byte) {
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(n))))
	b := buf.Bytes()
	clear(b)
	return buf, b
}

// makeFixedArray wraps a validity bitmap (nil when no NULLs) and a value buffer as an array of
// type t, taking over the caller's references to both buffers.
func makeFixedArray(t arrow.DataType, n int, valid, vals *memory.Buffer, nulls int) arrow.Array {
	return makeArray(t, n, nulls, valid, vals)
}

// makeArray wraps a validity bitmap (nil when no NULLs) and the other buffers of an array of
// type t (the values; or the offsets and bytes of strings) as an array, taking over the caller's
// references to the buffers.
func makeArray(t arrow.DataType, n, nulls int, valid *memory.Buffer, bufs ...*memory.Buffer) arrow.Array {
	if nulls == 0 && valid != nil {
		valid.Release()
		valid = nil
	}
	data := array.NewData(t, n, append([]*memory.Buffer{valid}, bufs...), nil, nulls, 0)
	defer data.Release()
	if valid != nil {
		valid.Release()
	}
	for _, b := range bufs {
		b.Release()
	}
	return array.MakeFromData(data)
}

// andValidity returns the validity of a value computed from arrays: set where every one is valid,
// with the count of NULLs; nil when none has a NULL.
func andValidity(mem memory.Allocator, n int, arrs ...arrow.Array) (*memory.Buffer, int) {
	var out *memory.Buffer
	var bits []byte
	for _, a := range arrs {
		v, off := validity(a)
		if v == nil {
			continue
		}
		if out == nil {
			out, bits = newBitmap(mem, n)
			bitutil.CopyBitmap(v, off, n, bits, 0)
			continue
		}
		for i := 0; i < n; i++ {
			if !bitutil.BitIsSet(v, off+i) {
				bitutil.ClearBit(bits, i)
			}
		}
	}
	if out == nil {
		return nil, 0
	}
	return out, n - bitutil.CountSetBits(bits, 0, n)
}

// boolBits returns a boolean array's values and validity as bitmaps that start at bit 0 (copying
// when the array is an offset slice); valid is nil when no value is NULL. release frees copies.
func boolBits(mem memory.Allocator, a arrow.Array) (vals, valid []byte, release func()) {
	n := a.Len()
	off := a.Data().Offset()
	var bufs []*memory.Buffer
	realign := func(src []byte) []byte {
		if off == 0 {
			return src
		}
		buf, dst := newBitmap(mem, n)
		bufs = append(bufs, buf)
		bitutil.CopyBitmap(src, off, n, dst, 0)
		return dst
	}
	if buf := a.Data().Buffers()[1]; buf != nil {
		vals = realign(buf.Bytes())
	} else {
		// An empty boolean array may come without a value buffer.
		buf, dst := newBitmap(mem, n)
		bufs = append(bufs, buf)
		vals = dst
	}
	if a.NullN() > 0 {
		valid = realign(a.NullBitmapBytes())
	}
	return vals, valid, func() {
		for _, b := range bufs {
			b.Release()
		}
	}
}

// selected reports whether row i of a predicate is true: set and not NULL.
func selected(vals, valid []byte, i int) bool {
	return bitutil.BitIsSet(vals, i) && (valid == nil || bitutil.BitIsSet(valid, i))
}
