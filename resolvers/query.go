package resolvers

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/99designs/gqlgen/graphql"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/graph/model"
	"github.com/koujing/koujing/semantic"
)

// runQuery runs a metric query and encodes its rows, and its Arrow stream when the arrow field
// is selected. The Arrow batches are released as soon as they are encoded, before the response
// is written. The query is audited as asked by the operation's client (see withOperationClient).
func runQuery(ctx context.Context, svc *semantic.Service, arrowMem memory.Allocator, in model.MetricQueryInput) (*model.MetricResult, error) {
	res, err := svc.Query(withOperationClient(ctx), accessFor(ctx), metricQuery(in))
	if err != nil {
		return nil, err
	}
	defer res.Release()
	var rows bytes.Buffer
	if err := res.WriteJSONRows(&rows); err != nil {
		return nil, fmt.Errorf("encode rows: %w", err)
	}
	cols := make([]*semantic.OutputColumn, len(res.Columns))
	for i := range res.Columns {
		cols[i] = &res.Columns[i]
	}
	out := &model.MetricResult{Columns: cols, Rows: rows.Bytes(), RowCount: int(res.Rows), Versions: pointers(nonNil(res.Versions))}
	addWarnings(ctx, res.Warnings)
	flagQuality(ctx, svc, in.Metrics)
	if slices.Contains(graphql.CollectAllFields(ctx), "arrow") {
		stream, err := arrowBase64(ctx, res, arrowMem)
		if err != nil {
			return nil, err
		}
		out.Arrow = &stream
	}
	return out, nil
}

// metricQuery turns the GraphQL input into the semantic layer's question. It only translates:
// every check is the semantic layer's, so that GraphQL, SQL and MCP refuse the same questions
// with the same words.
func metricQuery(in model.MetricQueryInput) semantic.MetricQuery {
	q := semantic.MetricQuery{Metrics: in.Metrics, Dimensions: in.Dimensions}
	if td := in.TimeDimension; td != nil {
		q.TimeDimension = &semantic.TimeGrouping{Dimension: td.Dimension, Granularity: td.Granularity.String(), FillGaps: td.FillGaps != nil && *td.FillGaps}
	}
	if tr := in.TimeRange; tr != nil {
		q.TimeRange = &semantic.TimeRange{Dimension: deref(tr.Dimension), From: deref(tr.From), To: deref(tr.To)}
	}
	for _, f := range in.Filters {
		q.Filters = append(q.Filters, semantic.QueryFilter{Dimension: f.Dimension, Op: f.Operator, Values: f.Values})
	}
	for _, o := range in.OrderBy {
		q.OrderBy = append(q.OrderBy, semantic.OrderBy{Field: o.Field, Desc: o.Direction != nil && *o.Direction == model.SortDirectionDesc})
	}
	if in.Limit != nil {
		limit := int64(*in.Limit)
		q.Limit = &limit
	}
	if in.Offset != nil {
		q.Offset = int64(*in.Offset)
	}
	q.Timezone = deref(in.Timezone)
	q.Calendar = deref(in.Calendar)
	for _, c := range in.Compare {
		q.Compare = append(q.Compare, semantic.Comparison{Period: c.Period.String(), Kinds: c.Kinds, Metrics: c.Metrics})
	}
	return q
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// columnType names the type of a result column's values. A type the API does not name is
// reported as STRING, which is how its values are written.
func columnType(t arrow.DataType) model.ColumnType {
	switch {
	case t == nil:
	case plan.IsInteger(t):
		return model.ColumnTypeInteger
	case plan.IsDecimal(t):
		return model.ColumnTypeDecimal
	case plan.IsFloat(t):
		return model.ColumnTypeFloat
	case plan.IsBoolean(t):
		return model.ColumnTypeBoolean
	case t.ID() == arrow.TIMESTAMP:
		return model.ColumnTypeTimestamp
	case t.ID() == arrow.DATE32:
		return model.ColumnTypeDate
	}
	return model.ColumnTypeString
}
