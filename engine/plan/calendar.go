package plan

import (
	"fmt"
	"strings"
	"time"
)

// Calendar says where weeks and fiscal periods begin. Calendar units (day, week, month, quarter,
// year) follow the Gregorian calendar with weeks from WeekStart; fiscal units (fiscal_month,
// fiscal_quarter, fiscal_year) follow either a fiscal year that starts on the first of
// FiscalYearStart, or, with Retail set, a 52/53-week retail calendar.
//
// A nil *Calendar is the ISO calendar: weeks from Monday, fiscal years equal to calendar years.
// Calendars are values: two equal calendars truncate and shift alike, and plans compare them by
// value (see Fingerprint).
type Calendar struct {
	// Name is how definitions and queries refer to the calendar; it does not change any period.
	Name string
	// WeekStart is the first day of a week.
	WeekStart time.Weekday
	// FiscalYearStart is the month a fiscal year starts in, on its first day (January: fiscal
	// years are calendar years). Ignored when Retail is set.
	FiscalYearStart time.Month
	// Retail, when set, makes fiscal periods whole weeks: see RetailCalendar.
	Retail *RetailCalendar
}

// RetailCalendar is a 52/53-week calendar as retailers keep it (the NRF's 4-5-4 is one): a
// fiscal year is 52 whole weeks, or 53 when the year's end falls so, and ends on YearEndWeekday
// — the last one in YearEndMonth, or with Nearest the one nearest that month's last day. Each
// quarter is 13 weeks, split into three fiscal months of Pattern weeks (4-4-5, 4-5-4 or
// 5-4-4); the 53rd week, when there is one, goes to the last month of the fourth quarter.
// Weeks start the day after YearEndWeekday.
type RetailCalendar struct {
	Pattern        [3]int
	YearEndMonth   time.Month
	YearEndWeekday time.Weekday
	Nearest        bool
}

// ISOCalendar is the calendar of a nil *Calendar: weeks from Monday, fiscal years that are
// calendar years.
var ISOCalendar = &Calendar{Name: "iso", WeekStart: time.Monday, FiscalYearStart: time.January}

// orISO returns c, or the ISO calendar for nil.
func (c *Calendar) orISO() *Calendar {
	if c == nil {
		return ISOCalendar
	}
	return c
}

// Validate reports what is wrong with the calendar's settings, if anything.
func (c *Calendar) Validate() error {
	if c.WeekStart < time.Sunday || c.WeekStart > time.Saturday {
		return fmt.Errorf("week start %d is not a day of the week", c.WeekStart)
	}
	if c.Retail == nil && (c.FiscalYearStart < time.January || c.FiscalYearStart > time.December) {
		return fmt.Errorf("fiscal year start %d is not a month", c.FiscalYearStart)
	}
	if r := c.Retail; r != nil {
		sum := 0
		for _, w := range r.Pattern {
			if w < 4 || w > 5 {
				return fmt.Errorf("retail pattern %s: each fiscal month is 4 or 5 weeks", r.PatternString())
			}
			sum += w
		}
		if sum != 13 {
			return fmt.Errorf("retail pattern %s: a quarter is 13 weeks; use 4-4-5, 4-5-4 or 5-4-4", r.PatternString())
		}
		if r.YearEndMonth < time.January || r.YearEndMonth > time.December {
			return fmt.Errorf("retail year end month %d is not a month", r.YearEndMonth)
		}
		if r.YearEndWeekday < time.Sunday || r.YearEndWeekday > time.Saturday {
			return fmt.Errorf("retail year end weekday %d is not a day of the week", r.YearEndWeekday)
		}
		if c.WeekStart != (r.YearEndWeekday+1)%7 {
			return fmt.Errorf("a retail year ending on %s has weeks starting on %s, not %s", r.YearEndWeekday, (r.YearEndWeekday+1)%7, c.WeekStart)
		}
	}
	return nil
}

// PatternString writes the pattern as "4-5-4".
func (r *RetailCalendar) PatternString() string {
	parts := make([]string, len(r.Pattern))
	for i, w := range r.Pattern {
		parts[i] = fmt.Sprint(w)
	}
	return strings.Join(parts, "-")
}

// String describes the calendar's settings, for plans.
func (c *Calendar) String() string {
	c = c.orISO()
	s := fmt.Sprintf("weeks from %s", c.WeekStart)
	switch {
	case c.Retail != nil:
		r := c.Retail
		rule := "last"
		if r.Nearest {
			rule = "nearest the end of"
		}
		s += fmt.Sprintf(", retail %s years ending on the %s %s %s", r.PatternString(), rule, r.YearEndWeekday, r.YearEndMonth)
	case c.FiscalYearStart != time.January:
		s += fmt.Sprintf(", fiscal years from %s", c.FiscalYearStart)
	}
	return s
}

