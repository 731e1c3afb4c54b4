package mcp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// TestListTools lists the tools over HTTP: six, each described for a model to choose by, with a
// typed input schema (query_metrics's enumerations spelled out) and an output schema.
func TestListTools(t *testing.T) {
	cs := connect(t, serveHTTP(t, Options{}, true), "")
	res, err := cs.ListTools(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	schemas := map[string]map[string]any{}
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
		if len(tool.Description) < 200 {
			t.Errorf("%s is described in %d characters; say when to use it", tool.Name, len(tool.Description))
		}
		if tool.OutputSchema == nil {
			t.Errorf("%s has no output schema", tool.Name)
		}
		b, _ := json.Marshal(tool.InputSchema)
		var s map[string]any
		if err := json.Unmarshal(b, &s); err != nil || s["type"] != "object" {
			t.Errorf("%s's input schema is %s", tool.Name, b)
		}
		schemas[tool.Name] = s
	}
	slices.Sort(names)
	want := []string{"describe_metric", "explain_metric", "get_dimension_values", "list_dimensions", "query_metrics", "search_metrics"}
	if !slices.Equal(names, want) {
		t.Fatalf("tools %v, want %v", names, want)
	}
	q, _ := json.Marshal(schemas["query_metrics"])
	for _, w := range []string{`"required":["metrics"]`, `"enum":["DAY","WEEK","MONTH","QUARTER","YEAR","FISCAL_MONTH","FISCAL_QUARTER","FISCAL_YEAR"]`, `"NOT_CONTAINS"`, `"enum":["ASC","DESC"]`} {
		if !strings.Contains(string(q), w) {
			t.Errorf("query_metrics's input schema lacks %s: %s", w, q)
		}
	}
}

