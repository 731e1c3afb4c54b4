package semantic

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"go.yaml.in/yaml/v3"

	"github.com/koujing/koujing/engine/plan"
)

// The keys of a quality rule: those every rule takes, and those of each kind.
var (
	qualityCommonKeys = []string{"name", "description", "kind", "warn", "fail", "severity", "schedule"}
	qualityKindKeys   = map[QualityKind][]string{
		Completeness:   {"dimension", "column"},
		Uniqueness:     {"columns"},
		Freshness:      {"dimension", "column"},
		Range:          {"dimension", "column", "min", "max"},
		Validity:       {"dimension", "column", "values"},
		Reconciliation: {"against", "by", "time_range"},
	}
	qualityTimeRangeKeys = []string{"dimension", "from", "to", "last"}
	qualitySeverities    = []string{string(SeverityMinor), string(SeverityMajor), string(SeverityCritical)}
)

// The shortest schedule a rule may have, and the named ones.
const minQualitySchedule = time.Minute

var namedSchedules = map[string]time.Duration{"@hourly": time.Hour, "@daily": 24 * time.Hour, "@weekly": 7 * 24 * time.Hour}

// qualityDef is a quality rule as read, with the YAML nodes its references came from.
type qualityDef struct {
	f    *defFile
	r    *QualityRule
	what string
	// model or metric is the definition that declares the rule.
	model  *modelDef
	metric *metricDef
	// kindOK is set when the kind is known; the references below are then checked. misspelt is
	// set when the rule has an unknown key, which a missing one most likely is a misspelling of.
	kindOK   bool
	misspelt bool
	nameNode *yaml.Node
	node     *yaml.Node

	dimension, column     string
	dimNode, colNode      *yaml.Node
	columns               []string
	columnsNode           *yaml.Node
	columnNodes           []*yaml.Node
	minNode, maxNode      *yaml.Node
	valueNodes            []*yaml.Node
	againstNode, byNode   *yaml.Node
	timeRange             *fields
	trDimNode, trLastNode *yaml.Node
	trFromNode, trToNode  *yaml.Node
}

// clone copies a rule of a metric as read, for the clone md of its metric, before any check
// resolved it: what the checks set (the models, dimensions, columns and metrics it names) starts
// empty. What was read is never changed, and is shared.
func (qd *qualityDef) clone(md *metricDef) *qualityDef {
	c := *qd
	r := *qd.r
	r.Metric, r.Model, r.Dimension, r.Column, r.Columns, r.Against, r.By = nil, nil, nil, "", nil, nil, nil
	c.r, c.metric = &r, md
	return &c
}

// readQuality reads the quality: list of a model (md) or a metric (xd).
func (l *loader) readQuality(f *defFile, owner *fields, md *modelDef, xd *metricDef) {
	for _, n := range l.list(f, owner.get("quality"), "quality of "+owner.what) {
		l.readQualityRule(f, n, owner.what, md, xd)
	}
}

