package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
)

// runtimeFlags are the flags every command that answers queries shares: where the definitions
// are, how big the demo is, and the default time zone.
type runtimeFlags struct {
	models       string
	demoScale    float64
	timezone     string
	calendar     string
	parallelism  int
	memoryLimit  string
	queryTimeout time.Duration
	maxRows      int64
	cacheSize    string
	cacheTTL     time.Duration
}

func (f *runtimeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.models, "models", "", "definitions directory (default: the shipped demo definitions)")
	fs.Float64Var(&f.demoScale, "demo-scale", 0.1, "size of the generated demo dataset; 1 = 1,000,000 orders")
	fs.StringVar(&f.timezone, "timezone", "UTC", "default time zone of queries that name none (IANA name)")
	fs.StringVar(&f.calendar, "calendar", "iso", "default calendar of queries that name none, which weeks and fiscal periods follow:\n"+semantic.CalendarHelp)
	fs.IntVar(&f.parallelism, "parallelism", 0, "pipelines per aggregation (default: the number of CPUs)")
	fs.StringVar(&f.memoryLimit, "memory-limit", "", "soft limit of the process's memory, such as 3GiB; the garbage collector works harder\nas it nears it (default: the data's size plus 1 GiB; GOMEMLIMIT, when set, is used instead)")
	fs.DurationVar(&f.queryTimeout, "query-timeout", time.Minute, "longest a query may run, warehouse statements included, before it fails with TIMEOUT")
	fs.Int64Var(&f.maxRows, "max-rows", 1_000_000, "most rows a result may have (and the largest limit a query may ask for); a larger result fails with TOO_MANY_ROWS")
	fs.StringVar(&f.cacheSize, "cache-size", "256MiB", "memory kept for the results of recent queries, such as 512MiB; a query whose plan, row filters\nincluded, is the same as a kept one's is answered from it; 0 disables the cache")
	fs.DurationVar(&f.cacheTTL, "cache-ttl", time.Minute, "longest a kept result that read a warehouse is served before its query runs again; 0 keeps none\n(results over the demo dataset and files cannot go stale and stay until evicted)")
}

// layer is a loaded semantic layer: definitions checked against their sources, the data they
// read, and the service that answers queries.
type layer struct {
	sources *engine.Sources
	catalog *semantic.Catalog
	service *semantic.Service
	// engine and options are what service was made with, to make it again with an authorizer.
	engine  *engine.Engine
	options semantic.ServiceOptions
}

// authorize makes the layer's service decide access with a.
func (r *layer) authorize(a *authz.Authorizer) {
	r.options.Authorizer = a
	r.service = semantic.NewService(r.catalog, r.engine, r.options)
}

// govern makes the layer's service serve the definitions gov serves.
func (r *layer) govern(gov *semantic.Governance) {
	r.options.Governance = gov
	r.catalog = gov.Catalog()
	r.service = semantic.NewService(r.catalog, r.engine, r.options)
}

func (r *layer) Close() {
	r.engine.Close()
	r.sources.Close()
}

