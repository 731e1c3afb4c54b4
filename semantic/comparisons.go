package semantic

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/koujing/koujing/engine/plan"
)

// comparison is a Comparison resolved: which metrics, which columns, and how a period of the
// time dimension's granularity finds its predecessor — the period holding its start moved by n
// periods of unit, in the query's zone and calendar.
type comparison struct {
	period  plan.TimeUnit
	unit    plan.TimeUnit
	n       int64
	kinds   []ComparisonKind
	metrics []*Metric
}

// comparisonPeriods lists the periods a comparison may look back by, for messages.
func comparisonPeriods() string {
	names := make([]string, 0, 8)
	for _, u := range plan.TimeUnits() {
		names = append(names, u.String())
	}
	return strings.Join(names, ", ")
}

// resolveComparisons checks the query's comparisons and adds their output columns, after the
// metrics: for each comparison, each compared metric, each kind.
func (cc *compiler) resolveComparisons() error {
	seen := map[plan.TimeUnit]bool{}
	for _, c := range cc.q.Compare {
		period, err := plan.ParseTimeUnit(c.Period)
		if err != nil {
			return invalid("unknown comparison period %q; use one of %s", c.Period, comparisonPeriods())
		}
		td := cc.timeGroup()
		if td == nil {
			return invalid("a comparison with the %s before needs a time dimension whose periods it compares: set timeDimension, such as orders.created_at by month", period)
		}
		if seen[period] {
			return invalid("the comparison with the %s before is asked for twice; ask once, with every kind and metric", period)
		}
		seen[period] = true
		unit, n, ok := compareShift(*td.unit, period, cc.cal)
		if !ok {
			return invalid("cannot compare each %s with the %s before: a %s does not fit a %s; group the time dimension by %s",
				td.unit, period, td.unit, period, strings.Join(comparableGranularities(period, cc.cal), ", "))
		}
		cmp := &comparison{period: period, unit: unit, n: n}
		for _, k := range c.Kinds {
			k = ComparisonKind(strings.ToLower(string(k)))
			if !slices.Contains(ComparisonKinds, k) {
				return invalid("unknown comparison kind %q; use previous, difference or growth", k)
			}
			if slices.Contains(cmp.kinds, k) {
				return invalid("comparison kind %s is listed twice", k)
			}
			cmp.kinds = append(cmp.kinds, k)
		}
		if len(cmp.kinds) == 0 {
			cmp.kinds = ComparisonKinds
		}
		// Kinds come in their usual order, whatever order they were asked in.
		slices.SortFunc(cmp.kinds, func(a, b ComparisonKind) int {
			return slices.Index(ComparisonKinds, a) - slices.Index(ComparisonKinds, b)
		})
		for _, name := range c.Metrics {
			base, _ := splitVersion(name)
			i := slices.IndexFunc(cc.metrics, func(m *Metric) bool { return m.Name == base })
			if i < 0 {
				return invalid("the comparison with the %s before names metric %s, which the query does not ask for; add it to metrics", period, name)
			}
			if slices.Contains(cmp.metrics, cc.metrics[i]) {
				return invalid("the comparison with the %s before names metric %s twice", period, base)
			}
			cmp.metrics = append(cmp.metrics, cc.metrics[i])
		}
		if len(cmp.metrics) == 0 {
			cmp.metrics = cc.metrics
		} else {
			// Columns follow the query's order of metrics.
			slices.SortFunc(cmp.metrics, func(a, b *Metric) int { return slices.Index(cc.metrics, a) - slices.Index(cc.metrics, b) })
		}
		cc.comparisons = append(cc.comparisons, cmp)
		for _, m := range cmp.metrics {
			for _, k := range cmp.kinds {
				cc.columns = append(cc.columns, OutputColumn{Name: comparedName(m, k, period), Kind: ComparisonColumn, Metric: m,
					Comparison: &ComparedValue{Period: period, Kind: k}})
			}
		}
	}
	return nil
}

