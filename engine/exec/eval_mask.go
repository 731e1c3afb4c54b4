package exec

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/plan"
)

// hashedLen is the length of a hashed value: 16 bytes of MD5 in hex.
const hashedLen = 2 * md5.Size

// maskEval masks strings (see plan.Mask). It writes the output's offsets and bytes straight
// into buffers sized before the loop: a hashed value is hashedLen bytes, and a partly masked
// one is never longer than its input, since each character it hides becomes a one-byte "*".
//
// A dictionary-encoded input is masked once per dictionary entry, into a string array kept for
// as long as batches share the dictionary; its rows then only copy their entry's masked bytes.
type maskEval struct {
	mem  memory.Allocator
	x    evaluator
	kind plan.MaskKind
	// dict is the dictionary masked last and masked holds its entries masked; spans says where
	// each entry's bytes lie in masked (nullSpan for a NULL entry). rows holds the span of each
	// row of the current batch, reused from batch to batch.
	dict   arrow.ArrayData
	masked *array.String
	spans  []span
	rows   []span
}

// span is where a value lies in a string array's bytes: [start, end).
type span struct{ start, end int32 }

// nullSpan marks a NULL dictionary entry.
var nullSpan = span{-1, -1}

func newMaskEval(mem memory.Allocator, x *plan.Mask, in evaluator) evaluator {
	return &maskEval{mem: mem, x: in, kind: x.Kind}
}

func (e *maskEval) children() []evaluator { return []evaluator{e.x} }

func (e *maskEval) close() {
	if e.masked != nil {
		e.masked.Release()
		e.masked, e.dict = nil, nil
	}
}

func (e *maskEval) eval(b arrow.RecordBatch) (arrow.Array, error) {
	in, err := e.x.eval(b)
	if err != nil {
		return nil, err
	}
	defer in.Release()
	switch a := in.(type) {
	case *array.String:
		return e.maskStrings(a), nil
	case *array.Dictionary:
		if strs, ok := a.Dictionary().(*array.String); ok {
			if e.dict != strs.Data() {
				e.maskDictionary(strs)
			}
			return e.gather(a), nil
		}
	}
	return nil, fmt.Errorf("cannot mask %s values", in.DataType())
}

// maskStrings masks every value of a.
func (e *maskEval) maskStrings(a *array.String) arrow.Array {
	n := a.Len()
	if n == 0 {
		offBuf, _, dataBuf, _ := newStringBuffers(e.mem, 0, 0)
		return makeArray(plan.String, 0, 0, nil, offBuf, dataBuf)
	}
	offs, vals := a.ValueOffsets(), a.ValueBytes()
	valid, nulls := andValidity(e.mem, n, a)
	inValid, inOff := validity(a)
	size := len(vals)
	if e.kind == plan.MaskHash {
		size = (n - nulls) * hashedLen
	}
	offBuf, outOffs, dataBuf, out := newStringBuffers(e.mem, n, size)
	base, w := offs[0], 0
	for i := 0; i < n; i++ {
		if isValid(inValid, inOff, i) {
			w += e.mask(out[w:], vals[offs[i]-base:offs[i+1]-base])
		}
		outOffs[i+1] = int32(w)
	}
	dataBuf.ResizeNoShrink(w)
	return makeArray(plan.String, n, nulls, valid, offBuf, dataBuf)
}

// maskDictionary masks every entry of dict, replacing what was cached for the dictionary before.
func (e *maskEval) maskDictionary(dict *array.String) {
	e.close()
	e.masked = e.maskStrings(dict).(*array.String)
	e.dict = dict.Data()
	offs := e.masked.ValueOffsets()
	e.spans = growTo(e.spans[:0], e.masked.Len())
	for k := range e.spans {
		if e.masked.IsNull(k) {
			e.spans[k] = nullSpan
		} else {
			e.spans[k] = span{offs[k], offs[k+1]}
		}
	}
}

// gather builds the rows of a dictionary-encoded input from its dictionary's masked entries. A
// row is NULL when its index is, or when the entry it points at is.
func (e *maskEval) gather(d *array.Dictionary) arrow.Array {
	n := d.Len()
	e.rows = growTo(e.rows[:0], n)
	dictLookup(d.Indices(), e.spans, e.rows)
	inValid, inOff := validity(d)
	var valid *memory.Buffer
	var validBits []byte
	if inValid != nil || e.masked.NullN() > 0 {
		valid, validBits = newBitmap(e.mem, n)
	}
	size, nulls := 0, 0
	for i, s := range e.rows {
		if s == nullSpan || !isValid(inValid, inOff, i) {
			e.rows[i] = span{}
			nulls++
			continue
		}
		size += int(s.end - s.start)
		if validBits != nil {
			validBits[i>>3] |= 1 << (i & 7)
		}
	}
	// masked is an array of our own making: its offsets start at 0.
	vals := e.masked.ValueBytes()
	offBuf, outOffs, dataBuf, out := newStringBuffers(e.mem, n, size)
	w := 0
	for i, s := range e.rows {
		w += copy(out[w:], vals[s.start:s.end])
		outOffs[i+1] = int32(w)
	}
	return makeArray(plan.String, n, nulls, valid, offBuf, dataBuf)
}

// newStringBuffers allocates the buffers of a string array of n rows holding size bytes: the
// offsets, the first set to 0, and the bytes, for the caller to fill (and cut to length).
func newStringBuffers(mem memory.Allocator, n, size int) (offBuf *memory.Buffer, offs []int32, dataBuf *memory.Buffer, data []byte) {
	offBuf, offs = newFixed[int32](mem, n+1)
	offs[0] = 0
	dataBuf = memory.NewResizableBuffer(mem)
	dataBuf.Resize(size)
	return offBuf, offs, dataBuf, dataBuf.Bytes()
}

// mask writes s masked into dst, which has room for it, and returns the bytes written.
func (e *maskEval) mask(dst, s []byte) int {
	if e.kind == plan.MaskHash {
		sum := md5.Sum(s)
		return hex.Encode(dst, sum[:])
	}
	return maskPartial(dst, s)
}

// maskPartial writes s with its characters but the first and last replaced by "*" (all of them
// when it has at most two) into dst, which has room for len(s) bytes, and returns the bytes
// written. Characters are runes, as PostgreSQL's char_length counts them; each byte of invalid
// UTF-8 counts as one, so the result is never longer than s.
func maskPartial(dst, s []byte) int {
	n := runeCount(s)
	if n <= 2 {
		fillStars(dst[:n])
		return n
	}
	_, first := utf8.DecodeRune(s)
	_, last := utf8.DecodeLastRune(s)
	w := copy(dst, s[:first])
	fillStars(dst[w : w+n-2])
	w += n - 2
	return w + copy(dst[w:], s[len(s)-last:])
}

// runeCount counts runes as utf8.RuneCount does, but without its copy of a non-ASCII value to a
// string, which is made on the heap past 32 bytes.
func runeCount(s []byte) int {
	n := 0
	for i := 0; i < len(s); n++ {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		_, w := utf8.DecodeRune(s[i:])
		i += w
	}
	return n
}

func fillStars(b []byte) {
	for i := range b {
		b[i] = '*'
	}
}
