package resolvers

import (
	"encoding/xml"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

const lineageQuery = `query($node: String!, $direction: LineageDirection, $depth: Int) {
  lineage(node: $node, direction: $direction, depth: $depth) {
    root { id }
    depth truncated
    nodes { id kind key owners version columnType metric { name } dataModel { name } }
    edges { from { id } to { id } kind detail }
  }
}`

type lineageData struct {
	Lineage struct {
		Root      struct{ ID string }
		Depth     int
		Truncated bool
		Nodes     []struct {
			ID, Kind, Key string
			Owners        []string
			Version       *int
			ColumnType    *string
			Metric        *struct{ Name string }
			DataModel     *struct{ Name string }
		}
		Edges []struct {
			From, To struct{ ID string }
			Kind     string
			Detail   *string
		}
	}
}

func (d lineageData) ids() []string {
	var out []string
	for _, n := range d.Lineage.Nodes {
		out = append(out, n.ID)
	}
	return out
}

func (d lineageData) edges() []string {
	var out []string
	for _, e := range d.Lineage.Edges {
		out = append(out, e.From.ID+" -"+e.Kind+"-> "+e.To.ID)
	}
	return out
}

// TestLineageOverGraphQL asks for lineage, metric.upstream and downstream, and impact over
// GraphQL, as an analyst and as a viewer, who may not see finance's rates nor customers.name.
func TestLineageOverGraphQL(t *testing.T) {
	srv := server(t, fixture.demo, HandlerOptions{Authenticator: requiredAuthenticator(t)})
	ann, vic := analystToken(t), viewerToken(t)

	var up lineageData
	mustData(t, postAs(t, srv, ann, lineageQuery, map[string]any{"node": "aov", "direction": "UPSTREAM"}), &up)
	wantNodes := []string{"SOURCE_TABLE:demo:orders", "COLUMN:demo:orders.amount", "COLUMN:demo:orders.status", "DATA_MODEL:orders",
		"DIMENSION:orders.status", "MEASURE:orders.amount_total", "MEASURE:orders.order_count", "METRIC:aov", "METRIC:gmv_paid",
		"METRIC:gmv_placed", "METRIC:order_count", "METRIC:paid_order_count"}
	if !slices.Equal(up.ids(), wantNodes) || up.Lineage.Root.ID != "METRIC:aov" || up.Lineage.Truncated || up.Lineage.Depth != 32 {
		t.Errorf("aov upstream: root %s, depth %d, nodes %v", up.Lineage.Root.ID, up.Lineage.Depth, up.ids())
	}
	for _, e := range []string{"METRIC:gmv_paid -COMBINES-> METRIC:aov", "METRIC:gmv_placed -DERIVES-> METRIC:gmv_paid",
		"DIMENSION:orders.status -FILTERS_ON-> METRIC:gmv_paid", "MEASURE:orders.amount_total -AGGREGATES-> METRIC:gmv_placed",
		"COLUMN:demo:orders.amount -READS-> MEASURE:orders.amount_total", "SOURCE_TABLE:demo:orders -BUILT_ON-> DATA_MODEL:orders"} {
		if !slices.Contains(up.edges(), e) {
			t.Errorf("aov upstream lacks %s: %v", e, up.edges())
		}
	}
	for _, n := range up.Lineage.Nodes {
		switch n.ID {
		case "METRIC:gmv_paid":
			if n.Metric == nil || n.Metric.Name != "gmv_paid" || !slices.Equal(n.Owners, []string{"finance-bi"}) {
				t.Errorf("gmv_paid node %+v", n)
			}
		case "COLUMN:demo:orders.amount":
			if n.ColumnType == nil || !strings.HasPrefix(*n.ColumnType, "decimal") {
				t.Errorf("orders.amount column type %v", n.ColumnType)
			}
		case "DATA_MODEL:orders":
			if n.DataModel == nil || n.DataModel.Name != "orders" {
				t.Errorf("orders model node %+v", n)
			}
		}
	}

	// metric.upstream and metric.downstream, with a depth.
	var m struct {
		Metric struct {
			Upstream   struct{ Nodes []struct{ ID string } }
			Downstream struct {
				Truncated bool
				Nodes     []struct{ ID string }
			}
		}
	}
	mustData(t, postAs(t, srv, ann, `{ metric(name: "gmv_paid") { upstream(depth: 1) { nodes { id } } downstream(depth: 1) { truncated nodes { id } } } }`, nil), &m)
	var upIDs, downIDs []string
	for _, n := range m.Metric.Upstream.Nodes {
		upIDs = append(upIDs, n.ID)
	}
	for _, n := range m.Metric.Downstream.Nodes {
		downIDs = append(downIDs, n.ID)
	}
	if !slices.Equal(upIDs, []string{"DIMENSION:orders.status", "METRIC:gmv_paid", "METRIC:gmv_placed"}) {
		t.Errorf("gmv_paid.upstream(depth: 1) = %v", upIDs)
	}
	if !slices.Contains(downIDs, "METRIC:coupon_rate") || !slices.Contains(downIDs, "METRIC:aov") || slices.Contains(downIDs, "METRIC:aov_7d") || !m.Metric.Downstream.Truncated {
		t.Errorf("gmv_paid.downstream(depth: 1) = %v (truncated %v)", downIDs, m.Metric.Downstream.Truncated)
	}

	// The viewer's lineage has neither finance's rates nor the customer's name.
	var viewer lineageData
	mustData(t, postAs(t, srv, vic, lineageQuery, map[string]any{"node": "gmv_paid", "direction": "DOWNSTREAM"}), &viewer)
	if ids := viewer.ids(); slices.Contains(ids, "METRIC:coupon_rate") || slices.Contains(ids, "METRIC:net_take_rate") || !slices.Contains(ids, "METRIC:aov") {
		t.Errorf("the viewer's downstream of gmv_paid: %v", ids)
	}
	var table lineageData
	mustData(t, postAs(t, srv, vic, `{ lineage(node: "demo:customers", kind: SOURCE_TABLE, direction: DOWNSTREAM) { nodes { id } } }`, nil), &table)
	if ids := table.ids(); slices.Contains(ids, "COLUMN:demo:customers.name") || slices.Contains(ids, "DIMENSION:customers.name") || !slices.Contains(ids, "COLUMN:demo:customers.region") {
		t.Errorf("the viewer's downstream of the customers table: %v", ids)
	}
	hidden := wantError(t, postAs(t, srv, vic, `{ lineage(node: "coupon_rate") { depth } }`, nil), CodeNotFound)
	unknown := wantError(t, postAs(t, srv, vic, `{ lineage(node: "coupon_rata") { depth } }`, nil), CodeNotFound)
	if strings.ReplaceAll(hidden.Message, "coupon_rate", "X") != strings.ReplaceAll(unknown.Message, "coupon_rata", "X") {
		t.Errorf("hidden metric: %q; unknown metric: %q", hidden.Message, unknown.Message)
	}

	// Bad input: a negative depth, a depth past the most (lowered, with a warning), a version on
	// a server without versions, a time that is not one.
	wantError(t, postAs(t, srv, ann, lineageQuery, map[string]any{"node": "aov", "depth": -2}), CodeInvalidQuery, "depth -2 is negative")
	huge := postAs(t, srv, ann, lineageQuery, map[string]any{"node": "aov", "depth": 5000})
	var capped lineageData
	mustData(t, huge, &capped)
	if capped.Lineage.Depth != 32 || len(huge.Extensions.Warnings) != 1 || !strings.Contains(huge.Extensions.Warnings[0], "lineage depth 5000 is more than the most, 32") {
		t.Errorf("depth 5000: depth %d, warnings %q", capped.Lineage.Depth, huge.Extensions.Warnings)
	}
	wantError(t, postAs(t, srv, ann, `{ lineage(node: "aov", version: 2) { depth } }`, nil), CodeInvalidQuery, "keeps no versions")
	wantError(t, postAs(t, srv, ann, `{ lineage(node: "aov", at: "yesterday") { depth } }`, nil), CodeInvalidQuery, `at "yesterday" is not a time`)

	// Impact analysis of a column, with owners.
	var imp struct {
		Impact struct {
			Column      struct{ ID string }
			Change      string
			Definitions []struct {
				Node   struct{ ID string }
				Owners []string
				Reason string
				Via    *struct{ ID string }
				Depth  int
			}
		}
	}
	mustData(t, postAs(t, srv, ann, `{ impact(column: "orders.amount", change: TYPE_CHANGED) { column { id } change definitions { node { id } owners reason via { id } depth } } }`, nil), &imp)
	if imp.Impact.Column.ID != "COLUMN:demo:orders.amount" || imp.Impact.Change != "TYPE_CHANGED" || len(imp.Impact.Definitions) < 20 {
		t.Fatalf("impact %+v", imp.Impact)
	}
	found := false
	for _, d := range imp.Impact.Definitions {
		if d.Node.ID == "METRIC:orders_per_buyer" {
			found = d.Via != nil && d.Depth == 5 && slices.Equal(d.Owners, []string{"sales-analytics"}) && strings.Contains(d.Reason, "it is computed from")
		}
	}
	if !found {
		t.Errorf("impact lacks orders_per_buyer, five steps away and owned by sales-analytics: %+v", imp.Impact.Definitions)
	}
}

// TestLineageFiles fetches /lineage/{metric}.svg, .dot and .json: the SVG is XML naming the
// metrics, the DOT a digraph, the JSON OpenLineage; an unknown or hidden metric is 404, a bad
// parameter 400, and no token 401 outside demo mode.
func TestLineageFiles(t *testing.T) {
	srv := server(t, fixture.demo, HandlerOptions{Authenticator: requiredAuthenticator(t)})
	demoSrv := server(t, fixture.demo, HandlerOptions{})
	ann, vic := analystToken(t), viewerToken(t)
	get := func(base, path, token string) (int, string, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, res.Header.Get("Content-Type"), string(body)
	}

	status, ctype, svg := get(srv.URL, "/lineage/orders_per_buyer.svg", ann)
	if status != http.StatusOK || !strings.HasPrefix(ctype, "image/svg+xml") {
		t.Fatalf("svg: %d %s %s", status, ctype, svg)
	}
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Errorf("the SVG is not XML: %v", err)
	}
	for _, s := range []string{"orders_per_buyer", "revenue_per_buyer", "aov", "gmv_paid", "orders.amount_total", "owner: sales-analytics", "owner: finance-bi"} {
		if !strings.Contains(svg, ">"+s) {
			t.Errorf("the SVG lacks %q", s)
		}
	}
	status, ctype, dot := get(srv.URL, "/lineage/gmv_paid.dot?direction=upstream", ann)
	if status != http.StatusOK || !strings.HasPrefix(ctype, "text/vnd.graphviz") || !strings.HasPrefix(dot, "digraph lineage {") ||
		!strings.Contains(dot, `"metric gmv_placed"`) || strings.Contains(dot, `"metric aov"`) {
		t.Errorf("dot: %d %s\n%s", status, ctype, dot)
	}
	status, ctype, ol := get(srv.URL, "/lineage/gmv_paid.json?depth=3", ann)
	if status != http.StatusOK || ctype != "application/json" || !strings.Contains(ol, `"job":{"namespace":"koujing","name":"metric:gmv_paid"`) {
		t.Errorf("openlineage: %d %s\n%s", status, ctype, ol)
	}
	// The viewer's picture of gmv_paid has no finance rates in it.
	if _, _, svg := get(srv.URL, "/lineage/gmv_paid.svg", vic); strings.Contains(svg, "coupon_rate") || !strings.Contains(svg, "aov") {
		t.Errorf("the viewer's picture of gmv_paid shows coupon_rate or lacks aov")
	}
	if _, _, dot := get(srv.URL, "/lineage/customer_count.dot?direction=upstream", vic); strings.Contains(dot, "customers.name") {
		t.Errorf("the viewer's DOT of customer_count shows customers.name")
	}

	for _, tt := range []struct {
		path, token string
		status      int
		words       string
	}{
		{"/lineage/no_such_metric.svg", ann, http.StatusNotFound, `unknown metric \"no_such_metric\"`},
		{"/lineage/coupon_rate.svg", vic, http.StatusNotFound, `unknown metric \"coupon_rate\"`},
		{"/lineage/gmv_paid.png", ann, http.StatusNotFound, "ask for /lineage/METRIC.svg"},
		{"/lineage/gmv_paid.svg?depth=-1", ann, http.StatusBadRequest, "depth -1 is negative"},
		{"/lineage/gmv_paid.svg?depth=many", ann, http.StatusBadRequest, `depth \"many\" is not a whole number`},
		{"/lineage/gmv_paid.svg?direction=sideways", ann, http.StatusBadRequest, "is not upstream, downstream or both"},
		{"/lineage/gmv_paid.svg", "", http.StatusUnauthorized, "UNAUTHENTICATED"},
	} {
		status, _, body := get(srv.URL, tt.path, tt.token)
		if status != tt.status || !strings.Contains(body, tt.words) {
			t.Errorf("GET %s: %d %s, want %d with %q", tt.path, status, body, tt.status, tt.words)
		}
	}
	// In demo mode, a request without a token is the demo analyst's.
	if status, _, _ := get(demoSrv.URL, "/lineage/gmv_paid.svg", ""); status != http.StatusOK {
		t.Errorf("demo mode without a token: %d", status)
	}
}
