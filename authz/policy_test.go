package authz

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// testPolicy is the policy the decision tests share: two tenants whose roles have the same
// names, a priority exception to a deny, role inheritance, a rule for everyone, and facets.
const testPolicy = `
# tenant demo
p, viewer, demo, *, read, allow
p, viewer, demo, tag:finance, *, deny
p, analyst, demo, *, read, allow
p, analyst, demo, *, query, allow
g, east_sales, viewer, demo
p, east_sales, demo, *, query, allow
p, east_sales, demo, dimension:customers.name, *, deny
g, finance, viewer, demo
p, finance, demo, tag:finance, *, allow, 10
p, finance, demo, metric:gmv_*, query, allow
p, *, demo, tag:pii, *, deny, 50
p, pii_reader, demo, tag:pii, read, allow, 20
g, alice, finance, demo
p, admin, demo, *, *, allow
row_filter, east_sales, demo, orders, "region = {user.region}"
row_filter, east_sales, demo, model:customers, "region = {user.region}"
row_filter, regional, demo, orders, "region IN {user.regions}"
mask, support, demo, customers.name, partial
mask, auditor, demo, dimension:customers.name, hash
attribute, demo, region, string
attribute, demo, regions, strings

# tenant acme: the same role names mean other things
p, analyst, acme, domain:sales, read, allow
row_filter, analyst, acme, orders, "channel = 'app'"
`

func mustParse(t testing.TB, text string) *Policy {
	t.Helper()
	st, err := ParsePolicyFile("policy.csv", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return NewPolicy(st)
}

var (
	gmvPaid      = Object{Kind: MetricObject, Name: "gmv_paid", Domain: "finance", Models: []string{"orders"}, Tags: []string{"core", "gmv"}}
	couponRate   = Object{Kind: MetricObject, Name: "coupon_rate", Domain: "finance", Tags: []string{"finance"}}
	orderCount   = Object{Kind: MetricObject, Name: "order_count", Domain: "sales", Tags: []string{"core"}}
	customerName = Object{Kind: DimensionObject, Name: "customers.name", Models: []string{"customers"}, Tags: []string{"pii"}}
	orderRegion  = Object{Kind: DimensionObject, Name: "orders.region", Models: []string{"orders"}}
	ordersModel  = Object{Kind: ModelObject, Name: "orders"}
	demoPolicy   = Object{Kind: PolicyObject, Name: "demo"}
)

func TestGrantsDecide(t *testing.T) {
	p := mustParse(t, testPolicy)
	who := func(sub, tenant string, roles ...string) *Principal {
		return &Principal{Subject: sub, Tenant: tenant, Roles: roles}
	}
	cases := []struct {
		name string
		who  *Principal
		obj  Object
		act  Action
		want bool
	}{
		{"analyst reads everything", who("u", "demo", "analyst"), couponRate, Read, true},
		{"analyst queries", who("u", "demo", "analyst"), gmvPaid, Query, true},
		{"analyst may not administer", who("u", "demo", "analyst"), demoPolicy, Admin, false},
		{"viewer reads", who("u", "demo", "viewer"), gmvPaid, Read, true},
		{"viewer cannot query", who("u", "demo", "viewer"), gmvPaid, Query, false},
		{"viewer denied finance tag", who("u", "demo", "viewer"), couponRate, Read, false},
		{"east_sales inherits viewer's read", who("u", "demo", "east_sales"), orderCount, Read, true},
		{"east_sales queries", who("u", "demo", "east_sales"), orderRegion, Query, true},
		{"east_sales denied customer names", who("u", "demo", "east_sales"), customerName, Read, false},
		{"east_sales denied finance through viewer", who("u", "demo", "east_sales"), couponRate, Read, false},
		{"finance's priority beats viewer's deny", who("u", "demo", "finance"), couponRate, Read, true},
		{"finance queries gmv_* by pattern", who("u", "demo", "finance"), gmvPaid, Query, true},
		{"finance cannot query other metrics", who("u", "demo", "finance"), orderCount, Query, false},
		{"role assigned in the policy", who("alice", "demo"), couponRate, Read, true},
		{"everyone's pii deny beats a later allow", who("u", "demo", "analyst"), customerName, Read, false},
		{"a priority exception to everyone's deny", who("u", "demo", "pii_reader", "viewer"), customerName, Read, true},
		{"the exception is for read only", who("u", "demo", "pii_reader", "analyst"), customerName, Query, false},
		{"admin may do anything", who("u", "demo", "admin"), demoPolicy, Admin, true},
		{"model object", who("u", "demo", "east_sales"), ordersModel, Query, true},
		{"unknown role gets nothing", who("u", "demo", "intern"), orderCount, Read, false},
		{"other tenant's analyst reads its domain", who("u", "acme", "analyst"), orderCount, Read, true},
		{"other tenant's analyst: not finance", who("u", "acme", "analyst"), gmvPaid, Read, false},
		{"other tenant's analyst cannot query", who("u", "acme", "analyst"), orderCount, Query, false},
		{"unknown tenant gets nothing", who("u", "nowhere", "analyst"), orderCount, Read, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := p.Grants(c.who).Allowed(c.obj, c.act); got != c.want {
				t.Errorf("Allowed(%s, %s) = %v, want %v", c.obj, c.act, got, c.want)
			}
			ex, err := p.Explain(c.who, c.obj, c.act)
			if err != nil {
				t.Fatal(err)
			}
			if ex.Allowed != c.want {
				t.Errorf("casbin says %v, want %v (rule %v)", ex.Allowed, c.want, ex.Rule)
			}
		})
	}
}

