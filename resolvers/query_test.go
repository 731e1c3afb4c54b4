package resolvers

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/koujing/koujing/semantic"
)

type resultColumn struct {
	Name, Kind, Type string
	Metric           *nameNode
	Dimension        *nameNode
	Granularity      *string
}

type metricResult struct {
	Columns  []resultColumn
	Rows     [][]any
	RowCount int
}

const queryQuery = `query($input: MetricQueryInput!) {
  query(input: $input) {
    columns { name kind type metric { name } dimension { name } granularity }
    rows
    rowCount
  }
}`

// directRows asks the service the same question without GraphQL and returns the rows as the
// JSON they encode to.
func directRows(t *testing.T, svc *semantic.Service, q semantic.MetricQuery) [][]any {
	t.Helper()
	res, err := svc.Query(context.Background(), svc.Catalog().FullAccess(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Release()
	var buf bytes.Buffer
	if err := res.WriteJSONRows(&buf); err != nil {
		t.Fatal(err)
	}
	var rows [][]any
	dec := json.NewDecoder(&buf)
	dec.UseNumber()
	if err := dec.Decode(&rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestQueryByRegion(t *testing.T) {
	srv := server(t, fixture.demo, HandlerOptions{})
	input := map[string]any{
		"metrics":    []string{"gmv_paid", "paid_order_count", "aov"},
		"dimensions": []string{"orders.region"},
		"orderBy":    []map[string]any{{"field": "orders.region"}},
	}
	var data struct{ Query metricResult }
	mustData(t, post(t, srv, queryQuery, map[string]any{"input": input}), &data)
	checkNoLeak(t)

	res := data.Query
	if res.RowCount != 5 || len(res.Rows) != 5 {
		t.Fatalf("rowCount %d, %d rows, want 5 regions", res.RowCount, len(res.Rows))
	}
	region, dim := "orders.region", "DIMENSION"
	wantCols := []resultColumn{
		{Name: "orders.region", Kind: dim, Type: "STRING", Dimension: &nameNode{region}},
		{Name: "gmv_paid", Kind: "METRIC", Type: "DECIMAL", Metric: &nameNode{"gmv_paid"}},
		{Name: "paid_order_count", Kind: "METRIC", Type: "INTEGER", Metric: &nameNode{"paid_order_count"}},
		{Name: "aov", Kind: "METRIC", Metric: &nameNode{"aov"}},
	}
	if len(res.Columns) != len(wantCols) {
		t.Fatalf("columns = %+v", res.Columns)
	}
	for i, want := range wantCols {
		got := res.Columns[i]
		if want.Type == "" {
			// A ratio of a decimal and an integer: decimal or float, as the engine computes it.
			if got.Type != "DECIMAL" && got.Type != "FLOAT" {
				t.Errorf("column %s type = %s, want a number type", got.Name, got.Type)
			}
			want.Type = got.Type
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("column %d = %+v, want %+v", i, got, want)
		}
	}
	for _, row := range res.Rows {
		if _, ok := row[0].(string); !ok {
			t.Errorf("region %v is not a string", row[0])
		}
		for j := 1; j < len(row); j++ {
			if _, ok := row[j].(json.Number); !ok {
				t.Errorf("value %v (%T) of %s is not a JSON number", row[j], row[j], res.Columns[j].Name)
			}
		}
	}

	want := directRows(t, fixture.demo, semantic.MetricQuery{
		Metrics:    []string{"gmv_paid", "paid_order_count", "aov"},
		Dimensions: []string{"orders.region"},
		OrderBy:    []semantic.OrderBy{{Field: "orders.region"}},
	})
	if !reflect.DeepEqual(res.Rows, want) {
		t.Errorf("rows over GraphQL = %v\nrows from the service = %v", res.Rows, want)
	}
	checkNoLeak(t)
}

func TestQueryOptions(t *testing.T) {
	srv := server(t, fixture.demo, HandlerOptions{})
	input := map[string]any{
		"metrics":       []string{"order_count"},
		"timeDimension": map[string]any{"dimension": "orders.created_at", "granularity": "MONTH"},
		"timeRange":     map[string]any{"from": "2024-01-01", "to": "2024-04-01"},
		"filters": []map[string]any{
			{"dimension": "orders.channel", "operator": "IN", "values": []string{"web", "app"}},
			{"dimension": "orders.paid_at", "operator": "IS_NOT_NULL"},
		},
		"orderBy":  []map[string]any{{"field": "orders.created_at.month", "direction": "DESC"}},
		"limit":    2,
		"offset":   0,
		"timezone": "Asia/Shanghai",
	}
	var data struct{ Query metricResult }
	mustData(t, post(t, srv, queryQuery, map[string]any{"input": input}), &data)
	checkNoLeak(t)
	res := data.Query
	if len(res.Columns) != 2 || res.Columns[0].Kind != "TIME" || res.Columns[0].Type != "TIMESTAMP" ||
		res.Columns[0].Granularity == nil || *res.Columns[0].Granularity != "MONTH" || res.Columns[0].Name != "orders.created_at.month" {
		t.Errorf("columns = %+v", res.Columns)
	}
	want := directRows(t, fixture.demo, semantic.MetricQuery{
		Metrics:       []string{"order_count"},
		TimeDimension: &semantic.TimeGrouping{Dimension: "orders.created_at", Granularity: "month"},
		TimeRange:     &semantic.TimeRange{From: "2024-01-01", To: "2024-04-01"},
		Filters: []semantic.QueryFilter{
			{Dimension: "orders.channel", Op: semantic.InList, Values: []string{"web", "app"}},
			{Dimension: "orders.paid_at", Op: semantic.IsNotNullOp},
		},
		OrderBy:  []semantic.OrderBy{{Field: "orders.created_at.month", Desc: true}},
		Limit:    ptr(int64(2)),
		Timezone: "Asia/Shanghai",
	})
	if !reflect.DeepEqual(res.Rows, want) {
		t.Errorf("rows over GraphQL = %v\nrows from the service = %v", res.Rows, want)
	}
	if len(want) != 2 || !strings.HasPrefix(want[0][0].(string), "2024-03-01T00:00:00+08:00") {
		t.Errorf("want March 2024 in Shanghai first of 2 rows, got %v", want)
	}
}

func ptr[T any](v T) *T { return &v }

func TestQueryFilterValueIsData(t *testing.T) {
	srv := server(t, fixture.demo, HandlerOptions{})
	input := map[string]any{
		"metrics":    []string{"order_count"},
		"dimensions": []string{"orders.region"},
		"filters": []map[string]any{
			{"dimension": "orders.status", "operator": "EQUALS", "values": []string{"x'); drop table orders; --"}},
		},
	}
	var data struct{ Query metricResult }
	mustData(t, post(t, srv, queryQuery, map[string]any{"input": input}), &data)
	if data.Query.RowCount != 0 || len(data.Query.Rows) != 0 {
		t.Errorf("a status no order has matched %d rows: %v", data.Query.RowCount, data.Query.Rows)
	}
	// The orders are all still there.
	delete(input, "filters")
	mustData(t, post(t, srv, queryQuery, map[string]any{"input": input}), &data)
	if data.Query.RowCount != 5 {
		t.Errorf("after the filter, orders by region gave %d rows, want 5", data.Query.RowCount)
	}
	checkNoLeak(t)
}

func TestExplain(t *testing.T) {
	srv := server(t, fixture.demo, HandlerOptions{})
	var data struct {
		Explain struct {
			Plan, PhysicalPlan string
			Statements         []struct{ SQL string }
		}
	}
	mustData(t, post(t, srv, `{ explain(input: {metrics: ["aov"], dimensions: ["customers.segment"]}) { plan physicalPlan statements { sql } } }`, nil), &data)
	want, err := fixture.demo.Explain(fixture.demo.Catalog().FullAccess(), semantic.MetricQuery{Metrics: []string{"aov"}, Dimensions: []string{"customers.segment"}})
	if err != nil {
		t.Fatal(err)
	}
	if data.Explain.Plan != want.Logical || !strings.Contains(data.Explain.Plan, "Aggregate") {
		t.Errorf("plan = %q, want %q with an Aggregate", data.Explain.Plan, want.Logical)
	}
	// The demo lives in memory: everything runs in the engine, and no warehouse gets a statement.
	if data.Explain.PhysicalPlan != want.Logical || len(data.Explain.Statements) != 0 {
		t.Errorf("physical plan %q with %d statements; want the logical plan and none", data.Explain.PhysicalPlan, len(data.Explain.Statements))
	}
	checkNoLeak(t)
}

// TestQueryCompare asks for a comparison over GraphQL — one given without list brackets, with
// kinds — and checks its columns say what they hold and its rows are the service's.
func TestQueryCompare(t *testing.T) {
	srv := server(t, fixture.demo, HandlerOptions{})
	const query = `query($input: MetricQueryInput!) {
  query(input: $input) {
    columns { name kind type metric { name } granularity comparison { period kind } }
    rows
  }
}`
	input := map[string]any{
		"metrics":       []string{"gmv_paid", "aov"},
		"timeDimension": map[string]any{"dimension": "orders.created_at", "granularity": "MONTH"},
		"timeRange":     map[string]any{"from": "2024-01-01", "to": "2025-01-01"},
		"compare":       map[string]any{"period": "YEAR", "kinds": []string{"GROWTH", "PREVIOUS"}, "metrics": []string{"aov"}},
	}
	var data struct {
		Query struct {
			Columns []struct {
				Name, Kind, Type string
				Metric           *nameNode
				Comparison       *struct{ Period, Kind string }
			}
			Rows [][]any
		}
	}
	mustData(t, post(t, srv, query, map[string]any{"input": input}), &data)
	checkNoLeak(t)
	cols := data.Query.Columns
	if len(cols) != 5 {
		t.Fatalf("columns = %+v", cols)
	}
	for i, want := range []struct{ name, kind, period, ckind string }{
		{"aov.previous_year", "COMPARISON", "YEAR", "PREVIOUS"},
		{"aov.growth_year", "COMPARISON", "YEAR", "GROWTH"},
	} {
		c := cols[3+i]
		if c.Name != want.name || c.Kind != want.kind || c.Comparison == nil || c.Comparison.Period != want.period ||
			c.Comparison.Kind != want.ckind || c.Metric == nil || c.Metric.Name != "aov" || c.Type != "FLOAT" {
			t.Errorf("column %d = %+v, want %s", 3+i, c, want.name)
		}
	}
	if cols[1].Comparison != nil || cols[1].Kind != "METRIC" {
		t.Errorf("metric column = %+v", cols[1])
	}
	var rows struct{ Query metricResult }
	mustData(t, post(t, srv, queryQuery, map[string]any{"input": input}), &rows)
	want := directRows(t, fixture.demo, semantic.MetricQuery{
		Metrics:       []string{"gmv_paid", "aov"},
		TimeDimension: &semantic.TimeGrouping{Dimension: "orders.created_at", Granularity: "month"},
		TimeRange:     &semantic.TimeRange{From: "2024-01-01", To: "2025-01-01"},
		Compare:       []semantic.Comparison{{Period: "year", Kinds: []semantic.ComparisonKind{semantic.Growth, semantic.PreviousValue}, Metrics: []string{"aov"}}},
	})
	if len(want) != 12 || !reflect.DeepEqual(rows.Query.Rows, want) {
		t.Errorf("rows over GraphQL = %v\nrows from the service = %v", rows.Query.Rows, want)
	}
	for _, r := range want {
		if r[3] == nil || r[4] == nil {
			t.Errorf("row %v: 2024 has no value a year before", r)
		}
	}

	// A comparison without a time dimension is refused with a message that says what to add.
	delete(input, "timeDimension")
	delete(input, "timeRange")
	wantError(t, post(t, srv, queryQuery, map[string]any{"input": input}), "INVALID_QUERY", "needs a time dimension")
}
