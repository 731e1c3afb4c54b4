package exec

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/plan"
)

// aggState holds one aggregate's running state for every group of a hash aggregation.
type aggState interface {
	// grow makes room for groups 0..n-1; new groups start empty.
	grow(n int)
	// update folds rows into their groups: row i belongs to groups[i] and counts when rows is
	// nil or bit i of rows is set (the argument is not NULL and the aggregate's filter holds).
	update(groups []uint32, arg arrow.Array, rows []byte) error
	// merge folds group g of other, a state of the same aggregate, into group into[g].
	merge(other aggState, into []uint32) error
	// build returns the results of groups 0..n-1.
	build(mem memory.Allocator, n int) (arrow.Array, error)
}

// indexedUpdater is implemented by states with a faster path for the common case of a selection
// and nothing else: idx lists the rows that count, in ascending order.
type indexedUpdater interface {
	updateIndexed(groups []uint32, arg arrow.Array, idx []int32) error
}

// newAggState returns the state for aggregate a, whose argument has type argType (nil when it
// counts rows).
func newAggState(env *Env, a plan.AggExpr) (aggState, error) {
	if a.Arg == nil {
		return &countState{}, nil
	}
	t := a.Arg.DataType()
	switch a.Func {
	case plan.Count:
		return &countState{}, nil
	case plan.CountDistinct:
		return newDistinctState(env, t)
	case plan.Sum, plan.Avg:
		avg := a.Func == plan.Avg
		switch {
		case plan.IsInteger(t):
			return &sumIntState{avg: avg}, nil
		case plan.IsFloat(t):
			return &sumFloatState{avg: avg}, nil
		case plan.IsDecimal(t):
			return &sumDecimalState{avg: avg, scale: plan.DecimalScale(t)}, nil
		}
	case plan.Min, plan.Max:
		return newMinMaxState(a.Func == plan.Max, t)
	case plan.Percentile, plan.Median:
		if plan.IsNumeric(t) {
			return &percentileState{env: env, fraction: a.Quantile()}, nil
		}
	}
	return nil, fmt.Errorf("cannot compute %s over %s", a.Func, plan.TypeName(t))
}

// percentileState keeps every value of every group, as floats, and computes a continuous
// percentile of them when built, exactly as PostgreSQL's percentile_cont does: the value at
// fraction·(n−1) of the sorted values, interpolated between its neighbours. Its memory is the
// values' own, charged to the query's budget.
type percentileState struct {
	env      *Env
	fraction float64
	vals     [][]float64
	scratch  []float64
	ints     []int64 // integers read before they convert to scratch
}

func (s *percentileState) grow(n int) { s.vals = growTo(s.vals, n) }

func (s *percentileState) update(groups []uint32, arg arrow.Array, rows []byte) error {
	if err := s.env.reserve(int64(len(groups)) * 8); err != nil {
		return err
	}
	fs := floatsOf(arg, &s.scratch, &s.ints)
	forRows(len(groups), rows, func(i int) { s.vals[groups[i]] = append(s.vals[groups[i]], fs[i]) })
	return nil
}

// floatsOf returns a numeric array's values as float64s, in *buf (grown and reused) unless the
// array holds float64s already; decimals convert as PostgreSQL converts numeric to float8.
// Integers pass through *ints, also grown and reused.
func floatsOf(a arrow.Array, buf *[]float64, ints *[]int64) []float64 {
	if a.DataType().ID() == arrow.FLOAT64 {
		return values[float64](a)
	}
	n := a.Len()
	*buf = growTo((*buf)[:0], n)
	out := *buf
	switch t := a.DataType(); {
	case t.ID() == arrow.FLOAT32:
		for i, v := range values[float32](a) {
			out[i] = float64(v)
		}
	case plan.IsDecimal(t):
		scale := plan.DecimalScale(t)
		for i, v := range values[decimal128.Num](a) {
			out[i] = decimalToFloat(v, scale)
		}
	default:
		*ints = growTo((*ints)[:0], n)
		intsOf(a, *ints)
		for i, v := range *ints {
			out[i] = float64(v)
		}
	}
	return out
}