func TestGrantsRowFiltersAndMasks(t *testing.T) {
	p := mustParse(t, testPolicy)
	east := p.Grants(&Principal{Subject: "u", Tenant: "demo", Roles: []string{"east_sales", "regional"}})
	if got := strings.Join(east.RowFilters("orders"), " | "); got != "region = {user.region} | region IN {user.regions}" {
		t.Errorf("orders row filters = %q", got)
	}
	if got := strings.Join(east.RowFilters("customers"), " | "); got != "region = {user.region}" {
		t.Errorf("customers row filters (model: prefix dropped) = %q", got)
	}
	if got := east.RowFilters("products"); got != nil {
		t.Errorf("products has no row filter, got %q", got)
	}
	if got := strings.Join(east.RowFilteredModels(), ","); got != "customers,orders" {
		t.Errorf("row-filtered models = %s", got)
	}
	both := p.Grants(&Principal{Subject: "u", Tenant: "demo", Roles: []string{"support", "auditor"}})
	if got := both.Mask("customers.name"); got != MaskHash {
		t.Errorf("hash and partial together mask as %q, want hash", got)
	}
	if got := p.Grants(&Principal{Subject: "u", Tenant: "demo", Roles: []string{"support"}}).Mask("customers.name"); got != MaskPartial {
		t.Errorf("support masks as %q", got)
	}
	if typ, ok := east.AttributeType("regions"); !ok || typ != AttrStrings {
		t.Errorf("regions is declared strings, got %q %v", typ, ok)
	}
	if _, ok := east.AttributeType("city"); ok {
		t.Error("city is not declared")
	}
	acme := p.Grants(&Principal{Subject: "u", Tenant: "acme", Roles: []string{"analyst"}})
	if got := strings.Join(acme.RowFilters("orders"), ""); got != "channel = 'app'" {
		t.Errorf("acme's analyst gets acme's filter only, got %q", got)
	}
	if _, ok := acme.AttributeType("region"); ok {
		t.Error("demo's attributes are not acme's")
	}
}

func TestGrantsCachedPerPrincipalKey(t *testing.T) {
	p := mustParse(t, testPolicy)
	a := p.Grants(&Principal{Subject: "u", Tenant: "demo", Roles: []string{"viewer", "analyst"}})
	b := p.Grants(&Principal{Subject: "u", Tenant: "demo", Roles: []string{"analyst", "viewer", "analyst"}})
	if a != b {
		t.Error("the same subject with the same roles in another order should share decisions")
	}
	if c := p.Grants(&Principal{Subject: "u", Tenant: "acme", Roles: []string{"viewer", "analyst"}}); c == a {
		t.Error("another tenant must not share decisions")
	}
}

