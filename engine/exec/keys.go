package exec

import (
	"fmt"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/plan"
)

// valueCodes maps the values of one column to dense codes — 0 for NULL, then 1, 2, … in the order
// values are first seen — and keeps each value, so results can be built back from codes. Group
// keys are combined from codes, and count_distinct counts codes.
type valueCodes interface {
	// encode writes the code of each row of a to codes (len(codes) == a.Len()).
	encode(a arrow.Array, codes []uint32) error
	// len returns how many codes are in use, NULL's included.
	len() int
	// build returns the values of the given codes, as an array of the column's value type.
	build(mem memory.Allocator, codes []uint32) (arrow.Array, error)
	// remap returns, for every code of other (a valueCodes of the same type), the code its value
	// has here, adding values this one has not seen.
	remap(other valueCodes) ([]uint32, error)
	// lookup writes the code of each row of a, or noCode for a value never encoded, without
	// adding any; concurrent lookups are safe while nothing encodes.
	lookup(a arrow.Array, codes []uint32)
}

// noCode is what lookup yields for a value that has no code.
const noCode = ^uint32(0)

// newValueCodes returns the codes for a column of type t.
func newValueCodes(env *Env, t arrow.DataType) (valueCodes, error) {
	switch {
	case plan.IsString(t):
		return &stringCodes{codeTable: newCodeTable(strings.Clone), dictOut: t.ID() == arrow.DICTIONARY}, nil
	case plan.IsInteger(t), t.ID() == arrow.TIMESTAMP, t.ID() == arrow.DATE32:
		return &intCodes{typ: t, m: newInternMap(env)}, nil
	case plan.IsFloat(t):
		return &intCodes{typ: t, m: newInternMap(env), float: true}, nil
	case plan.IsDecimal(t):
		return &decimalCodes{typ: t, codeTable: newCodeTable(func(v decimal128.Num) decimal128.Num { return v })}, nil
	case plan.IsBoolean(t):
		return boolCodes{}, nil
	}
	return nil, fmt.Errorf("cannot group by %s values", t)
}

// intCodes codes integers, timestamps and dates (and floats, by their bits).
type intCodes struct {
	typ   arrow.DataType
	m     *internMap
	vals  []int64
	float bool
	tmp   []int64
}

func (c *intCodes) len() int { return c.m.len() + 1 }

func (c *intCodes) encode(a arrow.Array, codes []uint32) error {
	n := a.Len()
	if cap(c.tmp) < n {
		c.tmp = make([]int64, n)
	}
	vals := c.tmp[:n]
	c.valuesOf(a, vals)
	valid, off := validity(a)
	var prev int64
	var prevCode uint32
	for i, v := range vals {
		if valid != nil && !bitutil.BitIsSet(valid, off+i) {
			codes[i] = 0
			continue
		}
		// Runs of equal values are common (time buckets of ordered data): skip the hash.
		if prevCode != 0 && v == prev {
			codes[i] = prevCode
			continue
		}
		code, err := c.code(v)
		if err != nil {
			return err
		}
		codes[i] = code
		prev, prevCode = v, code
	}
	return nil
}

// valuesOf writes the int64 form of a's values — integers widened, floats as key bits — to out.
func (c *intCodes) valuesOf(a arrow.Array, out []int64) {
	switch a.DataType().ID() {
	case arrow.FLOAT32:
		for i, v := range values[float32](a) {
			out[i] = int64(floatKey(float64(v)))
		}
	case arrow.FLOAT64:
		for i, v := range values[float64](a) {
			out[i] = int64(floatKey(v))
		}
	default:
		intsOf(a, out)
	}
}

// floatKey is the bits of f with -0 and every NaN made one key each, as SQL groups them.
func floatKey(f float64) uint64 {
	switch {
	case f == 0:
		return 0
	case math.IsNaN(f):
		return math.Float64bits(math.NaN())
	}
	return math.Float64bits(f)
}

func (c *intCodes) build(mem memory.Allocator, codes []uint32) (arrow.Array, error) {
	bld := array.NewBuilder(mem, c.typ)
	defer bld.Release()
	bld.Reserve(len(codes))
	for _, code := range codes {
		if code == 0 {
			bld.AppendNull()
			continue
		}
		if err := appendKey(bld, c.vals[code-1]); err != nil {
			return nil, err
		}
	}
	return bld.NewArray(), nil
}

