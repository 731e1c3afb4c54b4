package exec

import (
	"context"
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/koujing/koujing/engine/plan"
)

// JoinBuild is the build side of a hash join: its input read to the end into one batch, and a
// hash table from key to rows. Parallel probes share one JoinBuild; the first to open builds it
// and the others wait, after which it is only read.
type JoinBuild struct {
	env      *Env
	input    Operator
	keys     []plan.Expr
	nullSafe bool

	once  sync.Once
	err   error
	batch arrow.RecordBatch
	table *joinTable
}

// Schema is the schema of the build side's batches.
func (jb *JoinBuild) Schema() *arrow.Schema { return jb.input.Schema() }

// NewJoinBuild returns the build side of a join on keys over input.
func NewJoinBuild(env *Env, input Operator, keys []plan.Expr, nullSafe bool) *JoinBuild {
	return &JoinBuild{env: env, input: input, keys: keys, nullSafe: nullSafe}
}

func (jb *JoinBuild) ensure(ctx context.Context) error {
	jb.once.Do(func() {
		defer RecoverMemoryLimit(&jb.err)
		jb.err = jb.build(ctx)
	})
	return jb.err
}

func (jb *JoinBuild) build(ctx context.Context) error {
	var err error
	if jb.batch, err = collectOne(ctx, jb.env, jb.input); err != nil {
		return err
	}
	ShareDictionaries([]arrow.RecordBatch{jb.batch})
	keys := make([]arrow.Array, len(jb.keys))
	defer releaseAll(keys)
	for i, k := range jb.keys {
		ev, err := compileExpr(jb.env, k, jb.batch.Schema())
		if err != nil {
			return fmt.Errorf("join key %s: %w", k, err)
		}
		keys[i], err = ev.eval(jb.batch)
		closeEvaluator(ev)
		if err != nil {
			return fmt.Errorf("join key %s: %w", k, err)
		}
	}
	jb.table, err = newJoinTable(jb.env, keys, jb.nullSafe)
	return err
}

// Release frees the built batch once every join that probes it has closed.
func (jb *JoinBuild) Release() {
	if jb.batch != nil {
		jb.batch.Release()
		jb.batch = nil
	}
}

// concatBatches returns the batches as one batch of schema.
func concatBatches(env *Env, schema *arrow.Schema, batches []arrow.RecordBatch) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, schema.NumFields())
	defer releaseAll(cols)
	rows := int64(0)
	for _, b := range batches {
		rows += b.NumRows()
	}
	for i, f := range schema.Fields() {
		if len(batches) == 0 {
			a, err := nullArray(env.Mem, f.Type, 0)
			if err != nil {
				return nil, err
			}
			cols[i] = a
			continue
		}
		parts := make([]arrow.Array, len(batches))
		for j, b := range batches {
			parts[j] = b.Column(i)
		}
		if a := joinSlices(parts); a != nil {
			cols[i] = a
			continue
		}
		a, err := array.Concatenate(parts, env.Mem)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", f.Name, err)
		}
		cols[i] = a
	}
	return array.NewRecordBatch(schema, cols, rows), nil
}

// joinSlices returns, without copying, the one array that parts are consecutive slices of — as
// an operator's batches are when it slices one result it built whole — or nil when they are not.
func joinSlices(parts []arrow.Array) arrow.Array {
	first := parts[0].Data()
	end := first.Offset() + first.Len()
	for _, p := range parts[1:] {
		d := p.Data()
		if d.Offset() != end || !sameBuffers(d, first) {
			return nil
		}
		end += d.Len()
	}
	nulls := 0
	for _, p := range parts {
		nulls += p.NullN()
	}
	var data *array.Data
	if first.DataType().ID() == arrow.DICTIONARY {
		data = array.NewDataWithDictionary(first.DataType(), end-first.Offset(), first.Buffers(), nulls, first.Offset(), first.Dictionary().(*array.Data))
	} else {
		data = array.NewData(first.DataType(), end-first.Offset(), first.Buffers(), first.Children(), nulls, first.Offset())
	}
	defer data.Release()
	return array.MakeFromData(data)
}

// sameBuffers reports whether two array datas share their buffers, children and dictionary.
func sameBuffers(a, b arrow.ArrayData) bool {
	ab, bb := a.Buffers(), b.Buffers()
	if len(ab) != len(bb) || len(a.Children()) != 0 || len(b.Children()) != 0 || !arrow.TypeEqual(a.DataType(), b.DataType()) {
		return false
	}
	for i := range ab {
		if ab[i] != bb[i] {
			return false
		}
	}
	return a.DataType().ID() != arrow.DICTIONARY || a.Dictionary() == b.Dictionary()
}

