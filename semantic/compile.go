package semantic

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/koujing/koujing/engine/plan"
)

// CompileOptions are the server's settings that a query compiles under.
type CompileOptions struct {
	// Location is the time zone of queries that name none; nil means UTC.
	Location *time.Location
	// MaxLimit is the largest limit a query may ask for; zero means 1,000,000.
	MaxLimit int64
	// Calendar names the calendar of queries that name none (see CalendarHelp); empty means
	// the ISO calendar.
	Calendar string
}

// ColumnKind says what an output column holds.
type ColumnKind string

// The kinds of output columns.
const (
	DimensionColumn  ColumnKind = "dimension"
	TimeColumn       ColumnKind = "time"
	MetricColumn     ColumnKind = "metric"
	ComparisonColumn ColumnKind = "comparison"
)

// OutputColumn describes one column of a query's result.
type OutputColumn struct {
	Name string
	Kind ColumnKind
	// Dimension is set for dimension and time columns; Granularity for time columns.
	Dimension   *Dimension
	Granularity *plan.TimeUnit
	// Metric is set for metric columns, and for comparison columns to the metric compared.
	Metric *Metric
	// Comparison is set for comparison columns: which period and which value.
	Comparison *ComparedValue
	Type       arrow.DataType
}

// ComparedValue says what a comparison column holds: a metric's previous value, difference or
// growth against the period Period before.
type ComparedValue struct {
	Period plan.TimeUnit
	Kind   ComparisonKind
}

// CompiledQuery is a metric query compiled against a catalog: the logical plan that computes it
// and what its output columns are.
type CompiledQuery struct {
	Plan     plan.Node
	Columns  []OutputColumn
	Location *time.Location
	// Versions names the metrics the query uses, asked for and built on, with their versions;
	// Warnings say what the caller should know, such as a metric being deprecated.
	Versions []MetricVersion
	Warnings []string
}

// Compile turns a metric query into a logical plan.
//
// Each metric is broken down into the measures it aggregates (a derived metric is its base's
// measure with its filters; a composite metric is arithmetic over others). Measures of the same
// model are aggregated together, at that model's grain: dimensions of related models are joined
// in along many-to-one paths, and a dimension reached through a one-to-many path is first reduced
// to distinct (key, value) pairs, so that no row of the measure's model is counted twice. The
// per-model results are then joined on the dimensions, and composite metrics are computed from
// the aggregated values — a ratio divides totals, never rows.
//
// The query is compiled as acc's principal may ask it: names it may not see are unknown, names
// it may see but not query are forbidden, dimensions it sees masked are grouped and filtered by
// their masked values, and every scan of a model keeps only the rows its row filters allow —
// also the scans of models joined in, and inside SQL pushed down to a warehouse.
func (c *Catalog) Compile(q MetricQuery, opts CompileOptions, acc *Access) (*CompiledQuery, error) {
	if acc == nil || acc.cat != c {
		return nil, fmt.Errorf("compile: the access given is not to this catalog")
	}
	cc := &compiler{cat: c, acc: acc, q: q, opts: opts, leafByKey: map[string]*leaf{}, rowFilters: map[*DataModel]plan.Expr{},
		scanning: map[*DataModel]bool{}}
	if err := cc.resolve(); err != nil {
		return nil, err
	}
	root, err := cc.build()
	if err != nil {
		return nil, err
	}
	if root, err = plan.Optimize(root, plan.DefaultRules); err != nil {
		return nil, err
	}
	out := &CompiledQuery{Plan: root, Columns: cc.columns, Location: cc.loc}
	out.Versions, out.Warnings = usedVersions(cc.metrics)
	for i := range out.Columns {
		out.Columns[i].Type = root.Schema().Field(i).Type
	}
	return out, nil
}

