package semantic

import (
	"fmt"
	"strings"

	"github.com/koujing/koujing/engine/plan"
)

// Expression states the metric's definition in one line, as every surface shows it: an atomic
// metric's aggregate and model ("sum(amount) over orders"), a derived metric's base and filters
// ("gmv_placed where orders.status in ('paid', 'shipped')"), a composite metric's formula.
func (m *Metric) Expression() string {
	switch m.Kind {
	case Atomic:
		return m.Measure.AggregateText() + " over " + m.Measure.Model.Name
	case Derived:
		text := m.Base.Name
		if len(m.Filters) > 0 {
			conds := make([]string, len(m.Filters))
			for i, f := range m.Filters {
				conds[i] = f.Condition()
			}
			text += " where " + strings.Join(conds, " and ")
		}
		switch w := m.Window; {
		case w != nil && w.Kind == plan.RollingWindow:
			text += " over the last " + w.Text
		case w != nil && w.Kind == plan.ToDateWindow:
			text += ", " + w.Text
		case w != nil:
			text += ", running from the start of the time range"
		case m.Offset != nil:
			text += ", " + m.Offset.Text + " before"
		}
		return text
	}
	return m.SQL
}

// AggregateText writes the measure as SQL: sum(amount), count(*), count(distinct customer_id),
// percentile_cont(0.9) of amount; a balance says at which time it is taken.
func (x *Measure) AggregateText() string {
	var text string
	switch {
	case x.SQL == "":
		text = x.Agg.String() + "(*)"
	case x.Agg == plan.CountDistinct:
		text = "count(distinct " + x.SQL + ")"
	case x.Agg == plan.Percentile:
		text = fmt.Sprintf("percentile_cont(%g) of %s", x.Fraction, x.SQL)
	default:
		text = x.Agg.String() + "(" + x.SQL + ")"
	}
	if sa := x.SemiAdditive; sa != nil && sa.Over != nil {
		at := "last"
		if sa.First {
			at = "first"
		}
		text += " at the " + at + " " + sa.Over.Name
	}
	return text
}

// Condition writes the filter as SQL-like text: orders.status in ('paid', 'shipped').
func (f *Filter) Condition() string {
	vals := make([]string, len(f.Values))
	for i, v := range f.Values {
		vals[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	list := "(" + strings.Join(vals, ", ") + ")"
	first := func() string {
		if len(vals) == 0 {
			return "''"
		}
		return vals[0]
	}
	d := f.Dimension
	switch f.Op {
	case Equals:
		if len(vals) > 1 {
			return d + " in " + list
		}
		return d + " = " + first()
	case NotEquals:
		if len(vals) > 1 {
			return d + " not in " + list
		}
		return d + " <> " + first()
	case InList:
		return d + " in " + list
	case NotInList:
		return d + " not in " + list
	case Gt:
		return d + " > " + first()
	case Gte:
		return d + " >= " + first()
	case Lt:
		return d + " < " + first()
	case Lte:
		return d + " <= " + first()
	case Between:
		if len(vals) == 2 {
			return d + " between " + vals[0] + " and " + vals[1]
		}
	case IsNullOp:
		return d + " is null"
	case IsNotNullOp:
		return d + " is not null"
	case ContainsOp:
		return d + " contains " + first()
	case NotContains:
		return d + " does not contain " + first()
	}
	return fmt.Sprintf("%s %s %s", d, f.Op, list)
}
