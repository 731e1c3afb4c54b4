package exec

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/plan"
)

// ErrOverflow is returned when integer or decimal arithmetic leaves its type's range.
var ErrOverflow = errors.New("numeric overflow")

// pow10 holds 10^0 … 10^38 as 128-bit decimals.
var pow10 = func() [39]decimal128.Num {
	var p [39]decimal128.Num
	p[0] = decimal128.FromI64(1)
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1].Mul(decimal128.FromI64(10))
	}
	return p
}()

// castEval converts values from one type to another; see plan.NewCast for the pairs.
type castEval struct {
	mem      memory.Allocator
	x        evaluator
	from, to arrow.DataType
}

func newCastEval(mem memory.Allocator, x evaluator, from, to arrow.DataType) (evaluator, error) {
	return &castEval{mem: mem, x: x, from: from, to: to}, nil
}

func (c *castEval) children() []evaluator { return []evaluator{c.x} }

func (c *castEval) eval(b arrow.RecordBatch) (arrow.Array, error) {
	in, err := c.x.eval(b)
	if err != nil {
		return nil, err
	}
	defer in.Release()
	n := in.Len()
	if c.from.ID() == arrow.NULL {
		return nullArray(c.mem, c.to, n)
	}
	valid, nulls := andValidity(c.mem, n, in)
	switch {
	case c.to.ID() == arrow.INT64:
		buf, out := newFixed[int64](c.mem, n)
		intsOf(in, out)
		return makeFixedArray(c.to, n, valid, buf, nulls), nil
	case c.to.ID() == arrow.FLOAT64:
		buf, out := newFixed[float64](c.mem, n)
		switch {
		case plan.IsInteger(c.from):
			tmp := make([]int64, n)
			intsOf(in, tmp)
			for i, v := range tmp {
				out[i] = float64(v)
			}
		case c.from.ID() == arrow.FLOAT32:
			for i, v := range values[float32](in) {
				out[i] = float64(v)
			}
		case plan.IsDecimal(c.from):
			scale := plan.DecimalScale(c.from)
			for i, v := range values[decimal128.Num](in) {
				out[i] = decimalToFloat(v, scale)
			}
		}
		return makeFixedArray(c.to, n, valid, buf, nulls), nil
	case plan.IsDecimal(c.to):
		buf, out := newFixed[decimal128.Num](c.mem, n)
		toScale := plan.DecimalScale(c.to)
		overflow := false
		if plan.IsInteger(c.from) {
			tmp := make([]int64, n)
			intsOf(in, tmp)
			m := pow10[toScale]
			for i, v := range tmp {
				p, ok := mulDecimal(decimal128.FromI64(v), m)
				overflow = overflow || !ok && in.IsValid(i)
				out[i] = p
			}
		} else {
			m := pow10[toScale-plan.DecimalScale(c.from)]
			for i, v := range values[decimal128.Num](in) {
				p, ok := mulDecimal(v, m)
				overflow = overflow || !ok && in.IsValid(i)
				out[i] = p
			}
		}
		if overflow {
			buf.Release()
			if valid != nil {
				valid.Release()
			}
			return nil, fmt.Errorf("%w: a value does not fit %s", ErrOverflow, plan.TypeName(c.to))
		}
		return makeFixedArray(c.to, n, valid, buf, nulls), nil
	}
	if valid != nil {
		valid.Release()
	}
	return nil, fmt.Errorf("cannot convert %s to %s", c.from, c.to)
}

// int64View returns a's values as int64s: the array's own buffer when it holds 64-bit integers
// or timestamps (no copy), otherwise widened into *buf, which is grown as needed and reused.
func int64View(a arrow.Array, buf *[]int64) []int64 {
	switch a.DataType().ID() {
	case arrow.INT64, arrow.TIMESTAMP:
		return values[int64](a)
	}
	*buf = growTo((*buf)[:0], a.Len())
	intsOf(a, *buf)
	return *buf
}

// intsOf copies an integer array of any width, or the days of a date array, or the microseconds
// of a timestamp array, into out as int64s.
func intsOf(a arrow.Array, out []int64) {
	switch a.DataType().ID() {
	case arrow.DATE32:
		for i, v := range values[int32](a) {
			out[i] = int64(v)
		}
	case arrow.INT8:
		for i, v := range values[int8](a) {
			out[i] = int64(v)
		}
	case arrow.INT16:
		for i, v := range values[int16](a) {
			out[i] = int64(v)
		}
	case arrow.INT32:
		for i, v := range values[int32](a) {
			out[i] = int64(v)
		}
	case arrow.INT64, arrow.TIMESTAMP:
		copy(out, values[int64](a))
	}
}

