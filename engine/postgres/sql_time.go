package postgres

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/koujing/koujing/engine/plan"
)

// wallClock renders x as the wall-clock time of the plan's zone, a timestamp without time zone,
// and returns with it how to turn a wall-clock time back into x's kind: the instant that time is
// in the zone, or a date. Computing on the wall clock and turning back gives periods their true
// starts across daylight-saving changes, as the engine computes them. A date needs no zone.
func (b *sqlBuilder) wallClock(x plan.Expr, loc *time.Location, cols sqlColumns, what fmt.Stringer) (string, func(string) string, error) {
	in, err := b.expr(x, cols)
	if err != nil {
		return "", nil, err
	}
	switch t := x.DataType().(type) {
	case *arrow.Date32Type:
		return in + "::timestamp", func(local string) string { return local + "::date" }, nil
	case *arrow.TimestampType:
		zone, err := b.zone(loc)
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", what, err)
		}
		if t.TimeZone == "" {
			// The engine reads a timestamp without a zone as a UTC instant.
			in = "(" + in + " AT TIME ZONE 'UTC')"
		}
		// AT TIME ZONE binds tighter than + and -, and looser than a cast: the wall-clock time
		// stands as an operand of arithmetic as it is, and is parenthesised to be cast.
		return in + " AT TIME ZONE " + zone, func(local string) string { return "(" + local + " AT TIME ZONE " + zone + ")" }, nil
	}
	return "", nil, sqlNotExpressible("time function of %s in %s", plan.TypeName(x.DataType()), what)
}

// timeTrunc truncates in the plan's zone and calendar (see wallClock).
func (b *sqlBuilder) timeTrunc(x *plan.TimeTrunc, cols sqlColumns) (string, error) {
	local, back, err := b.wallClock(x.X, x.Location, cols, x)
	if err != nil {
		return "", err
	}
	start, err := b.periodStart(local, x.Unit, x.Calendar)
	if err != nil {
		return "", fmt.Errorf("%s: %w", x, err)
	}
	return back(start), nil
}

// timeShift moves a time on the wall clock of the plan's zone (see wallClock and
// plan.Calendar.Shift).
func (b *sqlBuilder) timeShift(x *plan.TimeShift, cols sqlColumns) (string, error) {
	local, back, err := b.wallClock(x.X, x.Location, cols, x)
	if err != nil {
		return "", err
	}
	cal := x.Calendar
	if cal == nil {
		cal = plan.ISOCalendar
	}
	if !x.Unit.IsFiscal() || cal.Retail == nil {
		n, unit := sqlSpan(x.Unit, x.N)
		return back(sqlPlusInterval(local, n, unit)), nil
	}
	if x.N != -1 {
		return "", sqlNotExpressible("%s: a retail calendar's periods are shifted by one back only", x)
	}
	day := "(" + local + ")::date"
	moved, err := b.retailYear(day, cal.Retail, func(first, prevFirst string) string {
		// The same place in the period before: a day that lies off days into its period, whose
		// predecessor lasts l days, moves l days back — if the predecessor is long enough.
		off, l := sqlRetailPreviousPeriod(day, first, prevFirst, x.Unit, cal.Retail)
		return "CASE WHEN " + off + " < " + l + " THEN " + day + " - " + l + " END"
	})
	if err != nil {
		return "", err
	}
	return back("(" + moved + " + (" + local + ")::time)"), nil
}

// sqlPlusInterval adds n of a unit ("days", "months") to a wall-clock time. PostgreSQL keeps the
// day of the month where the month has it and takes the month's last day otherwise, as the
// engine does. The count is an integer of the plan, written as one.
func sqlPlusInterval(local string, n int64, unit string) string {
	return "(" + local + " + interval '" + strconv.FormatInt(n, 10) + " " + unit + "')"
}

