package semantic

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/semantic/sqlexpr"
)

// exprError is a mistake in an expression that binds to no well-typed plan expression; off is the
// byte offset in the expression of the token to blame.
type exprError struct {
	off  int
	msg  string
	hint string
}

func (e *exprError) Error() string { return e.msg }

func exprErrorf(off int, format string, args ...any) *exprError {
	return &exprError{off: off, msg: fmt.Sprintf(format, args...)}
}

// bindExpr turns the syntax tree of a dimension's or measure's expression into a plan expression
// over the model's columns, checking types with the plan constructors. Errors are *exprError.
func bindExpr(m *DataModel, n sqlexpr.Node) (plan.Expr, error) {
	b := binder{model: m}
	return b.bind(n)
}

type binder struct {
	model *DataModel
	// related resolves the qualifier of a column of another model, which only row filters may
	// read; nil refuses every other model.
	related func(name string) (*DataModel, error)
}

func (b binder) bind(n sqlexpr.Node) (plan.Expr, error) {
	switch n := n.(type) {
	case *sqlexpr.Ident:
		return b.column(n)
	case *sqlexpr.Number:
		return numberLiteral(n, false)
	case *sqlexpr.String:
		return plan.NewLiteral(n.Value, plan.String)
	case *sqlexpr.Bool:
		return plan.NewLiteral(n.Value, plan.Boolean)
	case *sqlexpr.Null:
		return plan.Null(arrow.Null), nil
	case *sqlexpr.Unary:
		if num, ok := n.X.(*sqlexpr.Number); ok && n.Op == sqlexpr.Neg {
			return numberLiteral(num, true)
		}
		x, err := b.bind(n.X)
		if err != nil {
			return nil, err
		}
		var e plan.Expr
		if n.Op == sqlexpr.Neg {
			e, err = plan.NewNegate(x)
		} else {
			e, err = plan.NewNot(x)
		}
		if err != nil {
			return nil, exprErrorf(n.Offset, "%v", err)
		}
		return e, nil
	case *sqlexpr.Binary:
		if n.Op.IsComparison() {
			return b.comparison(n.Op, n.Left, n.Right, n.OpOffset)
		}
		left, err := b.bind(n.Left)
		if err != nil {
			return nil, err
		}
		right, err := b.bind(n.Right)
		if err != nil {
			return nil, err
		}
		e, err := plan.NewBinary(n.Op, left, right)
		if err != nil {
			return nil, exprErrorf(n.OpOffset, "%v", err)
		}
		return e, nil
	case *sqlexpr.IsNull:
		x, err := b.bind(n.X)
		if err != nil {
			return nil, err
		}
		return plan.NewIsNull(x, n.Not), nil
	case *sqlexpr.In:
		return b.in(n)
	case *sqlexpr.Between:
		return b.between(n)
	case *sqlexpr.Call:
		args := make([]plan.Expr, len(n.Args))
		for i, a := range n.Args {
			x, err := b.bind(a)
			if err != nil {
				return nil, err
			}
			args[i] = x
		}
		if err := oneType("arguments of coalesce", n.Args, args); err != nil {
			return nil, err
		}
		e, err := plan.NewCoalesce(args...)
		if err != nil {
			return nil, exprErrorf(n.Offset, "%v", err)
		}
		return e, nil
	case *sqlexpr.Case:
		whens := make([]plan.When, len(n.Whens))
		for i, w := range n.Whens {
			cond, err := b.bind(w.Cond)
			if err != nil {
				return nil, err
			}
			if !plan.IsBoolean(cond.DataType()) && cond.DataType().ID() != arrow.NULL {
				return nil, exprErrorf(w.Cond.Pos(), "the condition %s is %s, not a boolean", w.Cond, article(plan.TypeName(cond.DataType())))
			}
			then, err := b.bind(w.Then)
			if err != nil {
				return nil, err
			}
			whens[i] = plan.When{Cond: cond, Then: then}
		}
		var els plan.Expr
		if n.Else != nil {
			var err error
			if els, err = b.bind(n.Else); err != nil {
				return nil, err
			}
		}
		branches := make([]sqlexpr.Node, 0, len(whens)+1)
		results := make([]plan.Expr, 0, len(whens)+1)
		for i, w := range n.Whens {
			branches, results = append(branches, w.Then), append(results, whens[i].Then)
		}
		if els != nil {
			branches, results = append(branches, n.Else), append(results, els)
		}
		if err := oneType("branches of CASE", branches, results); err != nil {
			return nil, err
		}
		e, err := plan.NewCase(whens, els)
		if err != nil {
			return nil, exprErrorf(n.Offset, "%v", err)
		}
		return e, nil
	case *sqlexpr.Attribute:
		return nil, exprErrorf(n.Offset, "%s is a user attribute; only row filters of the access policy may use them", n)
	}
	return nil, exprErrorf(n.Pos(), "unsupported expression %s", n)
}

