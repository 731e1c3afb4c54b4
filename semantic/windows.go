package semantic

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/koujing/koujing/engine/plan"
)

// offsetUse is an offset metric as a query uses it, within a scope: a lookup of its base's value
// in the period n units before, into the column name.
type offsetUse struct {
	metric *Metric
	scope  scope
	name   string
	key    string
	unit   plan.TimeUnit
	n      int64
}

// addOffset records that offset metric m is used within scope sc.
func (cc *compiler) addOffset(m *Metric, sc scope) {
	key := m.Name + "|" + sc.key()
	for _, o := range cc.offsets {
		if o.key == key {
			return
		}
	}
	cc.offsets = append(cc.offsets, &offsetUse{metric: m, scope: sc, name: fmt.Sprintf("#o%d:%s", len(cc.offsets), m.Name), key: key})
}

// offsetOf returns the lookup of offset metric m within scope sc.
func (cc *compiler) offsetOf(m *Metric, sc scope) *offsetUse {
	key := m.Name + "|" + sc.key()
	for _, o := range cc.offsets {
		if o.key == key {
			return o
		}
	}
	return nil
}

// Shortest and longest lengths of periods, in days, to tell a window shorter than a period.
var (
	minDays = map[plan.TimeUnit]int64{plan.Day: 1, plan.Week: 7, plan.Month: 28, plan.Quarter: 90, plan.Year: 365,
		plan.FiscalMonth: 28, plan.FiscalQuarter: 90, plan.FiscalYear: 364}
	maxDays = map[plan.TimeUnit]int64{plan.Day: 1, plan.Week: 7, plan.Month: 31, plan.Quarter: 92, plan.Year: 366,
		plan.FiscalMonth: 42, plan.FiscalQuarter: 98, plan.FiscalYear: 371}
)

// resolveTimeSpans checks the windows and offsets of the query's metrics against its time
// dimension and range, and says how each offset looks back.
func (cc *compiler) resolveTimeSpans() error {
	td := cc.timeGroup()
	retail := cc.cal != nil && cc.cal.Retail != nil
	for _, l := range cc.leaves {
		w := l.window
		if w == nil {
			continue
		}
		name := cc.metricNameOf(l)
		if l.measure.SemiAdditive != nil {
			return invalid("%s aggregates %s over %s, a balance taken at one time of each period; windows over balances are not supported, ask for it by the time dimension instead",
				name, l.measure.QualifiedName(), windowText(w))
		}
		if td == nil {
			tr := cc.timeRange
			switch {
			case w.Kind == plan.RunningWindow:
			case tr == nil:
				return invalid("%s aggregates %s ending with each period: group by a time dimension, or give a time range (the window then ends where it ends)", name, windowText(w))
			case tr.to == nil:
				return invalid("%s aggregates %s ending where the time range ends: give the range an end", name, windowText(w))
			}
			continue
		}
		g := *td.unit
		switch w.Kind {
		case plan.RollingWindow:
			if retail && g.IsFiscal() {
				return invalid("%s aggregates the last %s of each period, which a retail calendar's %s does not count in; group by day, week or a calendar period", name, w.Text, g)
			}
			if w.N*maxDays[w.Unit] < minDays[g] {
				return invalid("%s aggregates the last %s of each period, shorter than a %s: group by a shorter period, such as day", name, w.Text, g)
			}
		case plan.ToDateWindow:
			if maxDays[w.Unit] < minDays[g] || w.Unit.IsFiscal() != g.IsFiscal() && g != plan.Day && g != plan.Week {
				return invalid("%s aggregates %s, which a %s does not fit in: group by day, or a period within a %s", name, w.Text, g, w.Unit)
			}
		}
	}
	running := slices.ContainsFunc(cc.leaves, func(l *leaf) bool { return l.window != nil && l.window.Kind == plan.RunningWindow })
	if tr := cc.timeRange; running && len(cc.offsets) > 0 && tr != nil && tr.from != nil && td != nil && tr.dim == td.dim {
		return invalid("a running total restarts where the time range starts, so it cannot also be read a period back in the same query; use a window to date, or leave the range open")
	}
	for _, o := range cc.offsets {
		m := o.metric
		if td == nil {
			return invalid("%s is %s %s before: group by a time dimension, whose periods it looks back from", m.Name, m.Base.Name, m.Offset.Text)
		}
		unit, n, ok := compareShift(*td.unit, m.Offset.Unit, cc.cal)
		if !ok {
			return invalid("%s looks %s back, which a %s does not fit: group the time dimension by %s", m.Name, m.Offset.Text, td.unit,
				strings.Join(comparableGranularities(m.Offset.Unit, cc.cal), ", "))
		}
		o.unit, o.n = unit, n*m.Offset.N
	}
	return nil
}

