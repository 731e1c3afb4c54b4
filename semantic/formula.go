package semantic

import (
	"fmt"

	"github.com/koujing/koujing/engine/plan"
)

// Formula is a composite metric's arithmetic over other metrics and numbers. It is applied to
// the aggregated values, never row by row: a ratio divides totals.
type Formula struct {
	// Metric is set on a leaf that names a metric.
	Metric *Metric
	// Number is set (as written) on a leaf that is a numeric constant.
	Number string
	// Op, Left and Right are set on an arithmetic node; Op is one of plan.Add, Sub, Mul, Div.
	Op          plan.BinaryOp
	Left, Right *Formula
	// Negate is set on a unary minus node, whose operand is Left.
	Negate bool
}

func (f *Formula) String() string {
	switch {
	case f.Metric != nil:
		return f.Metric.Name
	case f.Number != "":
		return f.Number
	case f.Negate:
		return "-" + f.Left.String()
	}
	return fmt.Sprintf("(%s %s %s)", f.Left, f.Op, f.Right)
}

func (f *Formula) walkMetrics(fn func(*Metric)) {
	switch {
	case f == nil:
	case f.Metric != nil:
		fn(f.Metric)
	default:
		f.Left.walkMetrics(fn)
		f.Right.walkMetrics(fn)
	}
}
