package exec

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/koujing/koujing/engine/plan"
)

// Filter passes on the rows of its input for which a predicate is true. A batch whose rows all
// pass goes through untouched; otherwise the passing rows are gathered into a new batch.
type Filter struct {
	env   *Env
	input Operator
	pred  plan.Expr
	eval  evaluator
	idx   []int32
	out   arrow.RecordBatch
}

var _ Operator = (*Filter)(nil)

// NewFilter returns input filtered by pred, a boolean expression over input's schema.
func NewFilter(env *Env, input Operator, pred plan.Expr) (*Filter, error) {
	ev, err := compileExpr(env, pred, input.Schema())
	if err != nil {
		return nil, fmt.Errorf("filter %s: %w", pred, err)
	}
	return &Filter{env: env, input: input, pred: pred, eval: ev}, nil
}

func (f *Filter) Schema() *arrow.Schema { return f.input.Schema() }

func (f *Filter) Open(ctx context.Context) error { return f.input.Open(ctx) }

func (f *Filter) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for {
		b, err := f.input.Next(ctx)
		if err != nil || b == nil {
			keep(&f.out, nil)
			return nil, err
		}
		mask, err := f.eval.eval(b)
		if err != nil {
			return nil, fmt.Errorf("filter %s: %w", f.pred, err)
		}
		vals, valid, release := boolOperand(f.env.Mem, mask)
		n := int(b.NumRows())
		f.idx = f.idx[:0]
		for i := 0; i < n; i++ {
			if selected(vals, valid, i) {
				f.idx = append(f.idx, int32(i))
			}
		}
		release()
		mask.Release()
		switch len(f.idx) {
		case 0:
			continue
		case n:
			b.Retain()
			keep(&f.out, b)
		default:
			out, err := takeRecord(f.env.Mem, b.Schema(), b, f.idx)
			if err != nil {
				return nil, err
			}
			keep(&f.out, out)
		}
		return f.out, nil
	}
}

func (f *Filter) Close() error {
	keep(&f.out, nil)
	closeEvaluator(f.eval)
	return f.input.Close()
}