type compiler struct {
	cat  *Catalog
	acc  *Access
	q    MetricQuery
	opts CompileOptions
	loc  *time.Location

	metrics []*Metric
	dims    []groupDim
	filters []rowFilter
	columns []OutputColumn

	// cal is the calendar periods are truncated and shifted in; nil is the ISO calendar.
	cal *plan.Calendar
	// timeRange is the query's time range, nil without one; ranges are the bounds of the time
	// dimension's values the plan being built reads, which comparisons widen (see core).
	timeRange *timeRange
	ranges    []timeBounds
	// comparisons are the query's period-over-period comparisons, resolved; offsets are the
	// offset metrics the query uses, each a lookup of an earlier period's value.
	comparisons []*comparison
	offsets     []*offsetUse
	// spine is set when every period of the range must appear (see TimeGrouping.FillGaps).
	spine bool

	leaves    []*leaf
	leafByKey map[string]*leaf
	// rowFilters holds each scanned model's row filter for the caller, once bound (nil: none).
	rowFilters map[*DataModel]plan.Expr
	// scanning holds the models whose scans are being built, to refuse row filters in a cycle.
	scanning map[*DataModel]bool
}

// groupDim is one grouping column: a dimension, truncated when unit is set.
type groupDim struct {
	dim  *Dimension
	unit *plan.TimeUnit
	name string
}

// rowFilter is a condition on one dimension that every metric's rows must meet.
type rowFilter struct {
	dim  *Dimension
	pred func(value plan.Expr) (plan.Expr, error)
	text string
}

// leaf is one aggregate: a measure over the rows its filters keep, in each period's window of
// time when window is set.
type leaf struct {
	name    string
	measure *Measure
	filters []*Filter
	window  *TimeWindow
}

// measureGroup is every leaf aggregated over one model.
type measureGroup struct {
	model  *DataModel
	leaves []*leaf
}

func (cc *compiler) resolve() error {
	q := cc.q
	cc.loc = cc.opts.Location
	if cc.loc == nil {
		cc.loc = time.UTC
	}
	if q.Timezone != "" {
		loc, err := time.LoadLocation(q.Timezone)
		if err != nil || q.Timezone == "Local" {
			return invalid("unknown time zone %q; use an IANA name such as Asia/Shanghai or UTC", q.Timezone)
		}
		cc.loc = loc
	}
	calendar := q.Calendar
	if calendar == "" {
		calendar = cc.opts.Calendar
	}
	cal, err := ParseCalendar(calendar)
	if err != nil {
		return invalid("%v", err)
	}
	if !cal.IsISO() {
		cc.cal = cal
	}
	if len(q.Metrics) == 0 {
		return invalid("the query names no metric; ask for at least one")
	}
	maxLimit := cc.maxLimit()
	switch {
	case q.Limit != nil && *q.Limit < 0:
		return invalid("limit %d is negative; use a limit of 0 or more", *q.Limit)
	case q.Limit != nil && *q.Limit > maxLimit:
		return invalid("limit %d is more than the maximum of %d; page through the result with offset", *q.Limit, maxLimit)
	case q.Offset < 0:
		return invalid("offset %d is negative", q.Offset)
	}
	seen := map[string]bool{}
	for _, d := range q.Dimensions {
		dim, err := cc.dimension(d)
		if err != nil {
			return err
		}
		if seen[d] {
			return invalid("dimension %s is listed twice", d)
		}
		seen[d] = true
		cc.dims = append(cc.dims, groupDim{dim: dim, name: d})
		cc.columns = append(cc.columns, OutputColumn{Name: d, Kind: DimensionColumn, Dimension: dim})
	}
	if td := q.TimeDimension; td != nil {
		dim, err := cc.dimension(td.Dimension)
		if err != nil {
			return err
		}
		if dim.Type != DimensionTime {
			return invalid("%s is a %s dimension, not a time dimension; group by it under dimensions instead", td.Dimension, dim.Type)
		}
		unit, err := plan.ParseTimeUnit(td.Granularity)
		if err != nil {
			return invalid("time dimension %s: %v", td.Dimension, err)
		}
		if !dim.SupportsGranularity(unit) {
			return invalid("time dimension %s does not support granularity %s; it supports %s", td.Dimension, unit, granularityList(dim))
		}
		name := td.Dimension + "." + unit.String()
		cc.dims = append(cc.dims, groupDim{dim: dim, unit: &unit, name: name})
		cc.columns = append(cc.columns, OutputColumn{Name: name, Kind: TimeColumn, Dimension: dim, Granularity: &unit})
	}
	for _, f := range q.Filters {
		dim, err := cc.dimension(f.Dimension)
		if err != nil {
			return err
		}
		pred, err := filterPredicate(dim, f.Op, f.Values, cc.loc)
		if err != nil {
			return invalid("filter on %s: %v", f.Dimension, err)
		}
		cc.filters = append(cc.filters, rowFilter{dim: dim, pred: pred, text: fmt.Sprintf("%s %s %q", f.Dimension, f.Op, f.Values)})
	}
	if tr := q.TimeRange; tr != nil {
		if err := cc.resolveTimeRange(tr); err != nil {
			return err
		}
	}
	seenMetric := map[string]bool{}
	for _, name := range q.Metrics {
		base, version := splitVersion(name)
		m, err := cc.acc.queryableMetric(base)
		if err != nil {
			return err
		}
		if version > 0 && m.Version != version {
			// Service.Compile gives a query with pins a catalog holding those versions.
			return invalid("metric %s is at version %d here, not %d; ask the service, which serves pinned versions", base, m.Version, version)
		}
		if seenMetric[base] {
			return invalid("metric %s is listed twice", base)
		}
		seenMetric[base] = true
		cc.metrics = append(cc.metrics, m)
		// A pinned metric's column is named for the metric; Versions says which version it is.
		cc.columns = append(cc.columns, OutputColumn{Name: base, Kind: MetricColumn, Metric: m})
		if err := cc.collectLeaves(m, scope{}, base); err != nil {
			return err
		}
	}
	if td := q.TimeDimension; td != nil {
		cc.spine = td.FillGaps || slices.ContainsFunc(cc.metrics, joinsTimeSpine)
	}
	if err := cc.resolveComparisons(); err != nil {
		return err
	}
	return cc.resolveTimeSpans()
}