// TestTools calls each tool as the demo user and checks what it answers.
func TestTools(t *testing.T) {
	cs := connect(t, serveHTTP(t, Options{}, true), "")

	var found SearchOutput
	callOK(t, cs, "search_metrics", map[string]any{"text": "下单GMV"}, &found)
	if len(found.Metrics) == 0 || found.Metrics[0].Name != "gmv_placed" || found.Metrics[0].Unit != "CNY" || found.Metrics[0].Version != "current" {
		t.Errorf("下单GMV found %+v, want gmv_placed first, in CNY at the current version", found)
	}
	callOK(t, cs, "search_metrics", map[string]any{"text": "RATE", "domain": "operations"}, &found)
	if names := summaryNames(found.Metrics); !slices.Equal(names, []string{"refund_rate"}) {
		t.Errorf("RATE in operations found %v", names)
	}
	callOK(t, cs, "search_metrics", map[string]any{"limit": 3}, &found)
	if len(found.Metrics) != 3 || found.Total != len(fixture.svc.Catalog().Metrics()) || !strings.Contains(found.Note, "more metrics match") {
		t.Errorf("3 of all metrics: %d of %d, note %q", len(found.Metrics), found.Total, found.Note)
	}
	callOK(t, cs, "search_metrics", map[string]any{"text": "zebra"}, &found)
	if len(found.Metrics) != 0 || !strings.Contains(found.Note, "The domains are") {
		t.Errorf("zebra found %+v", found)
	}
	found = SearchOutput{}
	said := callOK(t, cs, "search_metrics", map[string]any{"text": "华东 支付金额"}, &found)
	if len(found.Metrics) == 0 || found.Metrics[0].Name != "gmv_paid" || !slices.Equal(found.Ignored, []string{"华东"}) ||
		!strings.Contains(found.Note, "ignored: 华东") || !strings.Contains(resultText(said), "ignored: 华东") {
		t.Errorf("华东 支付金额 found %+v, said %s; want gmv_paid first, ignoring 华东", found, resultText(said))
	}

	var aov MetricDescription
	callOK(t, cs, "describe_metric", map[string]any{"metric": "aov"}, &aov)
	if aov.Kind != "composite" || aov.Definition != "gmv_paid / paid_order_count" || aov.Version != "current" || aov.Owner == "" ||
		!slices.Contains(aov.Dimensions, "orders.region") || !slices.Equal(aov.BuiltOn, []string{"gmv_paid", "paid_order_count"}) {
		t.Errorf("aov is described as %+v", aov)
	}
	if len(aov.Caveats) == 0 || !strings.HasPrefix(aov.Caveats[0], "ratio: divides totals") {
		t.Errorf("aov's caveats %q do not say it divides totals", aov.Caveats)
	}
	if !slices.ContainsFunc(aov.TimeDimensions, func(d TimeDimension) bool {
		return d.Name == "orders.created_at" && slices.Contains(d.Granularities, "MONTH")
	}) {
		t.Errorf("aov's time dimensions %+v lack orders.created_at by month", aov.TimeDimensions)
	}
	var buyers MetricDescription
	callOK(t, cs, "describe_metric", map[string]any{"metric": "buyers"}, &buyers)
	if !slices.ContainsFunc(buyers.Caveats, func(c string) bool { return strings.HasPrefix(c, "distinct count: not additive") }) ||
		!slices.ContainsFunc(buyers.Caveats, func(c string) bool { return strings.HasPrefix(c, "counts only the rows where orders.status in") }) {
		t.Errorf("buyers' caveats %q miss the distinct count or its filter", buyers.Caveats)
	}

	var dims ListDimensionsOutput
	callOK(t, cs, "list_dimensions", map[string]any{"metric": "gmv_paid"}, &dims)
	if d := findDimension(dims, "orders.created_at"); d == nil || d.Type != "time" || !slices.Contains(d.Granularities, "QUARTER") {
		t.Errorf("gmv_paid's dimensions %+v lack orders.created_at by quarter", dims)
	}
	callOK(t, cs, "list_dimensions", map[string]any{"model": "customers"}, &dims)
	if d := findDimension(dims, "customers.city"); d == nil || !slices.Contains(d.Synonyms, "城市") || len(dims.Dimensions) != 5 {
		t.Errorf("customers' dimensions %+v", dims)
	}
	if msg := callError(t, cs, "list_dimensions", map[string]any{"model": "customers", "metric": "aov"}); msg != "INVALID_QUERY: give metric or model, not both" {
		t.Errorf("both: %q", msg)
	}

	var statuses DimensionValuesOutput
	callOK(t, cs, "get_dimension_values", map[string]any{"dimension": "orders.status"}, &statuses)
	if len(statuses.Values) != 6 || valueOf(statuses.Values[4]) != "refunded" || statuses.More {
		t.Errorf("statuses %+v", statuses)
	}
	callOK(t, cs, "get_dimension_values", map[string]any{"dimension": "customers.city", "limit": 2}, &statuses)
	if len(statuses.Values) != 2 || !statuses.More || !strings.Contains(statuses.Note, "more than 2 values") {
		t.Errorf("two cities %+v", statuses)
	}
	callOK(t, cs, "get_dimension_values", map[string]any{"dimension": "orders.created_at"}, &statuses)
	if !strings.HasPrefix(statuses.Earliest, "2023-01") || !strings.HasPrefix(statuses.Latest, "2025-12") {
		t.Errorf("order times %+v", statuses)
	}

	var q QueryOutput
	res := callOK(t, cs, "query_metrics", map[string]any{"metrics": []string{"gmv_paid", "aov"}, "dimensions": []string{"orders.region"},
		"timeDimension": map[string]any{"dimension": "orders.created_at", "granularity": "YEAR"}, "timezone": "Asia/Shanghai",
		"filters": []map[string]any{{"dimension": "orders.channel", "operator": "IN", "values": []string{"app", "web"}}}}, &q)
	if q.RowCount == 0 || len(q.Rows) != q.RowCount || q.Truncated || q.Columns[2].Unit != "CNY" || q.Columns[2].Type != "decimal(38,2)" || q.Columns[1].Granularity != "YEAR" {
		t.Errorf("paid GMV and AOV by region and year: %d rows, columns %+v", q.RowCount, q.Columns)
	}
	if !slices.Contains(q.Versions, MetricVersion{Metric: "gmv_placed", Version: "current"}) {
		t.Errorf("versions %+v do not name gmv_placed, which gmv_paid is built on", q.Versions)
	}
	text := resultText(res)
	for _, w := range []string{"| orders.region | orders.created_at.year | gmv_paid (CNY) | aov (CNY) |", fmt.Sprintf("\n%d rows.", q.RowCount), "gmv_paid@current"} {
		if !strings.Contains(text, w) {
			t.Errorf("the table lacks %q:\n%s", w, text)
		}
	}

	var ex ExplainOutput
	callOK(t, cs, "explain_metric", map[string]any{"metric": "aov"}, &ex)
	var steps []string
	for _, s := range ex.Lineage {
		steps = append(steps, s.Metric)
	}
	if !slices.Equal(steps, []string{"aov", "gmv_paid", "gmv_placed", "paid_order_count", "order_count"}) {
		t.Errorf("aov's lineage %v", steps)
	}
	placed := ex.Lineage[2].Measure
	if placed == nil || placed.Aggregation != "sum(amount)" || placed.Source != "demo:orders" || !slices.Equal(placed.Columns, []string{"orders.amount"}) {
		t.Errorf("gmv_placed's measure %+v", placed)
	}
	if f := ex.Lineage[1].Filters; len(f) != 1 || f[0].Dimension != "orders.status" || f[0].Expression != "status" {
		t.Errorf("gmv_paid's filters %+v", f)
	}
	if len(ex.Sources) != 1 || ex.Sources[0].Kind != "source_table" || ex.Sources[0].Name != "orders (demo)" {
		t.Errorf("aov's sources %+v", ex.Sources)
	}
	for _, w := range []string{"aov (Average order value) is gmv_paid / paid_order_count", "a ratio of totals", "the sum of amount over the rows of orders", "Upstream: table orders (demo)."} {
		if !strings.Contains(ex.Explanation, w) {
			t.Errorf("the explanation lacks %q: %s", w, ex.Explanation)
		}
	}
	checkNoLeak(t)
}

