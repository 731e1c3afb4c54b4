package exec

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/plan"
)

// TestTimeShift shifts timestamps and dates by calendar and retail periods: month ends clamp as
// PostgreSQL clamps them, the wall clock holds across New York's clock changes, and a retail
// year back from the 53rd week is NULL.
func TestTimeShift(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env := &Env{Mem: mem}
	ny := loadZone(t, "America/New_York")
	nrf := &plan.Calendar{Name: "nrf", WeekStart: time.Sunday,
		Retail: &plan.RetailCalendar{Pattern: [3]int{4, 5, 4}, YearEndMonth: time.January, YearEndWeekday: time.Saturday, Nearest: true}}
	rec := recordJSON(t, mem, schemaOf("t", tsUTC, "d", plan.Date), `[
		{"t": "2024-02-29T17:00:00Z", "d": "2024-02-29"},
		{"t": "2024-11-04T05:00:00Z", "d": "2024-03-31"},
		{"t": null, "d": null},
		{"t": "2024-01-28T05:00:00Z", "d": "2024-01-28"}
	]`)
	defer rec.Release()
	tests := []struct {
		name string
		e    plan.Expr
		want string
	}{
		{"a year back", must(plan.NewTimeShift(col("t", tsUTC), plan.Year, -1, ny, nil)),
			"2023-02-28T12:00:00-05:00 2023-11-04T00:00:00-04:00 NULL 2023-01-28T00:00:00-05:00"},
		{"a day back across fall back", must(plan.NewTimeShift(col("t", tsUTC), plan.Day, -1, ny, nil)),
			"2024-02-28T12:00:00-05:00 2024-11-03T00:00:00-04:00 NULL 2024-01-27T00:00:00-05:00"},
		{"a month back from dates", must(plan.NewTimeShift(col("d", plan.Date), plan.Month, -1, ny, nil)),
			"2024-01-29 2024-02-29 NULL 2023-12-28"},
		{"a retail year back", must(plan.NewTimeShift(col("d", plan.Date), plan.FiscalYear, -1, ny, nrf)),
			"2023-02-23 2023-03-26 NULL NULL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := evalRows(t, env, tt.e, rec)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("\n got: %s\nwant: %s", strings.Join(got, " "), tt.want)
			}
		})
	}
}

// TestLookup fetches each month's previous month of the same region: NULL where that month has no
// row, NULL regions matching NULL regions, and none for a NULL month.
func TestLookup(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ts := plan.Timestamp("UTC")
	schema := schemaOf("region", plan.String, "month", ts, "gmv", plan.Int64)
	rec := recordJSON(t, mem, schema, `[
		{"region": "east", "month": "2024-01-01T00:00:00Z", "gmv": 10},
		{"region": "east", "month": "2024-02-01T00:00:00Z", "gmv": 12},
		{"region": "west", "month": "2024-02-01T00:00:00Z", "gmv": 7},
		{"region": null, "month": "2024-01-01T00:00:00Z", "gmv": 1},
		{"region": null, "month": "2024-02-01T00:00:00Z", "gmv": 2},
		{"region": "east", "month": "2024-04-01T00:00:00Z", "gmv": 5}
	]`)
	parts := splitRecord(rec, 4, 2)
	rec.Release()
	defer releaseBatches(parts)
	month := col("month", ts)
	prev := must(plan.NewTimeTrunc(must(plan.NewTimeShift(month, plan.Month, -1, time.UTC, nil)), plan.Month, time.UTC))
	l := NewLookup(&Env{Mem: mem, BatchRows: 4}, newBatchSource(t, schema, parts...),
		[]plan.Expr{col("region", plan.String), month}, []plan.Expr{col("region", plan.String), prev},
		[]plan.Named{{Name: "gmv.previous", Expr: col("gmv", plan.Int64)}},
		schemaOf("region", plan.String, "month", ts, "gmv", plan.Int64, "gmv.previous", plan.Int64))
	got := collectRows(t, l, 4)
	want := []string{
		"east|2024-01-01T00:00:00Z|10|NULL",
		"east|2024-02-01T00:00:00Z|12|10",
		"west|2024-02-01T00:00:00Z|7|NULL",
		"NULL|2024-01-01T00:00:00Z|1|NULL",
		"NULL|2024-02-01T00:00:00Z|2|1",
		"east|2024-04-01T00:00:00Z|5|NULL",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