// joinTable maps join keys to build rows: first[k] is the first row with key k, next[r] the next
// row with the same key as row r (-1 ends a chain). A single integer key over a dense range is
// its own index (no hashing); other keys are coded column by column and combined like group keys.
type joinTable struct {
	nullSafe bool
	first    []int32
	next     []int32
	// unique is set when no two build rows share a key: probes then never walk a chain, which
	// saves a random read of next per matched row.
	unique bool

	dense    bool
	min, max int64

	codes  []valueCodes
	levels []*internMap
}

func newJoinTable(env *Env, keys []arrow.Array, nullSafe bool) (*joinTable, error) {
	n := keys[0].Len()
	t := &joinTable{nullSafe: nullSafe, next: make([]int32, n), unique: true}
	if err := env.reserve(int64(n) * 4); err != nil {
		return nil, err
	}
	if len(keys) == 1 && isIntegerLike(keys[0].DataType()) && keys[0].NullN() == 0 && n > 0 {
		vals := make([]int64, n)
		intsOf(keys[0], vals)
		t.min, t.max = vals[0], vals[0]
		for _, v := range vals {
			t.min, t.max = min(t.min, v), max(t.max, v)
		}
		if span := t.max - t.min; span >= 0 && span < int64(4*n+1024) {
			t.dense = true
			if err := env.reserve((span + 1) * 4); err != nil {
				return nil, err
			}
			t.first = make([]int32, span+1)
			for i := range t.first {
				t.first[i] = -1
			}
			for r := n - 1; r >= 0; r-- {
				k := vals[r] - t.min
				t.unique = t.unique && t.first[k] < 0
				t.next[r], t.first[k] = t.first[k], int32(r)
			}
			return t, nil
		}
	}
	ids, err := t.keyIDs(env, keys, true)
	if err != nil {
		return nil, err
	}
	size := 0
	for _, id := range ids {
		if id != noCode {
			size = max(size, int(id)+1)
		}
	}
	if err := env.reserve(int64(size) * 4); err != nil {
		return nil, err
	}
	t.first = make([]int32, size)
	for i := range t.first {
		t.first[i] = -1
	}
	for r := n - 1; r >= 0; r-- {
		if id := ids[r]; id == noCode {
			t.next[r] = -1
		} else {
			t.unique = t.unique && t.first[id] < 0
			t.next[r], t.first[id] = t.first[id], int32(r)
		}
	}
	return t, nil
}

func isIntegerLike(t arrow.DataType) bool { return plan.IsInteger(t) || plan.IsTemporal(t) }

// keyIDs returns an id per row for the key tuple: codes combined pairwise. While building it
// adds codes; while probing it only looks them up, and a tuple never built gets noCode. Rows with
// a NULL key get noCode unless the join is null-safe.
func (t *joinTable) keyIDs(env *Env, keys []arrow.Array, building bool) ([]uint32, error) {
	n := keys[0].Len()
	if building {
		for _, k := range keys {
			c, err := newValueCodes(env, k.DataType())
			if err != nil {
				return nil, fmt.Errorf("join key: %w", err)
			}
			t.codes = append(t.codes, c)
		}
		for i := 1; i < len(keys); i++ {
			t.levels = append(t.levels, newInternMap(env))
		}
	}
	ids := make([]uint32, n)
	codes := make([]uint32, n)
	for j, k := range keys {
		var err error
		if building {
			err = t.codes[j].encode(k, codes)
		} else {
			t.codes[j].lookup(k, codes)
		}
		if err != nil {
			return nil, err
		}
		for i, c := range codes {
			switch {
			case j > 0 && ids[i] == noCode:
			case c == noCode || (c == 0 && !t.nullSafe):
				ids[i] = noCode
			case j == 0:
				ids[i] = c
			default:
				key := uint64(ids[i])<<32 | uint64(c)
				if building {
					id, err := t.levels[j-1].intern(key)
					if err != nil {
						return nil, err
					}
					ids[i] = id
				} else if id, ok := t.levels[j-1].find(key); ok {
					ids[i] = id
				} else {
					ids[i] = noCode
				}
			}
		}
	}
	return ids, nil
}

