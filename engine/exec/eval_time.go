package exec

import (
	"sort"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/plan"
)

// timeTruncEval truncates timestamps (or dates) to calendar periods in a time zone.
//
// Converting every value through the time package costs about a hundred nanoseconds, so the
// evaluator remembers the periods it has met: a value is mapped by a binary search over the known
// periods (usually a hit on the last one, since data tends to arrive in time order), and only a
// value outside all of them goes through the calendar. Periods are computed with the zone's
// rules, so a day is 23 or 25 hours long across a daylight-saving change.
type timeTruncEval struct {
	mem     memory.Allocator
	x       evaluator
	unit    plan.TimeUnit
	loc     *time.Location
	cal     *plan.Calendar
	date    bool
	typ     arrow.DataType
	periods []period
	last    int
}

// period is one calendar period, [start, end) in the input's units (µs or days).
type period struct{ start, end int64 }

// maxPeriods bounds the remembered periods; past it the cache starts afresh.
const maxPeriods = 1 << 16

func newTimeTruncEval(mem memory.Allocator, x *plan.TimeTrunc, in evaluator) evaluator {
	loc := x.Location
	date := x.X.DataType().ID() == arrow.DATE32
	if date {
		loc = time.UTC
	}
	return &timeTruncEval{mem: mem, x: in, unit: x.Unit, loc: loc, cal: x.Calendar, date: date, typ: x.DataType()}
}

func (e *timeTruncEval) children() []evaluator { return []evaluator{e.x} }

func (e *timeTruncEval) eval(b arrow.RecordBatch) (arrow.Array, error) {
	in, err := e.x.eval(b)
	if err != nil {
		return nil, err
	}
	defer in.Release()
	n := in.Len()
	valid, nulls := andValidity(e.mem, n, in)
	if e.date {
		buf, out := newFixed[int32](e.mem, n)
		for i, v := range values[int32](in) {
			out[i] = int32(e.truncate(int64(v)))
		}
		return makeFixedArray(e.typ, n, valid, buf, nulls), nil
	}
	buf, out := newFixed[int64](e.mem, n)
	// The common case — the same period as the row before — is tested here, inline; only a
	// change of period calls truncate.
	var cur period
	for i, v := range values[int64](in) {
		if v >= cur.start && v < cur.end {
			out[i] = cur.start
			continue
		}
		out[i] = e.truncate(v)
		if e.last < len(e.periods) && e.periods[e.last].start == out[i] {
			cur = e.periods[e.last]
		}
	}
	return makeFixedArray(e.typ, n, valid, buf, nulls), nil
}

// truncate returns the start of v's period.
func (e *timeTruncEval) truncate(v int64) int64 {
	if e.last < len(e.periods) {
		if p := e.periods[e.last]; v >= p.start && v < p.end {
			return p.start
		}
	}
	i := sort.Search(len(e.periods), func(i int) bool { return e.periods[i].start > v }) - 1
	if i >= 0 && v < e.periods[i].end {
		e.last = i
		return e.periods[i].start
	}
	p := e.periodOf(v)
	if v < p.start || v >= p.end || e.periodOf(p.start) != p {
		// A period that does not hold the value it was computed from, or that starts in a
		// period of its own, would misplace values if remembered; don't. (Periods start at a
		// day's first instant, also where a zone skips midnight — see plan.WallTime — so this
		// is a guard, not a path.)
		return p.start
	}
	if len(e.periods) >= maxPeriods {
		e.periods = e.periods[:0]
		i = -1
	}
	e.periods = append(e.periods, period{})
	copy(e.periods[i+2:], e.periods[i+1:])
	e.periods[i+1] = p
	e.last = i + 1
	return p.start
}

// periodOf computes v's period through the calendar.
func (e *timeTruncEval) periodOf(v int64) period {
	var t time.Time
	if e.date {
		t = time.Unix(v*86400, 0).UTC()
	} else {
		t = time.UnixMicro(v).In(e.loc)
	}
	start, end := e.cal.Truncate(t, e.unit)
	if e.date {
		return period{start.Unix() / 86400, end.Unix() / 86400}
	}
	return period{start.UnixMicro(), end.UnixMicro()}
}

// timeShiftEval moves times by whole periods on the wall clock of a zone (see plan.TimeShift).
// It runs over aggregated rows — period starts to compare or to bound windows with — so it goes
// through the calendar for every value.
type timeShiftEval struct {
	mem  memory.Allocator
	x    evaluator
	s    *plan.TimeShift
	date bool
}

func newTimeShiftEval(mem memory.Allocator, x *plan.TimeShift, in evaluator) evaluator {
	return &timeShiftEval{mem: mem, x: in, s: x, date: x.X.DataType().ID() == arrow.DATE32}
}

func (e *timeShiftEval) children() []evaluator { return []evaluator{e.x} }

func (e *timeShiftEval) eval(b arrow.RecordBatch) (arrow.Array, error) {
	in, err := e.x.eval(b)
	if err != nil {
		return nil, err
	}
	defer in.Release()
	n := in.Len()
	validBuf, valid := newBitmap(e.mem, n)
	nulls := 0
	shift := func(i int, t time.Time) (time.Time, bool) {
		if in.IsNull(i) {
			return t, false
		}
		return e.s.Calendar.Shift(t, e.s.Unit, int(e.s.N))
	}
	var data *memory.Buffer
	if e.date {
		buf, out := newFixed[int32](e.mem, n)
		for i, v := range values[int32](in) {
			t, ok := shift(i, time.Unix(int64(v)*86400, 0).UTC())
			if ok {
				out[i] = int32(t.Unix() / 86400)
				bitutil.SetBit(valid, i)
			} else {
				nulls++
			}
		}
		data = buf
	} else {
		buf, out := newFixed[int64](e.mem, n)
		for i, v := range values[int64](in) {
			t, ok := shift(i, time.UnixMicro(v).In(e.s.Location))
			if ok {
				out[i] = t.UnixMicro()
				bitutil.SetBit(valid, i)
			} else {
				nulls++
			}
		}
		data = buf
	}
	return makeFixedArray(e.s.DataType(), n, validBuf, data, nulls), nil
}