// decimalToFloat converts a scaled decimal to the nearest float64. Values that fit in 53 bits
// convert exactly and divide once, which rounds correctly, as PostgreSQL's numeric → float8 does.
func decimalToFloat(v decimal128.Num, scale int32) float64 {
	if hi, lo := v.HighBits(), v.LowBits(); (hi == 0 && lo < 1<<53) || (hi == -1 && lo > math.MaxUint64-(1<<53)) {
		f := float64(int64(lo))
		if scale > 0 {
			return f / math.Pow10(int(scale))
		}
		return f
	}
	return v.ToFloat64(scale)
}

// arithEval computes + - * / over two arrays of one promoted type (see plan.NewBinary).
type arithEval struct {
	mem  memory.Allocator
	op   plan.BinaryOp
	l, r evaluator
	typ  arrow.DataType
	// lScale and rScale are the operands' decimal scales, for multiplication.
	lScale, rScale int32
}

func newArithEval(mem memory.Allocator, x *plan.Binary, l, r evaluator) (evaluator, error) {
	t := x.DataType()
	switch {
	case t.ID() == arrow.INT64, t.ID() == arrow.FLOAT64, plan.IsDecimal(t):
	default:
		return nil, fmt.Errorf("cannot compute %s on %s", x.Op, t)
	}
	return &arithEval{mem: mem, op: x.Op, l: l, r: r, typ: t,
		lScale: plan.DecimalScale(x.Left.DataType()), rScale: plan.DecimalScale(x.Right.DataType())}, nil
}

func (a *arithEval) children() []evaluator { return []evaluator{a.l, a.r} }

func (a *arithEval) eval(b arrow.RecordBatch) (arrow.Array, error) {
	l, err := a.l.eval(b)
	if err != nil {
		return nil, err
	}
	defer l.Release()
	r, err := a.r.eval(b)
	if err != nil {
		return nil, err
	}
	defer r.Release()
	n := l.Len()
	if l.DataType().ID() == arrow.NULL || r.DataType().ID() == arrow.NULL {
		return nullArray(a.mem, a.typ, n)
	}
	valid, nulls := andValidity(a.mem, n, l, r)
	var validBits []byte
	if valid != nil {
		validBits = valid.Bytes()
	}
	switch a.typ.ID() {
	case arrow.INT64:
		buf, out := newFixed[int64](a.mem, n)
		if err := arithInt64(a.op, values[int64](l), values[int64](r), out, validBits); err != nil {
			buf.Release()
			if valid != nil {
				valid.Release()
			}
			return nil, err
		}
		return makeFixedArray(a.typ, n, valid, buf, nulls), nil
	case arrow.FLOAT64:
		buf, out := newFixed[float64](a.mem, n)
		lv, rv := values[float64](l), values[float64](r)
		switch a.op {
		case plan.Add:
			for i := range out {
				out[i] = lv[i] + rv[i]
			}
		case plan.Sub:
			for i := range out {
				out[i] = lv[i] - rv[i]
			}
		case plan.Mul:
			for i := range out {
				out[i] = lv[i] * rv[i]
			}
		case plan.Div:
			// Division by zero yields NULL, never an error or an infinity.
			for i := range out {
				if rv[i] == 0 && isValid(validBits, 0, i) {
					if valid == nil {
						valid, validBits = newBitmap(a.mem, n)
						bitutil.SetBitsTo(validBits, 0, int64(n), true)
					}
					bitutil.ClearBit(validBits, i)
					nulls++
				}
				if rv[i] != 0 {
					out[i] = lv[i] / rv[i]
				} else {
					out[i] = 0
				}
			}
		}
		return makeFixedArray(a.typ, n, valid, buf, nulls), nil
	default:
		buf, out := newFixed[decimal128.Num](a.mem, n)
		if err := arithDecimal(a.op, values[decimal128.Num](l), values[decimal128.Num](r), out, validBits); err != nil {
			buf.Release()
			if valid != nil {
				valid.Release()
			}
			return nil, err
		}
		return makeFixedArray(a.typ, n, valid, buf, nulls), nil
	}
}

func arithInt64(op plan.BinaryOp, l, r, out []int64, valid []byte) error {
	switch op {
	case plan.Add:
		for i := range out {
			s := l[i] + r[i]
			if (s^l[i])&(s^r[i]) < 0 && isValid(valid, 0, i) {
				return fmt.Errorf("%w: %d + %d", ErrOverflow, l[i], r[i])
			}
			out[i] = s
		}
	case plan.Sub:
		for i := range out {
			s := l[i] - r[i]
			if (l[i]^r[i])&(s^l[i]) < 0 && isValid(valid, 0, i) {
				return fmt.Errorf("%w: %d - %d", ErrOverflow, l[i], r[i])
			}
			out[i] = s
		}
	case plan.Mul:
		for i := range out {
			p, ok := mulInt64(l[i], r[i])
			if !ok && isValid(valid, 0, i) {
				return fmt.Errorf("%w: %d * %d", ErrOverflow, l[i], r[i])
			}
			out[i] = p
		}
	}
	return nil
}