// Equal reports whether two calendars give the same periods; nil is the ISO calendar.
func (c *Calendar) Equal(o *Calendar) bool {
	a, b := c.orISO(), o.orISO()
	if a.WeekStart != b.WeekStart || (a.Retail == nil) != (b.Retail == nil) {
		return false
	}
	if a.Retail != nil {
		return *a.Retail == *b.Retail
	}
	return a.FiscalYearStart == b.FiscalYearStart
}

// IsISO reports whether the calendar gives the ISO calendar's periods.
func (c *Calendar) IsISO() bool { return c.Equal(nil) }

// IsFiscal reports whether u is one of the fiscal units.
func (u TimeUnit) IsFiscal() bool { return u >= FiscalMonth }

// Months is how many months a period of the unit spans on the wall clock — 1, 3 or 12 for
// months, quarters and years, fiscal ones of a fiscal year from some month included — and 0 for
// days and weeks. A retail calendar's fiscal periods are whole weeks instead; callers check.
func (u TimeUnit) Months() int {
	switch u {
	case Month, FiscalMonth:
		return 1
	case Quarter, FiscalQuarter:
		return 3
	case Year, FiscalYear:
		return 12
	}
	return 0
}

// Truncate returns the start of the period of the unit that t falls in, in t's own location,
// and the start of the next one. Periods start at midnight; where a zone skips midnight, at the
// first instant of the day (see WallTime).
func (c *Calendar) Truncate(t time.Time, unit TimeUnit) (start, next time.Time) {
	c = c.orISO()
	y, m, d := t.Date()
	loc := t.Location()
	day := func(y int, m time.Month, d int) time.Time { return WallTime(y, m, d, 0, 0, 0, 0, loc) }
	switch unit {
	case Day:
		return day(y, m, d), day(y, m, d+1)
	case Week:
		d -= (int(t.Weekday()) - int(c.WeekStart) + 7) % 7
		return day(y, m, d), day(y, m, d+7)
	case Month:
		return day(y, m, 1), day(y, m+1, 1)
	case Quarter:
		q := time.Month((int(m)-1)/3*3 + 1)
		return day(y, q, 1), day(y, q+3, 1)
	case Year:
		return day(y, 1, 1), day(y+1, 1, 1)
	}
	if c.Retail != nil {
		s, e := c.Retail.periodOf(civilDay(y, m, d), unit)
		return s.in(loc), e.in(loc)
	}
	// A fiscal year from month S: count months from S.
	months := (y*12 + int(m) - 1) - (int(c.FiscalYearStart) - 1)
	var first, n int
	switch unit {
	case FiscalMonth:
		first, n = months, 1
	case FiscalQuarter:
		first, n = months-mod(months, 3), 3
	default:
		first, n = months-mod(months, 12), 12
	}
	first += int(c.FiscalYearStart) - 1
	return day(0, time.Month(first+1), 1), day(0, time.Month(first+n+1), 1)
}

// Shift moves t's wall-clock time by n periods of the unit, in t's own location, and reports
// false when the calendar has no such time. Days and weeks move the date by 1 or 7 days a
// period; months, quarters and years (and the fiscal units of a calendar without Retail) move
// the month by 1, 3 or 12 and keep the day of the month, or the month's last day where it is
// shorter — as PostgreSQL adds intervals (2024-02-29 less a year is 2023-02-28). In a retail
// calendar a fiscal unit keeps the time's place in its period: the same day of the same week
// of the fiscal month, quarter or year n periods away, and none when that period is too short
// (the 53rd week has none in a 52-week year).
func (c *Calendar) Shift(t time.Time, unit TimeUnit, n int) (time.Time, bool) {
	c = c.orISO()
	y, m, d := t.Date()
	hh, mm, ss := t.Clock()
	ns := t.Nanosecond()
	loc := t.Location()
	at := func(y int, m time.Month, d int) time.Time { return WallTime(y, m, d, hh, mm, ss, ns, loc) }
	switch unit {
	case Day:
		return at(y, m, d+n), true
	case Week:
		return at(y, m, d+7*n), true
	}
	if r := c.Retail; r != nil && unit.IsFiscal() {
		cd := civilDay(y, m, d)
		start, _ := r.periodOf(cd, unit)
		offset := cd - start
		target := start
		for i := 0; i < abs(n); i++ {
			if n > 0 {
				_, target = r.periodOf(target, unit)
			} else {
				target, _ = r.periodOf(target-1, unit)
			}
		}
		if _, end := r.periodOf(target, unit); target+offset >= end {
			return time.Time{}, false
		}
		ty, tm, td := (target + offset).date()
		return at(ty, tm, td), true
	}
	months := unit.Months() * n
	first := time.Date(y, m+time.Month(months), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return at(first.Year(), first.Month(), min(d, last)), true
}

// WallTime returns the instant that the wall-clock time y-m-d h:mi:s.ns is in loc. A time a
// daylight-saving change skips, or one it repeats, is read as PostgreSQL reads it: of the two
// readings, with the offset in force before the change and with the one after it, the one that
// is that time, or else the later instant. (Go's time.Date picks the earlier one.) The engine
// and SQL pushed down to PostgreSQL so agree on the start of a day that has no midnight.
func WallTime(y int, m time.Month, d, h, mi, s, ns int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, h, mi, s, ns, loc)
	_, before := t.Add(-24 * time.Hour).Zone()
	_, after := t.Add(24 * time.Hour).Zone()
	if before == after {
		return t
	}
	wall := time.Date(y, m, d, h, mi, s, ns, time.UTC)
	read := func(offset int) (time.Time, bool) {
		at := wall.Add(-time.Duration(offset) * time.Second).In(loc)
		_, o := at.Zone()
		return at, o == offset
	}
	a, aOK := read(before)
	b, bOK := read(after)
	switch {
	case aOK && !bOK:
		return a
	case bOK && !aOK:
		return b
	case a.After(b):
		return a
	}
	return b
}

