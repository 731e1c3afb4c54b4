package mcp

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/semantic"
)

// versionText is how the tools name the version of a definition that answers: its number, or
// "current" for definitions read from files, which carry none.
func versionText(v int) string {
	if v == 0 {
		return "current"
	}
	return strconv.Itoa(v)
}

// SearchInput is search_metrics's input.
type SearchInput struct {
	Text   string `json:"text,omitempty" jsonschema:"words to look for in metric names, labels, descriptions and synonyms, in any language and case, such as \"paid GMV\" or \"下单GMV\"; when no metric holds every word, words are left out and ignored lists them. Leave it out to list the metrics"`
	Domain string `json:"domain,omitempty" jsonschema:"only the metrics of this business domain, such as sales or finance"`
	Limit  int    `json:"limit,omitempty" jsonschema:"the most metrics to return; 20 when left out, at most 100"`
}

// SearchOutput is search_metrics's answer.
type SearchOutput struct {
	Metrics []MetricSummary `json:"metrics"`
	Total   int             `json:"total" jsonschema:"how many metrics match, those past the limit included"`
	Ignored []string        `json:"ignored,omitempty" jsonschema:"the words of text, as typed, left out because no metric holds them all together"`
	Note    string          `json:"note,omitempty"`
}

// MetricSummary is a metric as a search lists it.
type MetricSummary struct {
	Name        string   `json:"name" jsonschema:"the exact name to pass to the other tools"`
	Label       string   `json:"label,omitempty"`
	Description string   `json:"description,omitempty"`
	Synonyms    []string `json:"synonyms,omitempty"`
	Unit        string   `json:"unit,omitempty"`
	Domain      string   `json:"domain,omitempty"`
	Kind        string   `json:"kind" jsonschema:"atomic (one measure), derived (another metric, filtered) or composite (arithmetic over metrics)"`
	Version     string   `json:"version" jsonschema:"the version of the definition that answers: a number, or current for definitions that carry none"`
}

const (
	defaultSearchLimit = 20
	maxSearchLimit     = 100
)

func (s *Server) searchMetrics(ctx context.Context, _ *sdk.CallToolRequest, in SearchInput) (*sdk.CallToolResult, SearchOutput, error) {
	acc, err := s.access(ctx)
	if err != nil {
		return nil, SearchOutput{}, s.toolError(ctx, "search_metrics", err)
	}
	limit, err := limitOf(in.Limit, defaultSearchLimit, maxSearchLimit)
	if err != nil {
		return nil, SearchOutput{}, s.toolError(ctx, "search_metrics", err)
	}
	res, err := acc.SearchMetrics(semantic.MetricSearch{Text: in.Text, Domain: in.Domain, Relax: true})
	if err != nil {
		return nil, SearchOutput{}, s.toolError(ctx, "search_metrics", err)
	}
	found := res.Metrics
	out := SearchOutput{Metrics: []MetricSummary{}, Total: len(found), Ignored: res.Ignored}
	var notes []string
	if len(res.Ignored) > 0 {
		notes = append(notes, "ignored: "+strings.Join(res.Ignored, ", ")+" (no metric holds every word; if these name a value, such as a region, filter query_metrics by it)")
	}
	for i, m := range found {
		if i == limit {
			notes = append(notes, fmt.Sprintf("%d more metrics match; search with more words or a domain, or raise limit", len(found)-limit))
			break
		}
		out.Metrics = append(out.Metrics, MetricSummary{Name: m.Name, Label: m.Label, Description: m.Description, Synonyms: m.Synonyms,
			Unit: m.Unit, Domain: m.Domain, Kind: string(m.Kind), Version: versionText(m.Version)})
	}
	if len(found) == 0 {
		var domains []string
		for _, d := range acc.Domains() {
			domains = append(domains, d.Name)
		}
		notes = append(notes, "no metric matches; try other words (synonyms are searched too), or leave text out to list the metrics. The domains are "+
			strings.Join(domains, ", "))
	}
	out.Note = strings.Join(notes, "; ")
	return nil, out, nil
}