func summaryNames(ms []MetricSummary) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

func findDimension(out ListDimensionsOutput, name string) *DimensionInfo {
	for i := range out.Dimensions {
		if out.Dimensions[i].Name == name {
			return &out.Dimensions[i]
		}
	}
	return nil
}

func valueOf(v ValueCount) string {
	if v.Value == nil {
		return "NULL"
	}
	return *v.Value
}

// TestQueryTruncated asks for more rows than query_metrics returns: it computes one more than it
// returns, cuts there and says how to go on.
func TestQueryTruncated(t *testing.T) {
	cs := connect(t, serveHTTP(t, Options{MaxRows: 10}, true), "")
	var q QueryOutput
	callOK(t, cs, "query_metrics", map[string]any{"metrics": []string{"order_count"}, "dimensions": []string{"customers.city"}}, &q)
	if q.RowCount != 10 || !q.Truncated || !strings.Contains(q.Note, "more than 10 rows") || !strings.Contains(q.Note, "offset 10") {
		t.Errorf("%d rows, truncated %v, note %q", q.RowCount, q.Truncated, q.Note)
	}
	q = QueryOutput{}
	callOK(t, cs, "query_metrics", map[string]any{"metrics": []string{"order_count"}, "dimensions": []string{"orders.region"}, "limit": 50}, &q)
	if q.RowCount != 5 || q.Truncated || !strings.Contains(q.Note, "all 5 rows are here") {
		t.Errorf("%d rows, truncated %v, note %q", q.RowCount, q.Truncated, q.Note)
	}
	checkNoLeak(t)
}

