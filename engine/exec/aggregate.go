package exec

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/bits"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"github.com/koujing/koujing/engine/plan"
)

// HashAggregate groups its input by key expressions and computes aggregates per group.
//
// It reads one or more inputs — parallel pipelines over parts of the same data — each in its own
// goroutine into its own partial aggregation, and merges the partials at the end. Grouping works
// a batch at a time: each key column is turned into dense codes, the codes are combined into
// group ids through small hash tables, and every aggregate then folds the whole batch into the
// states of its groups with a typed loop. With no keys it yields exactly one row.
type HashAggregate struct {
	env     *Env
	inputs  []Operator
	groupBy []plan.Named
	aggs    []plan.AggExpr
	where   plan.Expr
	schema  *arrow.Schema

	result []arrow.Array
	rows   int
	pos    int
	out    arrow.RecordBatch
}

var _ Operator = (*HashAggregate)(nil)

// NewHashAggregate returns the aggregation of inputs (which share a schema) by groupBy, yielding
// batches of schema: the group columns, then the aggregates. When where is set, only the rows for
// which it is true are aggregated — as if a Filter stood below, but without copying the rows that
// pass: the predicate becomes a selection that group assignment and every aggregate skip by.
func NewHashAggregate(env *Env, inputs []Operator, groupBy []plan.Named, aggs []plan.AggExpr, where plan.Expr, schema *arrow.Schema) (*HashAggregate, error) {
	if len(inputs) == 0 {
		return nil, fmt.Errorf("aggregate needs an input")
	}
	// Compile once here, so that a bad expression fails before anything runs.
	agg, err := newHashAggregator(env, groupBy, aggs, where, inputs[0].Schema())
	if err != nil {
		return nil, err
	}
	agg.closeEvaluators()
	return &HashAggregate{env: env, inputs: inputs, groupBy: groupBy, aggs: aggs, where: where, schema: schema}, nil
}

func (h *HashAggregate) Schema() *arrow.Schema { return h.schema }

// Open runs the whole aggregation: an aggregate cannot yield a row before it has seen them all.
func (h *HashAggregate) Open(ctx context.Context) error {
	partials := make([]*hashAggregator, len(h.inputs))
	errs := make([]error, len(h.inputs))
	run := func(i int) {
		defer RecoverMemoryLimit(&errs[i])
		agg, err := newHashAggregator(h.env, h.groupBy, h.aggs, h.where, h.inputs[i].Schema())
		if err != nil {
			errs[i] = err
			return
		}
		defer agg.closeEvaluators()
		errs[i] = agg.consume(ctx, h.inputs[i])
		partials[i] = agg
	}
	if len(h.inputs) == 1 {
		run(0)
	} else {
		var wg sync.WaitGroup
		for i := range h.inputs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				run(i)
			}()
		}
		wg.Wait()
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	final := partials[0]
	for _, p := range partials[1:] {
		if err := final.mergeFrom(p); err != nil {
			return err
		}
	}
	cols, n, err := final.build()
	if err != nil {
		return err
	}
	h.result, h.rows = cols, n
	return nil
}

func (h *HashAggregate) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h.pos >= h.rows {
		keep(&h.out, nil)
		return nil, nil
	}
	end := min(h.pos+h.env.BatchSize(), h.rows)
	cols := make([]arrow.Array, len(h.result))
	for i, c := range h.result {
		cols[i] = array.NewSlice(c, int64(h.pos), int64(end))
	}
	defer releaseAll(cols)
	keep(&h.out, array.NewRecordBatch(h.schema, cols, int64(end-h.pos)))
	h.pos = end
	return h.out, nil
}

