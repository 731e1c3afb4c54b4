package semantic_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
)

// largePolicy is the demo's policy plus generated rules, n in all: teams of tenant demo and of
// nine other tenants, each team with grants by domain, pattern and tag, a deny, a user, role
// inheritance and, for every fourth team, a row filter — the shape of a real deployment's policy
// rather than n copies of one rule.
func largePolicy(b *testing.B, n int) []byte {
	st, err := authz.ParsePolicyFile(demo.PolicyFile, demo.Policy)
	if err != nil {
		b.Fatal(err)
	}
	var out strings.Builder
	out.Write(demo.Policy)
	rules := len(st.Rules)
	for i := 0; rules < n; i++ {
		tenant := "demo"
		if i%2 == 1 {
			tenant = fmt.Sprintf("tenant%d", i%9)
		}
		team := fmt.Sprintf("team%d", i)
		lines := []string{
			fmt.Sprintf("p, %s, %s, domain:sales, read, allow", team, tenant),
			fmt.Sprintf("p, %s, %s, metric:gmv_*, query, allow, 50", team, tenant),
			fmt.Sprintf("p, %s, %s, tag:t%d, *, deny", team, tenant, i%17),
			fmt.Sprintf("p, %s, %s, dimension:customers.*, read, allow", team, tenant),
			fmt.Sprintf("p, user%d, %s, metric:order_count, query, allow", i, tenant),
			fmt.Sprintf("g, user%d, %s, %s", i, team, tenant),
			fmt.Sprintf("g, %s, viewer, %s", team, tenant),
		}
		if i%4 == 0 && tenant == "demo" {
			lines = append(lines, fmt.Sprintf("row_filter, %s, %s, orders, \"channel = 'app'\"", team, tenant))
		}
		for _, l := range lines {
			out.WriteString(l + "\n")
		}
		rules += len(lines)
	}
	return []byte(out.String())
}

// largePolicyService returns a service over the benchmark data whose policy has n rules.
func largePolicyService(b *testing.B, n int, opts engine.Options) (*semantic.Service, *semantic.Catalog) {
	b.Helper()
	src, err := benchData()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	cat, err := semantic.LoadFS(ctx, demo.FS, semantic.SourcesResolver(src))
	if err != nil {
		b.Fatal(err)
	}
	st, err := authz.ParsePolicyFile("large.csv", largePolicy(b, n))
	if err != nil {
		b.Fatal(err)
	}
	if len(st.Rules) < n {
		b.Fatalf("the policy has %d rules, want %d", len(st.Rules), n)
	}
	a, err := authz.NewAuthorizer(ctx, authz.NewMemoryStore(st), authz.AuthorizerOptions{
		Validate: func(p *authz.Policy) error { return semantic.CheckPolicy(cat, p) },
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	return semantic.NewService(cat, engine.New(src, opts), semantic.ServiceOptions{Authorizer: a}), cat
}

var eastSales = authz.Principal{Subject: "bob", Tenant: "demo", Roles: []string{"east_sales", "team8"}, Attributes: map[string]any{"region": "east"}}

// BenchmarkAuthorizeAndCompile compiles a query that joins customers to orders, with a filter,
// under a policy of 10,000 rules: with full access (no authorization), as the same east_sales
// user again and again (decisions remembered), and as a new user each time (every decision
// taken afresh). What authorization and the row-filter rewrite add is the difference from
// "full".
func BenchmarkAuthorizeAndCompile(b *testing.B) {
	svc, cat := largePolicyService(b, 10_000, engine.Options{})
	q := semantic.MetricQuery{Metrics: []string{"gmv_paid", "aov"}, Dimensions: []string{"customers.city"},
		Filters: []semantic.QueryFilter{{Dimension: "orders.channel", Op: semantic.InList, Values: []string{"app", "web"}}}}
	compile := func(b *testing.B, acc *semantic.Access) {
		if _, err := svc.Compile(acc, q); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("full", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			compile(b, cat.FullAccess())
		}
	})
	b.Run("same user", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			acc, err := svc.Access(&eastSales)
			if err != nil {
				b.Fatal(err)
			}
			compile(b, acc)
		}
	})
	b.Run("new user each time", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			who := eastSales
			who.Subject = fmt.Sprintf("user%d", i)
			i++
			acc, err := svc.Access(&who)
			if err != nil {
				b.Fatal(err)
			}
			compile(b, acc)
		}
	})
}

// BenchmarkQueryAuthorization runs paid GMV by region and month over 1,000,000 orders on one
// pipeline, under a policy of 10,000 rules: without authorization, as an analyst (authorized,
// every row), and as east_sales (authorized, east's rows only). The analyst's time over the
// unauthorized one is what authorization costs a whole query.
func BenchmarkQueryAuthorization(b *testing.B) {
	svc, cat := largePolicyService(b, 10_000, engine.Options{Parallelism: 1})
	q := semantic.MetricQuery{Metrics: []string{"gmv_paid"}, Dimensions: []string{"orders.region"},
		TimeDimension: &semantic.TimeGrouping{Dimension: "orders.created_at", Granularity: "month"}, Timezone: "Asia/Shanghai"}
	analyst, err := svc.Access(&authz.Principal{Subject: "ann", Tenant: "demo", Roles: []string{"analyst"}})
	if err != nil {
		b.Fatal(err)
	}
	east, err := svc.Access(&eastSales)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		acc  *semantic.Access
	}{{"analyst", analyst}, {"off", cat.FullAccess()}, {"east_sales", east}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res, err := svc.Query(context.Background(), c.acc, q)
				if err != nil {
					b.Fatal(err)
				}
				res.Release()
			}
		})
	}
}

// BenchmarkNotFound times the refusal of a metric that does not exist and of one that exists but
// is hidden from the caller (coupon_rate, tagged finance, for east_sales): the two must cost the
// same, so that timing cannot tell them apart.
func BenchmarkNotFound(b *testing.B) {
	svc, _ := largePolicyService(b, 10_000, engine.Options{})
	acc, err := svc.Access(&eastSales)
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"coupon_rat", "coupon_rate"} {
		b.Run(name, func(b *testing.B) {
			q := semantic.MetricQuery{Metrics: []string{name}}
			for b.Loop() {
				if _, err := svc.Compile(acc, q); !errors.Is(err, semantic.ErrNotFound) {
					b.Fatal(err)
				}
			}
		})
	}
}
