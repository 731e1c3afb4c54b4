package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/semantic"
)

// QueryOutput is query_metrics's answer.
type QueryOutput struct {
	Columns   []ColumnInfo           `json:"columns" jsonschema:"the columns of each row, in order: the dimensions, the time column, then the metrics"`
	Rows      [][]any                `json:"rows" jsonschema:"the rows, values in the order of columns; decimals exact, times in RFC 3339 in the query's zone, null where a metric has no value"`
	RowCount  int                    `json:"rowCount" jsonschema:"how many rows are returned here"`
	Truncated bool                   `json:"truncated,omitempty" jsonschema:"set when the answer has more rows than are returned"`
	Note      string                 `json:"note,omitempty"`
	Versions  []MetricVersion        `json:"versions" jsonschema:"each metric that answered, those it is built on included, and the version of its definition"`
	Warnings  []string               `json:"warnings,omitempty" jsonschema:"what to know about the answer, such as a metric being deprecated"`
	Quality   []semantic.QualityFlag `json:"quality,omitempty" jsonschema:"the metrics whose data quality rules did not all pass at their latest runs: status (warn, fail or error), quality score out of 100, and each rule you may see that did not pass with its value, thresholds and time; tell the user before relying on those numbers"`
}

// ColumnInfo describes a result column.
type ColumnInfo struct {
	Name        string `json:"name"`
	Kind        string `json:"kind" jsonschema:"dimension, time or metric"`
	Type        string `json:"type" jsonschema:"integer, decimal(p,s), float, string, boolean, timestamp or date"`
	Unit        string `json:"unit,omitempty" jsonschema:"a metric's unit, such as CNY"`
	Label       string `json:"label,omitempty"`
	Granularity string `json:"granularity,omitempty" jsonschema:"the unit the time column is truncated to"`
}

// MetricVersion names a metric and the version of its definition that answered.
type MetricVersion struct {
	Metric  string `json:"metric"`
	Version string `json:"version"`
}

func (s *Server) queryMetrics(ctx context.Context, _ *sdk.CallToolRequest, in semantic.QueryInput) (*sdk.CallToolResult, QueryOutput, error) {
	acc, err := s.access(ctx)
	if err != nil {
		return nil, QueryOutput{}, s.toolError(ctx, "query_metrics", err)
	}
	q, err := in.MetricQuery()
	if err != nil {
		return nil, QueryOutput{}, s.toolError(ctx, "query_metrics", err)
	}
	// Ask for one row more than is returned, to know whether there are more; a larger limit
	// than the tool returns is not computed.
	maxRows := int64(s.opts.MaxRows)
	asked := q.Limit
	if asked != nil && *asked > maxRows {
		// The limit asked for is checked as GraphQL checks it, though fewer rows are computed.
		if _, err := s.svc.Compile(acc, q); err != nil {
			return nil, QueryOutput{}, s.toolError(ctx, "query_metrics", err)
		}
	}
	if asked == nil || *asked > maxRows {
		cut := maxRows + 1
		q.Limit = &cut
	}
	res, err := s.svc.Query(ctx, acc, q)
	if err != nil {
		return nil, QueryOutput{}, s.toolError(ctx, "query_metrics", err)
	}
	defer res.Release()
	out, err := queryOutput(res)
	if err != nil {
		return nil, QueryOutput{}, s.toolError(ctx, "query_metrics", err)
	}
	if int64(len(out.Rows)) > maxRows {
		out.Rows, out.Truncated = out.Rows[:maxRows], true
		next := q.Offset + maxRows
		out.Note = fmt.Sprintf("the answer has more than %d rows; these are the first %d in the query's order. Narrow the question "+
			"(filters, a time range, fewer dimensions, a coarser granularity), order by a metric and set a limit for a top list, or "+
			"ask again with offset %d for the next rows", maxRows, maxRows, next)
	} else if asked != nil && *asked > maxRows {
		out.Note = fmt.Sprintf("this tool returns at most %d rows; all %d rows are here", maxRows, len(out.Rows))
	}
	out.RowCount = len(out.Rows)
	out.Quality = s.svc.ResultQualityFlags(ctx, acc, q.Metrics)
	return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: tableText(res, out)}}}, out, nil
}

// queryOutput turns a result into the tool's answer: its columns with their units and types, its
// rows as the JSON GraphQL sends, and the versions that answered.
func queryOutput(res *semantic.Result) (QueryOutput, error) {
	out := QueryOutput{Columns: make([]ColumnInfo, len(res.Columns)), Versions: []MetricVersion{}, Warnings: res.Warnings}
	for i, c := range res.Columns {
		ci := ColumnInfo{Name: c.Name, Kind: string(c.Kind), Type: plan.TypeName(c.Type)}
		if c.Metric != nil {
			ci.Unit, ci.Label = c.Metric.Unit, c.Metric.Label
		} else if c.Dimension != nil {
			ci.Label = c.Dimension.Label
		}
		if c.Granularity != nil {
			ci.Granularity = strings.ToUpper(c.Granularity.String())
		}
		out.Columns[i] = ci
	}
	for _, v := range res.Versions {
		out.Versions = append(out.Versions, MetricVersion{Metric: v.Metric, Version: versionText(v.Version)})
	}
	var rows bytes.Buffer
	if err := res.WriteJSONRows(&rows); err != nil {
		return QueryOutput{}, fmt.Errorf("encode rows: %w", err)
	}
	dec := json.NewDecoder(&rows)
	dec.UseNumber()
	if err := dec.Decode(&out.Rows); err != nil {
		return QueryOutput{}, fmt.Errorf("decode rows: %w", err)
	}
	if out.Rows == nil {
		out.Rows = [][]any{}
	}
	return out, nil
}

