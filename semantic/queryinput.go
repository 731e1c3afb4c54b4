package semantic

import (
	"strings"
)

// QueryInput is a metric query as JSON clients send it, in the shape and with the names of
// GraphQL's MetricQueryInput — POST /arrow's body and MCP's query_metrics take it — so that a
// question written for one surface is understood by every other. Enumerations are spelled as in
// GraphQL (MONTH, NOT_IN, DESC) and read in any case. The jsonschema tags describe each field to
// clients that read a JSON Schema, such as AI assistants.
type QueryInput struct {
	Metrics       []string            `json:"metrics" jsonschema:"the names of the metrics to compute, at least one, such as [\"gmv_paid\", \"aov\"]; NAME@VERSION (gmv_paid@3) answers from that version of the definition"`
	Dimensions    []string            `json:"dimensions,omitempty" jsonschema:"qualified names (model.dimension) of dimensions to group by, such as [\"orders.region\"]"`
	TimeDimension *TimeDimensionInput `json:"timeDimension,omitempty" jsonschema:"a time dimension to group by, truncated to a granularity"`
	TimeRange     *TimeRangeInput     `json:"timeRange,omitempty" jsonschema:"restricts a time dimension to the half-open range [from, to)"`
	Filters       []FilterInput       `json:"filters,omitempty" jsonschema:"conditions on dimensions; only rows that meet all of them are counted"`
	OrderBy       []OrderByInput      `json:"orderBy,omitempty" jsonschema:"how to order the rows, by output column names; by default the time column, then the first metric largest first"`
	Limit         *int64              `json:"limit,omitempty" jsonschema:"the most rows to return"`
	Offset        *int64              `json:"offset,omitempty" jsonschema:"how many rows to skip before the first one returned"`
	Timezone      string              `json:"timezone,omitempty" jsonschema:"the IANA time zone times are grouped and read in, such as Asia/Shanghai; the server's zone when left out"`
	Calendar      string              `json:"calendar,omitempty" jsonschema:"the calendar weeks and fiscal periods follow: iso (weeks from Monday), us (from Sunday), fiscal_april (a fiscal year from April; any month), nrf (the NRF 4-5-4 retail calendar), retail_445 and the like; the server's when left out"`
	Compare       []ComparisonInput   `json:"compare,omitempty" jsonschema:"period-over-period comparisons of the metrics: each period of the time dimension against the one a period before (year over year, month over month); each adds columns METRIC.KIND_PERIOD such as gmv_paid.growth_year"`
}

// ComparisonInput compares each period of the time dimension with the one a period before it.
type ComparisonInput struct {
	Period  string   `json:"period" jsonschema:"how far back to look: DAY, WEEK, MONTH, QUARTER, YEAR, FISCAL_MONTH, FISCAL_QUARTER or FISCAL_YEAR"`
	Kinds   []string `json:"kinds,omitempty" jsonschema:"the columns to add: PREVIOUS (the earlier value), DIFFERENCE and GROWTH (the difference over the earlier value); all three when left out"`
	Metrics []string `json:"metrics,omitempty" jsonschema:"the metrics to compare, among the query's; all of them when left out"`
}

// TimeDimensionInput groups by a time dimension truncated to a calendar unit.
type TimeDimensionInput struct {
	Dimension   string `json:"dimension" jsonschema:"the qualified name of a time dimension, such as orders.created_at"`
	Granularity string `json:"granularity" jsonschema:"the unit to truncate to: DAY, WEEK (from Monday, or as the calendar says), MONTH, QUARTER, YEAR, or FISCAL_MONTH, FISCAL_QUARTER or FISCAL_YEAR of the calendar"`
	FillGaps    bool   `json:"fillGaps,omitempty" jsonschema:"show every period of the time range, with NULL metrics (or a metric's fill_nulls_with) where it has no rows, so charts have no holes"`
}

// TimeRangeInput is a half-open range of a time dimension; either end may be left out.
type TimeRangeInput struct {
	Dimension string `json:"dimension,omitempty" jsonschema:"the time dimension the range applies to; the timeDimension's when left out"`
	From      string `json:"from,omitempty" jsonschema:"the start, included: a date such as 2024-01-01 or an RFC 3339 time; read in the query's time zone when it has no offset"`
	To        string `json:"to,omitempty" jsonschema:"the end, excluded"`
}

