package semantic

import (
	"fmt"
	"strings"
	"time"

	"github.com/koujing/koujing/engine/plan"
)

// CalendarHelp describes the calendars a query or a server may name, for messages.
const CalendarHelp = "iso (weeks from Monday), us (weeks from Sunday), fiscal_<month> (a fiscal year from that month, such as fiscal_april; " +
	"add _us for weeks from Sunday), nrf (the National Retail Federation's 4-5-4 calendar), or retail_<445|454|544> with " +
	"_<month>_<weekday>_<last|nearest> for the year's end (default january_saturday_nearest, as the NRF's)"

// ParseCalendar returns the calendar a name describes (see CalendarHelp); "" is the ISO
// calendar. Names are read in any case.
func ParseCalendar(name string) (*plan.Calendar, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	bad := func() (*plan.Calendar, error) {
		return nil, fmt.Errorf("unknown calendar %q; use %s", name, CalendarHelp)
	}
	cal := &plan.Calendar{Name: n, WeekStart: time.Monday, FiscalYearStart: time.January}
	switch {
	case n == "" || n == "iso":
		cal.Name = "iso"
		return cal, nil
	case n == "us":
		cal.WeekStart = time.Sunday
		return cal, nil
	case n == "nrf":
		n = "retail_454_january_saturday_nearest"
		fallthrough
	case strings.HasPrefix(n, "retail_"):
		parts := strings.Split(strings.TrimPrefix(n, "retail_"), "_")
		if len(parts) == 1 {
			parts = append(parts, "january", "saturday", "nearest")
		}
		if len(parts) != 4 || len(parts[0]) != 3 {
			return bad()
		}
		r := &plan.RetailCalendar{}
		for i, c := range parts[0] {
			r.Pattern[i] = int(c - '0')
		}
		month, okM := parseMonth(parts[1])
		weekday, okW := parseWeekday(parts[2])
		if !okM || !okW || parts[3] != "last" && parts[3] != "nearest" {
			return bad()
		}
		r.YearEndMonth, r.YearEndWeekday, r.Nearest = month, weekday, parts[3] == "nearest"
		cal.Retail = r
		cal.WeekStart = (weekday + 1) % 7
	case strings.HasPrefix(n, "fiscal_"):
		rest, us := strings.CutSuffix(strings.TrimPrefix(n, "fiscal_"), "_us")
		month, ok := parseMonth(rest)
		if !ok {
			return bad()
		}
		cal.FiscalYearStart = month
		if us {
			cal.WeekStart = time.Sunday
		}
	default:
		return bad()
	}
	if err := cal.Validate(); err != nil {
		return nil, fmt.Errorf("calendar %q: %v", name, err)
	}
	return cal, nil
}

func parseMonth(s string) (time.Month, bool) {
	for m := time.January; m <= time.December; m++ {
		if strings.EqualFold(m.String(), s) {
			return m, true
		}
	}
	return 0, false
}

func parseWeekday(s string) (time.Weekday, bool) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		if strings.EqualFold(d.String(), s) {
			return d, true
		}
	}
	return 0, false
}
