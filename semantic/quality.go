package semantic

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/koujing/koujing/semantic/store"
)

// QualityKind is what a quality rule (质量规则) checks.
type QualityKind string

// The kinds of quality rules. Each measures one number, where larger is worse, and compares it
// with the rule's warning threshold and red line.
const (
	// Completeness measures the share of a model's rows whose dimension (or column) is NULL.
	Completeness QualityKind = "completeness"
	// Uniqueness counts the rows whose key (the primary key, or the columns the rule names) some
	// earlier row already has: the rows less the distinct keys.
	Uniqueness QualityKind = "uniqueness"
	// Freshness measures the age, in seconds, of the newest value of a time dimension: how long
	// ago the latest row happened.
	Freshness QualityKind = "freshness"
	// Range measures the share of the non-NULL values of a dimension outside [min, max].
	Range QualityKind = "range"
	// Validity measures the share of the non-NULL values of a dimension not among its allowed
	// values.
	Validity QualityKind = "validity"
	// Reconciliation measures how far two metrics disagree: the relative difference
	// |a − b| / max(|a|, |b|), overall or, by a dimension, in the group where it is largest.
	Reconciliation QualityKind = "reconciliation"
)

// QualityKinds lists the kinds of quality rules.
var QualityKinds = []QualityKind{Completeness, Uniqueness, Freshness, Range, Validity, Reconciliation}

// QualityUnit is what a rule's measured value and thresholds count.
type QualityUnit string

// The units of measured values.
const (
	// UnitRatio: a share from 0 to 1 (a relative difference may exceed 1 when signs differ).
	UnitRatio QualityUnit = "ratio"
	// UnitCount: a number of rows.
	UnitCount QualityUnit = "count"
	// UnitSeconds: a span of time, in seconds.
	UnitSeconds QualityUnit = "seconds"
)

// Unit returns the unit of the values rules of the kind measure.
func (k QualityKind) Unit() QualityUnit {
	switch k {
	case Uniqueness:
		return UnitCount
	case Freshness:
		return UnitSeconds
	}
	return UnitRatio
}

// QualitySeverity is how much a rule weighs in quality scores.
type QualitySeverity string

// The severities of rules, with their weights in scores (QualitySeverity.Weight).
const (
	SeverityMinor    QualitySeverity = "minor"
	SeverityMajor    QualitySeverity = "major"
	SeverityCritical QualitySeverity = "critical"
)

// Weight is what a rule of the severity counts for in a score: minor 1, major 2, critical 3.
func (s QualitySeverity) Weight() float64 {
	switch s {
	case SeverityMinor:
		return 1
	case SeverityCritical:
		return 3
	}
	return 2
}

// QualityRule is a check of the data behind a model or metric, declared in its definition (the
// quality: list of a model or metric), so that it is versioned and reviewed with it. Each rule
// measures one value and compares it with a warning threshold (Warn) and a red line (Fail): a
// value above Fail fails, above Warn warns, and otherwise passes. Rule names are unique across
// the definitions.
type QualityRule struct {
	Name        string
	Description string
	Kind        QualityKind
	// Metric is the metric that declares the rule; nil for a rule a model declares.
	Metric *Metric
	// Model is the model whose rows the check reads: the one that declares the rule, or the one
	// of the dimension or columns a metric's rule names. Nil for reconciliation.
	Model *DataModel
	// Dimension or Column (a column of Model's source) is what completeness, freshness, range
	// and validity look at.
	Dimension *Dimension
	Column    string
	// Columns are the key uniqueness checks: the model's primary key unless the rule names
	// others.
	Columns []string
	// Min and Max bound a range (either may be empty, for no bound), as written; Values are
	// validity's allowed values, as written.
	Min, Max string
	Values   []string
	// Against is the metric a reconciliation compares Metric with; By, when set, compares them
	// in each group of a dimension, and TimeRange restricts both to a range of time.
	Against   *Metric
	By        *Dimension
	TimeRange *QualityTimeRange
	// Warn and Fail are the thresholds, in the kind's unit; either may be nil, not both.
	Warn, Fail *float64
	Severity   QualitySeverity
	// Schedule is how often the scheduler runs the rule; zero for on demand only.
	Schedule time.Duration
	Pos      Pos
}