// tableText is the answer as an assistant reads it: a Markdown table whose headers carry the
// units, the row count, the note, and the versions that answered.
func tableText(res *semantic.Result, out QueryOutput) string {
	var b strings.Builder
	head := make([]string, len(out.Columns))
	rule := make([]string, len(out.Columns))
	for i, c := range out.Columns {
		head[i], rule[i] = c.Name, "---"
		if c.Unit != "" {
			head[i] += " (" + c.Unit + ")"
		}
	}
	b.WriteString("| " + strings.Join(head, " | ") + " |\n| " + strings.Join(rule, " | ") + " |\n")
	row, cells := 0, make([]string, len(out.Columns))
	for _, batch := range res.Batches {
		for i := 0; i < int(batch.NumRows()) && row < len(out.Rows); i, row = i+1, row+1 {
			for j, col := range batch.Columns() {
				cells[j] = cellText(col, i)
			}
			b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		}
	}
	fmt.Fprintf(&b, "\n%d rows.", len(out.Rows))
	if out.Note != "" {
		b.WriteString(" Note: " + out.Note + ".")
	}
	for _, w := range out.Warnings {
		b.WriteString(" Warning: " + w + ".")
	}
	for _, f := range out.Quality {
		b.WriteString(" Data quality: " + f.Message() + ".")
	}
	versions := make([]string, len(out.Versions))
	for i, v := range out.Versions {
		versions[i] = v.Metric + "@" + v.Version
	}
	b.WriteString(" Definitions that answered: " + strings.Join(versions, ", ") + ".")
	return b.String()
}

// cellText is one value of a table: as FormatValue writes it, null for NULL, and "|" escaped.
func cellText(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "null"
	}
	return strings.ReplaceAll(semantic.FormatValue(a, i), "|", `\|`)
}

// DimensionValuesInput is get_dimension_values's input.
type DimensionValuesInput struct {
	Dimension string `json:"dimension" jsonschema:"the qualified name of the dimension, such as orders.status"`
	Search    string `json:"search,omitempty" jsonschema:"keep only the values that contain this text, ignoring case (text dimensions)"`
	Limit     int    `json:"limit,omitempty" jsonschema:"the most values to return; 50 when left out, at most 1000"`
}

// DimensionValuesOutput is get_dimension_values's answer.
type DimensionValuesOutput struct {
	Dimension string       `json:"dimension"`
	Values    []ValueCount `json:"values" jsonschema:"the distinct values in ascending order, each with how many rows of the dimension's model have it"`
	More      bool         `json:"more,omitempty" jsonschema:"set when there are more values than returned"`
	Masked    string       `json:"masked,omitempty" jsonschema:"set when you see the values masked (partial or hash); filter by the masked values"`
	Earliest  string       `json:"earliest,omitempty" jsonschema:"for a time dimension, the earliest value (its values are not listed)"`
	Latest    string       `json:"latest,omitempty" jsonschema:"for a time dimension, the latest value"`
	Note      string       `json:"note,omitempty"`
}

// ValueCount is one value of a dimension and its rows; Value is null for rows without one.
type ValueCount struct {
	Value *string `json:"value"`
	Rows  int64   `json:"rows"`
}

const (
	defaultValuesLimit = 50
	maxValuesLimit     = semantic.MaxDimensionValues
)

func (s *Server) dimensionValues(ctx context.Context, _ *sdk.CallToolRequest, in DimensionValuesInput) (*sdk.CallToolResult, DimensionValuesOutput, error) {
	acc, err := s.access(ctx)
	if err != nil {
		return nil, DimensionValuesOutput{}, s.toolError(ctx, "get_dimension_values", err)
	}
	limit, err := limitOf(in.Limit, defaultValuesLimit, maxValuesLimit)
	if err != nil {
		return nil, DimensionValuesOutput{}, s.toolError(ctx, "get_dimension_values", err)
	}
	v, err := s.svc.DimensionValues(ctx, acc, semantic.DimensionValuesQuery{Dimension: in.Dimension, Search: in.Search, Limit: limit})
	if err != nil {
		return nil, DimensionValuesOutput{}, s.toolError(ctx, "get_dimension_values", err)
	}
	out := DimensionValuesOutput{Dimension: v.Dimension.QualifiedName(), Values: []ValueCount{}, More: v.More, Masked: string(v.Mask),
		Earliest: v.Earliest, Latest: v.Latest}
	for _, x := range v.Values {
		vc := ValueCount{Rows: x.Rows}
		if !x.Null {
			vc.Value = &x.Value
		}
		out.Values = append(out.Values, vc)
	}
	switch {
	case v.More:
		out.Note = fmt.Sprintf("there are more than %d values; search for the ones you need, or raise limit", limit)
	case v.Dimension.Type == semantic.DimensionTime:
		out.Note = "a time dimension: filter it with a timeRange, or group it with a timeDimension and a granularity"
	}
	return nil, out, nil
}