// mulInt64 returns a*b and whether it fits in an int64.
func mulInt64(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	p := a * b
	return p, p/b == a && !(a == -1 && b == math.MinInt64) && !(b == -1 && a == math.MinInt64)
}

func arithDecimal(op plan.BinaryOp, l, r, out []decimal128.Num, valid []byte) error {
	switch op {
	case plan.Add:
		for i := range out {
			s, ok := addDecimal(l[i], r[i])
			if !ok && isValid(valid, 0, i) {
				return fmt.Errorf("%w in decimal addition", ErrOverflow)
			}
			out[i] = s
		}
	case plan.Sub:
		for i := range out {
			s, ok := addDecimal(l[i], r[i].Negate())
			if !ok && isValid(valid, 0, i) {
				return fmt.Errorf("%w in decimal subtraction", ErrOverflow)
			}
			out[i] = s
		}
	case plan.Mul:
		for i := range out {
			p, ok := mulDecimal(l[i], r[i])
			if !ok && isValid(valid, 0, i) {
				return fmt.Errorf("%w in decimal multiplication", ErrOverflow)
			}
			out[i] = p
		}
	}
	return nil
}

// addDecimal returns a+b and whether the 128-bit sum did not overflow.
func addDecimal(a, b decimal128.Num) (decimal128.Num, bool) {
	s := a.Add(b)
	return s, !(a.Sign() == b.Sign() && a.Sign() != 0 && s.Sign() != a.Sign())
}

// mulDecimal returns a*b of two scaled integers and whether it fits in 128 bits. Products of
// values that fit in an int64 take a fast path; others go through math/big.
func mulDecimal(a, b decimal128.Num) (decimal128.Num, bool) {
	if fitsInt64(a) && fitsInt64(b) {
		x, y := int64(a.LowBits()), int64(b.LowBits())
		if p, ok := mulInt64(x, y); ok {
			return decimal128.FromI64(p), true
		}
		neg := (x < 0) != (y < 0)
		hi, lo := bits.Mul64(absU64(x), absU64(y))
		if hi>>63 != 0 {
			return decimal128.Num{}, false
		}
		n := decimal128.New(int64(hi), lo)
		if neg {
			n = n.Negate()
		}
		return n, true
	}
	p := new(big.Int).Mul(a.BigInt(), b.BigInt())
	if p.BitLen() > 127 {
		return decimal128.Num{}, false
	}
	return decimal128.FromBigInt(p), true
}

func fitsInt64(v decimal128.Num) bool {
	return (v.HighBits() == 0 && v.LowBits()>>63 == 0) || (v.HighBits() == -1 && v.LowBits()>>63 == 1)
}

func absU64(v int64) uint64 {
	if v < 0 {
		return uint64(-v)
	}
	return uint64(v)
}

// negateEval changes the sign of numbers.
type negateEval struct {
	mem memory.Allocator
	x   evaluator
}

func (e *negateEval) children() []evaluator { return []evaluator{e.x} }

func (e *negateEval) eval(b arrow.RecordBatch) (arrow.Array, error) {
	in, err := e.x.eval(b)
	if err != nil {
		return nil, err
	}
	defer in.Release()
	n := in.Len()
	valid, nulls := andValidity(e.mem, n, in)
	switch in.DataType().ID() {
	case arrow.INT64:
		buf, out := newFixed[int64](e.mem, n)
		for i, v := range values[int64](in) {
			if v == math.MinInt64 && in.IsValid(i) {
				buf.Release()
				if valid != nil {
					valid.Release()
				}
				return nil, fmt.Errorf("%w: -(%d)", ErrOverflow, v)
			}
			out[i] = -v
		}
		return makeFixedArray(in.DataType(), n, valid, buf, nulls), nil
	case arrow.FLOAT64:
		buf, out := newFixed[float64](e.mem, n)
		for i, v := range values[float64](in) {
			out[i] = -v
		}
		return makeFixedArray(in.DataType(), n, valid, buf, nulls), nil
	case arrow.DECIMAL128:
		buf, out := newFixed[decimal128.Num](e.mem, n)
		for i, v := range values[decimal128.Num](in) {
			out[i] = v.Negate()
		}
		return makeFixedArray(in.DataType(), n, valid, buf, nulls), nil
	}
	if valid != nil {
		valid.Release()
	}
	return nil, fmt.Errorf("cannot negate %s", in.DataType())
}