// QualityTimeRange restricts a reconciliation to a range of a time dimension: [From, To) as a
// query's time range reads them, or the Last span of time before the check runs.
type QualityTimeRange struct {
	// Dimension is the qualified name of a time dimension.
	Dimension string
	From, To  string
	Last      time.Duration
}

// at returns the time range of a query that a check running at now asks.
func (tr *QualityTimeRange) at(now time.Time) *TimeRange {
	if tr == nil {
		return nil
	}
	if tr.Last > 0 {
		return &TimeRange{Dimension: tr.Dimension, From: now.Add(-tr.Last).UTC().Format(time.RFC3339Nano), To: now.UTC().Format(time.RFC3339Nano)}
	}
	return &TimeRange{Dimension: tr.Dimension, From: tr.From, To: tr.To}
}

// Subject is the definition that declares the rule, as store records name it: "metric:NAME" or
// "model:NAME".
func (r *QualityRule) Subject() string {
	if r.Metric != nil {
		return string(store.KindMetric) + ":" + r.Metric.Name
	}
	return string(store.KindModel) + ":" + r.Model.Name
}

// Unit is the unit of the rule's value and thresholds.
func (r *QualityRule) Unit() QualityUnit { return r.Kind.Unit() }

// Target says what the rule looks at, as a qualified name: the dimension or column
// ("orders.amount"), the key ("orders.(order_id)"), or the metric compared with ("finance_gmv").
func (r *QualityRule) Target() string {
	switch {
	case r.Dimension != nil:
		return r.Dimension.QualifiedName()
	case r.Column != "":
		return r.Model.Name + "." + r.Column
	case r.Kind == Uniqueness:
		return r.Model.Name + ".(" + strings.Join(r.Columns, ", ") + ")"
	case r.Against != nil:
		return r.Against.Name
	}
	return ""
}

// Objects are the definitions the rule's check reads, as runs record them: its subject, the
// model it reads, and the metric it compares with.
func (r *QualityRule) Objects() []string {
	var out []string
	add := func(kind store.Kind, name string) {
		if o := string(kind) + ":" + name; !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	if r.Metric != nil {
		add(store.KindMetric, r.Metric.Name)
	}
	if r.Model != nil {
		add(store.KindModel, r.Model.Name)
	}
	if r.Against != nil {
		add(store.KindMetric, r.Against.Name)
	}
	return out
}

// Threshold describes the thresholds in words: "warns above 1%, fails above 5%".
func (r *QualityRule) Threshold() string { return DescribeThreshold(r.Kind, r.Warn, r.Fail) }

// Judge returns the status of a measured value under the rule's thresholds: above Fail fails,
// above Warn warns, anything else passes.
func (r *QualityRule) Judge(value float64) store.QualityStatus {
	return judge(value, r.Warn, r.Fail)
}

func judge(value float64, warn, fail *float64) store.QualityStatus {
	switch {
	case fail != nil && value > *fail:
		return store.QualityFail
	case warn != nil && value > *warn:
		return store.QualityWarn
	}
	return store.QualityPass
}

// DescribeThreshold describes a rule's thresholds in words, in the kind's unit.
func DescribeThreshold(kind QualityKind, warn, fail *float64) string {
	var parts []string
	if warn != nil {
		parts = append(parts, "warns above "+FormatQualityValue(kind.Unit(), *warn))
	}
	if fail != nil {
		parts = append(parts, "fails above "+FormatQualityValue(kind.Unit(), *fail))
	}
	return strings.Join(parts, ", ")
}

// FormatQualityValue writes a measured value for people: a share as a percentage ("0.52%"), a
// count as a whole number, seconds as a duration ("26h0m0s").
func FormatQualityValue(u QualityUnit, v float64) string {
	switch u {
	case UnitCount:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case UnitSeconds:
		return formatAge(v)
	}
	return strconv.FormatFloat(v*100, 'g', 4, 64) + "%"
}

// formatAge writes a span of seconds as a person reads an age: its two largest units of days,
// hours, minutes and seconds ("333d 10h", "1d", "1h 30m", "45s"), rounded to the second.
func formatAge(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) >= 1e15 {
		return strconv.FormatFloat(v, 'g', -1, 64) + "s"
	}
	sign, rest := "", int64(math.Round(v))
	if rest < 0 {
		sign, rest = "-", -rest
	}
	var parts []string
	for _, u := range []struct {
		seconds int64
		name    string
	}{{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}} {
		if n := rest / u.seconds; n > 0 && len(parts) < 2 {
			parts = append(parts, strconv.FormatInt(n, 10)+u.name)
		} else if len(parts) > 0 {
			// The units after the first are consecutive: "1d 0h" is written "1d".
			parts = append(parts, "")
		}
		rest %= u.seconds
		if len(parts) == 2 {
			break
		}
	}
	out := strings.TrimSpace(strings.Join(parts, " "))
	if out == "" {
		out = "0s"
	}
	return sign + out
}