// notFoundPattern is the error of a name that does not exist for the caller: the name, and at
// most a suggestion of a name the caller can see.
var notFoundPattern = regexp.MustCompile(`^NOT_FOUND: unknown (metric|dimension) "([^"]+)"\.(?: Did you mean "([^"]+)"\?)?$`)

// TestRoles calls the tools as the demo's roles: east_sales gets its region's rows only and
// knows nothing of finance's metrics or of customers' names — absent from every list and named
// only in the error a name that never existed gets; support sees names masked; a viewer may
// read but not query.
func TestRoles(t *testing.T) {
	srv := serveHTTP(t, Options{}, true)
	east := connect(t, srv, tokenFor(t, "bob", "east_sales", map[string]any{"region": "east"}))
	hidden := []string{"coupon_rate", "net_take_rate", "customers.name"}

	var q QueryOutput
	callOK(t, east, "query_metrics", map[string]any{"metrics": []string{"order_count", "gmv_paid"}, "dimensions": []string{"orders.region", "customers.region"}}, &q)
	if len(q.Rows) == 0 {
		t.Fatal("east_sales got no rows")
	}
	for _, row := range q.Rows {
		if row[0] != "east" || (row[1] != "east" && row[1] != nil) {
			t.Errorf("east_sales got the row %v", row)
		}
	}
	var values DimensionValuesOutput
	callOK(t, east, "get_dimension_values", map[string]any{"dimension": "customers.region"}, &values)
	if len(values.Values) != 1 || valueOf(values.Values[0]) != "east" {
		t.Errorf("east_sales sees customer regions %+v", values.Values)
	}

	var all SearchOutput
	callOK(t, east, "search_metrics", map[string]any{"limit": 100}, &all)
	var dims ListDimensionsOutput
	callOK(t, east, "list_dimensions", map[string]any{}, &dims)
	var described MetricDescription
	callOK(t, east, "describe_metric", map[string]any{"metric": "gmv_net"}, &described)
	listed := append(summaryNames(all.Metrics), described.Dimensions...)
	for _, d := range dims.Dimensions {
		listed = append(listed, d.Name)
	}
	for _, h := range hidden {
		if slices.Contains(listed, h) {
			t.Errorf("east_sales is shown %s", h)
		}
	}
	for _, c := range []struct{ tool, arg, name string }{
		{"describe_metric", "metric", "coupon_rate"},
		{"explain_metric", "metric", "net_take_rate"},
		{"list_dimensions", "metric", "coupon_rate"},
		{"get_dimension_values", "dimension", "customers.name"},
	} {
		msg := callError(t, east, c.tool, map[string]any{c.arg: c.name})
		m := notFoundPattern.FindStringSubmatch(msg)
		if m == nil || m[2] != c.name {
			t.Errorf("%s(%s): %q is not the error of an unknown name", c.tool, c.name, msg)
		} else if slices.Contains(hidden, m[3]) {
			t.Errorf("%s(%s) suggests %s, which east_sales may not see", c.tool, c.name, m[3])
		}
	}
	msg := callError(t, east, "query_metrics", map[string]any{"metrics": []string{"coupon_rate"}})
	if want := callError(t, east, "query_metrics", map[string]any{"metrics": []string{"coupon_ratio"}}); strings.Replace(want, "coupon_ratio", "coupon_rate", 1) != msg {
		t.Errorf("a hidden metric gets %q, an unknown one %q", msg, want)
	}

	support := connect(t, srv, tokenFor(t, "sue", "support", nil))
	callOK(t, support, "get_dimension_values", map[string]any{"dimension": "customers.name", "limit": 5}, &values)
	if values.Masked != "partial" || len(values.Values) != 5 || !strings.Contains(valueOf(values.Values[0]), "*") {
		t.Errorf("support sees customer names %+v", values)
	}

	viewer := connect(t, srv, tokenFor(t, "vic", "viewer", nil))
	if msg := callError(t, viewer, "query_metrics", map[string]any{"metrics": []string{"order_count"}}); !strings.HasPrefix(msg, "FORBIDDEN: vic may see metric order_count but not query it") {
		t.Errorf("a viewer's query: %q", msg)
	}
	checkNoLeak(t)
}

