package mcp

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/store"
)

// serveGoverned serves, over HTTP in demo mode, the demo's definitions kept in a new metadata
// store, after running gmv_placed's quality rules: orders_fresh fails, the demo's data ending
// with 2025.
func serveGoverned(t *testing.T) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	svc := governedDemo(t).Service
	if _, err := svc.RunQualityRules(ctx, svc.Catalog().FullAccess(), semantic.QualitySelection{Metric: "gmv_placed"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewServer(svc, Options{Logger: quietLogger()}).Handler(authenticator(t, true)))
	t.Cleanup(srv.Close)
	return srv
}

// TestQualityFlags checks that an assistant learns what a GraphQL client reads in
// extensions.quality: query_metrics flags gmv_placed, in its structured answer and its text, and
// describe_metric lists the failing rule and the score among its caveats; a role that may not see
// a metric learns nothing of its quality.
func TestQualityFlags(t *testing.T) {
	srv := serveGoverned(t)
	cs := connect(t, srv, "")

	var out QueryOutput
	res := callOK(t, cs, "query_metrics", map[string]any{"metrics": []string{"gmv_placed", "customer_count"}}, &out)
	if len(out.Quality) != 1 || out.Quality[0].Metric != "gmv_placed" || out.Quality[0].Status != store.QualityFail ||
		out.Quality[0].Score == nil || *out.Quality[0].Score != 92.86 || len(out.Quality[0].Rules) != 1 {
		t.Fatalf("query_metrics's quality flags: %+v", out.Quality)
	}
	if r := out.Quality[0].Rules[0]; r.Name != "orders_fresh" || r.Status != store.QualityFail || r.Value == nil ||
		r.Threshold != "warns above 1d, fails above 2d" || r.At.IsZero() {
		t.Errorf("the flagged rule: %+v", r)
	}
	text := resultText(res)
	if !strings.Contains(text, "Data quality: metric gmv_placed crossed a quality red line (score 92.86 of 100): rule orders_fresh (freshness) failed, measuring ") ||
		strings.Contains(text, "metric customer_count crossed") {
		t.Errorf("query_metrics's text does not flag gmv_placed alone:\n%s", text)
	}

	var desc MetricDescription
	callOK(t, cs, "describe_metric", map[string]any{"metric": "gmv_paid"}, &desc)
	if !slices.ContainsFunc(desc.Caveats, func(c string) bool {
		return strings.HasPrefix(c, "data quality: metric gmv_paid crossed a quality red line (score 92.86 of 100): rule orders_fresh (freshness) failed") &&
			strings.Contains(c, "fails above 2d")
	}) || desc.Quality == nil || desc.Quality.Rules[0].Name != "orders_fresh" {
		t.Errorf("gmv_paid's caveats %q do not list orders_fresh; quality %+v", desc.Caveats, desc.Quality)
	}
	callOK(t, cs, "describe_metric", map[string]any{"metric": "customer_count"}, &desc)
	if desc.Quality != nil || slices.ContainsFunc(desc.Caveats, func(c string) bool { return strings.HasPrefix(c, "data quality") }) {
		t.Errorf("customer_count, without rules, has caveats %q", desc.Caveats)
	}

	// east_sales may not see coupon_rate, built on the orders: its quality does not exist for it.
	east := connect(t, srv, tokenFor(t, "eve", "east_sales", map[string]any{"region": "east"}))
	for _, tool := range []string{"query_metrics", "describe_metric"} {
		args := map[string]any{"metric": "coupon_rate"}
		if tool == "query_metrics" {
			args = map[string]any{"metrics": []string{"coupon_rate"}}
		}
		if msg := callError(t, east, tool, args); strings.Contains(msg, "quality") || strings.Contains(msg, "orders_fresh") {
			t.Errorf("%s tells east_sales of coupon_rate's quality: %s", tool, msg)
		}
	}
	// What it may see is flagged for it as for anyone.
	callOK(t, east, "query_metrics", map[string]any{"metrics": []string{"gmv_placed"}}, &out)
	if len(out.Quality) != 1 || out.Quality[0].Metric != "gmv_placed" {
		t.Errorf("east_sales's flags: %+v", out.Quality)
	}
	checkNoLeak(t)
}

// TestDeprecationNotice: once coupon_spend_placed is deprecated through review, describe_metric
// says what replaces it and when it is retired, and query_metrics warns in the words GraphQL
// and SQL clients read.
func TestDeprecationNotice(t *testing.T) {
	ctx := context.Background()
	g := governedDemo(t)
	as := func(sub, role string) *semantic.Access {
		acc, err := g.Service.Access(&authz.Principal{Subject: sub, Tenant: "demo", Roles: []string{role}})
		if err != nil {
			t.Fatal(err)
		}
		return acc
	}
	dep := &store.Deprecation{Replacement: "coupon_spend", Sunset: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)}
	cr, err := g.Governance.Propose(ctx, as("ann", "analyst"), semantic.Proposal{Title: "deprecate",
		Items: []semantic.ProposedItem{{Action: store.Deprecate, Kind: store.KindMetric, Name: "coupon_spend_placed", Deprecation: dep}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Governance.Review(ctx, as("fay", "finance_steward"), cr.ID, cr.Revision, store.Approve, ""); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewServer(g.Service, Options{Logger: quietLogger()}).Handler(authenticator(t, true)))
	t.Cleanup(srv.Close)
	cs := connect(t, srv, "")

	const notice = "deprecated; use coupon_spend instead (it will be retired on 2027-03-01)"
	var desc MetricDescription
	callOK(t, cs, "describe_metric", map[string]any{"metric": "coupon_spend_placed"}, &desc)
	if desc.Deprecation != notice {
		t.Errorf("describe_metric's deprecation %q, want %q", desc.Deprecation, notice)
	}
	var out QueryOutput
	res := callOK(t, cs, "query_metrics", map[string]any{"metrics": []string{"coupon_spend_placed"}}, &out)
	if want := []string{"metric coupon_spend_placed is " + notice}; !slices.Equal(out.Warnings, want) {
		t.Errorf("query_metrics's warnings %q, want %q", out.Warnings, want)
	}
	if !strings.Contains(resultText(res), "metric coupon_spend_placed is "+notice) {
		t.Errorf("query_metrics's text does not warn:\n%s", resultText(res))
	}
	callOK(t, cs, "describe_metric", map[string]any{"metric": "coupon_spend"}, &desc)
	if desc.Deprecation != "" {
		t.Errorf("coupon_spend is not deprecated, yet describe_metric says %q", desc.Deprecation)
	}
}