// periodStart renders the wall-clock start of the period of the unit holding the wall-clock
// time local, in a calendar (nil: ISO). Weeks that start on another day than Monday shift the
// time to where date_trunc's Monday weeks fit and back; fiscal years that start in another month
// do the same with months. Counts are integers of the calendar, written as such.
func (b *sqlBuilder) periodStart(local string, unit plan.TimeUnit, cal *plan.Calendar) (string, error) {
	if cal == nil {
		cal = plan.ISOCalendar
	}
	trunc := func(unit, x string) string { return "date_trunc('" + unit + "', " + x + ")" }
	shifted := func(unit, x string, n int64, of string) string {
		if n == 0 {
			return trunc(unit, x)
		}
		return "(" + trunc(unit, sqlPlusInterval(x, -n, of)) + " + interval '" + strconv.FormatInt(n, 10) + " " + of + "')"
	}
	switch unit {
	case plan.Day:
		return trunc("day", local), nil
	case plan.Week:
		// date_trunc's weeks start on Monday; a week from Sunday is a Monday week of the time
		// one day later, moved a day back.
		k := int64((int(time.Monday) - int(cal.WeekStart) + 7) % 7)
		return shifted("week", local, -k, "days"), nil
	case plan.Month:
		return trunc("month", local), nil
	case plan.Quarter:
		return trunc("quarter", local), nil
	case plan.Year:
		return trunc("year", local), nil
	}
	if r := cal.Retail; r != nil {
		day := "(" + local + ")::date"
		start, err := b.retailYear(day, r, func(first, _ string) string { return sqlRetailPeriodStart(day, first, unit, r) })
		if err != nil {
			return "", err
		}
		return "(" + start + ")::timestamp", nil
	}
	k := int64(cal.FiscalYearStart - time.January)
	switch unit {
	case plan.FiscalMonth:
		return trunc("month", local), nil
	case plan.FiscalQuarter:
		return shifted("quarter", local, k, "months"), nil
	case plan.FiscalYear:
		return shifted("year", local, k, "months"), nil
	}
	return "", sqlNotExpressible("time unit %d", unit)
}

// retailYear renders, for the retail year holding day (a date), body(first, prevFirst): an
// expression over the first day of that year and of the year before. The first days of the
// years the calendar covers (see plan.RetailCalendar.YearStarts) travel as one parameter, an
// array, and width_bucket finds the day's year in it: the text stays short, so PostgreSQL
// neither repeats the year-end rule per use nor spends seconds compiling it.
func (b *sqlBuilder) retailYear(day string, r *plan.RetailCalendar, body func(first, prevFirst string) string) (string, error) {
	starts := r.YearStarts()
	items := make([]string, len(starts))
	for i, t := range starts {
		items[i] = t.Format(time.DateOnly)
	}
	p, err := b.param(&plan.Literal{Value: "{" + strings.Join(items, ",") + "}", Type: plan.String})
	if err != nil {
		return "", err
	}
	// A subquery, so that PostgreSQL reads the array once per statement rather than per row.
	years := "(SELECT " + p + "::date[])"
	i := "width_bucket(" + day + ", " + years + ")"
	return body(years+"["+i+"]", years+"["+i+" - 1]"), nil
}

// sqlRetailPeriodStart renders the first day of the unit's period holding day, in the retail
// year starting first: quarters of 13 weeks (the fourth taking a 53rd), months of the pattern's
// weeks.
func sqlRetailPeriodStart(day, first string, unit plan.TimeUnit, r *plan.RetailCalendar) string {
	if unit == plan.FiscalYear {
		return first
	}
	a := "(" + day + " - " + first + ")"
	q := "least(" + a + " / 91, 3)"
	if unit == plan.FiscalQuarter {
		return "(" + first + " + 91 * " + q + ")"
	}
	return "(" + first + " + 91 * " + q + " + 7 * " + sqlRetailMonthWeeks(a, q, r) + ")"
}

