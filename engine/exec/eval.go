package exec

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/plan"
)

// evaluator computes one expression over batches of one input schema, a column at a time.
type evaluator interface {
	// eval returns the expression's value for every row of b. The caller releases the result.
	eval(b arrow.RecordBatch) (arrow.Array, error)
}

// compileExpr returns an evaluator of e over batches with the given schema.
func compileExpr(env *Env, e plan.Expr, schema *arrow.Schema) (evaluator, error) {
	kids := make([]evaluator, 0, len(e.Children()))
	for _, c := range e.Children() {
		k, err := compileExpr(env, c, schema)
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	mem := env.Mem
	switch x := e.(type) {
	case *plan.Column:
		idx := schema.FieldIndices(x.Name)
		if len(idx) != 1 {
			return nil, fmt.Errorf("column %q is not in the input", x.Name)
		}
		return columnEval(idx[0]), nil
	case *plan.Literal:
		return &literalEval{mem: mem, lit: x}, nil
	case *plan.Cast:
		return newCastEval(mem, kids[0], x.X.DataType(), x.To)
	case *plan.Binary:
		switch {
		case x.Op == plan.And || x.Op == plan.Or:
			return &logicEval{mem: mem, and: x.Op == plan.And, l: kids[0], r: kids[1]}, nil
		case x.Op.IsArithmetic():
			return newArithEval(mem, x, kids[0], kids[1])
		}
		return newCompareEval(mem, x, kids[0], kids[1])
	case *plan.Not:
		return &notEval{mem: mem, x: kids[0]}, nil
	case *plan.Negate:
		return &negateEval{mem: mem, x: kids[0]}, nil
	case *plan.IsNull:
		return &isNullEval{mem: mem, x: kids[0], not: x.Not}, nil
	case *plan.In:
		return newInEval(mem, x, kids[0])
	case *plan.Contains:
		return newContainsEval(mem, x, kids[0]), nil
	case *plan.Mask:
		return newMaskEval(mem, x, kids[0]), nil
	case *plan.Coalesce:
		return &coalesceEval{mem: mem, args: kids, typ: x.DataType()}, nil
	case *plan.Case:
		return newCaseEval(mem, x, kids), nil
	case *plan.TimeTrunc:
		return newTimeTruncEval(mem, x, kids[0]), nil
	case *plan.TimeShift:
		return newTimeShiftEval(mem, x, kids[0]), nil
	}
	return nil, fmt.Errorf("cannot evaluate %T expressions", e)
}

type columnEval int

func (c columnEval) eval(b arrow.RecordBatch) (arrow.Array, error) {
	col := b.Column(int(c))
	col.Retain()
	return col, nil
}

// literalEval yields a constant. It builds the constant column once, as long as the longest batch
// seen, and hands out zero-copy slices of it, so kernels only ever combine arrays.
type literalEval struct {
	mem    memory.Allocator
	lit    *plan.Literal
	column arrow.Array
}

func (l *literalEval) eval(b arrow.RecordBatch) (arrow.Array, error) {
	n := int(b.NumRows())
	if l.column == nil || l.column.Len() < n {
		if l.column != nil {
			l.column.Release()
		}
		col, err := constantArray(l.mem, l.lit, max(n, 1024))
		if err != nil {
			return nil, err
		}
		l.column = col
	}
	return array.NewSlice(l.column, 0, int64(n)), nil
}

func (l *literalEval) close() {
	if l.column != nil {
		l.column.Release()
		l.column = nil
	}
}

// constantArray returns an array of n copies of lit.
func constantArray(mem memory.Allocator, lit *plan.Literal, n int) (arrow.Array, error) {
	if lit.Value == nil {
		return nullArray(mem, lit.Type, n)
	}
	bld := array.NewBuilder(mem, lit.Type)
	defer bld.Release()
	bld.Reserve(n)
	for i := 0; i < n; i++ {
		if err := appendValue(bld, lit.Value); err != nil {
			return nil, err
		}
	}
	return bld.NewArray(), nil
}

// nullArray returns n NULLs of type t.
func nullArray(mem memory.Allocator, t arrow.DataType, n int) (arrow.Array, error) {
	if t.ID() == arrow.NULL {
		return array.NewNull(n), nil
	}
	bld := array.NewBuilder(mem, t)
	defer bld.Release()
	bld.AppendNulls(n)
	return bld.NewArray(), nil
}

// closeEvaluator releases what an evaluator, and each of its operands, cached; evaluators
// without caches need no closing.
func closeEvaluator(e evaluator) {
	if c, ok := e.(interface{ close() }); ok {
		c.close()
	}
	if c, ok := e.(interface{ children() []evaluator }); ok {
		for _, k := range c.children() {
			closeEvaluator(k)
		}
	}
}
