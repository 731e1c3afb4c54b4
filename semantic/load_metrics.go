package semantic

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/semantic/sqlexpr"
)

var (
	metricKeys = []string{"name", "label", "description", "synonyms", "unit", "format", "owner", "domain", "tags", "kind", "measure", "base", "filters", "expr",
		"window", "offset", "fill_nulls_with", "join_to_timespine", "quality", "category", "steward"}
	filterKeys  = []string{"dimension", "operator", "values"}
	metricKinds = []string{string(Atomic), string(Derived), string(Composite)}
)

type metricDef struct {
	f        *defFile
	m        *Metric
	what     string
	nameNode *yaml.Node
	// valid is set when the metric says what it is built from without contradicting itself.
	valid      bool
	domainNode *yaml.Node
	// categoryNode is where the category is written, when it is.
	categoryNode *yaml.Node
	measureNode  *yaml.Node
	baseNode     *yaml.Node
	exprNode     *yaml.Node
	ast          sqlexpr.Node
	filters      []*filterDef
	// deps are the metrics this one is built on, with where each is named.
	deps []metricRef
}

type metricRef struct {
	to  *metricDef
	pos Pos
}

type filterDef struct {
	flt        *Filter
	dimNode    *yaml.Node
	opNode     *yaml.Node
	valueNodes []*yaml.Node
	// opOK is set when the operator is known and has the right number of values.
	opOK bool
	dim  *Dimension
}

func (l *loader) readMetric(f *defFile, n *yaml.Node) {
	m := l.object(f, n, named(n, "name", "metric ", "a metric"), "a mapping", metricKeys)
	if m == nil {
		return
	}
	md := &metricDef{f: f, m: &Metric{Pos: f.pos(m.node)}, what: "a metric"}
	x := md.m
	x.Name, md.nameNode = l.requireName(m, "metric")
	if x.Name != "" {
		md.what = "metric " + x.Name
		m.what = md.what
	}
	x.Label, _ = l.str(m, "label")
	x.Description, _ = l.str(m, "description")
	x.Synonyms, _ = l.strList(m, "synonyms", false)
	x.Unit, _ = l.str(m, "unit")
	x.Format, _ = l.str(m, "format")
	x.Owner, _ = l.str(m, "owner")
	x.Domain, md.domainNode = l.str(m, "domain")
	x.Tags, _ = l.strList(m, "tags", false)
	x.Category, md.categoryNode = l.str(m, "category")
	x.Steward, _ = l.str(m, "steward")

	if v, n := l.str(m, "fill_nulls_with"); n != nil {
		if !isPlainNumber(v) {
			l.report(f.pos(n), "write a number, such as 0", "fill_nulls_with of %s is not a number: %q", md.what, v)
		} else {
			x.FillNullsWith = v
		}
	}
	if v, n := l.str(m, "join_to_timespine"); n != nil {
		b, err := strconv.ParseBool(v)
		if err != nil {
			l.report(f.pos(n), "write true or false", "join_to_timespine of %s is not true or false: %q", md.what, v)
		}
		x.JoinToTimeSpine = b
	}

	_, md.measureNode = l.str(m, "measure")
	_, md.baseNode = l.str(m, "base")
	x.SQL, md.exprNode = l.str(m, "expr")

	// The kind follows from which of measure, base and expr is given; exactly one must be.
	type builder struct {
		key  string
		node *yaml.Node
		kind MetricKind
	}
	var given []builder
	for _, b := range []builder{{"measure", md.measureNode, Atomic}, {"base", md.baseNode, Derived}, {"expr", md.exprNode, Composite}} {
		if b.node != nil {
			given = append(given, b)
		}
	}
	const kindHint = "measure: model.measure makes an atomic metric, base: metric with filters a derived one, expr: a formula over metrics a composite one"
	switch {
	case len(given) == 0:
		if m.missing("measure") && m.missing("base") && m.missing("expr") {
			l.report(f.pos(m.node), kindHint, "%s has none of measure, base and expr", md.what)
		}
	case len(given) > 1:
		l.report(f.pos(given[1].node), kindHint, "%s has both %s and %s; give only one", md.what, given[0].key, given[1].key)
	default:
		x.Kind, md.valid = given[0].kind, true
	}

	if kind, kindNode := l.str(m, "kind"); kindNode != nil {
		switch {
		case indexOf(metricKinds, kind) < 0:
			l.report(f.pos(kindNode), suggestion(kind, metricKinds, "the kinds are"), "unknown kind %q for %s", kind, md.what)
			md.valid = false
		case md.valid && MetricKind(kind) != x.Kind:
			l.report(f.pos(kindNode), "leave kind out to take it from the fields, or change them",
				"%s is declared %s, but %s makes it %s", md.what, kind, given[0].key, x.Kind)
			md.valid = false
		}
	}

	if md.valid && x.Kind == Composite {
		md.ast = l.parseExpr(f, md.exprNode, md.what)
	}

	for _, key := range []string{"window", "offset"} {
		v, n := l.str(m, key)
		switch {
		case n == nil:
			continue
		case md.valid && x.Kind != Derived:
			l.report(f.pos(n), fmt.Sprintf("define a derived metric with base: %s and this %s", x.Name, key),
				"%s applies only to derived metrics (with base), and %s is %s", key, md.what, x.Kind)
			continue
		case key == "window" && x.Offset != nil, key == "offset" && x.Window != nil:
			l.report(f.pos(n), "define one metric with the window and another, based on it, with the offset",
				"%s has both a window and an offset", md.what)
			continue
		}
		var err error
		if key == "window" {
			x.Window, err = parseTimeWindow(v)
			if x.Window != nil {
				x.Window.Pos = f.pos(n)
			}
		} else {
			x.Offset, err = parseTimeOffset(v)
			if x.Offset != nil {
				x.Offset.Pos = f.pos(n)
			}
		}
		if err != nil {
			l.report(f.pos(n), windowHint, "%s of %s: %v", key, md.what, err)
		}
	}

	if fn := m.get("filters"); fn != nil && md.valid && x.Kind != Derived {
		hint := fmt.Sprintf("define a derived metric with base: %s and these filters", x.Name)
		l.report(f.pos(fn), hint, "filters apply only to derived metrics (with base), and %s is %s", md.what, x.Kind)
	} else {
		for _, n := range l.list(f, fn, "filters of "+md.what) {
			if fd := l.readFilter(md, n); fd != nil {
				md.filters = append(md.filters, fd)
				x.Filters = append(x.Filters, fd.flt)
			}
		}
	}
	l.readQuality(f, m, nil, md)
	l.metrics = append(l.metrics, md)
}