// limitOf reads a tool's limit: def when left out, and at most max.
func limitOf(limit, def, max int) (int, error) {
	switch {
	case limit == 0:
		return def, nil
	case limit < 0 || limit > max:
		return 0, invalidf("limit %d is outside 1 to %d", limit, max)
	}
	return limit, nil
}

// MetricInput names one metric.
type MetricInput struct {
	Metric string `json:"metric" jsonschema:"the metric's exact name, as search_metrics lists it, such as gmv_paid"`
}

// MetricDescription is describe_metric's answer.
type MetricDescription struct {
	MetricSummary
	Definition     string                `json:"definition" jsonschema:"the definition in one line: an aggregate over a model, a metric where conditions hold, or a formula over metrics"`
	Format         string                `json:"format,omitempty"`
	Owner          string                `json:"owner,omitempty" jsonschema:"who is accountable for the definition"`
	Tags           []string              `json:"tags,omitempty"`
	BuiltOn        []string              `json:"builtOn,omitempty" jsonschema:"the metrics it is computed from"`
	Filters        []string              `json:"filters,omitempty" jsonschema:"the conditions a derived metric's rows meet"`
	Dimensions     []string              `json:"dimensions" jsonschema:"the dimensions it can be grouped and filtered by (see list_dimensions for their details)"`
	TimeDimensions []TimeDimension       `json:"timeDimensions,omitempty" jsonschema:"those of them that are times, with the granularities they can be grouped by"`
	Caveats        []string              `json:"caveats,omitempty" jsonschema:"what to know before using or combining its values"`
	Deprecation    string                `json:"deprecation,omitempty" jsonschema:"set when the metric is deprecated: what to use instead, and when it is retired"`
	Quality        *semantic.QualityFlag `json:"quality,omitempty" jsonschema:"set when its data quality rules did not all pass at their latest runs: status, quality score out of 100, and each rule you may see that did not pass"`
}

// TimeDimension is a time dimension and its granularities.
type TimeDimension struct {
	Name          string   `json:"name"`
	Granularities []string `json:"granularities"`
}

func (s *Server) describeMetric(ctx context.Context, _ *sdk.CallToolRequest, in MetricInput) (*sdk.CallToolResult, MetricDescription, error) {
	acc, err := s.access(ctx)
	if err != nil {
		return nil, MetricDescription{}, s.toolError(ctx, "describe_metric", err)
	}
	m, err := acc.FindMetric(in.Metric)
	if err != nil {
		return nil, MetricDescription{}, s.toolError(ctx, "describe_metric", err)
	}
	out := MetricDescription{
		MetricSummary: MetricSummary{Name: m.Name, Label: m.Label, Description: m.Description, Synonyms: m.Synonyms, Unit: m.Unit,
			Domain: m.Domain, Kind: string(m.Kind), Version: versionText(m.Version)},
		Definition: m.Expression(), Format: m.Format, Owner: m.Owner, Tags: m.Tags, Dimensions: []string{},
		Caveats: caveats(m), Deprecation: m.DeprecationNotice(),
	}
	if out.Owner == "" {
		if d := acc.Domain(m.Domain); d != nil {
			out.Owner = d.Owner
		}
	}
	if flags := s.svc.ResultQualityFlags(ctx, acc, []string{m.Name}); len(flags) == 1 {
		out.Quality = &flags[0]
		out.Caveats = append(out.Caveats, "data quality: "+flags[0].Message())
	}
	for _, dep := range m.DependsOn() {
		out.BuiltOn = append(out.BuiltOn, dep.Name)
	}
	for _, f := range m.Filters {
		out.Filters = append(out.Filters, f.Condition())
	}
	for _, d := range acc.DimensionsFor(m) {
		out.Dimensions = append(out.Dimensions, d.QualifiedName())
		if d.Type == semantic.DimensionTime {
			out.TimeDimensions = append(out.TimeDimensions, TimeDimension{Name: d.QualifiedName(), Granularities: granularities(d)})
		}
	}
	return nil, out, nil
}

