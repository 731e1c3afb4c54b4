package semantic_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/golden"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
	"github.com/koujing/koujing/semantic/store"
)

// lineageService returns a service over the demo definitions and policy whose lineage continues
// into the dbt manifest dbt returns (nil for none).
func lineageService(t *testing.T, dbt func() *semantic.DBTManifest) *semantic.Service {
	t.Helper()
	cat := demoCatalog(t)
	a, err := demo.NewAuthorizer(context.Background(), cat, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return semantic.NewService(cat, engine.New(engine.NewSources(nil), engine.Options{}),
		semantic.ServiceOptions{Authorizer: a, DBTManifest: dbt})
}

// lineageText prints a graph one node and one edge a line, in the graph's order, for golden
// files a person can check against the definitions.
func lineageText(g *semantic.LineageGraph) string {
	var b strings.Builder
	fmt.Fprintf(&b, "root %s %s\n", g.Root.Kind, g.Root.Key)
	for _, n := range g.Nodes {
		fmt.Fprintf(&b, "node %-12s %s", n.Kind, n.Key)
		if len(n.Owners) > 0 {
			fmt.Fprintf(&b, "  owners=%s", strings.Join(n.Owners, ","))
		}
		b.WriteString("\n")
	}
	for _, e := range g.Edges {
		fmt.Fprintf(&b, "edge %s -%s-> %s", e.From.Key, e.Kind, e.To.Key)
		if e.Detail != "" {
			fmt.Fprintf(&b, "  (%s)", e.Detail)
		}
		b.WriteString("\n")
	}
	if g.Truncated {
		b.WriteString("truncated\n")
	}
	return b.String()
}

func metricLineage(t *testing.T, svc *semantic.Service, acc *semantic.Access, metric string, dir semantic.LineageDirection, depth int) *semantic.LineageGraph {
	t.Helper()
	g, err := svc.Lineage().Graph(context.Background(), acc, semantic.LineageQuery{Kind: semantic.LineageMetric, Key: metric, Direction: dir, Depth: depth})
	if err != nil {
		t.Fatalf("lineage of %s: %v", metric, err)
	}
	return g
}

// TestLineageDemoMetrics compares the lineage of demo metrics with golden files: the exact nodes
// and edges, from the table's columns through the model, its measures and dimensions, to the
// atomic, derived and composite metrics — orders_per_buyer is a composite of composites over
// derived metrics over atomic ones — and downstream from a measure to every metric on it.
func TestLineageDemoMetrics(t *testing.T) {
	svc := lineageService(t, nil)
	acc := accessAs(t, svc, "analyst", nil)
	tests := []struct {
		metric string
		dir    semantic.LineageDirection
		depth  int
	}{
		{"gmv_paid", semantic.Upstream, 0},
		{"aov", semantic.Upstream, 0},
		{"orders_per_buyer", semantic.Upstream, 0},
		{"customer_count", semantic.Upstream, 0},
		{"stock_on_hand", semantic.Upstream, 0},
		{"refund_rate", semantic.Upstream, 0},
		{"gmv_placed", semantic.Downstream, 0},
		{"aov", semantic.BothDirections, 2},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s.%s", tt.metric, tt.dir)
		if tt.depth > 0 {
			name += fmt.Sprintf(".depth%d", tt.depth)
		}
		t.Run(name, func(t *testing.T) {
			g := metricLineage(t, svc, acc, tt.metric, tt.dir, tt.depth)
			golden.Compare(t, filepath.Join("testdata", "lineage", name+".txt"), lineageText(g))
		})
	}

	// The composite three levels deep reaches the column through every level of metric.
	g := metricLineage(t, svc, acc, "orders_per_buyer", semantic.Upstream, 0)
	path := []string{"orders_per_buyer", "aov", "gmv_paid", "gmv_placed", "orders.amount_total", "demo:orders.amount", "demo:orders"}
	for i := 1; i < len(path); i++ {
		if !hasEdge(g, path[i], path[i-1]) {
			t.Errorf("orders_per_buyer's lineage has no edge %s → %s", path[i], path[i-1])
		}
	}
}

func hasEdge(g *semantic.LineageGraph, from, to string) bool {
	return slices.ContainsFunc(g.Edges, func(e *semantic.LineageEdge) bool { return e.From.Key == from && e.To.Key == to })
}

func hasNode(g *semantic.LineageGraph, key string) bool {
	return slices.ContainsFunc(g.Nodes, func(n *semantic.LineageNode) bool { return n.Key == key })
}

// testManifest is a dbt manifest (v12) of a project that loads raw orders, stages them and builds
// the table the demo's orders model reads (public.orders), with owners given each way dbt gives
// them: meta, config.meta and a group.
const testManifest = `{
  "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json", "project_name": "shop", "generated_at": "2026-11-29T02:00:00Z"},
  "nodes": {
    "model.shop.stg_orders": {"unique_id": "model.shop.stg_orders", "resource_type": "model", "name": "stg_orders", "package_name": "shop",
      "database": "warehouse", "schema": "staging", "alias": "stg_orders", "description": "Orders cleaned of test accounts.",
      "config": {"materialized": "view", "meta": {"owner": "data-eng@shop.example"}},
      "original_file_path": "models/staging/stg_orders.sql", "depends_on": {"nodes": ["source.shop.raw.orders", "macro.shop.cents"]}},
    "model.shop.orders": {"unique_id": "model.shop.orders", "resource_type": "model", "name": "orders", "package_name": "shop",
      "database": "warehouse", "schema": "public", "alias": "orders", "description": "One row per order.", "group": "finance",
      "config": {"materialized": "table"},
      "columns": {"amount": {"name": "amount", "data_type": "numeric(12,2)", "description": "Order amount in CNY, coupons included."}},
      "depends_on": {"nodes": ["model.shop.stg_orders"]}},
    "test.shop.not_null_orders_amount": {"unique_id": "test.shop.not_null_orders_amount", "resource_type": "test", "name": "not_null_orders_amount",
      "schema": "public", "depends_on": {"nodes": ["model.shop.orders"]}}
  },
  "sources": {
    "source.shop.raw.orders": {"unique_id": "source.shop.raw.orders", "resource_type": "source", "name": "orders", "source_name": "raw",
      "database": "warehouse", "schema": "raw", "identifier": "shop_orders", "source_meta": {"owner": ["ingest-team"]}}
  },
  "groups": {"group.shop.finance": {"name": "finance", "owner": {"name": "finance-data", "email": "fd@shop.example"}}}
}`

// TestLineageDBTManifest reads a manifest from a file written here: gmv_paid's lineage goes on
// upstream of the orders table into the dbt model that builds it and the jobs before that, each
// with its owner; the table is owned by its builder's owner and the column described by dbt.
func TestLineageDBTManifest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "manifest.json")
	if err := os.WriteFile(path, []byte(testManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := semantic.OpenDBTManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	m := f.Manifest()
	if m.Version != 12 || m.Project != "shop" || len(m.Nodes) != 3 {
		t.Fatalf("manifest v%d of %q with %d nodes, want v12 of shop with 3 (tests left out)", m.Version, m.Project, len(m.Nodes))
	}
	svc := lineageService(t, f.Manifest)
	g := metricLineage(t, svc, accessAs(t, svc, "analyst", nil), "gmv_paid", semantic.Upstream, 0)
	golden.Compare(t, filepath.Join("testdata", "lineage", "gmv_paid.upstream.dbt.txt"), lineageText(g))

	owners := map[string]string{}
	for _, n := range g.Nodes {
		owners[n.Key] = strings.Join(n.Owners, ",")
		if n.Key == "demo:orders.amount" && n.Description != "Order amount in CNY, coupons included." {
			t.Errorf("orders.amount is described %q, want dbt's description", n.Description)
		}
	}
	for key, want := range map[string]string{"source.shop.raw.orders": "ingest-team", "model.shop.stg_orders": "data-eng@shop.example",
		"model.shop.orders": "finance-data", "demo:orders": "finance-data"} {
		if owners[key] != want {
			t.Errorf("%s is owned by %q, want %q", key, owners[key], want)
		}
	}
	for _, e := range [][2]string{{"source.shop.raw.orders", "model.shop.stg_orders"}, {"model.shop.stg_orders", "model.shop.orders"}, {"model.shop.orders", "demo:orders"}} {
		if !hasEdge(g, e[0], e[1]) {
			t.Errorf("no edge %s → %s", e[0], e[1])
		}
	}

	// Downstream of the raw source reaches the metrics through the table.
	d, err := svc.Lineage().Graph(context.Background(), accessAs(t, svc, "analyst", nil),
		semantic.LineageQuery{Kind: semantic.LineageDBTNode, Key: "source.shop.raw.orders", Direction: semantic.Downstream})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"model.shop.orders", "demo:orders", "orders", "gmv_paid", "orders_per_buyer"} {
		if !hasNode(d, key) {
			t.Errorf("downstream of the raw source lacks %s", key)
		}
	}
}

