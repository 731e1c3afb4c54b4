package exec

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/plan"
)

// compareEval compares two arrays of one promoted type. A dictionary of strings compared with a
// constant is compared once per dictionary entry, then mapped through the indices.
type compareEval struct {
	mem     memory.Allocator
	op      plan.BinaryOp
	l, r    evaluator
	lit     *plan.Literal // the right operand when it is a constant string
	dictRes dictPredicate
}

func newCompareEval(mem memory.Allocator, x *plan.Binary, l, r evaluator) (evaluator, error) {
	c := &compareEval{mem: mem, op: x.Op, l: l, r: r}
	if lit, ok := x.Right.(*plan.Literal); ok && plan.IsString(x.Left.DataType()) {
		c.lit = lit
	}
	return c, nil
}

func (c *compareEval) children() []evaluator { return []evaluator{c.l, c.r} }

func (c *compareEval) eval(b arrow.RecordBatch) (arrow.Array, error) {
	l, err := c.l.eval(b)
	if err != nil {
		return nil, err
	}
	defer l.Release()
	n := l.Len()
	if d, ok := l.(*array.Dictionary); ok && c.lit != nil {
		if c.lit.Value == nil {
			return nullArray(c.mem, plan.Boolean, n)
		}
		want := c.lit.Value.(string)
		return c.dictRes.eval(c.mem, d, func(s string) bool { return compareOrdered(c.op, strings.Compare(s, want)) }), nil
	}
	r, err := c.r.eval(b)
	if err != nil {
		return nil, err
	}
	defer r.Release()
	if l.DataType().ID() == arrow.NULL || r.DataType().ID() == arrow.NULL {
		return nullArray(c.mem, plan.Boolean, n)
	}
	valid, nulls := andValidity(c.mem, n, l, r)
	vbuf, out := newBitmap(c.mem, n)
	switch t := l.DataType(); {
	case plan.IsString(t):
		ls, rs := stringsOf(l), stringsOf(r)
		for i := 0; i < n; i++ {
			if compareOrdered(c.op, strings.Compare(ls.at(i), rs.at(i))) {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	case t.ID() == arrow.INT64 || t.ID() == arrow.TIMESTAMP:
		compareFixed(c.op, values[int64](l), values[int64](r), out)
	case t.ID() == arrow.DATE32:
		compareFixed(c.op, values[int32](l), values[int32](r), out)
	case t.ID() == arrow.FLOAT64:
		compareFixed(c.op, values[float64](l), values[float64](r), out)
	case plan.IsDecimal(t):
		lv, rv := values[decimal128.Num](l), values[decimal128.Num](r)
		for i := range lv {
			if compareOrdered(c.op, lv[i].Cmp(rv[i])) {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	case t.ID() == arrow.BOOL:
		lb, rb := l.(*array.Boolean), r.(*array.Boolean)
		for i := 0; i < n; i++ {
			if compareOrdered(c.op, cmpBool(lb.Value(i), rb.Value(i))) {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	default:
		vbuf.Release()
		if valid != nil {
			valid.Release()
		}
		return nil, fmt.Errorf("cannot compare %s values", t)
	}
	return makeFixedArray(plan.Boolean, n, valid, vbuf, nulls), nil
}

func compareFixed[T int32 | int64 | float64](op plan.BinaryOp, l, r []T, out []byte) {
	switch op {
	case plan.Eq:
		for i := range l {
			if l[i] == r[i] {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	case plan.NotEq:
		for i := range l {
			if l[i] != r[i] {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	case plan.Lt:
		for i := range l {
			if l[i] < r[i] {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	case plan.LtEq:
		for i := range l {
			if l[i] <= r[i] {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	case plan.Gt:
		for i := range l {
			if l[i] > r[i] {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	case plan.GtEq:
		for i := range l {
			if l[i] >= r[i] {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	}
}

// compareOrdered applies a comparison operator to the sign of a three-way comparison.
func compareOrdered(op plan.BinaryOp, c int) bool {
	switch op {
	case plan.Eq:
		return c == 0
	case plan.NotEq:
		return c != 0
	case plan.Lt:
		return c < 0
	case plan.LtEq:
		return c <= 0
	case plan.Gt:
		return c > 0
	case plan.GtEq:
		return c >= 0
	}
	return false
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// stringView reads strings from a utf8 array or a dictionary of utf8 alike.
type stringView struct {
	plain   *array.String
	indices arrow.Array
	dict    *array.String
}

func stringsOf(a arrow.Array) stringView {
	if d, ok := a.(*array.Dictionary); ok {
		return stringView{indices: d.Indices(), dict: d.Dictionary().(*array.String)}
	}
	return stringView{plain: a.(*array.String)}
}

// at returns row i's string; it is "" for NULL rows, which callers check separately.
func (v stringView) at(i int) string {
	if v.plain != nil {
		return v.plain.Value(i)
	}
	return v.dict.Value(dictIndex(v.indices, i))
}

// dictIndex returns the dictionary index at row i of an integer index array.
func dictIndex(indices arrow.Array, i int) int {
	switch x := indices.(type) {
	case *array.Int8:
		return int(x.Value(i))
	case *array.Int16:
		return int(x.Value(i))
	case *array.Int32:
		return int(x.Value(i))
	case *array.Int64:
		return int(x.Value(i))
	case *array.Uint8:
		return int(x.Value(i))
	case *array.Uint16:
		return int(x.Value(i))
	case *array.Uint32:
		return int(x.Value(i))
	}
	panic(fmt.Sprintf("dictionary indices of type %s", indices.DataType()))
}

// dictPredicate evaluates a string predicate once per entry of a dictionary and remembers the
// answers for as long as batches keep the same dictionary.
type dictPredicate struct {
	dict    arrow.ArrayData
	answers []bool
	rows    []bool
}

func (p *dictPredicate) eval(mem memory.Allocator, d *array.Dictionary, pred func(string) bool) arrow.Array {
	dict := d.Dictionary()
	if p.dict != dict.Data() {
		strs := dict.(*array.String)
		p.answers = make([]bool, strs.Len())
		for i := range p.answers {
			p.answers[i] = strs.IsValid(i) && pred(strs.Value(i))
		}
		p.dict = dict.Data()
	}
	n := d.Len()
	valid, nulls := andValidity(mem, n, d)
	vbuf, out := newBitmap(mem, n)
	p.rows = growTo(p.rows[:0], n)
	dictLookup(d.Indices(), p.answers, p.rows)
	packBools(p.rows, out)
	return makeFixedArray(plan.Boolean, n, valid, vbuf, nulls)
}

// inEval tests membership in a constant list.
type inEval struct {
	mem     memory.Allocator
	x       evaluator
	not     bool
	hasNull bool
	strs    map[string]bool
	ints    map[int64]bool
	floats  map[float64]bool
	decs    map[decimal128.Num]bool
	bools   [2]bool
	dictRes dictPredicate
}

func newInEval(mem memory.Allocator, x *plan.In, in evaluator) (evaluator, error) {
	e := &inEval{mem: mem, x: in, not: x.Not}
	t := plan.ValueType(x.X.DataType())
	switch {
	case plan.IsString(t):
		e.strs = map[string]bool{}
	case plan.IsInteger(t), t.ID() == arrow.TIMESTAMP, t.ID() == arrow.DATE32:
		e.ints = map[int64]bool{}
	case plan.IsFloat(t):
		e.floats = map[float64]bool{}
	case plan.IsDecimal(t):
		e.decs = map[decimal128.Num]bool{}
	case plan.IsBoolean(t):
	default:
		return nil, fmt.Errorf("cannot test membership of %s values", t)
	}
	for _, l := range x.List {
		switch v := l.Value.(type) {
		case nil:
			e.hasNull = true
		case string:
			e.strs[v] = true
		case int64:
			e.ints[v] = true
		case int32:
			e.ints[int64(v)] = true
		case float64:
			e.floats[v] = true
		case decimal128.Num:
			e.decs[v] = true
		case bool:
			e.bools[b2i(v)] = true
		}
	}
	return e, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (e *inEval) children() []evaluator { return []evaluator{e.x} }

// eval follows SQL: x IN (list) is true when found, NULL when x is NULL or when not found and
// the list holds NULL, false otherwise; NOT IN negates the true/false answers.
func (e *inEval) eval(b arrow.RecordBatch) (arrow.Array, error) {
	in, err := e.x.eval(b)
	if err != nil {
		return nil, err
	}
	defer in.Release()
	n := in.Len()
	if d, ok := in.(*array.Dictionary); ok && !e.hasNull {
		return e.dictRes.eval(e.mem, d, func(s string) bool { return e.strs[s] != e.not }), nil
	}
	found := make([]bool, n)
	switch {
	case e.strs != nil:
		sv := stringsOf(in)
		for i := range found {
			found[i] = e.strs[sv.at(i)]
		}
	case e.ints != nil:
		tmp := make([]int64, n)
		intsOf(in, tmp)
		for i, v := range tmp {
			found[i] = e.ints[v]
		}
	case e.floats != nil:
		for i, v := range values[float64](in) {
			found[i] = e.floats[v]
		}
	case e.decs != nil:
		for i, v := range values[decimal128.Num](in) {
			found[i] = e.decs[v]
		}
	default:
		bs := in.(*array.Boolean)
		for i := range found {
			found[i] = e.bools[b2i(bs.Value(i))]
		}
	}
	vbuf, out := newBitmap(e.mem, n)
	validBuf, valid := newBitmap(e.mem, n)
	nulls := 0
	for i, f := range found {
		if in.IsNull(i) || (!f && e.hasNull) {
			nulls++
			continue
		}
		valid[i>>3] |= 1 << (i & 7)
		if f != e.not {
			out[i>>3] |= 1 << (i & 7)
		}
	}
	return makeFixedArray(plan.Boolean, n, validBuf, vbuf, nulls), nil
}

// containsEval tests, ignoring case, whether strings contain a constant substring.
type containsEval struct {
	mem     memory.Allocator
	x       evaluator
	lower   string
	not     bool
	dictRes dictPredicate
}

func newContainsEval(mem memory.Allocator, x *plan.Contains, in evaluator) evaluator {
	return &containsEval{mem: mem, x: in, lower: strings.ToLower(x.Substr), not: x.Not}
}

func (c *containsEval) children() []evaluator { return []evaluator{c.x} }

func (c *containsEval) match(s string) bool {
	return strings.Contains(strings.ToLower(s), c.lower) != c.not
}

func (c *containsEval) eval(b arrow.RecordBatch) (arrow.Array, error) {
	in, err := c.x.eval(b)
	if err != nil {
		return nil, err
	}
	defer in.Release()
	if d, ok := in.(*array.Dictionary); ok {
		return c.dictRes.eval(c.mem, d, c.match), nil
	}
	n := in.Len()
	valid, nulls := andValidity(c.mem, n, in)
	vbuf, out := newBitmap(c.mem, n)
	sv := stringsOf(in)
	for i := 0; i < n; i++ {
		if c.match(sv.at(i)) {
			out[i>>3] |= 1 << (i & 7)
		}
	}
	return makeFixedArray(plan.Boolean, n, valid, vbuf, nulls), nil
}