func (l *loader) readQualityRule(f *defFile, n *yaml.Node, ownerWhat string, md *modelDef, xd *metricDef) {
	kindText := peek(n, "kind")
	kind := QualityKind(kindText)
	allowed := qualityCommonKeys
	if keys, ok := qualityKindKeys[kind]; ok {
		allowed = append(slices.Clone(allowed), keys...)
	} else {
		allowed = slices.Clone(allowed)
		for _, k := range QualityKinds {
			allowed = appendNew(allowed, qualityKindKeys[k]...)
		}
	}
	m := l.object(f, n, named(n, "name", "quality rule ", "a quality rule")+" of "+ownerWhat, "a mapping", allowed)
	if m == nil {
		return
	}
	qd := &qualityDef{f: f, r: &QualityRule{Pos: f.pos(m.node), Severity: SeverityMajor}, model: md, metric: xd, node: m.node, misspelt: m.misspelt}
	r := qd.r
	r.Name, qd.nameNode = l.requireName(m, "quality rule")
	qd.what = m.what
	r.Description, _ = l.str(m, "description")

	kinds := make([]string, len(QualityKinds))
	for i, k := range QualityKinds {
		kinds[i] = string(k)
	}
	switch k, kn := l.str(m, "kind"); {
	case kn == nil && m.missing("kind"):
		l.report(f.pos(m.node), "the kinds are "+strings.Join(kinds, ", "), "%s has no kind", qd.what)
	case kn == nil:
	case qualityKindKeys[QualityKind(k)] == nil:
		l.report(f.pos(kn), suggestion(k, kinds, "the kinds are"), "unknown kind %q of %s", k, qd.what)
	default:
		r.Kind, qd.kindOK = QualityKind(k), true
	}

	if s, sn := l.str(m, "severity"); sn != nil {
		if !slices.Contains(qualitySeverities, s) {
			l.report(f.pos(sn), suggestion(s, qualitySeverities, "the severities are"), "unknown severity %q of %s", s, qd.what)
		} else {
			r.Severity = QualitySeverity(s)
		}
	}
	if s, sn := l.str(m, "schedule"); sn != nil {
		d, ok := namedSchedules[s]
		if !ok {
			var err error
			d, err = parseDays(s)
			ok = err == nil
		}
		switch {
		case !ok:
			l.report(f.pos(sn), "write it as 1h, 30m or 1d, or @hourly, @daily or @weekly", "schedule of %s is not an interval: %q", qd.what, s)
		case d < minQualitySchedule:
			l.report(f.pos(sn), "a rule runs at most once a minute", "schedule of %s is shorter than a minute: %q", qd.what, s)
		default:
			r.Schedule = d
		}
	}
	if qd.kindOK {
		l.readThresholds(qd, m)
	}

	qd.dimension, qd.dimNode = l.str(m, "dimension")
	qd.column, qd.colNode = l.str(m, "column")
	qd.columns, qd.columnNodes = l.strList(m, "columns", true)
	qd.columnsNode = m.get("columns")
	r.Min, qd.minNode = l.str(m, "min")
	r.Max, qd.maxNode = l.str(m, "max")
	r.Values, qd.valueNodes = l.strList(m, "values", false)
	_, qd.againstNode = l.str(m, "against")
	_, qd.byNode = l.str(m, "by")
	if tn := m.get("time_range"); tn != nil {
		if tm := l.object(f, tn, "time_range of "+qd.what, "a mapping with dimension, and from and to or last", qualityTimeRangeKeys); tm != nil {
			qd.timeRange = tm
			var dim string
			dim, qd.trDimNode = l.str(tm, "dimension")
			tr := &QualityTimeRange{Dimension: dim}
			tr.From, qd.trFromNode = l.str(tm, "from")
			tr.To, qd.trToNode = l.str(tm, "to")
			var last string
			last, qd.trLastNode = l.str(tm, "last")
			if qd.trLastNode != nil {
				if d, err := parseDays(last); err != nil || d <= 0 {
					l.report(f.pos(qd.trLastNode), "write it as 30d or 12h", "last of %s is not a span of time: %q", tm.what, last)
				} else {
					tr.Last = d
				}
			}
			r.TimeRange = tr
		}
	}
	l.quality = append(l.quality, qd)
}

// readThresholds reads warn and fail in the unit of the rule's kind: a share ("5%" or 0.05), a
// count, or a span of time ("26h", "2d").
func (l *loader) readThresholds(qd *qualityDef, m *fields) {
	f, r := qd.f, qd.r
	read := func(key string) (*float64, *yaml.Node) {
		s, n := l.str(m, key)
		if n == nil {
			return nil, nil
		}
		v, hint, err := parseThreshold(r.Kind.Unit(), s)
		if err != nil {
			l.report(f.pos(n), hint, "%s of %s: %v", key, qd.what, err)
			return nil, nil
		}
		return &v, n
	}
	var warnNode, failNode *yaml.Node
	r.Warn, warnNode = read("warn")
	r.Fail, failNode = read("fail")
	switch {
	case warnNode == nil && failNode == nil && m.get("warn") == nil && m.get("fail") == nil && !m.misspelt:
		l.report(f.pos(m.node), "give warn: (the warning threshold), fail: (the red line), or both", "%s has no threshold", qd.what)
	case r.Warn != nil && r.Fail != nil && *r.Warn > *r.Fail:
		l.report(f.pos(warnNode), "the warning comes first: warn at most what fails", "warn of %s is above its fail (%s > %s)", qd.what,
			FormatQualityValue(r.Kind.Unit(), *r.Warn), FormatQualityValue(r.Kind.Unit(), *r.Fail))
	}
}