// joinsTimeSpine reports whether m, or a metric it is built on, asks for a time spine.
func joinsTimeSpine(m *Metric) bool {
	return m.JoinToTimeSpine || slices.ContainsFunc(m.DependsOn(), joinsTimeSpine)
}

// maxLimit is the most rows a query may ask for.
func (cc *compiler) maxLimit() int64 {
	if cc.opts.MaxLimit > 0 {
		return cc.opts.MaxLimit
	}
	return 1_000_000
}

// dimension resolves a qualified dimension name the query groups or filters by.
func (cc *compiler) dimension(name string) (*Dimension, error) {
	return cc.acc.queryableDimension(name)
}

func granularityList(d *Dimension) string {
	parts := make([]string, len(d.Granularities))
	for i, g := range d.Granularities {
		parts[i] = g.String()
	}
	return strings.Join(parts, ", ")
}

func (cc *compiler) resolveTimeRange(tr *TimeRange) error {
	name := tr.Dimension
	if name == "" {
		if cc.q.TimeDimension == nil {
			return invalid("timeRange needs a time dimension: set timeDimension, or name the dimension in timeRange")
		}
		name = cc.q.TimeDimension.Dimension
	}
	dim, err := cc.dimension(name)
	if err != nil {
		return err
	}
	if dim.Type != DimensionTime {
		return invalid("timeRange applies to time dimensions; %s is a %s dimension", name, dim.Type)
	}
	if tr.From == "" && tr.To == "" {
		return invalid("timeRange on %s has neither from nor to; give at least one", name)
	}
	t := dim.Expr.DataType()
	var from, to *plan.Literal
	if tr.From != "" {
		if from, err = plan.ParseLiteral(tr.From, t, cc.loc); err != nil {
			return invalid("timeRange from: %v", err)
		}
	}
	if tr.To != "" {
		if to, err = plan.ParseLiteral(tr.To, t, cc.loc); err != nil {
			return invalid("timeRange to: %v", err)
		}
	}
	if from != nil && to != nil && compareLiterals(from, to) >= 0 {
		return invalid("timeRange from %s is not before to %s; the range is [from, to)", tr.From, tr.To)
	}
	cc.timeRange = &timeRange{dim: dim, name: name, text: fmt.Sprintf("%s in [%s, %s)", name, tr.From, tr.To)}
	cc.timeRange.from, cc.timeRange.to = from, to
	return nil
}

// timeRange is a query's time range on one dimension: [from, to), either end nil when open.
type timeRange struct {
	dim      *Dimension
	name     string
	from, to *plan.Literal
	text     string
}

