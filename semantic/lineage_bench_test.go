package semantic_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
	"github.com/koujing/koujing/semantic/store"
)

// lineageBenchCatalog returns the demo catalog with n generated metrics in groups of four over
// the orders model's measures: an atomic metric, a derived one on it filtered by status, a
// composite of the two, and a composite of that composite and the previous group's.
func lineageBenchCatalog(tb testing.TB, n int) *semantic.Catalog {
	tb.Helper()
	defs, err := semantic.SplitDefinitions(demo.FS)
	if err != nil {
		tb.Fatal(err)
	}
	measures := []string{"orders.amount_total", "orders.order_count", "orders.customer_count", "orders.coupon_total"}
	add := func(name, body string, i int) {
		defs = append(defs, semantic.Definition{Kind: store.KindMetric, Name: name,
			YAML: fmt.Sprintf("name: %s\nowner: team-%d\ndomain: sales\n%s", name, i%50, body)})
	}
	for i := 0; i < n/4; i++ {
		add(fmt.Sprintf("a%d", i), "kind: atomic\nmeasure: "+measures[i%len(measures)]+"\n", i)
		add(fmt.Sprintf("d%d", i), fmt.Sprintf("kind: derived\nbase: a%d\nfilters:\n  - dimension: orders.status\n    operator: in\n    values: [paid]\n", i), i)
		add(fmt.Sprintf("c%d", i), fmt.Sprintf("kind: composite\nexpr: d%d / a%d\n", i, i), i)
		prev := (i + n/4 - 1) % (n / 4)
		add(fmt.Sprintf("cc%d", i), fmt.Sprintf("kind: composite\nexpr: c%d / c%d\n", i, prev), i)
	}
	src := engine.NewSources(memory.NewGoAllocator())
	tb.Cleanup(src.Close)
	cat, err := semantic.LoadDefinitions(context.Background(), defs, semantic.SourcesResolver(src), "")
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}

// BenchmarkLineage computes the lineage, both ways, of one composite metric in a catalog of
// 10,000 generated metrics (and the demo's), as the demo's analyst: from the orders table's
// columns through the measure and the filter's dimension to the metric and the composites on it.
// The catalog's lineage index is built before the timer starts, once, as a server builds it on
// its first request:
//
//	go test ./semantic/ -run '^$' -bench BenchmarkLineage -benchtime 2000x
func BenchmarkLineage(b *testing.B) {
	cat := lineageBenchCatalog(b, 10_000)
	a, err := demo.NewAuthorizer(context.Background(), cat, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	svc := semantic.NewService(cat, engine.New(engine.NewSources(nil), engine.Options{}), semantic.ServiceOptions{Authorizer: a})
	acc, err := svc.Access(&authz.Principal{Subject: "ann", Tenant: "demo", Roles: []string{"analyst"}})
	if err != nil {
		b.Fatal(err)
	}
	q := semantic.LineageQuery{Kind: semantic.LineageMetric, Key: "c1234", Direction: semantic.BothDirections}
	g, err := svc.Lineage().Graph(context.Background(), acc, q)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(g.Nodes)), "nodes")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := svc.Lineage().Graph(context.Background(), acc, q); err != nil {
			b.Fatal(err)
		}
	}
}
