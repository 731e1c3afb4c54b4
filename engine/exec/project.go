package exec

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/koujing/koujing/engine/plan"
)

// Project computes named expressions over every batch of its input.
type Project struct {
	env    *Env
	input  Operator
	exprs  []plan.Named
	evals  []evaluator
	schema *arrow.Schema
	out    arrow.RecordBatch
}

var _ Operator = (*Project)(nil)

// NewProject returns the expressions computed over input, as a batch of the given schema.
func NewProject(env *Env, input Operator, exprs []plan.Named, schema *arrow.Schema) (*Project, error) {
	p := &Project{env: env, input: input, exprs: exprs, schema: schema}
	for _, e := range exprs {
		ev, err := compileExpr(env, e.Expr, input.Schema())
		if err != nil {
			return nil, fmt.Errorf("project %s: %w", e.Name, err)
		}
		p.evals = append(p.evals, ev)
	}
	return p, nil
}

func (p *Project) Schema() *arrow.Schema { return p.schema }

func (p *Project) Open(ctx context.Context) error { return p.input.Open(ctx) }

func (p *Project) Next(ctx context.Context) (arrow.RecordBatch, error) {
	b, err := p.input.Next(ctx)
	if err != nil || b == nil {
		keep(&p.out, nil)
		return nil, err
	}
	cols := make([]arrow.Array, len(p.evals))
	defer releaseAll(cols)
	for i, ev := range p.evals {
		if cols[i], err = ev.eval(b); err != nil {
			return nil, fmt.Errorf("%s: %w", p.exprs[i].Name, err)
		}
	}
	keep(&p.out, array.NewRecordBatch(p.schema, cols, b.NumRows()))
	return p.out, nil
}

func (p *Project) Close() error {
	keep(&p.out, nil)
	for _, ev := range p.evals {
		closeEvaluator(ev)
	}
	return p.input.Close()
}