func granularities(d *semantic.Dimension) []string {
	out := make([]string, len(d.Granularities))
	for i, g := range d.Granularities {
		out[i] = strings.ToUpper(g.String())
	}
	return out
}

// caveats says what to know before using or combining a metric's values: how a composite is
// computed, which rows a derived metric counts, and which aggregates do not add up.
func caveats(m *semantic.Metric) []string {
	var out []string
	switch m.Kind {
	case semantic.Composite:
		if divides(m.Formula) {
			out = append(out, "ratio: divides totals — computed from each group's aggregated values, never by averaging per-row ratios; "+
				"so it does not add up or average across groups: ask query_metrics at the grouping you need. A group whose divisor is zero gets null")
		} else {
			out = append(out, "composite: computed from each group's aggregated values of "+strings.Join(dependencyNames(m), ", "))
		}
	case semantic.Derived:
		conds := make([]string, len(m.Filters))
		for i, f := range m.Filters {
			conds[i] = f.Condition()
		}
		out = append(out, "counts only the rows where "+strings.Join(conds, " and ")+"; other rows are not in it")
	}
	if x := measureOf(m); x != nil {
		switch x.Agg {
		case plan.CountDistinct:
			out = append(out, "distinct count: not additive — a customer in two groups is counted in each, so the groups' values add up to more than the total; ask for the total itself")
		case plan.Avg:
			out = append(out, "average: not additive — the average of groups' averages is not the overall average; ask for the grouping you need")
		case plan.Min, plan.Max:
			out = append(out, x.Agg.String()+": not additive across groups")
		}
	}
	return out
}

// measureOf returns the measure an atomic or derived metric aggregates; nil for a composite one.
func measureOf(m *semantic.Metric) *semantic.Measure {
	for m.Kind == semantic.Derived {
		m = m.Base
	}
	return m.Measure
}

// divides reports whether a formula divides anywhere.
func divides(f *semantic.Formula) bool {
	if f == nil || f.Left == nil {
		return false
	}
	return (f.Right != nil && f.Op == plan.Div) || divides(f.Left) || divides(f.Right)
}

func dependencyNames(m *semantic.Metric) []string {
	var out []string
	for _, d := range m.DependsOn() {
		out = append(out, d.Name)
	}
	return out
}

// ListDimensionsInput is list_dimensions's input.
type ListDimensionsInput struct {
	Metric string `json:"metric,omitempty" jsonschema:"list the dimensions this metric can be grouped and filtered by"`
	Model  string `json:"model,omitempty" jsonschema:"or list the dimensions of this data model, such as orders; leave both out to list every dimension"`
}

// ListDimensionsOutput is list_dimensions's answer.
type ListDimensionsOutput struct {
	Dimensions []DimensionInfo `json:"dimensions"`
}

// DimensionInfo describes a dimension.
type DimensionInfo struct {
	Name          string   `json:"name" jsonschema:"the qualified name (model.dimension) to group and filter by"`
	Label         string   `json:"label,omitempty"`
	Description   string   `json:"description,omitempty"`
	Type          string   `json:"type" jsonschema:"string, number, boolean or time"`
	Granularities []string `json:"granularities,omitempty" jsonschema:"for a time dimension, the units it can be grouped by"`
	Synonyms      []string `json:"synonyms,omitempty"`
	Masked        string   `json:"masked,omitempty" jsonschema:"set when you see its values masked (partial or hash): you group and filter by the masked values"`
}