// sqlRetailMonthWeeks renders the week of the quarter its fiscal month starts on, for the day a
// days into its year, in quarter q.
func sqlRetailMonthWeeks(a, q string, r *plan.RetailCalendar) string {
	inQ := "(" + a + " / 7 - 13 * " + q + ")"
	m0, m1 := r.Pattern[0], r.Pattern[0]+r.Pattern[1]
	return fmt.Sprintf("(CASE WHEN %[1]s < %[2]d THEN 0 WHEN %[1]s < %[3]d THEN %[2]d ELSE %[3]d END)", inQ, m0, m1)
}

// sqlRetailPreviousPeriod renders, for a day in the retail year starting first (the year before
// it starting prevFirst), how many days into its unit's period it lies and how long the period
// before lasts, in days. Quarters and months before the year's first lie in the year before,
// whose last quarter and month hold a 53rd week if it has one.
func sqlRetailPreviousPeriod(day, first, prevFirst string, unit plan.TimeUnit, r *plan.RetailCalendar) (off, length string) {
	a := "(" + day + " - " + first + ")"
	extra := "((" + first + " - " + prevFirst + ") - 364)" // 7 after a 53-week year, else 0
	if unit == plan.FiscalYear {
		return a, "(" + first + " - " + prevFirst + ")"
	}
	q := "least(" + a + " / 91, 3)"
	if unit == plan.FiscalQuarter {
		return "(" + a + " - 91 * " + q + ")", "(CASE WHEN " + q + " = 0 THEN 91 + " + extra + " ELSE 91 END)"
	}
	weeks := sqlRetailMonthWeeks(a, q, r)
	off = "(" + a + " - 91 * " + q + " - 7 * " + weeks + ")"
	m0, m1 := r.Pattern[0], r.Pattern[0]+r.Pattern[1]
	p := r.Pattern
	length = fmt.Sprintf("(CASE %[1]s WHEN %[2]d THEN %[3]d WHEN %[4]d THEN %[5]d ELSE (CASE WHEN %[6]s = 0 THEN %[7]d + %[8]s ELSE %[7]d END) END)",
		weeks, m0, 7*p[0], m1, 7*p[1], q, 7*p[2], extra)
	return off, length
}