func (l *loader) readFilter(md *metricDef, n *yaml.Node) *filterDef {
	f := md.f
	m := l.object(f, n, named(n, "dimension", "the filter on ", "a filter")+" of "+md.what, "a mapping with dimension, operator and values", filterKeys)
	if m == nil {
		return nil
	}
	fd := &filterDef{flt: &Filter{Pos: f.pos(m.node)}}
	fd.flt.Dimension, fd.dimNode = l.str(m, "dimension")
	if m.missing("dimension") {
		l.report(f.pos(m.node), "dimension names the dimension to filter on, as model.dimension", "a filter of %s has no dimension", md.what)
	}
	if fd.flt.Dimension != "" {
		m.what = "the filter on " + fd.flt.Dimension + " of " + md.what
	}
	var op string
	op, fd.opNode = l.str(m, "operator")
	ops := make([]string, len(FilterOps))
	for i, o := range FilterOps {
		ops[i] = string(o)
	}
	switch {
	case fd.opNode != nil && indexOf(ops, op) < 0:
		l.report(f.pos(fd.opNode), suggestion(op, ops, "the operators are"), "unknown operator %q in %s", op, m.what)
	case fd.opNode != nil:
		fd.flt.Op, fd.opOK = FilterOp(op), true
	case m.missing("operator"):
		l.report(f.pos(m.node), "operator is one of "+strings.Join(ops, ", "), "%s has no operator", m.what)
	}
	valuesNode := m.get("values")
	fd.flt.Values, fd.valueNodes = l.strList(m, "values", false)
	if fd.opOK {
		want, exactly := 1, false
		switch fd.flt.Op {
		case Between:
			want, exactly = 2, true
		case IsNullOp, IsNotNullOp:
			want, exactly = 0, true
		case Gt, Gte, Lt, Lte:
			want, exactly = 1, true
		}
		got := len(fd.flt.Values)
		at := f.pos(m.node)
		if valuesNode != nil {
			at = f.pos(valuesNode)
		}
		switch {
		case want == 0 && got > 0:
			l.report(at, "remove values", "operator %s takes no values, but %s has %d", op, m.what, got)
			fd.opOK = false
		case exactly && got != want:
			l.report(at, "", "operator %s takes %d %s, but %s has %d", op, want, plural(want, "value"), m.what, got)
			fd.opOK = false
		case got < want:
			l.report(at, "", "operator %s takes at least one value, but %s has none", op, m.what)
			fd.opOK = false
		}
	}
	return fd
}

