package resolvers

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
	"github.com/koujing/koujing/semantic/oracletest"
)

// acmeRules are the rules of a second tenant, acme, whose analyst sees the sales domain only and
// only the orders placed on the web, as each would print in accessPolicy.
var acmeRules = []string{
	"p, analyst, acme, domain:sales, read, allow",
	"p, analyst, acme, domain:sales, query, allow",
	"p, analyst, acme, model:*, read, allow",
	"p, analyst, acme, model:*, query, allow",
	"p, analyst, acme, dimension:*, *, allow",
	"row_filter, analyst, acme, orders, channel = 'web'",
	"p, admin, acme, *, *, allow",
}

// tenantService returns a server whose policy file holds the demo's policy and acme's rules,
// over the fixture's catalog and engine.
func tenantService(t *testing.T) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "policy.csv")
	text := string(demo.Policy) + "\n# acme\n" + strings.Join(acmeRules, "\n") + "\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	store, err := authz.OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	cat := fixture.demo.Catalog()
	a, err := authz.NewAuthorizer(ctx, store, authz.AuthorizerOptions{
		Validate: func(p *authz.Policy) error { return semantic.CheckPolicy(cat, p) },
		Logger:   quietLogger(),
	})
	if err != nil {
		store.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return server(t, mustService(t, cat, fixture.eng, semantic.ServiceOptions{Authorizer: a}), HandlerOptions{})
}

// tenantCaller is a token of a role in a tenant, with the same subject in every tenant.
func tenantCaller(t *testing.T, tenant, role string) string {
	return tokenFor(t, map[string]string{"analyst": "ann", "admin": "ada"}[role], tenant, []string{role}, nil)
}

// wantTenantError is wantError for a caller that must never hear of another tenant: the message
// does not name it.
func wantTenantError(t *testing.T, r gqlResponse, code, otherTenant string, want ...string) {
	t.Helper()
	if e := wantError(t, r, code, want...); strings.Contains(e.Message, otherTenant) {
		t.Errorf("the message names tenant %s: %q", otherTenant, e.Message)
	}
}

// salesOnly returns the metrics that acme's analyst may see, from the demo analyst's catalog: those
// of the sales domain built only on such metrics.
func salesOnly(t *testing.T, srv *httptest.Server, demoAnalyst string) []string {
	t.Helper()
	var data struct {
		Metrics struct {
			Edges []struct {
				Node struct {
					Name      string
					Domain    *nameNode
					DependsOn []nameNode
				}
			}
		}
	}
	mustData(t, postAs(t, srv, demoAnalyst, `{ metrics(first: 100) { edges { node { name domain { name } dependsOn { name } } } } }`, nil), &data)
	visible := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, e := range data.Metrics.Edges {
			m := e.Node
			ok := m.Domain != nil && m.Domain.Name == "sales"
			for _, d := range m.DependsOn {
				ok = ok && visible[d.Name]
			}
			if ok && !visible[m.Name] {
				visible[m.Name], changed = true, true
			}
		}
	}
	var out []string
	for _, e := range data.Metrics.Edges {
		if visible[e.Node.Name] {
			out = append(out, e.Node.Name)
		}
	}
	return out
}