// load reads and validates the definitions, generates the demo data if any model uses it, reads
// every file model, and returns the service. Nothing is served half-loaded: any problem fails
// the whole load.
func (f *runtimeFlags) load(ctx context.Context) (*layer, error) {
	if f.queryTimeout <= 0 {
		return nil, usageError("--query-timeout must be positive, such as 30s")
	}
	if f.maxRows <= 0 {
		return nil, usageError("--max-rows must be positive")
	}
	cache, err := f.cacheOptions()
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(f.timezone)
	if err != nil || f.timezone == "Local" {
		return nil, usageError("unknown time zone %q; use an IANA name such as Asia/Shanghai", f.timezone)
	}
	if _, err := semantic.ParseCalendar(f.calendar); err != nil {
		return nil, usageError("--calendar: %v", err)
	}
	mem := memory.NewGoAllocator()
	src := engine.NewSources(mem)
	rt := &layer{sources: src}
	var cat *semantic.Catalog
	if f.models == "" {
		cat, err = semantic.LoadFS(ctx, demo.FS, semantic.SourcesResolver(src))
	} else {
		cat, err = semantic.LoadDir(ctx, f.models, semantic.SourcesResolver(src))
	}
	if err != nil {
		src.Close()
		return nil, err
	}
	rt.catalog = cat
	if usesDemo(cat) {
		start := time.Now()
		ds, err := demodata.Generate(ctx, mem, f.demoScale)
		if err != nil {
			src.Close()
			return nil, fmt.Errorf("generate demo data: %w", err)
		}
		src.SetDemo(ds)
		orders := ds.Table("orders").NumRows()
		slog.Info("generated demo dataset", "scale", f.demoScale, "orders", orders, "took", time.Since(start).Round(time.Millisecond))
	}
	if err := semantic.Preload(ctx, cat, src); err != nil {
		src.Close()
		return nil, err
	}
	// Kept results are held like the data: the default limit leaves room for them too.
	if err := f.setMemoryLimit(src.SizeBytes() + cache.MaxBytes); err != nil {
		src.Close()
		return nil, err
	}
	eng := engine.New(src, engine.Options{Allocator: mem, Parallelism: f.parallelism, MaxRows: f.maxRows, Cache: cache})
	rt.engine = eng
	rt.options = semantic.ServiceOptions{
		QueryTimeout:   f.queryTimeout,
		CompileOptions: semantic.CompileOptions{Location: loc, MaxLimit: f.maxRows, Calendar: f.calendar},
	}
	rt.service = semantic.NewService(cat, eng, rt.options)
	return rt, nil
}

// cacheOptions reads --cache-size and --cache-ttl.
func (f *runtimeFlags) cacheOptions() (engine.CacheOptions, error) {
	if f.cacheTTL < 0 {
		return engine.CacheOptions{}, usageError("--cache-ttl cannot be negative; 0 keeps no warehouse results")
	}
	if strings.TrimSpace(f.cacheSize) == "0" {
		return engine.CacheOptions{}, nil
	}
	n, err := parseBytes(f.cacheSize)
	if err != nil {
		return engine.CacheOptions{}, usageError("--cache-size: %v, or 0 to disable the cache", err)
	}
	return engine.CacheOptions{MaxBytes: n, TTL: f.cacheTTL}, nil
}

func usesDemo(c *semantic.Catalog) bool {
	for _, m := range c.Models() {
		if m.Source.File == "" && m.Source.Connection == semantic.DemoConnection {
			return true
		}
	}
	return false
}

// queryHeadroom is the memory the default soft limit leaves above the data for queries.
const queryHeadroom = 1 << 30

// setMemoryLimit sets the runtime's soft memory limit: --memory-limit when given, else the data's
// size plus room for queries, unless GOMEMLIMIT already set one. Without a limit the collector
// lets the heap grow to twice what is live before it runs, which doubles the footprint of a
// server whose data is most of its heap.
func (f *runtimeFlags) setMemoryLimit(dataBytes int64) error {
	limit := dataBytes + queryHeadroom
	switch {
	case f.memoryLimit != "":
		n, err := parseBytes(f.memoryLimit)
		if err != nil {
			return usageError("--memory-limit: %v", err)
		}
		limit = n
	case os.Getenv("GOMEMLIMIT") != "":
		return nil
	}
	debug.SetMemoryLimit(limit)
	slog.Info("memory limit", "data", humanBytes(dataBytes), "limit", humanBytes(limit))
	return nil
}

// parseBytes reads a size such as 3GiB, 512MiB, 2GB or 1048576.
func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		factor int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}
	t := strings.TrimSpace(s)
	factor := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, factor = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.factor
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 || v*float64(factor) > math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is not a size; write it as 3GiB, 512MiB or a number of bytes", s)
	}
	return int64(v * float64(factor)), nil
}

// humanBytes formats a byte count for logs.
func humanBytes(n int64) string { return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30)) }
