package semantic

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/koujing/koujing/engine/plan"
)

// filterPredicate checks a filter's operator and values against dimension d and returns a
// function that builds the predicate over the dimension's value. Values become typed constants
// (read in loc when they are times); they never become SQL text.
//
// The negative operators (not_equals, not_in, not_contains) keep rows whose value is NULL, as a
// user who asks for "everything but paid" expects to see orders with no status too.
func filterPredicate(d *Dimension, op FilterOp, values []string, loc *time.Location) (func(plan.Expr) (plan.Expr, error), error) {
	t := d.Expr.DataType()
	want := func(n int, what string) error {
		if len(values) != n {
			return fmt.Errorf("operator %s takes %s, got %d", op, what, len(values))
		}
		return nil
	}
	exact := func() ([]*plan.Literal, error) {
		if len(values) == 0 {
			return nil, fmt.Errorf("operator %s needs at least one value", op)
		}
		out := make([]*plan.Literal, len(values))
		for i, v := range values {
			l, err := plan.ParseLiteral(v, t, loc)
			if err != nil {
				return nil, fmt.Errorf("value %d: %v (%s is %s)", i+1, err, d.QualifiedName(), plan.TypeName(t))
			}
			out[i] = l
		}
		return out, nil
	}
	orNull := func(x plan.Expr, p plan.Expr) (plan.Expr, error) {
		return plan.NewBinary(plan.Or, p, plan.NewIsNull(x, false))
	}
	switch op {
	case Equals, InList, NotEquals, NotInList:
		lits, err := exact()
		if err != nil {
			return nil, err
		}
		negate := op == NotEquals || op == NotInList
		return func(x plan.Expr) (plan.Expr, error) {
			var p plan.Expr
			var err error
			if len(lits) == 1 {
				cmp := plan.Eq
				if negate {
					cmp = plan.NotEq
				}
				p, err = plan.NewBinary(cmp, x, lits[0])
			} else {
				p, err = plan.NewIn(x, lits, negate)
			}
			if err != nil || !negate {
				return p, err
			}
			return orNull(x, p)
		}, nil
	case Gt, Gte, Lt, Lte:
		if err := want(1, "exactly one value"); err != nil {
			return nil, err
		}
		lit, err := orderedLiteral(values[0], t, loc)
		if err != nil {
			return nil, fmt.Errorf("%v (%s is %s)", err, d.QualifiedName(), plan.TypeName(t))
		}
		cmp := map[FilterOp]plan.BinaryOp{Gt: plan.Gt, Gte: plan.GtEq, Lt: plan.Lt, Lte: plan.LtEq}[op]
		return func(x plan.Expr) (plan.Expr, error) { return plan.NewBinary(cmp, x, lit) }, nil
	case Between:
		if err := want(2, "two values, the low and the high end (both included)"); err != nil {
			return nil, err
		}
		lo, err := orderedLiteral(values[0], t, loc)
		if err != nil {
			return nil, fmt.Errorf("%v (%s is %s)", err, d.QualifiedName(), plan.TypeName(t))
		}
		hi, err := orderedLiteral(values[1], t, loc)
		if err != nil {
			return nil, fmt.Errorf("%v (%s is %s)", err, d.QualifiedName(), plan.TypeName(t))
		}
		return func(x plan.Expr) (plan.Expr, error) {
			a, err := plan.NewBinary(plan.GtEq, x, lo)
			if err != nil {
				return nil, err
			}
			b, err := plan.NewBinary(plan.LtEq, x, hi)
			if err != nil {
				return nil, err
			}
			return plan.NewBinary(plan.And, a, b)
		}, nil
	case IsNullOp, IsNotNullOp:
		if err := want(0, "no values"); err != nil {
			return nil, err
		}
		return func(x plan.Expr) (plan.Expr, error) { return plan.NewIsNull(x, op == IsNotNullOp), nil }, nil
	case ContainsOp, NotContains:
		if !plan.IsString(t) {
			return nil, fmt.Errorf("operator %s needs a string dimension; %s is %s", op, d.QualifiedName(), plan.TypeName(t))
		}
		if len(values) == 0 {
			return nil, fmt.Errorf("operator %s needs at least one value", op)
		}
		not := op == NotContains
		return func(x plan.Expr) (plan.Expr, error) {
			var conds []plan.Expr
			for _, v := range values {
				c, err := plan.NewContains(x, v, not)
				if err != nil {
					return nil, err
				}
				conds = append(conds, c)
			}
			combine := plan.Or
			if not {
				combine = plan.And
			}
			p := conds[0]
			for _, c := range conds[1:] {
				var err error
				if p, err = plan.NewBinary(combine, p, c); err != nil {
					return nil, err
				}
			}
			if not {
				return orNull(x, p)
			}
			return p, nil
		}, nil
	}
	names := make([]string, len(FilterOps))
	for i, o := range FilterOps {
		names[i] = string(o)
	}
	return nil, fmt.Errorf("unknown operator %q; use one of %s", op, strings.Join(names, ", "))
}

// orderedLiteral reads a bound for a range comparison. For numbers it keeps the value as
// written — an integer, or a decimal of its own scale — and lets the comparison promote both
// sides, so "amount > 12.345" compares exactly.
func orderedLiteral(v string, t arrow.DataType, loc *time.Location) (*plan.Literal, error) {
	if !plan.IsNumeric(t) {
		return plan.ParseLiteral(v, t, loc)
	}
	s := strings.TrimSpace(v)
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return plan.ParseLiteral(s, plan.Int64, loc)
	}
	if _, frac, ok := strings.Cut(s, "."); ok && !strings.ContainsAny(s, "eE") && len(frac) <= 18 {
		if l, err := plan.ParseLiteral(s, plan.Decimal(plan.MaxDecimalPrecision, int32(len(frac))), loc); err == nil {
			return l, nil
		}
	}
	return plan.ParseLiteral(s, plan.Float64, loc)
}
