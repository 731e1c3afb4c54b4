package plan

import (
	"strings"
	"testing"
	"time"
)

// nrf is the National Retail Federation's 4-5-4 calendar: years end on the Saturday nearest
// the end of January, weeks start on Sunday.
var nrf = &Calendar{Name: "nrf", WeekStart: time.Sunday,
	Retail: &RetailCalendar{Pattern: [3]int{4, 5, 4}, YearEndMonth: time.January, YearEndWeekday: time.Saturday, Nearest: true}}

func day(s string) time.Time { return must(time.Parse(time.DateOnly, s)) }

func TestCalendarTruncate(t *testing.T) {
	april := &Calendar{Name: "fy", WeekStart: time.Monday, FiscalYearStart: time.April}
	sunday := &Calendar{Name: "us", WeekStart: time.Sunday, FiscalYearStart: time.January}
	tests := []struct {
		cal         *Calendar
		unit        TimeUnit
		at          string
		start, next string
	}{
		{nil, Week, "2024-03-03", "2024-02-26", "2024-03-04"}, // a Sunday ends an ISO week
		{sunday, Week, "2024-03-03", "2024-03-03", "2024-03-10"},
		{sunday, Week, "2024-03-09", "2024-03-03", "2024-03-10"},
		{nil, FiscalYear, "2024-03-09", "2024-01-01", "2025-01-01"},
		{april, FiscalYear, "2024-03-31", "2023-04-01", "2024-04-01"},
		{april, FiscalYear, "2024-04-01", "2024-04-01", "2025-04-01"},
		{april, FiscalQuarter, "2024-03-31", "2024-01-01", "2024-04-01"},
		{april, FiscalQuarter, "2024-06-30", "2024-04-01", "2024-07-01"},
		{april, FiscalMonth, "2024-02-29", "2024-02-01", "2024-03-01"},
		{april, Year, "2024-03-31", "2024-01-01", "2025-01-01"},
		// NRF years: 2022 (Jan 30 2022 – Jan 28 2023), 2023 with 53 weeks (Jan 29 2023 – Feb 3
		// 2024), 2024 (Feb 4 2024 – Feb 1 2025).
		{nrf, FiscalYear, "2023-01-28", "2022-01-30", "2023-01-29"},
		{nrf, FiscalYear, "2023-01-29", "2023-01-29", "2024-02-04"},
		{nrf, FiscalYear, "2024-02-03", "2023-01-29", "2024-02-04"},
		{nrf, FiscalYear, "2024-12-31", "2024-02-04", "2025-02-02"},
		{nrf, FiscalQuarter, "2023-04-29", "2023-01-29", "2023-04-30"},
		{nrf, FiscalQuarter, "2024-02-03", "2023-10-29", "2024-02-04"}, // 14 weeks
		{nrf, FiscalMonth, "2023-02-25", "2023-01-29", "2023-02-26"},   // 4 weeks
		{nrf, FiscalMonth, "2023-03-05", "2023-02-26", "2023-04-02"},   // 5 weeks
		{nrf, FiscalMonth, "2023-04-29", "2023-04-02", "2023-04-30"},   // 4 weeks
		{nrf, FiscalMonth, "2024-02-03", "2023-12-31", "2024-02-04"},   // 5 weeks in the 53rd-week year
		{nrf, FiscalMonth, "2025-02-01", "2025-01-05", "2025-02-02"},   // 4 weeks otherwise
		{nrf, Week, "2024-02-03", "2024-01-28", "2024-02-04"},
	}
	for _, tt := range tests {
		start, next := tt.cal.Truncate(day(tt.at), tt.unit)
		if got := start.Format(time.DateOnly) + " " + next.Format(time.DateOnly); got != tt.start+" "+tt.next {
			t.Errorf("%s of %s in %s: %s, want %s %s", tt.unit, tt.at, tt.cal.orISO().Name, got, tt.start, tt.next)
		}
	}
}