// TestTenantCatalogs checks that the role analyst means each tenant's own rules: acme's analyst
// sees the sales metrics and only the web's orders; a finance metric is absent for it exactly as a
// name that never existed; and the demo's analyst, the same subject with the same role, sees
// every metric and every order.
func TestTenantCatalogs(t *testing.T) {
	srv := tenantService(t)
	acme, demoAnalyst := tenantCaller(t, "acme", "analyst"), tenantCaller(t, "demo", "analyst")

	var listed struct{ Metrics nameConnection }
	const list = `{ metrics(first: 100) { edges { node { name } } totalCount } }`
	mustData(t, postAs(t, srv, acme, list, nil), &listed)
	want := salesOnly(t, srv, demoAnalyst)
	if got := listed.Metrics.names(); !slices.Equal(got, want) || !slices.Contains(got, "order_count") || slices.Contains(got, "aov") {
		t.Errorf("acme's analyst sees %v; want the sales metrics built on sales metrics only, %v", got, want)
	}
	mustData(t, postAs(t, srv, demoAnalyst, list, nil), &listed)
	if !slices.Contains(listed.Metrics.names(), "gmv_paid") || listed.Metrics.TotalCount != len(fixture.demo.Catalog().Metrics()) {
		t.Errorf("the demo's analyst sees %d metrics %v; want every one", listed.Metrics.TotalCount, listed.Metrics.names())
	}

	acmeRole := matrixRole{name: "acme's analyst", hidden: []string{"gmv_paid", "aov", "coupon_rate", "net_take_rate"}}
	for _, name := range []string{"gmv_paid", "gmv_pad"} {
		checkNotFound(t, postAs(t, srv, acme, `query($n: String!) { metric(name: $n) { name } }`, map[string]any{"n": name}), name, acmeRole)
		checkNotFound(t, sendQuery(t, srv, acme, queryInput([]string{name}, nil)), name, acmeRole)
	}

	// acme's analyst counts the web's orders; the demo's, every order.
	for _, dims := range [][]string{nil, {"orders.region"}} {
		oracletest.Compare(t, queryRows(t, srv, acme, queryInput([]string{"order_count"}, dims)),
			queryRows(t, srv, demoAnalyst, queryInput([]string{"order_count"}, dims, "orders.channel", "EQUALS", []string{"web"})), false)
	}
	if channels := queryRows(t, srv, demoAnalyst, queryInput([]string{"order_count"}, []string{"orders.channel"})); len(channels) != 3 {
		t.Errorf("the demo's analyst sees orders of %d channels, want 3", len(channels))
	}
	oracletest.Compare(t, queryRows(t, srv, demoAnalyst, queryInput([]string{"order_count"}, nil)), [][]oracletest.Value{{exactInt(fixtureOrders(t))}}, false)

	// The admins of each tenant decide the same question by their own tenant's rules.
	if d := checkAccess(t, srv, tenantCaller(t, "demo", "admin"), "ann", []string{"analyst"}, "metric:gmv_paid", "READ"); !d.Allowed || d.Rule == nil || d.Rule.Line != "p, analyst, demo, *, read, allow" {
		t.Errorf("in demo, may an analyst read gmv_paid: %+v", d)
	}
	if d := checkAccess(t, srv, tenantCaller(t, "acme", "admin"), "ann", []string{"analyst"}, "metric:gmv_paid", "READ"); d.Allowed || d.Rule != nil {
		t.Errorf("in acme, may an analyst read gmv_paid: %+v", d)
	}
	checkNoLeak(t)
}