// checkMetrics resolves what each metric names, then checks for cycles, filter values, whether
// filters can reach their dimensions, and how time windows and offsets nest.
func (l *loader) checkMetrics() {
	for _, md := range l.metrics {
		l.resolveMetric(md)
	}
	inCycle := l.checkCycles()
	l.checkFilterReach(inCycle)
	l.checkTimeNesting(inCycle)
}

// windowHint shows the forms a window and an offset take.
const windowHint = `a window is "7 days" (also weeks, months, quarters, years), "month to date" (also week, quarter, year and the fiscal ones) or "running"; an offset is "1 year" (also days, weeks, months, quarters and the fiscal ones)`

// maxSpanDays bounds a window or an offset: a century, far beyond any data.
const maxSpanDays = 36_600

// parseSpan reads "7 days", "1 year", "2 fiscal_quarters".
func parseSpan(s string) (int64, plan.TimeUnit, error) {
	count, unitText, ok := strings.Cut(strings.TrimSpace(s), " ")
	n, err := strconv.ParseInt(count, 10, 64)
	if !ok || err != nil {
		return 0, 0, fmt.Errorf("%q is not a number of periods, such as 7 days", s)
	}
	unitText = strings.TrimSpace(unitText)
	u, err := plan.ParseTimeUnit(strings.TrimSuffix(unitText, "s"))
	if err != nil {
		return 0, 0, fmt.Errorf("%q: unknown period %q", s, unitText)
	}
	days := map[plan.TimeUnit]int64{plan.Day: 1, plan.Week: 7, plan.Month: 31, plan.Quarter: 92, plan.Year: 366,
		plan.FiscalMonth: 35, plan.FiscalQuarter: 98, plan.FiscalYear: 371}[u]
	switch {
	case n < 1:
		return 0, 0, fmt.Errorf("%q: the number must be 1 or more", s)
	case n > maxSpanDays/days:
		return 0, 0, fmt.Errorf("%q is longer than a century, longer than any data", s)
	}
	return n, u, nil
}

// parseTimeWindow reads a window: "7 days", "month to date", "running".
func parseTimeWindow(s string) (*TimeWindow, error) {
	text := strings.TrimSpace(s)
	if text == "running" {
		return &TimeWindow{Kind: plan.RunningWindow, Text: text}, nil
	}
	if grain, ok := strings.CutSuffix(text, " to date"); ok {
		u, err := plan.ParseTimeUnit(strings.TrimSpace(grain))
		if err != nil || u == plan.Day {
			return nil, fmt.Errorf("%q: a window to date runs from the start of a week, month, quarter, year or fiscal period", s)
		}
		return &TimeWindow{Kind: plan.ToDateWindow, Unit: u, Text: text}, nil
	}
	n, u, err := parseSpan(text)
	if err != nil {
		return nil, err
	}
	if u.IsFiscal() {
		return nil, fmt.Errorf("%q: a rolling window counts days, weeks, months, quarters or years", s)
	}
	return &TimeWindow{Kind: plan.RollingWindow, N: n, Unit: u, Text: text}, nil
}

// parseTimeOffset reads an offset: "1 year".
func parseTimeOffset(s string) (*TimeOffset, error) {
	n, u, err := parseSpan(s)
	if err != nil {
		return nil, err
	}
	return &TimeOffset{N: n, Unit: u, Text: strings.TrimSpace(s)}, nil
}

// checkTimeNesting refuses windows over metrics that have windows or offsets, and offsets over
// metrics with offsets: each would read another span of time than the one its period has.
func (l *loader) checkTimeNesting(inCycle map[*metricDef]bool) {
	var has func(m *Metric, window bool, seen map[*Metric]bool) *Metric
	has = func(m *Metric, window bool, seen map[*Metric]bool) *Metric {
		if m == nil || seen[m] {
			return nil
		}
		seen[m] = true
		if m.Offset != nil || window && m.Window != nil {
			return m
		}
		for _, d := range m.DependsOn() {
			if found := has(d, window, seen); found != nil {
				return found
			}
		}
		return nil
	}
	for _, md := range l.metrics {
		x := md.m
		if inCycle[md] || !md.valid || x.Kind != Derived || x.Base == nil {
			continue
		}
		switch {
		case x.Window != nil:
			if found := has(x.Base, true, map[*Metric]bool{}); found != nil {
				l.report(x.Window.Pos, "base the window on a metric without a window or an offset", "%s adds up %s over %s, but %s already reads another span of time",
					md.what, x.Base.Name, x.Window.Text, found.Name)
			}
		case x.Offset != nil:
			if found := has(x.Base, false, map[*Metric]bool{}); found != nil {
				l.report(x.Offset.Pos, "offset a metric without an offset, by the whole span", "%s moves %s %s back, but %s already moves its base",
					md.what, x.Base.Name, x.Offset.Text, found.Name)
			}
		}
	}
}

