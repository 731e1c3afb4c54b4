package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/engine/source"
)

// TestCacheHitIsTheColdResult runs every demo query twice on an engine with a cache: the second
// run is a hit and returns exactly the rows of the first, in the same order.
func TestCacheHitIsTheColdResult(t *testing.T) {
	for _, q := range demoQueries() {
		t.Run(q.name, func(t *testing.T) {
			e := newDemoEngine(t, Options{Parallelism: 4, BatchRows: 2, Cache: CacheOptions{MaxBytes: 1 << 20}})
			cold := executeCached(t, e, q.plan(), false)
			hot := executeCached(t, e, q.plan(), true)
			if !slices.Equal(hot, cold) {
				t.Fatalf("\n hit: %q\ncold: %q", hot, cold)
			}
			if !q.ordered {
				cold = slices.Sorted(slices.Values(cold))
			}
			if !slices.Equal(cold, q.want) {
				t.Fatalf("\n got: %q\nwant: %q", cold, q.want)
			}
			if s := e.CacheStats(); s.Hits != 1 || s.Misses != 1 || s.Entries != 1 || s.Bytes <= 0 {
				t.Errorf("stats %+v, want one hit, one miss and one entry", s)
			}
		})
	}
}

// newDemoEngine returns an engine over the demo tables; it is closed, and the tables and the
// engine's allocator are checked for leaks, when the test ends.
func newDemoEngine(t *testing.T, opts Options) *Engine {
	dataMem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { dataMem.AssertSize(t, 0) })
	ts := demoTables(t, dataMem)
	t.Cleanup(ts.release)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	opts.Allocator = mem
	e := New(ts, opts)
	t.Cleanup(e.Close)
	return e
}

