package semantic_test

import (
	"context"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
)

// benchScale is the demo size the query benchmarks run on: 1,000,000 orders. `koujing bench`
// measures the same queries at scale 10.
const benchScale = 1

var benchData = sync.OnceValues(func() (*engine.Sources, error) {
	ds, err := demodata.Generate(context.Background(), memory.NewGoAllocator(), benchScale)
	if err != nil {
		return nil, err
	}
	src := engine.NewSources(memory.NewGoAllocator())
	src.SetDemo(ds)
	return src, nil
})

// benchmarkQuery times q on one pipeline and reports rows of table scanned per second.
func benchmarkQuery(b *testing.B, table string, q semantic.MetricQuery) {
	src, err := benchData()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	cat, err := semantic.LoadFS(ctx, demo.FS, semantic.SourcesResolver(src))
	if err != nil {
		b.Fatal(err)
	}
	svc := semantic.NewService(cat, engine.New(src, engine.Options{Parallelism: 1}), semantic.ServiceOptions{})
	rows, _ := src.Table(engine.DemoSource, table)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := svc.Query(ctx, cat.FullAccess(), q)
		if err != nil {
			b.Fatal(err)
		}
		res.Release()
	}
	b.ReportMetric(float64(rows.NumRows())*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkGMVPaidByRegionAndMonth(b *testing.B) {
	benchmarkQuery(b, "orders", semantic.MetricQuery{
		Metrics: []string{"gmv_paid"}, Dimensions: []string{"orders.region"},
		TimeDimension: &semantic.TimeGrouping{Dimension: "orders.created_at", Granularity: "month"}, Timezone: "Asia/Shanghai"})
}

// BenchmarkGMVPaidYearOverYearByRegionAndMonth is BenchmarkGMVPaidByRegionAndMonth with each
// month compared with the same month a year before: the rows are aggregated once and each month
// looks its predecessor up, so it costs little more than the plain query.
func BenchmarkGMVPaidYearOverYearByRegionAndMonth(b *testing.B) {
	benchmarkQuery(b, "orders", semantic.MetricQuery{
		Metrics: []string{"gmv_paid"}, Dimensions: []string{"orders.region"},
		TimeDimension: &semantic.TimeGrouping{Dimension: "orders.created_at", Granularity: "month"}, Timezone: "Asia/Shanghai",
		Compare: []semantic.Comparison{{Period: "year"}}})
}

func BenchmarkBuyersByCity(b *testing.B) {
	benchmarkQuery(b, "orders", semantic.MetricQuery{Metrics: []string{"buyers"}, Dimensions: []string{"customers.city"}})
}

func BenchmarkGMVPaidByCategory(b *testing.B) {
	benchmarkQuery(b, "orders", semantic.MetricQuery{Metrics: []string{"gmv_paid"}, Dimensions: []string{"products.category"}})
}