// windowText describes a window for messages: "the last 7 days", "month to date".
func windowText(w *TimeWindow) string {
	if w.Kind == plan.RollingWindow {
		return "the last " + w.Text
	}
	return w.Text
}

// metricNameOf names the requested metric a leaf serves first, for messages.
func (cc *compiler) metricNameOf(l *leaf) string {
	for _, m := range cc.metrics {
		if cc.usesLeaf(m, l) {
			return "metric " + m.Name
		}
	}
	return "metric " + l.name
}

// windowPlan aggregates a windowed leaf: for each period of the time dimension (grouped by the
// other dimensions), over the rows whose time lies in the period's window. The rows are first
// reduced — summed per small period (a granule) where the aggregate adds up, or to the distinct
// values a distinct count needs — and each reduced row is then assigned to every period whose
// window holds it, and aggregated again. Without a time dimension the time range is the one
// period, and the window ends where it ends.
func (cc *compiler) windowPlan(l *leaf) (plan.Node, error) {
	w := l.window
	td := cc.timeGroup()
	g := &measureGroup{model: l.measure.Model, leaves: []*leaf{l}}
	saved := cc.ranges
	defer func() { cc.ranges = saved }()
	if td == nil {
		if tr := cc.timeRange; tr != nil && w.Kind != plan.RunningWindow {
			end := cc.timeOf(tr.to)
			start, _ := cc.cal.Truncate(end.Add(-time.Microsecond), w.Unit)
			if w.Kind == plan.RollingWindow {
				start, _ = cc.cal.Shift(end, w.Unit, -int(w.N))
			}
			from, err := cc.periodLiteral(start, tr.to.Type)
			if err != nil {
				return nil, err
			}
			cc.ranges = []timeBounds{{from, tr.to}}
		}
		return cc.groupPlan(g)
	}
	unit := *td.unit
	granule := windowGranule(unit, w, cc.cal)
	dims := slices.Clone(cc.dims)
	for i := range dims {
		if dims[i].unit != nil {
			dims[i].unit = &granule
		}
	}
	from, to, err := cc.periodBounds(saved, td)
	if err != nil {
		return nil, err
	}
	cc.ranges = cc.windowInputRanges(saved, td, w)
	// reduce turns the rows into what is assigned to windows: its aggregate of the assigned
	// rows makes the leaf's value.
	var reduce func(node plan.Node, groupBy []plan.Named) (plan.Node, error)
	var final func(in plan.Node) (plan.AggExpr, error)
	x := l.measure.Expr
	switch agg := l.measure.Agg; {
	case agg == plan.CountDistinct && w.Kind == plan.RollingWindow:
		// The distinct values of each granule; the window counts them once each.
		reduce = func(node plan.Node, groupBy []plan.Named) (plan.Node, error) {
			return plan.NewAggregate(node, append(groupBy, plan.Named{Name: "#k", Expr: x}), nil)
		}
		final = func(in plan.Node) (plan.AggExpr, error) {
			return plan.NewAggExpr(l.name, plan.CountDistinct, plan.NewColumn("#k", x.DataType()), nil)
		}
	case agg == plan.CountDistinct:
		// Each value at its first granule — of the window's grain, to date — which the window
		// from there on holds once: counting those counts the distinct values.
		reduce = func(node plan.Node, groupBy []plan.Named) (plan.Node, error) {
			var group []plan.Named
			var first plan.AggExpr
			for _, gb := range groupBy {
				if gb.Name != td.name {
					group = append(group, gb)
					continue
				}
				var err error
				if first, err = plan.NewAggExpr(td.name, plan.Min, gb.Expr, nil); err != nil {
					return nil, err
				}
				if w.Kind == plan.ToDateWindow {
					grain, err := plan.NewCalendarTrunc(gb.Expr, w.Unit, cc.loc, cc.cal)
					if err != nil {
						return nil, err
					}
					group = append(group, plan.Named{Name: "#grain", Expr: grain})
				}
			}
			return plan.NewAggregate(node, append(group, plan.Named{Name: "#k", Expr: x}), []plan.AggExpr{first})
		}
		final = func(in plan.Node) (plan.AggExpr, error) {
			return plan.NewAggExpr(l.name, plan.Count, plan.NewColumn("#k", x.DataType()), nil)
		}
	case agg == plan.Sum || agg == plan.Count || agg == plan.Min || agg == plan.Max:
		// Partial aggregates per granule, combined: sums and counts add up, minimums and
		// maximums are minimums and maximums of theirs.
		reduce = func(node plan.Node, groupBy []plan.Named) (plan.Node, error) {
			a, err := plan.NewAggExpr(l.name, agg, x, nil)
			if err != nil {
				return nil, err
			}
			return plan.NewAggregate(node, groupBy, []plan.AggExpr{a})
		}
		final = func(in plan.Node) (plan.AggExpr, error) {
			again := map[plan.AggFunc]plan.AggFunc{plan.Sum: plan.Sum, plan.Count: plan.Sum, plan.Min: plan.Min, plan.Max: plan.Max}[agg]
			c, err := plan.ColumnOf(in.Schema(), l.name)
			if err != nil {
				return plan.AggExpr{}, err
			}
			return plan.NewAggExpr(l.name, again, c, nil)
		}
	default:
		// Anything else — an average, a percentile — aggregates the rows themselves.
		reduce = func(node plan.Node, groupBy []plan.Named) (plan.Node, error) {
			items := append(slices.Clone(groupBy), plan.Named{Name: "#x", Expr: x})
			return plan.NewProject(node, items)
		}
		final = func(in plan.Node) (plan.AggExpr, error) {
			return measureAgg(l.name, l.measure, plan.NewColumn("#x", x.DataType()), nil)
		}
	}
	reduced, err := cc.groupRows(g, dims, false, func(node plan.Node, groupBy []plan.Named, leafFilters []plan.Expr) (plan.Node, error) {
		// One leaf: its filter is the rows' filter, already applied.
		return reduce(node, groupBy)
	})
	if err != nil {
		return nil, err
	}
	windows, err := plan.NewTimeWindows(reduced, td.name, "#period", unit, w.Kind, w.N, w.Unit, cc.loc, cc.cal, from, to)
	if err != nil {
		return nil, err
	}
	group := make([]plan.Named, len(cc.dims))
	for i, d := range cc.dims {
		name := d.name
		if d.unit != nil {
			name = "#period"
		}
		c, err := plan.ColumnOf(windows.Schema(), name)
		if err != nil {
			return nil, err
		}
		group[i] = plan.Named{Name: d.name, Expr: c}
	}
	a, err := final(windows)
	if err != nil {
		return nil, err
	}
	return plan.NewAggregate(windows, group, []plan.AggExpr{a})
}