func (l *loader) resolveMetric(md *metricDef) {
	x := md.m
	f := md.f
	if x.Domain != "" && l.domainByName[x.Domain] == nil && !l.incomplete {
		hint := suggestion(x.Domain, sortedKeys(l.domainByName), "the domains are")
		if len(l.domainByName) == 0 {
			hint = "declare it under domains: in any definitions file"
		}
		l.report(f.pos(md.domainNode), hint, "%s: unknown domain %s", md.what, x.Domain)
	}
	l.checkCategory(md)
	if !md.valid {
		return
	}
	switch x.Kind {
	case Atomic:
		l.resolveMeasure(md)
	case Derived:
		if base := l.metricByName[md.baseNode.Value]; base != nil {
			x.Base = base.m
			md.deps = append(md.deps, metricRef{to: base, pos: f.pos(md.baseNode)})
		} else if !l.incomplete {
			l.report(f.pos(md.baseNode), suggestion(md.baseNode.Value, l.metricNames(), "the metrics are"), "%s: unknown base metric %s", md.what, md.baseNode.Value)
		}
		for _, fd := range md.filters {
			l.resolveFilter(md, fd)
		}
	case Composite:
		if md.ast == nil {
			return
		}
		formula, metrics, ok := l.formula(md, md.ast)
		if ok && metrics == 0 {
			l.report(f.pos(md.exprNode), "a composite metric combines other metrics: gmv_paid / paid_order_count", "the formula of %s names no metric", md.what)
			ok = false
		}
		if ok {
			x.Formula = formula
		}
	}
}

// qualifiedModel finds the model of a metric's model.member reference, the value of node: role
// names the reference in messages ("measure", "filter dimension"), example is a well-formed one,
// and has tells whether a model has a member of the name, to suggest qualifications for a bare
// one. It reports a reference it cannot resolve and returns nil.
func (l *loader) qualifiedModel(md *metricDef, node *yaml.Node, role, example string, has func(m *DataModel, name string) bool) (*modelDef, string) {
	ref := node.Value
	model, name, ok := cutQualified(ref)
	if !ok {
		var candidates []string
		for _, mo := range l.models {
			if has(mo.m, ref) {
				candidates = append(candidates, mo.m.Name+"."+ref)
			}
		}
		member := role[strings.LastIndexByte(role, ' ')+1:] // "filter dimension" → "dimension"
		hint := "write model." + member + ", as in " + example
		if len(candidates) > 0 {
			hint = "did you mean " + strings.Join(candidates, " or ") + "?"
		}
		l.report(md.f.pos(node), hint, "%s: %s %q must be qualified by its model", md.what, role, ref)
		return nil, ""
	}
	mo := l.modelByName[model]
	if mo == nil {
		if !l.incomplete {
			l.report(md.f.pos(node), suggestion(model, l.modelNames(), "the models are"), "%s: unknown model %s in %s %s", md.what, model, role, ref)
		}
		return nil, ""
	}
	return mo, name
}

func (l *loader) resolveMeasure(md *metricDef) {
	mo, name := l.qualifiedModel(md, md.measureNode, "measure", "orders.amount_total",
		func(m *DataModel, name string) bool { return m.Measure(name) != nil })
	if mo == nil {
		return
	}
	f := md.f
	model := mo.m.Name
	x := mo.m.Measure(name)
	if x == nil {
		var names []string
		for _, xd := range mo.measures {
			names = append(names, xd.x.Name)
		}
		hint := suggestion(name, names, "the measures of "+model+" are")
		if mo.m.Dimension(name) != nil {
			hint = name + " is a dimension; a metric aggregates a measure"
		}
		l.report(f.pos(md.measureNode), hint, "%s: model %s has no measure %s", md.what, model, name)
		return
	}
	md.m.Measure = x
}

