package oracletest

import (
	"strings"

	"github.com/koujing/koujing/semantic"
)

// Input returns the case's query as JSON clients send it (POST /arrow's input, MCP's
// query_metrics), spelled as GraphQL spells its enumerations.
func (q Query) Input() semantic.QueryInput {
	in := semantic.QueryInput{Metrics: q.Metrics, Dimensions: q.Dimensions, Limit: q.Limit, Timezone: q.Timezone, Calendar: q.Calendar}
	if q.Offset != 0 {
		in.Offset = &q.Offset
	}
	if td := q.TimeDimension; td != nil {
		in.TimeDimension = &semantic.TimeDimensionInput{Dimension: td.Dimension, Granularity: strings.ToUpper(td.Granularity), FillGaps: td.FillGaps}
	}
	if tr := q.TimeRange; tr != nil {
		in.TimeRange = &semantic.TimeRangeInput{Dimension: tr.Dimension, From: tr.From, To: tr.To}
	}
	for _, f := range q.Filters {
		in.Filters = append(in.Filters, semantic.FilterInput{Dimension: f.Dimension, Operator: strings.ToUpper(f.Operator), Values: f.Values})
	}
	for _, o := range q.OrderBy {
		dir := "ASC"
		if o.Desc {
			dir = "DESC"
		}
		in.OrderBy = append(in.OrderBy, semantic.OrderByInput{Field: o.Field, Direction: dir})
	}
	for _, c := range q.Compare {
		cmp := semantic.ComparisonInput{Period: strings.ToUpper(c.Period), Metrics: c.Metrics}
		for _, k := range c.Kinds {
			cmp.Kinds = append(cmp.Kinds, strings.ToUpper(k))
		}
		in.Compare = append(in.Compare, cmp)
	}
	return in
}
