package resolvers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
	"github.com/koujing/koujing/semantic/store"
)

// BenchmarkListManyMetricsWithVersions lists a catalog of 10,000 metrics (and the demo's 20) a
// page of 100 at a time over GraphQL, each with its owner and current version, through the
// handler as a request runs (authentication, dataloaders, encoding), on the embedded store.
//
//	go test ./resolvers/ -run '^$' -bench BenchmarkListManyMetricsWithVersions
func BenchmarkListManyMetricsWithVersions(b *testing.B) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	defs, err := semantic.SplitDefinitions(demo.FS)
	if err != nil {
		b.Fatal(err)
	}
	const n = 10_000
	for i := range n {
		name := fmt.Sprintf("generated_%05d", i)
		defs = append(defs, semantic.Definition{Kind: store.KindMetric, Name: name, YAML: fmt.Sprintf(
			"name: %s\nlabel: Generated metric %d\nowner: team-%d\ndomain: sales\ntags: [generated]\nmeasure: orders.amount_total\n", name, i, i%50)})
	}
	gov, err := semantic.OpenGovernance(ctx, st, defs, semantic.GovernanceOptions{Resolver: semantic.SourcesResolver(fixture.src), Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer gov.Close()
	a, err := demo.NewAuthorizerFor(ctx, gov.Catalog, quietLogger())
	if err != nil {
		b.Fatal(err)
	}
	svc := semantic.NewService(gov.Catalog(), fixture.eng, semantic.ServiceOptions{Authorizer: a, Governance: gov})
	h := NewHandler(svc, HandlerOptions{Authenticator: demoAuthenticator(b, svc), Logger: quietLogger()})
	const query = `query($after: String) { metrics(first: 100, after: $after) {
  edges { node { name owner currentVersion { number author publishedAt } } } pageInfo { endCursor hasNextPage } } }`
	page := func(after *string) (string, bool) {
		body, _ := json.Marshal(map[string]any{"query": query, "variables": map[string]any{"after": after}})
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var res struct {
			Data struct {
				Metrics struct {
					Edges []struct {
						Node struct {
							Owner          string
							CurrentVersion struct{ Number int }
						}
					}
					PageInfo struct {
						EndCursor   string
						HasNextPage bool
					}
				}
			}
			Errors []any
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || len(res.Errors) > 0 || len(res.Data.Metrics.Edges) != 100 ||
			res.Data.Metrics.Edges[99].Node.CurrentVersion.Number != 1 || res.Data.Metrics.Edges[99].Node.Owner == "" {
			b.Fatalf("%v %s", err, rec.Body.String()[:min(rec.Body.Len(), 500)])
		}
		return res.Data.Metrics.PageInfo.EndCursor, res.Data.Metrics.PageInfo.HasNextPage
	}
	// Every page of the list, over and over.
	var cursors []*string
	var after *string
	for {
		cursors = append(cursors, after)
		end, more := page(after)
		if !more || len(cursors) == n/100 {
			break
		}
		after = &end
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		page(cursors[i%len(cursors)])
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
}