func (l *loader) resolveFilter(md *metricDef, fd *filterDef) {
	if fd.dimNode == nil || fd.flt.Dimension == "" {
		return
	}
	mo, name := l.qualifiedModel(md, fd.dimNode, "filter dimension", "orders.status",
		func(m *DataModel, name string) bool { return m.Dimension(name) != nil })
	if mo == nil {
		return
	}
	f := md.f
	model := mo.m.Name
	d := mo.m.Dimension(name)
	if d == nil {
		var names []string
		for _, dd := range mo.dims {
			names = append(names, dd.d.Name)
		}
		hint := suggestion(name, names, "the dimensions of "+model+" are")
		if mo.m.Measure(name) != nil {
			hint = name + " is a measure; filters apply to dimensions"
		}
		l.report(f.pos(fd.dimNode), hint, "%s: model %s has no dimension %s", md.what, model, name)
		return
	}
	fd.dim = d
	if !fd.opOK || d.Expr == nil {
		return
	}
	t := d.Expr.DataType()
	switch fd.flt.Op {
	case ContainsOp, NotContains:
		if !plan.IsString(t) {
			l.report(f.pos(fd.opNode), "", "%s: operator %s needs a string dimension, but %s is %s", md.what, fd.flt.Op, fd.flt.Dimension, article(plan.TypeName(t)))
		}
	case IsNullOp, IsNotNullOp:
	default:
		for i, v := range fd.flt.Values {
			if _, err := plan.ParseLiteral(v, t, time.UTC); err != nil {
				l.report(f.pos(fd.valueNodes[i]), "", "%s: filter on %s (%s): %v", md.what, fd.flt.Dimension, plan.TypeName(t), err)
			}
		}
	}
}

// formula turns a composite metric's syntax tree into a Formula, resolving metric names. It
// returns how many metric names it holds, and false when anything could not be resolved.
func (l *loader) formula(md *metricDef, n sqlexpr.Node) (*Formula, int, bool) {
	at := func(off int) Pos { return md.f.offsetPos(md.exprNode, off) }
	const allowed = "a composite formula holds only metric names, numbers, + - * / and parentheses"
	switch n := n.(type) {
	case *sqlexpr.Number:
		return &Formula{Number: n.Text}, 0, true
	case *sqlexpr.Ident:
		if n.Qualifier != "" {
			l.report(at(n.Offset), allowed, "%s: %s is not a metric name; a composite metric combines metrics, not columns", md.what, n)
			return nil, 0, false
		}
		target := l.metricByName[n.Name]
		if target == nil {
			if !l.incomplete {
				l.report(at(n.Offset), suggestion(n.Name, l.metricNames(), "the metrics are"), "%s: unknown metric %s", md.what, n.Name)
			}
			return nil, 0, false
		}
		md.deps = append(md.deps, metricRef{to: target, pos: at(n.Offset)})
		return &Formula{Metric: target.m}, 1, true
	case *sqlexpr.Binary:
		if !n.Op.IsArithmetic() {
			l.report(at(n.OpOffset), allowed, "%s: operator %s is not allowed in a formula", md.what, n.Op)
			return nil, 0, false
		}
		left, lm, lok := l.formula(md, n.Left)
		right, rm, rok := l.formula(md, n.Right)
		if !lok || !rok {
			return nil, lm + rm, false
		}
		return &Formula{Op: n.Op, Left: left, Right: right}, lm + rm, true
	case *sqlexpr.Unary:
		if n.Op != sqlexpr.Neg {
			l.report(at(n.Offset), allowed, "%s: NOT is not allowed in a formula", md.what)
			return nil, 0, false
		}
		x, xm, ok := l.formula(md, n.X)
		if !ok {
			return nil, xm, false
		}
		return &Formula{Negate: true, Left: x}, xm, true
	}
	l.report(at(n.Pos()), allowed, "%s: %s is not allowed in a formula", md.what, n)
	return nil, 0, false
}