// appendKey appends a key held in its int64 form (see intCodes.valuesOf) to a builder of the
// key's own type.
func appendKey(bld array.Builder, v int64) error {
	switch b := bld.(type) {
	case *array.Int8Builder:
		b.Append(int8(v))
	case *array.Int16Builder:
		b.Append(int16(v))
	case *array.Int32Builder:
		b.Append(int32(v))
	case *array.Int64Builder:
		b.Append(v)
	case *array.TimestampBuilder:
		b.Append(arrow.Timestamp(v))
	case *array.Date32Builder:
		b.Append(arrow.Date32(v))
	case *array.Float32Builder:
		b.Append(float32(math.Float64frombits(uint64(v))))
	case *array.Float64Builder:
		b.Append(math.Float64frombits(uint64(v)))
	default:
		return fmt.Errorf("cannot build %s keys", bld.Type())
	}
	return nil
}

func (c *intCodes) lookup(a arrow.Array, codes []uint32) {
	vals := make([]int64, a.Len())
	c.valuesOf(a, vals)
	valid, off := validity(a)
	for i, v := range vals {
		if !isValid(valid, off, i) {
			codes[i] = 0
		} else if id, ok := c.m.find(uint64(v)); ok {
			codes[i] = id + 1
		} else {
			codes[i] = noCode
		}
	}
}

// code returns the code of one value, giving it the next one if it has none.
func (c *intCodes) code(v int64) (uint32, error) {
	id, err := c.m.intern(uint64(v))
	if err != nil {
		return 0, err
	}
	if int(id) == len(c.vals) {
		c.vals = append(c.vals, v)
	}
	return id + 1, nil
}

func (c *intCodes) remap(other valueCodes) ([]uint32, error) {
	o := other.(*intCodes)
	out := make([]uint32, o.len())
	for i, v := range o.vals {
		code, err := c.code(v)
		if err != nil {
			return nil, err
		}
		out[i+1] = code
	}
	return out, nil
}

// codeTable gives dense codes 1, 2, … to comparable values through a Go map, keeping each value
// (copied by keep, so that a string does not pin the batch it came from).
type codeTable[V comparable] struct {
	ids  map[V]uint32
	vals []V
	keep func(V) V
}

func newCodeTable[V comparable](keep func(V) V) *codeTable[V] {
	return &codeTable[V]{ids: map[V]uint32{}, keep: keep}
}

func (t *codeTable[V]) len() int { return len(t.vals) + 1 }

// code returns v's code, giving it the next one if it has none.
func (t *codeTable[V]) code(v V) uint32 {
	if id, ok := t.ids[v]; ok {
		return id
	}
	v = t.keep(v)
	t.vals = append(t.vals, v)
	id := uint32(len(t.vals))
	t.ids[v] = id
	return id
}

// find returns v's code, or noCode.
func (t *codeTable[V]) find(v V) uint32 {
	if id, ok := t.ids[v]; ok {
		return id
	}
	return noCode
}

// remapFrom returns, for every code of o, the code its value has here.
func (t *codeTable[V]) remapFrom(o *codeTable[V]) []uint32 {
	out := make([]uint32, o.len())
	for i, v := range o.vals {
		out[i+1] = t.code(v)
	}
	return out
}

// stringCodes codes strings. A dictionary column is coded once per dictionary entry, and its
// rows then only look up their index, for as long as batches share the dictionary.
type stringCodes struct {
	*codeTable[string]
	dict    arrow.ArrayData
	dictMap []uint32
	// dictOut builds results dictionary-encoded (int32 indices over the coded values), as the
	// column came in: a large result, such as a bridge's, then carries four bytes a row.
	dictOut bool
}

func (c *stringCodes) encode(a arrow.Array, codes []uint32) error {
	valid, off := validity(a)
	if d, ok := a.(*array.Dictionary); ok {
		dict := d.Dictionary()
		if c.dict != dict.Data() {
			strs := dict.(*array.String)
			c.dictMap = make([]uint32, strs.Len())
			for i := range c.dictMap {
				if strs.IsValid(i) {
					c.dictMap[i] = c.code(strs.Value(i))
				}
			}
			c.dict = dict.Data()
		}
		dictLookup(d.Indices(), c.dictMap, codes)
		if valid != nil {
			for i := range codes {
				if !bitutil.BitIsSet(valid, off+i) {
					codes[i] = 0
				}
			}
		}
		return nil
	}
	s := a.(*array.String)
	for i := range codes {
		if isValid(valid, off, i) {
			codes[i] = c.code(s.Value(i))
		} else {
			codes[i] = 0
		}
	}
	return nil
}