// parseThreshold reads a threshold in a unit, returning a hint with the error.
func parseThreshold(u QualityUnit, s string) (float64, string, error) {
	t := strings.TrimSpace(s)
	switch u {
	case UnitCount:
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil || n < 0 {
			return 0, "write a whole number of rows, such as 0", fmt.Errorf("%q is not a count of rows", s)
		}
		return float64(n), "", nil
	case UnitSeconds:
		d, err := parseDays(t)
		if err != nil || d <= 0 {
			return 0, "write a span of time, such as 26h, 90m or 2d", fmt.Errorf("%q is not a span of time", s)
		}
		return d.Seconds(), "", nil
	}
	hint := "write a share, such as 0.5% or 0.005"
	scale := 1.0
	if p, ok := strings.CutSuffix(t, "%"); ok {
		t, scale = strings.TrimSpace(p), 100
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, hint, fmt.Errorf("%q is not a share", s)
	}
	v /= scale
	if v < 0 || v > 1 {
		return 0, hint, fmt.Errorf("%q is not a share from 0 to 100%%", s)
	}
	return v, "", nil
}

// checkQuality resolves what each rule names — dimensions, columns, metrics — and checks that
// its kind can measure them, then that rule names are unique.
func (l *loader) checkQuality() {
	byName := map[string]*qualityDef{}
	for _, qd := range l.quality {
		if qd.model != nil && qd.model.m.Name == "" || qd.metric != nil && qd.metric.m.Name == "" {
			continue // the definition that declares it has no name, and is dropped
		}
		if qd.model != nil && l.modelByName[qd.model.m.Name] != qd.model || qd.metric != nil && l.metricByName[qd.metric.m.Name] != qd.metric {
			continue // declared on a duplicate definition, which is dropped
		}
		if name := qd.r.Name; name != "" {
			if first, dup := byName[name]; dup {
				l.report(qd.f.pos(qd.nameNode), "rule names are unique across the definitions",
					"duplicate quality rule %s; the first is at %s", name, first.f.pos(first.nameNode))
				continue
			}
			byName[name] = qd
		}
		if qd.metric != nil {
			qd.r.Metric = qd.metric.m
		}
		if qd.kindOK {
			l.resolveQualityRule(qd)
		}
	}
}

