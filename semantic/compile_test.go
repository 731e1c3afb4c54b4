package semantic_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/golden"
	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
	"github.com/koujing/koujing/semantic/oracletest"
)

// demoCatalog loads the shipped demo definitions; compiling needs only their schemas, no data.
func demoCatalog(t *testing.T) *semantic.Catalog {
	t.Helper()
	src := engine.NewSources(memory.NewGoAllocator())
	t.Cleanup(src.Close)
	cat, err := semantic.LoadFS(context.Background(), demo.FS, semantic.SourcesResolver(src))
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// TestCompilePlans compiles every oracle case and compares the plan with its golden file, so a
// change in how a query is planned shows up in review as a diff of readable text.
func TestCompilePlans(t *testing.T) {
	cat := demoCatalog(t)
	for _, c := range oracletest.Cases(t) {
		t.Run(c.Name, func(t *testing.T) {
			cq, err := cat.Compile(c.Query.MetricQuery(), semantic.CompileOptions{}, cat.FullAccess())
			if err != nil {
				t.Fatal(err)
			}
			got := plan.Format(cq.Plan)
			golden.Compare(t, filepath.Join("testdata", "plans", golden.Name(c.Name)+".txt"), got)
		})
	}
}

func limit(n int64) *int64 { return &n }

// TestCompileErrors checks that each kind of bad query gets an error of the right class whose
// message says what is wrong.
func TestCompileErrors(t *testing.T) {
	cat := demoCatalog(t)
	month := &semantic.TimeGrouping{Dimension: "orders.created_at", Granularity: "month"}
	tests := []struct {
		name  string
		q     semantic.MetricQuery
		class error
		want  string
	}{
		{"no metric", semantic.MetricQuery{}, semantic.ErrInvalidQuery, "names no metric"},
		{"unknown metric with a near name", semantic.MetricQuery{Metrics: []string{"gmv_piad"}}, semantic.ErrNotFound, `unknown metric "gmv_piad". Did you mean "gmv_paid"?`},
		{"unknown metric far from any", semantic.MetricQuery{Metrics: []string{"zzzzzzzzzz"}}, semantic.ErrNotFound, `unknown metric "zzzzzzzzzz".`},
		{"metric twice", semantic.MetricQuery{Metrics: []string{"aov", "aov"}}, semantic.ErrInvalidQuery, "listed twice"},
		{"unknown dimension", semantic.MetricQuery{Metrics: []string{"aov"}, Dimensions: []string{"orders.regoin"}}, semantic.ErrNotFound, `Did you mean "orders.region"?`},
		{"unqualified dimension", semantic.MetricQuery{Metrics: []string{"aov"}, Dimensions: []string{"region"}}, semantic.ErrNotFound, "model.dimension"},
		{"dimension twice", semantic.MetricQuery{Metrics: []string{"aov"}, Dimensions: []string{"orders.region", "orders.region"}}, semantic.ErrInvalidQuery, "listed twice"},
		{"malformed time zone", semantic.MetricQuery{Metrics: []string{"aov"}, Timezone: "Mars/Olympus"}, semantic.ErrInvalidQuery, `unknown time zone "Mars/Olympus"`},
		{"local time zone", semantic.MetricQuery{Metrics: []string{"aov"}, Timezone: "Local"}, semantic.ErrInvalidQuery, "unknown time zone"},
		{"negative limit", semantic.MetricQuery{Metrics: []string{"aov"}, Limit: limit(-1)}, semantic.ErrInvalidQuery, "limit -1 is negative"},
		{"huge limit", semantic.MetricQuery{Metrics: []string{"aov"}, Limit: limit(1 << 40)}, semantic.ErrInvalidQuery, "more than the maximum"},
		{"negative offset", semantic.MetricQuery{Metrics: []string{"aov"}, Offset: -5}, semantic.ErrInvalidQuery, "offset -5 is negative"},
		{"time dimension that is not a time", semantic.MetricQuery{Metrics: []string{"aov"}, TimeDimension: &semantic.TimeGrouping{Dimension: "orders.region", Granularity: "month"}}, semantic.ErrInvalidQuery, "not a time dimension"},
		{"unknown granularity", semantic.MetricQuery{Metrics: []string{"aov"}, TimeDimension: &semantic.TimeGrouping{Dimension: "orders.created_at", Granularity: "fortnight"}}, semantic.ErrInvalidQuery, `unknown granularity "fortnight"`},
		{"time range without a time dimension", semantic.MetricQuery{Metrics: []string{"aov"}, TimeRange: &semantic.TimeRange{From: "2024-01-01"}}, semantic.ErrInvalidQuery, "timeRange needs a time dimension"},
		{"time range backwards", semantic.MetricQuery{Metrics: []string{"aov"}, TimeDimension: month, TimeRange: &semantic.TimeRange{From: "2025-01-01", To: "2024-01-01"}}, semantic.ErrInvalidQuery, "is not before"},
		{"time range that is not a time", semantic.MetricQuery{Metrics: []string{"aov"}, TimeDimension: month, TimeRange: &semantic.TimeRange{From: "last tuesday"}}, semantic.ErrInvalidQuery, "is not a time"},
		{"empty time range", semantic.MetricQuery{Metrics: []string{"aov"}, TimeDimension: month, TimeRange: &semantic.TimeRange{}}, semantic.ErrInvalidQuery, "neither from nor to"},
		{"unknown filter operator", semantic.MetricQuery{Metrics: []string{"aov"}, Filters: []semantic.QueryFilter{{Dimension: "orders.region", Op: "like", Values: []string{"e%"}}}}, semantic.ErrInvalidQuery, `unknown operator "like"`},
		{"filter value of the wrong type", semantic.MetricQuery{Metrics: []string{"aov"}, Filters: []semantic.QueryFilter{{Dimension: "orders.created_at", Op: semantic.Gte, Values: []string{"yesterday"}}}}, semantic.ErrInvalidQuery, `"yesterday" is not a time`},
		{"between with one value", semantic.MetricQuery{Metrics: []string{"aov"}, Filters: []semantic.QueryFilter{{Dimension: "customers.signup_date", Op: semantic.Between, Values: []string{"2021-01-01"}}}}, semantic.ErrInvalidQuery, "takes two values"},
		{"equals with no value", semantic.MetricQuery{Metrics: []string{"aov"}, Filters: []semantic.QueryFilter{{Dimension: "orders.region", Op: semantic.Equals}}}, semantic.ErrInvalidQuery, "needs at least one value"},
		{"is_null with a value", semantic.MetricQuery{Metrics: []string{"aov"}, Filters: []semantic.QueryFilter{{Dimension: "orders.region", Op: semantic.IsNullOp, Values: []string{"x"}}}}, semantic.ErrInvalidQuery, "takes no values"},
		{"contains on a time", semantic.MetricQuery{Metrics: []string{"aov"}, Filters: []semantic.QueryFilter{{Dimension: "orders.created_at", Op: semantic.ContainsOp, Values: []string{"2024"}}}}, semantic.ErrInvalidQuery, "needs a string dimension"},
		{"filter on an unknown dimension", semantic.MetricQuery{Metrics: []string{"aov"}, Filters: []semantic.QueryFilter{{Dimension: "orders.nope", Op: semantic.Equals, Values: []string{"x"}}}}, semantic.ErrNotFound, `unknown dimension "orders.nope"`},
		{"order by a column not in the output", semantic.MetricQuery{Metrics: []string{"aov"}, OrderBy: []semantic.OrderBy{{Field: "gmv_paid"}}}, semantic.ErrInvalidQuery, `cannot order by "gmv_paid"`},
		{"comparison without a time dimension", semantic.MetricQuery{Metrics: []string{"aov"}, Compare: []semantic.Comparison{{Period: "year"}}}, semantic.ErrInvalidQuery, "needs a time dimension"},
		{"unknown comparison period", semantic.MetricQuery{Metrics: []string{"aov"}, TimeDimension: month, Compare: []semantic.Comparison{{Period: "fortnight"}}}, semantic.ErrInvalidQuery, `unknown comparison period "fortnight"; use one of day, week, month`},
		{"comparison period finer than the granularity", semantic.MetricQuery{Metrics: []string{"aov"}, TimeDimension: month, Compare: []semantic.Comparison{{Period: "week"}}}, semantic.ErrInvalidQuery, "cannot compare each month with the week before"},
		{"weeks compared over months", semantic.MetricQuery{Metrics: []string{"aov"}, TimeDimension: &semantic.TimeGrouping{Dimension: "orders.created_at", Granularity: "week"}, Compare: []semantic.Comparison{{Period: "month"}}}, semantic.ErrInvalidQuery, "group the time dimension by day"},
		{"unknown comparison kind", semantic.MetricQuery{Metrics: []string{"aov"}, TimeDimension: month, Compare: []semantic.Comparison{{Period: "year", Kinds: []semantic.ComparisonKind{"ratio"}}}}, semantic.ErrInvalidQuery, `unknown comparison kind "ratio"`},
		{"comparing a metric not asked for", semantic.MetricQuery{Metrics: []string{"aov"}, TimeDimension: month, Compare: []semantic.Comparison{{Period: "year", Metrics: []string{"gmv_paid"}}}}, semantic.ErrInvalidQuery, "which the query does not ask for"},
		{"a time spine longer than a result may be", semantic.MetricQuery{Metrics: []string{"aov"},
			TimeDimension: &semantic.TimeGrouping{Dimension: "orders.created_at", Granularity: "day", FillGaps: true},
			TimeRange:     &semantic.TimeRange{From: "1000-01-01", To: "4000-01-01"}}, semantic.ErrInvalidQuery, "filling every day from 1000-01-01 to 4000-01-01 would make more than 1000000 rows"},
		{"a rolling window without a time dimension or range", semantic.MetricQuery{Metrics: []string{"gmv_paid_7d"}}, semantic.ErrInvalidQuery,
			"metric gmv_paid_7d aggregates the last 7 days ending with each period: group by a time dimension, or give a time range"},
		{"a window to date over a range without an end", semantic.MetricQuery{Metrics: []string{"gmv_paid_mtd"},
			TimeRange: &semantic.TimeRange{Dimension: "orders.created_at", From: "2025-01-01"}}, semantic.ErrInvalidQuery, "give the range an end"},
		{"a rolling window shorter than the granularity", semantic.MetricQuery{Metrics: []string{"gmv_paid_7d"}, TimeDimension: month}, semantic.ErrInvalidQuery,
			"aggregates the last 7 days of each period, shorter than a month: group by a shorter period"},
		{"a window to date shorter than the granularity", semantic.MetricQuery{Metrics: []string{"gmv_paid_mtd"},
			TimeDimension: &semantic.TimeGrouping{Dimension: "orders.created_at", Granularity: "year"}}, semantic.ErrInvalidQuery, "month to date, which a year does not fit in"},
		{"an offset without a time dimension", semantic.MetricQuery{Metrics: []string{"gmv_paid_yoy"}}, semantic.ErrInvalidQuery,
			"gmv_paid_last_year is gmv_paid 1 year before: group by a time dimension"},
		{"an unknown calendar", semantic.MetricQuery{Metrics: []string{"aov"}, TimeDimension: month, Calendar: "mayan"}, semantic.ErrInvalidQuery,
			`unknown calendar "mayan"; use iso (weeks from Monday), us (weeks from Sunday), fiscal_<month>`},
		{"a retail calendar with a pattern of the wrong length", semantic.MetricQuery{Metrics: []string{"aov"}, Calendar: "retail_444"}, semantic.ErrInvalidQuery,
			"a quarter is 13 weeks; use 4-4-5, 4-5-4 or 5-4-4"},
		{"calendar months compared over a retail year", semantic.MetricQuery{Metrics: []string{"aov"}, TimeDimension: month, Calendar: "nrf",
			Compare: []semantic.Comparison{{Period: "fiscal_year"}}}, semantic.ErrInvalidQuery, "cannot compare each month with the fiscal_year before"},
		{"the same comparison twice", semantic.MetricQuery{Metrics: []string{"aov"}, TimeDimension: month, Compare: []semantic.Comparison{{Period: "year"}, {Period: "year"}}}, semantic.ErrInvalidQuery, "asked for twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cat.Compile(tt.q, semantic.CompileOptions{}, cat.FullAccess())
			if err == nil {
				t.Fatal("compiled; want an error")
			}
			if !errors.Is(err, tt.class) {
				t.Errorf("error %q is not %v", err, tt.class)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}
