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
}

// TimeGrouping groups by a time dimension at a granularity.
type TimeGrouping struct {
	// Dimension is the qualified name of a time dimension.
	Dimension string
	// Granularity is day, week, month, quarter or year.
	Granularity string
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