// resolveQualityRule resolves a rule of a known kind, reporting what it cannot measure.
func (l *loader) resolveQualityRule(qd *qualityDef) {
	f, r := qd.f, qd.r
	if r.Kind == Reconciliation {
		l.resolveReconciliation(qd)
		return
	}
	if qd.model != nil {
		r.Model = qd.model.m
	}
	switch r.Kind {
	case Uniqueness:
		l.resolveKey(qd)
		return
	}
	switch {
	case qd.dimNode != nil && qd.colNode != nil:
		l.report(f.pos(qd.colNode), "give dimension: or column:, not both", "%s names both a dimension and a column", qd.what)
		return
	case qd.dimNode == nil && qd.colNode == nil:
		if !qd.misspelt {
			l.report(f.pos(qd.node), "name the dimension: (or the source column:) the rule looks at", "%s names no dimension or column", qd.what)
		}
		return
	}
	var t arrow.DataType
	if qd.dimNode != nil {
		md, name := l.qualityModel(qd, qd.dimNode, qd.dimension, "dimension")
		if md == nil {
			return
		}
		d := l.modelDimension(qd, md, qd.dimNode, name)
		if d == nil {
			return
		}
		r.Model, r.Dimension, t = md.m, d, d.Expr.DataType()
	} else {
		md, name := l.qualityModel(qd, qd.colNode, qd.column, "column")
		if md == nil || !md.hasSchema {
			return
		}
		if !l.checkColumn(md, name, qd.colNode) {
			return
		}
		col, err := md.m.Column(name)
		if err != nil {
			l.report(f.pos(qd.colNode), "", "%s: %v", qd.what, err)
			return
		}
		r.Model, r.Column, t = md.m, name, col.Type
	}
	targetNode := qd.dimNode
	if targetNode == nil {
		targetNode = qd.colNode
	}
	switch r.Kind {
	case Freshness:
		if !plan.IsTemporal(t) {
			l.report(f.pos(targetNode), "freshness looks at a time dimension or a date or timestamp column", "%s: %s is %s, not a time", qd.what, r.Target(), article(plan.TypeName(t)))
		}
	case Range:
		l.checkRangeBounds(qd, t)
	case Validity:
		if len(r.Values) == 0 {
			if !qd.misspelt {
				l.report(f.pos(qd.node), "list the allowed values: values: [paid, shipped]", "%s lists no values", qd.what)
			}
			return
		}
		for i, v := range r.Values {
			if _, err := plan.ParseLiteral(v, t, time.UTC); err != nil {
				l.report(f.pos(qd.valueNodes[i]), "", "%s: value %q: %v (%s is %s)", qd.what, v, err, r.Target(), plan.TypeName(t))
			}
		}
	}
}

// qualityModel finds the model a rule's reference reads: a rule of a model reads the model's own
// dimensions and columns, by their names; a rule of a metric names them qualified, model.name.
func (l *loader) qualityModel(qd *qualityDef, node *yaml.Node, ref, member string) (*modelDef, string) {
	f := qd.f
	if qd.model != nil {
		if model, name, ok := cutQualified(ref); ok {
			if model == qd.model.m.Name {
				return qd.model, name
			}
			l.report(f.pos(node), "declare the rule on model "+model+", or on a metric", "%s: a rule of model %s looks at its own %ss, not %s", qd.what, qd.model.m.Name, member, ref)
			return nil, ""
		}
		return qd.model, ref
	}
	model, name, ok := cutQualified(ref)
	if !ok {
		l.report(f.pos(node), "write model."+member+", as in orders.created_at", "%s: %s %q must be qualified by its model", qd.what, member, ref)
		return nil, ""
	}
	md := l.modelByName[model]
	if md == nil {
		if !l.incomplete {
			l.report(f.pos(node), suggestion(model, l.modelNames(), "the models are"), "%s: unknown model %s in %s %s", qd.what, model, member, ref)
		}
		return nil, ""
	}
	return md, name
}

// resolveKey resolves the columns a uniqueness rule checks: those it names, or the primary key
// of the model that declares it.
func (l *loader) resolveKey(qd *qualityDef) {
	f, r := qd.f, qd.r
	if qd.columnsNode == nil {
		if qd.model == nil {
			l.report(f.pos(qd.node), "name the key: columns: [orders.order_id]", "%s is declared on a metric and names no columns", qd.what)
			return
		}
		r.Columns = slices.Clone(qd.model.m.PrimaryKey)
		if len(r.Columns) == 0 || !qd.model.hasSchema {
			r.Model = nil // the model's key or source is wrong, and reported
		}
		return
	}
	if len(qd.columns) == 0 {
		l.report(f.pos(qd.columnsNode), "name the key's columns, or leave columns out for the primary key", "columns of %s is empty", qd.what)
		return
	}
	var model *modelDef
	for i, c := range qd.columns {
		md, name := l.qualityModel(qd, qd.columnNodes[i], c, "column")
		if md == nil {
			return
		}
		if model != nil && md != model {
			l.report(f.pos(qd.columnNodes[i]), "a key's columns are of one model", "%s: column %s is not of model %s", qd.what, c, model.m.Name)
			return
		}
		model = md
		if !md.hasSchema {
			return
		}
		if !l.checkColumn(md, name, qd.columnNodes[i]) {
			return
		}
		r.Columns = append(r.Columns, name)
	}
	r.Model = model.m
}

