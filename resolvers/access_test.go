package resolvers

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/semantic"
)

// matrixRole is a caller of the access matrix: a token for a role of the demo policy, and the
// objects it must not see and must not query.
type matrixRole struct {
	name    string
	token   func(t *testing.T) string
	hidden  []string // objects that do not exist for the role
	noQuery bool     // the role may read but never query
	masked  map[string]string
}

// matrixObject is an object of the access matrix: a metric, or a dimension (model.name).
type matrixObject struct {
	name   string
	metric bool
	domain string // a metric's domain
	models []string
}

var matrixObjects = []matrixObject{
	{name: "order_count", metric: true, domain: "sales", models: []string{"orders"}},
	{name: "gmv_paid", metric: true, domain: "finance", models: []string{"orders"}},
	{name: "aov", metric: true, domain: "sales", models: []string{"orders"}},
	{name: "buyers", metric: true, domain: "sales", models: []string{"orders"}},
	{name: "coupon_rate", metric: true, domain: "finance", models: []string{"orders"}},
	{name: "net_take_rate", metric: true, domain: "finance", models: []string{"orders"}},
	{name: "orders.region", models: []string{"orders"}},
	{name: "customers.city", models: []string{"customers"}},
	{name: "customers.name", models: []string{"customers"}},
	{name: "products.category", models: []string{"products"}},
}

func roleToken(sub, role string, claims map[string]any) func(t *testing.T) string {
	return func(t *testing.T) string { return tokenFor(t, sub, "demo", []string{role}, claims) }
}

var financeAndPII = []string{"coupon_rate", "net_take_rate", "customers.name"}

var matrixRoles = []matrixRole{
	{name: "analyst", token: roleToken("ann", "analyst", nil)},
	{name: "demo user (no token)", token: func(*testing.T) string { return "" }},
	{name: "viewer", token: roleToken("vic", "viewer", nil), hidden: financeAndPII, noQuery: true},
	{name: "east_sales", token: roleToken("bob", "east_sales", map[string]any{"region": "east"}), hidden: financeAndPII},
	{name: "finance", token: roleToken("fay", "finance", nil), hidden: []string{"customers.name"}},
	{name: "support", token: roleToken("sue", "support", nil), hidden: []string{"coupon_rate", "net_take_rate"},
		masked: map[string]string{"customers.name": "PARTIAL"}},
}

// TestAccessMatrix checks, for each role of the demo policy and each of ten metrics and
// dimensions, what the catalog, lineage, queries, explanations and errors show: an object a role
// may not see is absent everywhere and named only in the error that a name that never existed
// gets; an object it may see is everywhere it belongs.
func TestAccessMatrix(t *testing.T) {
	srv := server(t, fixture.demo, HandlerOptions{})
	for _, role := range matrixRoles {
		t.Run(role.name, func(t *testing.T) {
			tok := role.token(t)
			listed := catalogLists(t, srv, tok)
			for _, obj := range matrixObjects {
				hidden := slices.Contains(role.hidden, obj.name)
				t.Run(obj.name, func(t *testing.T) {
					checkCatalogCell(t, srv, tok, role, obj, hidden, listed)
					checkQueryCell(t, srv, tok, role, obj, hidden)
				})
			}
		})
	}
}

// catalogListing is everything the catalog lists for one caller, by where it was listed.
type catalogListing map[string][]string

// catalogLists reads every list of the catalog a caller can see, for the cells to look in.
func catalogLists(t *testing.T, srv *httptest.Server, tok string) catalogListing {
	t.Helper()
	var data struct {
		Metrics    nameConnection
		Dimensions nameConnection
		Domains    []struct {
			Name    string
			Metrics []nameNode
		}
		DataModels struct {
			Edges []struct {
				Node struct {
					Name          string
					Dimensions    []nameNode
					Metrics       []nameNode
					Relationships []struct{ Model nameNode }
				}
			}
		}
		Metric *struct {
			Dimensions nameConnection
		}
	}
	mustData(t, postAs(t, srv, tok, `{
  metrics(first: 100) { edges { node { name } } totalCount }
  dimensions(first: 100) { edges { node { name } } totalCount }
  domains { name metrics { name } }
  dataModels { edges { node { name dimensions { name } metrics { name } relationships { model { name } } } } }
  metric(name: "order_count") { dimensions(first: 100) { edges { node { name } } } }
}`, nil), &data)
	out := catalogListing{"metrics": data.Metrics.names(), "dimensions": data.Dimensions.names()}
	if data.Metrics.TotalCount != len(out["metrics"]) || data.Dimensions.TotalCount != len(out["dimensions"]) {
		t.Errorf("totalCount counts what the caller cannot see: %d metrics listed of %d, %d dimensions of %d",
			len(out["metrics"]), data.Metrics.TotalCount, len(out["dimensions"]), data.Dimensions.TotalCount)
	}
	for _, d := range data.Domains {
		for _, m := range d.Metrics {
			out["domain "+d.Name] = append(out["domain "+d.Name], m.Name)
		}
	}
	for _, e := range data.DataModels.Edges {
		for _, d := range e.Node.Dimensions {
			out["model dimensions"] = append(out["model dimensions"], d.Name)
		}
		for _, m := range e.Node.Metrics {
			out["model "+e.Node.Name] = append(out["model "+e.Node.Name], m.Name)
		}
	}
	if data.Metric != nil {
		out["order_count dimensions"] = data.Metric.Dimensions.names()
	}
	return out
}

