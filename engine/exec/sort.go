package exec

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/koujing/koujing/engine/plan"
)

// Sort orders its whole input by keys. It reads every batch, sorts a permutation of row numbers
// with a comparator per key (typed, NULLs first or last as asked, ties broken by the next key and
// finally by arrival order), and gathers the rows in that order. Given a limit it keeps only the
// first rows it needs.
type Sort struct {
	materialized
	input Operator
	keys  []plan.SortKey
	limit int64
}

var _ Operator = (*Sort)(nil)

// NewSort returns input ordered by keys; when limit >= 0 only the first limit rows are kept.
func NewSort(env *Env, input Operator, keys []plan.SortKey, limit int64) *Sort {
	return &Sort{materialized: materialized{env: env}, input: input, keys: keys, limit: limit}
}

func (s *Sort) Schema() *arrow.Schema { return s.input.Schema() }

func (s *Sort) Open(ctx context.Context) error {
	all, err := collectOne(ctx, s.env, s.input)
	if err != nil {
		return err
	}
	defer all.Release()
	n := int(all.NumRows())
	cmps := make([]func(a, b int32) int, len(s.keys))
	keyCols := make([]arrow.Array, len(s.keys))
	defer releaseAll(keyCols)
	for i, k := range s.keys {
		ev, err := compileExpr(s.env, k.Expr, all.Schema())
		if err != nil {
			return fmt.Errorf("sort key %s: %w", k.Expr, err)
		}
		keyCols[i], err = ev.eval(all)
		closeEvaluator(ev)
		if err != nil {
			return fmt.Errorf("sort key %s: %w", k.Expr, err)
		}
		if cmps[i], err = comparator(keyCols[i], k); err != nil {
			return err
		}
	}
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortStableFunc(perm, func(a, b int32) int {
		for _, c := range cmps {
			if r := c(a, b); r != 0 {
				return r
			}
		}
		return 0
	})
	if s.limit >= 0 && int64(len(perm)) > s.limit {
		perm = perm[:s.limit]
	}
	s.result, err = takeRecord(s.env.Mem, all.Schema(), all, perm)
	return err
}

// comparator returns a three-way comparison of two rows of a by one sort key.
func comparator(a arrow.Array, k plan.SortKey) (func(x, y int32) int, error) {
	var compare func(x, y int32) int
	switch t := a.DataType(); {
	case plan.IsString(t):
		sv := stringsOf(a)
		compare = func(x, y int32) int { return strings.Compare(sv.at(int(x)), sv.at(int(y))) }
	case t.ID() == arrow.INT64 || t.ID() == arrow.TIMESTAMP:
		v := values[int64](a)
		compare = func(x, y int32) int { return cmp.Compare(v[x], v[y]) }
	case t.ID() == arrow.INT32 || t.ID() == arrow.DATE32:
		v := values[int32](a)
		compare = func(x, y int32) int { return cmp.Compare(int64(v[x]), int64(v[y])) }
	case t.ID() == arrow.INT16:
		v := values[int16](a)
		compare = func(x, y int32) int { return cmp.Compare(int64(v[x]), int64(v[y])) }
	case t.ID() == arrow.INT8:
		v := values[int8](a)
		compare = func(x, y int32) int { return cmp.Compare(int64(v[x]), int64(v[y])) }
	case t.ID() == arrow.FLOAT64:
		v := values[float64](a)
		compare = func(x, y int32) int { return cmp.Compare(v[x], v[y]) }
	case t.ID() == arrow.FLOAT32:
		v := values[float32](a)
		compare = func(x, y int32) int { return cmp.Compare(float64(v[x]), float64(v[y])) }
	case plan.IsDecimal(t):
		v := values[decimal128.Num](a)
		compare = func(x, y int32) int { return v[x].Cmp(v[y]) }
	case plan.IsBoolean(t):
		b := a.(*array.Boolean)
		compare = func(x, y int32) int { return cmpBool(b.Value(int(x)), b.Value(int(y))) }
	default:
		return nil, fmt.Errorf("cannot sort by %s values", t)
	}
	nullOrder := 1 // NULLs after values
	if k.NullsFirst {
		nullOrder = -1
	}
	desc := k.Desc
	return func(x, y int32) int {
		xn, yn := a.IsNull(int(x)), a.IsNull(int(y))
		switch {
		case xn && yn:
			return 0
		case xn:
			return nullOrder
		case yn:
			return -nullOrder
		}
		if desc {
			return -compare(x, y)
		}
		return compare(x, y)
	}, nil
}