// TestBadInput calls tools wrongly: unknown names, arguments of the wrong type or out of range,
// and requests without valid credentials over HTTP. Each gets an error that says what is wrong.
func TestBadInput(t *testing.T) {
	srv := serveHTTP(t, Options{}, true)
	cs := connect(t, srv, "")
	cases := []struct {
		tool string
		args map[string]any
		want []string
	}{
		{"describe_metric", map[string]any{"metric": "gmv_payed"}, []string{`NOT_FOUND: unknown metric "gmv_payed". Did you mean "gmv_paid"?`}},
		{"describe_metric", map[string]any{}, []string{"metric"}},
		{"describe_metric", map[string]any{"metric": 7}, []string{"metric", "integer"}},
		{"query_metrics", map[string]any{"metrics": "gmv_paid"}, []string{"metrics", "string"}},
		{"query_metrics", map[string]any{"metrics": []string{}}, []string{"metrics"}},
		{"query_metrics", map[string]any{"metrics": []string{"gmv_paid"}, "limit": "ten"}, []string{"limit"}},
		{"query_metrics", map[string]any{"metrics": []string{"gmv_paid"}, "limit": 5_000_000}, []string{"INVALID_QUERY: limit 5000000 is more than the maximum"}},
		{"query_metrics", map[string]any{"metrics": []string{"gmv_paid"}, "timeDimension": map[string]any{"dimension": "orders.created_at", "granularity": "FORTNIGHT"}}, []string{"granularity", "FORTNIGHT"}},
		{"query_metrics", map[string]any{"metrics": []string{"gmv_paid"}, "colour": "red"}, []string{"colour"}},
		{"query_metrics", map[string]any{"metrics": []string{"gmv_paid"}, "dimensions": []string{"region"}}, []string{`NOT_FOUND: unknown dimension "region"; name dimensions as model.dimension`}},
		{"get_dimension_values", map[string]any{"dimension": "orders.status", "limit": 5000}, []string{"INVALID_QUERY: limit 5000 is outside 1 to 1000"}},
		{"search_metrics", map[string]any{"domain": "astrology"}, []string{`NOT_FOUND: unknown domain "astrology"`}},
	}
	for _, c := range cases {
		msg := callError(t, cs, c.tool, c.args)
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s(%v): %q does not say %q", c.tool, c.args, msg, w)
			}
		}
	}

	required := serveHTTP(t, Options{}, false)
	if _, err := dial(required, ""); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Errorf("connecting without a token: %v, want 401", err)
	}
	for _, token := range []string{"", "not-a-token"} {
		req, _ := http.NewRequest(http.MethodPost, required.URL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Errors []struct {
				Message    string
				Extensions map[string]any
			}
		}
		err = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized || err != nil || len(body.Errors) != 1 || body.Errors[0].Extensions["code"] != "UNAUTHENTICATED" {
			t.Errorf("token %q: status %d, body %+v (%v); want 401 UNAUTHENTICATED", token, res.StatusCode, body, err)
		}
	}
	checkNoLeak(t)
}

// TestNoLeakedGoroutines opens sessions over HTTP, calls tools, and closes them: no goroutine of
// the server or of the client is left.
func TestNoLeakedGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := serveHTTP(t, Options{}, true)
	for range 3 {
		cs, err := dial(srv, "")
		if err != nil {
			t.Fatal(err)
		}
		var q QueryOutput
		callOK(t, cs, "query_metrics", map[string]any{"metrics": []string{"order_count"}, "dimensions": []string{"orders.channel"}}, &q)
		callError(t, cs, "describe_metric", map[string]any{"metric": "nothing"})
		if err := cs.Close(); err != nil {
			t.Fatal(err)
		}
	}
	srv.Close()
	checkNoLeak(t)
}