// checkRangeBounds checks a range's bounds against the type of what it looks at.
func (l *loader) checkRangeBounds(qd *qualityDef, t arrow.DataType) {
	f, r := qd.f, qd.r
	if !plan.IsNumeric(t) && !plan.IsTemporal(t) {
		l.report(f.pos(qd.node), "a range bounds numbers or times; use kind: validity with values: for others", "%s: %s is %s, which has no range", qd.what, r.Target(), article(plan.TypeName(t)))
		return
	}
	if qd.minNode == nil && qd.maxNode == nil {
		if !qd.misspelt {
			l.report(f.pos(qd.node), "give min:, max:, or both (both included)", "%s has no bound", qd.what)
		}
		return
	}
	var bounds []float64
	for _, b := range []struct {
		key  string
		text string
		node *yaml.Node
	}{{"min", r.Min, qd.minNode}, {"max", r.Max, qd.maxNode}} {
		if b.node == nil {
			continue
		}
		lit, err := orderedLiteral(b.text, t, time.UTC)
		if err != nil {
			l.report(f.pos(b.node), "", "%s of %s: %v (%s is %s)", b.key, qd.what, err, r.Target(), plan.TypeName(t))
			return
		}
		if v, ok := literalNumber(lit); ok {
			bounds = append(bounds, v)
		}
	}
	if len(bounds) == 2 && bounds[0] > bounds[1] {
		l.report(f.pos(qd.minNode), "min is the low end, max the high end", "min of %s is above its max", qd.what)
	}
}

// literalNumber returns a number or time literal as a float, to compare two bounds of one type.
func literalNumber(lit *plan.Literal) (float64, bool) {
	switch v := lit.Value.(type) {
	case int64:
		return float64(v), true
	case int32:
		return float64(v), true
	case float64:
		return v, true
	case decimal128.Num:
		return v.ToFloat64(plan.DecimalScale(lit.Type)), true
	}
	return 0, false
}

// resolveReconciliation resolves the metrics, the dimension and the time range a
// reconciliation compares over.
func (l *loader) resolveReconciliation(qd *qualityDef) {
	f, r := qd.f, qd.r
	if qd.metric == nil {
		l.report(f.pos(qd.node), "declare it on one of the metrics it compares, with against: naming the other",
			"%s compares metrics, and is declared on model %s", qd.what, qd.model.m.Name)
		return
	}
	if qd.againstNode == nil {
		if !qd.misspelt {
			l.report(f.pos(qd.node), "name the metric to compare with: against: finance_gmv", "%s names no metric to compare %s with", qd.what, qd.metric.m.Name)
		}
		return
	}
	against := qd.againstNode.Value
	switch md := l.metricByName[against]; {
	case md == nil:
		if !l.incomplete {
			// A rule never compares its metric with itself: suggest the others.
			others := slices.DeleteFunc(l.metricNames(), func(n string) bool { return n == qd.metric.m.Name })
			l.report(f.pos(qd.againstNode), suggestion(against, others, "the metrics are"), "%s: unknown metric %s", qd.what, against)
		}
		return
	case md == qd.metric:
		l.report(f.pos(qd.againstNode), "name another metric", "%s compares %s with itself", qd.what, against)
		return
	default:
		r.Against = md.m
	}
	if qd.byNode != nil {
		d := l.qualityDimension(qd, qd.byNode, "by")
		if d == nil {
			r.Against = nil
			return
		}
		r.By = d
	}
	if tr := r.TimeRange; tr != nil {
		switch {
		case qd.trDimNode == nil:
			if !qd.timeRange.misspelt {
				l.report(f.pos(qd.timeRange.node), "name the time dimension: dimension: orders.created_at", "time_range of %s names no dimension", qd.what)
			}
			r.Against = nil
			return
		case qd.trLastNode != nil && (qd.trFromNode != nil || qd.trToNode != nil):
			l.report(f.pos(qd.trLastNode), "give last:, or from: and to:", "time_range of %s has both last and from or to", qd.what)
			r.Against = nil
			return
		case qd.trLastNode == nil && qd.trFromNode == nil && qd.trToNode == nil:
			l.report(f.pos(qd.timeRange.node), "give last: 30d, or from: and to:", "time_range of %s gives no range", qd.what)
			r.Against = nil
			return
		}
		d := l.qualityDimension(qd, qd.trDimNode, "time_range dimension")
		if d == nil {
			r.Against = nil
			return
		}
		if d.Type != DimensionTime {
			l.report(f.pos(qd.trDimNode), "name a time dimension", "%s: %s is a %s dimension, not a time", qd.what, d.QualifiedName(), d.Type)
			r.Against = nil
			return
		}
		for _, b := range []*yaml.Node{qd.trFromNode, qd.trToNode} {
			if b == nil {
				continue
			}
			if _, err := plan.ParseTime(b.Value, time.UTC); err != nil {
				l.report(f.pos(b), "write a date or time, such as 2025-01-01", "time_range of %s: %v", qd.what, err)
				r.Against = nil
				return
			}
		}
	}
}

