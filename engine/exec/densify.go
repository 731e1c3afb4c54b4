package exec

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/koujing/koujing/engine/plan"
)

// Densify fills the holes of a time series (see plan.Densify). It reads its whole input — the
// aggregated rows of a query — into one batch, finds the distinct combinations of the keys and
// the periods between the ends, and adds a row for each pair the input lacks.
type Densify struct {
	materialized
	input  Operator
	spec   *plan.Densify
	schema *arrow.Schema
}

var _ Operator = (*Densify)(nil)

// NewDensify returns input densified as spec says.
func NewDensify(env *Env, input Operator, spec *plan.Densify) *Densify {
	return &Densify{materialized: materialized{env: env}, input: input, spec: spec, schema: spec.Schema()}
}

func (d *Densify) Schema() *arrow.Schema { return d.schema }

func (d *Densify) Open(ctx context.Context) error {
	all, err := collectOne(ctx, d.env, d.input)
	if err != nil {
		return err
	}
	defer all.Release()
	s := all.Schema()
	col := func(name string) arrow.Array { return all.Column(s.FieldIndices(name)[0]) }
	times := col(d.spec.Time)
	date := times.DataType().ID() == arrow.DATE32
	value := func(i int) int64 {
		if date {
			return int64(values[int32](times)[i])
		}
		return values[int64](times)[i]
	}

	periods, err := d.periods(times, value, date)
	if err != nil {
		return err
	}
	keys := make([]arrow.Array, len(d.spec.Keys))
	for i, k := range d.spec.Keys {
		keys[i] = col(k)
	}
	n := int(all.NumRows())
	// The rows kept: those with no period, and those in the periods.
	var kept []int32
	var lo, hi int64
	if len(periods) > 0 {
		lo, hi = periods[0], periods[len(periods)-1]
	}
	for i := 0; i < n; i++ {
		if times.IsNull(i) || len(periods) > 0 && value(i) >= lo && value(i) <= hi {
			kept = append(kept, int32(i))
		}
	}
	reps, err := d.combinations(keys, n)
	if err != nil {
		return err
	}
	missingRep, missingAt, err := d.missing(keys, times, reps, periods)
	if err != nil {
		return err
	}

	cols := make([]arrow.Array, s.NumFields())
	defer func() { releaseAll(cols) }()
	none := make([]int32, len(missingRep))
	for i := range none {
		none[i] = -1
	}
	for c, f := range s.Fields() {
		have, err := take(d.env.Mem, all.Column(c), kept)
		if err != nil {
			return err
		}
		var added arrow.Array
		switch {
		case f.Name == d.spec.Time:
			added, err = timeArray(d.env, f.Type, missingAt)
		case isKey(d.spec.Keys, f.Name):
			added, err = take(d.env.Mem, all.Column(c), missingRep)
		default:
			added, err = take(d.env.Mem, all.Column(c), none)
		}
		if err != nil {
			have.Release()
			return err
		}
		cols[c], err = array.Concatenate([]arrow.Array{have, added}, d.env.Mem)
		have.Release()
		added.Release()
		if err != nil {
			return fmt.Errorf("densify %s: %w", f.Name, err)
		}
	}
	d.result = array.NewRecordBatch(d.schema, cols, int64(len(kept)+len(missingRep)))
	return nil
}

// periods returns the starts of the periods between the ends, in the time column's units.
func (d *Densify) periods(times arrow.Array, value func(int) int64, date bool) ([]int64, error) {
	toTime := func(v int64) time.Time { return timeAt(v, date, d.spec.Location) }
	var first, last *int64
	for i := 0; i < times.Len(); i++ {
		if times.IsNull(i) {
			continue
		}
		v := value(i)
		if first == nil || v < *first {
			first = &v
		}
		if last == nil || v > *last {
			last = &v
		}
	}
	if d.spec.From != nil {
		v := literalInt(d.spec.From)
		first = &v
	}
	var end time.Time
	switch {
	case d.spec.To != nil:
		// The last period is the one before To.
		end = toTime(literalInt(d.spec.To)).Add(-time.Microsecond)
		if date {
			end = toTime(literalInt(d.spec.To) - 1)
		}
	case last != nil:
		end = toTime(*last)
	default:
		return nil, nil
	}
	if first == nil {
		return nil, nil
	}
	var out []int64
	var err error
	d.spec.Calendar.Periods(toTime(*first), end, d.spec.Unit, func(start time.Time) bool {
		if len(out) == maxDensifyPeriods {
			err = fmt.Errorf("%w: a time spine of more than %d %ss; narrow the time range", ErrMemoryLimit, maxDensifyPeriods, d.spec.Unit)
			return false
		}
		out = append(out, stamp(start, date))
		return true
	})
	return out, err
}