// TestRetailYearsAreWholeWeeks walks every day of two centuries and checks the retail calendar's
// invariants: years of 52 or 53 weeks, each starting the day after the last ends, on the day
// after YearEndWeekday, quarters of 13 weeks (the fourth 14 in a long year), months as the
// pattern says.
func TestRetailYearsAreWholeWeeks(t *testing.T) {
	for _, nearest := range []bool{false, true} {
		for _, pattern := range [][3]int{{4, 4, 5}, {4, 5, 4}, {5, 4, 4}} {
			cal := &Calendar{Name: "r", WeekStart: time.Sunday,
				Retail: &RetailCalendar{Pattern: pattern, YearEndMonth: time.December, YearEndWeekday: time.Saturday, Nearest: nearest}}
			if err := cal.Validate(); err != nil {
				t.Fatal(err)
			}
			long := 0
			prevEnd := time.Time{}
			for d := day("1950-01-01"); d.Year() < 2150; d = d.AddDate(0, 0, 1) {
				ys, ye := cal.Truncate(d, FiscalYear)
				if ys != d {
					continue
				}
				weeks := int(ye.Sub(ys).Hours()/24) / 7
				if weeks != 52 && weeks != 53 || ye.Sub(ys)%(7*24*time.Hour) != 0 {
					t.Fatalf("%v year from %s to %s is not 52 or 53 weeks", pattern, ys, ye)
				}
				if weeks == 53 {
					long++
				}
				if ys.Weekday() != time.Sunday || (!prevEnd.IsZero() && prevEnd != ys) {
					t.Fatalf("%v year starts %s (%s), the previous ended %s", pattern, ys, ys.Weekday(), prevEnd)
				}
				prevEnd = ye
				q := ys
				for i := 0; i < 4; i++ {
					qs, qe := cal.Truncate(q, FiscalQuarter)
					want := 13
					if i == 3 {
						want = weeks - 39
					}
					if qs != q || int(qe.Sub(qs).Hours()/24) != 7*want {
						t.Fatalf("%v quarter %d of %s: %s to %s, want %d weeks", pattern, i+1, ys, qs, qe, want)
					}
					m := q
					for j := 0; j < 3; j++ {
						ms, me := cal.Truncate(m, FiscalMonth)
						want := pattern[j]
						if i == 3 && j == 2 {
							want += weeks - 52
						}
						if ms != m || int(me.Sub(ms).Hours()/24) != 7*want {
							t.Fatalf("%v month %d.%d of %s: %s to %s, want %d weeks", pattern, i+1, j+1, ys, ms, me, want)
						}
						m = me
					}
					if m != qe {
						t.Fatalf("%v months of quarter %d end %s, the quarter %s", pattern, i+1, m, qe)
					}
					q = qe
				}
				if q != ye {
					t.Fatalf("%v quarters end %s, the year %s", pattern, q, ye)
				}
			}
			// About one year in six has 53 weeks.
			if long < 25 || long > 45 {
				t.Errorf("%v nearest=%v: %d long years in two centuries", pattern, nearest, long)
			}
		}
	}
}

func TestCalendarShift(t *testing.T) {
	april := &Calendar{Name: "fy", WeekStart: time.Monday, FiscalYearStart: time.April}
	tests := []struct {
		cal  *Calendar
		unit TimeUnit
		n    int
		at   string
		want string // "" for none
	}{
		{nil, Year, -1, "2024-02-29", "2023-02-28"},
		{nil, Year, 1, "2023-02-28", "2024-02-28"},
		{nil, Month, -1, "2024-03-31", "2024-02-29"},
		{nil, Month, 1, "2024-01-31", "2024-02-29"},
		{nil, Quarter, -1, "2024-05-31", "2024-02-29"},
		{nil, Month, -13, "2024-01-15", "2022-12-15"},
		{nil, Week, -52, "2025-03-03", "2024-03-04"},
		{nil, Day, -1, "2024-03-01", "2024-02-29"},
		{april, FiscalYear, -1, "2024-02-29", "2023-02-28"},
		{april, FiscalQuarter, -1, "2024-05-31", "2024-02-29"},
		// Retail: the same day of the same week of the previous period.
		{nrf, FiscalYear, -1, "2024-02-04", "2023-01-29"},
		{nrf, FiscalYear, -1, "2024-02-10", "2023-02-04"},
		{nrf, FiscalYear, -1, "2024-01-28", ""}, // week 53 of 2023 has none in 2022
		{nrf, FiscalYear, 1, "2023-01-29", "2024-02-04"},
		{nrf, FiscalMonth, -1, "2023-02-26", "2023-01-29"},
		{nrf, FiscalMonth, -1, "2023-03-26", ""}, // the 5th week of a 5-week month
		{nrf, FiscalQuarter, 1, "2023-10-29", "2024-02-04"},
	}
	for _, tt := range tests {
		got, ok := tt.cal.Shift(day(tt.at), tt.unit, tt.n)
		text := ""
		if ok {
			text = got.Format(time.DateOnly)
		}
		if text != tt.want {
			t.Errorf("%s shifted by %d %s in %s: %q, want %q", tt.at, tt.n, tt.unit, tt.cal.orISO().Name, text, tt.want)
		}
	}
}