// densify fills the holes of a time series: the periods between the ends, generated day by day
// on the zone's wall clock and truncated as the time column was (so both hold the same
// instants), crossed with the distinct combinations of the keys, left-joined to the input; the
// input's rows without a period follow. The input is read several times, so PostgreSQL
// materializes it: it holds aggregated rows.
func (b *sqlBuilder) densify(d *plan.Densify) (sqlRelation, error) {
	in, err := b.node(d.Input)
	if err != nil {
		return sqlRelation{}, err
	}
	schema := d.Input.Schema()
	t, err := plan.ColumnOf(schema, d.Time)
	if err != nil {
		return sqlRelation{}, err
	}
	tcol := sqlColumnName(d.Time)
	// The ends as wall-clock times: the given ones, or the input's first and last periods.
	var toLocal func(x string) string
	var back func(local string) string
	if t.Type.ID() == arrow.DATE32 {
		toLocal = func(x string) string { return x + "::timestamp" }
		back = func(local string) string { return local + "::date" }
	} else {
		zone, err := b.zone(d.Location)
		if err != nil {
			return sqlRelation{}, fmt.Errorf("%s: %w", d, err)
		}
		toLocal = func(x string) string { return "(" + x + " AT TIME ZONE " + zone + ")" }
		back = func(local string) string { return "(" + local + " AT TIME ZONE " + zone + ")" }
	}
	lo := toLocal("(SELECT min(" + tcol + ") FROM " + in.name + ")")
	if d.From != nil {
		p, err := b.param(d.From)
		if err != nil {
			return sqlRelation{}, err
		}
		lo = toLocal(p)
	}
	hi := toLocal("(SELECT max(" + tcol + ") FROM " + in.name + ")")
	if d.To != nil {
		p, err := b.param(d.To)
		if err != nil {
			return sqlRelation{}, err
		}
		// The last period starts before To.
		hi = "(" + toLocal(p) + " - interval '1 microsecond')"
	}
	start, err := b.periodStart(`g."d"`, d.Unit, d.Calendar)
	if err != nil {
		return sqlRelation{}, fmt.Errorf("%s: %w", d, err)
	}
	periods := b.addCTE(
		"SELECT DISTINCT "+back(start)+" AS "+tcol,
		"FROM generate_series("+lo+", "+hi+", interval '1 day') AS g(\"d\")",
	)
	keyCols := make([]plan.Expr, len(d.Keys))
	keyNames := make([]string, len(d.Keys))
	for i, k := range d.Keys {
		c, err := plan.ColumnOf(schema, k)
		if err != nil {
			return sqlRelation{}, err
		}
		keyCols[i], keyNames[i] = c, sqlColumnName(k)
	}
	from := "FROM " + periods + " AS p"
	if len(d.Keys) > 0 {
		combos := b.addCTE(sqlSelect(append([]string{"DISTINCT " + keyNames[0]}, keyNames[1:]...)), "FROM "+in.name)
		from = "FROM " + combos + " AS k CROSS JOIN " + periods + " AS p"
	}
	conds, err := b.keyConditions(keyCols, keyCols, sqlSideColumns("k", schema), sqlSideColumns("a", schema), true, true)
	if err != nil {
		return sqlRelation{}, fmt.Errorf("%s: %w", d, err)
	}
	conds = append(conds, "a."+tcol+" = p."+tcol)
	filled := make([]string, schema.NumFields())
	passed := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		name := sqlColumnName(f.Name)
		passed[i] = name
		switch {
		case f.Name == d.Time:
			filled[i] = "p." + name
		case slices.Contains(d.Keys, f.Name):
			filled[i] = "k." + name
		default:
			filled[i] = "a." + name
		}
	}
	return sqlRelation{name: b.addCTE(
		sqlSelect(filled),
		from,
		"LEFT JOIN "+in.name+" AS a ON "+strings.Join(conds, " AND "),
		"UNION ALL",
		sqlSelect(passed),
		"FROM "+in.name,
		"WHERE "+tcol+" IS NULL",
	)}, nil
}

// sqlStep is the interval from one period of the unit to the next, where one is fixed on the
// wall clock: all but a retail calendar's fiscal periods.
func sqlStep(unit plan.TimeUnit, cal *plan.Calendar) (string, bool) {
	if unit.IsFiscal() && cal != nil && cal.Retail != nil {
		return "", false
	}
	steps := map[plan.TimeUnit]string{plan.Day: "1 day", plan.Week: "7 days", plan.Month: "1 month", plan.Quarter: "3 months",
		plan.Year: "1 year", plan.FiscalMonth: "1 month", plan.FiscalQuarter: "3 months", plan.FiscalYear: "1 year"}
	return "interval '" + steps[unit] + "'", true
}

// sqlSpan is n periods of a unit fixed on the wall clock as a count of days or months.
func sqlSpan(unit plan.TimeUnit, n int64) (int64, string) {
	switch unit {
	case plan.Day:
		return n, "days"
	case plan.Week:
		return 7 * n, "days"
	}
	return int64(unit.Months()) * n, "months"
}

