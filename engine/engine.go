// Package engine runs logical plans: it turns a plan.Node into vectorised operators over Arrow
// record batches (package exec) and executes them within a memory budget, splitting scans and
// aggregations across cores.
package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/exec"
	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/engine/postgres"
	"github.com/koujing/koujing/engine/source"
)

// TableResolver finds the data a scan reads. Implementations are safe for concurrent use.
type TableResolver interface {
	// Table returns the in-memory table named name within source; the engine does not release it.
	Table(source, name string) (*source.Table, error)
	// Warehouse returns the PostgreSQL connection whose name is source, if source is a
	// warehouse: its tables are queried rather than read into memory.
	Warehouse(source string) (*postgres.Connection, bool)
}

// ErrTooManyRows is returned when a result would have more rows than Options.MaxRows.
var ErrTooManyRows = errors.New("result has too many rows")

// Options configure an Engine. The zero value of each field picks its default.
type Options struct {
	// Allocator is the parent of every query's allocator; default memory.NewGoAllocator().
	Allocator memory.Allocator
	// Parallelism is how many pipelines an aggregation runs in; default GOMAXPROCS.
	Parallelism int
	// MemoryLimit caps each query's memory in bytes; default 2 GiB.
	MemoryLimit int64
	// MaxRows caps the rows of a result; default 1,000,000.
	MaxRows int64
	// BatchRows is the size of batches operators build; default exec.DefaultBatchRows.
	BatchRows int
	// Cache keeps recent results and runs concurrent identical queries once; its zero value
	// disables it. Close the engine to release what it keeps.
	Cache CacheOptions
}

// Engine executes logical plans over tables. It is safe for concurrent use.
type Engine struct {
	tables TableResolver
	opts   Options
	cache  *resultCache // nil when disabled
}

// New returns an engine that reads tables through r.
func New(r TableResolver, opts Options) *Engine {
	if opts.Allocator == nil {
		opts.Allocator = memory.NewGoAllocator()
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = runtime.GOMAXPROCS(0)
	}
	if opts.MemoryLimit <= 0 {
		opts.MemoryLimit = 2 << 30
	}
	if opts.MaxRows <= 0 {
		opts.MaxRows = 1_000_000
	}
	return &Engine{tables: r, opts: opts, cache: newResultCache(opts.Cache)}
}

// Close releases the results the engine's cache keeps. Queries may still run after Close; they
// are no longer cached.
func (e *Engine) Close() {
	if e.cache != nil {
		e.cache.Close()
	}
}

// CacheStats returns what the result cache did so far; all zero when it is disabled.
func (e *Engine) CacheStats() CacheStats {
	if e.cache == nil {
		return CacheStats{}
	}
	return e.cache.Stats()
}

// Result is a query's output: record batches of one schema. Release it when done.
type Result struct {
	Schema  *arrow.Schema
	Batches []arrow.RecordBatch
	Rows    int64
	// PeakMemory is the most memory the query held at once, in bytes; zero when Cached.
	PeakMemory int64
	// Cached says the rows were not computed for this call: they were kept from an earlier run
	// of the same plan, or shared with an identical query running at the same time.
	Cached bool
}

// Release frees the result's batches.
func (r *Result) Release() {
	for _, b := range r.Batches {
		b.Release()
	}
	r.Batches = nil
}

// Execute runs the plan to the end and returns all of its rows, or returns the rows of the same
// plan from the result cache (see Options.Cache).
func (e *Engine) Execute(ctx context.Context, root plan.Node) (*Result, error) {
	if e.cache == nil {
		return e.execute(ctx, root)
	}
	key, err := plan.Fingerprint(root)
	if err != nil {
		// A plan the fingerprint does not know cannot be told apart from others: run it.
		return e.execute(ctx, root)
	}
	return e.cache.do(ctx, key, e.readsWarehouse(root), func() (*Result, error) { return e.execute(ctx, root) })
}

// readsWarehouse reports whether any scan under n reads a warehouse, whose tables can change.
func (e *Engine) readsWarehouse(n plan.Node) bool {
	if s, ok := n.(*plan.Scan); ok {
		_, warehouse := e.tables.Warehouse(s.Source)
		return warehouse
	}
	for _, c := range n.Children() {
		if e.readsWarehouse(c) {
			return true
		}
	}
	return false
}