func (s *Server) listDimensions(ctx context.Context, _ *sdk.CallToolRequest, in ListDimensionsInput) (*sdk.CallToolResult, ListDimensionsOutput, error) {
	acc, err := s.access(ctx)
	if err != nil {
		return nil, ListDimensionsOutput{}, s.toolError(ctx, "list_dimensions", err)
	}
	var dims []*semantic.Dimension
	switch {
	case in.Metric != "" && in.Model != "":
		err = invalidf("give metric or model, not both")
	case in.Metric != "":
		var m *semantic.Metric
		if m, err = acc.FindMetric(in.Metric); err == nil {
			dims = acc.DimensionsFor(m)
		}
	case in.Model != "":
		var m *semantic.DataModel
		if m, err = acc.FindModel(in.Model); err == nil {
			dims = acc.ModelDimensions(m)
		}
	default:
		dims = acc.Dimensions()
	}
	if err != nil {
		return nil, ListDimensionsOutput{}, s.toolError(ctx, "list_dimensions", err)
	}
	out := ListDimensionsOutput{Dimensions: make([]DimensionInfo, len(dims))}
	for i, d := range dims {
		out.Dimensions[i] = DimensionInfo{Name: d.QualifiedName(), Label: d.Label, Description: d.Description, Type: string(d.Type),
			Synonyms: d.Synonyms, Masked: string(acc.Mask(d))}
		if d.Type == semantic.DimensionTime {
			out.Dimensions[i].Granularities = granularities(d)
		}
	}
	return nil, out, nil
}

// ExplainOutput is explain_metric's answer.
type ExplainOutput struct {
	Metric      string        `json:"metric"`
	Version     string        `json:"version"`
	Explanation string        `json:"explanation" jsonschema:"how the metric is computed, in plain language, from the top down to the source columns"`
	Lineage     []LineageStep `json:"lineage" jsonschema:"the metric and each metric it is built on, once, from the top down"`
	Sources     []SourceStep  `json:"sources" jsonschema:"the tables and files the metric reads, and the dbt jobs that build them, upstream first, with owners"`
}

// SourceStep is a table the metric reads or a dbt job upstream of one, from the lineage graph.
type SourceStep struct {
	Kind        string   `json:"kind" jsonschema:"source_table or dbt_node"`
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Owners      []string `json:"owners,omitempty"`
}

// LineageStep is one metric of a lineage.
type LineageStep struct {
	Metric     string       `json:"metric"`
	Label      string       `json:"label,omitempty"`
	Kind       string       `json:"kind"`
	Version    string       `json:"version"`
	Definition string       `json:"definition"`
	Meaning    string       `json:"meaning" jsonschema:"the step in plain language"`
	BuiltOn    []string     `json:"builtOn,omitempty"`
	Filters    []FilterInfo `json:"filters,omitempty" jsonschema:"a derived metric's conditions, and what each dimension reads"`
	Measure    *MeasureInfo `json:"measure,omitempty" jsonschema:"an atomic metric's measure and the source columns it reads; absent when its data model is hidden from you"`
}

// FilterInfo is a derived metric's condition and the expression of the dimension it tests.
type FilterInfo struct {
	Condition  string `json:"condition"`
	Dimension  string `json:"dimension"`
	Expression string `json:"expression" jsonschema:"what the dimension reads from its model"`
}

// MeasureInfo is the measure an atomic metric aggregates.
type MeasureInfo struct {
	Name        string   `json:"name"`
	Aggregation string   `json:"aggregation" jsonschema:"the aggregate as SQL, such as sum(amount) or count(distinct customer_id)"`
	Model       string   `json:"model"`
	Source      string   `json:"source" jsonschema:"where the model's rows come from: a warehouse table or a file"`
	Columns     []string `json:"columns" jsonschema:"the source columns the aggregate reads"`
}