// executeCached runs root and returns its rows, checking that the result says whether it came
// from the cache as wanted.
func executeCached(t testing.TB, e *Engine, root plan.Node, cached bool) []string {
	t.Helper()
	res, err := e.Execute(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Release()
	if res.Cached != cached {
		t.Fatalf("Cached = %v, want %v", res.Cached, cached)
	}
	if !res.Schema.Equal(root.Schema()) {
		t.Fatalf("result schema %s, plan says %s", res.Schema, root.Schema())
	}
	rows := resultRowsText(res)
	if int64(len(rows)) != res.Rows {
		t.Fatalf("Rows = %d, batches hold %d", res.Rows, len(rows))
	}
	return rows
}

// TestCacheKeepsRowFiltersApart runs plans that differ only in a row filter's literal, as the
// compiler injects them per caller, several times in turn: each plan always gets its own rows,
// the rows an engine without a cache returns.
func TestCacheKeepsRowFiltersApart(t *testing.T) {
	e := newDemoEngine(t, Options{Parallelism: 2, Cache: CacheOptions{MaxBytes: 1 << 20}})
	byStatus := func(n plan.Node) plan.Node {
		return mustBuild(plan.NewAggregate(n, []plan.Named{{Name: "status", Expr: colOf(n, "o.status")}}, []plan.AggExpr{
			aggExpr("gmv", plan.Sum, colOf(n, "o.amount"), nil),
			aggExpr("orders", plan.Count, nil, nil),
		}))
	}
	regionIs := func(value string) func(n plan.Node) plan.Expr {
		return func(n plan.Node) plan.Expr {
			return mustBuild(plan.NewBinary(plan.Eq, colOf(n, "o.region"), strLit(value)))
		}
	}
	customerIs := func(lit *plan.Literal) func(n plan.Node) plan.Expr {
		return func(n plan.Node) plan.Expr { return mustBuild(plan.NewBinary(plan.Eq, colOf(n, "o.customer_id"), lit)) }
	}
	// asNode filters the orders with a Filter node; inScan puts the filter into the scan.
	asNode := func(pred func(plan.Node) plan.Expr) plan.Node {
		o := scanOrders(nil)
		return byStatus(mustBuild(plan.NewFilter(o, pred(o))))
	}
	inScan := func(pred func(plan.Node) plan.Expr) plan.Node {
		return byStatus(scanOrders(func(s *plan.Scan) plan.Expr { return pred(s) }))
	}
	tests := []struct {
		name string
		root plan.Node
	}{
		{"region east", asNode(regionIs("east"))},
		{"region west", asNode(regionIs("west"))},
		{"region east with a trailing space", asNode(regionIs("east "))},
		{"region East", asNode(regionIs("East"))},
		{"region east and a newline", asNode(regionIs("east\n"))},
		{"region with a quote", asNode(regionIs("east' OR '1'='1"))},
		{"region east in the scan", inScan(regionIs("east"))},
		{"region west in the scan", inScan(regionIs("west"))},
		{"customer 10", asNode(customerIs(mustBuild(plan.NewLiteral(int64(10), plan.Int64))))},
		{"customer 11", asNode(customerIs(mustBuild(plan.NewLiteral(int64(11), plan.Int64))))},
	}
	uncached := New(e.tables, Options{Allocator: e.opts.Allocator})
	want := make([][]string, len(tests))
	for i, tt := range tests {
		want[i] = slices.Sorted(slices.Values(executeCached(t, uncached, tt.root, false)))
	}
	if slices.Equal(want[0], want[1]) || len(want[2]) != 0 {
		t.Fatalf("the fixture does not tell the filters apart: east %q, west %q, 'east ' %q", want[0], want[1], want[2])
	}
	for round := range 3 {
		for i, tt := range tests {
			t.Run(fmt.Sprintf("%s/round %d", tt.name, round), func(t *testing.T) {
				got := slices.Sorted(slices.Values(executeCached(t, e, tt.root, round > 0)))
				if !slices.Equal(got, want[i]) {
					t.Errorf("\n got: %q\nwant: %q", got, want[i])
				}
			})
		}
	}
	if s := e.CacheStats(); s.Entries != len(tests) || s.Misses != int64(len(tests)) {
		t.Errorf("stats %+v, want one entry and one miss per plan (%d)", s, len(tests))
	}
}

// intResult returns a result of one int64 column holding values.
func intResult(mem memory.Allocator, values ...int64) *Result {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.AppendValues(values, nil)
	col := b.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)
	return &Result{Schema: schema, Batches: []arrow.RecordBatch{array.NewRecordBatch(schema, []arrow.Array{col}, int64(len(values)))}, Rows: int64(len(values))}
}

func intValues(res *Result) []int64 {
	var out []int64
	for _, b := range res.Batches {
		out = append(out, b.Column(0).(*array.Int64).Int64Values()...)
	}
	return out
}

// cacheRunner counts the runs of queries through a resultCache and checks what each returns.
type cacheRunner struct {
	t    *testing.T
	c    *resultCache
	mem  memory.Allocator
	runs map[string]int
}