func (s *percentileState) merge(other aggState, into []uint32) error {
	for g, vs := range other.(*percentileState).vals {
		s.vals[into[g]] = append(s.vals[into[g]], vs...)
	}
	return nil
}

func (s *percentileState) build(mem memory.Allocator, n int) (arrow.Array, error) {
	validBuf, valid := newBitmap(mem, n)
	buf, out := newFixed[float64](mem, n)
	nulls := 0
	for g := 0; g < n; g++ {
		vs := s.vals[g]
		if len(vs) == 0 {
			nulls++
			continue
		}
		slices.Sort(vs)
		pos := s.fraction * float64(len(vs)-1)
		lo, hi := math.Floor(pos), math.Ceil(pos)
		first := vs[int(lo)]
		if lo == hi {
			out[g] = first
		} else {
			out[g] = first + (vs[int(hi)]-first)*(pos-lo)
		}
		bitutil.SetBit(valid, g)
	}
	return makeFixedArray(plan.Float64, n, validBuf, buf, nulls), nil
}

// forRows calls fn for each row that counts: every row when rows is nil.
func forRows(n int, rows []byte, fn func(i int)) {
	if rows == nil {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	for i := 0; i < n; i++ {
		if rows[i>>3]&(1<<(i&7)) != 0 {
			fn(i)
		}
	}
}

type countState struct{ counts []int64 }

func (s *countState) grow(n int) { s.counts = growTo(s.counts, n) }

func (s *countState) update(groups []uint32, _ arrow.Array, rows []byte) error {
	counts := s.counts
	if rows == nil {
		for _, g := range groups {
			counts[g]++
		}
		return nil
	}
	for i, g := range groups {
		counts[g] += int64(rows[i>>3] >> (i & 7) & 1)
	}
	return nil
}

func (s *countState) updateIndexed(groups []uint32, _ arrow.Array, idx []int32) error {
	counts := s.counts
	for _, i := range idx {
		counts[groups[i]]++
	}
	return nil
}

func (s *countState) merge(other aggState, into []uint32) error {
	for g, c := range other.(*countState).counts {
		s.counts[into[g]] += c
	}
	return nil
}

func (s *countState) build(mem memory.Allocator, n int) (arrow.Array, error) {
	buf, out := newFixed[int64](mem, n)
	copy(out, s.counts[:n])
	return makeFixedArray(plan.Int64, n, nil, buf, 0), nil
}

// sumIntState sums integers in an int64, failing on overflow; as avg it also counts.
type sumIntState struct {
	avg    bool
	sums   []int64
	counts []int64
}

func (s *sumIntState) grow(n int) { s.sums, s.counts = growTo(s.sums, n), growTo(s.counts, n) }

func (s *sumIntState) update(groups []uint32, arg arrow.Array, rows []byte) error {
	switch arg.DataType().ID() {
	case arrow.INT8:
		return sumInts(s, groups, values[int8](arg), rows)
	case arrow.INT16:
		return sumInts(s, groups, values[int16](arg), rows)
	case arrow.INT32:
		return sumInts(s, groups, values[int32](arg), rows)
	}
	return sumInts(s, groups, values[int64](arg), rows)
}

func sumInts[T int8 | int16 | int32 | int64](s *sumIntState, groups []uint32, vals []T, rows []byte) error {
	sums, counts := s.sums, s.counts
	overflow := false
	forRows(len(groups), rows, func(i int) {
		g, v := groups[i], int64(vals[i])
		r := sums[g] + v
		overflow = overflow || (r^sums[g])&(r^v) < 0
		sums[g] = r
		counts[g]++
	})
	if overflow {
		return fmt.Errorf("%w: the sum leaves the 64-bit integer range", ErrOverflow)
	}
	return nil
}

func (s *sumIntState) merge(other aggState, into []uint32) error {
	o := other.(*sumIntState)
	for g := range o.sums {
		t := into[g]
		r := s.sums[t] + o.sums[g]
		if (r^s.sums[t])&(r^o.sums[g]) < 0 {
			return fmt.Errorf("%w: the sum leaves the 64-bit integer range", ErrOverflow)
		}
		s.sums[t] = r
		s.counts[t] += o.counts[g]
	}
	return nil
}

// countedValidity returns the validity of per-group results that are NULL where a group counted
// no value, and how many are.
func countedValidity(mem memory.Allocator, counts []int64, n int) (*memory.Buffer, int) {
	validBuf, valid := newBitmap(mem, n)
	nulls := 0
	for g, c := range counts[:n] {
		if c == 0 {
			nulls++
		} else {
			bitutil.SetBit(valid, g)
		}
	}
	return validBuf, nulls
}

func (s *sumIntState) build(mem memory.Allocator, n int) (arrow.Array, error) {
	validBuf, nulls := countedValidity(mem, s.counts, n)
	if s.avg {
		buf, out := newFixed[float64](mem, n)
		for g := 0; g < n; g++ {
			if s.counts[g] > 0 {
				out[g] = float64(s.sums[g]) / float64(s.counts[g])
			}
		}
		return makeFixedArray(plan.Float64, n, validBuf, buf, nulls), nil
	}
	buf, out := newFixed[int64](mem, n)
	copy(out, s.sums[:n])
	return makeFixedArray(plan.Int64, n, validBuf, buf, nulls), nil
}

// sumFloatState sums floats; as avg it also counts.
type sumFloatState struct {
	avg    bool
	sums   []float64
	counts []int64
}

func (s *sumFloatState) grow(n int) { s.sums, s.counts = growTo(s.sums, n), growTo(s.counts, n) }

func (s *sumFloatState) update(groups []uint32, arg arrow.Array, rows []byte) error {
	sums, counts := s.sums, s.counts
	if arg.DataType().ID() == arrow.FLOAT32 {
		vals := values[float32](arg)
		forRows(len(groups), rows, func(i int) {
			sums[groups[i]] += float64(vals[i])
			counts[groups[i]]++
		})
		return nil
	}
	vals := values[float64](arg)
	forRows(len(groups), rows, func(i int) {
		sums[groups[i]] += vals[i]
		counts[groups[i]]++
	})
	return nil
}

func (s *sumFloatState) merge(other aggState, into []uint32) error {
	o := other.(*sumFloatState)
	for g := range o.sums {
		s.sums[into[g]] += o.sums[g]
		s.counts[into[g]] += o.counts[g]
	}
	return nil
}

func (s *sumFloatState) build(mem memory.Allocator, n int) (arrow.Array, error) {
	validBuf, nulls := countedValidity(mem, s.counts, n)
	buf, out := newFixed[float64](mem, n)
	for g := 0; g < n; g++ {
		switch {
		case s.counts[g] == 0:
			out[g] = 0
		case s.avg:
			out[g] = s.sums[g] / float64(s.counts[g])
		default:
			out[g] = s.sums[g]
		}
	}
	return makeFixedArray(plan.Float64, n, validBuf, buf, nulls), nil
}

// sumDecimalState sums decimals exactly in 128 bits; as avg it divides the exact sum by the count
// once, at the end.
type sumDecimalState struct {
	avg    bool
	scale  int32
	sums   []decimal128.Num
	counts []int64
}

func (s *sumDecimalState) grow(n int) { s.sums, s.counts = growTo(s.sums, n), growTo(s.counts, n) }

func (s *sumDecimalState) update(groups []uint32, arg arrow.Array, rows []byte) error {
	sums, counts := s.sums, s.counts
	vals := values[decimal128.Num](arg)
	if rows == nil {
		for i, g := range groups {
			sums[g] = sums[g].Add(vals[i])
			counts[g]++
		}
		return nil
	}
	// Without branches: a row that does not count adds zero, so a filter that keeps rows at
	// random costs no mispredictions.
	for i, g := range groups {
		bit := uint64(rows[i>>3]>>(i&7)) & 1
		mask := -bit
		v := vals[i]
		sums[g] = sums[g].Add(decimal128.New(v.HighBits()&int64(mask), v.LowBits()&mask))
		counts[g] += int64(bit)
	}
	return nil
}

func (s *sumDecimalState) updateIndexed(groups []uint32, arg arrow.Array, idx []int32) error {
	sums, counts := s.sums, s.counts
	vals := values[decimal128.Num](arg)
	for _, i := range idx {
		g := groups[i]
		sums[g] = sums[g].Add(vals[i])
		counts[g]++
	}
	return nil
}

func (s *sumDecimalState) merge(other aggState, into []uint32) error {
	o := other.(*sumDecimalState)
	for g := range o.sums {
		s.sums[into[g]] = s.sums[into[g]].Add(o.sums[g])
		s.counts[into[g]] += o.counts[g]
	}
	return nil
}

func (s *sumDecimalState) build(mem memory.Allocator, n int) (arrow.Array, error) {
	validBuf, nulls := countedValidity(mem, s.counts, n)
	if s.avg {
		buf, out := newFixed[float64](mem, n)
		for g := 0; g < n; g++ {
			if s.counts[g] > 0 {
				out[g] = decimalToFloat(s.sums[g], s.scale) / float64(s.counts[g])
			}
		}
		return makeFixedArray(plan.Float64, n, validBuf, buf, nulls), nil
	}
	buf, out := newFixed[decimal128.Num](mem, n)
	copy(out, s.sums[:n])
	return makeFixedArray(plan.Decimal(plan.MaxDecimalPrecision, s.scale), n, validBuf, buf, nulls), nil
}

// minMaxState keeps the smallest or largest value per group, of any ordered type.
type minMaxState struct {
	max  bool
	buf  []int64
	typ  arrow.DataType
	has  []bool
	ints []int64 // integers, timestamps, dates
	flts []float64
	decs []decimal128.Num
	strs []string
}

func newMinMaxState(max bool, t arrow.DataType) (*minMaxState, error) {
	switch {
	case plan.IsString(t):
		t = plan.String
	case plan.IsNumeric(t), plan.IsTemporal(t):
	default:
		return nil, fmt.Errorf("cannot take the minimum or maximum of %s", plan.TypeName(t))
	}
	return &minMaxState{max: max, typ: t}, nil
}

func (s *minMaxState) grow(n int) {
	s.has = growTo(s.has, n)
	switch {
	case plan.IsString(s.typ):
		s.strs = growTo(s.strs, n)
	case plan.IsFloat(s.typ):
		s.flts = growTo(s.flts, n)
	case plan.IsDecimal(s.typ):
		s.decs = growTo(s.decs, n)
	default:
		s.ints = growTo(s.ints, n)
	}
}

// better reports whether a comparison result c (value vs. current) should replace the current.
func (s *minMaxState) better(c int) bool { return (c > 0) == s.max && c != 0 }

func (s *minMaxState) update(groups []uint32, arg arrow.Array, rows []byte) error {
	switch {
	case plan.IsString(s.typ):
		sv := stringsOf(arg)
		forRows(len(groups), rows, func(i int) {
			g, v := groups[i], sv.at(i)
			if !s.has[g] || s.better(strings.Compare(v, s.strs[g])) {
				s.strs[g], s.has[g] = strings.Clone(v), true
			}
		})
	case plan.IsFloat(s.typ):
		var vals []float64
		if arg.DataType().ID() == arrow.FLOAT32 {
			for _, v := range values[float32](arg) {
				vals = append(vals, float64(v))
			}
		} else {
			vals = values[float64](arg)
		}
		forRows(len(groups), rows, func(i int) {
			g, v := groups[i], vals[i]
			if !s.has[g] || s.better(cmp.Compare(v, s.flts[g])) {
				s.flts[g], s.has[g] = v, true
			}
		})
	case plan.IsDecimal(s.typ):
		vals := values[decimal128.Num](arg)
		forRows(len(groups), rows, func(i int) {
			g, v := groups[i], vals[i]
			if !s.has[g] || s.better(v.Cmp(s.decs[g])) {
				s.decs[g], s.has[g] = v, true
			}
		})
	default:
		vals := int64View(arg, &s.buf)
		forRows(len(groups), rows, func(i int) {
			g, v := groups[i], vals[i]
			if !s.has[g] || s.better(cmp.Compare(v, s.ints[g])) {
				s.ints[g], s.has[g] = v, true
			}
		})
	}
	return nil
}

func (s *minMaxState) merge(other aggState, into []uint32) error {
	o := other.(*minMaxState)
	for g, has := range o.has {
		if !has {
			continue
		}
		t := into[g]
		switch {
		case s.strs != nil:
			if !s.has[t] || s.better(strings.Compare(o.strs[g], s.strs[t])) {
				s.strs[t] = o.strs[g]
			}
		case s.flts != nil:
			if !s.has[t] || s.better(cmp.Compare(o.flts[g], s.flts[t])) {
				s.flts[t] = o.flts[g]
			}
		case s.decs != nil:
			if !s.has[t] || s.better(o.decs[g].Cmp(s.decs[t])) {
				s.decs[t] = o.decs[g]
			}
		default:
			if !s.has[t] || s.better(cmp.Compare(o.ints[g], s.ints[t])) {
				s.ints[t] = o.ints[g]
			}
		}
		s.has[t] = true
	}
	return nil
}

func (s *minMaxState) build(mem memory.Allocator, n int) (arrow.Array, error) {
	bld := array.NewBuilder(mem, s.typ)
	defer bld.Release()
	bld.Reserve(n)
	for g := 0; g < n; g++ {
		if !s.has[g] {
			bld.AppendNull()
			continue
		}
		var v any
		switch {
		case s.strs != nil:
			v = s.strs[g]
		case s.flts != nil:
			if s.typ.ID() == arrow.FLOAT32 {
				bld.(*array.Float32Builder).Append(float32(s.flts[g]))
				continue
			}
			v = s.flts[g]
		case s.decs != nil:
			v = s.decs[g]
		default:
			switch b := bld.(type) {
			case *array.Int8Builder:
				b.Append(int8(s.ints[g]))
				continue
			case *array.Int16Builder:
				b.Append(int16(s.ints[g]))
				continue
			case *array.Int32Builder:
				b.Append(int32(s.ints[g]))
				continue
			case *array.Date32Builder:
				b.Append(arrow.Date32(s.ints[g]))
				continue
			}
			v = s.ints[g]
		}
		if err := appendValue(bld, v); err != nil {
			return nil, err
		}
	}
	return bld.NewArray(), nil
}

// distinctState counts distinct non-NULL values per group. Integer-like values are their own
// codes; other values are coded by a valueCodes first (so they are small and dense).
//
// While every value is a non-negative number of moderate size, each group's set is a bitmap
// indexed by the value: adding is one bit test and set, touching one cache line, which matters
// when the sets outgrow the caches (distinct customers per city over millions of orders). A
// negative or huge value, or bitmaps past maxDistinctWords in all, move the sets into a pairSet.
type distinctState struct {
	env    *Env
	bits   [][]uint64 // per group, while in bitmap mode
	words  int
	set    *pairSet // once out of bitmap mode
	codes  valueCodes
	counts []int64
	buf    []uint32
	vals   []int64
}

// maxDistinctWords bounds the bitmaps of one count_distinct (or DISTINCT): 128 MiB.
const maxDistinctWords = 16 << 20

func newDistinctState(env *Env, t arrow.DataType) (*distinctState, error) {
	s := &distinctState{env: env}
	if !plan.IsInteger(t) && !plan.IsTemporal(t) {
		codes, err := newValueCodes(env, t)
		if err != nil {
			return nil, err
		}
		s.codes = codes
	}
	return s, nil
}

func (s *distinctState) grow(n int) {
	s.counts = growTo(s.counts, n)
	if s.set == nil {
		s.bits = growTo(s.bits, n)
	}
}

func (s *distinctState) update(groups []uint32, arg arrow.Array, rows []byte) error {
	n := len(groups)
	var vals []int64
	if s.codes != nil {
		if cap(s.buf) < n {
			s.buf = make([]uint32, n)
		}
		codes := s.buf[:n]
		if err := s.codes.encode(arg, codes); err != nil {
			return err
		}
		s.vals = growTo(s.vals[:0], n)
		vals = s.vals
		for i, c := range codes {
			vals[i] = int64(c)
		}
	} else {
		vals = int64View(arg, &s.vals)
	}
	for i, g := range groups {
		if rows != nil && rows[i>>3]&(1<<(i&7)) == 0 {
			continue
		}
		v := vals[i]
		if s.set == nil && v >= 0 {
			// The bitmap fast path, inline.
			if bm := s.bits[g]; int(v>>6) < len(bm) {
				bit := uint64(1) << (v & 63)
				if w := bm[v>>6]; w&bit == 0 {
					bm[v>>6] = w | bit
					s.counts[g]++
				}
				continue
			}
		}
		if err := s.add(g, v); err != nil {
			return err
		}
	}
	return nil
}

// add inserts value v into group g's set, growing a bitmap or leaving bitmap mode as needed.
func (s *distinctState) add(g uint32, v int64) error {
	if s.set == nil {
		if v >= 0 && v < maxDistinctWords*64 {
			bm := s.bits[g]
			w := int(v >> 6)
			if w >= len(bm) {
				size := max(w+1, 2*len(bm), 16)
				if s.words+size-len(bm) <= maxDistinctWords {
					if err := s.env.reserve(int64(size-len(bm)) * 8); err != nil {
						return err
					}
					s.words += size - len(bm)
					grown := make([]uint64, size)
					copy(grown, bm)
					s.bits[g], bm = grown, grown
				}
			}
			if w < len(bm) {
				bit := uint64(1) << (v & 63)
				if bm[w]&bit == 0 {
					bm[w] |= bit
					s.counts[g]++
				}
				return nil
			}
		}
		if err := s.toSet(); err != nil {
			return err
		}
	}
	added, err := s.set.add(g, uint64(v))
	if added {
		s.counts[g]++
	}
	return err
}

// toSet moves every group's values from bitmaps into a pairSet.
func (s *distinctState) toSet() error {
	set := newPairSet(s.env)
	for g, bm := range s.bits {
		for w, word := range bm {
			for word != 0 {
				if _, err := set.add(uint32(g), uint64(w*64+bits.TrailingZeros64(word))); err != nil {
					return err
				}
				word &= word - 1
			}
		}
	}
	s.set, s.bits = set, nil
	return nil
}

// each calls fn for every (group, value) in the sets.
func (s *distinctState) each(fn func(g uint32, v int64) error) error {
	if s.set != nil {
		return s.set.each(func(g uint32, v uint64) error { return fn(g, int64(v)) })
	}
	for g, bm := range s.bits {
		for w, word := range bm {
			for word != 0 {
				if err := fn(uint32(g), int64(w*64+bits.TrailingZeros64(word))); err != nil {
					return err
				}
				word &= word - 1
			}
		}
	}
	return nil
}

func (s *distinctState) merge(other aggState, into []uint32) error {
	o := other.(*distinctState)
	var remap []uint32
	if s.codes != nil {
		var err error
		if remap, err = s.codes.remap(o.codes); err != nil {
			return err
		}
	}
	return o.each(func(g uint32, v int64) error {
		if remap != nil {
			v = int64(remap[v])
		}
		return s.add(into[g], v)
	})
}

func (s *distinctState) build(mem memory.Allocator, n int) (arrow.Array, error) {
	buf, out := newFixed[int64](mem, n)
	copy(out, s.counts[:n])
	return makeFixedArray(plan.Int64, n, nil, buf, 0), nil
}

// growTo extends s with zero values to length n.
func growTo[T any](s []T, n int) []T {
	if n <= len(s) {
		return s
	}
	if n <= cap(s) {
		return s[:n]
	}
	out := make([]T, n, max(n, 2*cap(s)))
	copy(out, s)
	return out
}