// comparedName names a comparison column: "gmv_paid.growth_year".
func comparedName(m *Metric, k ComparisonKind, period plan.TimeUnit) string {
	return m.Name + "." + string(k) + "_" + period.String()
}

// timeGroup returns the grouping by the time dimension, or nil.
func (cc *compiler) timeGroup() *groupDim {
	for i := range cc.dims {
		if cc.dims[i].unit != nil {
			return &cc.dims[i]
		}
	}
	return nil
}

// compareShift says how a period of granularity g finds the one a period before it: the period
// holding its start moved by n periods of unit. A day moves by the period asked (a year back
// from 2024-02-29 is 2023-02-28); a week moves by whole weeks (13 for a quarter, 52 for a year)
// so that it stays a week; months, quarters and years move by months; fiscal periods of a retail
// calendar keep their place in the fiscal year. It reports false where a g period does not fit
// the period: a week in a month, a calendar month in a retail year.
func compareShift(g, period plan.TimeUnit, cal *plan.Calendar) (plan.TimeUnit, int64, bool) {
	retail := cal != nil && cal.Retail != nil
	switch {
	case g == plan.Day:
		return period, -1, true
	case g == plan.Week && retail && period.IsFiscal():
		return period, -1, true
	case g == plan.Week:
		switch {
		case period == plan.Week:
			return plan.Week, -1, true
		case period == plan.Quarter || period == plan.FiscalQuarter && !retail:
			return plan.Week, -13, true
		case period == plan.Year || period == plan.FiscalYear && !retail:
			return plan.Week, -52, true
		}
		return 0, 0, false
	case retail && (g.IsFiscal() || period.IsFiscal()):
		// Retail periods fit only in retail periods, finer or equal.
		if g.IsFiscal() && period.IsFiscal() && g <= period {
			return period, -1, true
		}
		return 0, 0, false
	}
	// Months, quarters and years, of the calendar or of a fiscal year from some month: a period
	// fits when the months it moves are a whole number of g's.
	gm, pm := g.Months(), period.Months()
	if gm == 0 || pm == 0 || pm%gm != 0 {
		return 0, 0, false
	}
	return period, -1, true
}

// comparableGranularities lists the granularities a comparison over period fits.
func comparableGranularities(period plan.TimeUnit, cal *plan.Calendar) []string {
	var out []string
	for _, g := range plan.TimeUnits() {
		if _, _, ok := compareShift(g, period, cal); ok {
			out = append(out, g.String())
		}
	}
	return out
}

// compared builds the metrics with the comparisons' columns. Each period's previous value is
// read from another row of the same aggregated result (a Lookup), so the data is scanned and
// aggregated once, over the query's time range widened to the periods before it. A time range
// that does not start and end on period boundaries cannot be widened so — the first and last
// periods are partial, and so must their predecessors be — and is computed twice instead, once
// as asked and once moved back, and the two joined.
func (cc *compiler) compared() (plan.Node, error) {
	if len(cc.comparisons) == 0 {
		return cc.core(nil)
	}
	td := cc.timeGroup()
	tr := cc.timeRange
	if tr != nil && tr.dim != td.dim {
		// A range on another time dimension is a filter like any other; it does not move.
		tr = nil
	}
	running := slices.ContainsFunc(cc.leaves, func(l *leaf) bool { return l.window != nil && l.window.Kind == plan.RunningWindow })
	if tr != nil && (!cc.alignedRange(tr, td) || running && tr.from != nil) {
		// A running total restarts where its range starts: the periods before the range need
		// their own.
		return cc.comparedApart(tr, td)
	}
	var ranges []timeBounds // nil: the query's time range, as it is
	if tr != nil {
		r := timeBounds{tr.from, tr.to}
		ranges = append(ranges, r)
		for _, c := range cc.comparisons {
			ranges = append(ranges, cc.previousBounds(r, td, c.unit, c.n))
		}
		ranges = mergeBounds(ranges)
	}
	node, err := cc.core(ranges)
	if err != nil {
		return nil, err
	}
	for i, c := range cc.comparisons {
		var values []plan.Named
		for _, m := range c.metrics {
			v, err := plan.ColumnOf(node.Schema(), m.Name)
			if err != nil {
				return nil, err
			}
			values = append(values, plan.Named{Name: previousName(i, m), Expr: v})
		}
		if node, err = cc.lookBack(node, c, values); err != nil {
			return nil, err
		}
	}
	if tr != nil {
		// Keep the periods of the range asked for; the ones before it served as predecessors.
		if node, err = cc.keepPeriods(node, []timeBounds{{tr.from, tr.to}}); err != nil {
			return nil, err
		}
	}
	return cc.comparisonProject(node, tr == nil)
}

