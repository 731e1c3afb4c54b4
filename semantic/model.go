// Package semantic is Koujing's semantic layer: the definitions of data models, dimensions,
// measures and metrics (loaded from YAML and validated as a whole), and the compiler that turns a
// metric query into a logical plan for the engine.
package semantic

import (
	"fmt"
	"sort"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/semantic/store"
)

// Pos is a position in a definitions file; lines and columns count from 1.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Catalog is a loaded and validated set of definitions. It is immutable and safe for concurrent
// use; a new set of definitions is a new Catalog.
type Catalog struct {
	models      []*DataModel
	metrics     []*Metric
	domains     []*Domain
	connections []*Connection

	// governed holds what a catalog built from the metadata store knows besides the definitions:
	// the versions it is built from and the metrics retired; nil for definitions read from files.
	governed *governedCatalog

	modelByName  map[string]*DataModel
	metricByName map[string]*Metric
	domainByName map[string]*Domain
	edges        map[*DataModel][]*Edge

	// quality holds the quality rules the models and metrics declare, sorted by name.
	quality       []*QualityRule
	qualityByName map[string]*QualityRule
}

// Models returns the data models, sorted by name.
func (c *Catalog) Models() []*DataModel { return c.models }

// Metrics returns the metrics, sorted by name.
func (c *Catalog) Metrics() []*Metric { return c.metrics }

// Domains returns the business domains, sorted by name.
func (c *Catalog) Domains() []*Domain { return c.domains }

// Connections returns the warehouse connections the definitions declare, sorted by name.
func (c *Catalog) Connections() []*Connection { return c.connections }

// Model returns the named data model, or nil.
func (c *Catalog) Model(name string) *DataModel { return c.modelByName[name] }

// Metric returns the named metric, or nil.
func (c *Catalog) Metric(name string) *Metric { return c.metricByName[name] }

// Domain returns the named domain, or nil.
func (c *Catalog) Domain(name string) *Domain { return c.domainByName[name] }

// Dimension returns the dimension named "model.dimension", or nil.
func (c *Catalog) Dimension(qualified string) *Dimension {
	if m, name := c.modelOf(qualified); m != nil {
		return m.Dimension(name)
	}
	return nil
}

// Measure returns the measure named "model.measure", or nil.
func (c *Catalog) Measure(qualified string) *Measure {
	if m, name := c.modelOf(qualified); m != nil {
		return m.Measure(name)
	}
	return nil
}

// modelOf splits "model.member" and returns the model (nil if there is none) and the member.
func (c *Catalog) modelOf(qualified string) (*DataModel, string) {
	model, name, ok := cutQualified(qualified)
	if !ok {
		return nil, ""
	}
	return c.modelByName[model], name
}

// Domain is a business area that owns metrics: sales, finance, supply chain.
type Domain struct {
	Name        string
	Label       string
	Description string
	Owner       string
	// Steward looks after the domain's data day to day. Categories, when listed, are the
	// categories its metrics may be in.
	Steward    string
	Categories []string
	// Review says how changes to the domain's definitions are reviewed.
	Review ReviewSettings
	// Version is the number of the domain's version in the catalog; 0 when definitions are read
	// from files rather than the metadata store.
	Version int
	Pos     Pos
}

// The review settings of a domain that does not state them.
const (
	DefaultApprovals = 1
	DefaultReviewSLA = 72 * time.Hour
)

// ReviewSettings are how a domain reviews changes to its definitions: how many approvals publish
// a change, how long each step may take, who is named to review, who is told, and where the
// workflow's events are sent.
type ReviewSettings struct {
	Approvals   int
	SLA         time.Duration
	Reviewers   []string
	Subscribers []string
	Webhooks    []string
}

// Source says where a data model's rows come from: a table of a connection (the embedded demo is
// the connection "demo"), or a CSV or Parquet file.
type Source struct {
	Connection string
	Table      string
	// File is the path of a CSV or Parquet file, resolved against the definitions directory;
	// Path is that path as the definition wrote it, which is what users are shown.
	File string
	Path string
	Pos  Pos
}

