package plan

import (
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

var _ Expr = (*TimeShift)(nil)

// TimeShift moves a time by N periods of a unit on the wall clock of a zone, in a calendar (see
// Calendar.Shift): "a year before" of 2024-02-29 is 2023-02-28, and a day before 2024-11-04
// 00:00 in New York is 2024-11-03 00:00, 25 hours earlier. The result is typed in the zone, as
// TimeTrunc's is; a date moves as a calendar date and stays a date. It is NULL where the
// calendar has no such time (the 53rd week of a retail year, a year back) and where X is NULL.
type TimeShift struct {
	X        Expr
	Unit     TimeUnit
	N        int64
	Location *time.Location
	Calendar *Calendar
	typ      arrow.DataType
}

// maxShift bounds how many periods a shift may move, far beyond any calendar's use.
const maxShift = 100_000

// NewTimeShift returns x moved by n periods of unit in loc and cal (nil: the ISO calendar).
func NewTimeShift(x Expr, unit TimeUnit, n int64, loc *time.Location, cal *Calendar) (Expr, error) {
	t, err := timeResultType(x, loc, "shift", unit)
	if err != nil {
		return nil, err
	}
	if n < -maxShift || n > maxShift {
		return nil, fmt.Errorf("cannot shift a time by %d periods; at most %d", n, maxShift)
	}
	if cal.IsISO() {
		cal = nil
	}
	return &TimeShift{X: x, Unit: unit, N: n, Location: loc, Calendar: cal, typ: t}, nil
}

func (s *TimeShift) DataType() arrow.DataType { return s.typ }
func (s *TimeShift) Children() []Expr         { return []Expr{s.X} }
func (s *TimeShift) WithChildren(children ...Expr) (Expr, error) {
	if err := checkArity("time_shift", children, 1); err != nil {
		return nil, err
	}
	return NewTimeShift(children[0], s.Unit, s.N, s.Location, s.Calendar)
}
func (s *TimeShift) String() string {
	out := fmt.Sprintf("time_shift(%s, %+d %s", s.X, s.N, s.Unit)
	if s.typ.ID() != arrow.DATE32 {
		out += fmt.Sprintf(", '%s'", s.Location)
	}
	if s.Calendar != nil {
		out += ", " + calendarText(s.Calendar)
	}
	return out + ")"
}