// TestCalendarAcrossDaylightSaving checks that periods start at local midnight on both sides of
// New York's clock changes, and that shifting a day keeps the wall clock.
func TestCalendarAcrossDaylightSaving(t *testing.T) {
	ny := must(time.LoadLocation("America/New_York"))
	at := time.Date(2024, 11, 3, 12, 0, 0, 0, ny)
	start, next := (*Calendar)(nil).Truncate(at, Day)
	if next.Sub(start) != 25*time.Hour || start.Hour() != 0 {
		t.Errorf("2024-11-03 in New York: %s to %s", start, next)
	}
	back, _ := (*Calendar)(nil).Shift(time.Date(2024, 11, 4, 0, 0, 0, 0, ny), Day, -1)
	if !back.Equal(start) {
		t.Errorf("a day before 2024-11-04 00:00 is %s, want %s", back, start)
	}
	var got []string
	(*Calendar)(nil).Periods(time.Date(2024, 3, 9, 5, 0, 0, 0, ny), time.Date(2024, 3, 11, 1, 0, 0, 0, ny), Day, func(s time.Time) bool {
		got = append(got, s.Format(time.RFC3339))
		return true
	})
	if want := "2024-03-09T00:00:00-05:00 2024-03-10T00:00:00-05:00 2024-03-11T00:00:00-04:00"; strings.Join(got, " ") != want {
		t.Errorf("days around the spring change: %s, want %s", strings.Join(got, " "), want)
	}
}

// TestWallTimeReadsAsPostgreSQL pins the readings of skipped and repeated wall-clock times to
// PostgreSQL's answers to `timestamp '…' AT TIME ZONE zone`.
func TestWallTimeReadsAsPostgreSQL(t *testing.T) {
	tests := []struct {
		zone     string
		y        int
		m        time.Month
		d, h, mi int
		want     string
	}{
		{"America/New_York", 2022, 3, 13, 2, 33, "2022-03-13T07:33:00Z"}, // skipped: the offset before
		{"America/New_York", 2022, 11, 6, 1, 30, "2022-11-06T06:30:00Z"}, // repeated: the later
		{"America/Santiago", 2022, 9, 11, 0, 0, "2022-09-11T04:00:00Z"},  // a day without midnight
		{"America/New_York", 2024, 7, 4, 12, 0, "2024-07-04T16:00:00Z"},  // an ordinary time
		{"Asia/Shanghai", 2024, 2, 29, 0, 0, "2024-02-28T16:00:00Z"},
	}
	for _, tt := range tests {
		loc := must(time.LoadLocation(tt.zone))
		got := WallTime(tt.y, tt.m, tt.d, tt.h, tt.mi, 0, 0, loc).UTC().Format(time.RFC3339)
		if got != tt.want {
			t.Errorf("%d-%02d-%02d %02d:%02d in %s: %s, want %s", tt.y, tt.m, tt.d, tt.h, tt.mi, tt.zone, got, tt.want)
		}
	}
}