// windowGranule is the period rows are reduced to before their windows are taken: the
// granularity itself where every window starts on one of its periods, a day otherwise.
func windowGranule(g plan.TimeUnit, w *TimeWindow, cal *plan.Calendar) plan.TimeUnit {
	months := map[plan.TimeUnit]int{plan.Month: 1, plan.Quarter: 3, plan.Year: 12}
	switch w.Kind {
	case plan.RunningWindow:
		return g
	case plan.RollingWindow:
		if g == w.Unit || months[g] > 0 && months[w.Unit]%months[g] == 0 && months[w.Unit] > 0 {
			return g
		}
	case plan.ToDateWindow:
		retail := cal != nil && cal.Retail != nil
		switch {
		case g == w.Unit:
			return g
		case g.IsFiscal() && w.Unit.IsFiscal() && g < w.Unit:
			return g
		case g == plan.Week && retail && w.Unit.IsFiscal():
			return g
		case months[g] > 0 && months[w.Unit] > 0 && months[w.Unit]%months[g] == 0:
			return g
		}
	}
	return plan.Day
}

// windowInputRanges widens each range back to where the window of its first period starts, so
// that the first periods' windows are whole. A running window starts where its range starts.
func (cc *compiler) windowInputRanges(ranges []timeBounds, td *groupDim, w *TimeWindow) []timeBounds {
	out := make([]timeBounds, 0, len(ranges))
	for _, r := range ranges {
		if r.from != nil && w.Kind != plan.RunningWindow {
			first := cc.truncate(cc.timeOf(r.from), td)
			_, end := cc.cal.Truncate(first, *td.unit)
			start := first
			switch w.Kind {
			case plan.RollingWindow:
				start, _ = cc.cal.Shift(end, w.Unit, -int(w.N))
			case plan.ToDateWindow:
				start, _ = cc.cal.Truncate(first, w.Unit)
			}
			if start.Before(cc.timeOf(r.from)) {
				if from, err := cc.periodLiteral(start, r.from.Type); err == nil {
					r.from = from
				}
			}
		}
		out = append(out, r)
	}
	return mergeBounds(out)
}

