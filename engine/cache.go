package engine

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/koujing/koujing/engine/exec"
	"github.com/koujing/koujing/engine/source"
)

// CacheOptions configure an engine's result cache. The zero value disables it.
//
// Results are keyed by the fingerprint of the whole logical plan (plan.Fingerprint). The plan
// holds every row filter and mask the compiler injects for the caller, so callers whose
// permissions differ have different plans and never share a result.
type CacheOptions struct {
	// MaxBytes bounds the results kept, together: the lengths of their Arrow buffers plus their
	// keys. Zero disables the cache.
	MaxBytes int64
	// MaxEntryBytes is the largest result kept; zero means an eighth of MaxBytes. A larger result
	// is still shared with identical queries running at the same time, only not kept.
	MaxEntryBytes int64
	// TTL is how long a result that read a warehouse is served before the query runs again: the
	// warehouse's tables change underneath. Zero keeps no such results. Results that read only
	// the demo dataset and files do not expire: those tables do not change while the process
	// runs.
	TTL time.Duration
	// Now is the clock TTL is measured by; nil means time.Now.
	Now func() time.Time
}

// CacheStats count what a result cache did since the engine started.
type CacheStats struct {
	// Hits counts queries answered with a kept result; Shared, queries that waited for an
	// identical query already running and got its result; Misses, queries that ran.
	Hits, Shared, Misses int64
	// Evictions counts results dropped, to make room or because they expired.
	Evictions int64
	// Entries and Bytes are the results kept now and their size, as MaxBytes counts it.
	Entries int
	Bytes   int64
}

// resultCache keeps the results of recent queries, least recently used first out, within a
// budget of bytes. Concurrent identical queries run once: the first runs it, the others wait
// and share its result. Errors are never kept; a waiter gets the error of the run it waited
// for, unless that run was given up (its caller's context ended, or it panicked): then the
// waiter runs the query itself.
//
// Kept batches hold their own references, taken when the run that made them ended; they are
// released on eviction and on close. They are charged to no query's budget once their query
// has returned: a budget only caps allocations while its query runs.
type resultCache struct {
	maxBytes, maxEntryBytes int64
	ttl                     time.Duration
	now                     func() time.Time

	mu      sync.Mutex
	entries map[string]*cacheEntry
	lru     list.List // of *cacheEntry, most recently used first
	flights map[string]*flight
	stats   CacheStats
	closed  bool
}

// sharedResult is a result's batches, held by the cache or by a flight for its waiters.
type sharedResult struct {
	schema  *arrow.Schema
	batches []arrow.RecordBatch
	rows    int64
}

type cacheEntry struct {
	key     string
	result  sharedResult
	bytes   int64
	expires time.Time // zero: never
	elem    *list.Element
}

// flight is a run of a query that identical queries wait for.
type flight struct {
	done chan struct{}
	// waiters counts the queries waiting; guarded by resultCache.mu until finished is set.
	waiters  int
	finished bool
	// Set before done is closed: a successful result holds one reference per waiter counted
	// when the run finished.
	result    sharedResult
	err       error
	abandoned bool
}

func newResultCache(opts CacheOptions) *resultCache {
	if opts.MaxBytes <= 0 {
		return nil
	}
	c := &resultCache{maxBytes: opts.MaxBytes, maxEntryBytes: opts.MaxEntryBytes, ttl: opts.TTL, now: opts.Now,
		entries: map[string]*cacheEntry{}, flights: map[string]*flight{}}
	switch {
	case c.maxEntryBytes <= 0:
		c.maxEntryBytes = c.maxBytes / 8
	case c.maxEntryBytes > c.maxBytes:
		c.maxEntryBytes = c.maxBytes
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// do returns the result of the query keyed key: a kept one, the one an identical query running
// now produces, or what run returns. expires says whether the result may go stale (it read a
// warehouse) and must then expire after the TTL.
func (c *resultCache) do(ctx context.Context, key string, expires bool, run func() (*Result, error)) (*Result, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return run()
		}
		e, expired := c.lookupLocked(key)
		if e != nil {
			c.stats.Hits++
			res := e.result.share()
			c.mu.Unlock()
			return res, nil
		}
		f, running := c.flights[key]
		if running {
			f.waiters++
			c.stats.Shared++
		} else {
			f = &flight{done: make(chan struct{})}
			c.flights[key] = f
			c.stats.Misses++
		}
		c.mu.Unlock()
		if expired != nil {
			expired.result.release()
		}
		if !running {
			return c.lead(ctx, key, expires, f, run)
		}
		res, err, retry := c.wait(ctx, f)
		if !retry {
			return res, err
		}
	}
}