// get asks the cache for key, whose query returns the single value v, and reports whether the
// query ran.
func (r *cacheRunner) get(key string, v int64, expires bool) (ran bool) {
	r.t.Helper()
	before := r.runs[key]
	res, err := r.c.do(context.Background(), key, expires, func() (*Result, error) {
		r.runs[key]++
		return intResult(r.mem, v), nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Release()
	if got := intValues(res); !slices.Equal(got, []int64{v}) {
		r.t.Fatalf("%s: got %v, want [%d]", key, got, v)
	}
	ran = r.runs[key] > before
	if res.Cached == ran {
		r.t.Fatalf("%s: Cached = %v, yet the query ran = %v", key, res.Cached, ran)
	}
	return ran
}

func TestCacheEvictsLeastRecentlyUsedByBytes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	one := intResult(mem, 1)
	size := source.BatchBytes(one.Batches) + 1 // the keys are one byte long
	one.Release()
	tests := []struct {
		name string
		// steps are keys to ask for; a capital letter means the query must run.
		steps         string
		maxBytes      int64
		maxEntryBytes int64
	}{
		{"two fit", "ABab", 2 * size, 2 * size},
		{"the least recently used goes", "ABCbcAcB", 2 * size, 2 * size},
		{"a hit makes an entry recent", "ABaCaB", 2 * size, 2 * size},
		{"results over the entry cap are not kept", "AA", 10 * size, size - 1},
		{"the entry cap defaults to an eighth", "AA", 8*size - 1, 0},
		{"the entry cap is at most the cache", "Aa", size, 100 * size},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newResultCache(CacheOptions{MaxBytes: tt.maxBytes, MaxEntryBytes: tt.maxEntryBytes})
			defer c.Close()
			r := &cacheRunner{t: t, c: c, mem: mem, runs: map[string]int{}}
			for i, step := range tt.steps {
				key := strings.ToLower(string(step))
				want := step >= 'A' && step <= 'Z'
				if ran := r.get(key, int64(key[0]), false); ran != want {
					t.Fatalf("step %d (%c): ran = %v, want %v", i, step, ran, want)
				}
			}
			if s := c.Stats(); s.Bytes > tt.maxBytes || s.Bytes != int64(s.Entries)*size {
				t.Errorf("stats %+v: more than %d bytes, or not %d bytes an entry", s, tt.maxBytes, size)
			}
		})
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestCacheExpiresWhatCanGoStale checks that results that read a warehouse are served for TTL
// and then run again, that without a TTL they are not kept, and that results over in-memory
// tables do not expire.
func TestCacheExpiresWhatCanGoStale(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tests := []struct {
		name    string
		ttl     time.Duration
		expires bool
		// after is how long after the first run the second asks; ran, whether it runs.
		after time.Duration
		ran   bool
	}{
		{"warehouse, within the TTL", time.Minute, true, time.Minute - time.Nanosecond, false},
		{"warehouse, at the TTL", time.Minute, true, time.Minute, true},
		{"warehouse, without a TTL", 0, true, 0, true},
		{"in memory, a year later", time.Minute, false, 365 * 24 * time.Hour, false},
		{"in memory, without a TTL", 0, false, time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)}
			c := newResultCache(CacheOptions{MaxBytes: 1 << 20, TTL: tt.ttl, Now: clock.Now})
			defer c.Close()
			r := &cacheRunner{t: t, c: c, mem: mem, runs: map[string]int{}}
			if !r.get("q", 1, tt.expires) {
				t.Fatal("the first run did not run")
			}
			clock.Advance(tt.after)
			if ran := r.get("q", 1, tt.expires); ran != tt.ran {
				t.Errorf("second ask ran = %v, want %v", ran, tt.ran)
			}
			if tt.ran && tt.ttl > 0 {
				if s := c.Stats(); s.Evictions != 1 || s.Entries != 1 {
					t.Errorf("stats %+v, want the expired entry evicted and the new one kept", s)
				}
			}
		})
	}
}

// flightTest starts waiters identical queries while the first one's run is held, so that all of
// them wait for it; it returns the first run's release and the waiters' outcomes.
type flightTest struct {
	c       *resultCache
	mem     memory.Allocator
	runs    atomic.Int32
	started chan struct{}
	finish  chan struct{}
	wg      sync.WaitGroup
}

func newFlightTest(mem memory.Allocator) *flightTest {
	return &flightTest{c: newResultCache(CacheOptions{MaxBytes: 1 << 20}), mem: mem,
		started: make(chan struct{}, 100), finish: make(chan struct{})}
}

// run is a query that returns [1, 2, 3] once finish is closed, or outcome's error if set.
func (f *flightTest) run(ctx context.Context, outcome func(ctx context.Context) error) func() (*Result, error) {
	return func() (*Result, error) {
		f.runs.Add(1)
		f.started <- struct{}{}
		select {
		case <-f.finish:
		case <-ctx.Done():
		}
		if outcome != nil {
			if err := outcome(ctx); err != nil {
				return nil, err
			}
		}
		return intResult(f.mem, 1, 2, 3), nil
	}
}