// periodBounds are the first period's start and the end of the last period of ranges, typed as
// the time column is; nil where a range is open, or without ranges.
func (cc *compiler) periodBounds(ranges []timeBounds, td *groupDim) (from, to *plan.Literal, err error) {
	if tr := cc.timeRange; tr == nil || tr.dim != td.dim || len(ranges) == 0 {
		return nil, nil, nil
	}
	typ, err := cc.timeColumnType(td)
	if err != nil {
		return nil, nil, err
	}
	first, last := ranges[0].from, ranges[0].to
	for _, r := range ranges[1:] {
		if first != nil && (r.from == nil || compareLiterals(r.from, first) < 0) {
			first = r.from
		}
		if last != nil && (r.to == nil || compareLiterals(r.to, last) > 0) {
			last = r.to
		}
	}
	if first != nil {
		if from, err = cc.periodLiteral(cc.truncate(cc.timeOf(first), td), typ); err != nil {
			return nil, nil, err
		}
	}
	if last != nil {
		end := cc.timeOf(last)
		if !cc.truncate(end, td).Equal(end) {
			_, end = cc.cal.Truncate(end, *td.unit)
		}
		if to, err = cc.periodLiteral(end, typ); err != nil {
			return nil, nil, err
		}
	}
	return from, to, nil
}

// timeColumnType is the type of the time dimension's column: a timestamp in the query's zone,
// or a date.
func (cc *compiler) timeColumnType(td *groupDim) (arrow.DataType, error) {
	e, err := cc.truncated(*td, td.dim.Expr)
	if err != nil {
		return nil, err
	}
	return e.DataType(), nil
}

// offsetLookups fetches each offset metric's base value from its earlier period, among the
// combined rows, into a column of its own.
func (cc *compiler) offsetLookups(node plan.Node) (plan.Node, error) {
	for _, o := range cc.offsets {
		v, err := cc.valueExpr(o.metric.Base, o.scope.derived(o.metric), node.Schema())
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", o.metric.Name, err)
		}
		if node, err = cc.lookBack(node, &comparison{unit: o.unit, n: o.n}, []plan.Named{{Name: o.name, Expr: v}}); err != nil {
			return nil, err
		}
	}
	return node, nil
}

// offsetRanges widens ranges by the periods the offsets look back to, so that the earlier
// periods' values are computed too. Without a time range on the time dimension every period is
// read already.
func (cc *compiler) offsetRanges(ranges []timeBounds) []timeBounds {
	td := cc.timeGroup()
	if tr := cc.timeRange; tr == nil || td == nil || tr.dim != td.dim || len(cc.offsets) == 0 {
		return ranges
	}
	out := slices.Clone(ranges)
	for _, o := range cc.offsets {
		for _, r := range ranges {
			out = append(out, cc.previousBounds(r, td, o.unit, o.n))
		}
	}
	return mergeBounds(out)
}

