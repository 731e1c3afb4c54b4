package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
)

// runtimeFlags are the flags every command that answers queries shares: where the definitions
// are, how big the demo is, and the default time zone.
type runtimeFlags struct {
	models      string
	demoScale   float64
	timezone    string
	parallelism int
}

func (f *runtimeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.models, "models", "", "definitions directory (default: the shipped demo definitions)")
	fs.Float64Var(&f.demoScale, "demo-scale", 0.1, "size of the generated demo dataset; 1 = 1,000,000 orders")
	fs.StringVar(&f.timezone, "timezone", "UTC", "default time zone of queries that name none (IANA name)")
	fs.IntVar(&f.parallelism, "parallelism", 0, "pipelines per aggregation (default: the number of CPUs)")
}

// layer is a loaded semantic layer: definitions checked against their sources, the data they
// read, and the service that answers queries.
type layer struct {
	sources *engine.Sources
	catalog *semantic.Catalog
	service *semantic.Service
}

func (r *layer) Close() { r.sources.Close() }

// load reads and validates the definitions, generates the demo data if any model uses it, reads
// every file model, and returns the service. Nothing is served half-loaded: any problem fails
// the whole load.
func (f *runtimeFlags) load(ctx context.Context) (*layer, error) {
	loc, err := time.LoadLocation(f.timezone)
	if err != nil || f.timezone == "Local" {
		return nil, usageError("unknown time zone %q; use an IANA name such as Asia/Shanghai", f.timezone)
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
	eng := engine.New(src, engine.Options{Allocator: mem, Parallelism: f.parallelism})
	rt.service = semantic.NewService(cat, eng, semantic.ServiceOptions{CompileOptions: semantic.CompileOptions{Location: loc}})
	return rt, nil
}

func usesDemo(c *semantic.Catalog) bool {
	for _, m := range c.Models() {
		if m.Source.File == "" && m.Source.Connection == semantic.DemoConnection {
			return true
		}
	}
	return false
}
