package semantic

// MetricQuery asks for metrics, grouped by dimensions, over filtered rows. It is the one question
// every surface asks: GraphQL's query(input), SQL, MCP and the command line all build one.
type MetricQuery struct {
	// Metrics are the metric names to compute, at least one.
	Metrics []string
	// Dimensions are qualified dimension names ("orders.region") to group by.
	Dimensions []string
	// TimeDimension groups by a time dimension truncated to a granularity.
	TimeDimension *TimeGrouping
	// TimeRange restricts the time dimension (TimeDimension's, or Dimension when it names one).
	TimeRange *TimeRange
	// Filters restrict the rows every metric is computed over; all must hold.
	Filters []QueryFilter
	// OrderBy orders the result by output columns: metric names, dimension names, or the time
	// dimension's output name ("orders.created_at.month").
	OrderBy []OrderBy
	// Limit caps the rows returned; nil means no cap beyond the server's maximum.
	Limit *int64
	// Offset skips rows before the limit applies.
	Offset int64
	// Timezone is the IANA zone times are truncated and read in; empty means the server default.
	Timezone string
	// Calendar names the calendar weeks and fiscal periods follow (see CalendarHelp); empty
	// means the server default.
	Calendar string
	// Compare adds, for the query's metrics, their values in earlier periods and how they
	// changed: year over year (同比), month over month (环比) and so on. See Comparison.
	Compare []Comparison
}

// Comparison compares each period of the query's time dimension with the one a period before
// it: the same month a year earlier, the month before, the same week of the previous fiscal
// year. Each compared metric gets a column per kind, named METRIC.KIND_PERIOD
// ("gmv_paid.previous_year", "aov.growth_month").
type Comparison struct {
	// Period is how far back to look: day, week, month, quarter, year, fiscal_month,
	// fiscal_quarter or fiscal_year. A week compared over a quarter or a year looks 13 or 52
	// weeks back, to the same day of the week.
	Period string
	// Kinds are the columns to add; none means all three.
	Kinds []ComparisonKind
	// Metrics are the metrics to compare, among the query's; none means all of them.
	Metrics []string
}

// ComparisonKind is one value a comparison adds.
type ComparisonKind string

// The comparison kinds. A metric with no value in the earlier period — no rows there, or a
// period before the data — has a NULL previous value, and so NULL difference and growth; a
// growth from zero is NULL too, never an error or infinity.
const (
	// PreviousValue is the metric's value in the earlier period.
	PreviousValue ComparisonKind = "previous"
	// Difference is the value less the previous value.
	Difference ComparisonKind = "difference"
	// Growth is the difference over the previous value: 0.25 for a quarter more.
	Growth ComparisonKind = "growth"
)

// ComparisonKinds lists the comparison kinds, in the order their columns come.
var ComparisonKinds = []ComparisonKind{PreviousValue, Difference, Growth}

// TimeGrouping groups by a time dimension at a granularity.
type TimeGrouping struct {
	// Dimension is the qualified name of a time dimension.
	Dimension string
	// Granularity is day, week, month, quarter or year, or fiscal_month, fiscal_quarter or
	// fiscal_year.
	Granularity string
	// FillGaps shows every period of the time range — from its start, or the first period with
	// rows, to its end, or the last — for every combination of the other dimensions that has
	// rows: a period without rows has NULL metrics (or a metric's fill_nulls_with), so charts
	// have no holes. It is the query's time spine.
	FillGaps bool
}

// TimeRange is a half-open range [From, To) of a time dimension. Either end may be empty (open).
// Dates and times without an offset are read in the query's time zone.
type TimeRange struct {
	// Dimension names the dimension the range applies to; empty means the TimeDimension's.
	Dimension string
	From, To  string
}

// QueryFilter restricts rows by one dimension: see FilterOp for the operators. Values are always
// data, read as the dimension's type, and never become SQL.
type QueryFilter struct {
	Dimension string
	Op        FilterOp
	Values    []string
}

// OrderBy is one ordering key.
type OrderBy struct {
	Field string
	Desc  bool
}