// qualityDimension resolves a qualified dimension a reconciliation names.
func (l *loader) qualityDimension(qd *qualityDef, node *yaml.Node, role string) *Dimension {
	model, name, ok := cutQualified(node.Value)
	if !ok {
		l.report(qd.f.pos(node), "write model.dimension, as in orders.region", "%s: %s %q must be qualified by its model", qd.what, role, node.Value)
		return nil
	}
	md := l.modelByName[model]
	if md == nil {
		if !l.incomplete {
			l.report(qd.f.pos(node), suggestion(model, l.modelNames(), "the models are"), "%s: unknown model %s in %s %s", qd.what, model, role, node.Value)
		}
		return nil
	}
	return l.modelDimension(qd, md, node, name)
}

// modelDimension returns the named dimension of md that a rule's node names, reporting one md
// does not have. Nil too for a dimension whose expression is wrong, which is reported.
func (l *loader) modelDimension(qd *qualityDef, md *modelDef, node *yaml.Node, name string) *Dimension {
	d := md.m.Dimension(name)
	if d == nil {
		var names []string
		for _, dd := range md.dims {
			names = append(names, dd.d.Name)
		}
		l.report(qd.f.pos(node), suggestion(name, names, "the dimensions of "+md.m.Name+" are"), "%s: model %s has no dimension %s", qd.what, md.m.Name, name)
		return nil
	}
	if d.Expr == nil {
		return nil
	}
	return d
}

// qualityRules returns the rules that resolved, for the catalog, sorted by name. A rule that
// did not resolve was reported, and the catalog is not made.
func (l *loader) qualityRules() ([]*QualityRule, map[string]*QualityRule) {
	var out []*QualityRule
	byName := map[string]*QualityRule{}
	for _, qd := range l.quality {
		r := qd.r
		if r.Name == "" || byName[r.Name] != nil || !qd.kindOK || (r.Model == nil && r.Against == nil) {
			continue
		}
		if qd.model != nil && l.modelByName[qd.model.m.Name] != qd.model || qd.metric != nil && l.metricByName[qd.metric.m.Name] != qd.metric {
			continue
		}
		byName[r.Name] = r
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, byName
}

// checkQualityChecks compiles every rule's check over the catalog, as it would run, and reports
// the rules that cannot be checked — a reconciliation by a dimension one of its metrics cannot
// be grouped by — at the rule.
func (l *loader) checkQualityChecks(cat *Catalog) {
	at := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, qd := range l.quality {
		r := cat.QualityRule(qd.r.Name)
		if r != qd.r {
			continue
		}
		if _, err := cat.compileQualityCheck(r, CompileOptions{}, at); err != nil {
			l.report(qd.f.pos(qd.node), "", "%s cannot be checked: %v", qd.what, err)
		}
	}
}
