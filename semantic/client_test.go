package semantic_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/store"
)

// TestCleanClient: a client's name is display text, kept on one line, free of control and
// direction-changing characters, and bounded.
func TestCleanClient(t *testing.T) {
	long := strings.Repeat("ab ", 100)
	for _, tt := range []struct {
		name, in, want string
	}{
		{"kept", "Metabase v0.50.3", "Metabase v0.50.3"},
		{"CJK kept", "帆软 FineBI 6.0", "帆软 FineBI 6.0"},
		{"line breaks and tabs become spaces", "  superset:chart:\r\n\tSales by region \n", "superset:chart: Sales by region"},
		{"control characters dropped", "dash\x00board\x1b[31m/12\x7f", "dashboard[31m/12"},
		{"bidi overrides dropped", "invoice\u202Egpj.exe", "invoicegpj.exe"},
		{"invalid UTF-8 dropped", "bad\xff\xfename", "badname"},
		{"only spaces", " \t\n ", ""},
		{"long cut, not ending on a space", long, strings.TrimSuffix(long[:semantic.MaxClientChars], " ")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := semantic.CleanClient(tt.in)
			if got != tt.want {
				t.Errorf("CleanClient(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if n := utf8.RuneCountInString(got); n > semantic.MaxClientChars {
				t.Errorf("%d characters", n)
			}
			if again := semantic.CleanClient(got); again != got {
				t.Errorf("cleaning again changes %q to %q", got, again)
			}
		})
	}
	long = strings.Repeat("仪", 500)
	if got := semantic.ClientOf(semantic.WithClient(context.Background(), long)); utf8.RuneCountInString(got) != semantic.MaxClientChars {
		t.Errorf("a 500-character name is kept as %d characters", utf8.RuneCountInString(got))
	}
	if semantic.WithClient(context.Background(), "\x00 ") != context.Background() {
		t.Errorf("a name with nothing to show is carried")
	}
}