// timeBounds are the ends of one range of a time dimension's values, [from, to); nil is open.
type timeBounds struct{ from, to *plan.Literal }

// queryFilters returns the filters every metric's rows meet: the query's filters, and its time
// range as the plan being built reads it (cc.ranges), one range or several.
func (cc *compiler) queryFilters() []rowFilter {
	tr := cc.timeRange
	if tr == nil || len(cc.ranges) == 0 {
		return cc.filters
	}
	ranges := cc.ranges
	pred := func(v plan.Expr) (plan.Expr, error) {
		var any plan.Expr
		for _, r := range ranges {
			c, err := r.holds(v)
			if err != nil || c == nil {
				return nil, err
			}
			if any == nil {
				any = c
			} else if any, err = plan.NewBinary(plan.Or, any, c); err != nil {
				return nil, err
			}
		}
		return any, nil
	}
	return append(cc.filters[:len(cc.filters):len(cc.filters)], rowFilter{dim: tr.dim, pred: pred, text: tr.text})
}

// holds is the condition that v lies within the bounds, nil when neither end is set.
func (b timeBounds) holds(v plan.Expr) (plan.Expr, error) {
	var conds []plan.Expr
	if b.from != nil {
		c, err := plan.NewBinary(plan.GtEq, v, b.from)
		if err != nil {
			return nil, err
		}
		conds = append(conds, c)
	}
	if b.to != nil {
		c, err := plan.NewBinary(plan.Lt, v, b.to)
		if err != nil {
			return nil, err
		}
		conds = append(conds, c)
	}
	return plan.AndAll(conds)
}

func compareLiterals(a, b *plan.Literal) int {
	switch x := a.Value.(type) {
	case int64:
		return cmp.Compare(x, b.Value.(int64))
	case int32:
		return cmp.Compare(x, b.Value.(int32))
	}
	return 0
}

// scope is what the derived metrics above a metric add to it: filters on its rows, and the
// window of time it aggregates.
type scope struct {
	filters []*Filter
	window  *TimeWindow
}

// derived is the scope of derived metric m's base, within s.
func (s scope) derived(m *Metric) scope {
	out := scope{filters: append(append([]*Filter(nil), s.filters...), m.Filters...), window: s.window}
	if m.Window != nil {
		out.window = m.Window
	}
	return out
}

// key identifies the scope: its filters in any order, and its window.
func (s scope) key() string {
	parts := make([]string, len(s.filters))
	for i, f := range s.filters {
		parts[i] = f.String()
	}
	sort.Strings(parts)
	k := strings.Join(parts, "&")
	if s.window != nil {
		k += "|window " + s.window.Text
	}
	return k
}

