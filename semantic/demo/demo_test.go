package demo_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
)

// demoResolver serves the schemas of the generated demo dataset.
type demoResolver struct{}

func (demoResolver) TableSchema(_ context.Context, src semantic.Source) (*arrow.Schema, error) {
	if src.Connection == semantic.DemoConnection {
		if s, ok := demodata.Schema(src.Table); ok {
			return s, nil
		}
	}
	return nil, &semantic.UnknownTableError{Connection: src.Connection, Table: src.Table, Tables: demodata.TableNames()}
}

func load(t *testing.T) *semantic.Catalog {
	t.Helper()
	cat, err := semantic.LoadFS(context.Background(), demo.FS, demoResolver{})
	if err != nil {
		t.Fatalf("load the demo definitions:\n%v", err)
	}
	return cat
}

func TestDemoMetrics(t *testing.T) {
	cat := load(t)
	tests := []struct {
		name   string
		kind   semantic.MetricKind
		domain string
	}{
		{"order_count", semantic.Atomic, "sales"},
		{"gmv_placed", semantic.Atomic, "sales"},
		{"gmv_paid", semantic.Derived, "finance"},
		{"paid_order_count", semantic.Derived, "sales"},
		{"gmv_net_placed", semantic.Atomic, "finance"},
		{"gmv_net", semantic.Derived, "finance"},
		{"coupon_spend_placed", semantic.Atomic, "finance"},
		{"coupon_spend", semantic.Derived, "finance"},
		{"aov", semantic.Composite, "sales"},
		{"ordering_customers", semantic.Atomic, "sales"},
		{"buyers", semantic.Derived, "sales"},
		{"items_sold", semantic.Atomic, "sales"},
		{"item_revenue", semantic.Atomic, "sales"},
		{"refunded_order_count", semantic.Derived, "operations"},
		{"settled_order_count", semantic.Derived, "operations"},
		{"refund_rate", semantic.Composite, "operations"},
		{"refund_count", semantic.Derived, "operations"},
		{"gmv_paid_7d", semantic.Derived, "sales"},
		{"gmv_paid_mtd", semantic.Derived, "sales"},
		{"gmv_paid_ytd", semantic.Derived, "sales"},
		{"gmv_paid_running", semantic.Derived, "sales"},
		{"gmv_paid_fytd", semantic.Derived, "sales"},
		{"buyers_30d", semantic.Derived, "sales"},
		{"buyers_ytd", semantic.Derived, "sales"},
		{"aov_7d", semantic.Derived, "sales"},
		{"gmv_paid_last_year", semantic.Derived, "sales"},
		{"gmv_paid_yoy", semantic.Composite, "sales"},
		{"stock_on_hand", semantic.Atomic, "operations"},
		{"opening_stock", semantic.Atomic, "operations"},
		{"order_amount_median", semantic.Atomic, "sales"},
		{"order_amount_p90_placed", semantic.Atomic, "sales"},
		{"paid_order_amount_p90", semantic.Derived, "sales"},
		{"order_amount_median_30d", semantic.Derived, "sales"},
		{"revenue_per_buyer", semantic.Composite, "sales"},
		{"orders_per_buyer", semantic.Composite, "sales"},
		{"customer_count", semantic.Atomic, "sales"},
		{"coupon_rate", semantic.Composite, "finance"},
		{"net_take_rate", semantic.Composite, "finance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := cat.Metric(tt.name)
			if m == nil {
				t.Fatalf("no metric %s", tt.name)
			}
			if m.Kind != tt.kind || m.Domain != tt.domain {
				t.Errorf("metric %s is %s in %s, want %s in %s", tt.name, m.Kind, m.Domain, tt.kind, tt.domain)
			}
			if m.Label == "" || m.Description == "" || len(m.Synonyms) == 0 || m.Unit == "" || m.Format == "" || m.Owner == "" || len(m.Tags) == 0 {
				t.Errorf("metric %s lacks a label, description, synonym, unit, format, owner or tag: %+v", tt.name, m)
			}
			if cat.Domain(m.Domain) == nil {
				t.Errorf("metric %s is in undeclared domain %s", tt.name, m.Domain)
			}
		})
	}
	if len(cat.Metrics()) != len(tests) {
		t.Errorf("%d metrics, want %d", len(cat.Metrics()), len(tests))
	}
}