// maxDensifyPeriods bounds the periods a time spine generates.
const maxDensifyPeriods = 1_000_000

// combinations returns a row holding each distinct combination of the keys' values, NULL being
// a value; one row (-1, read as no row) when there are no keys.
func (d *Densify) combinations(keys []arrow.Array, n int) ([]int32, error) {
	if len(keys) == 0 {
		return []int32{-1}, nil
	}
	if n == 0 {
		return nil, nil
	}
	table, err := newJoinTable(d.env, keys, true)
	if err != nil {
		return nil, err
	}
	first := make([]int32, n)
	var scratch []int64
	if err := table.heads(keys, first, &scratch); err != nil {
		return nil, err
	}
	var reps []int32
	for i, h := range first {
		if int(h) == i {
			reps = append(reps, int32(i))
		}
	}
	return reps, nil
}

// missing returns the combination (a row holding it) and the period of every pair of a
// combination and a period that no input row holds.
func (d *Densify) missing(keys []arrow.Array, times arrow.Array, reps []int32, periods []int64) ([]int32, []int64, error) {
	if len(periods) == 0 || len(reps) == 0 || times.Len() == 0 && len(keys) > 0 {
		return nil, nil, nil
	}
	pairs := len(reps) * len(periods)
	repOf := make([]int32, 0, pairs)
	at := make([]int64, 0, pairs)
	for _, r := range reps {
		for _, p := range periods {
			repOf = append(repOf, r)
			at = append(at, p)
		}
	}
	if times.Len() == 0 {
		return repOf, at, nil
	}
	probe := make([]arrow.Array, 0, len(keys)+1)
	defer func() { releaseAll(probe) }()
	for _, k := range keys {
		p, err := take(d.env.Mem, k, repOf)
		if err != nil {
			return nil, nil, err
		}
		probe = append(probe, p)
	}
	t, err := timeArray(d.env, times.DataType(), at)
	if err != nil {
		return nil, nil, err
	}
	probe = append(probe, t)
	table, err := newJoinTable(d.env, append(append([]arrow.Array(nil), keys...), times), true)
	if err != nil {
		return nil, nil, err
	}
	found := make([]int32, pairs)
	var scratch []int64
	if err := table.heads(probe, found, &scratch); err != nil {
		return nil, nil, err
	}
	var mr []int32
	var ma []int64
	for i, f := range found {
		if f < 0 {
			mr, ma = append(mr, repOf[i]), append(ma, at[i])
		}
	}
	return mr, ma, nil
}

// timeArray builds an array of type t (a timestamp or a date) holding vals.
func timeArray(env *Env, t arrow.DataType, vals []int64) (arrow.Array, error) {
	if t.ID() == arrow.DATE32 {
		buf, out := newFixed[int32](env.Mem, len(vals))
		for i, v := range vals {
			out[i] = int32(v)
		}
		return makeFixedArray(t, len(vals), nil, buf, 0), nil
	}
	if t.ID() != arrow.TIMESTAMP {
		return nil, fmt.Errorf("densify: %s is not a time", t)
	}
	buf, out := newFixed[int64](env.Mem, len(vals))
	copy(out, vals)
	return makeFixedArray(t, len(vals), nil, buf, 0), nil
}

func isKey(keys []string, name string) bool {
	for _, k := range keys {
		if k == name {
			return true
		}
	}
	return false
}