// Periods calls fn with the start of every period of the unit from the one holding from to the
// one holding to (both in the same location), in order, until fn returns false.
func (c *Calendar) Periods(from, to time.Time, unit TimeUnit, fn func(start time.Time) bool) {
	for p, _ := c.Truncate(from, unit); !p.After(to); {
		if !fn(p) {
			return
		}
		_, next := c.Truncate(p, unit)
		if !next.After(p) {
			// A period whose start normalises into the period before (a zone skipping
			// midnight): step from its end instead.
			_, next = c.Truncate(p.Add(36*time.Hour), unit)
		}
		p = next
	}
}

// civil is a day of the proleptic Gregorian calendar, counted from 1970-01-01.
type civil int

func civilDay(y int, m time.Month, d int) civil {
	return civil(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func (c civil) date() (int, time.Month, int) {
	return time.Unix(int64(c)*86400, 0).UTC().Date()
}

func (c civil) weekday() time.Weekday { return time.Weekday(mod(int(c)+4, 7)) } // 1970-01-01 was a Thursday

func (c civil) in(loc *time.Location) time.Time {
	y, m, d := c.date()
	return WallTime(y, m, d, 0, 0, 0, 0, loc)
}

func (r *RetailCalendar) yearEnd(y int) civil {
	last := civilDay(y, r.YearEndMonth+1, 0)
	if r.Nearest {
		return last + civil(mod(int(r.YearEndWeekday)-int(last.weekday())+3, 7)-3)
	}
	return last - civil(mod(int(last.weekday())-int(r.YearEndWeekday), 7))
}

// Retail years SQL pushed down to PostgreSQL knows the starts of: every year that ends from
// retailFirstYear to retailLastYear. The engine computes any year.
const (
	retailFirstYear = 1850
	retailLastYear  = 2250
)

// YearStarts returns the first days of the retail years that end from 1850 to 2250, in order,
// and the day after the last ends: the table SQL finds a day's retail year in.
func (r *RetailCalendar) YearStarts() []time.Time {
	out := make([]time.Time, 0, retailLastYear-retailFirstYear+2)
	for y := retailFirstYear - 1; y <= retailLastYear; y++ {
		yy, m, d := (r.yearEnd(y) + 1).date()
		out = append(out, time.Date(yy, m, d, 0, 0, 0, 0, time.UTC))
	}
	return out
}

// year returns the first and last day of the retail year holding day d.
func (r *RetailCalendar) year(d civil) (first, last civil) {
	y, _, _ := d.date()
	for yy := y - 1; ; yy++ {
		if end := r.yearEnd(yy); d <= end {
			return r.yearEnd(yy-1) + 1, end
		}
	}
}

// periodOf returns the first day of the unit's period holding day d and the first day after it.
func (r *RetailCalendar) periodOf(d civil, unit TimeUnit) (civil, civil) {
	first, last := r.year(d)
	if unit == FiscalYear {
		return first, last + 1
	}
	week := int(d-first) / 7
	q := min(week/13, 3)
	qStart := first + civil(7*13*q)
	qEnd := last + 1
	if q < 3 {
		qEnd = qStart + 7*13
	}
	if unit == FiscalQuarter {
		return qStart, qEnd
	}
	// The third fiscal month takes the weeks the first two leave: one more in a 53-week year's
	// fourth quarter.
	inQ := week - 13*q
	m0, m1 := r.Pattern[0], r.Pattern[0]+r.Pattern[1]
	switch {
	case inQ < m0:
		return qStart, qStart + civil(7*m0)
	case inQ < m1:
		return qStart + civil(7*m0), qStart + civil(7*m1)
	}
	return qStart + civil(7*m1), qEnd
}

func mod(a, b int) int { return ((a % b) + b) % b }

func abs(a int) int {
	if a < 0 {
		return -a
	}
	return a
}
