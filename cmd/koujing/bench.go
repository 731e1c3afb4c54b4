package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
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

// benchCase is a query the bench command times, and the table whose rows it reads.
type benchCase struct {
	name  string
	table string
	query semantic.MetricQuery
}

func benchCases() []benchCase {
	return []benchCase{
		{"gmv_paid by orders.region and month", "orders", semantic.MetricQuery{
			Metrics: []string{"gmv_paid"}, Dimensions: []string{"orders.region"},
			TimeDimension: &semantic.TimeGrouping{Dimension: "orders.created_at", Granularity: "month"}, Timezone: "Asia/Shanghai"}},
		{"gmv_paid by region and month, YoY", "orders", semantic.MetricQuery{
			Metrics: []string{"gmv_paid"}, Dimensions: []string{"orders.region"},
			TimeDimension: &semantic.TimeGrouping{Dimension: "orders.created_at", Granularity: "month"}, Timezone: "Asia/Shanghai",
			Compare: []semantic.Comparison{{Period: "year"}}}},
		{"buyers by customers.city", "orders", semantic.MetricQuery{
			Metrics: []string{"buyers"}, Dimensions: []string{"customers.city"}}},
		{"aov, refund_rate by orders.channel", "orders", semantic.MetricQuery{
			Metrics: []string{"aov", "refund_rate"}, Dimensions: []string{"orders.channel"}}},
		{"items_sold by products.category", "order_items", semantic.MetricQuery{
			Metrics: []string{"items_sold"}, Dimensions: []string{"products.category"}}},
	}
}

// runBench generates the demo dataset and times the benchmark queries, one pipeline and all
// cores, printing rows scanned per second and the process's peak memory.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "[--scale S] [--runs N]", stderr)
	scale := fs.Float64("scale", 10, "size of the demo dataset; 10 = 10,000,000 orders")
	runs := fs.Int("runs", 5, "timed runs per query (after one warm-up run); the median is reported")
	only := fs.String("query", "", "run only the queries whose name contains this text")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed runs to this file")
	as := fs.String("as", "", "answer as a user with this role of the demo's access policy, such as analyst or east_sales\n(with the region claim east), to measure what authorization and row filters cost (default: no authorization)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *runs < 1 {
		return usageError("--runs must be at least 1")
	}
	mem := memory.NewGoAllocator()
	start := time.Now()
	ds, err := demodata.Generate(ctx, mem, *scale)
	if err != nil {
		return err
	}
	src := engine.NewSources(mem)
	defer src.Close()
	src.SetDemo(ds)
	fmt.Fprintf(stdout, "demo dataset at scale %g: %d orders, %d order items, generated in %s; peak RSS %s\n",
		*scale, ds.Table("orders").NumRows(), ds.Table("order_items").NumRows(), time.Since(start).Round(time.Millisecond), peakRSS())
	cat, err := semantic.LoadFS(ctx, demo.FS, semantic.SourcesResolver(src))
	if err != nil {
		return err
	}
	opts, acc, err := benchAccess(ctx, cat, *as)
	if err != nil {
		return err
	}
	cpus := runtime.GOMAXPROCS(0)
	ways := []int{1}
	if cpus > 1 {
		ways = append(ways, cpus)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Fprintf(stdout, "\n%-40s %8s %10s %14s %16s\n", "query", "threads", "median", "rows/s", "rows/s per core")
	for _, bc := range benchCases() {
		if *only != "" && !strings.Contains(bc.name, *only) {
			continue
		}
		rows := ds.Table(bc.table).NumRows()
		for _, par := range ways {
			svc := semantic.NewService(cat, engine.New(src, engine.Options{Allocator: mem, Parallelism: par}), opts)
			times := make([]time.Duration, 0, *runs)
			for i := 0; i <= *runs; i++ {
				t0 := time.Now()
				a, err := acc(svc)
				if err != nil {
					return err
				}
				res, err := svc.Query(ctx, a, bc.query)
				if err != nil {
					return fmt.Errorf("%s: %w", bc.name, err)
				}
				d := time.Since(t0)
				res.Release()
				if i > 0 {
					times = append(times, d)
				}
			}
			slices.Sort(times)
			med := times[len(times)/2]
			rate := float64(rows) / med.Seconds()
			fmt.Fprintf(stdout, "%-40s %8d %10s %14s %16s\n", bc.name, par, med.Round(100*time.Microsecond),
				humanRate(rate), humanRate(rate/float64(par)))
		}
	}
	fmt.Fprintf(stdout, "\npeak RSS %s\n", peakRSS())
	return nil
}

// benchAccess returns the service options and the access the bench queries run with: full
// access without a role; with one, the demo policy's decisions for a user with that role,
// taken again for every query as a server does per request.
func benchAccess(ctx context.Context, cat *semantic.Catalog, role string) (semantic.ServiceOptions, func(*semantic.Service) (*semantic.Access, error), error) {
	if role == "" {
		return semantic.ServiceOptions{}, func(*semantic.Service) (*semantic.Access, error) { return cat.FullAccess(), nil }, nil
	}
	a, err := demo.NewAuthorizer(ctx, cat, nil)
	if err != nil {
		return semantic.ServiceOptions{}, nil, err
	}
	who := &authz.Principal{Subject: "bench", Tenant: "demo", Roles: []string{role},
		Attributes: map[string]any{"region": "east", "regions": []any{"east"}}}
	acc := func(svc *semantic.Service) (*semantic.Access, error) { return svc.Access(who) }
	return semantic.ServiceOptions{Authorizer: a}, acc, nil
}

func humanRate(r float64) string {
	return strconv.FormatFloat(r/1e6, 'f', 1, 64) + "M"
}

// peakRSS returns the process's peak resident memory (VmHWM on Linux), or the Go runtime's view
// of memory obtained from the system elsewhere.
func peakRSS() string {
	if f, err := os.Open("/proc/self/status"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
				kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				if err == nil {
					return fmt.Sprintf("%.2f GiB", float64(kb)/(1<<20))
				}
			}
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return fmt.Sprintf("%.2f GiB (Go runtime)", float64(ms.Sys)/(1<<30))
}