// oneType checks that the values of exprs (NULL aside) can take one type, as the results of CASE
// and the arguments of coalesce must, and blames the first that cannot.
func oneType(what string, nodes []sqlexpr.Node, exprs []plan.Expr) error {
	first := -1
	for i, e := range exprs {
		t := e.DataType()
		if t.ID() == arrow.NULL {
			continue
		}
		if first < 0 {
			first = i
			continue
		}
		ft := exprs[first].DataType()
		if !(plan.IsNumeric(ft) && plan.IsNumeric(t)) && !plan.SameType(plan.ValueType(ft), plan.ValueType(t)) {
			return exprErrorf(nodes[i].Pos(), "%s is %s, but %s is %s; the %s must have one type",
				nodes[i], article(plan.TypeName(t)), nodes[first], article(plan.TypeName(ft)), what)
		}
	}
	return nil
}

func (b binder) column(n *sqlexpr.Ident) (plan.Expr, error) {
	m := b.model
	if n.Qualifier != "" && n.Qualifier != m.Name && b.related != nil {
		other, err := b.related(n.Qualifier)
		if err != nil {
			return nil, &exprError{off: n.Offset, msg: err.Error()}
		}
		m = other
	} else if n.Qualifier != "" && n.Qualifier != m.Name {
		return nil, &exprError{off: n.Offset, msg: fmt.Sprintf("%s is qualified by %s, but an expression of model %s reads only its own columns", n, n.Qualifier, m.Name),
			hint: "define the expression on model " + n.Qualifier + ", or drop the qualifier"}
	}
	c, err := m.Column(n.Name)
	if err != nil {
		return nil, &exprError{off: n.NameOffset, msg: fmt.Sprintf("model %s has no column %s", m.Name, n.Name),
			hint: suggestion(n.Name, columnNames(m.Schema), "the columns of "+m.Name+" are")}
	}
	return c, nil
}

// numberLiteral reads a number as an int64 when it has no fraction, else as an exact decimal of
// the scale it is written with.
func numberLiteral(n *sqlexpr.Number, neg bool) (*plan.Literal, error) {
	text := n.Text
	off := n.Offset
	if neg {
		text = "-" + text
	}
	intPart, frac, isDecimal := strings.Cut(n.Text, ".")
	if !isDecimal {
		if v, err := strconv.ParseInt(text, 10, 64); err == nil {
			return plan.NewLiteral(v, plan.Int64)
		}
	}
	if len(intPart)+len(frac) > plan.MaxDecimalPrecision {
		return nil, exprErrorf(off, "number %s has more than %d digits", n.Text, plan.MaxDecimalPrecision)
	}
	lit, err := plan.ParseLiteral(text, plan.Decimal(plan.MaxDecimalPrecision, int32(len(frac))), time.UTC)
	if err != nil {
		return nil, exprErrorf(off, "%v", err)
	}
	return lit, nil
}

// readsConstants reports whether string constants compared with values of type t are read as t:
// '2024-03-01' against a time, '10' against a number.
func readsConstants(t arrow.DataType) bool {
	return plan.IsNumeric(t) || plan.IsTemporal(t) || plan.IsBoolean(t)
}