// collectLeaves records the aggregates metric m needs within scope sc, and names each new one
// after the metric that first needs it. An offset metric also records the lookup of its base's
// value in an earlier period.
func (cc *compiler) collectLeaves(m *Metric, sc scope, name string) error {
	switch m.Kind {
	case Atomic:
		key := leafKey(m.Measure, sc)
		if _, ok := cc.leafByKey[key]; ok {
			return nil
		}
		l := &leaf{name: cc.uniqueLeafName(name), measure: m.Measure, filters: sc.filters, window: sc.window}
		cc.leafByKey[key] = l
		cc.leaves = append(cc.leaves, l)
		return nil
	case Derived:
		if m.Offset != nil {
			cc.addOffset(m, sc)
		}
		return cc.collectLeaves(m.Base, sc.derived(m), name)
	case Composite:
		if len(sc.filters) > 0 {
			return invalid("metric %s restricts composite metric %s with filters; derive from its operands instead", name, m.Name)
		}
		for _, dep := range m.DependsOn() {
			if err := cc.collectLeaves(dep, scope{window: sc.window}, dep.Name); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("metric %s has unknown kind %q", m.Name, m.Kind)
}

func (cc *compiler) uniqueLeafName(name string) string {
	for _, l := range cc.leaves {
		if l.name == name {
			return fmt.Sprintf("%s#%d", name, len(cc.leaves))
		}
	}
	return name
}

func leafKey(m *Measure, sc scope) string {
	return m.QualifiedName() + "|" + sc.key()
}

// leafOf returns the aggregate an atomic or derived metric is, within scope sc.
func (cc *compiler) leafOf(m *Metric, sc scope) *leaf {
	switch m.Kind {
	case Derived:
		return cc.leafOf(m.Base, sc.derived(m))
	case Atomic:
		return cc.leafByKey[leafKey(m.Measure, sc)]
	}
	return nil
}

// build assembles the plan: the metrics, compared with earlier periods when the query asks,
// then the order and the limit.
func (cc *compiler) build() (plan.Node, error) {
	node, err := cc.compared()
	if err != nil {
		return nil, err
	}
	if node, err = cc.order(node); err != nil {
		return nil, err
	}
	if cc.q.Limit != nil || cc.q.Offset > 0 {
		count := int64(-1)
		if cc.q.Limit != nil {
			count = *cc.q.Limit
		}
		return plan.NewLimit(node, cc.q.Offset, count)
	}
	return node, nil
}

// core is the metrics by the dimensions over the time dimension's values in ranges (the query's
// whole time range when nil): one aggregate per model, joined on the dimensions, then the
// metric formulas. Its columns are the grouping columns, then each metric.
func (cc *compiler) core(ranges []timeBounds) (plan.Node, error) {
	cc.ranges = ranges
	if ranges == nil && cc.timeRange != nil {
		cc.ranges = []timeBounds{{cc.timeRange.from, cc.timeRange.to}}
	}
	asked := cc.ranges
	cc.ranges = cc.offsetRanges(cc.ranges)
	var groups []*measureGroup
	var windowed []*leaf
	byModel := map[*DataModel]*measureGroup{}
	var balances []*leaf
	for _, l := range cc.leaves {
		switch {
		case l.window != nil:
			windowed = append(windowed, l)
			continue
		case l.measure.SemiAdditive != nil:
			balances = append(balances, l)
			continue
		}
		g := byModel[l.measure.Model]
		if g == nil {
			g = &measureGroup{model: l.measure.Model}
			byModel[l.measure.Model] = g
			groups = append(groups, g)
		}
		g.leaves = append(g.leaves, l)
	}
	var parts []plan.Node
	for _, g := range groups {
		node, err := cc.groupPlan(g)
		if err != nil {
			return nil, err
		}
		parts = append(parts, node)
	}
	for _, l := range windowed {
		node, err := cc.windowPlan(l)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cc.metricNameOf(l), err)
		}
		parts = append(parts, node)
	}
	for _, l := range balances {
		node, err := cc.balancePlan(l)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cc.metricNameOf(l), err)
		}
		parts = append(parts, node)
	}
	var combined plan.Node
	for i, node := range parts {
		var err error
		if combined, err = cc.combine(combined, node, i); err != nil {
			return nil, err
		}
	}
	var err error
	if cc.spine {
		if combined, err = cc.timeSpine(combined); err != nil {
			return nil, err
		}
	}
	if len(cc.offsets) > 0 {
		if combined, err = cc.offsetLookups(combined); err != nil {
			return nil, err
		}
		// The earlier periods served the lookups; keep the ones asked for.
		if combined, err = cc.keepPeriods(combined, asked); err != nil {
			return nil, err
		}
	}
	return cc.finalProject(combined)
}

