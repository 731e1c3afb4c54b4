package semantic_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
	"github.com/koujing/koujing/semantic/store"
)

// manyMetrics returns the demo definitions and n more metrics over the demo's orders, as a large
// organisation's catalog has: atomic, derived and composite ones in the demo's domains.
func manyMetrics(tb testing.TB, n int) []semantic.Definition {
	tb.Helper()
	defs, err := semantic.SplitDefinitions(demo.FS)
	if err != nil {
		tb.Fatal(err)
	}
	domains := []string{"sales", "finance", "operations"}
	for i := range n {
		name := fmt.Sprintf("generated_%05d", i)
		var body string
		switch i % 3 {
		case 0:
			body = "measure: orders.amount_total\n"
		case 1:
			body = "base: gmv_placed\nfilters:\n  - {dimension: orders.channel, operator: in, values: [app, web]}\n"
		default:
			body = "expr: gmv_paid / paid_order_count\n"
		}
		defs = append(defs, semantic.Definition{Kind: store.KindMetric, Name: name, YAML: fmt.Sprintf(
			"name: %s\nlabel: Generated metric %d\ndescription: One of many.\nowner: team-%d\ndomain: %s\ntags: [generated]\n%s",
			name, i, i%50, domains[i%3], body)})
	}
	return defs
}

// benchGovernance opens a governance over a new store at path ("" in memory) seeded with defs,
// and the demo's policy.
func benchGovernance(b *testing.B, path string, defs []semantic.Definition) (*semantic.Governance, *semantic.Service) {
	b.Helper()
	ctx := context.Background()
	mem := memory.NewGoAllocator()
	ds, err := demodata.Generate(ctx, mem, 0.001)
	if err != nil {
		b.Fatal(err)
	}
	src := engine.NewSources(mem)
	b.Cleanup(src.Close)
	src.SetDemo(ds)
	st, err := store.OpenSQLite(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	gov, err := semantic.OpenGovernance(ctx, st, defs, semantic.GovernanceOptions{Resolver: semantic.SourcesResolver(src), Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(gov.Close)
	a, err := demo.NewAuthorizerFor(ctx, gov.Catalog, quiet)
	if err != nil {
		b.Fatal(err)
	}
	return gov, semantic.NewService(gov.Catalog(), engine.New(src, engine.Options{Allocator: mem}), semantic.ServiceOptions{Authorizer: a, Governance: gov})
}

// BenchmarkPublish times the approval that publishes a change request — the review, the
// publication in its transaction, and serving the new definitions — on SQLite in memory and in
// a file, with the demo's 20 metrics and with 10,000 more.
//
//	go test ./semantic/ -run '^$' -bench BenchmarkPublish -benchtime 20x
func BenchmarkPublish(b *testing.B) {
	for _, size := range []int{0, 10_000} {
		for _, where := range []string{"memory", "file"} {
			b.Run(fmt.Sprintf("metrics=%d/%s", size+20, where), func(b *testing.B) {
				path := ""
				if where == "file" {
					path = filepath.Join(b.TempDir(), "koujing.db")
				}
				gov, svc := benchGovernance(b, path, manyMetrics(b, size))
				ctx := context.Background()
				ann, err := svc.Access(&authz.Principal{Subject: "ann", Tenant: "demo", Roles: []string{"analyst"}})
				if err != nil {
					b.Fatal(err)
				}
				sam, err := svc.Access(&authz.Principal{Subject: "sam", Tenant: "demo", Roles: []string{"sales_steward"}})
				if err != nil {
					b.Fatal(err)
				}
				base, _ := gov.Catalog().VersionOf(store.KindMetric, "aov")
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					b.StopTimer()
					def := strings.Replace(base.Definition, "label: Average order value", fmt.Sprintf("label: Average order value %d", i), 1)
					cr, err := gov.Propose(ctx, ann, semantic.Proposal{Title: "relabel", Items: []semantic.ProposedItem{
						{Action: store.Update, Kind: store.KindMetric, Name: "aov", YAML: def}}})
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					cr, err = gov.Review(ctx, sam, cr.ID, cr.Revision, store.Approve, "")
					if err != nil || cr.Status != store.CRPublished {
						b.Fatalf("%+v %v", cr, err)
					}
				}
				if v := gov.Catalog().Metric("aov").Version; v < 2 {
					b.Fatalf("aov is at version %d", v)
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/publish")
			})
		}
	}
}

// BenchmarkLoadManyDefinitions times loading a catalog of the demo's definitions and 10,000 more
// metrics from their YAML, as a governance does on every reload.
//
//	go test ./semantic/ -run '^$' -bench BenchmarkLoadManyDefinitions
func BenchmarkLoadManyDefinitions(b *testing.B) {
	defs := manyMetrics(b, 10_000)
	src := engine.NewSources(memory.NewGoAllocator())
	defer src.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := semantic.LoadDefinitions(ctx, defs, semantic.SourcesResolver(src), ""); err != nil {
			b.Fatal(err)
		}
	}
}