// String describes the source for users: "demo:orders", or the file's path as written.
func (s Source) String() string {
	if s.File != "" {
		return s.Path
	}
	return s.Connection + ":" + s.Table
}

// DemoConnection is the name of the built-in connection that serves the generated demo tables.
const DemoConnection = "demo"

// Connection is a PostgreSQL-compatible warehouse that models read, declared in the definitions.
// Its URL comes from an environment variable or a file (a secret mounted by the platform), or,
// for local use, is written in the definition; the loader resolves it.
type Connection struct {
	Name string
	// URL is the connection string, resolved; URLFrom says where it came from, for messages.
	URL     string
	URLFrom string
	// PoolSize is the most connections kept open to the warehouse.
	PoolSize int32
	// StatementTimeout, when not zero, bounds each statement on the warehouse's side.
	StatementTimeout time.Duration
	Pos              Pos
}

// DataModel is a table or view with a primary key, dimensions, measures and relationships.
type DataModel struct {
	Name        string
	Label       string
	Description string
	Source      Source
	PrimaryKey  []string
	// Schema is the source table's schema, as the source reported it when the catalog loaded.
	Schema        *arrow.Schema
	Dimensions    []*Dimension
	Measures      []*Measure
	Relationships []*Relationship
	// Version is the number of the model's version in the catalog (dimensions and measures are
	// versioned with their model); 0 when definitions are read from files.
	Version int
	Pos     Pos
}