// lookupLocked returns the live entry for key, moving it to the front; an expired one is
// removed and returned for the caller to release once the lock is dropped.
func (c *resultCache) lookupLocked(key string) (live, expired *cacheEntry) {
	e := c.entries[key]
	if e == nil {
		return nil, nil
	}
	if !e.expires.IsZero() && !c.now().Before(e.expires) {
		c.removeLocked(e)
		c.stats.Evictions++
		return nil, e
	}
	c.lru.MoveToFront(e.elem)
	return e, nil
}

// lead runs the query for the flight f and hands its outcome to the waiters.
func (c *resultCache) lead(ctx context.Context, key string, expires bool, f *flight, run func() (*Result, error)) (res *Result, err error) {
	completed := false
	defer func() {
		// A run that panicked, or failed because its own caller gave up, says nothing about
		// the query: the waiters run it again rather than fail with another's cancellation.
		abandoned := !completed || (err != nil && ctx.Err() != nil)
		c.land(key, expires, f, res, err, abandoned)
	}()
	res, err = run()
	completed = true
	return res, err
}

// land ends the flight: a successful result gets a reference for each waiter and is kept if
// it fits.
func (c *resultCache) land(key string, expires bool, f *flight, res *Result, err error, abandoned bool) {
	var evicted []*cacheEntry
	c.mu.Lock()
	if c.flights[key] == f {
		delete(c.flights, key)
	}
	f.finished = true
	f.err, f.abandoned = err, abandoned
	if err == nil && !abandoned {
		// From here on, other goroutines read these batches too.
		exec.ShareDictionaries(res.Batches)
		f.result = sharedResult{schema: res.Schema, batches: append([]arrow.RecordBatch(nil), res.Batches...), rows: res.Rows}
		for range f.waiters {
			f.result.retain()
		}
		evicted = c.keepLocked(key, f.result, expires)
	}
	c.mu.Unlock()
	close(f.done)
	for _, e := range evicted {
		e.result.release()
	}
}

// wait waits for the flight f, or for ctx to end. retry says f was abandoned and the caller
// should try again.
func (c *resultCache) wait(ctx context.Context, f *flight) (res *Result, err error, retry bool) {
	select {
	case <-f.done:
		switch {
		case f.abandoned:
			return nil, nil, true
		case f.err != nil:
			return nil, f.err, false
		}
		// land took this waiter's references.
		return f.result.result(), nil, false
	case <-ctx.Done():
		c.mu.Lock()
		owned := f.finished && f.err == nil && !f.abandoned
		if !f.finished {
			f.waiters--
		}
		c.mu.Unlock()
		if owned {
			f.result.release()
		}
		return nil, ctx.Err(), false
	}
}

// keepLocked stores r under key, with references of its own, evicting the least recently used
// results to make room; it returns those for the caller to release once the lock is dropped.
// Results over MaxEntryBytes, and results that would go stale when there is no TTL, are not
// kept.
func (c *resultCache) keepLocked(key string, r sharedResult, expires bool) []*cacheEntry {
	if c.closed || (expires && c.ttl <= 0) {
		return nil
	}
	size := source.BatchBytes(r.batches) + int64(len(key))
	if size > c.maxEntryBytes {
		return nil
	}
	var evicted []*cacheEntry
	if old := c.entries[key]; old != nil {
		c.removeLocked(old)
		evicted = append(evicted, old)
	}
	for c.stats.Bytes+size > c.maxBytes {
		victim := c.lru.Back().Value.(*cacheEntry)
		c.removeLocked(victim)
		c.stats.Evictions++
		evicted = append(evicted, victim)
	}
	r.retain()
	e := &cacheEntry{key: key, result: r, bytes: size}
	if expires {
		e.expires = c.now().Add(c.ttl)
	}
	e.elem = c.lru.PushFront(e)
	c.entries[key] = e
	c.stats.Entries++
	c.stats.Bytes += size
	return evicted
}

func (c *resultCache) removeLocked(e *cacheEntry) {
	c.lru.Remove(e.elem)
	delete(c.entries, e.key)
	c.stats.Entries--
	c.stats.Bytes -= e.bytes
}

// Stats returns what the cache did so far.
func (c *resultCache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Close releases every kept result. Queries running now still get their results; nothing is
// kept after Close.
func (c *resultCache) Close() {
	c.mu.Lock()
	c.closed = true
	var kept []*cacheEntry
	for _, e := range c.entries {
		kept = append(kept, e)
		c.removeLocked(e)
	}
	c.mu.Unlock()
	for _, e := range kept {
		e.result.release()
	}
}

func (r sharedResult) retain() {
	for _, b := range r.batches {
		b.Retain()
	}
}

func (r sharedResult) release() {
	for _, b := range r.batches {
		b.Release()
	}
}

// share returns a result holding references of its own.
func (r sharedResult) share() *Result {
	r.retain()
	return r.result()
}

// result returns a result that takes over references already taken for it.
func (r sharedResult) result() *Result {
	return &Result{Schema: r.schema, Batches: append([]arrow.RecordBatch(nil), r.batches...), Rows: r.rows, Cached: true}
}