func TestDemoDefinitions(t *testing.T) {
	cat := load(t)
	names := func(ms []*semantic.Metric) string {
		s := ""
		for i, m := range ms {
			if i > 0 {
				s += ", "
			}
			s += m.Name
		}
		return s
	}
	tests := []struct {
		name      string
		got, want string
	}{
		{"aov depends on", names(cat.Metric("aov").DependsOn()), "gmv_paid, paid_order_count"},
		{"refund_rate depends on", names(cat.Metric("refund_rate").DependsOn()), "refunded_order_count, settled_order_count"},
		{"gmv_paid depends on", names(cat.Metric("gmv_paid").DependsOn()), "gmv_placed"},
		{"aov formula", cat.Metric("aov").Formula.String(), "(gmv_paid / paid_order_count)"},
		{"gmv_paid filter", cat.Metric("gmv_paid").Filters[0].String(), `orders.status in ["paid" "shipped" "completed"]`},
		{"refunded filter", cat.Metric("refunded_order_count").Filters[0].String(), `orders.status equals ["refunded"]`},
		{"gmv_placed measure", cat.Metric("gmv_placed").Measure.QualifiedName(), "orders.amount_total"},
		{"net amount", cat.Model("orders").Measure("net_amount_total").Expr.String(), "(orders.amount - coalesce(orders.coupon_amount, 0))"},
		{"item revenue", cat.Model("order_items").Measure("revenue_total").Expr.String(), "(order_items.quantity * order_items.price)"},
		{"order count", cat.Model("orders").Measure("order_count").Agg.String(), "count"},
		{"created_at type", string(cat.Dimension("orders.created_at").Type), "time"},
		{"signup_date type", string(cat.Dimension("customers.signup_date").Type), "time"},
		{"is_paid type", string(cat.Dimension("orders.is_paid").Type), "boolean"},
		{"price_band type", string(cat.Dimension("products.price_band").Type), "string"},
		{"segment type", string(cat.Dimension("customers.segment").Type), "string"},
		{"models", modelNames(cat), "customers, inventory, order_items, orders, products"},
		{"stock is a balance", cat.Model("inventory").Measure("units_on_hand").SemiAdditive.Over.QualifiedName(), "inventory.snapshot_date"},
		{"p90", fmt.Sprint(cat.Model("orders").Measure("amount_p90").Fraction), "0.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %s, want %s", tt.got, tt.want)
			}
		})
	}
	for _, d := range []string{"orders.region", "orders.channel", "orders.status", "orders.created_at", "orders.paid_at",
		"customers.segment", "customers.region", "customers.city", "customers.name", "customers.signup_date",
		"products.category", "products.brand"} {
		if cat.Dimension(d) == nil {
			t.Errorf("no dimension %s", d)
		}
	}
}

// TestDemoPolicy checks that the shipped policy parses and binds to the demo definitions, and
// that its roles decide as the README says.
func TestDemoPolicy(t *testing.T) {
	cat := load(t)
	st, err := authz.ParsePolicyFile(demo.PolicyFile, demo.Policy)
	if err != nil {
		t.Fatal(err)
	}
	p := authz.NewPolicy(st)
	if err := semantic.CheckPolicy(cat, p); err != nil {
		t.Fatalf("the demo policy does not bind to the demo definitions:\n%v", err)
	}
	name := cat.Dimension("customers.name").AccessObject()
	coupon := cat.Metric("coupon_rate").AccessObject()
	gmv := cat.Metric("gmv_paid").AccessObject()
	tests := []struct {
		role string
		obj  authz.Object
		act  authz.Action
		want bool
	}{
		{"analyst", name, authz.Query, true},
		{"analyst", coupon, authz.Query, true},
		{"viewer", gmv, authz.Read, true},
		{"viewer", gmv, authz.Query, false},
		{"viewer", coupon, authz.Read, false},
		{"east_sales", gmv, authz.Query, true},
		{"east_sales", name, authz.Read, false},
		{"east_sales", coupon, authz.Read, false},
		{"finance", coupon, authz.Query, true},
		{"finance", name, authz.Read, false},
		{"support", name, authz.Query, true},
		{"admin", authz.Object{Kind: authz.PolicyObject, Name: "demo"}, authz.Admin, true},
		{"analyst", authz.Object{Kind: authz.PolicyObject, Name: "demo"}, authz.Admin, false},
	}
	for _, tt := range tests {
		who := &authz.Principal{Subject: "someone", Tenant: "demo", Roles: []string{tt.role}}
		if got := p.Grants(who).Allowed(tt.obj, tt.act); got != tt.want {
			t.Errorf("%s %s %s: %v, want %v", tt.role, tt.act, tt.obj, got, tt.want)
		}
	}
}

func modelNames(cat *semantic.Catalog) string {
	s := ""
	for i, m := range cat.Models() {
		if i > 0 {
			s += ", "
		}
		s += m.Name
	}
	return s
}

func TestDemoJoinPaths(t *testing.T) {
	cat := load(t)
	tests := []struct {
		from, to string
		hops     int
		fansOut  bool
	}{
		{"orders", "products", 2, true},
		{"orders", "customers", 1, false},
		{"order_items", "customers", 2, false},
		{"order_items", "products", 1, false},
		{"customers", "orders", 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.from+"->"+tt.to, func(t *testing.T) {
			path, err := cat.JoinPath(cat.Model(tt.from), cat.Model(tt.to))
			if err != nil {
				t.Fatal(err)
			}
			if len(path) != tt.hops || semantic.FansOut(path) != tt.fansOut {
				t.Errorf("path %v: %d hops, fans out %t; want %d, %t", path, len(path), semantic.FansOut(path), tt.hops, tt.fansOut)
			}
		})
	}
}