// QualityRules returns every quality rule of the definitions, sorted by name.
func (c *Catalog) QualityRules() []*QualityRule { return c.quality }

// QualityRule returns the named rule, or nil.
func (c *Catalog) QualityRule(name string) *QualityRule { return c.qualityByName[name] }

// QualityRulesOf returns the rules that bear on a metric, sorted by name: its own, those of
// the metrics it is built on (all the way down), and those of the models it aggregates. They are
// the rules a metric's quality score counts.
func (c *Catalog) QualityRulesOf(m *Metric) []*QualityRule {
	if len(c.quality) == 0 {
		return nil
	}
	metrics := map[*Metric]bool{}
	var walk func(*Metric)
	walk = func(x *Metric) {
		if metrics[x] {
			return
		}
		metrics[x] = true
		for _, d := range x.DependsOn() {
			walk(d)
		}
	}
	walk(m)
	models := map[*DataModel]bool{}
	for _, dm := range m.MeasureModels() {
		models[dm] = true
	}
	var out []*QualityRule
	for _, r := range c.quality {
		if r.Metric != nil && metrics[r.Metric] || r.Metric == nil && models[r.Model] {
			out = append(out, r)
		}
	}
	return out
}

// QualityRulesOf returns every rule that bears on a metric in the definitions the caller is
// served (see Catalog.QualityRulesOf), whether it may see them or not: the rules the metric's
// score counts. VisibleQualityRules keeps those it may be shown.
func (a *Access) QualityRulesOf(m *Metric) []*QualityRule { return a.cat.QualityRulesOf(m) }

// QualityRulesOn returns the rules a model declares, sorted by name.
func (c *Catalog) QualityRulesOn(m *DataModel) []*QualityRule {
	var out []*QualityRule
	for _, r := range c.quality {
		if r.Metric == nil && r.Model == m {
			out = append(out, r)
		}
	}
	return out
}

