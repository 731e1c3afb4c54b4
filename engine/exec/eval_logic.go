package exec

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/plan"
)

// logicEval computes AND or OR with SQL's three-valued logic: false AND NULL is false, true OR
// NULL is true, and otherwise NULL wins. It works a byte (eight rows) at a time.
type logicEval struct {
	mem  memory.Allocator
	and  bool
	l, r evaluator
}

func (e *logicEval) children() []evaluator { return []evaluator{e.l, e.r} }

func (e *logicEval) eval(b arrow.RecordBatch) (arrow.Array, error) {
	l, err := e.l.eval(b)
	if err != nil {
		return nil, err
	}
	defer l.Release()
	r, err := e.r.eval(b)
	if err != nil {
		return nil, err
	}
	defer r.Release()
	n := l.Len()
	lv, lValid, lRelease := boolOperand(e.mem, l)
	defer lRelease()
	rv, rValid, rRelease := boolOperand(e.mem, r)
	defer rRelease()
	vbuf, out := newBitmap(e.mem, n)
	validBuf, valid := newBitmap(e.mem, n)
	for i := range out {
		lok, rok := byteOr(lValid, i), byteOr(rValid, i)
		a, c := lv[i]&lok, rv[i]&rok
		if e.and {
			// Known false on either side decides; otherwise both must be known.
			valid[i] = (lok & rok) | (lok &^ a) | (rok &^ c)
			out[i] = a & c
		} else {
			valid[i] = (lok & rok) | a | c
			out[i] = a | c
		}
	}
	nulls := n - bitutil.CountSetBits(valid, 0, n)
	return makeFixedArray(plan.Boolean, n, validBuf, vbuf, nulls), nil
}

// boolOperand returns a boolean (or all-NULL) operand's values and validity bitmaps from bit 0;
// valid is nil when nothing is NULL.
func boolOperand(mem memory.Allocator, a arrow.Array) (vals, valid []byte, release func()) {
	if a.DataType().ID() == arrow.NULL {
		n := int(bitutil.BytesForBits(int64(a.Len())))
		return make([]byte, n), make([]byte, n), func() {}
	}
	return boolBits(mem, a)
}

// byteOr returns byte i of a validity bitmap, all ones when the bitmap is nil (no NULLs).
func byteOr(valid []byte, i int) byte {
	if valid == nil {
		return 0xff
	}
	return valid[i]
}

// notEval negates booleans; NOT NULL stays NULL.
type notEval struct {
	mem memory.Allocator
	x   evaluator
}

func (e *notEval) children() []evaluator { return []evaluator{e.x} }

func (e *notEval) eval(b arrow.RecordBatch) (arrow.Array, error) {
	in, err := e.x.eval(b)
	if err != nil {
		return nil, err
	}
	defer in.Release()
	n := in.Len()
	if in.DataType().ID() == arrow.NULL {
		return nullArray(e.mem, plan.Boolean, n)
	}
	vals, _, release := boolBits(e.mem, in)
	defer release()
	valid, nulls := andValidity(e.mem, n, in)
	vbuf, out := newBitmap(e.mem, n)
	for i := range out {
		out[i] = ^vals[i]
	}
	return makeFixedArray(plan.Boolean, n, valid, vbuf, nulls), nil
}

// isNullEval tests for NULL; its result is never NULL.
type isNullEval struct {
	mem memory.Allocator
	x   evaluator
	not bool
}

func (e *isNullEval) children() []evaluator { return []evaluator{e.x} }

func (e *isNullEval) eval(b arrow.RecordBatch) (arrow.Array, error) {
	in, err := e.x.eval(b)
	if err != nil {
		return nil, err
	}
	defer in.Release()
	n := in.Len()
	vbuf, out := newBitmap(e.mem, n)
	for i := 0; i < n; i++ {
		if isNullAt(in, i) != e.not {
			out[i>>3] |= 1 << (i & 7)
		}
	}
	return makeFixedArray(plan.Boolean, n, nil, vbuf, 0), nil
}

// isNullAt reports whether row i of a is NULL. Arrow's untyped NULL arrays have no validity
// bitmap and report their rows as valid, so they are checked by type.
func isNullAt(a arrow.Array, i int) bool {
	return a.DataType().ID() == arrow.NULL || a.IsNull(i)
}

// coalesceEval yields, per row, the first argument that is not NULL.
type coalesceEval struct {
	mem  memory.Allocator
	args []evaluator
	typ  arrow.DataType
}

func (e *coalesceEval) children() []evaluator { return e.args }

func (e *coalesceEval) eval(b arrow.RecordBatch) (arrow.Array, error) {
	n := int(b.NumRows())
	arrs := make([]arrow.Array, 0, len(e.args))
	defer func() { releaseAll(arrs) }()
	pick := make([]int32, n)
	for i := range pick {
		pick[i] = -1
	}
	open := n
	for k, a := range e.args {
		if open == 0 {
			break
		}
		arr, err := a.eval(b)
		if err != nil {
			return nil, err
		}
		arrs = append(arrs, arr)
		for i := range pick {
			if pick[i] < 0 && !isNullAt(arr, i) {
				pick[i] = int32(k)
				open--
			}
		}
	}
	return choose(e.mem, e.typ, arrs, pick)
}