// execute runs the plan to the end and returns all of its rows.
func (e *Engine) execute(ctx context.Context, root plan.Node) (res *Result, err error) {
	recycler := exec.NewRecycler(e.opts.Allocator)
	defer recycler.Close()
	budget := exec.NewBudget(recycler, e.opts.MemoryLimit)
	env := &exec.Env{Mem: budget.Allocator(), Budget: budget, BatchRows: e.opts.BatchRows}
	b := &builder{engine: e, env: env, peeled: map[plan.Node]peeledFilter{}}
	b.newScope()
	defer b.release()
	defer exec.RecoverMemoryLimit(&err)
	op, err := b.build(root, nil)
	if err != nil {
		return nil, err
	}
	batches, rows, err := collectAtMost(ctx, op, e.opts.MaxRows)
	if err != nil {
		return nil, err
	}
	return &Result{Schema: op.Schema(), Batches: batches, Rows: rows, PeakMemory: budget.Peak()}, nil
}

// collectAtMost runs op to the end and keeps its batches, failing as soon as they hold more than
// maxRows rows: closing op then stops the work still under way, a warehouse statement included.
func collectAtMost(ctx context.Context, op exec.Operator, maxRows int64) (batches []arrow.RecordBatch, rows int64, err error) {
	defer func() {
		if cerr := op.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			for _, b := range batches {
				b.Release()
			}
			batches, rows = nil, 0
		}
	}()
	if err := op.Open(ctx); err != nil {
		return nil, 0, err
	}
	for {
		b, err := op.Next(ctx)
		if err != nil || b == nil {
			return batches, rows, err
		}
		if rows += b.NumRows(); rows > maxRows {
			return batches, rows, fmt.Errorf("%w: more than %d; add a filter or a limit", ErrTooManyRows, maxRows)
		}
		b.Retain()
		batches = append(batches, b)
	}
}

// builder turns one plan into operators. Within a scope, operators built twice from the same
// scan share its morsels, and joins built twice share one build side: that is how an
// aggregation's input is instantiated once per core. Each aggregation and each build side gets a
// scope of its own, so that nothing else splits a scan.
type builder struct {
	engine  *Engine
	env     *exec.Env
	morsels map[*plan.Scan]*exec.Morsels
	builds  map[*plan.Join]*exec.JoinBuild
	all     []*exec.JoinBuild
	// peeled remembers each node split by peelFilter, so that every copy of a pipeline scans
	// the same (peeled) scan node and therefore shares its morsels.
	peeled map[plan.Node]peeledFilter
	// statements lists the SQL sent to warehouses, for explain.
	statements []ExplainedStatement
}

type peeledFilter struct {
	input plan.Node
	where plan.Expr
}

// newScope starts a sharing scope and returns a function that restores the previous one.
func (b *builder) newScope() (restore func()) {
	m, j := b.morsels, b.builds
	b.morsels, b.builds = map[*plan.Scan]*exec.Morsels{}, map[*plan.Join]*exec.JoinBuild{}
	return func() { b.morsels, b.builds = m, j }
}

func (b *builder) release() {
	for _, jb := range b.all {
		jb.Release()
	}
}

// columns is the set of column names an operator's parent reads; nil means all of them.
type columns map[string]bool

// with returns the set plus the columns the expressions read; a nil set stays nil (all).
func (c columns) with(exprs ...plan.Expr) columns {
	if c == nil {
		return nil
	}
	out := make(columns, len(c))
	for k := range c {
		out[k] = true
	}
	for _, e := range exprs {
		if e == nil {
			continue
		}
		for _, name := range plan.ColumnsOf(e) {
			out[name] = true
		}
	}
	return out
}

// readBy returns the columns the expressions read.
func readBy(exprs ...plan.Expr) columns { return columns{}.with(exprs...) }

// has reports whether the set includes name.
func (c columns) has(name string) bool { return c == nil || c[name] }