func (s *Server) explainMetric(ctx context.Context, _ *sdk.CallToolRequest, in MetricInput) (*sdk.CallToolResult, ExplainOutput, error) {
	acc, err := s.access(ctx)
	if err != nil {
		return nil, ExplainOutput{}, s.toolError(ctx, "explain_metric", err)
	}
	m, err := acc.FindMetric(in.Metric)
	if err != nil {
		return nil, ExplainOutput{}, s.toolError(ctx, "explain_metric", err)
	}
	out := ExplainOutput{Metric: m.Name, Version: versionText(m.Version)}
	seen := map[*semantic.Metric]bool{}
	var meanings []string
	var walk func(*semantic.Metric)
	walk = func(m *semantic.Metric) {
		if seen[m] {
			return
		}
		seen[m] = true
		step := lineageStep(acc, m)
		out.Lineage = append(out.Lineage, step)
		meanings = append(meanings, step.Meaning)
		for _, d := range m.DependsOn() {
			walk(d)
		}
	}
	walk(m)
	// Where the rows come from, past the models: the tables and the dbt jobs that build them.
	g, err := s.svc.Lineage().Graph(ctx, acc, semantic.LineageQuery{Kind: semantic.LineageMetric, Key: m.Name, Direction: semantic.Upstream})
	if err != nil {
		return nil, ExplainOutput{}, s.toolError(ctx, "explain_metric", err)
	}
	for _, n := range g.Nodes {
		if n.Kind != semantic.LineageSourceTable && n.Kind != semantic.LineageDBTNode {
			continue
		}
		out.Sources = append(out.Sources, SourceStep{Kind: string(n.Kind), Name: n.Label, Description: n.Description, Owners: n.Owners})
		what := "table " + n.Label
		if n.Kind == semantic.LineageDBTNode {
			what = "dbt " + n.DBT.ResourceType + " " + n.Label
		}
		if len(n.Owners) > 0 {
			what += " (owner " + strings.Join(n.Owners, ", ") + ")"
		}
		meanings = append(meanings, "Upstream: "+what+".")
	}
	out.Explanation = strings.Join(meanings, " ")
	return nil, out, nil
}

// lineageStep describes one metric: its definition in plain words, what it is built on, and
// for an atomic metric the measure and source columns — unless the caller may not see its model.
func lineageStep(acc *semantic.Access, m *semantic.Metric) LineageStep {
	step := LineageStep{Metric: m.Name, Label: m.Label, Kind: string(m.Kind), Version: versionText(m.Version), Definition: m.Expression(),
		BuiltOn: dependencyNames(m)}
	name := m.Name
	if m.Label != "" {
		name += " (" + m.Label + ")"
	}
	switch m.Kind {
	case semantic.Atomic:
		x := m.Measure
		if !acc.CanReadModel(x.Model) {
			step.Definition = "an aggregate of a data model you may not see"
			step.Meaning = name + " aggregates a measure of a data model you may not see."
			break
		}
		var cols []string
		if x.Expr != nil {
			cols = plan.ColumnsOf(x.Expr)
		}
		step.Measure = &MeasureInfo{Name: x.QualifiedName(), Aggregation: x.AggregateText(), Model: x.Model.Name, Source: x.Model.Source.String(), Columns: cols}
		step.Meaning = fmt.Sprintf("%s is %s over the rows of %s (measure %s, from %s).", name, aggregateWords(x), x.Model.Name, x.QualifiedName(), x.Model.Source)
	case semantic.Derived:
		conds := make([]string, len(m.Filters))
		for i, f := range m.Filters {
			conds[i] = f.Condition()
			fi := FilterInfo{Condition: f.Condition(), Dimension: f.Dimension}
			if d := acc.Dimension(f.Dimension); d != nil {
				fi.Expression = d.SQL
			}
			step.Filters = append(step.Filters, fi)
		}
		step.Meaning = fmt.Sprintf("%s is %s counted only over the rows where %s.", name, m.Base.Name, strings.Join(conds, " and "))
	case semantic.Composite:
		step.Meaning = fmt.Sprintf("%s is %s, computed from the totals of %s after they are aggregated", name, m.SQL, strings.Join(step.BuiltOn, " and "))
		if divides(m.Formula) {
			step.Meaning += " — a ratio of totals, never an average of per-row ratios; a zero divisor gives null"
		}
		step.Meaning += "."
	}
	return step
}

// aggregateWords says what a measure computes: "the sum of amount", "the number of rows".
func aggregateWords(x *semantic.Measure) string {
	switch x.Agg {
	case plan.Sum:
		return "the sum of " + x.SQL
	case plan.Count:
		if x.SQL == "" {
			return "the number of rows"
		}
		return "the number of non-null values of " + x.SQL
	case plan.CountDistinct:
		return "the number of distinct values of " + x.SQL
	case plan.Avg:
		return "the average of " + x.SQL
	case plan.Min:
		return "the smallest " + x.SQL
	case plan.Max:
		return "the largest " + x.SQL
	}
	return x.AggregateText()
}