// TestLineageClients: queries asked through clients are consumers per client and principal,
// owned by the principal, beside the principal's own queries; impact analysis lists them with
// that owner; only who may read the audit log or review the metric sees them; and the client is
// not part of the question: the same query from two clients is answered once from the cache.
func TestLineageClients(t *testing.T) {
	g := newGovernedCaching(t, engine.CacheOptions{MaxBytes: 16 << 20})
	ctx := context.Background()
	ann, bob := g.as(t, "ann", "analyst"), g.as(t, "bob", "analyst")
	ask := func(client string, acc *semantic.Access, metric string) *semantic.Result {
		t.Helper()
		res, err := g.svc.Query(semantic.WithClient(ctx, client), acc, semantic.MetricQuery{Metrics: []string{metric}})
		if err != nil {
			t.Fatal(err)
		}
		res.Release()
		return res
	}
	const dashboard = "metabase/dashboard/12 · query SalesWeekly"
	if ask(dashboard, ann, "aov").Cached {
		t.Errorf("the first query is answered from the cache")
	}
	if !ask("psql", ann, "aov").Cached {
		t.Errorf("the same query from another client is not answered from the cache")
	}
	ask(dashboard, ann, "aov")
	ask(dashboard, bob, "aov")
	ask("", ann, "aov")
	ask("Metabase\x00 v0.50\n", bob, "gmv_placed")
	g.gov.Close() // flushes the audit of queries

	// The audit log records each query's client, cleaned.
	events, err := g.store.Events(ctx, store.EventQuery{Tenant: "demo", Types: []string{"query"}})
	if err != nil {
		t.Fatal(err)
	}
	var clients []string
	for _, e := range events {
		var d struct {
			Client *string `json:"client"`
		}
		if err := json.Unmarshal([]byte(e.Detail), &d); err != nil {
			t.Fatal(err)
		}
		if d.Client == nil {
			clients = append(clients, "-")
		} else {
			clients = append(clients, *d.Client)
		}
	}
	if want := []string{dashboard, "psql", dashboard, dashboard, "-", "Metabase v0.50"}; !slices.Equal(clients, want) {
		t.Errorf("clients in the audit log %q, want %q", clients, want)
	}

	admin := g.as(t, "ada", "admin")
	down := metricLineage(t, g.svc, admin, "aov", semantic.Downstream, 1)
	var consumers []string
	for _, e := range down.Edges {
		if e.Kind == semantic.LineageQueriedBy {
			consumers = append(consumers, e.To.Key+" "+e.To.Name+" "+strings.Join(e.To.Owners, ",")+" ×"+strings.Repeat("I", int(e.Usage.Queries)))
		}
	}
	want := []string{
		"ann@demo ann@demo  ×I",
		dashboard + " (ann@demo) " + dashboard + " ann@demo ×II",
		dashboard + " (bob@demo) " + dashboard + " bob@demo ×I",
		"psql (ann@demo) psql ann@demo ×I",
	}
	if !slices.Equal(consumers, want) {
		t.Errorf("consumers of aov:\n%s\nwant\n%s", strings.Join(consumers, "\n"), strings.Join(want, "\n"))
	}
	if svg := string(down.SVG()); !strings.Contains(svg, ">CLIENT<") || !strings.Contains(svg, "metabase/dashboard/12") {
		t.Errorf("the picture does not show the clients:\n%s", svg)
	}
	if sam := metricLineage(t, g.svc, g.as(t, "sam", "sales_steward"), "aov", semantic.Downstream, 1); !hasNode(sam, dashboard+" (bob@demo)") {
		t.Errorf("sales' steward does not see the dashboard that queried aov:\n%s", lineageText(sam))
	}
	vic := g.as(t, "vic", "viewer")
	if got := metricLineage(t, g.svc, vic, "aov", semantic.Downstream, 1); hasNode(got, dashboard+" (ann@demo)") {
		t.Errorf("a viewer sees the dashboard that queried aov")
	}
	if _, err := g.svc.Lineage().Graph(ctx, vic, semantic.LineageQuery{Kind: semantic.LineageConsumer, Key: "psql (ann@demo)"}); err == nil {
		t.Errorf("a viewer finds a client's node")
	}

	// A client is a node of its own, upstream of which are the metrics it queried.
	c, err := g.svc.Lineage().Graph(ctx, admin, semantic.LineageQuery{Kind: semantic.LineageConsumer, Key: "Metabase v0.50 (bob@demo)", Direction: semantic.Upstream, Depth: 1})
	if err != nil || !hasEdge(c, "gmv_placed", "Metabase v0.50 (bob@demo)") || c.Root.Consumer.Client != "Metabase v0.50" || c.Root.Consumer.Actor != "bob@demo" {
		t.Errorf("upstream of bob's Metabase: %v\n%v", err, c)
	}

	// What breaks if orders.amount is dropped: the clients, each with who ran it to ask.
	imp, err := g.svc.Lineage().Impact(ctx, admin, semantic.ImpactQuery{Column: "orders.amount", Change: semantic.ColumnDropped})
	if err != nil {
		t.Fatal(err)
	}
	var affected []string
	for _, it := range imp.Consumers {
		affected = append(affected, it.Node.Name+" owned by "+strings.Join(it.Owners, ",")+": "+it.Reason)
	}
	for _, w := range []string{
		"Metabase v0.50 owned by bob@demo: it queried gmv_placed (1 query",
		dashboard + " owned by ann@demo: it queried aov (2 queries",
		dashboard + " owned by bob@demo: it queried aov (1 query",
		"psql owned by ann@demo: it queried aov (1 query",
		"ann@demo owned by : it queried aov (1 query",
	} {
		if !slices.ContainsFunc(affected, func(a string) bool { return strings.HasPrefix(a, w) }) {
			t.Errorf("impact of dropping orders.amount lacks %q:\n%s", w, strings.Join(affected, "\n"))
		}
	}
}