// Dimension returns the model's dimension of that name, or nil.
func (m *DataModel) Dimension(name string) *Dimension {
	for _, d := range m.Dimensions {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// Measure returns the model's measure of that name, or nil.
func (m *DataModel) Measure(name string) *Measure {
	for _, x := range m.Measures {
		if x.Name == name {
			return x
		}
	}
	return nil
}

// Column returns the reference to one of the model's source columns as the compiler scans it:
// qualified by the model's name.
func (m *DataModel) Column(name string) (*plan.Column, error) {
	idx := m.Schema.FieldIndices(name)
	if len(idx) != 1 {
		return nil, fmt.Errorf("model %s has no column %q", m.Name, name)
	}
	return plan.NewColumn(m.Name+"."+name, m.Schema.Field(idx[0]).Type), nil
}

// DimensionType is the kind of values a dimension holds.
type DimensionType string

// The dimension types.
const (
	DimensionString  DimensionType = "string"
	DimensionNumber  DimensionType = "number"
	DimensionBoolean DimensionType = "boolean"
	DimensionTime    DimensionType = "time"
)

// Dimension is an attribute of a model to group or filter by.
type Dimension struct {
	Model       *DataModel
	Name        string
	Label       string
	Description string
	Synonyms    []string
	// Tags label the dimension for access policies, such as "pii".
	Tags []string
	// Category, Owner and Steward place the dimension in the catalog, as a metric's do.
	Category, Owner, Steward string
	Type                     DimensionType
	// SQL is the expression as written (the column of the same name when the definition gives none).
	SQL string
	// Expr is SQL bound to the model's columns, qualified by the model's name.
	Expr plan.Expr
	// Granularities lists the units a time dimension may be truncated to, finest first.
	Granularities []plan.TimeUnit
	Pos           Pos
}

// QualifiedName returns "model.dimension".
func (d *Dimension) QualifiedName() string { return d.Model.Name + "." + d.Name }

// SupportsGranularity reports whether a time dimension may be truncated to u: a unit it lists,
// or a fiscal month, quarter or year where it lists the calendar one.
func (d *Dimension) SupportsGranularity(u plan.TimeUnit) bool {
	for _, g := range d.Granularities {
		if g == u || u.IsFiscal() && g == map[plan.TimeUnit]plan.TimeUnit{plan.FiscalMonth: plan.Month, plan.FiscalQuarter: plan.Quarter, plan.FiscalYear: plan.Year}[u] {
			return true
		}
	}
	return false
}

// Measure is an aggregation over one model: sum(amount), count(*), count_distinct(customer_id).
type Measure struct {
	Model       *DataModel
	Name        string
	Label       string
	Description string
	Agg         plan.AggFunc
	// SQL is the aggregated expression as written; empty for count of rows.
	SQL string
	// Expr is SQL bound to the model's columns; nil for count of rows.
	Expr plan.Expr
	// Fraction is the percentile a percentile measure computes, from 0 to 1.
	Fraction float64
	// SemiAdditive, when set, makes the measure a balance: it adds up across the other
	// dimensions but, over time, takes the value at one moment of each group.
	SemiAdditive *SemiAdditive
	Pos          Pos
}

// SemiAdditive says how a balance — stock on hand, an account's balance — aggregates over time:
// in each group, only the rows at the group's last (or first) value of the time dimension Over
// count, and they are aggregated as the measure says. "Units on hand by warehouse and month" is
// each warehouse's units at its last snapshot of the month, summed over products.
type SemiAdditive struct {
	// Over is the time dimension of the measure's model whose last or first value counts.
	Over *Dimension
	// First takes the first value instead of the last.
	First bool
	Pos   Pos
}

// QualifiedName returns "model.measure".
func (m *Measure) QualifiedName() string { return m.Model.Name + "." + m.Name }

// Cardinality is how many rows of the target model match one row of the source model.
type Cardinality string

// The relationship cardinalities.
const (
	ManyToOne Cardinality = "many_to_one"
	OneToMany Cardinality = "one_to_many"
	OneToOne  Cardinality = "one_to_one"
)

// Inverse returns the cardinality seen from the other end.
func (c Cardinality) Inverse() Cardinality {
	switch c {
	case ManyToOne:
		return OneToMany
	case OneToMany:
		return ManyToOne
	}
	return c
}

// FansOut reports whether following the relationship can repeat a source row.
func (c Cardinality) FansOut() bool { return c == OneToMany }

// Relationship is a declared join from one model to another.
type Relationship struct {
	From        *DataModel
	To          *DataModel
	Cardinality Cardinality
	// FromColumns and ToColumns are the join keys, pairwise.
	FromColumns []string
	ToColumns   []string
	Pos         Pos
}

// MetricKind says how a metric is built.
type MetricKind string

// The metric kinds.
const (
	// Atomic metrics aggregate one measure.
	Atomic MetricKind = "atomic"
	// Derived metrics restrict another metric with filters.
	Derived MetricKind = "derived"
	// Composite metrics combine other metrics arithmetically, after aggregation.
	Composite MetricKind = "composite"
)

// Metric is a named, owned business metric.
type Metric struct {
	Name        string
	Label       string
	Description string
	Synonyms    []string
	Unit        string
	Format      string
	Owner       string
	Domain      string
	Tags        []string
	Kind        MetricKind
	// Category groups the metric within its domain ("revenue", "conversion"); one of the
	// domain's categories when the domain lists them. Steward is who looks after its data day
	// to day, beside the owner accountable for its definition.
	Category string
	Steward  string

	// Measure is the aggregated measure of an atomic metric.
	Measure *Measure
	// Base and Filters define a derived metric: Base restricted to rows where every filter holds.
	Base    *Metric
	Filters []*Filter
	// SQL is a composite metric's formula as written, over other metrics' names; Formula is it
	// parsed, with each name resolved.
	SQL     string
	Formula *Formula

	// Window, set on a derived metric, aggregates the base over a span of time ending with
	// each period of the query's time dimension instead of over the period alone: the last 7
	// days, month to date, a running total. Offset, set on a derived metric, is the base's
	// value a number of periods before. A metric has at most one of them.
	Window *TimeWindow
	Offset *TimeOffset

	// FillNullsWith, when set, is the number (as written) the metric shows where it has no
	// value: in a period a time spine adds, or a group only other metrics have rows in.
	FillNullsWith string
	// JoinToTimeSpine makes every query of the metric by a time dimension show each period of
	// the range, with or without rows, as the query's fillGaps does.
	JoinToTimeSpine bool

	// Version is the number of the metric's version in the catalog; 0 when definitions are read
	// from files rather than the metadata store. Deprecation is set when the metric is
	// deprecated: queries still answer, with a warning naming what replaces it.
	Version     int
	Deprecation *store.Deprecation

	Pos Pos
}

// DeprecationNotice says that the metric is deprecated, what replaces it, when it goes and why —
// "deprecated; use coupon_spend instead (it will be retired on 2027-03-01): …" — or "" when it
// is not deprecated. Every surface words the warning so.
func (m *Metric) DeprecationNotice() string {
	d := m.Deprecation
	if d == nil {
		return ""
	}
	w := "deprecated"
	if d.Replacement != "" {
		w += "; use " + d.Replacement + " instead"
	}
	if !d.Sunset.IsZero() {
		w += " (it will be retired on " + d.Sunset.Format(time.DateOnly) + ")"
	}
	if d.Note != "" {
		w += ": " + d.Note
	}
	return w
}

// DependsOn returns the metrics this one is built on directly: the base of a derived metric or
// the operands of a composite one, each once, sorted by name.
func (m *Metric) DependsOn() []*Metric {
	switch m.Kind {
	case Derived:
		return []*Metric{m.Base}
	case Composite:
		seen := map[*Metric]bool{}
		var out []*Metric
		m.Formula.walkMetrics(func(x *Metric) {
			if !seen[x] {
				seen[x] = true
				out = append(out, x)
			}
		})
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out
	}
	return nil
}

// TimeWindow is the span of time a windowed metric aggregates for each period: its rows from
// where the window starts to where the period ends. Every aggregate is computed over the
// window's rows — a rolling count of distinct buyers counts each buyer once in the window, not
// once a day — and a composite is computed from its operands' windowed values.
type TimeWindow struct {
	// Kind is rolling (the last N Units), to date (from the start of the Unit period holding
	// the period) or running (from the start of the query's time range, or of the data).
	Kind plan.WindowKind
	N    int64
	Unit plan.TimeUnit
	// Text is the window as written: "7 days", "month to date", "running".
	Text string
	Pos  Pos
}

// TimeOffset is how far back an offset metric reads its base: N periods of Unit, as a
// comparison looks back (see Comparison).
type TimeOffset struct {
	N    int64
	Unit plan.TimeUnit
	// Text is the offset as written: "1 year".
	Text string
	Pos  Pos
}

// FilterOp is a filter's comparison.
type FilterOp string

// The filter operators. Equals with several values means any of them, like In.
const (
	Equals      FilterOp = "equals"
	NotEquals   FilterOp = "not_equals"
	InList      FilterOp = "in"
	NotInList   FilterOp = "not_in"
	Gt          FilterOp = "gt"
	Gte         FilterOp = "gte"
	Lt          FilterOp = "lt"
	Lte         FilterOp = "lte"
	Between     FilterOp = "between"
	IsNullOp    FilterOp = "is_null"
	IsNotNullOp FilterOp = "is_not_null"
	ContainsOp  FilterOp = "contains"
	NotContains FilterOp = "not_contains"
)

// FilterOps lists every filter operator.
var FilterOps = []FilterOp{Equals, NotEquals, InList, NotInList, Gt, Gte, Lt, Lte, Between, IsNullOp, IsNotNullOp, ContainsOp, NotContains}

// Filter restricts rows by one dimension. Values are text and are read as the dimension's type
// when the filter is compiled, never spliced into SQL.
type Filter struct {
	// Dimension is the qualified name "model.dimension".
	Dimension string
	Op        FilterOp
	Values    []string
	Pos       Pos
}

func (f *Filter) String() string {
	return fmt.Sprintf("%s %s %q", f.Dimension, f.Op, f.Values)
}

func cutQualified(s string) (model, name string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:], i > 0 && i < len(s)-1
		}
	}
	return "", "", false
}