func (h *HashAggregate) Close() error {
	keep(&h.out, nil)
	releaseAll(h.result)
	h.result = nil
	var first error
	for _, in := range h.inputs {
		if err := in.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// hashAggregator is one (partial) aggregation: the key codes, the group index and the states.
type hashAggregator struct {
	env      *Env
	aggs     []plan.AggExpr
	keyEvals []evaluator
	keyCodes []valueCodes
	// args and filters are evaluated once per batch each, however many aggregates share them.
	args       []evaluator
	filters    []evaluator
	argOf      []int // per aggregate: index into args, or -1 for counting rows
	filterOf   []int // per aggregate: index into filters, or -1
	states     []aggState
	levels     []*pairIndex // combine key codes pairwise into group ids (two or more keys)
	byCode     []uint32     // group+1 per code (one key)
	groupCodes [][]uint32   // per key column, the code of each group
	groups     int

	// where selects the rows to aggregate (nil: all); sel is its bitmap for the current batch,
	// nil when every row is selected, kept in selBuf; rowIdx lists the selected rows (or all
	// rows), so that group assignment visits only them without a branch per row.
	where  evaluator
	sel    []byte
	selBuf []byte
	rowIdx []int32
	allIdx []int32

	codes [][]uint32
	gids  []uint32
	rows  [][]byte

	// A DISTINCT (grouping with no aggregates) with an integer key keeps that key — setKey, its
	// position in the grouping — out of the groups: the other keys form the groups, and each group
	// keeps the set of its values of the set key (a bitmap while they are small, see
	// distinctState), plus whether it saw NULL. A bridge of distinct (order, category) pairs is
	// then a few bitmaps of order ids, not a hash table of every pair.
	setKey   int
	setEval  evaluator
	setType  arrow.DataType
	set      *distinctState
	setNulls []bool
	setRows  []byte
}

func newHashAggregator(env *Env, groupBy []plan.Named, aggs []plan.AggExpr, where plan.Expr, schema *arrow.Schema) (*hashAggregator, error) {
	h := &hashAggregator{env: env, aggs: aggs, setKey: -1}
	if len(aggs) == 0 {
		for i, g := range groupBy {
			if isIntegerLike(g.Expr.DataType()) {
				h.setKey = i
				break
			}
		}
	}
	if where != nil {
		ev, err := compileExpr(env, where, schema)
		if err != nil {
			return nil, fmt.Errorf("aggregate filter %s: %w", where, err)
		}
		h.where = ev
	}
	for i, g := range groupBy {
		ev, err := compileExpr(env, g.Expr, schema)
		if err != nil {
			return nil, fmt.Errorf("group %s: %w", g.Name, err)
		}
		if i == h.setKey {
			set, err := newDistinctState(env, g.Expr.DataType())
			if err != nil {
				return nil, err
			}
			h.setEval, h.setType, h.set = ev, g.Expr.DataType(), set
			continue
		}
		codes, err := newValueCodes(env, g.Expr.DataType())
		if err != nil {
			return nil, fmt.Errorf("group %s: %w", g.Name, err)
		}
		h.keyEvals = append(h.keyEvals, ev)
		h.keyCodes = append(h.keyCodes, codes)
		h.groupCodes = append(h.groupCodes, nil)
		h.codes = append(h.codes, nil)
	}
	for i := 1; i < len(h.keyEvals); i++ {
		h.levels = append(h.levels, newPairIndex(env))
	}
	argIdx, filterIdx := map[string]int{}, map[string]int{}
	shared := func(e plan.Expr, idx map[string]int, list *[]evaluator) (int, error) {
		if e == nil {
			return -1, nil
		}
		if i, ok := idx[e.String()]; ok {
			return i, nil
		}
		ev, err := compileExpr(env, e, schema)
		if err != nil {
			return 0, err
		}
		*list = append(*list, ev)
		idx[e.String()] = len(*list) - 1
		return len(*list) - 1, nil
	}
	for _, a := range aggs {
		ai, err := shared(a.Arg, argIdx, &h.args)
		if err != nil {
			return nil, fmt.Errorf("aggregate %s: %w", a.Name, err)
		}
		fi, err := shared(a.Filter, filterIdx, &h.filters)
		if err != nil {
			return nil, fmt.Errorf("aggregate %s filter: %w", a.Name, err)
		}
		st, err := newAggState(env, a)
		if err != nil {
			return nil, fmt.Errorf("aggregate %s: %w", a.Name, err)
		}
		h.argOf = append(h.argOf, ai)
		h.filterOf = append(h.filterOf, fi)
		h.states = append(h.states, st)
		h.rows = append(h.rows, nil)
	}
	if len(h.keyEvals) == 0 {
		h.groups = 1
		h.growStates()
	}
	return h, nil
}

func (h *hashAggregator) closeEvaluators() {
	if h.where != nil {
		closeEvaluator(h.where)
	}
	if h.setEval != nil {
		closeEvaluator(h.setEval)
	}
	for _, list := range [][]evaluator{h.keyEvals, h.args, h.filters} {
		for _, ev := range list {
			closeEvaluator(ev)
		}
	}
}

// consume opens input, folds in every batch, and closes it.
func (h *hashAggregator) consume(ctx context.Context, input Operator) error {
	if err := input.Open(ctx); err != nil {
		return err
	}
	for {
		b, err := input.Next(ctx)
		if err != nil {
			return err
		}
		if b == nil {
			return nil
		}
		if err := h.add(b); err != nil {
			return err
		}
	}
}

// add folds one batch into the groups.
func (h *hashAggregator) add(b arrow.RecordBatch) error {
	n := int(b.NumRows())
	if n == 0 {
		return nil
	}
	if h.where != nil {
		selected, err := h.selectRows(b)
		if err != nil || selected == 0 {
			return err
		}
		if selected == n {
			h.sel = nil
		} else {
			h.selectRowList(n)
		}
	}
	for j, ev := range h.keyEvals {
		arr, err := ev.eval(b)
		if err != nil {
			return err
		}
		h.codes[j] = growTo(h.codes[j][:0], n)
		err = h.keyCodes[j].encode(arr, h.codes[j])
		arr.Release()
		if err != nil {
			return err
		}
	}
	if err := h.assignGroups(n); err != nil {
		return err
	}
	if h.set != nil {
		return h.addToSets(b)
	}
	args := make([]arrow.Array, len(h.args))
	defer releaseAll(args)
	for i, ev := range h.args {
		a, err := ev.eval(b)
		if err != nil {
			return err
		}
		args[i] = a
	}
	filters := make([]arrow.Array, len(h.filters))
	defer releaseAll(filters)
	for i, ev := range h.filters {
		f, err := ev.eval(b)
		if err != nil {
			return err
		}
		filters[i] = f
	}
	for k, st := range h.states {
		var arg, filter arrow.Array
		if h.argOf[k] >= 0 {
			arg = args[h.argOf[k]]
		}
		if h.filterOf[k] >= 0 {
			filter = filters[h.filterOf[k]]
		}
		var err error
		if iu, ok := st.(indexedUpdater); ok && h.sel != nil && filter == nil && (arg == nil || arg.NullN() == 0) {
			// The rows that count are exactly the selection: visit only them.
			err = iu.updateIndexed(h.gids, arg, h.rowIdx)
		} else {
			err = st.update(h.gids, arg, h.rowsFor(k, n, arg, filter))
		}
		if err != nil {
			return fmt.Errorf("aggregate %s: %w", h.aggs[k].Name, err)
		}
	}
	return nil
}

// addToSets adds each selected row's set-key value to its group's set (a DISTINCT with an
// integer key, see setKey).
func (h *hashAggregator) addToSets(b arrow.RecordBatch) error {
	arr, err := h.setEval.eval(b)
	if err != nil {
		return err
	}
	defer arr.Release()
	n := arr.Len()
	rows := h.sel
	if arr.NullN() > 0 {
		nb := (n + 7) / 8
		h.setRows = growTo(h.setRows[:0], nb)
		if rows != nil {
			copy(h.setRows, rows)
		} else {
			for i := range h.setRows {
				h.setRows[i] = 0xff
			}
		}
		valid, off := validity(arr)
		for i := 0; i < n; i++ {
			if h.setRows[i>>3]&(1<<(i&7)) != 0 && !bitutil.BitIsSet(valid, off+i) {
				h.setNulls[h.gids[i]] = true
				h.setRows[i>>3] &^= 1 << (i & 7)
			}
		}
		rows = h.setRows
	}
	return h.set.update(h.gids, arr, rows)
}

// selectRows evaluates the where predicate over b into h.sel and returns how many rows it
// selects.
func (h *hashAggregator) selectRows(b arrow.RecordBatch) (int, error) {
	n := int(b.NumRows())
	mask, err := h.where.eval(b)
	if err != nil {
		return 0, err
	}
	defer mask.Release()
	vals, valid, release := boolOperand(h.env.Mem, mask)
	defer release()
	h.selBuf = growTo(h.selBuf[:0], len(vals))
	h.sel = h.selBuf
	copy(h.sel, vals)
	if valid != nil {
		for i := range h.sel {
			h.sel[i] &= valid[i]
		}
	}
	return bitutil.CountSetBits(h.sel, 0, n), nil
}

// rowsFor returns the bitmap of rows aggregate k folds in — selected, its filter holds and its
// argument is not NULL — or nil when that is every row.
func (h *hashAggregator) rowsFor(k, n int, arg, filter arrow.Array) []byte {
	argNulls := arg != nil && arg.NullN() > 0
	if filter == nil && !argNulls && h.sel == nil {
		return nil
	}
	nb := int(bitutil.BytesForBits(int64(n)))
	rows := growTo(h.rows[k][:0], nb)
	h.rows[k] = rows
	if h.sel != nil {
		copy(rows, h.sel)
	} else {
		for i := range rows {
			rows[i] = 0xff
		}
	}
	if filter != nil {
		if filter.DataType().ID() == arrow.NULL {
			clear(rows)
			return rows
		}
		off := filter.Data().Offset()
		bitutil.BitmapAnd(rows, filter.Data().Buffers()[1].Bytes(), 0, int64(off), rows, 0, int64(n))
		if filter.NullN() > 0 {
			bitutil.BitmapAnd(rows, filter.NullBitmapBytes(), 0, int64(off), rows, 0, int64(n))
		}
	}
	if argNulls && arg.DataType().ID() == arrow.NULL {
		// An untyped NULL has no validity bitmap: no row counts.
		clear(rows)
	} else if argNulls {
		bitutil.BitmapAnd(rows, arg.NullBitmapBytes(), 0, int64(arg.Data().Offset()), rows, 0, int64(n))
	}
	return rows
}

// assignGroups fills h.gids with the group of each of the first n rows, from h.codes. Rows the
// selection leaves out get group 0 and create no group; every aggregate skips them.
func (h *hashAggregator) assignGroups(n int) error {
	h.gids = growTo(h.gids[:0], n)
	gids := h.gids
	if len(h.keyCodes) == 0 {
		clear(gids)
		return nil
	}
	rows := h.activeRows(n)
	if h.sel != nil {
		clear(gids)
		if h.groups == 0 {
			// Skipped rows point at group 0, so the states need a slot for it before it exists.
			for _, st := range h.states {
				st.grow(1)
			}
		}
	}
	first := h.codes[0]
	if len(h.keyCodes) == 1 {
		if len(h.byCode) < h.keyCodes[0].len() {
			h.byCode = growTo(h.byCode, h.keyCodes[0].len())
		}
		byCode := h.byCode
		for _, i := range rows {
			c := first[i]
			g := byCode[c]
			if g == 0 {
				g = uint32(h.newGroup(int(i))) + 1
				byCode[c] = g
			}
			gids[i] = g - 1
		}
		return nil
	}
	for _, i := range rows {
		gids[i] = first[i]
	}
	for lvl, m := range h.levels {
		next := h.codes[lvl+1]
		last := lvl == len(h.levels)-1
		table := m.rows
		for _, i := range rows {
			l, r := gids[i], next[i]
			// A pair already in the direct table: two loads, no call. Only new pairs (and
			// hashed ones) go through intern, which may also create a group.
			if int(l) < len(table) {
				if row := table[l]; int(r) < len(row) && row[r] != 0 {
					gids[i] = row[r] - 1
					continue
				}
			}
			id, err := m.intern(l, r)
			if err != nil {
				return err
			}
			table = m.rows
			if last && int(id) == h.groups {
				h.newGroup(int(i))
			}
			gids[i] = id
		}
	}
	return nil
}

// activeRows returns the indices of the first n rows that count: the selected ones (listed by
// selectRowList for the current batch), or every row when there is no selection.
func (h *hashAggregator) activeRows(n int) []int32 {
	if h.sel != nil {
		return h.rowIdx
	}
	for len(h.allIdx) < n {
		h.allIdx = append(h.allIdx, int32(len(h.allIdx)))
	}
	return h.allIdx[:n]
}

// selectRowList lists in h.rowIdx the rows the selection keeps among the first n, reading the
// bitmap a 64-bit word at a time.
func (h *hashAggregator) selectRowList(n int) {
	h.rowIdx = growTo(h.rowIdx[:0], n)
	idx, k := h.rowIdx, 0
	sel := h.sel[:(n+7)/8]
	full := len(sel) / 8
	for w := 0; w < full; w++ {
		word := binary.LittleEndian.Uint64(sel[w*8:])
		for word != 0 {
			idx[k] = int32(w*64 + bits.TrailingZeros64(word))
			k++
			word &= word - 1
		}
	}
	for b := full * 8; b < len(sel); b++ {
		for byt := sel[b]; byt != 0; byt &= byt - 1 {
			if i := b*8 + bits.TrailingZeros8(byt); i < n {
				idx[k] = int32(i)
				k++
			}
		}
	}
	h.rowIdx = idx[:k]
}

// newGroup records a group first seen at row i of the current batch and returns its id.
func (h *hashAggregator) newGroup(i int) int {
	for j := range h.groupCodes {
		h.groupCodes[j] = append(h.groupCodes[j], h.codes[j][i])
	}
	h.groups++
	h.growStates()
	return h.groups - 1
}

func (h *hashAggregator) growStates() {
	for _, st := range h.states {
		st.grow(h.groups)
	}
	if h.set != nil {
		h.set.grow(h.groups)
		h.setNulls = growTo(h.setNulls, h.groups)
	}
}

// mergeFrom folds another partial aggregation of the same aggregates into this one.
func (h *hashAggregator) mergeFrom(o *hashAggregator) error {
	remaps := make([][]uint32, len(h.keyCodes))
	for j, c := range h.keyCodes {
		r, err := c.remap(o.keyCodes[j])
		if err != nil {
			return err
		}
		remaps[j] = r
	}
	into := make([]uint32, o.groups)
	h.sel = nil
	if len(h.keyCodes) > 0 {
		// Feed the other's groups through assignGroups as one batch of rows.
		for j := range h.codes {
			h.codes[j] = growTo(h.codes[j][:0], o.groups)
			for g := 0; g < o.groups; g++ {
				h.codes[j][g] = remaps[j][o.groupCodes[j][g]]
			}
		}
		if err := h.assignGroups(o.groups); err != nil {
			return err
		}
		copy(into, h.gids)
	}
	for k, st := range h.states {
		if err := st.merge(o.states[k], into); err != nil {
			return fmt.Errorf("aggregate %s: %w", h.aggs[k].Name, err)
		}
	}
	if h.set != nil {
		for g, null := range o.setNulls[:o.groups] {
			h.setNulls[into[g]] = h.setNulls[into[g]] || null
		}
		return h.set.merge(o.set, into)
	}
	return nil
}

// build returns the result columns — keys, then aggregates — and the number of groups.
func (h *hashAggregator) build() ([]arrow.Array, int, error) {
	if h.set != nil {
		return h.buildSets()
	}
	cols := make([]arrow.Array, 0, len(h.keyCodes)+len(h.states))
	fail := func(err error) ([]arrow.Array, int, error) {
		releaseAll(cols)
		return nil, 0, err
	}
	for j, c := range h.keyCodes {
		a, err := c.build(h.env.Mem, h.groupCodes[j])
		if err != nil {
			return fail(err)
		}
		cols = append(cols, a)
	}
	for k, st := range h.states {
		a, err := st.build(h.env.Mem, h.groups)
		if err != nil {
			return fail(fmt.Errorf("aggregate %s: %w", h.aggs[k].Name, err))
		}
		cols = append(cols, a)
	}
	return cols, h.groups, nil
}

// buildSets returns the rows of a DISTINCT with a set key: for each group, one row per value in
// its set (ascending while the sets are bitmaps), then one with a NULL set key if it saw one.
func (h *hashAggregator) buildSets() ([]arrow.Array, int, error) {
	total := 0
	for g := 0; g < h.groups; g++ {
		total += int(h.set.counts[g])
		if h.setNulls[g] {
			total++
		}
	}
	rowGroup := make([]uint32, 0, total)
	vals := array.NewBuilder(h.env.Mem, h.setType)
	defer vals.Release()
	vals.Reserve(total)
	emit := func(g uint32, v int64) error {
		rowGroup = append(rowGroup, g)
		return appendKey(vals, v)
	}
	if h.set.bits != nil {
		for g := 0; g < h.groups; g++ {
			for w, word := range h.set.bits[g] {
				for word != 0 {
					if err := emit(uint32(g), int64(w*64+bits.TrailingZeros64(word))); err != nil {
						return nil, 0, err
					}
					word &= word - 1
				}
			}
			if h.setNulls[g] {
				rowGroup = append(rowGroup, uint32(g))
				vals.AppendNull()
			}
		}
	} else {
		// The hash set holds pairs in no order: place them group by group.
		start := make([]int, h.groups+1)
		for g := 0; g < h.groups; g++ {
			start[g+1] = start[g] + int(h.set.counts[g])
		}
		byGroup := make([]int64, start[h.groups])
		next := append([]int(nil), start[:h.groups]...)
		if err := h.set.each(func(g uint32, v int64) error {
			byGroup[next[g]] = v
			next[g]++
			return nil
		}); err != nil {
			return nil, 0, err
		}
		for g := 0; g < h.groups; g++ {
			for _, v := range byGroup[start[g]:start[g+1]] {
				if err := emit(uint32(g), v); err != nil {
					return nil, 0, err
				}
			}
			if h.setNulls[g] {
				rowGroup = append(rowGroup, uint32(g))
				vals.AppendNull()
			}
		}
	}
	cols := make([]arrow.Array, 0, len(h.keyCodes)+1)
	fail := func(err error) ([]arrow.Array, int, error) {
		releaseAll(cols)
		return nil, 0, err
	}
	codes := make([]uint32, len(rowGroup))
	for j, c := range h.keyCodes {
		if j == h.setKey {
			cols = append(cols, vals.NewArray())
		}
		for r, g := range rowGroup {
			codes[r] = h.groupCodes[j][g]
		}
		a, err := c.build(h.env.Mem, codes)
		if err != nil {
			return fail(err)
		}
		cols = append(cols, a)
	}
	if h.setKey == len(h.keyCodes) {
		cols = append(cols, vals.NewArray())
	}
	return cols, len(rowGroup), nil
}