// heads writes, for each probe row, its first matching build row or -1.
//
// The table is shared by parallel probes and only read here; buf is the caller's own scratch.
func (t *joinTable) heads(keys []arrow.Array, out []int32, buf *[]int64) error {
	if t.dense {
		k := keys[0]
		if !isIntegerLike(k.DataType()) {
			return fmt.Errorf("join key types differ: %s against integers", k.DataType())
		}
		vals := int64View(k, buf)
		valid, off := validity(k)
		for i, v := range vals {
			if v < t.min || v > t.max || !isValid(valid, off, i) {
				out[i] = -1
			} else {
				out[i] = t.first[v-t.min]
			}
		}
		return nil
	}
	ids, err := t.keyIDs(nil, keys, false)
	if err != nil {
		return err
	}
	for i, id := range ids {
		if id == noCode || int(id) >= len(t.first) {
			out[i] = -1
		} else {
			out[i] = t.first[id]
		}
	}
	return nil
}

// HashJoin joins its probe input (the left side) with a JoinBuild (the right side), yielding the
// left columns followed by the right ones. A left join keeps unmatched probe rows; a full join
// also yields, at the end, the build rows nothing matched (a full join must have one probe).
type HashJoin struct {
	env       *Env
	kind      plan.JoinKind
	probe     Operator
	build     *JoinBuild
	probeKeys []plan.Expr
	keyEvals  []evaluator
	where     evaluator
	outProbe  []int // the probe columns emitted, by index
	outBuild  []int // the build columns emitted, by index
	schema    *arrow.Schema

	batch     arrow.RecordBatch // the probe batch being joined
	heads     []int32
	row       int32  // next probe row to join
	chain     int32  // next build row in the current row's chain, or -1
	matched   []bool // full joins: which build rows some probe row matched
	unmatched int    // full joins: the next build row to look at for unmatched ones
	done      bool
	pi, bi    []int32 // the pairs of probe and build rows of the batch being emitted
	keyBuf    []int64
	out       arrow.RecordBatch
}

var _ Operator = (*HashJoin)(nil)

// JoinSpec says what a HashJoin computes beyond its inputs.
type JoinSpec struct {
	Kind plan.JoinKind
	// ProbeKeys pair with the build's keys.
	ProbeKeys []plan.Expr
	// Where, when set, keeps only the probe rows for which it is true — as if a Filter stood
	// below the probe, without copying the rows that pass.
	Where plan.Expr
	// OutProbe and OutBuild list, by index, the probe and build columns the join emits, in that
	// order: the columns the operators above read, not every column of both sides.
	OutProbe, OutBuild []int
	// Schema is the schema of the emitted batches.
	Schema *arrow.Schema
}

// NewHashJoin returns the join of probe with build. Joins do not release their build: parallel
// probes share it, and whoever made it releases it after they have all closed.
func NewHashJoin(env *Env, probe Operator, build *JoinBuild, spec JoinSpec) (*HashJoin, error) {
	j := &HashJoin{env: env, kind: spec.Kind, probe: probe, build: build, probeKeys: spec.ProbeKeys,
		outProbe: spec.OutProbe, outBuild: spec.OutBuild, schema: spec.Schema, chain: -1}
	for _, k := range spec.ProbeKeys {
		ev, err := compileExpr(env, k, probe.Schema())
		if err != nil {
			return nil, fmt.Errorf("join key %s: %w", k, err)
		}
		j.keyEvals = append(j.keyEvals, ev)
	}
	if spec.Where != nil {
		ev, err := compileExpr(env, spec.Where, probe.Schema())
		if err != nil {
			return nil, fmt.Errorf("join filter %s: %w", spec.Where, err)
		}
		j.where = ev
	}
	return j, nil
}

func (j *HashJoin) Schema() *arrow.Schema { return j.schema }

func (j *HashJoin) Open(ctx context.Context) error {
	if err := j.build.ensure(ctx); err != nil {
		return err
	}
	if j.kind == plan.FullJoin {
		j.matched = make([]bool, j.build.batch.NumRows())
	}
	return j.probe.Open(ctx)
}

func (j *HashJoin) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for {
		if j.batch != nil && int(j.row) < int(j.batch.NumRows()) {
			j.pi, j.bi = j.pi[:0], j.bi[:0]
			j.joinRows(j.env.BatchSize())
			if len(j.pi) > 0 {
				return j.emit(j.batch, j.pi, j.bi)
			}
			continue
		}
		if j.done {
			if j.matched != nil {
				return j.emitUnmatchedBuild()
			}
			keep(&j.out, nil)
			return nil, nil
		}
		if err := j.nextProbe(ctx); err != nil {
			return nil, err
		}
		if j.batch == nil {
			j.done = true
		}
	}
}

