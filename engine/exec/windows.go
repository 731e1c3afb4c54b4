package exec

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/koujing/koujing/engine/plan"
)

// TimeWindows repeats each input row for every period whose window holds its time (see
// plan.TimeWindows). It reads its whole input — partial aggregates, or the distinct keys of a
// distinct count — and walks each row's periods forward from its own until one's window starts
// after it; a period's window start only moves forward, so the walk stops there.
type TimeWindows struct {
	materialized
	input Operator
	spec  *plan.TimeWindows
}

var _ Operator = (*TimeWindows)(nil)

// maxWindowRows bounds the rows a TimeWindows may make, a guard against a window over far more
// periods than any result shows.
const maxWindowRows = 200_000_000

// NewTimeWindows returns input with its rows assigned to periods as spec says.
func NewTimeWindows(env *Env, input Operator, spec *plan.TimeWindows) *TimeWindows {
	return &TimeWindows{materialized: materialized{env: env}, input: input, spec: spec}
}

func (w *TimeWindows) Schema() *arrow.Schema { return w.spec.Schema() }

func (w *TimeWindows) Open(ctx context.Context) error {
	all, err := collectOne(ctx, w.env, w.input)
	if err != nil {
		return err
	}
	defer all.Release()
	times := all.Column(all.Schema().FieldIndices(w.spec.Time)[0])
	date := times.DataType().ID() == arrow.DATE32
	at := func(i int) time.Time {
		if date {
			return timeAt(int64(values[int32](times)[i]), true, nil)
		}
		return timeAt(values[int64](times)[i], false, w.spec.Location)
	}
	periodType := w.spec.Schema().Field(w.spec.Schema().NumFields() - 1).Type
	unit, cal := w.spec.Unit, w.spec.Calendar
	periodOf := func(l *plan.Literal) time.Time { return timeAt(literalInt(l), date, w.spec.Location) }
	// The first and last periods: the given ends, or the input's.
	var first, last time.Time
	n := int(all.NumRows())
	seen := false
	for i := 0; i < n; i++ {
		if times.IsNull(i) {
			continue
		}
		p, _ := cal.Truncate(at(i), unit)
		if !seen || p.Before(first) {
			first = p
		}
		if !seen || p.After(last) {
			last = p
		}
		seen = true
	}
	if w.spec.From != nil {
		first = periodOf(w.spec.From)
	}
	if w.spec.To != nil {
		last, _ = cal.Truncate(periodOf(w.spec.To).Add(-time.Microsecond), unit)
		seen = true
	}
	var rows []int32
	var periods []int64
	if seen {
		// Periods repeat from row to row: remember each one's end and window start.
		type bounds struct{ end, from time.Time }
		known := map[int64]bounds{}
		boundsOf := func(p time.Time) bounds {
			if b, ok := known[p.UnixMicro()]; ok {
				return b
			}
			_, end := cal.Truncate(p, unit)
			from, _ := w.spec.WindowStart(p, end)
			b := bounds{end, from}
			known[p.UnixMicro()] = b
			return b
		}
		for i := 0; i < n; i++ {
			if times.IsNull(i) {
				continue
			}
			t := at(i)
			p, _ := cal.Truncate(t, unit)
			for !p.After(last) {
				b := boundsOf(p)
				if w.spec.Kind != plan.RunningWindow && b.from.After(t) {
					break
				}
				if !p.Before(first) {
					rows = append(rows, int32(i))
					periods = append(periods, stamp(p, date))
					if len(rows) > maxWindowRows {
						return fmt.Errorf("%w: windows of %s over more than %d periods and rows; narrow the time range", ErrMemoryLimit, w.spec.WindowText(), maxWindowRows)
					}
				}
				p = b.end
			}
		}
	}
	cols := make([]arrow.Array, 0, all.NumCols()+1)
	defer func() { releaseAll(cols) }()
	for _, c := range all.Columns() {
		got, err := take(w.env.Mem, c, rows)
		if err != nil {
			return err
		}
		cols = append(cols, got)
	}
	p, err := timeArray(w.env, periodType, periods)
	if err != nil {
		return err
	}
	cols = append(cols, p)
	w.result = array.NewRecordBatch(w.spec.Schema(), cols, int64(len(rows)))
	return nil
}

// timeAt is v, in a time column's units, as a time: days as a UTC date for dates, microseconds
// in loc otherwise. stamp is its inverse.
func timeAt(v int64, date bool, loc *time.Location) time.Time {
	if date {
		return time.Unix(v*86400, 0).UTC()
	}
	return time.UnixMicro(v).In(loc)
}

// literalInt is a time literal's value in its column's units.
func literalInt(l *plan.Literal) int64 {
	if v, ok := l.Value.(int32); ok {
		return int64(v)
	}
	return l.Value.(int64)
}

// stamp is a period start in a time column's units: days for dates, microseconds otherwise.
func stamp(t time.Time, date bool) int64 {
	if date {
		return t.Unix() / 86400
	}
	return t.UnixMicro()
}
