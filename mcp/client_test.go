package mcp

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/semantic"
)

// TestClientInLineage: the name and version an MCP client gives is the client its queries are
// audited as, and lineage shows it as a consumer of the metric, owned by the caller.
func TestClientInLineage(t *testing.T) {
	ctx := context.Background()
	demoStore := governedDemo(t)
	svc, gov := demoStore.Service, demoStore.Governance
	srv := httptest.NewServer(NewServer(svc, Options{Logger: quietLogger()}).Handler(authenticator(t, true)))
	t.Cleanup(srv.Close)

	cs := connect(t, srv, "") // the SDK's client, which names itself koujing-test 1
	var out QueryOutput
	callOK(t, cs, "query_metrics", map[string]any{"metrics": []string{"aov"}}, &out)
	gov.Close() // flushes the audit of queries

	admin, err := svc.Access(&authz.Principal{Subject: "ada", Tenant: "demo", Roles: []string{"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := svc.Lineage().Graph(ctx, admin, semantic.LineageQuery{Kind: semantic.LineageMetric, Key: "aov", Direction: semantic.Downstream, Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	var consumers []string
	for _, n := range g.Nodes {
		if n.Kind == semantic.LineageConsumer {
			consumers = append(consumers, n.Name+" run by "+n.Consumer.Actor)
		}
	}
	if want := []string{"koujing-test 1 run by demo@demo"}; !slices.Equal(consumers, want) {
		t.Errorf("consumers of aov %q, want %q", consumers, want)
	}
}