// TestTenantAdmins checks that each tenant's admin sees and changes only its own tenant's policy,
// change log and API keys.
func TestTenantAdmins(t *testing.T) {
	srv := tenantService(t)
	acmeAdmin, demoAdmin := tenantCaller(t, "acme", "admin"), tenantCaller(t, "demo", "admin")

	if got := policyLines(t, srv, acmeAdmin); !slices.Equal(got, acmeRules) {
		t.Errorf("acme's policy = %q\nwant acme's rules %q", got, acmeRules)
	}
	var demoRules []string
	for line := range bytes.Lines(demo.Policy) {
		if s := strings.TrimSpace(string(line)); s != "" && !strings.HasPrefix(s, "#") {
			demoRules = append(demoRules, s)
		}
	}
	if got := policyLines(t, srv, demoAdmin); len(got) != len(demoRules) || slices.ContainsFunc(got, func(l string) bool { return strings.Contains(l, "acme") }) {
		t.Errorf("the demo's policy = %q\nwant the demo's %d rules", got, len(demoRules))
	}

	acmeChange := grantMutation("grant", "analyst", "metric:gmv_paid", "read").apply(t, srv, acmeAdmin)
	demoChange := grantMutation("grant", "viewer", "metric:order_count", "query").apply(t, srv, demoAdmin)
	if acmeChange.Actor != "ada@acme" || demoChange.Actor != "ada@demo" {
		t.Errorf("actors %q and %q, want ada@acme and ada@demo", acmeChange.Actor, demoChange.Actor)
	}
	if log := policyChangeLog(t, srv, acmeAdmin); !slices.Equal(log, []policyChangeNode{acmeChange}) {
		t.Errorf("acme's policyChanges = %+v, want only %+v", log, acmeChange)
	}
	if log := policyChangeLog(t, srv, demoAdmin); !slices.Equal(log, []policyChangeNode{demoChange}) {
		t.Errorf("the demo's policyChanges = %+v, want only %+v", log, demoChange)
	}
	// The demo's rule is not acme's to remove.
	wantTenantError(t, grantMutation("revokeGrant", "viewer", "metric:order_count", "query").send(t, srv, acmeAdmin), CodeNotFound, "demo")

	var created struct {
		CreateApiKey struct {
			Key    string
			APIKey struct{ ID string }
		}
	}
	mustData(t, postAs(t, srv, demoAdmin, `mutation { createApiKey(input: {name: "export", roles: ["viewer"]}) { key apiKey { id } } }`, nil), &created)
	id, key := created.CreateApiKey.APIKey.ID, created.CreateApiKey.Key
	wantTenantError(t, postAs(t, srv, acmeAdmin, `mutation($id: ID!) { revokeApiKey(id: $id) { seq } }`, map[string]any{"id": id}), CodeNotFound, "demo", id)
	var keys struct{ APIKeys []struct{ ID string } }
	mustData(t, postAs(t, srv, acmeAdmin, `{ apiKeys { id } }`, nil), &keys)
	if len(keys.APIKeys) != 0 {
		t.Errorf("acme's admin lists the demo's keys: %+v", keys.APIKeys)
	}
	var v struct {
		Viewer struct{ Subject, Tenant string }
	}
	mustData(t, postAs(t, srv, key, `{ viewer { subject tenant } }`, nil), &v)
	if v.Viewer.Subject != "api_key:"+id || v.Viewer.Tenant != "demo" {
		t.Errorf("after acme tried to revoke it, the key runs as %+v", v.Viewer)
	}
	if log := policyChangeLog(t, srv, acmeAdmin); len(log) != 1 {
		t.Errorf("acme's policyChanges after the refused revoke: %+v", log)
	}

	// acme's analyst is no admin of acme, and hears nothing of the demo.
	acmeAnalyst := tenantCaller(t, "acme", "analyst")
	wantTenantError(t, postAs(t, srv, acmeAnalyst, `{ accessPolicy { tenant } }`, nil), CodeForbidden, "demo", "tenant acme")
}

// TestTenantWithoutRules checks that a tenant the policy does not mention has nothing: its
// callers, whatever roles their tokens carry, see an empty catalog, every metric is unknown, and
// no error names another tenant.
func TestTenantWithoutRules(t *testing.T) {
	srv := tenantService(t)
	tok := tokenFor(t, "ann", "globex", []string{"analyst", "admin"}, nil)
	var data struct {
		Metrics    struct{ TotalCount int }
		Domains    []nameNode
		DataModels struct{ TotalCount int }
	}
	mustData(t, postAs(t, srv, tok, `{ metrics { totalCount } domains { name } dataModels { totalCount } }`, nil), &data)
	if data.Metrics.TotalCount != 0 || len(data.Domains) != 0 || data.DataModels.TotalCount != 0 {
		t.Errorf("a tenant without rules sees %+v", data)
	}
	for _, name := range []string{"order_count", "gmv_paid"} {
		r := sendQuery(t, srv, tok, queryInput([]string{name}, nil))
		checkNotFound(t, r, name, matrixRole{name: "globex"})
		for _, other := range []string{"demo", "acme"} {
			wantTenantError(t, r, CodeNotFound, other)
		}
	}
	wantTenantError(t, postAs(t, srv, tok, `{ accessPolicy { tenant } }`, nil), CodeForbidden, "demo", "tenant globex")
	checkNoLeak(t)
}