// build returns the operators for n. need says which of n's columns its parent reads; operators
// may leave the others out of their batches (joins do, which spares gathering them).
func (b *builder) build(n plan.Node, need columns) (exec.Operator, error) {
	if op, ok, err := b.pushDown(n); ok || err != nil {
		return op, err
	}
	switch x := n.(type) {
	case *plan.Scan:
		return b.scan(x, need)
	case *plan.Filter:
		in, err := b.build(x.Input, need.with(x.Predicate))
		if err != nil {
			return nil, err
		}
		return exec.NewFilter(b.env, in, x.Predicate)
	case *plan.Project:
		exprs := make([]plan.Expr, len(x.Exprs))
		for i, e := range x.Exprs {
			exprs[i] = e.Expr
		}
		in, err := b.build(x.Input, readBy(exprs...))
		if err != nil {
			return nil, err
		}
		return exec.NewProject(b.env, in, x.Exprs, x.Schema())
	case *plan.Join:
		return b.join(x, need)
	case *plan.Aggregate:
		input, where, err := b.peelFilter(x.Input)
		if err != nil {
			return nil, err
		}
		read := readBy(where)
		for _, g := range x.GroupBy {
			read = read.with(g.Expr)
		}
		for _, a := range x.Aggs {
			read = read.with(a.Arg, a.Filter)
		}
		ways := 1
		if b.partitionable(input) {
			ways = b.engine.opts.Parallelism
		}
		restore := b.newScope()
		defer restore()
		inputs := make([]exec.Operator, ways)
		for i := range inputs {
			in, err := b.build(input, read)
			if err != nil {
				return nil, err
			}
			inputs[i] = in
		}
		return exec.NewHashAggregate(b.env, inputs, x.GroupBy, x.Aggs, where, x.Schema())
	case *plan.Lookup:
		in, err := b.build(x.Input, nil)
		if err != nil {
			return nil, err
		}
		return exec.NewLookup(b.env, in, x.Keys, x.Probe, x.Values, x.Schema()), nil
	case *plan.Densify:
		in, err := b.build(x.Input, nil)
		if err != nil {
			return nil, err
		}
		return exec.NewDensify(b.env, in, x), nil
	case *plan.TimeWindows:
		in, err := b.build(x.Input, nil)
		if err != nil {
			return nil, err
		}
		return exec.NewTimeWindows(b.env, in, x), nil
	case *plan.Sort:
		in, err := b.build(x.Input, nil)
		if err != nil {
			return nil, err
		}
		return exec.NewSort(b.env, in, x.Keys, -1), nil
	case *plan.Limit:
		if s, ok := x.Input.(*plan.Sort); ok && x.Count >= 0 {
			in, err := b.build(s.Input, nil)
			if err != nil {
				return nil, err
			}
			return exec.NewLimit(exec.NewSort(b.env, in, s.Keys, x.Offset+x.Count), x.Offset, x.Count), nil
		}
		in, err := b.build(x.Input, need)
		if err != nil {
			return nil, err
		}
		return exec.NewLimit(in, x.Offset, x.Count), nil
	}
	return nil, fmt.Errorf("cannot execute %T plans", n)
}

// scan reads the scan's columns that are needed (all of them when need is nil), keeping at least
// one so that batches still carry their row counts.
func (b *builder) scan(s *plan.Scan, need columns) (exec.Operator, error) {
	m, ok := b.morsels[s]
	if !ok {
		t, err := b.engine.tables.Table(s.Source, s.Table)
		if err != nil {
			return nil, err
		}
		m = exec.NewMorsels(t)
		b.morsels[s] = m
	}
	need = need.with(s.Filter)
	t := m.Table()
	var cols []int
	var fields []arrow.Field
	for i, c := range s.Columns {
		f := s.Schema().Field(i)
		if !need.has(f.Name) && !(len(fields) == 0 && i == len(s.Columns)-1) {
			continue
		}
		idx := t.Schema().FieldIndices(c)
		if len(idx) != 1 {
			return nil, fmt.Errorf("table %s has no column %q", s.Table, c)
		}
		cols = append(cols, idx[0])
		fields = append(fields, f)
	}
	op, err := exec.NewTableScan(m, cols, arrow.NewSchema(fields, nil))
	if err != nil {
		return nil, err
	}
	if s.Filter == nil {
		return op, nil
	}
	return exec.NewFilter(b.env, op, s.Filter)
}

// join builds a hash join: the right side is the build side (shared by parallel probes), the left
// side probes it. A filter directly on the left side becomes the join's selection, and only the
// columns the parent reads are emitted.
func (b *builder) join(j *plan.Join, need columns) (exec.Operator, error) {
	right := j.Right.Schema()
	buildNeed := columns{}
	for _, f := range right.Fields() {
		if need.has(f.Name) {
			buildNeed[f.Name] = true
		}
	}
	buildNeed = buildNeed.with(j.RightKeys...)
	jb, ok := b.builds[j]
	if !ok {
		restore := b.newScope()
		op, err := b.build(j.Right, buildNeed)
		restore()
		if err != nil {
			return nil, err
		}
		jb = exec.NewJoinBuild(b.env, op, j.RightKeys, j.NullSafe)
		b.builds[j] = jb
		b.all = append(b.all, jb)
	}
	probeInput, where := j.Left, plan.Expr(nil)
	if j.Kind != plan.FullJoin {
		// A probe row a filter drops joins nothing, so filtering while probing is the same.
		var err error
		if probeInput, where, err = b.peelFilter(j.Left); err != nil {
			return nil, err
		}
	}
	probeNeed := columns{}
	for _, f := range j.Left.Schema().Fields() {
		if need.has(f.Name) {
			probeNeed[f.Name] = true
		}
	}
	probe, err := b.build(probeInput, probeNeed.with(append(append([]plan.Expr{}, j.LeftKeys...), where)...))
	if err != nil {
		return nil, err
	}
	spec := exec.JoinSpec{Kind: j.Kind, ProbeKeys: j.LeftKeys, Where: where}
	var fields []arrow.Field
	for i, f := range probe.Schema().Fields() {
		if need.has(f.Name) {
			spec.OutProbe = append(spec.OutProbe, i)
			fields = append(fields, outField(j, f.Name))
		}
	}
	for i, f := range jb.Schema().Fields() {
		if need.has(f.Name) {
			spec.OutBuild = append(spec.OutBuild, i)
			fields = append(fields, outField(j, f.Name))
		}
	}
	spec.Schema = arrow.NewSchema(fields, nil)
	return exec.NewHashJoin(b.env, probe, jb, spec)
}