// combine joins the next model's aggregate onto what is combined so far. Grouping columns are
// carried under their own names ("orders.region"); each joined side is renamed first, and the
// full join keeps groups that only one side has, with NULL-safe keys so a NULL group on one side
// meets the NULL group on the other.
func (cc *compiler) combine(acc, next plan.Node, i int) (plan.Node, error) {
	if acc == nil {
		return next, nil
	}
	if len(cc.dims) == 0 {
		// Every side is one row; a join on a constant pairs them.
		l, err := withConstantKey(acc, "#left")
		if err != nil {
			return nil, err
		}
		r, err := withConstantKey(next, "#right")
		if err != nil {
			return nil, err
		}
		j, err := plan.NewJoin(plan.FullJoin, l, r,
			[]plan.Expr{plan.NewColumn("#left", plan.Int64)}, []plan.Expr{plan.NewColumn("#right", plan.Int64)}, true)
		if err != nil {
			return nil, err
		}
		return projectExcept(j, "#left", "#right")
	}
	prefix := fmt.Sprintf("#%d:", i)
	renamed := make([]plan.Named, 0, next.Schema().NumFields())
	for _, f := range next.Schema().Fields() {
		name := f.Name
		if cc.isDimColumn(f.Name) {
			name = prefix + f.Name
		}
		renamed = append(renamed, plan.Named{Name: name, Expr: plan.NewColumn(f.Name, f.Type)})
	}
	right, err := plan.NewProject(next, renamed)
	if err != nil {
		return nil, err
	}
	lk, rk, err := cc.dimensionKeys(acc, right, prefix)
	if err != nil {
		return nil, err
	}
	j, err := plan.NewJoin(plan.FullJoin, acc, right, lk, rk, true)
	if err != nil {
		return nil, err
	}
	out := make([]plan.Named, 0, j.Schema().NumFields())
	for k, d := range cc.dims {
		co, err := plan.NewCoalesce(lk[k], rk[k])
		if err != nil {
			return nil, err
		}
		out = append(out, plan.Named{Name: d.name, Expr: co})
	}
	for _, f := range j.Schema().Fields() {
		if !cc.isDimColumn(f.Name) && !strings.HasPrefix(f.Name, prefix) {
			out = append(out, plan.Named{Name: f.Name, Expr: plan.NewColumn(f.Name, f.Type)})
		}
	}
	return plan.NewProject(j, out)
}

// dimensionKeys returns each grouping column of left, and the column of the same name under
// prefix in right: what a join of two results grouped alike matches on.
func (cc *compiler) dimensionKeys(left, right plan.Node, prefix string) (lk, rk []plan.Expr, err error) {
	for _, d := range cc.dims {
		lc, err := plan.ColumnOf(left.Schema(), d.name)
		if err != nil {
			return nil, nil, err
		}
		rc, err := plan.ColumnOf(right.Schema(), prefix+d.name)
		if err != nil {
			return nil, nil, err
		}
		lk, rk = append(lk, lc), append(rk, rc)
	}
	return lk, rk, nil
}

func (cc *compiler) isDimColumn(name string) bool {
	for _, d := range cc.dims {
		if d.name == name {
			return true
		}
	}
	return false
}

func withConstantKey(n plan.Node, key string) (plan.Node, error) {
	one, err := plan.NewLiteral(int64(1), plan.Int64)
	if err != nil {
		return nil, err
	}
	exprs := []plan.Named{{Name: key, Expr: one}}
	for _, f := range n.Schema().Fields() {
		exprs = append(exprs, plan.Named{Name: f.Name, Expr: plan.NewColumn(f.Name, f.Type)})
	}
	return plan.NewProject(n, exprs)
}

func projectExcept(n plan.Node, drop ...string) (plan.Node, error) {
	var exprs []plan.Named
	for _, f := range n.Schema().Fields() {
		skip := false
		for _, d := range drop {
			skip = skip || f.Name == d
		}
		if !skip {
			exprs = append(exprs, plan.Named{Name: f.Name, Expr: plan.NewColumn(f.Name, f.Type)})
		}
	}
	return plan.NewProject(n, exprs)
}

// finalProject yields the output columns: the dimensions, then each metric, composite metrics
// computed from the aggregated values.
func (cc *compiler) finalProject(in plan.Node) (plan.Node, error) {
	var exprs []plan.Named
	for _, d := range cc.dims {
		c, err := plan.ColumnOf(in.Schema(), d.name)
		if err != nil {
			return nil, err
		}
		exprs = append(exprs, plan.Named{Name: d.name, Expr: c})
	}
	for _, m := range cc.metrics {
		e, err := cc.valueExpr(m, scope{}, in.Schema())
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", m.Name, err)
		}
		exprs = append(exprs, plan.Named{Name: m.Name, Expr: e})
	}
	return plan.NewProject(in, exprs)
}