func (c *stringCodes) lookup(a arrow.Array, codes []uint32) {
	sv := stringsOf(a)
	for i := range codes {
		if a.IsNull(i) {
			codes[i] = 0
		} else {
			codes[i] = c.find(sv.at(i))
		}
	}
}

func (c *stringCodes) remap(other valueCodes) ([]uint32, error) {
	return c.remapFrom(other.(*stringCodes).codeTable), nil
}

func (c *stringCodes) build(mem memory.Allocator, codes []uint32) (arrow.Array, error) {
	if c.dictOut {
		dict := array.NewStringBuilder(mem)
		defer dict.Release()
		dict.AppendValues(c.vals, nil)
		values := dict.NewArray()
		defer values.Release()
		ibuf, idx := newFixed[int32](mem, len(codes))
		validBuf, valid := newBitmap(mem, len(codes))
		nulls := 0
		for i, code := range codes {
			if code == 0 {
				idx[i] = 0
				nulls++
				continue
			}
			idx[i] = int32(code - 1)
			valid[i>>3] |= 1 << (i & 7)
		}
		indices := makeFixedArray(arrow.PrimitiveTypes.Int32, len(codes), validBuf, ibuf, nulls)
		defer indices.Release()
		return array.NewDictionaryArray(plan.DictionaryOfStrings, indices, values), nil
	}
	return buildCoded(array.NewStringBuilder(mem), codes, func(code uint32) string { return c.vals[code-1] }), nil
}

// decimalCodes codes 128-bit decimals.
type decimalCodes struct {
	*codeTable[decimal128.Num]
	typ arrow.DataType
}

func (c *decimalCodes) encode(a arrow.Array, codes []uint32) error {
	valid, off := validity(a)
	for i, v := range values[decimal128.Num](a) {
		if isValid(valid, off, i) {
			codes[i] = c.code(v)
		} else {
			codes[i] = 0
		}
	}
	return nil
}

func (c *decimalCodes) lookup(a arrow.Array, codes []uint32) {
	valid, off := validity(a)
	for i, v := range values[decimal128.Num](a) {
		if !isValid(valid, off, i) {
			codes[i] = 0
		} else {
			codes[i] = c.find(v)
		}
	}
}

func (c *decimalCodes) build(mem memory.Allocator, codes []uint32) (arrow.Array, error) {
	bld := array.NewDecimal128Builder(mem, c.typ.(*arrow.Decimal128Type))
	return buildCoded(bld, codes, func(code uint32) decimal128.Num { return c.vals[code-1] }), nil
}

func (c *decimalCodes) remap(other valueCodes) ([]uint32, error) {
	return c.remapFrom(other.(*decimalCodes).codeTable), nil
}

// boolCodes codes booleans: 1 for false, 2 for true.
type boolCodes struct{}

func (boolCodes) len() int { return 3 }

func (boolCodes) encode(a arrow.Array, codes []uint32) error {
	b := a.(*array.Boolean)
	for i := range codes {
		switch {
		case b.IsNull(i):
			codes[i] = 0
		case b.Value(i):
			codes[i] = 2
		default:
			codes[i] = 1
		}
	}
	return nil
}

func (boolCodes) build(mem memory.Allocator, codes []uint32) (arrow.Array, error) {
	return buildCoded(array.NewBooleanBuilder(mem), codes, func(code uint32) bool { return code == 2 }), nil
}

// codedBuilder is an Arrow builder that appends values of type V.
type codedBuilder[V any] interface {
	array.Builder
	Append(V)
}

// buildCoded builds the array of codes, with code 0 as NULL and value(code) for the others, and
// releases bld.
func buildCoded[V any](bld codedBuilder[V], codes []uint32, value func(code uint32) V) arrow.Array {
	defer bld.Release()
	bld.Reserve(len(codes))
	for _, code := range codes {
		if code == 0 {
			bld.AppendNull()
		} else {
			bld.Append(value(code))
		}
	}
	return bld.NewArray()
}

func (b boolCodes) lookup(a arrow.Array, codes []uint32) { _ = b.encode(a, codes) }

func (boolCodes) remap(valueCodes) ([]uint32, error) { return []uint32{0, 1, 2}, nil }