// comparedApart computes the metrics over the time range and, for each comparison, again over
// the range moved back by its period, and left-joins each period to its predecessor.
func (cc *compiler) comparedApart(tr *timeRange, td *groupDim) (plan.Node, error) {
	node, err := cc.core(nil)
	if err != nil {
		return nil, err
	}
	for i, c := range cc.comparisons {
		moved := timeBounds{}
		for _, end := range []struct {
			in  *plan.Literal
			out **plan.Literal
		}{{tr.from, &moved.from}, {tr.to, &moved.to}} {
			if end.in == nil {
				continue
			}
			t, ok := cc.cal.Shift(cc.timeOf(end.in), c.unit, int(c.n))
			if !ok {
				return nil, invalid("%s cannot be moved a %s back in this calendar; give a time range from and to the starts of %s periods", tr.text, c.period, td.unit)
			}
			if *end.out, err = cc.periodLiteral(t, end.in.Type); err != nil {
				return nil, err
			}
		}
		prev, err := cc.core([]timeBounds{moved})
		if err != nil {
			return nil, err
		}
		prefix := fmt.Sprintf("#p%d:", i)
		renamed := make([]plan.Named, 0, prev.Schema().NumFields())
		for _, f := range prev.Schema().Fields() {
			name := prefix + f.Name
			if k := slices.IndexFunc(cc.metrics, func(m *Metric) bool { return m.Name == f.Name }); k >= 0 {
				name = previousName(i, cc.metrics[k])
			}
			renamed = append(renamed, plan.Named{Name: name, Expr: plan.NewColumn(f.Name, f.Type)})
		}
		right, err := plan.NewProject(prev, renamed)
		if err != nil {
			return nil, err
		}
		lk, rk, err := cc.dimensionKeys(node, right, prefix)
		if err != nil {
			return nil, err
		}
		for k, d := range cc.dims {
			if d.unit != nil {
				if lk[k], err = cc.previousPeriod(lk[k], c); err != nil {
					return nil, err
				}
			}
		}
		j, err := plan.NewJoin(plan.LeftJoin, node, right, lk, rk, true)
		if err != nil {
			return nil, err
		}
		keep := make([]plan.Named, 0, j.Schema().NumFields())
		for _, f := range j.Schema().Fields() {
			if !strings.HasPrefix(f.Name, prefix) {
				keep = append(keep, plan.Named{Name: f.Name, Expr: plan.NewColumn(f.Name, f.Type)})
			}
		}
		if node, err = plan.NewProject(j, keep); err != nil {
			return nil, err
		}
	}
	return cc.comparisonProject(node, false)
}

// previousName names the column holding a metric's value in the period before, for comparison i.
func previousName(i int, m *Metric) string { return fmt.Sprintf("#c%d:%s", i, m.Name) }

// lookBack extends each row with values of the row with the same other dimensions whose period
// is the one before its own, as c looks back.
func (cc *compiler) lookBack(node plan.Node, c *comparison, values []plan.Named) (plan.Node, error) {
	var keys, probe []plan.Expr
	for _, d := range cc.dims {
		k, err := plan.ColumnOf(node.Schema(), d.name)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
		if d.unit == nil {
			probe = append(probe, k)
		} else if p, err := cc.previousPeriod(k, c); err != nil {
			return nil, err
		} else {
			probe = append(probe, p)
		}
	}
	return plan.NewLookup(node, keys, probe, values)
}