// FilterInput is a condition on a dimension. Values are data, read as the dimension's type.
type FilterInput struct {
	Dimension string   `json:"dimension" jsonschema:"the qualified name of the dimension, such as orders.status"`
	Operator  string   `json:"operator" jsonschema:"EQUALS, NOT_EQUALS, IN, NOT_IN, GT, GTE, LT, LTE, BETWEEN (both ends included), IS_NULL, IS_NOT_NULL, CONTAINS or NOT_CONTAINS (ignoring case); the negative ones keep rows with no value"`
	Values    []string `json:"values,omitempty" jsonschema:"the values, as text: one for EQUALS, GT, CONTAINS and the like, any number for IN and NOT_IN, two for BETWEEN, none for IS_NULL and IS_NOT_NULL"`
}

// OrderByInput is one ordering key.
type OrderByInput struct {
	Field     string `json:"field" jsonschema:"an output column: a metric's name, a dimension's qualified name, or the time column's name such as orders.created_at.month"`
	Direction string `json:"direction,omitempty" jsonschema:"ASC (the default) or DESC"`
}

// Granularities, FilterOperators and SortDirections list the spellings QueryInput's enumerations
// take, as GraphQL spells them.
var (
	Granularities   = []string{"DAY", "WEEK", "MONTH", "QUARTER", "YEAR", "FISCAL_MONTH", "FISCAL_QUARTER", "FISCAL_YEAR"}
	FilterOperators = filterOperatorNames()
	SortDirections  = []string{"ASC", "DESC"}
)

func filterOperatorNames() []string {
	out := make([]string, len(FilterOps))
	for i, op := range FilterOps {
		out[i] = strings.ToUpper(string(op))
	}
	return out
}

// MetricQuery returns the question the input asks. It only checks what the JSON form adds —
// the spelling of operators and directions — and leaves every other check to the compiler, so
// that every surface refuses the same questions with the same words.
func (in QueryInput) MetricQuery() (MetricQuery, error) {
	q := MetricQuery{Metrics: in.Metrics, Dimensions: in.Dimensions, Limit: in.Limit, Timezone: in.Timezone, Calendar: in.Calendar}
	if in.Offset != nil {
		q.Offset = *in.Offset
	}
	if td := in.TimeDimension; td != nil {
		q.TimeDimension = &TimeGrouping{Dimension: td.Dimension, Granularity: strings.ToLower(td.Granularity), FillGaps: td.FillGaps}
	}
	if tr := in.TimeRange; tr != nil {
		q.TimeRange = &TimeRange{Dimension: tr.Dimension, From: tr.From, To: tr.To}
	}
	for i, f := range in.Filters {
		op := FilterOp(strings.ToLower(f.Operator))
		if !isFilterOp(op) {
			return MetricQuery{}, invalid("filter %d on %s: operator %q is not one of %s", i+1, f.Dimension, f.Operator, strings.Join(FilterOperators, ", "))
		}
		q.Filters = append(q.Filters, QueryFilter{Dimension: f.Dimension, Op: op, Values: f.Values})
	}
	for _, o := range in.OrderBy {
		var desc bool
		switch strings.ToUpper(o.Direction) {
		case "", "ASC":
		case "DESC":
			desc = true
		default:
			return MetricQuery{}, invalid("orderBy %s: direction %q is not ASC or DESC", o.Field, o.Direction)
		}
		q.OrderBy = append(q.OrderBy, OrderBy{Field: o.Field, Desc: desc})
	}
	for _, c := range in.Compare {
		cmp := Comparison{Period: strings.ToLower(c.Period), Metrics: c.Metrics}
		for _, k := range c.Kinds {
			cmp.Kinds = append(cmp.Kinds, ComparisonKind(strings.ToLower(k)))
		}
		q.Compare = append(q.Compare, cmp)
	}
	return q, nil
}

func isFilterOp(op FilterOp) bool {
	for _, o := range FilterOps {
		if o == op {
			return true
		}
	}
	return false
}