// waitForWaiters waits until n queries wait for a running one.
func (f *flightTest) waitForWaiters(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for f.c.Stats().Shared < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d queries wait, want %d", f.c.Stats().Shared, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// ask runs the query in a goroutine and sends its values, or its error, to out.
func (f *flightTest) ask(ctx context.Context, outcome func(context.Context) error, out chan<- any) {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer func() {
			if p := recover(); p != nil {
				out <- fmt.Errorf("panic: %v", p)
			}
		}()
		res, err := f.c.do(ctx, "q", false, f.run(ctx, outcome))
		if err != nil {
			out <- err
			return
		}
		out <- fmt.Sprint(intValues(res), res.Cached)
		res.Release()
	}()
}

// TestCacheRunsIdenticalQueriesOnce starts identical queries while the first runs: they wait for
// it and share its rows, and the query runs once.
func TestCacheRunsIdenticalQueriesOnce(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	f := newFlightTest(mem)
	defer f.c.Close()
	const n = 16
	out := make(chan any, n)
	f.ask(context.Background(), nil, out)
	<-f.started
	for range n - 1 {
		f.ask(context.Background(), nil, out)
	}
	f.waitForWaiters(t, n-1)
	close(f.finish)
	f.wg.Wait()
	close(out)
	got := map[any]int{}
	for o := range out {
		got[o]++
	}
	want := map[any]int{"[1 2 3] false": 1, "[1 2 3] true": n - 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
	if runs := f.runs.Load(); runs != 1 {
		t.Errorf("the query ran %d times, want once", runs)
	}
}

// TestCacheWaiterCancelled cancels a query waiting for an identical one: it returns at once
// with its context's error, and the running query still completes and is kept.
func TestCacheWaiterCancelled(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	f := newFlightTest(mem)
	defer f.c.Close()
	first, waiter := make(chan any, 1), make(chan any, 1)
	f.ask(context.Background(), nil, first)
	<-f.started
	ctx, cancel := context.WithCancel(context.Background())
	f.ask(ctx, nil, waiter)
	f.waitForWaiters(t, 1)
	cancel()
	select {
	case o := <-waiter:
		if err, ok := o.(error); !ok || !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled waiter got %v, want context.Canceled", o)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled waiter still waits")
	}
	close(f.finish)
	if o := <-first; o != "[1 2 3] false" {
		t.Errorf("first query got %v", o)
	}
	f.wg.Wait()
	if s := f.c.Stats(); s.Entries != 1 {
		t.Errorf("stats %+v, want the result kept", s)
	}
}