// notFoundPattern is the error a name gets when it does not exist for the caller: the name, and
// at most a suggestion of a name the caller can see.
var notFoundPattern = regexp.MustCompile(`^unknown (metric|dimension|data model) "([^"]+)"\.(?: Did you mean "([^"]+)"\?)?$`)

// checkNotFound checks that an error is the one of a name that does not exist, and that it
// suggests nothing the caller cannot see.
func checkNotFound(t *testing.T, r gqlResponse, name string, role matrixRole) {
	t.Helper()
	e := wantError(t, r, CodeNotFound)
	m := notFoundPattern.FindStringSubmatch(e.Message)
	if m == nil || m[2] != name {
		t.Errorf("not-found message %q is not the one of an unknown name", e.Message)
		return
	}
	if m[3] != "" && slices.Contains(role.hidden, m[3]) {
		t.Errorf("the error suggests %s, which %s may not see", m[3], role.name)
	}
	if len(e.Extensions) != 1 {
		t.Errorf("extensions %v carry more than the code", e.Extensions)
	}
}

func checkCatalogCell(t *testing.T, srv *httptest.Server, tok string, role matrixRole, obj matrixObject, hidden bool, listed catalogListing) {
	kind, typ, list := "dimension", dimensionType, "dimensions"
	if obj.metric {
		kind, typ, list = "metric", metricType, "metrics"
	}
	// By name, and by global ID.
	r := postAs(t, srv, tok, fmt.Sprintf(`{ %s(name: %q) { name } }`, kind, obj.name), nil)
	if hidden {
		checkNotFound(t, r, obj.name, role)
	} else if len(r.Errors) > 0 {
		t.Errorf("%s %s: %+v", kind, obj.name, r.Errors)
	}
	r = postAs(t, srv, tok, fmt.Sprintf(`{ node(id: %q) { id } }`, globalID(typ, obj.name)), nil)
	if hidden {
		wantError(t, r, CodeNotFound, "no object has the ID")
	} else if len(r.Errors) > 0 {
		t.Errorf("node of %s: %+v", obj.name, r.Errors)
	}
	// In every list it belongs to.
	where := []string{list}
	if obj.metric {
		where = append(where, "domain "+obj.domain, "model orders")
	} else {
		where = append(where, "model dimensions", "order_count dimensions")
	}
	for _, w := range where {
		if got := slices.Contains(listed[w], obj.name); got == hidden {
			t.Errorf("%s listed in %s: %v, want %v (list %v)", obj.name, w, got, !hidden, listed[w])
		}
	}
	if obj.metric {
		var data struct{ Metrics nameConnection }
		mustData(t, postAs(t, srv, tok, `query($s: String) { metrics(filter: {search: $s}) { edges { node { name } } } }`, map[string]any{"s": obj.name}), &data)
		if got := slices.Contains(data.Metrics.names(), obj.name); got == hidden {
			t.Errorf("search for %s finds it: %v, want %v", obj.name, got, !hidden)
		}
		return
	}
	if hidden {
		return
	}
	var data struct {
		Dimension struct {
			Tags    []string
			Masking *string
		}
	}
	mustData(t, postAs(t, srv, tok, `query($n: String!) { dimension(name: $n) { tags masking } }`, map[string]any{"n": obj.name}), &data)
	want, masked := role.masked[obj.name]
	if got := data.Dimension.Masking; masked != (got != nil) || masked && *got != want {
		t.Errorf("%s masking = %v, want %q", obj.name, got, want)
	}
}

func checkQueryCell(t *testing.T, srv *httptest.Server, tok string, role matrixRole, obj matrixObject, hidden bool) {
	input := map[string]any{"metrics": []string{"order_count"}, "dimensions": []string{obj.name}, "limit": 3}
	if obj.metric {
		input = map[string]any{"metrics": []string{obj.name}}
	}
	for _, op := range []string{"query", "explain"} {
		fields := "rowCount"
		if op == "explain" {
			fields = "plan physicalPlan statements { sql params }"
		}
		r := postAs(t, srv, tok, `query($in: MetricQueryInput!) { `+op+`(input: $in) { `+fields+` } }`, map[string]any{"in": input})
		switch {
		case hidden:
			checkNotFound(t, r, obj.name, role)
		case role.noQuery:
			wantError(t, r, CodeForbidden, "may see", "but not query it")
		case len(r.Errors) > 0:
			t.Errorf("%s of %s: %+v", op, obj.name, r.Errors)
		case op == "explain":
			for _, h := range role.hidden {
				if strings.Contains(string(r.Data), h) {
					t.Errorf("the explanation of %s names %s, which %s may not see:\n%s", obj.name, h, role.name, r.Data)
				}
			}
		}
	}
}