// timeWindows repeats each input row for the periods whose windows hold its time: a lateral
// generate_series of the periods from the row's own, up to the furthest one whose window could
// hold it, kept where the window starts at or before the row's time and the period lies between
// the ends. Periods a fixed interval apart are generated by that interval; a retail calendar's
// are generated week by week and truncated.
func (b *sqlBuilder) timeWindows(w *plan.TimeWindows) (sqlRelation, error) {
	in, err := b.node(w.Input)
	if err != nil {
		return sqlRelation{}, err
	}
	schema := w.Input.Schema()
	t, err := plan.ColumnOf(schema, w.Time)
	if err != nil {
		return sqlRelation{}, err
	}
	cal := w.Calendar
	local, back, err := b.wallClock(t, w.Location, sqlSideColumns("i", schema), w)
	if err != nil {
		return sqlRelation{}, err
	}
	first, err := b.periodStart(local, w.Unit, cal)
	if err != nil {
		return sqlRelation{}, fmt.Errorf("%s: %w", w, err)
	}
	// The furthest period whose window can hold the row's time, on the wall clock.
	var limit string
	switch w.Kind {
	case plan.RollingWindow:
		if _, fixed := sqlStep(w.Unit, cal); !fixed || w.Span.IsFiscal() && cal != nil && cal.Retail != nil {
			return sqlRelation{}, sqlNotExpressible("%s: rolling windows of a retail calendar's periods", w)
		}
		n, unit := sqlSpan(w.Span, w.N)
		limit = sqlPlusInterval(local, n, unit)
	case plan.ToDateWindow:
		grain, err := b.periodStart(local, w.Span, cal)
		if err != nil {
			return sqlRelation{}, fmt.Errorf("%s: %w", w, err)
		}
		// A grain lasts at most a year and a week (a 53-week retail year).
		limit = sqlPlusInterval(sqlPlusInterval(grain, 12, "months"), 7, "days")
	}
	// No period after the last: the one before To, or the input's last.
	var last string
	if w.To != nil {
		p, err := b.param(w.To)
		if err != nil {
			return sqlRelation{}, err
		}
		if last, _, err = b.wallClock(plan.NewColumn("#to", w.To.Type), w.Location, func(string) (string, bool) { return p, true }, w); err != nil {
			return sqlRelation{}, err
		}
		last = "(" + last + " - interval '1 microsecond')"
	} else {
		max := "(SELECT max(" + sqlColumnName(w.Time) + ") FROM " + in.name + ")"
		if last, _, err = b.wallClock(plan.NewColumn("#max", t.Type), w.Location, func(string) (string, bool) { return max, true }, w); err != nil {
			return sqlRelation{}, err
		}
	}
	if limit == "" {
		limit = last
	} else {
		limit = "least(" + limit + ", " + last + ")"
	}
	step, fixed := sqlStep(w.Unit, cal)
	var periods string
	if fixed {
		periods = "SELECT g.\"p\" FROM generate_series(" + first + ", " + limit + ", " + step + ") AS g(\"p\")"
	} else {
		start, err := b.periodStart(`g."d"`, w.Unit, cal)
		if err != nil {
			return sqlRelation{}, fmt.Errorf("%s: %w", w, err)
		}
		periods = "SELECT DISTINCT " + start + " AS \"p\" FROM generate_series(" + first + ", " + limit + ", interval '7 days') AS g(\"d\")"
	}
	pcol := sqlColumnName(w.Name)
	ref := "i." + sqlColumnName(w.Time)
	var conds []string
	if w.Kind != plan.RunningWindow {
		var from string
		switch w.Kind {
		case plan.RollingWindow:
			// The window starts N spans before the period ends.
			n, unit := sqlSpan(w.Span, w.N)
			from = sqlPlusInterval("(p.\"p\" + "+step+")", -n, unit)
		default:
			if from, err = b.periodStart(`p."p"`, w.Span, cal); err != nil {
				return sqlRelation{}, fmt.Errorf("%s: %w", w, err)
			}
		}
		conds = append(conds, back(from)+" <= "+ref)
	}
	if w.From != nil {
		p, err := b.param(w.From)
		if err != nil {
			return sqlRelation{}, err
		}
		conds = append(conds, back(`p."p"`)+" >= "+p)
	}
	items := make([]string, 0, schema.NumFields()+1)
	for _, f := range schema.Fields() {
		items = append(items, "i."+sqlColumnName(f.Name))
	}
	items = append(items, back(`p."p"`)+" AS "+pcol)
	lines := []string{sqlSelect(items), "FROM " + in.name + " AS i", "CROSS JOIN LATERAL (" + periods + ") AS p"}
	if len(conds) > 0 {
		lines = append(lines, "WHERE "+strings.Join(conds, " AND "))
	}
	return sqlRelation{name: b.addCTE(lines...)}, nil
}