// valueExpr is m's value within scope sc over the combined aggregates, or its fill_nulls_with
// where it has none; composite metrics compute from their operands' filled values, and an
// offset metric reads the value its lookup fetched from an earlier period.
func (cc *compiler) valueExpr(m *Metric, sc scope, s *arrow.Schema) (plan.Expr, error) {
	var e plan.Expr
	var err error
	switch {
	case m.Kind == Derived && m.Offset != nil:
		o := cc.offsetOf(m, sc)
		if o == nil {
			return nil, fmt.Errorf("no lookup for offset metric %s", m.Name)
		}
		if e, err = plan.ColumnOf(s, o.name); err == nil {
			// Rows with no time have no earlier period.
			var t *plan.Column
			if t, err = plan.ColumnOf(s, cc.timeGroup().name); err == nil {
				e, err = plan.NewCase([]plan.When{{Cond: plan.NewIsNull(t, true), Then: e}}, nil)
			}
		}
	case m.Kind == Derived:
		e, err = cc.valueExpr(m.Base, sc.derived(m), s)
	case m.Kind == Composite:
		e, err = cc.formulaExpr(m.Formula, scope{window: sc.window}, s)
	default:
		l := cc.leafOf(m, sc)
		if l == nil {
			return nil, fmt.Errorf("no aggregate for metric %s", m.Name)
		}
		e, err = plan.ColumnOf(s, l.name)
	}
	if err != nil || m.FillNullsWith == "" {
		return e, err
	}
	fill, err := formulaNumber(m.FillNullsWith)
	if err != nil {
		return nil, fmt.Errorf("fill_nulls_with: %w", err)
	}
	return plan.NewCoalesce(e, fill)
}

func (cc *compiler) formulaExpr(f *Formula, sc scope, s *arrow.Schema) (plan.Expr, error) {
	switch {
	case f.Metric != nil:
		return cc.valueExpr(f.Metric, sc, s)
	case f.Number != "":
		return formulaNumber(f.Number)
	case f.Negate:
		x, err := cc.formulaExpr(f.Left, sc, s)
		if err != nil {
			return nil, err
		}
		return plan.NewNegate(x)
	}
	l, err := cc.formulaExpr(f.Left, sc, s)
	if err != nil {
		return nil, err
	}
	r, err := cc.formulaExpr(f.Right, sc, s)
	if err != nil {
		return nil, err
	}
	return plan.NewBinary(f.Op, l, r)
}

// formulaNumber reads a number from a formula exactly: an integer, or a decimal of the scale
// written.
func formulaNumber(text string) (plan.Expr, error) {
	if _, frac, ok := strings.Cut(text, "."); ok {
		return plan.ParseLiteral(text, plan.Decimal(plan.MaxDecimalPrecision, int32(len(frac))), time.UTC)
	}
	return plan.ParseLiteral(text, plan.Int64, time.UTC)
}

// order sorts by the requested keys and then by every grouping column, so that equal keys
// come out in a stable order and limits cut the same rows every time. With no keys, the time
// column comes first, then the first metric, largest first.
func (cc *compiler) order(in plan.Node) (plan.Node, error) {
	var keys []plan.SortKey
	used := map[string]bool{}
	add := func(name string, desc bool) error {
		c, err := plan.ColumnOf(in.Schema(), name)
		if err != nil {
			return err
		}
		if !used[name] {
			used[name] = true
			keys = append(keys, plan.SortKey{Expr: c, Desc: desc})
		}
		return nil
	}
	for _, o := range cc.q.OrderBy {
		name := o.Field
		if td := cc.q.TimeDimension; td != nil && name == td.Dimension && !cc.isDimColumn(name) {
			name = cc.timeColumnName()
		}
		if _, err := plan.ColumnOf(in.Schema(), name); err != nil {
			var names []string
			for _, f := range in.Schema().Fields() {
				names = append(names, f.Name)
			}
			return nil, invalid("cannot order by %q: it is not an output column; order by one of %s", o.Field, strings.Join(names, ", "))
		}
		if err := add(name, o.Desc); err != nil {
			return nil, err
		}
	}
	if len(cc.q.OrderBy) == 0 {
		if name := cc.timeColumnName(); name != "" {
			if err := add(name, false); err != nil {
				return nil, err
			}
		}
		if err := add(cc.metrics[0].Name, true); err != nil {
			return nil, err
		}
	}
	for _, d := range cc.dims {
		if err := add(d.name, false); err != nil {
			return nil, err
		}
	}
	return plan.NewSort(in, keys)
}

func (cc *compiler) timeColumnName() string {
	for _, d := range cc.dims {
		if d.unit != nil {
			return d.name
		}
	}
	return ""
}