// previousPeriod is the period before t's, as c looks back: t's start moved, truncated again.
func (cc *compiler) previousPeriod(t plan.Expr, c *comparison) (plan.Expr, error) {
	td := cc.timeGroup()
	moved, err := plan.NewTimeShift(t, c.unit, c.n, cc.loc, cc.cal)
	if err != nil {
		return nil, err
	}
	return plan.NewCalendarTrunc(moved, *td.unit, cc.loc, cc.cal)
}

// comparisonProject yields the output columns: the grouping columns and metrics, then each
// comparison's values. A row whose period is NULL (rows with no time) has no period before it,
// whatever the NULL group's lookup found.
func (cc *compiler) comparisonProject(in plan.Node, nullPeriods bool) (plan.Node, error) {
	s := in.Schema()
	var exprs []plan.Named
	for _, d := range cc.dims {
		c, err := plan.ColumnOf(s, d.name)
		if err != nil {
			return nil, err
		}
		exprs = append(exprs, plan.Named{Name: d.name, Expr: c})
	}
	for _, m := range cc.metrics {
		c, err := plan.ColumnOf(s, m.Name)
		if err != nil {
			return nil, err
		}
		exprs = append(exprs, plan.Named{Name: m.Name, Expr: c})
	}
	t, err := plan.ColumnOf(s, cc.timeGroup().name)
	if err != nil {
		return nil, err
	}
	for i, c := range cc.comparisons {
		for _, m := range c.metrics {
			cur, err := plan.ColumnOf(s, m.Name)
			if err != nil {
				return nil, err
			}
			var prev plan.Expr
			if prev, err = plan.ColumnOf(s, previousName(i, m)); err != nil {
				return nil, err
			}
			if nullPeriods {
				if prev, err = plan.NewCase([]plan.When{{Cond: plan.NewIsNull(t, true), Then: prev}}, nil); err != nil {
					return nil, err
				}
			}
			for _, k := range c.kinds {
				var e plan.Expr
				switch k {
				case PreviousValue:
					e = prev
				case Difference:
					e, err = plan.NewBinary(plan.Sub, cur, prev)
				case Growth:
					var diff plan.Expr
					if diff, err = plan.NewBinary(plan.Sub, cur, prev); err == nil {
						e, err = plan.NewBinary(plan.Div, diff, prev)
					}
				}
				if err != nil {
					return nil, fmt.Errorf("%s of %s: %w", k, m.Name, err)
				}
				exprs = append(exprs, plan.Named{Name: comparedName(m, k, c.period), Expr: e})
			}
		}
	}
	return plan.NewProject(in, exprs)
}

// alignedRange reports whether the time range starts and ends where periods of the time
// dimension's granularity do (an open end does).
func (cc *compiler) alignedRange(tr *timeRange, td *groupDim) bool {
	for _, l := range []*plan.Literal{tr.from, tr.to} {
		if l != nil {
			t := cc.timeOf(l)
			if !cc.truncate(t, td).Equal(t) {
				return false
			}
		}
	}
	return true
}

// previousBounds are the values of the time dimension that the predecessors of the periods of
// an aligned range hold, n periods of unit back: from the first one's predecessor to the end of
// the last one's.
func (cc *compiler) previousBounds(r timeBounds, td *groupDim, unit plan.TimeUnit, n int64) timeBounds {
	var out timeBounds
	typ := cc.timeRange.dim.Expr.DataType()
	// A retail calendar gives some periods no predecessor (the 53rd week); look a few periods
	// further in for one that has.
	const tries = 3
	if r.from != nil {
		p := cc.truncate(cc.timeOf(r.from), td)
		for range tries {
			if prev, ok := cc.previousStart(p, td, unit, n); ok {
				out.from, _ = cc.periodLiteral(prev, typ)
				break
			}
			_, p = cc.cal.Truncate(p, *td.unit)
		}
	}
	if r.to != nil {
		end := cc.timeOf(r.to)
		for range tries {
			p := cc.truncate(end.Add(-time.Microsecond), td)
			if prev, ok := cc.previousStart(p, td, unit, n); ok {
				_, next := cc.cal.Truncate(prev, *td.unit)
				out.to, _ = cc.periodLiteral(next, typ)
				break
			}
			end = p
		}
	}
	if out.from == nil && r.from != nil || out.to == nil && r.to != nil {
		// No predecessors found: the range reads what it reads.
		return r
	}
	return out
}