// nextProbe moves to the next probe batch and finds each row's first match.
func (j *HashJoin) nextProbe(ctx context.Context) error {
	if j.batch != nil {
		j.batch.Release()
		j.batch = nil
	}
	b, err := j.probe.Next(ctx)
	if err != nil || b == nil {
		return err
	}
	keys := make([]arrow.Array, len(j.keyEvals))
	defer releaseAll(keys)
	for i, ev := range j.keyEvals {
		if keys[i], err = ev.eval(b); err != nil {
			return fmt.Errorf("join key %s: %w", j.probeKeys[i], err)
		}
	}
	j.heads = growTo(j.heads[:0], int(b.NumRows()))
	if err := j.build.table.heads(keys, j.heads, &j.keyBuf); err != nil {
		return err
	}
	if j.where != nil {
		mask, err := j.where.eval(b)
		if err != nil {
			return fmt.Errorf("join filter: %w", err)
		}
		vals, valid, release := boolOperand(j.env.Mem, mask)
		for i := range j.heads {
			if !selected(vals, valid, i) {
				j.heads[i] = skipRow
			}
		}
		release()
		mask.Release()
	}
	b.Retain()
	j.batch, j.row, j.chain = b, 0, -1
	return nil
}

// skipRow marks a probe row the join's filter drops: it joins nothing and is not kept.
const skipRow = -2

// joinRows appends (probe row, build row) pairs of the current batch until limit pairs.
func (j *HashJoin) joinRows(limit int) {
	next := j.build.table.next
	unique := j.build.table.unique
	n := int32(j.batch.NumRows())
	for j.row < n && len(j.pi) < limit {
		if j.chain < 0 {
			h := j.heads[j.row]
			if h == skipRow {
				j.row++
				continue
			}
			if h < 0 {
				if j.kind != plan.InnerJoin {
					j.pi, j.bi = append(j.pi, j.row), append(j.bi, -1)
				}
				j.row++
				continue
			}
			j.chain = h
		}
		for j.chain >= 0 && len(j.pi) < limit {
			j.pi, j.bi = append(j.pi, j.row), append(j.bi, j.chain)
			if j.matched != nil {
				j.matched[j.chain] = true
			}
			if unique {
				j.chain = -1
			} else {
				j.chain = next[j.chain]
			}
		}
		if j.chain < 0 {
			j.row++
		}
	}
}

func (j *HashJoin) emit(probe arrow.RecordBatch, pi, bi []int32) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, 0, j.schema.NumFields())
	defer func() { releaseAll(cols) }()
	for k, c := range j.outProbe {
		var a arrow.Array
		var err error
		if probe == nil {
			a, err = nullArray(j.env.Mem, j.schema.Field(k).Type, len(pi))
		} else {
			a, err = take(j.env.Mem, probe.Column(c), pi)
		}
		if err != nil {
			return nil, err
		}
		cols = append(cols, a)
	}
	for _, c := range j.outBuild {
		a, err := take(j.env.Mem, j.build.batch.Column(c), bi)
		if err != nil {
			return nil, err
		}
		cols = append(cols, a)
	}
	keep(&j.out, array.NewRecordBatch(j.schema, cols, int64(len(pi))))
	return j.out, nil
}

// emitUnmatchedBuild yields the next batch of build rows no probe row matched, with NULL probe
// columns; once there are none left it ends the join.
func (j *HashJoin) emitUnmatchedBuild() (arrow.RecordBatch, error) {
	j.pi, j.bi = j.pi[:0], j.bi[:0]
	limit := j.env.BatchSize()
	for ; j.unmatched < len(j.matched) && len(j.bi) < limit; j.unmatched++ {
		if !j.matched[j.unmatched] {
			j.pi, j.bi = append(j.pi, -1), append(j.bi, int32(j.unmatched))
		}
	}
	if len(j.bi) == 0 {
		j.matched = nil
		keep(&j.out, nil)
		return nil, nil
	}
	return j.emit(nil, j.pi, j.bi)
}

func (j *HashJoin) Close() error {
	keep(&j.out, nil)
	if j.batch != nil {
		j.batch.Release()
		j.batch = nil
	}
	for _, ev := range j.keyEvals {
		closeEvaluator(ev)
	}
	if j.where != nil {
		closeEvaluator(j.where)
	}
	return j.probe.Close()
}