func TestExplainNamesTheDecidingRule(t *testing.T) {
	p := mustParse(t, testPolicy)
	ex, err := p.Explain(&Principal{Subject: "u", Tenant: "demo", Roles: []string{"finance"}}, couponRate, Read)
	if err != nil {
		t.Fatal(err)
	}
	if !ex.Allowed || ex.Rule == nil || ex.Rule.String() != "p, finance, demo, tag:finance, *, allow, 10" || ex.Rule.Line != 11 {
		t.Errorf("explanation = %+v (rule %v)", ex, ex.Rule)
	}
	ex, err = p.Explain(&Principal{Subject: "u", Tenant: "demo", Roles: []string{"intern"}}, orderCount, Read)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Allowed || ex.Rule != nil {
		t.Errorf("no rule matches an intern, got %+v", ex)
	}
}

// TestGrantsAgreeWithCasbin generates random policies and requests and checks that the indexed
// decisions equal Casbin's enforcer running CasbinModel over the same rules.
func TestGrantsAgreeWithCasbin(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	subjects := []string{"u1", "u2", "r1", "r2", "r3", "r4", "*"}
	objects := []string{"*", "metric:m1", "metric:m*", "dimension:a.x", "dimension:a.*", "model:a", "domain:d1", "tag:t1", "tag:t?", "*:m1", "metric:{m1,m2}"}
	actions := []string{"read", "query", "admin", "*", "re*"}
	requests := []Object{
		{Kind: MetricObject, Name: "m1", Domain: "d1", Tags: []string{"t1"}},
		{Kind: MetricObject, Name: "m2", Domain: "d2", Tags: []string{"t2", "t1"}},
		{Kind: MetricObject, Name: "x", Domain: "d1"},
		{Kind: DimensionObject, Name: "a.x", Models: []string{"a"}, Tags: []string{"t3"}},
		{Kind: DimensionObject, Name: "b.y", Models: []string{"b"}},
		{Kind: ModelObject, Name: "a"},
		{Kind: DomainObject, Name: "d1"},
	}
	for round := 0; round < 60; round++ {
		var b strings.Builder
		for i := 0; i < 1+rng.IntN(14); i++ {
			eft := "allow"
			if rng.IntN(3) == 0 {
				eft = "deny"
			}
			tenant := "t"
			if rng.IntN(6) == 0 {
				tenant = "other"
			}
			fmt.Fprintf(&b, "p, %s, %s, %s, %s, %s, %d\n", subjects[rng.IntN(len(subjects))], tenant,
				objects[rng.IntN(len(objects))], actions[rng.IntN(len(actions))], eft, 10*rng.IntN(4))
		}
		for i := 0; i < rng.IntN(5); i++ {
			m, r := subjects[rng.IntN(4)], subjects[2+rng.IntN(4)]
			if m != r && m != "*" && r != "*" {
				fmt.Fprintf(&b, "g, %s, %s, t\n", m, r)
			}
		}
		st, err := ParsePolicyFile("random.csv", []byte(b.String()))
		if err != nil {
			continue // a duplicate line; the next round makes another
		}
		p := NewPolicy(st)
		for _, sub := range []string{"u1", "u2"} {
			for _, roles := range [][]string{nil, {"r1"}, {"r2", "r3"}} {
				who := &Principal{Subject: sub, Tenant: "t", Roles: roles}
				for _, o := range requests {
					for _, act := range []Action{Read, Query, Admin} {
						got := p.Grants(who).Allowed(o, act)
						ex, err := p.Explain(who, o, act)
						if err != nil {
							t.Fatal(err)
						}
						if got != ex.Allowed {
							t.Fatalf("policy:\n%s\n%s with roles %v, %s %s: Grants says %v, casbin %v (rule %v)", b.String(), sub, roles, act, o, got, ex.Allowed, ex.Rule)
						}
					}
				}
			}
		}
	}
}