// checkCycles reports every cycle of metrics built on each other, once, at the reference that
// leaves the cycle's first metric in name order. It returns the metrics on cycles.
func (l *loader) checkCycles() map[*metricDef]bool {
	const (
		unvisited = iota
		onStack
		done
	)
	state := map[*metricDef]int{}
	inCycle := map[*metricDef]bool{}
	reported := map[string]bool{}
	var stack []*metricDef
	var visit func(md *metricDef)
	visit = func(md *metricDef) {
		state[md] = onStack
		stack = append(stack, md)
		for _, r := range md.deps {
			switch state[r.to] {
			case unvisited:
				visit(r.to)
			case onStack:
				start := len(stack) - 1
				for stack[start] != r.to {
					start--
				}
				cycle := append([]*metricDef(nil), stack[start:]...)
				first := 0
				for i, c := range cycle {
					inCycle[c] = true
					if c.m.Name < cycle[first].m.Name {
						first = i
					}
				}
				cycle = append(cycle[first:], cycle[:first]...)
				names := make([]string, 0, len(cycle)+1)
				for _, c := range cycle {
					names = append(names, c.m.Name)
				}
				names = append(names, cycle[0].m.Name)
				key := strings.Join(names, " → ")
				if reported[key] {
					continue
				}
				reported[key] = true
				next := cycle[0]
				if len(cycle) > 1 {
					next = cycle[1]
				}
				at := cycle[0].m.Pos
				for _, r := range cycle[0].deps {
					if r.to == next {
						at = r.pos
						break
					}
				}
				l.report(at, "a metric cannot be built on itself; break the cycle", "metric %s depends on itself: %s", cycle[0].m.Name, key)
			}
		}
		stack = stack[:len(stack)-1]
		state[md] = done
	}
	sorted := append([]*metricDef(nil), l.metrics...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].m.Name < sorted[j].m.Name })
	for _, md := range sorted {
		if state[md] == unvisited {
			visit(md)
		}
	}
	return inCycle
}

// checkFilterReach checks that every derived metric's filters can restrict the rows of each
// measure it is built on: the filter's model must be reachable from the measure's model without
// a join that repeats the measure's rows.
func (l *loader) checkFilterReach(inCycle map[*metricDef]bool) {
	if l.graphIncomplete {
		return
	}
	var models []*DataModel
	for _, mo := range l.models {
		models = append(models, mo.m)
	}
	provisional := &Catalog{edges: buildEdges(models)}

	// measureModels returns the models of the measures md is built on, or false when that is
	// unknown because something md depends on is broken.
	memo := map[*metricDef][]*DataModel{}
	var measureModels func(md *metricDef) ([]*DataModel, bool)
	measureModels = func(md *metricDef) ([]*DataModel, bool) {
		if !md.valid || inCycle[md] {
			return nil, false
		}
		if out, ok := memo[md]; ok {
			return out, out != nil
		}
		memo[md] = nil
		var out []*DataModel
		switch {
		case md.m.Kind == Atomic && md.m.Measure != nil:
			out = []*DataModel{md.m.Measure.Model}
		case md.m.Kind == Atomic:
			return nil, false
		default:
			if len(md.deps) == 0 {
				return nil, false
			}
			for _, r := range md.deps {
				ms, ok := measureModels(r.to)
				if !ok {
					return nil, false
				}
				for _, m := range ms {
					if !containsModel(out, m) {
						out = append(out, m)
					}
				}
			}
		}
		memo[md] = out
		return out, true
	}

	for _, md := range l.metrics {
		if md.m.Kind != Derived || !md.valid || len(md.filters) == 0 {
			continue
		}
		from, ok := measureModels(md)
		if !ok {
			continue
		}
		for _, fd := range md.filters {
			if fd.dim == nil {
				continue
			}
			to := fd.dim.Model
			for _, m := range from {
				path, err := provisional.JoinPath(m, to)
				switch {
				case err != nil:
					l.report(md.f.pos(fd.dimNode), "", "%s: filter on %s cannot restrict the rows of %s: %v", md.what, fd.flt.Dimension, m.Name, err)
				case FansOut(path):
					l.report(md.f.pos(fd.dimNode), fmt.Sprintf("filter on a dimension of %s or of a model it reaches through many_to_one or one_to_one relationships", m.Name),
						"%s: filter on %s would repeat rows of %s, because the join %s fans out", md.what, fd.flt.Dimension, m.Name, pathString(path))
				}
			}
		}
	}
}

// isPlainNumber reports whether s is an integer or a decimal as a formula writes them: digits
// with an optional sign and fraction, no exponent.
func isPlainNumber(s string) bool {
	t := strings.TrimPrefix(s, "-")
	whole, frac, dot := strings.Cut(t, ".")
	digits := func(x string) bool {
		for _, r := range x {
			if r < '0' || r > '9' {
				return false
			}
		}
		return true
	}
	return whole != "" && digits(whole) && digits(frac) && (!dot || frac != "")
}

func containsModel(list []*DataModel, m *DataModel) bool {
	for _, x := range list {
		if x == m {
			return true
		}
	}
	return false
}