// TestUnauthenticated checks that bad credentials get 401 with UNAUTHENTICATED and a message
// that says what was wrong, whatever the request asks, and that the health check and GraphiQL
// stay open.
func TestUnauthenticated(t *testing.T) {
	srv := server(t, fixture.demo, HandlerOptions{})
	expired := tokenFor(t, "bob", "demo", []string{"analyst"}, map[string]any{"exp": 1})
	tests := []struct {
		name, token, want string
	}{
		{"garbage", "not-a-token", "not a well-formed JWT"},
		{"expired", expired, "expired"},
		{"unknown API key", "kj_aaaaaaaaaaaa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "API key"},
		{"no tenant", func() string {
			tok, err := signWithoutTenant()
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}(), "tenant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postAs(t, srv, tt.token, `{ metrics { totalCount } }`, nil)
			if r.status != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", r.status)
			}
			e := wantError(t, r, CodeUnauthenticated, tt.want)
			if strings.Contains(e.Message, tt.token) {
				t.Errorf("the message repeats the credentials: %q", e.Message)
			}
			if r.Data != nil && string(r.Data) != "null" {
				t.Errorf("data was served: %s", r.Data)
			}
		})
	}
	required := server(t, fixture.demo, HandlerOptions{Authenticator: requiredAuthenticator(t)})
	r := post(t, required, `{ metrics { totalCount } }`, nil)
	if r.status != http.StatusUnauthorized {
		t.Errorf("no credentials outside demo mode: status %d, want 401", r.status)
	}
	wantError(t, r, CodeUnauthenticated, "no credentials")
	for _, path := range []string{"/healthz", "/"} {
		if res, err := http.Get(required.URL + path); err != nil || res.StatusCode != http.StatusOK {
			t.Errorf("GET %s without credentials: %v %v", path, res, err)
		}
	}
}

// TestMetricWithoutItsModel serves a metric to a role that may see it but not the data model it
// aggregates: the metric answers, and nothing leads to the model.
func TestMetricWithoutItsModel(t *testing.T) {
	st, err := authz.ParsePolicyFile("curated.csv", []byte("p, curated, demo, metric:order_count, *, allow\np, curated, demo, dimension:orders.channel, *, allow\np, curated, demo, model:orders, query, allow\n"))
	if err != nil {
		t.Fatal(err)
	}
	cat := fixture.demo.Catalog()
	a, err := authz.NewAuthorizer(context.Background(), authz.NewMemoryStore(st), authz.AuthorizerOptions{
		Validate: func(p *authz.Policy) error { return semantic.CheckPolicy(cat, p) }, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	srv := server(t, mustService(t, cat, fixture.eng, semantic.ServiceOptions{Authorizer: a}), HandlerOptions{})
	tok := tokenFor(t, "cy", "demo", []string{"curated"}, nil)
	var data struct {
		Metric struct {
			Measure *nameNode
			Models  []nameNode
		}
		Metrics    nameConnection
		DataModels nameConnection
		Dimensions nameConnection
	}
	mustData(t, postAs(t, srv, tok, `{
  metric(name: "order_count") { measure { name } models { name } }
  metrics { edges { node { name } } totalCount }
  dataModels { edges { node { name } } totalCount }
  dimensions { edges { node { name } } totalCount }
}`, nil), &data)
	if data.Metric.Measure != nil || len(data.Metric.Models) != 0 {
		t.Errorf("order_count leads to its model: %+v", data.Metric)
	}
	if got := data.Metrics.names(); !slices.Equal(got, []string{"order_count"}) {
		t.Errorf("metrics = %v", got)
	}
	if data.DataModels.TotalCount != 0 || data.Dimensions.TotalCount != 0 {
		t.Errorf("a dimension of a hidden model, or the model, is listed: %v %v", data.DataModels.names(), data.Dimensions.names())
	}
	checkNotFound(t, postAs(t, srv, tok, `{ dataModel(name: "orders") { name } }`, nil), "orders", matrixRole{name: "curated"})
	r := postAs(t, srv, tok, `{ query(input: {metrics: ["order_count"]}) { rows } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("order_count: %+v", r.Errors)
	}
	// orders.channel is granted, but a dimension of a model the caller cannot see is hidden too.
	checkNotFound(t, postAs(t, srv, tok, `{ query(input: {metrics: ["order_count"], dimensions: ["orders.channel"]}) { rows } }`, nil), "orders.channel", matrixRole{name: "curated"})
}
