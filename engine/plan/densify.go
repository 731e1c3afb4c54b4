package plan

import (
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

var _ Node = (*Densify)(nil)

// Densify fills the holes of a time series: it yields, for every combination of the Keys'
// values that its input holds (NULL is a value) and every period of Unit from From to To, the
// input's row for that combination and period, or a row of NULLs but for the keys and the
// period where the input has none. Time names the column of period starts (as a TimeTrunc of
// the same unit, zone and calendar yields them). From is the first period's start, To the start
// of the period after the last; where either is nil the earliest or latest period of the input
// takes its place. Input rows whose period is NULL pass through; those outside the periods do
// not. It is the time spine of a query whose charts must have no holes.
type Densify struct {
	Input    Node
	Time     string
	Keys     []string
	Unit     TimeUnit
	Location *time.Location
	Calendar *Calendar
	From, To *Literal
}

// maxDensifyPeriods bounds the periods a Densify may generate between its ends.
const maxDensifyPeriods = 1_000_000

// NewDensify returns input with every period of unit between from and to (nil: the input's own
// first and last) filled in for every combination of keys.
func NewDensify(input Node, timeColumn string, keys []string, unit TimeUnit, loc *time.Location, cal *Calendar, from, to *Literal) (*Densify, error) {
	s := input.Schema()
	t, err := ColumnOf(s, timeColumn)
	if err != nil {
		return nil, fmt.Errorf("densify: %w", err)
	}
	switch t.Type.ID() {
	case arrow.TIMESTAMP, arrow.DATE32:
	default:
		return nil, fmt.Errorf("densify: %s is %s, not a time", timeColumn, TypeName(t.Type))
	}
	for _, k := range keys {
		if k == timeColumn {
			return nil, fmt.Errorf("densify: %s is the time column and a key", k)
		}
		if _, err := ColumnOf(s, k); err != nil {
			return nil, fmt.Errorf("densify: %w", err)
		}
	}
	for _, l := range []*Literal{from, to} {
		if l != nil && !arrow.TypeEqual(l.Type, t.Type) {
			return nil, fmt.Errorf("densify: end %s is %s, the time column %s", l, TypeName(l.Type), TypeName(t.Type))
		}
	}
	if cal.IsISO() {
		cal = nil
	}
	return &Densify{Input: input, Time: timeColumn, Keys: keys, Unit: unit, Location: loc, Calendar: cal, From: from, To: to}, nil
}

// Schema is the input's schema, every column nullable.
func (d *Densify) Schema() *arrow.Schema {
	fields := append([]arrow.Field(nil), d.Input.Schema().Fields()...)
	for i := range fields {
		fields[i].Nullable = true
	}
	return arrow.NewSchema(fields, nil)
}
func (d *Densify) Children() []Node { return []Node{d.Input} }
func (d *Densify) WithChildren(children ...Node) (Node, error) {
	if err := checkNodeArity("Densify", children, 1); err != nil {
		return nil, err
	}
	return NewDensify(children[0], d.Time, d.Keys, d.Unit, d.Location, d.Calendar, d.From, d.To)
}
func (d *Densify) String() string {
	end := func(l *Literal, of string) string {
		if l == nil {
			return of + " of the input"
		}
		return l.String()
	}
	s := fmt.Sprintf("Densify %s by %s in '%s' from %s to %s", d.Time, d.Unit, d.Location, end(d.From, "first"), end(d.To, "last"))
	if len(d.Keys) > 0 {
		s += " for each [" + strings.Join(d.Keys, ", ") + "]"
	}
	if d.Calendar != nil {
		s += ", " + calendarText(d.Calendar)
	}
	return s
}