// outField is the join's output field of that name, with the nullability the join gives it.
func outField(j *plan.Join, name string) arrow.Field {
	idx := j.Schema().FieldIndices(name)
	return j.Schema().Field(idx[0])
}

// peelFilter splits the filter directly below an aggregation or a join's probe — a Filter node,
// or a scan's own predicate — from its input, so the operator can apply it as a selection instead
// of copying the rows that pass. The split is made once per node: parallel copies of a pipeline
// must build the very same scan node to share its morsels.
func (b *builder) peelFilter(n plan.Node) (plan.Node, plan.Expr, error) {
	if p, ok := b.peeled[n]; ok {
		return p.input, p.where, nil
	}
	p := peeledFilter{input: n}
	switch x := n.(type) {
	case *plan.Filter:
		p = peeledFilter{input: x.Input, where: x.Predicate}
	case *plan.Scan:
		if x.Filter != nil {
			s, err := x.WithFilter(nil)
			if err != nil {
				return nil, nil, err
			}
			p = peeledFilter{input: s, where: x.Filter}
		}
	}
	b.peeled[n] = p
	return p.input, p.where, nil
}

// partitionable reports whether n can run as several pipelines over disjoint parts of its
// scans: it streams rows (scans, filters, projections) and joins them only against build sides
// that every copy shares. Full joins, sorts, limits and nested aggregates need all rows in one
// place, and a warehouse answers one statement once: copies of it would each return every row.
func (b *builder) partitionable(n plan.Node) bool {
	switch x := n.(type) {
	case *plan.Scan:
		_, warehouse := b.engine.tables.Warehouse(x.Source)
		return !warehouse
	case *plan.Filter:
		return b.partitionable(x.Input)
	case *plan.Project:
		return b.partitionable(x.Input)
	case *plan.Join:
		return x.Kind != plan.FullJoin && b.partitionable(x.Left)
	}
	return false
}

// warehouseOf returns the warehouse every scan under n reads, or nil when n reads another source
// or more than one warehouse.
func (b *builder) warehouseOf(n plan.Node) *postgres.Connection {
	var conn *postgres.Connection
	ok := true
	var walk func(plan.Node)
	walk = func(n plan.Node) {
		if s, isScan := n.(*plan.Scan); isScan {
			c, warehouse := b.engine.tables.Warehouse(s.Source)
			if !warehouse || (conn != nil && c != conn) {
				ok = false
			}
			conn = c
		}
		for _, k := range n.Children() {
			walk(k)
		}
	}
	walk(n)
	if !ok {
		return nil
	}
	return conn
}

// pushDown runs n in its warehouse, as one SQL statement, when every table n reads lives there:
// the warehouse does the joins and aggregates, and only the result travels. A subtree the SQL
// compiler cannot express runs in the engine instead, with its children still pushed down where
// they can be (down to each scan and its filter, at least).
func (b *builder) pushDown(n plan.Node) (exec.Operator, bool, error) {
	conn := b.warehouseOf(n)
	if conn == nil {
		return nil, false, nil
	}
	stmt, err := postgres.BuildSQL(n)
	if err != nil {
		if _, isScan := n.(*plan.Scan); isScan {
			return nil, false, fmt.Errorf("read %s from %s: %w", n.(*plan.Scan).Table, conn.Name(), err)
		}
		return nil, false, nil
	}
	b.statements = append(b.statements, ExplainedStatement{Connection: conn.Name(), SQL: stmt.SQL, Params: paramTexts(stmt.Params)})
	return postgres.NewQueryOperator(b.env, conn, stmt), true, nil
}

func paramTexts(params []*plan.Literal) []string {
	out := make([]string, len(params))
	for i, p := range params {
		out[i] = p.String()
	}
	return out
}
