package plan

import (
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

var _ Node = (*TimeWindows)(nil)

// WindowKind says which times the window of a period holds.
type WindowKind int

// The window kinds.
const (
	// RollingWindow holds the N periods of Span that end where the period ends: the last 7
	// days of each day, week or month.
	RollingWindow WindowKind = iota
	// ToDateWindow holds the times from the start of the Span period holding the period to the
	// period's end: month to date, year to date.
	ToDateWindow
	// RunningWindow holds every time up to the period's end: a running total of what the input
	// holds, from the first time it holds.
	RunningWindow
)

var windowKindText = [...]string{"rolling", "to date", "running"}

func (k WindowKind) String() string { return windowKindText[k] }

// TimeWindows assigns each input row to every period of Unit whose window holds the row's time
// (the column Time): the periods P with window(P) <= time < end(P), where end(P) is the start of
// the period after P and window(P) is where P's window starts (see WindowKind). Each row comes
// out once per such period, with the period's start in a new column, Name; an aggregate grouped
// by Name then computes, for each period, what its window holds — a rolling count of distinct
// buyers as well as a sum. Periods start at From and end before To; where either is nil, at the
// input's own first or last period. A row whose time is NULL belongs to no period.
type TimeWindows struct {
	Input    Node
	Time     string
	Name     string
	Unit     TimeUnit
	Kind     WindowKind
	N        int64
	Span     TimeUnit
	Location *time.Location
	Calendar *Calendar
	From, To *Literal
	schema   *arrow.Schema
}

// NewTimeWindows returns input with each row repeated for every period of unit whose window
// holds its time.
func NewTimeWindows(input Node, timeColumn, name string, unit TimeUnit, kind WindowKind, n int64, span TimeUnit,
	loc *time.Location, cal *Calendar, from, to *Literal) (*TimeWindows, error) {
	s := input.Schema()
	t, err := ColumnOf(s, timeColumn)
	if err != nil {
		return nil, fmt.Errorf("time windows: %w", err)
	}
	periodType, err := timeResultType(t, loc, "window", unit)
	if err != nil {
		return nil, fmt.Errorf("time windows: %w", err)
	}
	for _, l := range []*Literal{from, to} {
		if l != nil && !arrow.TypeEqual(l.Type, periodType) {
			return nil, fmt.Errorf("time windows: end %s is %s, the periods %s", l, TypeName(l.Type), TypeName(periodType))
		}
	}
	if kind == RollingWindow && (n < 1 || n > maxShift) {
		return nil, fmt.Errorf("time windows: a rolling window of %d %ss", n, span)
	}
	if cal.IsISO() {
		cal = nil
	}
	fields := append(append([]arrow.Field(nil), s.Fields()...), arrow.Field{Name: name, Type: periodType, Nullable: false})
	w := &TimeWindows{Input: input, Time: timeColumn, Name: name, Unit: unit, Kind: kind, N: n, Span: span,
		Location: loc, Calendar: cal, From: from, To: to, schema: arrow.NewSchema(fields, nil)}
	if err := checkUnique(w.schema); err != nil {
		return nil, fmt.Errorf("time windows: %w", err)
	}
	return w, nil
}

func (w *TimeWindows) Schema() *arrow.Schema { return w.schema }
func (w *TimeWindows) Children() []Node      { return []Node{w.Input} }
func (w *TimeWindows) WithChildren(children ...Node) (Node, error) {
	if err := checkNodeArity("TimeWindows", children, 1); err != nil {
		return nil, err
	}
	return NewTimeWindows(children[0], w.Time, w.Name, w.Unit, w.Kind, w.N, w.Span, w.Location, w.Calendar, w.From, w.To)
}

// WindowText describes a window: "the 7 days ending with each", "year to date", "running".
func (w *TimeWindows) WindowText() string {
	switch w.Kind {
	case RollingWindow:
		return fmt.Sprintf("%d %s rolling", w.N, w.Span)
	case ToDateWindow:
		return w.Span.String() + " to date"
	}
	return "running"
}

func (w *TimeWindows) String() string {
	end := func(l *Literal, of string) string {
		if l == nil {
			return of + " of the input"
		}
		return l.String()
	}
	s := fmt.Sprintf("TimeWindows %s := %s of %s, %s, in '%s' from %s to %s", w.Name, w.Unit, w.Time, w.WindowText(), w.Location,
		end(w.From, "first"), end(w.To, "last"))
	if w.Calendar != nil {
		s += ", " + calendarText(w.Calendar)
	}
	return s
}

// WindowStart returns where the window of the period [start, end) begins, in the period's own
// location; ok is false for a running window, which has no start.
func (w *TimeWindows) WindowStart(start, end time.Time) (time.Time, bool) {
	switch w.Kind {
	case RollingWindow:
		from, _ := w.Calendar.Shift(end, w.Span, -int(w.N))
		return from, true
	case ToDateWindow:
		from, _ := w.Calendar.Truncate(start, w.Span)
		return from, true
	}
	return time.Time{}, false
}