// keepPeriods keeps the rows whose period lies in one of the ranges (all of them without a time
// range on the time dimension).
func (cc *compiler) keepPeriods(node plan.Node, ranges []timeBounds) (plan.Node, error) {
	td := cc.timeGroup()
	if tr := cc.timeRange; tr == nil || td == nil || tr.dim != td.dim || len(ranges) == 0 {
		return node, nil
	}
	t, err := plan.ColumnOf(node.Schema(), td.name)
	if err != nil {
		return nil, err
	}
	var any plan.Expr
	for _, r := range ranges {
		from, to, err := cc.periodBounds([]timeBounds{r}, td)
		if err != nil {
			return nil, err
		}
		c, err := timeBounds{from, to}.holds(t)
		if err != nil {
			return nil, err
		}
		if c == nil {
			return node, nil
		}
		if any == nil {
			any = c
		} else if any, err = plan.NewBinary(plan.Or, any, c); err != nil {
			return nil, err
		}
	}
	return plan.NewFilter(node, any)
}

// balancePlan aggregates a semi-additive leaf: per group of the dimensions, over the rows at
// the group's last (or first) value of the measure's time dimension. The leaf is aggregated per
// group and value of that time; the last value of each group is found among those rows and the
// rows are joined to it, so each group keeps the aggregate at its last time.
func (cc *compiler) balancePlan(l *leaf) (plan.Node, error) {
	sa := l.measure.SemiAdditive
	g := &measureGroup{model: l.measure.Model, leaves: []*leaf{l}}
	dims := append(slices.Clone(cc.dims), groupDim{dim: sa.Over, name: "#at"})
	perTime := func() (plan.Node, error) {
		return cc.groupRows(g, dims, false, func(node plan.Node, groupBy []plan.Named, leafFilters []plan.Expr) (plan.Node, error) {
			// One leaf: its filter is the rows' filter, already applied.
			return cc.aggregateLeaves(node, groupBy, g.leaves, leafFilters)
		})
	}
	values, err := perTime()
	if err != nil {
		return nil, err
	}
	times, err := perTime()
	if err != nil {
		return nil, err
	}
	var group []plan.Named
	for _, d := range cc.dims {
		c, err := plan.ColumnOf(times.Schema(), d.name)
		if err != nil {
			return nil, err
		}
		group = append(group, plan.Named{Name: "#b:" + d.name, Expr: c})
	}
	at, err := plan.ColumnOf(times.Schema(), "#at")
	if err != nil {
		return nil, err
	}
	pick := plan.Max
	if sa.First {
		pick = plan.Min
	}
	last, err := plan.NewAggExpr("#b:#at", pick, at, nil)
	if err != nil {
		return nil, err
	}
	ends, err := plan.NewAggregate(times, group, []plan.AggExpr{last})
	if err != nil {
		return nil, err
	}
	lk, rk, err := cc.dimensionKeys(values, ends, "#b:")
	if err != nil {
		return nil, err
	}
	lat, err := plan.ColumnOf(values.Schema(), "#at")
	if err != nil {
		return nil, err
	}
	rat, err := plan.ColumnOf(ends.Schema(), "#b:#at")
	if err != nil {
		return nil, err
	}
	j, err := plan.NewJoin(plan.InnerJoin, values, ends, append(lk, lat), append(rk, rat), true)
	if err != nil {
		return nil, err
	}
	keep := make([]plan.Named, 0, len(cc.dims)+1)
	for _, name := range append(dimNames(cc.dims), l.name) {
		c, err := plan.ColumnOf(j.Schema(), name)
		if err != nil {
			return nil, err
		}
		keep = append(keep, plan.Named{Name: name, Expr: c})
	}
	return plan.NewProject(j, keep)
}

// dimNames lists the names of grouping columns.
func dimNames(dims []groupDim) []string {
	out := make([]string, len(dims))
	for i, d := range dims {
		out[i] = d.name
	}
	return out
}