// previousStart is the start of the period n units of unit before the one starting p, as the
// plan computes it.
func (cc *compiler) previousStart(p time.Time, td *groupDim, unit plan.TimeUnit, n int64) (time.Time, bool) {
	moved, ok := cc.cal.Shift(p, unit, int(n))
	if !ok {
		return time.Time{}, false
	}
	return cc.truncate(moved, td), true
}

// truncate is the start of t's period of the time dimension's granularity.
func (cc *compiler) truncate(t time.Time, td *groupDim) time.Time {
	start, _ := cc.cal.Truncate(t, *td.unit)
	return start
}

// timeOf reads a time literal: an instant in the query's zone, or a date at midnight UTC (dates
// have no zone).
func (cc *compiler) timeOf(l *plan.Literal) time.Time {
	switch v := l.Value.(type) {
	case int32:
		return time.Unix(int64(v)*86400, 0).UTC()
	case int64:
		return time.UnixMicro(v).In(cc.loc)
	}
	return time.Time{}
}

// periodLiteral is the time t as a constant of type typ: a timestamp or a date.
func (cc *compiler) periodLiteral(t time.Time, typ arrow.DataType) (*plan.Literal, error) {
	if typ.ID() == arrow.DATE32 {
		return plan.NewLiteral(int32(t.Unix()/86400), typ)
	}
	return plan.NewLiteral(t.UnixMicro(), typ)
}

// mergeBounds merges ranges that overlap or touch, so a scan reads each row once and a range
// and its predecessors' usually become one. Bounds come sorted, from the earliest.
func mergeBounds(ranges []timeBounds) []timeBounds {
	less := func(a, b *plan.Literal) bool { return compareLiterals(a, b) < 0 } // both non-nil
	slices.SortFunc(ranges, func(a, b timeBounds) int {
		switch {
		case a.from == nil && b.from == nil:
			return 0
		case a.from == nil:
			return -1
		case b.from == nil:
			return 1
		}
		return compareLiterals(a.from, b.from)
	})
	var out []timeBounds
	for _, r := range ranges {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if last.to == nil || r.from == nil || !less(last.to, r.from) {
				if last.to != nil && (r.to == nil || less(last.to, r.to)) {
					last.to = r.to
				}
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

// timeSpine fills the holes of the combined result: every period of the time dimension between
// the ends of the range the plan reads (or, where a range has no end, the result's own first or
// last period), for every combination of the other dimensions.
func (cc *compiler) timeSpine(in plan.Node) (plan.Node, error) {
	td := cc.timeGroup()
	var keys []string
	for _, d := range cc.dims {
		if d.unit == nil {
			keys = append(keys, d.name)
		}
	}
	from, to, err := cc.periodBounds(cc.ranges, td)
	if err != nil {
		return nil, err
	}
	if from != nil && to != nil {
		if err := cc.checkSpineLength(cc.timeOf(from), cc.timeOf(to), td); err != nil {
			return nil, err
		}
	}
	return plan.NewDensify(in, td.name, keys, *td.unit, cc.loc, cc.cal, from, to)
}

// checkSpineLength refuses a time spine with more periods than a result may have rows.
func (cc *compiler) checkSpineLength(from, to time.Time, td *groupDim) error {
	limit := cc.maxLimit()
	n := int64(0)
	cc.cal.Periods(from, to.Add(-time.Microsecond), *td.unit, func(time.Time) bool {
		n++
		return n <= limit
	})
	if n > limit {
		return invalid("filling every %s from %s to %s would make more than %d rows; narrow the time range or group by a coarser granularity",
			td.unit, from.Format(time.DateOnly), to.Format(time.DateOnly), limit)
	}
	return nil
}