// TestDBTManifestRefused reads manifests that are not ones Koujing reads, and wants an error that
// says what is wrong with each.
func TestDBTManifestRefused(t *testing.T) {
	const v12 = `"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"}`
	tests := []struct {
		name, doc, want string
	}{
		{"empty", ``, "the file is empty"},
		{"cut short", `{` + v12 + `, "nodes": {`, "the JSON ends early"},
		{"not JSON", "{\n  \"metadata\": nope\n}", "invalid JSON at line 2, column 17"},
		{"no version", `{"nodes": {}}`, "no metadata.dbt_schema_version"},
		{"other schema", `{"metadata": {"dbt_schema_version": "https://example.com/v1.json"}}`, "not https://schemas.getdbt.com/dbt/manifest/vN.json"},
		{"too old", `{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v3.json"}}`, "v3 is not one Koujing reads"},
		{"wrong type", `{` + v12 + `, "nodes": []}`, "nodes at line 1, column"},
		{"node without schema", `{` + v12 + `, "nodes": {"model.p.a": {"resource_type": "model", "name": "a"}}}`, `nodes["model.p.a"]: it has no schema`},
		{"unique_id differs", `{` + v12 + `, "nodes": {"model.p.a": {"unique_id": "model.p.b", "resource_type": "model", "name": "a", "schema": "s"}}}`, `its unique_id is "model.p.b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := semantic.ParseDBTManifest([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
	path := filepath.Join(t.TempDir(), "manifest.json")
	if err := os.WriteFile(path, []byte(`{"nodes": {}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := semantic.OpenDBTManifest(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("opening a bad manifest: %v, want an error naming the file", err)
	}
	if _, err := semantic.OpenDBTManifest(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("opening a missing manifest: %v, want not exist", err)
	}
}

// TestLineageImpact asks what breaks if orders.amount is dropped or changes type: every
// definition on it, through every level of metrics built on metrics, with owners and reasons.
func TestLineageImpact(t *testing.T) {
	svc := lineageService(t, nil)
	acc := accessAs(t, svc, "analyst", nil)
	imp, err := svc.Lineage().Impact(context.Background(), acc, semantic.ImpactQuery{Column: "orders.amount", Change: semantic.ColumnDropped})
	if err != nil {
		t.Fatal(err)
	}
	if imp.Column.Key != "demo:orders.amount" {
		t.Errorf("impact of column %s", imp.Column.Key)
	}
	got := map[string]*semantic.ImpactItem{}
	var names []string
	for _, it := range imp.Definitions {
		got[it.Node.Key] = it
		names = append(names, it.Node.Key)
	}
	slices.Sort(names)
	// Net amounts are amounts less coupons, so the net GMVs are affected too.
	want := []string{"aov", "aov_7d", "coupon_rate", "gmv_net", "gmv_net_placed", "gmv_paid", "gmv_paid_7d", "gmv_paid_fytd",
		"gmv_paid_last_year", "gmv_paid_mtd", "gmv_paid_running", "gmv_paid_yoy", "gmv_paid_ytd", "gmv_placed", "net_take_rate",
		"order_amount_median", "order_amount_median_30d", "order_amount_p90_placed", "orders.amount_median", "orders.amount_p90",
		"orders.amount_total", "orders.net_amount_total", "orders_per_buyer", "paid_order_amount_p90", "revenue_per_buyer"}
	if !slices.Equal(names, want) {
		t.Errorf("affected by dropping orders.amount:\n got %v\nwant %v", names, want)
	}
	for key, want := range map[string]struct {
		owner, reason string
		depth         int
	}{
		"orders.amount_total": {"finance-bi", "it aggregates sum(amount), which reads orders.amount; it no longer loads", 1},
		"gmv_placed":          {"sales-analytics", "it aggregates orders.amount_total", 2},
		"gmv_paid":            {"finance-bi", "it is built on gmv_placed", 3},
		"aov":                 {"sales-analytics", "it is computed from gmv_paid (gmv_paid / paid_order_count)", 4},
		"orders_per_buyer":    {"sales-analytics", "it is computed from", 5},
		"coupon_rate":         {"finance-bi", "it is computed from gmv_paid", 4},
	} {
		it := got[key]
		if it == nil {
			continue
		}
		if !slices.Contains(it.Owners, want.owner) || !strings.Contains(it.Reason, want.reason) || it.Depth != want.depth {
			t.Errorf("%s: owners %v, depth %d, reason %q; want owner %s, depth %d, reason with %q", key, it.Owners, it.Depth, it.Reason, want.owner, want.depth, want.reason)
		}
	}

	// A count of rows does not read the status column's type, but the filters on it do.
	typed, err := svc.Lineage().Impact(context.Background(), acc, semantic.ImpactQuery{Column: "orders.status", Change: semantic.ColumnTypeChanged})
	if err != nil {
		t.Fatal(err)
	}
	if len(typed.Definitions) == 0 || typed.Definitions[0].Node.Key != "orders.status" || !strings.Contains(typed.Definitions[0].Reason, "its values change type") {
		t.Errorf("changing the type of orders.status: first affected %+v", typed.Definitions)
	}

	for _, bad := range []struct {
		q     semantic.ImpactQuery
		class error
		words string
	}{
		{semantic.ImpactQuery{Column: "orders.amount", Change: "renamed"}, semantic.ErrInvalidQuery, `"renamed" is not a column change`},
		{semantic.ImpactQuery{Column: "orders.amont", Change: semantic.ColumnDropped}, semantic.ErrNotFound, `unknown column "orders.amont"`},
	} {
		_, err := svc.Lineage().Impact(context.Background(), acc, bad.q)
		wantClass(t, err, bad.class, bad.words)
	}
}

// TestLineagePermissions: a viewer, who may not see finance's metrics nor customers.name (pii),
// never finds them in lineage — graph, impact, SVG, DOT or OpenLineage — and asking for one
// fails exactly as asking for one that does not exist.
func TestLineagePermissions(t *testing.T) {
	svc := lineageService(t, nil)
	ctx := context.Background()
	viewer, analyst := accessAs(t, svc, "viewer", nil), accessAs(t, svc, "analyst", nil)
	hidden := []string{"customers.name", "demo:customers.name", "coupon_rate", "net_take_rate"}

	table := semantic.LineageQuery{Kind: semantic.LineageSourceTable, Key: "demo:customers", Direction: semantic.Downstream}
	if g, err := svc.Lineage().Graph(ctx, analyst, table); err != nil || !hasNode(g, "demo:customers.name") || !hasNode(g, "customers.name") {
		t.Fatalf("the analyst's lineage of customers lacks customers.name (err %v)", err)
	}
	gmvPaid := semantic.LineageQuery{Kind: semantic.LineageMetric, Key: "gmv_paid", Direction: semantic.Downstream}
	if g, err := svc.Lineage().Graph(ctx, analyst, gmvPaid); err != nil || !hasNode(g, "coupon_rate") || !hasNode(g, "net_take_rate") {
		t.Fatalf("the analyst's downstream of gmv_paid lacks finance's rates (err %v)", err)
	}
	for _, q := range []semantic.LineageQuery{table, gmvPaid, {Kind: semantic.LineageMetric, Key: "aov", Direction: semantic.BothDirections}} {
		g, err := svc.Lineage().Graph(ctx, viewer, q)
		if err != nil {
			t.Fatal(err)
		}
		outputs := map[string]string{"graph": lineageText(g), "svg": string(g.SVG()), "dot": string(g.DOT())}
		ol, err := json.Marshal(g.OpenLineage(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)))
		if err != nil {
			t.Fatal(err)
		}
		outputs["openlineage"] = string(ol)
		for what, out := range outputs {
			for _, h := range hidden {
				if regexp.MustCompile(`(^|[^a-z_.])` + regexp.QuoteMeta(h) + `($|[^a-z_])`).MatchString(out) {
					t.Errorf("the viewer's %s of %s %s shows %s", what, q.Kind, q.Key, h)
				}
			}
		}
	}

	// A hidden name fails as an unknown one does, the name aside.
	for _, q := range [][2]semantic.LineageQuery{
		{{Kind: semantic.LineageMetric, Key: "coupon_rate"}, {Kind: semantic.LineageMetric, Key: "coupon_rata"}},
		{{Kind: semantic.LineageMetric, Key: "coupon_rate@1"}, {Kind: semantic.LineageMetric, Key: "coupon_rata@1"}},
		{{Kind: semantic.LineageDimension, Key: "customers.name"}, {Kind: semantic.LineageDimension, Key: "customers.nane"}},
		{{Kind: semantic.LineageColumn, Key: "demo:customers.name"}, {Kind: semantic.LineageColumn, Key: "demo:customers.nane"}},
	} {
		_, hiddenErr := svc.Lineage().Graph(ctx, viewer, q[0])
		_, unknownErr := svc.Lineage().Graph(ctx, viewer, q[1])
		if hiddenErr == nil || unknownErr == nil {
			t.Fatalf("%s: errors %v and %v", q[0].Key, hiddenErr, unknownErr)
		}
		h := strings.ReplaceAll(hiddenErr.Error(), strings.TrimSuffix(q[0].Key, "@1"), "NAME")
		u := strings.ReplaceAll(unknownErr.Error(), strings.TrimSuffix(q[1].Key, "@1"), "NAME")
		if h != u || errors.Is(hiddenErr, semantic.ErrNotFound) != errors.Is(unknownErr, semantic.ErrNotFound) {
			t.Errorf("hidden %s: %v\nunknown %s: %v", q[0].Key, hiddenErr, q[1].Key, unknownErr)
		}
	}
	_, hiddenErr := svc.Lineage().Impact(ctx, viewer, semantic.ImpactQuery{Column: "customers.name", Change: semantic.ColumnDropped})
	_, unknownErr := svc.Lineage().Impact(ctx, viewer, semantic.ImpactQuery{Column: "customers.nane", Change: semantic.ColumnDropped})
	if strings.ReplaceAll(hiddenErr.Error(), "customers.name", "X") != strings.ReplaceAll(unknownErr.Error(), "customers.nane", "X") {
		t.Errorf("impact of hidden column: %v; of unknown one: %v", hiddenErr, unknownErr)
	}
	// Impact of a column the viewer sees lists no definition it may not see.
	imp, err := svc.Lineage().Impact(ctx, viewer, semantic.ImpactQuery{Column: "orders.amount", Change: semantic.ColumnDropped})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range imp.Definitions {
		if slices.Contains(hidden, it.Node.Key) {
			t.Errorf("the viewer's impact lists %s", it.Node.Key)
		}
	}
}

// TestLineageBadInput: unknown nodes and kinds, negative depths, and depths past the most, which
// are lowered with a warning.
func TestLineageBadInput(t *testing.T) {
	svc := lineageService(t, nil)
	acc := accessAs(t, svc, "analyst", nil)
	ctx := context.Background()
	for _, tt := range []struct {
		q     semantic.LineageQuery
		class error
		words string
	}{
		{semantic.LineageQuery{Kind: semantic.LineageMetric, Key: "gmv_payd"}, semantic.ErrNotFound, `unknown metric "gmv_payd". Did you mean "gmv_paid"?`},
		{semantic.LineageQuery{Kind: semantic.LineageSourceTable, Key: "demo:nothing"}, semantic.ErrNotFound, `unknown source table "demo:nothing"`},
		{semantic.LineageQuery{Kind: semantic.LineageDBTNode, Key: "model.shop.orders"}, semantic.ErrNotFound, `unknown dbt node "model.shop.orders"`},
		{semantic.LineageQuery{Kind: "table", Key: "orders"}, semantic.ErrInvalidQuery, `"table" is not a kind of lineage node`},
		{semantic.LineageQuery{Kind: semantic.LineageMetric, Key: "aov", Depth: -1}, semantic.ErrInvalidQuery, "depth -1 is negative"},
		{semantic.LineageQuery{Kind: semantic.LineageMetric, Key: "aov@2"}, semantic.ErrInvalidQuery, "keeps no versions"},
	} {
		_, err := svc.Lineage().Graph(ctx, acc, tt.q)
		wantClass(t, err, tt.class, tt.words)
	}
	g, err := svc.Lineage().Graph(ctx, acc, semantic.LineageQuery{Kind: semantic.LineageMetric, Key: "aov", Depth: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	if g.Depth != semantic.MaxLineageDepth || len(g.Warnings) != 1 || !strings.Contains(g.Warnings[0], "more than the most, "+strconv.Itoa(semantic.MaxLineageDepth)) {
		t.Errorf("depth %d, warnings %q", g.Depth, g.Warnings)
	}
	one := metricLineage(t, svc, acc, "aov", semantic.Upstream, 1)
	if !one.Truncated || len(one.Nodes) != 3 {
		t.Errorf("aov's upstream to depth 1:\n%s", lineageText(one))
	}
}

// TestLineageVersions: a proposed aov@2 (placed GMV over every order) has the lineage of its own
// definition, while aov's current lineage is that of version 1, and the pin can be given as
// LineageAsOf as well as in the name.
func TestLineageVersions(t *testing.T) {
	g := newGoverned(t)
	ctx := context.Background()
	ann := g.as(t, "ann", "analyst")
	if _, err := g.gov.Propose(ctx, ann, semantic.Proposal{Title: "AOV over all orders",
		Items: []semantic.ProposedItem{{Action: store.Update, Kind: store.KindMetric, Name: "aov", YAML: aovByOrders}}}); err != nil {
		t.Fatal(err)
	}
	parents := func(gr *semantic.LineageGraph, of string) []string {
		var out []string
		for _, e := range gr.Edges {
			if e.To.Key == of {
				out = append(out, e.From.Key)
			}
		}
		return out
	}
	cur := metricLineage(t, g.svc, ann, "aov", semantic.Upstream, 0)
	v2 := metricLineage(t, g.svc, ann, "aov@2", semantic.Upstream, 0)
	asOf, err := g.svc.Lineage().Graph(ctx, ann, semantic.LineageQuery{Kind: semantic.LineageMetric, Key: "aov", Direction: semantic.Upstream,
		AsOf: semantic.LineageAsOf{Versions: map[string]int{"aov": 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if p := parents(cur, "aov"); !slices.Equal(p, []string{"gmv_paid", "paid_order_count"}) || cur.Root.Version != 1 {
		t.Errorf("current aov (v%d) from %v", cur.Root.Version, p)
	}
	for _, gr := range []*semantic.LineageGraph{v2, asOf} {
		if p := parents(gr, "aov"); !slices.Equal(p, []string{"gmv_placed", "order_count"}) || gr.Root.Version != 2 || hasNode(gr, "gmv_paid") {
			t.Errorf("aov@2 (v%d) from %v", gr.Root.Version, p)
		}
	}
	_, err = g.svc.Lineage().Graph(ctx, ann, semantic.LineageQuery{Kind: semantic.LineageMetric, Key: "aov@9"})
	wantClass(t, err, semantic.ErrInvalidQuery, "metric aov has no version 9")
}

// TestLineageConsumers: who queried a metric, from the audit log, is downstream of it for those
// who may read that log (the tenant's admin) or review the metric (its stewards), and nobody else.
func TestLineageConsumers(t *testing.T) {
	g := newGoverned(t)
	ctx := context.Background()
	ann := g.as(t, "ann", "analyst")
	g.value(t, ann, "aov")
	g.value(t, ann, "aov")
	g.value(t, g.as(t, "bob", "analyst"), "gmv_placed")
	g.gov.Close() // flushes the audit of queries

	admin := g.as(t, "ada", "admin")
	down := metricLineage(t, g.svc, admin, "gmv_placed", semantic.Downstream, 0)
	var queried []string
	for _, e := range down.Edges {
		if e.Kind == semantic.LineageQueriedBy {
			queried = append(queried, fmt.Sprintf("%s→%s×%d", e.From.Key, e.To.Key, e.Usage.Queries))
		}
	}
	if !slices.Equal(queried, []string{"gmv_placed→bob@demo×1", "aov→ann@demo×2"}) && !slices.Equal(queried, []string{"aov→ann@demo×2", "gmv_placed→bob@demo×1"}) {
		t.Errorf("consumers downstream of gmv_placed: %v", queried)
	}
	if sam := metricLineage(t, g.svc, g.as(t, "sam", "sales_steward"), "aov", semantic.Downstream, 0); !hasNode(sam, "ann@demo") {
		t.Errorf("sales' steward does not see who queried aov:\n%s", lineageText(sam))
	}
	if vic := metricLineage(t, g.svc, g.as(t, "vic", "viewer"), "aov", semantic.Downstream, 0); hasNode(vic, "ann@demo") {
		t.Errorf("a viewer sees who queried aov")
	}
	imp, err := g.svc.Lineage().Impact(ctx, admin, semantic.ImpactQuery{Column: "orders.amount", Change: semantic.ColumnDropped})
	if err != nil {
		t.Fatal(err)
	}
	var consumers []string
	for _, c := range imp.Consumers {
		consumers = append(consumers, c.Node.Key+": "+c.Reason)
	}
	if len(consumers) != 2 || !strings.HasPrefix(consumers[0], "ann@demo: it queried aov (2 queries, last on 2026-11-30)") || !strings.HasPrefix(consumers[1], "bob@demo: it queried gmv_placed (1 query, last on 2026-11-30)") {
		t.Errorf("consumers affected by dropping orders.amount: %q", consumers)
	}
	// The consumer is a node too, upstream of which are the metrics it queried.
	c, err := g.svc.Lineage().Graph(ctx, admin, semantic.LineageQuery{Kind: semantic.LineageConsumer, Key: "ann@demo", Direction: semantic.Upstream, Depth: 1})
	if err != nil || !hasEdge(c, "aov", "ann@demo") {
		t.Errorf("upstream of ann: %v\n%v", err, c)
	}
}

// TestLineagePictures draws orders_per_buyer's lineage: the SVG is XML with every node's name and
// owners on it and no two boxes overlapping, sources left of metrics; the DOT names every node.
func TestLineagePictures(t *testing.T) {
	svc := lineageService(t, nil)
	g := metricLineage(t, svc, accessAs(t, svc, "analyst", nil), "orders_per_buyer", semantic.BothDirections, 0)
	svg := g.SVG()
	type rect struct {
		X, Y, W, H float64
	}
	var doc struct {
		Groups []struct {
			Title string `xml:"title"`
			Rect  struct {
				X float64 `xml:"x,attr"`
				Y float64 `xml:"y,attr"`
				W float64 `xml:"width,attr"`
				H float64 `xml:"height,attr"`
			} `xml:"rect"`
			Texts []string `xml:"text"`
		} `xml:"g"`
	}
	if err := xml.Unmarshal(svg, &doc); err != nil {
		t.Fatalf("the SVG is not XML: %v", err)
	}
	if len(doc.Groups) != len(g.Nodes) {
		t.Fatalf("%d boxes for %d nodes", len(doc.Groups), len(g.Nodes))
	}
	boxes := map[string]rect{}
	for _, gr := range doc.Groups {
		boxes[gr.Title] = rect{gr.Rect.X, gr.Rect.Y, gr.Rect.W, gr.Rect.H}
		text := strings.Join(gr.Texts, "\n")
		key := strings.SplitN(gr.Title, " ", 2)[1]
		if !strings.Contains(text, strings.TrimPrefix(key, "demo:")) {
			t.Errorf("box %q shows %q", gr.Title, text)
		}
		if strings.HasPrefix(gr.Title, "metric ") && !strings.Contains(text, "owner: ") {
			t.Errorf("metric box %q shows no owner: %q", gr.Title, text)
		}
	}
	for a, ra := range boxes {
		for b, rb := range boxes {
			if a < b && ra.X < rb.X+rb.W && rb.X < ra.X+ra.W && ra.Y < rb.Y+rb.H && rb.Y < ra.Y+ra.H {
				t.Errorf("boxes %s %v and %s %v overlap", a, ra, b, rb)
			}
		}
	}
	if !(boxes["source_table demo:orders"].X < boxes["data_model orders"].X && boxes["data_model orders"].X < boxes["metric gmv_placed"].X &&
		boxes["metric gmv_placed"].X < boxes["metric gmv_paid"].X && boxes["metric gmv_paid"].X < boxes["metric aov"].X &&
		boxes["metric aov"].X < boxes["metric orders_per_buyer"].X) {
		t.Errorf("not upstream left of downstream: %v", boxes)
	}
	dot := string(g.DOT())
	if !strings.HasPrefix(dot, "digraph lineage {") || !strings.Contains(dot, "rankdir=LR") || !strings.Contains(dot, `owner: sales-analytics`) {
		t.Errorf("DOT:\n%s", dot)
	}
	for _, n := range g.Nodes {
		if !strings.Contains(dot, strconv.Quote(string(n.Kind)+" "+n.Key)) {
			t.Errorf("the DOT lacks %s %s", n.Kind, n.Key)
		}
	}
}

// TestLineageOpenLineage exports gmv_paid's lineage with the dbt jobs before it as OpenLineage
// JobEvents: one per dbt model, data model and metric, each naming its inputs and outputs, the
// metric's column lineage reaching the measure and the filter's dimension.
func TestLineageOpenLineage(t *testing.T) {
	m, err := semantic.ParseDBTManifest([]byte(testManifest))
	if err != nil {
		t.Fatal(err)
	}
	svc := lineageService(t, func() *semantic.DBTManifest { return m })
	g := metricLineage(t, svc, accessAs(t, svc, "analyst", nil), "gmv_paid", semantic.Upstream, 0)
	events := g.OpenLineage(m.GeneratedAt)
	var jobs []string
	for _, e := range events {
		var in, out []string
		for _, d := range e.Inputs {
			in = append(in, d.Namespace+"/"+d.Name)
		}
		for _, d := range e.Outputs {
			out = append(out, d.Namespace+"/"+d.Name)
		}
		jobs = append(jobs, fmt.Sprintf("%s/%s %v -> %v", e.Job.Namespace, e.Job.Name, in, out))
		if e.EventTime != "2026-11-29T02:00:00Z" || e.SchemaURL == "" || e.Producer == "" {
			t.Errorf("event %+v", e)
		}
	}
	want := []string{
		"dbt/model.shop.orders [koujing://demo/warehouse.staging.stg_orders] -> [koujing://demo/orders]",
		"dbt/model.shop.stg_orders [koujing://demo/warehouse.raw.shop_orders] -> [koujing://demo/warehouse.staging.stg_orders]",
		"koujing/model:orders [koujing://demo/orders] -> [koujing/models.orders]",
		"koujing/metric:gmv_paid [koujing/models.orders koujing/metrics.gmv_placed] -> [koujing/metrics.gmv_paid]",
		"koujing/metric:gmv_placed [koujing/models.orders] -> [koujing/metrics.gmv_placed]",
	}
	if !slices.Equal(jobs, want) {
		t.Errorf("jobs:\n%s\nwant\n%s", strings.Join(jobs, "\n"), strings.Join(want, "\n"))
	}
	raw, err := json.Marshal(events)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"columnLineage"`, `"field":"amount_total"`, `"subtype":"FILTER"`, `"field":"status"`, `"ownership"`, `"name":"finance-bi"`} {
		if !strings.Contains(string(raw), s) {
			t.Errorf("the export lacks %s", s)
		}
	}
}
