package semantic_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/golden"
	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
)

// demoService returns a service over the demo definitions (no data: it only compiles) whose
// policy is the demo's.
func demoService(t *testing.T) *semantic.Service {
	t.Helper()
	cat := demoCatalog(t)
	a, err := demo.NewAuthorizer(context.Background(), cat, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return semantic.NewService(cat, engine.New(engine.NewSources(nil), engine.Options{}), semantic.ServiceOptions{Authorizer: a})
}

func accessAs(t *testing.T, svc *semantic.Service, role string, attrs map[string]any) *semantic.Access {
	t.Helper()
	acc, err := svc.Access(&authz.Principal{Subject: "someone", Tenant: "demo", Roles: []string{role}, Attributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	return acc
}

// TestCompileAccessPlans compiles queries as callers with row filters and masks and compares the
// plans with golden files: the filter on every scan of a filtered model (the measure's, the
// models joined in, the bridge's), order items filtered through their orders, masked values
// grouped and filtered, and a caller with no usable claim scanning nothing.
func TestCompileAccessPlans(t *testing.T) {
	svc := demoService(t)
	east := map[string]any{"region": "east"}
	cases := []struct {
		name  string
		role  string
		attrs map[string]any
		q     semantic.MetricQuery
	}{
		{"east_sales paid GMV by customer city", "east_sales", east,
			semantic.MetricQuery{Metrics: []string{"gmv_paid"}, Dimensions: []string{"customers.city"}}},
		{"east_sales units sold by category", "east_sales", east,
			semantic.MetricQuery{Metrics: []string{"items_sold"}, Dimensions: []string{"products.category"}}},
		{"east_sales paid GMV by category through order items", "east_sales", east,
			semantic.MetricQuery{Metrics: []string{"gmv_paid"}, Dimensions: []string{"products.category"}}},
		{"regional_manager orders by channel", "regional_manager", map[string]any{"regions": []any{"east", "north"}},
			semantic.MetricQuery{Metrics: []string{"order_count"}, Dimensions: []string{"orders.channel"}}},
		{"east_sales with no claim", "east_sales", nil,
			semantic.MetricQuery{Metrics: []string{"order_count"}}},
		{"support customers by masked name", "support", nil,
			semantic.MetricQuery{Metrics: []string{"customer_count"}, Dimensions: []string{"customers.name"},
				Filters: []semantic.QueryFilter{{Dimension: "customers.name", Op: semantic.NotEquals, Values: []string{"W******g"}}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cq, err := svc.Compile(accessAs(t, svc, c.role, c.attrs), c.q)
			if err != nil {
				t.Fatal(err)
			}
			golden.Compare(t, filepath.Join("testdata", "access", golden.Name(c.name)+".txt"), plan.Format(cq.Plan))
		})
	}
}

// TestAccessDecisions checks what each demo role finds by name, lists and may query.
func TestAccessDecisions(t *testing.T) {
	svc := demoService(t)
	east := accessAs(t, svc, "east_sales", map[string]any{"region": "east"})
	viewer := accessAs(t, svc, "viewer", nil)
	analyst := accessAs(t, svc, "analyst", nil)
	for _, name := range []string{"coupon_rate", "net_take_rate"} {
		if east.Metric(name) != nil || slices.ContainsFunc(east.Metrics(), func(m *semantic.Metric) bool { return m.Name == name }) {
			t.Errorf("east_sales sees %s", name)
		}
		if analyst.Metric(name) == nil {
			t.Errorf("analyst does not see %s", name)
		}
	}
	if east.Dimension("customers.name") != nil || slices.Contains(names(east.ModelDimensions(east.Model("customers"))), "name") {
		t.Error("east_sales sees customers.name")
	}
	if d := analyst.Dimension("customers.name"); d == nil || analyst.Mask(d) != "" {
		t.Error("analyst does not see customers.name unmasked")
	}
	if d := accessAs(t, svc, "support", nil).Dimension("customers.name"); d == nil {
		t.Error("support does not see customers.name")
	} else if k := accessAs(t, svc, "support", nil).Mask(d); k != authz.MaskPartial {
		t.Errorf("support sees customers.name masked %q, want partial", k)
	}
	// The finance domain stays visible to east_sales through gmv_paid, tagged core, not finance.
	if east.Domain("finance") == nil {
		t.Error("east_sales does not see the finance domain, though it sees gmv_paid in it")
	}
	if _, err := svc.Compile(viewer, semantic.MetricQuery{Metrics: []string{"gmv_paid"}}); !errors.Is(err, semantic.ErrForbidden) ||
		!strings.Contains(err.Error(), "may see metric gmv_paid but not query it") {
		t.Errorf("viewer querying gmv_paid: %v, want forbidden", err)
	}
	if _, err := svc.Compile(viewer, semantic.MetricQuery{Metrics: []string{"coupon_rate"}}); !errors.Is(err, semantic.ErrNotFound) {
		t.Errorf("viewer querying coupon_rate: %v, want not found", err)
	}
	// A hidden name and an unknown one get the same error, word for word.
	_, hidden := svc.Compile(east, semantic.MetricQuery{Metrics: []string{"aov"}, Dimensions: []string{"customers.name"}})
	_, unknown := svc.Compile(east, semantic.MetricQuery{Metrics: []string{"aov"}, Dimensions: []string{"customers.nam"}})
	if hidden == nil || unknown == nil || strings.Replace(unknown.Error(), "customers.nam\"", "customers.name\"", 1) != hidden.Error() {
		t.Errorf("hidden %q and unknown %q differ", hidden, unknown)
	}
	if strings.Contains(hidden.Error(), "Did you mean \"customers.name\"") {
		t.Errorf("the error suggests the hidden name: %v", hidden)
	}
}

func names(dims []*semantic.Dimension) []string {
	var out []string
	for _, d := range dims {
		out = append(out, d.Name)
	}
	return out
}

// TestCheckPolicy checks that each kind of rule the definitions cannot bind is refused, with
// its line and a message that says what to fix.
func TestCheckPolicy(t *testing.T) {
	cat := demoCatalog(t)
	tests := []struct {
		rule string
		want string
	}{
		{`row_filter, r, demo, ordres, "region = 'east'"`, `there is no data model ordres. Did you mean "orders"?`},
		{`row_filter, r, demo, orders, "region = "`, "syntax error"},
		{`row_filter, r, demo, orders, "regoin = 'east'"`, "model orders has no column regoin (did you mean region?)"},
		{`row_filter, r, demo, orders, "region = {user.regoin}"`, `{user.regoin} is not an attribute of tenant demo; declare it with a line such as "attribute, demo, regoin, string" (the attributes are region, regions, roles, sub, tenant)`},
		{`row_filter, r, demo, orders, "region = {user.regions}"`, "{user.regions} holds a list; use it as the list of IN"},
		{`row_filter, r, demo, orders, "region"`, "is a string, not a condition"},
		{`row_filter, r, demo, orders, "amount = {user.region}"`, `is not a number`},
		{`row_filter, r, demo, customers, "orders.region = 'east'"`, "orders is reached from customers through a one-to-many relationship"},
		{`row_filter, r, demo, orders, "nowhere.x = 1"`, "there is no data model nowhere"},
		{`mask, r, demo, orders.created_at, hash`, "orders.created_at is a timestamp; only text dimensions can be masked"},
		{`mask, r, demo, orders.regoin, hash`, `there is no dimension orders.regoin. Did you mean "orders.region"?`},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			text := "attribute, demo, region, string\nattribute, demo, regions, strings\n" + tt.rule + "\n"
			st, err := authz.ParsePolicyFile("policy.csv", []byte(text))
			if err != nil {
				t.Fatal(err)
			}
			err = semantic.CheckPolicy(cat, authz.NewPolicy(st))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.HasPrefix(err.Error(), "line 3: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not start with line 3 or say %q", err, tt.want)
			}
		})
	}
}
