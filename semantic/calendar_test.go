package semantic

import (
	"testing"
	"time"

	"github.com/koujing/koujing/engine/plan"
)

func TestParseCalendar(t *testing.T) {
	tests := []struct {
		name string
		want plan.Calendar // Name is not compared
	}{
		{"", plan.Calendar{WeekStart: time.Monday, FiscalYearStart: time.January}},
		{"ISO", plan.Calendar{WeekStart: time.Monday, FiscalYearStart: time.January}},
		{"us", plan.Calendar{WeekStart: time.Sunday, FiscalYearStart: time.January}},
		{"fiscal_april", plan.Calendar{WeekStart: time.Monday, FiscalYearStart: time.April}},
		{"fiscal_october_us", plan.Calendar{WeekStart: time.Sunday, FiscalYearStart: time.October}},
		{"nrf", plan.Calendar{WeekStart: time.Sunday, Retail: &plan.RetailCalendar{Pattern: [3]int{4, 5, 4}, YearEndMonth: time.January, YearEndWeekday: time.Saturday, Nearest: true}}},
		{"retail_445", plan.Calendar{WeekStart: time.Sunday, Retail: &plan.RetailCalendar{Pattern: [3]int{4, 4, 5}, YearEndMonth: time.January, YearEndWeekday: time.Saturday, Nearest: true}}},
		{"retail_544_december_friday_last", plan.Calendar{WeekStart: time.Saturday, Retail: &plan.RetailCalendar{Pattern: [3]int{5, 4, 4}, YearEndMonth: time.December, YearEndWeekday: time.Friday}}},
	}
	for _, tt := range tests {
		got, err := ParseCalendar(tt.name)
		if err != nil {
			t.Errorf("%q: %v", tt.name, err)
			continue
		}
		if !got.Equal(&tt.want) {
			t.Errorf("%q = %s, want %s", tt.name, got, &tt.want)
		}
	}
	for _, bad := range []string{"mayan", "fiscal_smarch", "retail_45", "retail_445_january", "retail_445_january_caturday_last", "retail_445_january_saturday_closest", "retail_444"} {
		if _, err := ParseCalendar(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
