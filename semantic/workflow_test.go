package semantic_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
	"github.com/koujing/koujing/semantic/oracletest"
	"github.com/koujing/koujing/semantic/store"
)

// governed is a governed service over the demo data at scale 0.01, its store new and in memory,
// seeded with the demo definitions, its policy the demo's.
type governed struct {
	svc   *semantic.Service
	gov   *semantic.Governance
	store store.Store
	now   time.Time
}

func newGoverned(t *testing.T) *governed {
	t.Helper()
	return newGovernedCaching(t, engine.CacheOptions{})
}

// newGovernedCaching is newGoverned with an engine that keeps results as cache says.
func newGovernedCaching(t *testing.T, cache engine.CacheOptions) *governed {
	t.Helper()
	ctx := context.Background()
	mem := memory.NewGoAllocator()
	ds, err := demodata.Generate(ctx, mem, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	src := engine.NewSources(mem)
	t.Cleanup(src.Close)
	src.SetDemo(ds)
	st, err := store.OpenSQLite(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	defs, err := semantic.SplitDefinitions(demo.FS)
	if err != nil {
		t.Fatal(err)
	}
	g := &governed{store: st, now: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	g.gov, err = semantic.OpenGovernance(ctx, st, defs, semantic.GovernanceOptions{Resolver: semantic.SourcesResolver(src),
		Now: func() time.Time { return g.now }, Logger: quiet, Webhooks: []string{"https://hooks.example/koujing"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.gov.Close)
	a, err := demo.NewAuthorizer(ctx, g.gov.Catalog(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	g.svc = semantic.NewService(g.gov.Catalog(), engine.New(src, engine.Options{Allocator: mem, Cache: cache}), semantic.ServiceOptions{Authorizer: a, Governance: g.gov})
	return g
}

func (g *governed) as(t *testing.T, sub string, roles ...string) *semantic.Access {
	t.Helper()
	acc, err := g.svc.Access(&authz.Principal{Subject: sub, Tenant: "demo", Roles: roles})
	if err != nil {
		t.Fatal(err)
	}
	return acc
}

// value runs a query with no dimensions and returns its one number.
func (g *governed) value(t *testing.T, acc *semantic.Access, metric string) (float64, *semantic.Result) {
	t.Helper()
	res, err := g.svc.Query(context.Background(), acc, semantic.MetricQuery{Metrics: []string{metric}})
	if err != nil {
		t.Fatalf("%s: %v", metric, err)
	}
	defer res.Release()
	rows := oracletest.ResultRows(t, res)
	if len(rows) != 1 || len(rows[0]) != 1 || rows[0][0].Null {
		t.Fatalf("%s: rows %v", metric, rows)
	}
	v := rows[0][0]
	if v.Float != nil {
		return *v.Float, res
	}
	f, _ := v.Exact.Float64()
	return f, res
}

// near compares two numbers to a relative 1e-12, as the oracle compares a float with a decimal.
func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b)) }

func wantClass(t *testing.T, err, class error, words string) {
	t.Helper()
	if !errors.Is(err, class) || !strings.Contains(err.Error(), words) {
		t.Fatalf("error %v, want %v saying %q", err, class, words)
	}
}

const aovByOrders = `name: aov
label: Average order value
description: GMV per order, paid or not.
unit: CNY
format: currency
owner: sales-analytics
domain: sales
category: gmv
tags: [core, gmv]
kind: composite
expr: gmv_placed / order_count
`

// TestWorkflowPublishes proposes a new definition of aov, which the author may not approve; a
// sales steward approves it and it is published at once: queries answer with version 2, the
// numbers of the new formula, and version 1 stays queryable by pinning it.
func TestWorkflowPublishes(t *testing.T) {
	g := newGoverned(t)
	ctx := context.Background()
	ann, sam, vic := g.as(t, "ann", "analyst"), g.as(t, "sam", "sales_steward"), g.as(t, "vic", "viewer")
	if m := g.svc.Catalog().Metric("aov"); m.Version != 1 {
		t.Fatalf("aov is version %d after the import, want 1", m.Version)
	}
	placed, _ := g.value(t, ann, "gmv_placed")
	orders, _ := g.value(t, ann, "order_count")
	before, _ := g.value(t, ann, "aov")

	if _, err := g.gov.Propose(ctx, vic, semantic.Proposal{Title: "x", Items: []semantic.ProposedItem{{Action: store.Update, Kind: store.KindMetric, Name: "aov", YAML: aovByOrders}}}); !errors.Is(err, semantic.ErrForbidden) {
		t.Errorf("a viewer proposing: %v, want forbidden", err)
	}
	cr, err := g.gov.Propose(ctx, ann, semantic.Proposal{Title: "AOV over all orders", Rationale: "finance asked",
		Items: []semantic.ProposedItem{{Action: store.Update, Kind: store.KindMetric, Name: "aov", YAML: aovByOrders}}})
	if err != nil {
		t.Fatal(err)
	}
	if cr.Status != store.CROpen || cr.Revision < 1 || !slices.Equal(cr.Domains, []string{"sales"}) || cr.ApprovalsRequired != 1 ||
		len(cr.Items) != 1 || cr.Items[0].Version != 2 || cr.Items[0].BaseVersion != 1 || !cr.DueAt.Equal(g.now.Add(semantic.DefaultReviewSLA)) {
		t.Fatalf("change request %+v", cr)
	}
	diff, err := g.gov.Diff(ctx, cr)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, c := range diff["metric:aov"] {
		paths = append(paths, c.Path)
	}
	if !slices.Equal(paths, []string{"description", "expr", "synonyms"}) {
		t.Errorf("diff paths %v", paths)
	}
	// In review, the published definition still answers, and the proposal can be tried pinned.
	if now, _ := g.value(t, ann, "aov"); now != before {
		t.Error("a proposal changed the number before it was published")
	}
	if pinned, res := g.value(t, ann, "aov@2"); !near(pinned, placed/orders) || !slices.Contains(res.Versions, semantic.MetricVersion{Metric: "aov", Version: 2}) {
		t.Errorf("aov@2 = %v (versions %v), want placed GMV over orders %v", pinned, res.Versions, placed/orders)
	}

	_, err = g.gov.Review(ctx, ann, cr.ID, cr.Revision, store.Approve, "lgtm")
	wantClass(t, err, semantic.ErrForbidden, "wrote change request")
	_, err = g.gov.Review(ctx, vic, cr.ID, cr.Revision, store.Approve, "")
	wantClass(t, err, semantic.ErrForbidden, "may not review")
	_, err = g.gov.Review(ctx, sam, cr.ID, cr.Revision+1, store.Approve, "")
	wantClass(t, err, semantic.ErrConflict, "changed since you read it")

	cr, err = g.gov.Review(ctx, sam, cr.ID, cr.Revision, store.Approve, "matches the new definition")
	if err != nil {
		t.Fatal(err)
	}
	if cr.Status != store.CRPublished {
		t.Fatalf("after the one approval sales asks for: %s", cr.Status)
	}
	// A request that started before the publication answers from what it started with; the
	// next one from the new version.
	if now, _ := g.value(t, ann, "aov"); now != before {
		t.Error("a request's catalog changed under it")
	}
	ann = g.as(t, "ann", "analyst")
	after, res := g.value(t, ann, "aov")
	if !near(after, placed/orders) || !slices.Contains(res.Versions, semantic.MetricVersion{Metric: "aov", Version: 2}) {
		t.Errorf("published aov = %v (versions %v), want %v from version 2", after, res.Versions, placed/orders)
	}
	if old, _ := g.value(t, ann, "aov@1"); old != before {
		t.Errorf("aov@1 = %v, want the old number %v", old, before)
	}
	_, err = g.gov.Review(ctx, sam, cr.ID, cr.Revision, store.Approve, "")
	wantClass(t, err, semantic.ErrConflict, "is published; only an open request is reviewed")
	_, err = g.svc.Query(ctx, ann, semantic.MetricQuery{Metrics: []string{"aov@9"}})
	wantClass(t, err, semantic.ErrInvalidQuery, "metric aov has no version 9")
	_, err = g.svc.Query(ctx, ann, semantic.MetricQuery{Metrics: []string{"aov@1", "aov"}})
	wantClass(t, err, semantic.ErrInvalidQuery, "both pinned")

	versions, err := versionsOf(g, "aov")
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 2 || versions[0].Status != store.Superseded || versions[1].Status != store.Published || versions[1].PublishedAt.IsZero() {
		t.Errorf("versions of aov: %+v", versions)
	}
	events, err := g.store.Events(ctx, store.EventQuery{Tenant: "demo", Types: []string{"change_request", "definition.published"}})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range events {
		types = append(types, e.Type+" "+e.Actor)
	}
	want := []string{"change_request.proposed ann@demo", "definition.published ann@demo", "change_request.published sam@demo"}
	if !slices.Equal(types, want) {
		t.Errorf("events %v, want %v", types, want)
	}
	due, err := g.store.DueDeliveries(ctx, g.now.Add(time.Hour), 10)
	if err != nil || len(due) != 2 || due[0].URL != "https://hooks.example/koujing" || !strings.Contains(due[1].Payload, `"change_request.published"`) {
		t.Errorf("webhook outbox %+v %v", due, err)
	}
}

func versionsOf(g *governed, name string) ([]store.Version, error) {
	var out []store.Version
	err := g.store.View(context.Background(), func(tx store.Tx) error {
		var err error
		out, err = tx.Versions(store.VersionQuery{Kind: store.KindMetric, Name: name})
		return err
	})
	return out, err
}

// TestWorkflowTransitions checks that each action is taken only in the states it belongs to.
func TestWorkflowTransitions(t *testing.T) {
	g := newGoverned(t)
	ctx := context.Background()
	ann, sam := g.as(t, "ann", "analyst"), g.as(t, "sam", "sales_steward")
	item := []semantic.ProposedItem{{Action: store.Update, Kind: store.KindMetric, Name: "aov", YAML: aovByOrders}}
	draft, err := g.gov.Propose(ctx, ann, semantic.Proposal{Title: "draft", Items: item, Draft: true})
	if err != nil || draft.Status != store.CRDraft {
		t.Fatalf("draft: %+v %v", draft, err)
	}
	_, err = g.gov.Review(ctx, sam, draft.ID, draft.Revision, store.Approve, "")
	wantClass(t, err, semantic.ErrConflict, "only an open request is reviewed")
	_, err = g.gov.Submit(ctx, sam, draft.ID, draft.Revision)
	wantClass(t, err, semantic.ErrForbidden, "only the author")
	open, err := g.gov.Submit(ctx, ann, draft.ID, draft.Revision)
	if err != nil || open.Status != store.CROpen || open.Revision != draft.Revision+1 {
		t.Fatalf("submit: %+v %v", open, err)
	}
	_, err = g.gov.Submit(ctx, ann, open.ID, open.Revision)
	wantClass(t, err, semantic.ErrConflict, "not a draft")

	asked, err := g.gov.Review(ctx, sam, open.ID, open.Revision, store.RequestChanges, "say which orders")
	if err != nil || asked.Status != store.CRChangesRequested {
		t.Fatalf("request changes: %+v %v", asked, err)
	}
	amended, err := g.gov.Amend(ctx, ann, asked.ID, asked.Revision, []semantic.ProposedItem{{Action: store.Update, Kind: store.KindMetric, Name: "aov",
		YAML: strings.Replace(aovByOrders, "paid or not", "in any status", 1)}})
	if err != nil || amended.Status != store.CROpen || amended.Items[0].Version != 3 {
		t.Fatalf("amend: %+v %v", amended, err)
	}
	versions, _ := versionsOf(g, "aov")
	if versions[1].Status != store.Withdrawn || versions[2].Status != store.InReview {
		t.Errorf("after the amendment: %+v", versions)
	}
	withdrawn, err := g.gov.Withdraw(ctx, ann, amended.ID, amended.Revision)
	if err != nil || withdrawn.Status != store.CRWithdrawn {
		t.Fatalf("withdraw: %+v %v", withdrawn, err)
	}
	_, err = g.gov.Review(ctx, sam, withdrawn.ID, withdrawn.Revision, store.Approve, "")
	wantClass(t, err, semantic.ErrConflict, "is withdrawn")
	_, err = g.gov.Withdraw(ctx, ann, withdrawn.ID, withdrawn.Revision)
	wantClass(t, err, semantic.ErrConflict, "withdrawn already")
	_, err = g.gov.Review(ctx, sam, 999, 1, store.Approve, "")
	wantClass(t, err, semantic.ErrNotFound, "there is no change request 999")

	rejected, err := g.gov.Propose(ctx, ann, semantic.Proposal{Title: "again", Items: item})
	if err != nil {
		t.Fatal(err)
	}
	if rejected, err = g.gov.Review(ctx, sam, rejected.ID, rejected.Revision, store.Reject, "no"); err != nil || rejected.Status != store.CRRejected {
		t.Fatalf("reject: %+v %v", rejected, err)
	}
	if m := g.svc.Catalog().Metric("aov"); m.Version != 1 {
		t.Errorf("aov is version %d after a rejection, want 1", m.Version)
	}
	c, err := g.gov.Comment(ctx, sam, rejected.ID, 0, "we measure AOV on paid orders")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.gov.Comment(ctx, ann, rejected.ID, c.ID, "fair"); err != nil {
		t.Fatal(err)
	}
	_, err = g.gov.Comment(ctx, ann, rejected.ID, 12345, "to nothing")
	wantClass(t, err, semantic.ErrNotFound, "no comment 12345")
}

// TestWorkflowRefusesBadProposals checks each kind of proposal that must not open a request.
func TestWorkflowRefusesBadProposals(t *testing.T) {
	g := newGoverned(t)
	ctx := context.Background()
	ann := g.as(t, "ann", "analyst")
	tests := []struct {
		name  string
		item  semantic.ProposedItem
		class error
		want  string
	}{
		{"broken YAML", semantic.ProposedItem{Action: store.Update, Kind: store.KindMetric, Name: "aov", YAML: "name: aov\n  label: [x"}, semantic.ErrInvalidDefinition, "invalid YAML"},
		{"another name", semantic.ProposedItem{Action: store.Update, Kind: store.KindMetric, Name: "aov", YAML: "name: aob\n"}, semantic.ErrInvalidDefinition, `named "aob"`},
		{"not loadable", semantic.ProposedItem{Action: store.Update, Kind: store.KindMetric, Name: "aov", YAML: "name: aov\nexpr: gmv_paid / nope\n"}, semantic.ErrInvalidDefinition, "do not load"},
		{"create what exists", semantic.ProposedItem{Action: store.Create, Kind: store.KindMetric, Name: "aov", YAML: aovByOrders}, semantic.ErrConflict, "propose an update instead"},
		{"update nothing", semantic.ProposedItem{Action: store.Update, Kind: store.KindMetric, Name: "nope", YAML: "name: nope\n"}, semantic.ErrInvalidQuery, "no metric nope to update"},
		{"retire what others use", semantic.ProposedItem{Action: store.Retire, Kind: store.KindMetric, Name: "gmv_placed", Deprecation: &store.Deprecation{Note: "old"}}, semantic.ErrInvalidDefinition, "gmv_placed"},
		{"deprecate without a word", semantic.ProposedItem{Action: store.Deprecate, Kind: store.KindMetric, Name: "aov"}, semantic.ErrInvalidQuery, "say what replaces"},
		{"unknown action", semantic.ProposedItem{Action: "rename", Kind: store.KindMetric, Name: "aov", YAML: aovByOrders}, semantic.ErrInvalidQuery, "unknown action"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := g.gov.Propose(ctx, ann, semantic.Proposal{Title: tt.name, Items: []semantic.ProposedItem{tt.item}})
			wantClass(t, err, tt.class, tt.want)
		})
	}
	crs, err := g.store.ChangeRequests(ctx, store.CRQuery{})
	if err != nil || len(crs) != 0 {
		t.Errorf("refused proposals left requests: %+v %v", crs, err)
	}
}

// TestWorkflowTwoApprovalsAtOnce makes finance ask for two approvals, then has two finance
// stewards approve one request at the same moment: both approvals count and the request is
// published once.
func TestWorkflowTwoApprovalsAtOnce(t *testing.T) {
	g := newGoverned(t)
	ctx := context.Background()
	ann, fay, fin := g.as(t, "ann", "analyst"), g.as(t, "fay", "finance_steward"), g.as(t, "fin", "finance_steward")
	domain := "name: finance\nlabel: 财务 Finance\nowner: finance-bi\nreview:\n  approvals: 2\n  sla: 2d\n"
	cr, err := g.gov.Propose(ctx, ann, semantic.Proposal{Title: "finance asks for two approvals",
		Items: []semantic.ProposedItem{{Action: store.Update, Kind: store.KindDomain, Name: "finance", YAML: domain}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.gov.Review(ctx, fay, cr.ID, cr.Revision, store.Approve, ""); err != nil {
		t.Fatal(err)
	}
	if d := g.svc.Catalog().Domain("finance"); d.Review.Approvals != 2 || d.Review.SLA != 48*time.Hour {
		t.Fatalf("finance reviews with %+v", d.Review)
	}
	gmvNet := strings.Replace(mustVersion(t, g, "gmv_net"), "label: Net GMV", "label: Net GMV (paid)", 1)
	cr, err = g.gov.Propose(ctx, ann, semantic.Proposal{Title: "relabel",
		Items: []semantic.ProposedItem{{Action: store.Update, Kind: store.KindMetric, Name: "gmv_net", YAML: gmvNet}}})
	if err != nil {
		t.Fatal(err)
	}
	if cr.ApprovalsRequired != 2 || !cr.DueAt.Equal(g.now.Add(48*time.Hour)) {
		t.Errorf("request routed with %d approvals, due %s", cr.ApprovalsRequired, cr.DueAt)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, who := range []*semantic.Access{fay, fin} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = g.gov.Review(ctx, who, cr.ID, cr.Revision, store.Approve, "")
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := g.gov.ChangeRequest(ctx, ann, cr.ID)
	if err != nil || got.Status != store.CRPublished {
		t.Fatalf("after two approvals at once: %+v %v", got, err)
	}
	if m := g.svc.Catalog().Metric("gmv_net"); m.Label != "Net GMV (paid)" || m.Version != 2 {
		t.Errorf("gmv_net is %q version %d", m.Label, m.Version)
	}
	var reviews []store.Review
	_ = g.store.View(ctx, func(tx store.Tx) error { reviews, err = tx.Reviews(cr.ID); return err })
	if len(reviews) != 2 {
		t.Errorf("reviews %+v", reviews)
	}
}

func mustVersion(t *testing.T, g *governed, metric string) string {
	t.Helper()
	v, ok := g.svc.Catalog().VersionOf(store.KindMetric, metric)
	if !ok {
		t.Fatalf("no version of %s", metric)
	}
	return v.Definition
}

// TestWorkflowStaleBase publishes one of two requests that change the same metric: the other
// then refuses to publish until amended.
func TestWorkflowStaleBase(t *testing.T) {
	g := newGoverned(t)
	ctx := context.Background()
	ann, sam := g.as(t, "ann", "analyst"), g.as(t, "sam", "sales_steward")
	def := mustVersion(t, g, "aov")
	a, err := g.gov.Propose(ctx, ann, semantic.Proposal{Title: "a", Items: []semantic.ProposedItem{{Action: store.Update, Kind: store.KindMetric, Name: "aov", YAML: strings.Replace(def, "label: Average order value", "label: AOV", 1)}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := g.gov.Propose(ctx, ann, semantic.Proposal{Title: "b", Items: []semantic.ProposedItem{{Action: store.Update, Kind: store.KindMetric, Name: "aov", YAML: aovByOrders}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.gov.Review(ctx, sam, a.ID, a.Revision, store.Approve, ""); err != nil {
		t.Fatal(err)
	}
	_, err = g.gov.Review(ctx, sam, b.ID, b.Revision, store.Approve, "")
	wantClass(t, err, semantic.ErrConflict, "was published as version 2 after change request")
	if got, _ := g.gov.ChangeRequest(ctx, ann, b.ID); got.Status != store.CROpen {
		t.Errorf("the refused publication changed request b to %s", got.Status)
	}
	b, err = g.gov.Amend(ctx, ann, b.ID, b.Revision, []semantic.ProposedItem{{Action: store.Update, Kind: store.KindMetric, Name: "aov", YAML: aovByOrders}})
	if err != nil {
		t.Fatal(err)
	}
	if b, err = g.gov.Review(ctx, sam, b.ID, b.Revision, store.Approve, ""); err != nil || b.Status != store.CRPublished {
		t.Fatalf("b after its amendment: %+v %v", b, err)
	}
}

// TestWorkflowDeprecateRetire deprecates a metric (queries answer with a warning naming its
// replacement) and then retires it (queries are refused with its replacement's name).
func TestWorkflowDeprecateRetire(t *testing.T) {
	g := newGoverned(t)
	ctx := context.Background()
	ann, fay := g.as(t, "ann", "analyst"), g.as(t, "fay", "finance_steward")
	sunset := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	dep := &store.Deprecation{Replacement: "coupon_spend", Sunset: sunset, Note: "count coupons on paid orders"}
	cr, err := g.gov.Propose(ctx, ann, semantic.Proposal{Title: "deprecate", Items: []semantic.ProposedItem{{Action: store.Deprecate, Kind: store.KindMetric, Name: "coupon_spend_placed", Deprecation: dep}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.gov.Review(ctx, fay, cr.ID, cr.Revision, store.Approve, ""); err != nil {
		t.Fatal(err)
	}
	ann = g.as(t, "ann", "analyst")
	res, err := g.svc.Query(ctx, ann, semantic.MetricQuery{Metrics: []string{"coupon_spend_placed"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Release()
	if !slices.Equal(res.Warnings, []string{"metric coupon_spend_placed is deprecated; use coupon_spend instead (it will be retired on 2027-03-01): count coupons on paid orders"}) {
		t.Errorf("warnings %q", res.Warnings)
	}
	// coupon_spend is built on it; retire both ways round fails while it is.
	_, err = g.gov.Propose(ctx, ann, semantic.Proposal{Title: "retire", Items: []semantic.ProposedItem{{Action: store.Retire, Kind: store.KindMetric, Name: "coupon_spend_placed", Deprecation: dep}}})
	wantClass(t, err, semantic.ErrInvalidDefinition, "coupon_spend_placed")
	// A metric nothing is built on retires.
	cr, err = g.gov.Propose(ctx, ann, semantic.Proposal{Title: "retire coupon rate", Items: []semantic.ProposedItem{{Action: store.Retire, Kind: store.KindMetric, Name: "coupon_rate", Deprecation: &store.Deprecation{Replacement: "net_take_rate"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.gov.Review(ctx, fay, cr.ID, cr.Revision, store.Approve, ""); err != nil {
		t.Fatal(err)
	}
	ann = g.as(t, "ann", "analyst")
	_, err = g.svc.Query(ctx, ann, semantic.MetricQuery{Metrics: []string{"coupon_rate"}})
	wantClass(t, err, semantic.ErrNotFound, "metric coupon_rate is retired; use net_take_rate instead")
	// Someone who could never see it is told nothing of it.
	_, err = g.svc.Query(ctx, g.as(t, "vic", "east_sales"), semantic.MetricQuery{Metrics: []string{"coupon_rate"}})
	wantClass(t, err, semantic.ErrNotFound, `unknown metric "coupon_rate"`)
	if slices.ContainsFunc(ann.Metrics(), func(m *semantic.Metric) bool { return m.Name == "coupon_rate" }) {
		t.Error("the catalog lists a retired metric")
	}
}

// TestWorkflowGrayRelease publishes a new aov to finance first: finance's queries use it,
// everyone else's the old one, until a steward promotes it.
func TestWorkflowGrayRelease(t *testing.T) {
	g := newGoverned(t)
	ctx := context.Background()
	ann, sam := g.as(t, "ann", "analyst"), g.as(t, "sam", "sales_steward")
	before, _ := g.value(t, ann, "aov")
	cr, err := g.gov.Propose(ctx, ann, semantic.Proposal{Title: "gray", Audience: &store.Audience{Roles: []string{"finance"}},
		Items: []semantic.ProposedItem{{Action: store.Update, Kind: store.KindMetric, Name: "aov", YAML: aovByOrders}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.gov.Review(ctx, sam, cr.ID, cr.Revision, store.Approve, ""); err != nil {
		t.Fatal(err)
	}
	fay := g.as(t, "fay", "finance")
	gray, res := g.value(t, fay, "aov")
	if gray == before || !slices.Contains(res.Versions, semantic.MetricVersion{Metric: "aov", Version: 2}) {
		t.Errorf("finance's aov %v (versions %v) is not the gray version 2", gray, res.Versions)
	}
	if now, res := g.value(t, ann, "aov"); now != before || !slices.Contains(res.Versions, semantic.MetricVersion{Metric: "aov", Version: 1}) {
		t.Errorf("an analyst's aov changed with the gray release: %v %v", now, res.Versions)
	}
	_, err = g.gov.Promote(ctx, ann, store.KindMetric, "aov")
	wantClass(t, err, semantic.ErrForbidden, "may not publish")
	if _, err := g.gov.Promote(ctx, sam, store.KindMetric, "aov"); err != nil {
		t.Fatal(err)
	}
	if now, _ := g.value(t, g.as(t, "ann", "analyst"), "aov"); now != gray {
		t.Errorf("after the promotion an analyst's aov is %v, want %v", now, gray)
	}
	_, err = g.gov.Promote(ctx, sam, store.KindMetric, "aov")
	wantClass(t, err, semantic.ErrConflict, "no gray release")
}

// TestWorkflowQueueFeedbackAudit checks a steward's review queue, overdue requests, feedback to a
// metric's owner, and the audit of queries.
func TestWorkflowQueueFeedbackAudit(t *testing.T) {
	g := newGoverned(t)
	ctx := context.Background()
	ann, sam, fay := g.as(t, "ann", "analyst"), g.as(t, "sam", "sales_steward"), g.as(t, "fay", "finance_steward")
	cr, err := g.gov.Propose(ctx, ann, semantic.Proposal{Title: "q", Items: []semantic.ProposedItem{{Action: store.Update, Kind: store.KindMetric, Name: "aov", YAML: aovByOrders}}})
	if err != nil {
		t.Fatal(err)
	}
	queue, err := g.gov.ReviewQueue(ctx, sam)
	if err != nil || len(queue) != 1 || queue[0].ID != cr.ID {
		t.Errorf("sam's queue %+v %v", queue, err)
	}
	if queue, _ := g.gov.ReviewQueue(ctx, fay); len(queue) != 0 {
		t.Errorf("a finance steward's queue has a sales request: %+v", queue)
	}
	if queue, _ := g.gov.ReviewQueue(ctx, ann); len(queue) != 0 {
		t.Errorf("the author's own queue has its request: %+v", queue)
	}
	if g.gov.Overdue(cr) {
		t.Error("a new request is overdue")
	}
	g.now = g.now.Add(semantic.DefaultReviewSLA + time.Minute)
	if !g.gov.Overdue(cr) {
		t.Error("a request past its due time is not overdue")
	}
	overdue, err := g.store.ChangeRequests(ctx, store.CRQuery{Statuses: []store.CRStatus{store.CROpen}, DueBefore: g.now})
	if err != nil || len(overdue) != 1 {
		t.Errorf("overdue requests %+v %v", overdue, err)
	}

	f, err := g.gov.ReportFeedback(ctx, g.as(t, "bob", "east_sales"), "gmv_paid", "east looks low in March", json.RawMessage(`{"metrics":["gmv_paid"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if f.Owner != "finance-bi" || f.Version != 1 {
		t.Errorf("feedback %+v", f)
	}
	mine, err := g.store.Feedback(ctx, store.FeedbackQuery{Owner: "finance-bi", Unresolved: true})
	if err != nil || len(mine) != 1 || mine[0].Note != "east looks low in March" {
		t.Errorf("finance-bi's feedback %+v %v", mine, err)
	}
	_, err = g.gov.ReportFeedback(ctx, g.as(t, "bob", "east_sales"), "coupon_rate", "hidden", nil)
	wantClass(t, err, semantic.ErrNotFound, `unknown metric "coupon_rate"`)

	g.value(t, ann, "gmv_paid")
	g.gov.Close() // flushes the audit of queries
	events, err := g.store.Events(ctx, store.EventQuery{Tenant: "demo", Types: []string{"query"}})
	if err != nil || len(events) != 1 || events[0].Actor != "ann@demo" || !strings.Contains(events[0].Detail, `"versions":[{"metric":"gmv_paid","version":1}`) ||
		!strings.Contains(events[0].Detail, `"rows":1`) {
		t.Errorf("query events %+v %v", events, err)
	}
}

// TestWorkflowRevalidatesAtPublish approves a request that loaded when proposed but no longer
// does with what was published since, and one that would break the access policy.
func TestWorkflowRevalidatesAtPublish(t *testing.T) {
	g := newGoverned(t)
	ctx := context.Background()
	ann, sam := g.as(t, "ann", "analyst"), g.as(t, "sam", "sales_steward")
	appOrders := "name: app_orders\nlabel: App orders\nowner: sales-analytics\ndomain: sales\nkind: derived\nbase: order_count\nfilters:\n  - {dimension: orders.channel, operator: equals, values: [app]}\n"
	b, err := g.gov.Propose(ctx, ann, semantic.Proposal{Title: "app orders", Items: []semantic.ProposedItem{{Action: store.Create, Kind: store.KindMetric, Name: "app_orders", YAML: appOrders}}})
	if err != nil {
		t.Fatal(err)
	}
	orders, ok := g.svc.Catalog().VersionOf(store.KindModel, "orders")
	if !ok {
		t.Fatal("no orders model")
	}
	withoutChannel := strings.Replace(orders.Definition, "  - name: channel\n", "  - name: channel_removed\n    expr: channel\n", 1)
	if withoutChannel == orders.Definition {
		t.Fatalf("the orders model has no channel dimension to remove:\n%s", orders.Definition)
	}
	a, err := g.gov.Propose(ctx, ann, semantic.Proposal{Title: "rename channel", Items: []semantic.ProposedItem{{Action: store.Update, Kind: store.KindModel, Name: "orders", YAML: withoutChannel}}})
	if err != nil {
		t.Fatal(err)
	}
	// The orders model serves every domain's metrics: each domain's steward approves.
	if !slices.Equal(a.Domains, []string{"finance", "operations", "sales"}) {
		t.Errorf("a change to the orders model is reviewed by %v", a.Domains)
	}
	for i, who := range []*semantic.Access{sam, g.as(t, "fay", "finance_steward"), g.as(t, "olga", "ops_steward")} {
		got, err := g.gov.Review(ctx, who, a.ID, a.Revision, store.Approve, "")
		if err != nil {
			t.Fatal(err)
		}
		if published := got.Status == store.CRPublished; published != (i == 2) {
			t.Fatalf("after %d of 3 domains approved, the request is %s", i+1, got.Status)
		}
	}
	_, err = g.gov.Review(ctx, sam, b.ID, b.Revision, store.Approve, "")
	wantClass(t, err, semantic.ErrConflict, "no longer fits the definitions published since")
	if g.svc.Catalog().Metric("app_orders") != nil {
		t.Error("a request that no longer loads was published")
	}

	g.gov.SetPolicyCheck(func(cat *semantic.Catalog) error {
		st, err := authz.ParsePolicyFile(demo.PolicyFile, demo.Policy)
		if err != nil {
			return err
		}
		return semantic.CheckPolicy(cat, authz.NewPolicy(st))
	})
	customers, _ := g.svc.Catalog().VersionOf(store.KindModel, "customers")
	withoutName := strings.Replace(customers.Definition, "  - name: name\n", "  - name: full_name\n    expr: name\n", 1)
	_, err = g.gov.Propose(ctx, ann, semantic.Proposal{Title: "rename name", Items: []semantic.ProposedItem{{Action: store.Update, Kind: store.KindModel, Name: "customers", YAML: withoutName}}})
	wantClass(t, err, semantic.ErrInvalidDefinition, "there is no dimension customers.name")
}

// TestWorkflowRollback publishes a new aov and rolls it back: the rollback is a change request
// like any other, and once approved version 3 is version 1 again, number for number.
func TestWorkflowRollback(t *testing.T) {
	g := newGoverned(t)
	ctx := context.Background()
	ann, sam := g.as(t, "ann", "analyst"), g.as(t, "sam", "sales_steward")
	before, _ := g.value(t, ann, "aov")
	cr, err := g.gov.Propose(ctx, ann, semantic.Proposal{Title: "new aov", Items: []semantic.ProposedItem{{Action: store.Update, Kind: store.KindMetric, Name: "aov", YAML: aovByOrders}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.gov.Review(ctx, sam, cr.ID, cr.Revision, store.Approve, ""); err != nil {
		t.Fatal(err)
	}
	_, err = g.gov.ProposeRollback(ctx, ann, store.KindMetric, "aov", 2, "")
	wantClass(t, err, semantic.ErrConflict, "is the one serving")
	_, err = g.gov.ProposeRollback(ctx, ann, store.KindMetric, "aov", 7, "")
	wantClass(t, err, semantic.ErrNotFound, "has no version 7")
	_, err = g.gov.ProposeRollback(ctx, g.as(t, "bob", "east_sales"), store.KindMetric, "coupon_rate", 1, "")
	wantClass(t, err, semantic.ErrNotFound, "has no version 1")
	rb, err := g.gov.ProposeRollback(ctx, ann, store.KindMetric, "aov", 1, "finance disagreed")
	if err != nil {
		t.Fatal(err)
	}
	if rb.Title != "Roll metric aov back to version 1" || rb.Items[0].Version != 3 || rb.Items[0].BaseVersion != 2 {
		t.Errorf("rollback request %+v", rb)
	}
	if _, err := g.gov.Review(ctx, sam, rb.ID, rb.Revision, store.Approve, ""); err != nil {
		t.Fatal(err)
	}
	versions, err := versionsOf(g, "aov")
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 3 || versions[2].Status != store.Published || versions[2].Hash != versions[0].Hash {
		t.Errorf("versions after the rollback: %+v", versions)
	}
	if now, res := g.value(t, g.as(t, "ann", "analyst"), "aov"); now != before || !slices.Contains(res.Versions, semantic.MetricVersion{Metric: "aov", Version: 3}) {
		t.Errorf("aov after the rollback = %v from %v, want %v from version 3", now, res.Versions, before)
	}
}

// TestPinnedHiddenMetric: pinning a version of a metric the caller may not see fails exactly as
// pinning one that does not exist, whatever the version; the analyst is told which versions exist.
func TestPinnedHiddenMetric(t *testing.T) {
	g := newGoverned(t)
	bob := g.as(t, "bob", "east_sales")
	for _, v := range []string{"1", "9"} {
		_, hiddenErr := g.svc.Compile(bob, semantic.MetricQuery{Metrics: []string{"coupon_rate@" + v}})
		_, unknownErr := g.svc.Compile(bob, semantic.MetricQuery{Metrics: []string{"coupon_rata@" + v}})
		if hiddenErr == nil || unknownErr == nil {
			t.Fatalf("@%s: errors %v and %v", v, hiddenErr, unknownErr)
		}
		h := strings.ReplaceAll(hiddenErr.Error(), "coupon_rate", "NAME")
		u := strings.ReplaceAll(unknownErr.Error(), "coupon_rata", "NAME")
		if h != u || !errors.Is(hiddenErr, semantic.ErrNotFound) || !errors.Is(unknownErr, semantic.ErrNotFound) {
			t.Errorf("@%s: hidden %v; unknown %v", v, hiddenErr, unknownErr)
		}
	}
	_, err := g.svc.Compile(g.as(t, "ann", "analyst"), semantic.MetricQuery{Metrics: []string{"coupon_rate@9"}})
	wantClass(t, err, semantic.ErrInvalidQuery, "has no version 9; it has versions 1 to 1")
}

// TestWorkflowPublishedIsSearchable checks that search answers from what governance published,
// at once and without a restart: a metric created through a change request is found by its
// label, a synonym and a typo as soon as it is approved, and a redefined one is found by its
// new description as version 2 — though each search before the publication had already built
// the index of the catalog it read.
func TestWorkflowPublishedIsSearchable(t *testing.T) {
	g := newGoverned(t)
	ctx := context.Background()
	ann, sam := g.as(t, "ann", "analyst"), g.as(t, "sam", "sales_steward")
	search := func(acc *semantic.Access, text string) []*semantic.Metric {
		t.Helper()
		res, err := acc.Search(semantic.SearchRequest{Text: text, Kinds: []semantic.SearchKind{semantic.SearchMetric}})
		if err != nil {
			t.Fatal(err)
		}
		var out []*semantic.Metric
		for _, h := range res.Hits {
			out = append(out, h.Metric)
		}
		return out
	}
	const appOrders = "name: app_orders\nlabel: App orders\ndescription: Orders placed in the mobile app.\nsynonyms: [应用下单量]\nowner: sales-analytics\n" +
		"domain: sales\ncategory: orders\nkind: derived\nbase: order_count\nfilters:\n  - {dimension: orders.channel, operator: equals, values: [app]}\n"
	const redefined = "GMV per order, paid or not, whatever became of it."
	for _, text := range []string{"app orders", "应用下单量", "whatever became"} {
		for _, m := range search(ann, text) {
			if m.Name == "app_orders" || m.Description == redefined {
				t.Fatalf("%q found %s before anything was published", text, m.Name)
			}
		}
	}
	cr, err := g.gov.Propose(ctx, ann, semantic.Proposal{Title: "app orders, and aov over every order", Items: []semantic.ProposedItem{
		{Action: store.Create, Kind: store.KindMetric, Name: "app_orders", YAML: appOrders},
		{Action: store.Update, Kind: store.KindMetric, Name: "aov", YAML: strings.Replace(aovByOrders, "paid or not.", redefined, 1)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if cr, err = g.gov.Review(ctx, sam, cr.ID, cr.Revision, store.Approve, ""); err != nil || cr.Status != store.CRPublished {
		t.Fatalf("after sales' approval: %v %v", cr.Status, err)
	}

	ann = g.as(t, "ann", "analyst")
	for _, text := range []string{"app orders", "应用下单量", "mobile app", "app ordrs"} {
		if got := search(ann, text); len(got) == 0 || got[0].Name != "app_orders" || got[0].Version != 1 {
			t.Errorf("%q after the publication found %v, want app_orders version 1 first", text, got)
		}
	}
	if got := search(ann, "whatever became"); len(got) != 1 || got[0].Name != "aov" || got[0].Version != 2 {
		t.Errorf("aov's new description found %v, want aov version 2", got)
	}
	if got, err := ann.SearchMetrics(semantic.MetricSearch{Text: "应用下单量"}); err != nil || len(got.Metrics) == 0 || got.Metrics[0].Name != "app_orders" {
		t.Errorf("the metrics' search filter found %v (%v), want app_orders", got, err)
	}
}
