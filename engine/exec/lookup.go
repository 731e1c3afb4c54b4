package exec

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/koujing/koujing/engine/plan"
)

// Lookup extends each input row with values of the row whose keys equal its probe (see
// plan.Lookup). It reads its whole input into one batch — the aggregated rows it serves are few
// — indexes the keys in a join table, finds each row's match with the same table, and gathers
// the values of the matches.
type Lookup struct {
	materialized
	input  Operator
	keys   []plan.Expr
	probe  []plan.Expr
	values []plan.Named
	schema *arrow.Schema
}

var _ Operator = (*Lookup)(nil)

// NewLookup returns input extended with values; schema is the plan node's schema.
func NewLookup(env *Env, input Operator, keys, probe []plan.Expr, values []plan.Named, schema *arrow.Schema) *Lookup {
	return &Lookup{materialized: materialized{env: env}, input: input, keys: keys, probe: probe, values: values, schema: schema}
}

func (l *Lookup) Schema() *arrow.Schema { return l.schema }

func (l *Lookup) Open(ctx context.Context) error {
	all, err := collectOne(ctx, l.env, l.input)
	if err != nil {
		return err
	}
	defer all.Release()
	keys, err := evalAll(l.env, l.keys, all)
	defer releaseAll(keys)
	if err != nil {
		return fmt.Errorf("lookup key: %w", err)
	}
	table, err := newJoinTable(l.env, keys, true)
	if err != nil {
		return err
	}
	if !table.unique {
		return fmt.Errorf("lookup keys %v do not identify one row each", l.keys)
	}
	probe, err := evalAll(l.env, l.probe, all)
	defer releaseAll(probe)
	if err != nil {
		return fmt.Errorf("lookup probe: %w", err)
	}
	n := int(all.NumRows())
	match := make([]int32, n)
	var scratch []int64
	if n > 0 {
		if err := table.heads(probe, match, &scratch); err != nil {
			return err
		}
	}
	exprs := make([]plan.Expr, len(l.values))
	for i, v := range l.values {
		exprs[i] = v.Expr
	}
	vals, err := evalAll(l.env, exprs, all)
	defer releaseAll(vals)
	if err != nil {
		return fmt.Errorf("lookup value: %w", err)
	}
	cols := make([]arrow.Array, 0, l.schema.NumFields())
	defer func() { releaseAll(cols) }()
	for _, c := range all.Columns() {
		c.Retain()
		cols = append(cols, c)
	}
	for _, v := range vals {
		got, err := take(l.env.Mem, v, match)
		if err != nil {
			return err
		}
		cols = append(cols, got)
	}
	l.result = array.NewRecordBatch(l.schema, cols, int64(n))
	return nil
}

// evalAll evaluates each expression over b; the caller releases the results, also on error.
func evalAll(env *Env, exprs []plan.Expr, b arrow.RecordBatch) ([]arrow.Array, error) {
	out := make([]arrow.Array, len(exprs))
	for i, e := range exprs {
		ev, err := compileExpr(env, e, b.Schema())
		if err != nil {
			return out, fmt.Errorf("%s: %w", e, err)
		}
		out[i], err = ev.eval(b)
		closeEvaluator(ev)
		if err != nil {
			return out, fmt.Errorf("%s: %w", e, err)
		}
	}
	return out, nil
}
