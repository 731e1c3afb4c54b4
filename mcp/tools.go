package mcp

import (
	"fmt"

	"github.com/google/jsonschema-go/jsonschema"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/koujing/koujing/semantic"
)

// instructions tell an assistant what the server is for and how its tools go together.
const instructions = `Koujing (口径) serves an organisation's governed business metrics — GMV, orders, average order value, refund rate — each computed from one agreed definition, under your permissions. Never compute a metric yourself from other numbers (summing ratios or averages gives wrong answers); ask query_metrics for exactly the grouping you need.

A usual path: search_metrics to find a metric's exact name from the user's words (synonyms in Chinese and English are searched); describe_metric for what it means, its unit, caveats and the dimensions it can be grouped by; get_dimension_values for how the values to filter by are spelled; query_metrics for the numbers; explain_metric when the user asks how a number is counted or where it comes from. Names of metrics and dimensions you may not see do not exist for you.`

// Tool descriptions, written for a model choosing among them.
const (
	searchDescription         = `Find metrics by words: use it first, whenever the user names a business quantity in their own words ("sales", "下单金额", "how many buyers"), to learn the metric's exact name before any other tool. Matches names, labels, descriptions and synonyms (Chinese included, without spaces), ignoring case and forgiving one typo in a word; when no metric holds every word, the words that hold nothing (or the last ones) are left out and ignored lists them — they may name a value to filter by, such as a region. Best matches first. Optionally only one business domain. Returns names, labels, descriptions, synonyms, units and the version of each definition. Leave text out to list the metrics.`
	describeDescription       = `Describe one metric by its exact name: what it means, how it is defined (one line), its unit, owner, domain and version, the metrics it is built on, the dimensions it can be grouped and filtered by (time dimensions with their granularities), caveats to respect when using its values (such as "ratio: divides totals", "distinct count: not additive", or data quality rules that failed at their latest run, with the metric's quality score), and whether it is deprecated. Use it before querying a metric you have not used yet.`
	listDimensionsDescription = `List the dimensions a metric can be grouped and filtered by (give metric), or those of a data model (give model), with their types, labels, descriptions and synonyms, and the granularities of time dimensions. Use it to find the qualified name (model.dimension) of "by region", "per channel", "by month" before query_metrics.`
	valuesDescription         = `List the distinct values of one dimension, with how many rows have each, as you may see them (your row filters and masks apply), optionally only those containing some text. Use it before filtering, to spell a value exactly as the data has it ("shipped", not "Shipped"), or to answer "which regions are there". For a time dimension it gives the earliest and latest value instead.`
	queryDescription          = `Compute metrics, grouped by dimensions, over filtered rows: the same question and the same numbers as the GraphQL API's query. Give exact metric names (search_metrics) and qualified dimension names (list_dimensions); group by time with timeDimension {dimension, granularity}; restrict time with timeRange {from, to} ([from, to), dates read in the query's timezone); filter with filters [{dimension, operator, values}]; order with orderBy and cut with limit for a top list. Returns the columns with their units and types, the rows, the row count and the version of each definition that answered, at most %d rows (a note says when there are more), with warnings when a metric is deprecated and quality flags when a metric's data quality rules did not pass — pass both on to the user with the numbers. Each metric is computed from its own definition: ratios divide totals, so never add up or average its values yourself — ask for the grouping you need.`
	explainDescription        = `Explain how one metric is computed and where it comes from: a plain-language definition, then each metric it is built on down to the measure, its aggregate, its data model, the source table or file and the columns it reads, with the conditions of derived metrics. Use it when the user asks what a number means, why two numbers differ, or which data a metric reads.`
)

// addTools registers the tools, each with a schema inferred from its Go input and output types.
func (s *Server) addTools() {
	readOnly := &sdk.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: boolPtr(false)}
	sdk.AddTool(s.mcp, &sdk.Tool{Name: "search_metrics", Title: "Search metrics", Description: searchDescription, Annotations: readOnly}, s.searchMetrics)
	sdk.AddTool(s.mcp, &sdk.Tool{Name: "describe_metric", Title: "Describe a metric", Description: describeDescription, Annotations: readOnly}, s.describeMetric)
	sdk.AddTool(s.mcp, &sdk.Tool{Name: "list_dimensions", Title: "List dimensions", Description: listDimensionsDescription, Annotations: readOnly}, s.listDimensions)
	sdk.AddTool(s.mcp, &sdk.Tool{Name: "get_dimension_values", Title: "Get dimension values", Description: valuesDescription, Annotations: readOnly}, s.dimensionValues)
	sdk.AddTool(s.mcp, &sdk.Tool{Name: "query_metrics", Title: "Query metrics", Description: fmt.Sprintf(queryDescription, s.opts.MaxRows), Annotations: readOnly,
		InputSchema: queryInputSchema()}, s.queryMetrics)
	sdk.AddTool(s.mcp, &sdk.Tool{Name: "explain_metric", Title: "Explain a metric", Description: explainDescription, Annotations: readOnly}, s.explainMetric)
}

func boolPtr(b bool) *bool { return &b }

// queryInputSchema is the schema of query_metrics's input, semantic.QueryInput, with the values
// its enumerations take and the limits its numbers keep to.
func queryInputSchema() *jsonschema.Schema {
	in, err := jsonschema.For[semantic.QueryInput](nil)
	if err != nil {
		panic(fmt.Sprintf("the schema of semantic.QueryInput: %v", err))
	}
	enum := func(values []string) []any {
		out := make([]any, len(values))
		for i, v := range values {
			out[i] = v
		}
		return out
	}
	in.Properties["metrics"].MinItems = jsonschema.Ptr(1)
	in.Properties["timeDimension"].Properties["granularity"].Enum = enum(semantic.Granularities)
	in.Properties["filters"].Items.Properties["operator"].Enum = enum(semantic.FilterOperators)
	in.Properties["orderBy"].Items.Properties["direction"].Enum = enum(semantic.SortDirections)
	in.Properties["limit"].Minimum = jsonschema.Ptr(0.0)
	in.Properties["offset"].Minimum = jsonschema.Ptr(0.0)
	return in
}