// comparison binds left op right; a string constant compared with a number, time or boolean is
// read as that type.
func (b binder) comparison(op plan.BinaryOp, ln, rn sqlexpr.Node, opOff int) (plan.Expr, error) {
	left, err := b.bind(ln)
	if err != nil {
		return nil, err
	}
	right, err := b.bind(rn)
	if err != nil {
		return nil, err
	}
	if s, ok := ln.(*sqlexpr.String); ok && readsConstants(right.DataType()) {
		if left, err = constantAs(s.Value, s.Offset, right.DataType()); err != nil {
			return nil, err
		}
	} else if s, ok := rn.(*sqlexpr.String); ok && readsConstants(left.DataType()) {
		if right, err = constantAs(s.Value, s.Offset, left.DataType()); err != nil {
			return nil, err
		}
	}
	e, err := plan.NewBinary(op, left, right)
	if err != nil {
		return nil, exprErrorf(opOff, "%v", err)
	}
	return e, nil
}

func constantAs(text string, off int, t arrow.DataType) (*plan.Literal, error) {
	lit, err := plan.ParseLiteral(text, t, time.UTC)
	if err != nil {
		return nil, exprErrorf(off, "%v", err)
	}
	return lit, nil
}

func (b binder) in(n *sqlexpr.In) (plan.Expr, error) {
	x, err := b.bind(n.X)
	if err != nil {
		return nil, err
	}
	xt := x.DataType()
	list := make([]*plan.Literal, len(n.List))
	for i, item := range n.List {
		var text string
		isString := false
		switch c := item.(type) {
		case *sqlexpr.Null:
			list[i] = plan.Null(xt)
			continue
		case *sqlexpr.String:
			text, isString = c.Value, true
		case *sqlexpr.Number:
			text = c.Text
		case *sqlexpr.Bool:
			text = strconv.FormatBool(c.Value)
		case *sqlexpr.Unary:
			num, ok := c.X.(*sqlexpr.Number)
			if !ok || c.Op != sqlexpr.Neg {
				return nil, exprErrorf(item.Pos(), "an IN list holds only constants, not %s", item)
			}
			text = "-" + num.Text
		default:
			return nil, exprErrorf(item.Pos(), "an IN list holds only constants, not %s", item)
		}
		if plan.IsString(xt) && !isString {
			return nil, exprErrorf(item.Pos(), "%s is not a string, but %s is; quote it as '%s'", item, n.X, text)
		}
		lit, err := constantAs(text, item.Pos(), xt)
		if err != nil {
			return nil, err
		}
		if plan.IsInteger(xt) || plan.IsDecimal(xt) {
			// IN compares without casts, so the constant takes the column's exact type; integers
			// are int64 and decimals are scaled alike whatever the width.
			if lit, err = plan.NewLiteral(lit.Value, xt); err != nil {
				return nil, exprErrorf(item.Pos(), "%v", err)
			}
		}
		list[i] = lit
	}
	e, err := plan.NewIn(x, list, n.Not)
	if err != nil {
		return nil, exprErrorf(n.Offset, "%v", err)
	}
	return e, nil
}

// between binds x BETWEEN low AND high as x >= low AND x <= high, and its negation as
// x < low OR x > high.
func (b binder) between(n *sqlexpr.Between) (plan.Expr, error) {
	lowOp, highOp, join := plan.GtEq, plan.LtEq, plan.And
	if n.Not {
		lowOp, highOp, join = plan.Lt, plan.Gt, plan.Or
	}
	low, err := b.comparison(lowOp, n.X, n.Low, n.Low.Pos())
	if err != nil {
		return nil, err
	}
	high, err := b.comparison(highOp, n.X, n.High, n.High.Pos())
	if err != nil {
		return nil, err
	}
	e, err := plan.NewBinary(join, low, high)
	if err != nil {
		return nil, exprErrorf(n.Offset, "%v", err)
	}
	return e, nil
}