// TestCacheFailures checks that no failure is kept, that waiters get the error of the run they
// waited for, and that they run the query themselves when that run was given up: its caller's
// context ended, or it panicked.
func TestCacheFailures(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name string
		// outcome decides how the first query's run ends, given its context.
		outcome func(context.Context) error
		// cancelFirst cancels the first query's context instead of letting its run finish.
		cancelFirst bool
		first       string
		waiters     string
		runs        int32
	}{
		{"failure", func(context.Context) error { return errBoom }, false, "boom", "boom", 1},
		{"first caller gave up", func(ctx context.Context) error { return ctx.Err() }, true, "context canceled", "[1 2 3] false", 2},
		{"panic", func(ctx context.Context) error {
			if ctx.Value(panicKey{}) != nil {
				panic("query panics")
			}
			return nil
		}, false, "panic: query panics", "[1 2 3] false", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			f := newFlightTest(mem)
			defer f.c.Close()
			ctx, cancel := context.WithCancel(context.WithValue(context.Background(), panicKey{}, true))
			defer cancel()
			first, waiters := make(chan any, 1), make(chan any, 2)
			f.ask(ctx, tt.outcome, first)
			<-f.started
			f.ask(context.Background(), tt.outcome, waiters)
			f.ask(context.Background(), tt.outcome, waiters)
			f.waitForWaiters(t, 2)
			if tt.cancelFirst {
				cancel()
			} else {
				close(f.finish)
			}
			if o := fmt.Sprint(<-first); o != tt.first {
				t.Errorf("first query got %s, want %s", o, tt.first)
			}
			if tt.cancelFirst {
				<-f.started // one waiter runs the query again
				close(f.finish)
			}
			f.wg.Wait()
			close(waiters)
			for o := range waiters {
				if s := fmt.Sprint(o); s != tt.waiters && !(tt.runs > 1 && s == "[1 2 3] true") {
					t.Errorf("a waiter got %s, want %s", s, tt.waiters)
				}
			}
			if runs := f.runs.Load(); runs != tt.runs {
				t.Errorf("the query ran %d times, want %d", runs, tt.runs)
			}
			if s := f.c.Stats(); (s.Entries == 1) != (tt.runs > 1) {
				t.Errorf("stats %+v: a failure was kept, or a success was not", s)
			}
		})
	}
}

type panicKey struct{}

// TestCacheDoesNotKeepEngineErrors runs a plan whose result is over MaxRows twice: both runs
// fail, and nothing is kept.
func TestCacheDoesNotKeepEngineErrors(t *testing.T) {
	e := newDemoEngine(t, Options{MaxRows: 5, Cache: CacheOptions{MaxBytes: 1 << 20}})
	for range 2 {
		if _, err := e.Execute(context.Background(), scanOrders(nil)); !errors.Is(err, ErrTooManyRows) {
			t.Fatalf("got %v, want ErrTooManyRows", err)
		}
	}
	if s := e.CacheStats(); s.Misses != 2 || s.Entries != 0 {
		t.Errorf("stats %+v, want two runs and nothing kept", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Execute(ctx, demoQueries()[0].plan()); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled query got %v", err)
	}
}

// TestCachedExecuteConcurrently runs the demo queries from many goroutines at once on an engine
// with a cache: every answer is right, each plan runs once, and nothing leaks; run with -race.
func TestCachedExecuteConcurrently(t *testing.T) {
	e := newDemoEngine(t, Options{Parallelism: 4, BatchRows: 2, Cache: CacheOptions{MaxBytes: 1 << 20}})
	qs := demoQueries()
	const rounds = 8
	var wg sync.WaitGroup
	errs := make(chan error, rounds*len(qs))
	for range rounds {
		for _, q := range qs {
			wg.Go(func() {
				if err := q.check(e, q.plan()); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s := e.CacheStats()
	if s.Misses != int64(len(qs)) || s.Hits+s.Shared+s.Misses != int64(rounds*len(qs)) {
		t.Errorf("stats %+v, want %d runs of %d queries", s, len(qs), rounds*len(qs))
	}
}

// BenchmarkCacheHit times Execute of a plan whose 10-row result is kept, against running it.
func BenchmarkCacheHit(b *testing.B) {
	ts := demoTables(b, memory.NewGoAllocator())
	defer ts.release()
	o := scanOrders(nil)
	root := mustBuild(plan.NewSort(o, []plan.SortKey{{Expr: colOf(o, "o.order_id")}}))
	for _, bc := range []struct {
		name  string
		cache CacheOptions
	}{{"hit", CacheOptions{MaxBytes: 1 << 20}}, {"uncached", CacheOptions{}}} {
		b.Run(bc.name, func(b *testing.B) {
			e := New(ts, Options{Parallelism: 1, Cache: bc.cache})
			defer e.Close()
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				res, err := e.Execute(ctx, root)
				if err != nil {
					b.Fatal(err)
				}
				if res.Rows != 10 {
					b.Fatalf("%d rows, want 10", res.Rows)
				}
				res.Release()
			}
		})
	}
}