// caseEval yields the THEN of the first WHEN that is true, else ELSE, else NULL.
type caseEval struct {
	mem   memory.Allocator
	conds []evaluator
	thens []evaluator // the ELSE, if any, last
	typ   arrow.DataType
}

func newCaseEval(mem memory.Allocator, x *plan.Case, kids []evaluator) evaluator {
	e := &caseEval{mem: mem, typ: x.DataType()}
	for i := range x.Whens {
		e.conds = append(e.conds, kids[2*i])
		e.thens = append(e.thens, kids[2*i+1])
	}
	if x.Else != nil {
		e.thens = append(e.thens, kids[len(kids)-1])
	}
	return e
}

func (e *caseEval) children() []evaluator {
	return append(append([]evaluator{}, e.conds...), e.thens...)
}

func (e *caseEval) eval(b arrow.RecordBatch) (arrow.Array, error) {
	n := int(b.NumRows())
	pick := make([]int32, n)
	for i := range pick {
		pick[i] = -1
	}
	decided := make([]bool, n)
	for k, c := range e.conds {
		cond, err := c.eval(b)
		if err != nil {
			return nil, err
		}
		vals, valid, release := boolOperand(e.mem, cond)
		for i := range pick {
			if !decided[i] && selected(vals, valid, i) {
				pick[i], decided[i] = int32(k), true
			}
		}
		release()
		cond.Release()
	}
	if len(e.thens) > len(e.conds) {
		for i := range pick {
			if !decided[i] {
				pick[i] = int32(len(e.conds))
			}
		}
	}
	arrs := make([]arrow.Array, len(e.thens))
	defer releaseAll(arrs)
	for k, t := range e.thens {
		arr, err := t.eval(b)
		if err != nil {
			return nil, err
		}
		arrs[k] = arr
	}
	return choose(e.mem, e.typ, arrs, pick)
}

// choose builds an array of type t whose row i is row i of arrs[pick[i]], or NULL where
// pick[i] < 0. Dictionary-encoded inputs are read as strings.
func choose(mem memory.Allocator, t arrow.DataType, arrs []arrow.Array, pick []int32) (arrow.Array, error) {
	n := len(pick)
	switch t.ID() {
	case arrow.INT8:
		return chooseFixed[int8](mem, t, arrs, pick), nil
	case arrow.INT16:
		return chooseFixed[int16](mem, t, arrs, pick), nil
	case arrow.INT32, arrow.DATE32:
		return chooseFixed[int32](mem, t, arrs, pick), nil
	case arrow.INT64, arrow.TIMESTAMP:
		return chooseFixed[int64](mem, t, arrs, pick), nil
	case arrow.FLOAT32:
		return chooseFixed[float32](mem, t, arrs, pick), nil
	case arrow.FLOAT64:
		return chooseFixed[float64](mem, t, arrs, pick), nil
	case arrow.DECIMAL128:
		return chooseFixed[decimal128.Num](mem, t, arrs, pick), nil
	}
	bld := array.NewBuilder(mem, t)
	defer bld.Release()
	bld.Reserve(n)
	switch b := bld.(type) {
	case *array.StringBuilder:
		views := make([]stringView, len(arrs))
		for k, a := range arrs {
			if a.DataType().ID() != arrow.NULL {
				views[k] = stringsOf(a)
			}
		}
		for i, k := range pick {
			if k < 0 || isNullAt(arrs[k], i) {
				b.AppendNull()
			} else {
				b.Append(views[k].at(i))
			}
		}
	case *array.BooleanBuilder:
		for i, k := range pick {
			if k < 0 || isNullAt(arrs[k], i) {
				b.AppendNull()
			} else {
				b.Append(arrs[k].(*array.Boolean).Value(i))
			}
		}
	default:
		return nil, fmt.Errorf("cannot choose between %s values", t)
	}
	return bld.NewArray(), nil
}

func chooseFixed[T fixedWidth](mem memory.Allocator, t arrow.DataType, arrs []arrow.Array, pick []int32) arrow.Array {
	n := len(pick)
	srcs := make([][]T, len(arrs))
	for k, a := range arrs {
		if a.DataType().ID() != arrow.NULL {
			srcs[k] = values[T](a)
		}
	}
	buf, out := newFixed[T](mem, n)
	validBuf, valid := newBitmap(mem, n)
	nulls := 0
	for i, k := range pick {
		if k < 0 || isNullAt(arrs[k], i) {
			nulls++
			var zero T
			out[i] = zero
			continue
		}
		out[i] = srcs[k][i]
		valid[i>>3] |= 1 << (i & 7)
	}
	return makeFixedArray(t, n, validBuf, buf, nulls)
}