// QualityRulesOfDomain returns the rules that bear on the domain's metrics the caller may read,
// each once, sorted by name: the rules a domain's score counts.
func (a *Access) QualityRulesOfDomain(d *Domain) []*QualityRule {
	seen := map[*QualityRule]bool{}
	var out []*QualityRule
	for _, m := range a.Metrics() {
		if m.Domain != d.Name {
			continue
		}
		for _, r := range a.cat.QualityRulesOf(m) {
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// CanReadQualityRule reports whether the caller may see a rule: every definition its check
// reads must be one it may see — the metric that declares it, the model it reads, the metric it
// compares with.
func (a *Access) CanReadQualityRule(r *QualityRule) bool {
	if r.Metric != nil && !a.CanReadMetric(r.Metric) || r.Against != nil && !a.CanReadMetric(r.Against) {
		return false
	}
	return r.Model == nil || a.CanReadModel(r.Model)
}

// QualityRule returns the named rule, or nil when there is none the caller may see.
func (a *Access) QualityRule(name string) *QualityRule {
	if r := a.cat.QualityRule(name); r != nil && a.CanReadQualityRule(r) {
		return r
	}
	return nil
}

// FindQualityRule returns the named rule, or an ErrNotFound error that suggests a near name.
func (a *Access) FindQualityRule(name string) (*QualityRule, error) {
	if r := a.QualityRule(name); r != nil {
		return r, nil
	}
	var names []string
	for _, r := range a.QualityRules() {
		names = append(names, r.Name)
	}
	if c := closest(name, names); c != "" {
		return nil, notFound("there is no quality rule %s; did you mean %s?", name, c)
	}
	return nil, notFound("there is no quality rule %s", name)
}

// QualityRules returns the rules the caller may see, sorted by name.
func (a *Access) QualityRules() []*QualityRule {
	return filterVisible(a.cat.quality, a.CanReadQualityRule)
}

// VisibleQualityRules keeps the rules the caller may see.
func (a *Access) VisibleQualityRules(rules []*QualityRule) []*QualityRule {
	return filterVisible(rules, a.CanReadQualityRule)
}

// CanReadQualityRun reports whether the caller may see a run: it must be able to see every
// definition the run's check read.
func (a *Access) CanReadQualityRun(r store.QualityRun) bool {
	objects := r.Objects
	if len(objects) == 0 {
		objects = []string{r.Subject}
	}
	for _, o := range objects {
		kind, name, _ := strings.Cut(o, ":")
		switch store.Kind(kind) {
		case store.KindMetric:
			if a.Metric(name) == nil {
				return false
			}
		case store.KindModel:
			if a.Model(name) == nil {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// QualityScore is a score (数据一致性评分) over the latest runs of a set of rules.
type QualityScore struct {
	// Score is from 0 to 100: the rules' weights (QualitySeverity.Weight) times their credit
	// (1 for a pass, ½ for a warning, 0 for a failure), summed and divided by the weights. Rules
	// that never ran, or whose latest run could not measure (an error), do not count. Nil when
	// no rule counts.
	Score *float64
	// Status is the worst latest status, failing first, then errors, warnings, passes; empty
	// when no rule has run.
	Status store.QualityStatus
	// Rules counts the rules; Measured those that count in the score; Failing and Warning
	// those whose latest run failed or warned.
	Rules, Measured, Failing, Warning int
}

// statusRank orders statuses from best to worst.
var statusRank = map[store.QualityStatus]int{store.QualityPass: 1, store.QualityWarn: 2, store.QualityError: 3, store.QualityFail: 4}

// WorseQualityStatus returns the worse of two statuses; an empty one is better than any.
func WorseQualityStatus(a, b store.QualityStatus) store.QualityStatus {
	if statusRank[b] > statusRank[a] {
		return b
	}
	return a
}

// ScoreQuality scores rules by their latest runs (by rule name; a rule without one never ran).
func ScoreQuality(rules []*QualityRule, latest map[string]store.QualityRun) QualityScore {
	s := QualityScore{Rules: len(rules)}
	var weights, credit float64
	for _, r := range rules {
		run, ok := latest[r.Name]
		if !ok {
			continue
		}
		s.Status = WorseQualityStatus(s.Status, run.Status)
		w := r.Severity.Weight()
		switch run.Status {
		case store.QualityPass:
			credit += w
		case store.QualityWarn:
			credit += w / 2
			s.Warning++
		case store.QualityFail:
			s.Failing++
		default:
			continue
		}
		weights += w
		s.Measured++
	}
	if weights > 0 {
		score := math.Round(credit/weights*100*100) / 100
		s.Score = &score
	}
	return s
}

// String describes a rule for logs: "completeness rule orders_amount_complete on model orders".
func (r *QualityRule) String() string {
	return fmt.Sprintf("%s rule %s on %s", r.Kind, r.Name, strings.Replace(r.Subject(), ":", " ", 1))
}
