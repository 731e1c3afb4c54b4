package resolvers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
	"github.com/koujing/koujing/semantic/store"
)

// governedFixture is a governed service over the fixture's demo data: a new SQLite store in
// memory seeded with the demo definitions, the demo's policy, and a clock the test moves.
type governedFixture struct {
	svc   *semantic.Service
	gov   *semantic.Governance
	store store.Store
	srv   *httptest.Server

	mu  sync.Mutex
	now time.Time
}

func (f *governedFixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// advance moves the fixture's clock on.
func (f *governedFixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// newGovernedFixture serves a new governed service; opts may name a GovernanceReader.
func newGovernedFixture(t testing.TB, opts HandlerOptions) *governedFixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	defs, err := semantic.SplitDefinitions(demo.FS)
	if err != nil {
		t.Fatal(err)
	}
	f := &governedFixture{store: st, now: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
	f.gov, err = semantic.OpenGovernance(ctx, st, defs, semantic.GovernanceOptions{Resolver: semantic.SourcesResolver(fixture.src),
		Now: f.clock, Logger: quietLogger(), Webhooks: []string{"https://hooks.example/koujing"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.gov.Close)
	a, err := demo.NewAuthorizerFor(ctx, f.gov.Catalog, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	f.svc = semantic.NewService(f.gov.Catalog(), fixture.eng, semantic.ServiceOptions{Authorizer: a, Governance: f.gov})
	f.srv = server(t, f.svc, opts)
	return f
}

// Tokens of the demo's stewards.
func salesStewardToken(t testing.TB) string {
	return tokenFor(t, "sam", "demo", []string{"sales_steward"}, nil)
}

func financeStewardToken(t testing.TB) string {
	return tokenFor(t, "fay", "demo", []string{"finance_steward"}, nil)
}

// governedResponse is a GraphQL response with its extensions.
type governedResponse = gqlResponse

// ask sends a GraphQL request as the token's principal and decodes data into into (when not
// nil), failing the test on any error.
func (f *governedFixture) ask(t testing.TB, token, query string, vars map[string]any, into any) governedResponse {
	t.Helper()
	r := f.send(t, token, query, vars)
	if len(r.Errors) > 0 {
		t.Fatalf("unexpected errors: %+v\nquery: %s", r.Errors, query)
	}
	if into != nil {
		if err := json.Unmarshal(r.Data, into); err != nil {
			t.Fatalf("decode %s: %v", r.Data, err)
		}
	}
	return r
}

// send sends a GraphQL request and decodes the response, errors and all.
func (f *governedFixture) send(t testing.TB, token, query string, vars map[string]any) governedResponse {
	t.Helper()
	return postAs(t, f.srv, token, query, vars)
}

// wantCode checks that a response failed with one error of that code saying every one of want.
func wantCode(t testing.TB, r governedResponse, code string, want ...string) {
	t.Helper()
	if len(r.Errors) != 1 || r.Errors[0].code() != code {
		t.Fatalf("want one %s error, got %+v (data %s)", code, r.Errors, r.Data)
	}
	for _, w := range want {
		if !strings.Contains(r.Errors[0].Message, w) {
			t.Errorf("message %q does not say %q", r.Errors[0].Message, w)
		}
	}
}

// aovByOrders redefines aov over every order, paid or not.
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

// crFields are the fields of a change request the tests read.
const crFields = `{ id number title rationale author status revision domains approvalsRequired approvals dueAt overdue
  items { kind name action version baseVersion definition } reviewers subscribers audience { roles tenants } }`

// crNode is a ChangeRequest as the API returns it.
type crNode struct {
	ID, Title, Author, Status, DueAt string
	Rationale                        *string
	Number, Revision                 int
	Domains                          []string
	ApprovalsRequired, Approvals     int
	Overdue                          bool
	Items                            []struct {
		Kind, Name, Action, Definition string
		Version, BaseVersion           int
	}
	Reviewers, Subscribers []string
	Audience               *struct{ Roles, Tenants []string }
}

// propose proposes one item as the token's principal and returns the request.
func (f *governedFixture) propose(t testing.TB, token string, input map[string]any) crNode {
	t.Helper()
	var data struct{ ProposeChange crNode }
	f.ask(t, token, `mutation($in: ProposeChangeInput!) { proposeChange(input: $in) `+crFields+` }`, map[string]any{"in": input}, &data)
	return data.ProposeChange
}

func updateAOV(title string) map[string]any {
	return map[string]any{"title": title, "rationale": "finance asked", "items": []map[string]any{
		{"kind": "METRIC", "name": "aov", "action": "UPDATE", "yaml": aovByOrders}}}
}

const reviewMutation = `mutation($in: ReviewChangeRequestInput!) { reviewChangeRequest(input: $in) ` + crFields + ` }`

func reviewVars(cr crNode, revision int, decision, note string) map[string]any {
	return map[string]any{"in": map[string]any{"id": cr.ID, "revision": revision, "decision": decision, "note": note}}
}

// TestWorkflowOverGraphQL runs a change request from proposal to publication as the demo's roles:
// a viewer may not propose, an analyst proposes, the author and a viewer may not approve, a stale
// revision conflicts, comments thread, the diff and timeline say what happened, the request
// becomes overdue after its SLA, and a sales steward's approval publishes it.
func TestWorkflowOverGraphQL(t *testing.T) {
	f := newGovernedFixture(t, HandlerOptions{})
	ann, sam, vic := analystToken(t), salesStewardToken(t), viewerToken(t)

	r := f.send(t, vic, `mutation($in: ProposeChangeInput!) { proposeChange(input: $in) { id } }`, map[string]any{"in": updateAOV("x")})
	wantCode(t, r, CodeForbidden, "may not propose")
	broken := updateAOV("broken")
	broken["items"] = []map[string]any{{"kind": "METRIC", "name": "aov", "action": "UPDATE", "yaml": "name: aov\nexpr: gmv_paid / nope\n"}}
	r = f.send(t, ann, `mutation($in: ProposeChangeInput!) { proposeChange(input: $in) { id } }`, map[string]any{"in": broken})
	wantCode(t, r, CodeInvalidDefinition, "do not load")

	cr := f.propose(t, ann, updateAOV("AOV over all orders"))
	if cr.Status != "OPEN" || cr.Author != "ann@demo" || cr.Rationale == nil || *cr.Rationale != "finance asked" || !slices.Equal(cr.Domains, []string{"sales"}) ||
		cr.ApprovalsRequired != 1 || cr.Approvals != 0 || len(cr.Items) != 1 || cr.Items[0].Action != "UPDATE" || cr.Items[0].Version != 2 ||
		cr.Items[0].BaseVersion != 1 || cr.Items[0].Definition != aovByOrders || cr.DueAt != "2026-12-03T09:00:00Z" || cr.Overdue {
		t.Fatalf("proposed: %+v", cr)
	}

	// The author and a viewer may not approve; a stale revision conflicts.
	wantCode(t, f.send(t, ann, reviewMutation, reviewVars(cr, cr.Revision, "APPROVE", "")), CodeForbidden, "wrote change request")
	wantCode(t, f.send(t, vic, reviewMutation, reviewVars(cr, cr.Revision, "APPROVE", "")), CodeForbidden, "may not review")
	wantCode(t, f.send(t, sam, reviewMutation, reviewVars(cr, cr.Revision+1, "APPROVE", "")), CodeConflict, "changed since you read it")

	// Threaded comments.
	var c1 struct {
		CommentOnChangeRequest struct{ ID, Author, Body string }
	}
	f.ask(t, sam, `mutation($id: ID!) { commentOnChangeRequest(id: $id, body: "which orders?") { id author body } }`, map[string]any{"id": cr.ID}, &c1)
	var c2 struct{ CommentOnChangeRequest struct{ ID string } }
	f.ask(t, ann, `mutation($id: ID!, $p: ID!) { commentOnChangeRequest(id: $id, body: "all of them", parent: $p) { id } }`,
		map[string]any{"id": cr.ID, "p": c1.CommentOnChangeRequest.ID}, &c2)
	wantCode(t, f.send(t, ann, `mutation($id: ID!) { commentOnChangeRequest(id: $id, body: "to nothing", parent: "Q29tbWVudDoxLzk5") { id } }`,
		map[string]any{"id": cr.ID}), CodeNotFound)

	// The sales steward's queue and the sales board hold it; the author's queue does not.
	var queue struct{ ReviewQueue []struct{ Number int } }
	f.ask(t, sam, `{ reviewQueue { number } }`, nil, &queue)
	if len(queue.ReviewQueue) != 1 || queue.ReviewQueue[0].Number != cr.Number {
		t.Errorf("sam's queue %+v", queue)
	}
	f.ask(t, ann, `{ reviewQueue { number } }`, nil, &queue)
	if len(queue.ReviewQueue) != 0 {
		t.Errorf("the author's queue %+v", queue)
	}

	// Past its SLA (72h by default) it is overdue, on the board and in the overdue filter.
	f.advance(73 * time.Hour)
	var board struct {
		DomainBoard struct {
			Domain           struct{ Name string }
			Open, Overdue    []struct{ Number int }
			ChangesRequested []struct{ Number int }
		}
		ChangeRequests struct {
			Edges []struct{ Node struct{ Number int } }
		}
	}
	f.ask(t, sam, `{ domainBoard(domain: "sales") { domain { name } open { number } overdue { number } changesRequested { number } }
  changeRequests(filter: {overdue: true, domain: "sales"}) { edges { node { number } } } }`, nil, &board)
	if len(board.DomainBoard.Open) != 1 || len(board.DomainBoard.Overdue) != 1 || len(board.DomainBoard.ChangesRequested) != 0 ||
		len(board.ChangeRequests.Edges) != 1 || board.ChangeRequests.Edges[0].Node.Number != cr.Number {
		t.Errorf("board and overdue filter: %+v", board)
	}

	// The proposal can be tried pinned before it is published; the published version answers
	// everyone else.
	var pinned struct {
		Query struct {
			Versions []struct {
				Metric  string
				Version int
			}
		}
	}
	f.ask(t, sam, `{ query(input: {metrics: ["aov@2"]}) { versions { metric version } } }`, nil, &pinned)
	if !slices.Contains(pinned.Query.Versions, struct {
		Metric  string
		Version int
	}{"aov", 2}) || !slices.Contains(pinned.Query.Versions, struct {
		Metric  string
		Version int
	}{"gmv_placed", 1}) {
		t.Errorf("aov@2 answered with %+v", pinned.Query.Versions)
	}

	var approved struct{ ReviewChangeRequest crNode }
	f.ask(t, sam, reviewMutation, reviewVars(cr, cr.Revision, "APPROVE", "matches the new definition"), &approved)
	if got := approved.ReviewChangeRequest; got.Status != "PUBLISHED" || got.Approvals != 1 || got.Overdue {
		t.Fatalf("after the approval: %+v", got)
	}
	wantCode(t, f.send(t, sam, reviewMutation, reviewVars(cr, approved.ReviewChangeRequest.Revision, "APPROVE", "")), CodeConflict, "is published")
	wantCode(t, f.send(t, ann, `mutation($id: ID!, $rev: Int!) { withdrawChangeRequest(id: $id, revision: $rev) { status } }`,
		map[string]any{"id": cr.ID, "rev": approved.ReviewChangeRequest.Revision}), CodeConflict, "published already")

	// The request as it reads now: its diff, reviews, threaded comments and timeline.
	var got struct {
		ChangeRequest struct {
			Status string
			Diff   []struct {
				Kind, Name string
				Changes    []struct {
					Path     string
					Old, New *string
				}
			}
			Reviews []struct {
				ID, Reviewer, Decision string
				Note                   *string
				Revision               int
			}
			Comments []struct {
				Author, Body string
				Parent       *struct{ Body string }
				Replies      []struct {
					Author, Body string
					Parent       *struct{ Body string }
				}
			}
			Timeline []struct{ Type, Actor string }
		}
	}
	f.ask(t, ann, `query($id: ID!) { changeRequest(id: $id) { status diff { kind name changes { path old new } }
  reviews { id reviewer decision note revision } comments { author body parent { body } replies { author body parent { body } } }
  timeline { type actor } } }`, map[string]any{"id": cr.ID}, &got)
	g := got.ChangeRequest
	if len(g.Diff) != 1 || g.Diff[0].Kind != "METRIC" || g.Diff[0].Name != "aov" || len(g.Diff[0].Changes) != 3 {
		t.Fatalf("diff %+v", g.Diff)
	}
	var paths []string
	for _, c := range g.Diff[0].Changes {
		paths = append(paths, c.Path)
		if c.Path == "expr" && (c.Old == nil || *c.Old != `"gmv_paid / paid_order_count"` || c.New == nil || *c.New != `"gmv_placed / order_count"`) {
			t.Errorf("expr changed %v → %v", c.Old, c.New)
		}
		if c.Path == "synonyms" && c.New != nil {
			t.Errorf("synonyms removed, but new is %q", *c.New)
		}
	}
	if !slices.Equal(paths, []string{"description", "expr", "synonyms"}) {
		t.Errorf("diff paths %v", paths)
	}
	if len(g.Reviews) != 1 || g.Reviews[0].Reviewer != "sam@demo" || g.Reviews[0].Decision != "APPROVE" || g.Reviews[0].Note == nil {
		t.Errorf("reviews %+v", g.Reviews)
	}
	if len(g.Comments) != 1 || g.Comments[0].Body != "which orders?" || g.Comments[0].Parent != nil || len(g.Comments[0].Replies) != 1 ||
		g.Comments[0].Replies[0].Author != "ann@demo" || g.Comments[0].Replies[0].Parent == nil || g.Comments[0].Replies[0].Parent.Body != "which orders?" {
		t.Errorf("comments %+v", g.Comments)
	}
	var timeline []string
	for _, e := range g.Timeline {
		timeline = append(timeline, e.Type+" "+e.Actor)
	}
	want := []string{"change_request.proposed ann@demo", "change_request.commented sam@demo", "change_request.commented ann@demo", "change_request.published sam@demo"}
	if !slices.Equal(timeline, want) {
		t.Errorf("timeline %q, want %q", timeline, want)
	}

	// The metric's history.
	var m struct {
		Metric struct {
			CurrentVersion struct {
				Number        int
				Status        string
				Author        string
				PublishedAt   *string
				ChangeRequest *struct{ Number int }
			}
			Versions struct {
				TotalCount int
				Edges      []struct {
					Node struct {
						Number int
						Status string
						Diff   []struct{ Path string }
					}
				}
			}
			ChangeRequests []struct{ Number int }
		}
	}
	f.ask(t, ann, `{ metric(name: "aov") { currentVersion { number status author publishedAt changeRequest { number } }
  versions(first: 5) { totalCount edges { node { number status diff { path } } } } changeRequests(status: [PUBLISHED]) { number } } }`, nil, &m)
	mm := m.Metric
	if mm.CurrentVersion.Number != 2 || mm.CurrentVersion.Status != "PUBLISHED" || mm.CurrentVersion.Author != "ann@demo" || mm.CurrentVersion.PublishedAt == nil ||
		mm.CurrentVersion.ChangeRequest == nil || mm.CurrentVersion.ChangeRequest.Number != cr.Number {
		t.Errorf("current version %+v", mm.CurrentVersion)
	}
	if mm.Versions.TotalCount != 2 || len(mm.Versions.Edges) != 2 || mm.Versions.Edges[0].Node.Number != 2 || mm.Versions.Edges[1].Node.Status != "SUPERSEDED" ||
		len(mm.Versions.Edges[0].Node.Diff) != 3 || len(mm.Versions.Edges[1].Node.Diff) == 0 {
		t.Errorf("versions %+v", mm.Versions)
	}
	if len(mm.ChangeRequests) != 1 || mm.ChangeRequests[0].Number != cr.Number {
		t.Errorf("change requests of aov %+v", mm.ChangeRequests)
	}

	// Queries now answer with version 2, and version 1 can still be pinned.
	var q struct {
		Now, Old struct {
			Rows     [][]float64
			Versions []struct {
				Metric  string
				Version int
			}
		}
	}
	f.ask(t, ann, `{ now: query(input: {metrics: ["aov"]}) { rows versions { metric version } }
  old: query(input: {metrics: ["aov@1"]}) { rows versions { metric version } } }`, nil, &q)
	if q.Now.Versions[0].Metric != "aov" || q.Now.Versions[0].Version != 2 || q.Old.Versions[0].Version != 1 || q.Now.Rows[0][0] == q.Old.Rows[0][0] {
		t.Errorf("aov now %+v, aov@1 %+v", q.Now, q.Old)
	}
	checkNoLeak(t)
}

// TestWorkflowTransitionsOverGraphQL drafts, submits, sends back, amends and withdraws a request,
// and checks that the steps out of order conflict.
func TestWorkflowTransitionsOverGraphQL(t *testing.T) {
	f := newGovernedFixture(t, HandlerOptions{})
	ann, sam := analystToken(t), salesStewardToken(t)
	in := updateAOV("draft")
	in["draft"] = true
	in["reviewers"] = []string{"rita@demo"}
	cr := f.propose(t, ann, in)
	if cr.Status != "DRAFT" || !slices.Contains(cr.Reviewers, "rita@demo") {
		t.Fatalf("draft %+v", cr)
	}
	wantCode(t, f.send(t, sam, reviewMutation, reviewVars(cr, cr.Revision, "APPROVE", "")), CodeConflict, "only an open request is reviewed")
	const submit = `mutation($id: ID!, $rev: Int!) { submitChangeRequest(id: $id, revision: $rev) ` + crFields + ` }`
	wantCode(t, f.send(t, sam, submit, map[string]any{"id": cr.ID, "rev": cr.Revision}), CodeForbidden, "only the author")
	var s struct{ SubmitChangeRequest crNode }
	// The request's number works as its ID too.
	f.ask(t, ann, submit, map[string]any{"id": fmt.Sprint(cr.Number), "rev": cr.Revision}, &s)
	if s.SubmitChangeRequest.Status != "OPEN" || s.SubmitChangeRequest.Revision != cr.Revision+1 {
		t.Fatalf("submitted %+v", s.SubmitChangeRequest)
	}
	wantCode(t, f.send(t, ann, submit, map[string]any{"id": cr.ID, "rev": s.SubmitChangeRequest.Revision}), CodeConflict, "not a draft")

	var back struct{ ReviewChangeRequest crNode }
	f.ask(t, sam, reviewMutation, reviewVars(s.SubmitChangeRequest, s.SubmitChangeRequest.Revision, "REQUEST_CHANGES", "say which orders"), &back)
	if back.ReviewChangeRequest.Status != "CHANGES_REQUESTED" {
		t.Fatalf("sent back: %+v", back.ReviewChangeRequest)
	}
	var amended struct{ AmendChangeRequest crNode }
	f.ask(t, ann, `mutation($id: ID!, $rev: Int!, $items: [ChangeItemInput!]!) { amendChangeRequest(id: $id, revision: $rev, items: $items) `+crFields+` }`,
		map[string]any{"id": cr.ID, "rev": back.ReviewChangeRequest.Revision, "items": []map[string]any{
			{"kind": "METRIC", "name": "aov", "action": "UPDATE", "yaml": strings.Replace(aovByOrders, "paid or not", "in any status", 1)}}}, &amended)
	a := amended.AmendChangeRequest
	if a.Status != "OPEN" || a.Items[0].Version != 3 || !strings.Contains(a.Items[0].Definition, "in any status") {
		t.Fatalf("amended %+v", a)
	}
	// A review of the revision before the amendment is refused.
	wantCode(t, f.send(t, sam, reviewMutation, reviewVars(a, back.ReviewChangeRequest.Revision, "APPROVE", "")), CodeConflict, "changed since you read it")
	const withdraw = `mutation($id: ID!, $rev: Int!) { withdrawChangeRequest(id: $id, revision: $rev) { status revision } }`
	var w struct{ WithdrawChangeRequest struct{ Status string } }
	f.ask(t, ann, withdraw, map[string]any{"id": cr.ID, "rev": a.Revision}, &w)
	if w.WithdrawChangeRequest.Status != "WITHDRAWN" {
		t.Fatalf("withdrawn: %+v", w)
	}
	wantCode(t, f.send(t, sam, reviewMutation, reviewVars(a, a.Revision+1, "APPROVE", "")), CodeConflict, "is withdrawn")
	wantCode(t, f.send(t, sam, `{ changeRequest(id: "999") { id } }`, nil), CodeNotFound, "no change request 999")

	// The versions the request proposed are withdrawn with it.
	var v struct {
		Metric struct {
			Versions struct {
				Edges []struct{ Node struct{ Status string } }
			}
		}
	}
	f.ask(t, ann, `{ metric(name: "aov") { versions { edges { node { status } } } } }`, nil, &v)
	var statuses []string
	for _, e := range v.Metric.Versions.Edges {
		statuses = append(statuses, e.Node.Status)
	}
	if !slices.Equal(statuses, []string{"WITHDRAWN", "WITHDRAWN", "PUBLISHED"}) {
		t.Errorf("versions of aov, newest first: %v", statuses)
	}
}

// TestDeprecationOverGraphQL deprecates a metric (queries answer, with a warning in
// extensions.warnings) and retires another (queries are refused with the replacement's name).
func TestDeprecationOverGraphQL(t *testing.T) {
	f := newGovernedFixture(t, HandlerOptions{})
	ann, fay := analystToken(t), financeStewardToken(t)
	cr := f.propose(t, ann, map[string]any{"title": "deprecate coupon_spend_placed", "items": []map[string]any{{"kind": "METRIC", "name": "coupon_spend_placed",
		"action": "DEPRECATE", "deprecation": map[string]any{"replacement": "coupon_spend", "sunset": "2027-03-01", "note": "count coupons on paid orders"}}}})
	f.ask(t, fay, reviewMutation, reviewVars(cr, cr.Revision, "APPROVE", ""), nil)

	const warning = "metric coupon_spend_placed is deprecated; use coupon_spend instead (it will be retired on 2027-03-01): count coupons on paid orders"
	var data struct {
		Query  struct{ RowCount int }
		Metric struct {
			Deprecation    *struct{ Replacement, Sunset, Note *string }
			CurrentVersion struct{ Status string }
		}
	}
	r := f.ask(t, ann, `{ query(input: {metrics: ["coupon_spend_placed"]}) { rowCount }
  metric(name: "coupon_spend_placed") { deprecation { replacement sunset note } currentVersion { status } } }`, nil, &data)
	if data.Query.RowCount != 1 || !slices.Equal(r.Extensions.Warnings, []string{warning}) {
		t.Errorf("query of a deprecated metric: %+v, warnings %q", data.Query, r.Extensions.Warnings)
	}
	d := data.Metric.Deprecation
	if d == nil || *d.Replacement != "coupon_spend" || *d.Sunset != "2027-03-01" || data.Metric.CurrentVersion.Status != "DEPRECATED" {
		t.Errorf("deprecation %+v, version %+v", d, data.Metric.CurrentVersion)
	}
	// A metric built on the deprecated one warns too, once per response.
	r = f.ask(t, ann, `{ a: query(input: {metrics: ["coupon_spend"]}) { rowCount } b: query(input: {metrics: ["coupon_spend_placed"]}) { rowCount } }`, nil, nil)
	if !slices.Equal(r.Extensions.Warnings, []string{warning}) {
		t.Errorf("warnings %q", r.Extensions.Warnings)
	}
	r = f.ask(t, ann, `{ query(input: {metrics: ["gmv_paid"]}) { rowCount } }`, nil, nil)
	if r.Extensions.Warnings != nil {
		t.Errorf("a query of no deprecated metric warns %q", r.Extensions.Warnings)
	}

	cr = f.propose(t, ann, map[string]any{"title": "retire coupon_rate", "items": []map[string]any{{"kind": "METRIC", "name": "coupon_rate",
		"action": "RETIRE", "deprecation": map[string]any{"replacement": "net_take_rate"}}}})
	f.ask(t, fay, reviewMutation, reviewVars(cr, cr.Revision, "APPROVE", ""), nil)
	wantCode(t, f.send(t, ann, `{ query(input: {metrics: ["coupon_rate"]}) { rowCount } }`, nil), CodeNotFound, "metric coupon_rate is retired; use net_take_rate instead")
	wantCode(t, f.send(t, ann, `{ metric(name: "coupon_rate") { name } }`, nil), CodeNotFound)
	// A retired name cannot come back.
	r = f.send(t, ann, `mutation($in: ProposeChangeInput!) { proposeChange(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"title": "revive", "items": []map[string]any{{"kind": "METRIC", "name": "coupon_rate", "action": "UPDATE", "yaml": "name: coupon_rate\nexpr: coupon_spend / gmv_paid\n"}}}})
	wantCode(t, r, CodeConflict, "is retired")
	checkNoLeak(t)
}

// TestGrayReleaseOverGraphQL publishes a new aov to finance first: finance's requests see and
// query version 2, an analyst's version 1, until a steward promotes it.
func TestGrayReleaseOverGraphQL(t *testing.T) {
	f := newGovernedFixture(t, HandlerOptions{})
	ann, sam, fin := analystToken(t), salesStewardToken(t), financeToken(t)
	in := updateAOV("gray")
	in["audience"] = map[string]any{"roles": []string{"finance"}}
	cr := f.propose(t, ann, in)
	if cr.Audience == nil || !slices.Equal(cr.Audience.Roles, []string{"finance"}) {
		t.Fatalf("audience %+v", cr.Audience)
	}
	f.ask(t, sam, reviewMutation, reviewVars(cr, cr.Revision, "APPROVE", ""), nil)

	type seen struct {
		Metric struct {
			CurrentVersion struct {
				Number   int
				Status   string
				Audience *struct{ Roles []string }
			}
		}
		Query struct {
			Versions []struct {
				Metric  string
				Version int
			}
		}
	}
	const ask = `{ metric(name: "aov") { currentVersion { number status audience { roles } } } query(input: {metrics: ["aov"]}) { versions { metric version } } }`
	var s seen
	f.ask(t, fin, ask, nil, &s)
	if s.Metric.CurrentVersion.Number != 2 || s.Metric.CurrentVersion.Status != "GRAY" || s.Metric.CurrentVersion.Audience == nil || s.Query.Versions[0].Version != 2 {
		t.Errorf("finance sees %+v", s)
	}
	s = seen{}
	f.ask(t, ann, ask, nil, &s)
	if s.Metric.CurrentVersion.Number != 1 || s.Metric.CurrentVersion.Status != "PUBLISHED" || s.Query.Versions[0].Version != 1 {
		t.Errorf("an analyst sees %+v", s)
	}
	const promote = `mutation { promoteRelease(name: "aov") { number status } }`
	wantCode(t, f.send(t, ann, promote, nil), CodeForbidden, "may not publish")
	var p struct{ PromoteRelease struct{ Number int } }
	f.ask(t, sam, promote, nil, &p)
	if p.PromoteRelease.Number != 2 {
		t.Errorf("promoted %+v", p)
	}
	s = seen{}
	f.ask(t, ann, ask, nil, &s)
	if s.Metric.CurrentVersion.Number != 2 || s.Metric.CurrentVersion.Status != "PUBLISHED" || s.Query.Versions[0].Version != 2 {
		t.Errorf("after the promotion an analyst sees %+v", s)
	}
	wantCode(t, f.send(t, sam, promote, nil), CodeConflict, "no gray release")
	checkNoLeak(t)
}

// TestFeedbackOverGraphQL reports a number that looks wrong: the report lands in the owner's
// queue and the domain's board, and a steward resolves it.
func TestFeedbackOverGraphQL(t *testing.T) {
	f := newGovernedFixture(t, HandlerOptions{})
	bob, ann, fay, vic := eastSalesToken(t, "east"), analystToken(t), financeStewardToken(t), viewerToken(t)
	var rep struct {
		ReportFeedback struct {
			ID, Metric, Owner, Author, Note string
			Version                         int
			Query                           map[string]any
			Resolved                        bool
		}
	}
	f.ask(t, bob, `mutation { reportFeedback(input: {metric: "gmv_paid", note: "east looks low in March", query: {metrics: ["gmv_paid"], dimensions: ["orders.region"]}})
  { id metric owner author note version query resolved } }`, nil, &rep)
	fb := rep.ReportFeedback
	if fb.Owner != "finance-bi" || fb.Author != "bob@demo" || fb.Version != 1 || fb.Resolved || fb.Query["metrics"] == nil {
		t.Fatalf("reported %+v", fb)
	}
	wantCode(t, f.send(t, bob, `mutation { reportFeedback(input: {metric: "coupon_rate", note: "hidden"}) { id } }`, nil), CodeNotFound, `unknown metric "coupon_rate"`)

	var queue struct {
		Feedback struct {
			Edges []struct{ Node struct{ ID, Note string } }
		}
		DomainBoard struct{ Feedback []struct{ ID string } }
	}
	const ask = `{ feedback(filter: {owner: "finance-bi", unresolved: true}) { edges { node { id note } } } domainBoard(domain: "finance") { feedback { id } } }`
	f.ask(t, ann, ask, nil, &queue)
	if len(queue.Feedback.Edges) != 1 || queue.Feedback.Edges[0].Node.ID != fb.ID || len(queue.DomainBoard.Feedback) != 1 {
		t.Fatalf("finance-bi's queue %+v", queue)
	}
	const resolve = `mutation($id: ID!) { resolveFeedback(id: $id) { id resolved } }`
	wantCode(t, f.send(t, vic, resolve, map[string]any{"id": fb.ID}), CodeForbidden, "may not resolve")
	var res struct{ ResolveFeedback struct{ Resolved bool } }
	f.ask(t, fay, resolve, map[string]any{"id": fb.ID}, &res)
	if !res.ResolveFeedback.Resolved {
		t.Error("feedback not resolved")
	}
	queue.Feedback.Edges = nil
	f.ask(t, ann, ask, nil, &queue)
	if len(queue.Feedback.Edges) != 0 || len(queue.DomainBoard.Feedback) != 0 {
		t.Errorf("resolved feedback still queued: %+v", queue)
	}
	var node struct{ Node struct{ Resolved bool } }
	f.ask(t, ann, `query($id: ID!) { node(id: $id) { ... on Feedback { resolved } } }`, map[string]any{"id": fb.ID}, &node)
	if !node.Node.Resolved {
		t.Errorf("node(feedback) %+v", node)
	}
}

// TestNodesOfGovernance fetches each governance object again by its global ID.
func TestNodesOfGovernance(t *testing.T) {
	f := newGovernedFixture(t, HandlerOptions{})
	ann, sam := analystToken(t), salesStewardToken(t)
	cr := f.propose(t, ann, updateAOV("nodes"))
	var c struct{ CommentOnChangeRequest struct{ ID string } }
	f.ask(t, sam, `mutation($id: ID!) { commentOnChangeRequest(id: $id, body: "hm") { id } }`, map[string]any{"id": cr.ID}, &c)
	var r struct {
		ReviewChangeRequest struct{ Reviews []struct{ ID string } }
	}
	f.ask(t, sam, `mutation($in: ReviewChangeRequestInput!) { reviewChangeRequest(input: $in) { reviews { id } } }`, reviewVars(cr, cr.Revision, "APPROVE", ""), &r)
	var v struct {
		Metric struct{ CurrentVersion struct{ ID string } }
	}
	f.ask(t, ann, `{ metric(name: "aov") { currentVersion { id } } }`, nil, &v)
	for _, tt := range []struct {
		id, fragment, want string
	}{
		{cr.ID, `... on ChangeRequest { title }`, `"title":"nodes"`},
		{c.CommentOnChangeRequest.ID, `... on Comment { body }`, `"body":"hm"`},
		{r.ReviewChangeRequest.Reviews[0].ID, `... on Review { decision }`, `"decision":"APPROVE"`},
		{v.Metric.CurrentVersion.ID, `... on MetricVersion { name number }`, `"name":"aov","number":2`},
	} {
		res := f.ask(t, ann, `query($id: ID!) { node(id: $id) { id `+tt.fragment+` } }`, map[string]any{"id": tt.id}, nil)
		if !strings.Contains(string(res.Data), tt.want) || !strings.Contains(string(res.Data), tt.id) {
			t.Errorf("node(%s) = %s, want %s", tt.id, res.Data, tt.want)
		}
	}
	// The audit log's events are nodes for admins only.
	var events struct {
		AuditEvents struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	f.ask(t, adminToken(t), `{ auditEvents(first: 1) { edges { node { id } } } }`, nil, &events)
	id := events.AuditEvents.Edges[0].Node.ID
	res := f.ask(t, adminToken(t), `query($id: ID!) { node(id: $id) { ... on AuditEvent { type } } }`, map[string]any{"id": id}, nil)
	if !strings.Contains(string(res.Data), `"type":"change_request.proposed"`) {
		t.Errorf("node(first event) = %s", res.Data)
	}
	wantCode(t, f.send(t, ann, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id}), CodeForbidden)
}

// TestDefinitionsAndProposeFiles exports the published definitions and proposes them back:
// unchanged files have nothing to propose, a changed one proposes one update.
func TestDefinitionsAndProposeFiles(t *testing.T) {
	f := newGovernedFixture(t, HandlerOptions{})
	ann := analystToken(t)
	var defs struct {
		Definitions []struct{ Path, Content string }
	}
	f.ask(t, ann, `{ definitions { path content } }`, nil, &defs)
	if len(defs.Definitions) != 3+5+38 {
		t.Fatalf("%d definitions files, want the demo's 46", len(defs.Definitions))
	}
	var files []map[string]any
	for _, d := range defs.Definitions {
		content := d.Content
		if d.Path == "metrics/aov.yaml" {
			content = strings.Replace(content, "label: Average order value", "label: AOV", 1)
		}
		files = append(files, map[string]any{"path": d.Path, "content": content})
	}
	if !strings.HasPrefix(defs.Definitions[0].Path, "domains/") || !strings.HasPrefix(defs.Definitions[0].Content, "domains:\n  - name: ") {
		t.Errorf("first file %+v", defs.Definitions[0])
	}
	const propose = `mutation($in: ProposeDefinitionsInput!) { proposeDefinitions(input: $in) { status items { kind name action version baseVersion } } }`
	unchanged := make([]map[string]any, len(defs.Definitions))
	for i, d := range defs.Definitions {
		unchanged[i] = map[string]any{"path": d.Path, "content": d.Content}
	}
	wantCode(t, f.send(t, ann, propose, map[string]any{"in": map[string]any{"title": "same", "files": unchanged}}), CodeInvalidQuery, "nothing to propose")
	wantCode(t, f.send(t, ann, propose, map[string]any{"in": map[string]any{"title": "escape", "files": []map[string]any{{"path": "../x.yaml", "content": ""}}}}), CodeInvalidQuery, "without ..")
	var p struct {
		ProposeDefinitions struct {
			Status string
			Items  []struct {
				Kind, Name, Action   string
				Version, BaseVersion int
			}
		}
	}
	f.ask(t, ann, propose, map[string]any{"in": map[string]any{"title": "relabel aov", "files": files}}, &p)
	if p.ProposeDefinitions.Status != "OPEN" || len(p.ProposeDefinitions.Items) != 1 || p.ProposeDefinitions.Items[0].Name != "aov" ||
		p.ProposeDefinitions.Items[0].Action != "UPDATE" || p.ProposeDefinitions.Items[0].Version != 2 {
		t.Errorf("proposed %+v", p.ProposeDefinitions)
	}
	// A viewer exports what it may read: not finance's metrics.
	f.ask(t, viewerToken(t), `{ definitions { path content } }`, nil, &defs)
	for _, d := range defs.Definitions {
		if d.Path == "metrics/coupon_rate.yaml" {
			t.Error("a viewer exported a finance metric")
		}
	}
}

// TestGovernanceOnFiles checks what the governance fields say on a server whose definitions are
// files: versions are null, and the workflow is refused with a message that says why.
func TestGovernanceOnFiles(t *testing.T) {
	srv := server(t, fixture.demo, HandlerOptions{})
	var data struct {
		Metric struct {
			CurrentVersion *struct{ Number int }
			Versions       struct{ TotalCount int }
		}
	}
	mustData(t, post(t, srv, `{ metric(name: "aov") { currentVersion { number } versions { totalCount } } }`, nil), &data)
	if data.Metric.CurrentVersion != nil || data.Metric.Versions.TotalCount != 0 {
		t.Errorf("on files: %+v", data)
	}
	wantError(t, post(t, srv, `{ changeRequests { edges { node { id } } } }`, nil), CodeInvalidQuery, "--store")
}

// waitForEvents polls the audit log as an admin until the filter finds at least n events, which
// the audit of queries and logins writes in batches.
func (f *governedFixture) waitForEvents(t *testing.T, filter string, n int) []auditNode {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var data struct {
			AuditEvents struct{ Edges []struct{ Node auditNode } }
		}
		f.ask(t, adminToken(t), `{ auditEvents(first: 100, filter: `+filter+`) { edges { node { id seq at tenant actor type object detail } } } }`, nil, &data)
		var out []auditNode
		for _, e := range data.AuditEvents.Edges {
			out = append(out, e.Node)
		}
		if len(out) >= n {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("the audit log has %d events matching %s, want %d: %+v", len(out), filter, n, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// auditNode is an AuditEvent as the API returns it.
type auditNode struct {
	ID, At, Tenant, Actor, Type, Object string
	Seq                                 int
	Detail                              map[string]any
}

// TestAuditOverGraphQL checks that workflow steps, refused logins and queries land in the audit
// log, that only admins read it, that its filters work, and that GET /audit.jsonl exports it.
func TestAuditOverGraphQL(t *testing.T) {
	f := newGovernedFixture(t, HandlerOptions{})
	ann, sam := analystToken(t), salesStewardToken(t)
	cr := f.propose(t, ann, updateAOV("audited"))
	f.advance(time.Minute)
	f.ask(t, sam, reviewMutation, reviewVars(cr, cr.Revision, "REQUEST_CHANGES", "say which orders"), nil)
	f.ask(t, ann, `{ query(input: {metrics: ["gmv_paid"]}) { rowCount } }`, nil, nil)
	forged, err := json.Marshal(map[string]any{"sub": "mallory", "tenant": "demo"})
	if err != nil {
		t.Fatal(err)
	}
	badToken := "eyJhbGciOiJIUzI1NiJ9." + strings.TrimRight(base64URL(forged), "=") + ".c2lnbmF0dXJl"
	if r := f.send(t, badToken, `{ viewer { subject } }`, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("a forged token got %d", r.status)
	}

	wantCode(t, f.send(t, ann, `{ auditEvents { edges { node { id } } } }`, nil), CodeForbidden, "admin action on policy:demo")

	flow := f.waitForEvents(t, `{types: ["change_request"]}`, 2)
	if len(flow) != 2 || flow[0].Type != "change_request.proposed" || flow[0].Actor != "ann@demo" || flow[0].Object != "change_request:1" ||
		flow[1].Type != "change_request.changes_requested" || flow[1].Detail["note"] != "say which orders" || flow[1].Seq <= flow[0].Seq {
		t.Errorf("workflow events %+v", flow)
	}
	logins := f.waitForEvents(t, `{types: ["login.failed"]}`, 1)
	if logins[0].Actor != "mallory@demo" || logins[0].Tenant != "demo" || logins[0].Detail["reason"] == nil || logins[0].Detail["remote"] == nil {
		t.Errorf("login failure %+v", logins[0])
	}
	queries := f.waitForEvents(t, `{types: ["query"], actor: "ann@demo"}`, 1)
	if v, _ := queries[0].Detail["versions"].([]any); len(queries) != 1 || len(v) == 0 || queries[0].Detail["rows"] != float64(1) {
		t.Errorf("query events %+v", queries)
	}
	if got := f.waitForEvents(t, `{object: "change_request:1", actor: "sam@demo"}`, 1); len(got) != 1 || got[0].Type != "change_request.changes_requested" {
		t.Errorf("events by object and actor %+v", got)
	}
	since := flow[1].At
	if got := f.waitForEvents(t, `{types: ["change_request"], since: "`+since+`"}`, 1); len(got) != 1 {
		t.Errorf("events since %s: %+v", since, got)
	}
	var none struct {
		AuditEvents struct{ Edges []struct{ Node auditNode } }
	}
	f.ask(t, adminToken(t), `{ auditEvents(filter: {until: "2000-01-01"}) { edges { node { id } } } }`, nil, &none)
	if len(none.AuditEvents.Edges) != 0 {
		t.Errorf("events until 2000: %+v", none)
	}

	// The JSON lines export: admins only, filtered, one event per line.
	export := func(token, query string) (*http.Response, []auditLine) {
		req, err := http.NewRequest(http.MethodGet, f.srv.URL+"/audit.jsonl?"+query, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var lines []auditLine
		dec := json.NewDecoder(res.Body)
		for dec.More() {
			var l auditLine
			if err := dec.Decode(&l); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, l)
		}
		return res, lines
	}
	res, lines := export(adminToken(t), "types=change_request,login.failed")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/jsonl; charset=utf-8" || len(lines) != 3 ||
		lines[0].Type != "change_request.proposed" || lines[2].Type != "login.failed" || !json.Valid(lines[1].Detail) {
		t.Errorf("export: %d %q %+v", res.StatusCode, res.Header.Get("Content-Type"), lines)
	}
	res, lines = export(adminToken(t), "types=query&since=2000-01-01")
	if res.StatusCode != http.StatusOK || len(lines) != 1 || lines[0].Actor != "ann@demo" {
		t.Errorf("export of queries: %d %+v", res.StatusCode, lines)
	}
	if res, _ := export(ann, ""); res.StatusCode != http.StatusForbidden {
		t.Errorf("an analyst's export: %d", res.StatusCode)
	}
	if res, _ := export(adminToken(t), "since=yesterday"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("an export since yesterday: %d", res.StatusCode)
	}
}

func base64URL(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// countingGovernanceReader counts the batches each GovernanceReader method is asked for.
type countingGovernanceReader struct {
	GovernanceReader
	batchCounter
}

func (c *countingGovernanceReader) wrap(svc *semantic.Service, acc *semantic.Access) GovernanceReader {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.GovernanceReader = NewGovernanceReader(svc, acc)
	return c
}

func (c *countingGovernanceReader) CurrentVersions(ctx context.Context, keys []string) ([]*store.Version, error) {
	c.count("CurrentVersions", keys)
	return c.GovernanceReader.CurrentVersions(ctx, keys)
}

func (c *countingGovernanceReader) LatestQualityRuns(ctx context.Context, rules []string) ([]*store.QualityRun, error) {
	c.count("LatestQualityRuns", rules)
	return c.GovernanceReader.LatestQualityRuns(ctx, rules)
}

func (c *countingGovernanceReader) Versions(ctx context.Context, keys []string) ([][]store.Version, error) {
	c.count("Versions", keys)
	return c.GovernanceReader.Versions(ctx, keys)
}

func (c *countingGovernanceReader) Reviews(ctx context.Context, ids []string) ([][]store.Review, error) {
	c.count("Reviews", ids)
	return c.GovernanceReader.Reviews(ctx, ids)
}

func (c *countingGovernanceReader) Comments(ctx context.Context, ids []string) ([][]store.Comment, error) {
	c.count("Comments", ids)
	return c.GovernanceReader.Comments(ctx, ids)
}

func (c *countingGovernanceReader) Timelines(ctx context.Context, keys []string) ([][]store.Event, error) {
	c.count("Timelines", keys)
	return c.GovernanceReader.Timelines(ctx, keys)
}

func (c *countingGovernanceReader) ChangeRequests(ctx context.Context, ids []string) ([]*store.ChangeRequest, error) {
	c.count("ChangeRequests", ids)
	return c.GovernanceReader.ChangeRequests(ctx, ids)
}

func (c *countingGovernanceReader) ChangeRequestsOf(ctx context.Context, metrics []string) ([][]store.ChangeRequest, error) {
	c.count("ChangeRequestsOf", metrics)
	return c.GovernanceReader.ChangeRequestsOf(ctx, metrics)
}

// TestGovernanceLoadersBatch lists change requests with every nested list, and metrics with their
// current versions, and checks that each loader read its keys in one batch.
func TestGovernanceLoadersBatch(t *testing.T) {
	reader := &countingGovernanceReader{batchCounter: newBatchCounter()}
	f := newGovernedFixture(t, HandlerOptions{GovernanceReader: reader.wrap, BatchWait: 50 * time.Millisecond})
	ann, sam := analystToken(t), salesStewardToken(t)
	for i := range 3 {
		cr := f.propose(t, ann, updateAOV(fmt.Sprintf("request %d", i)))
		var c struct{ CommentOnChangeRequest struct{ ID string } }
		f.ask(t, sam, `mutation($id: ID!) { commentOnChangeRequest(id: $id, body: "hm") { id } }`, map[string]any{"id": cr.ID}, &c)
		f.ask(t, ann, `mutation($id: ID!, $p: ID!) { commentOnChangeRequest(id: $id, body: "yes", parent: $p) { id } }`, map[string]any{"id": cr.ID, "p": c.CommentOnChangeRequest.ID}, nil)
		f.ask(t, sam, reviewMutation, reviewVars(cr, cr.Revision, "REQUEST_CHANGES", ""), nil)
	}
	reader.reset()

	var data struct {
		ChangeRequests struct {
			Edges []struct {
				Node struct {
					Approvals int
					Reviews   []struct{ Decision string }
					Comments  []struct {
						Replies []struct{ Body string }
					}
					Timeline []struct{ Type string }
					Items    []struct{ Definition string }
					Diff     []struct{ Changes []struct{ Path string } }
				}
			}
		}
		Metrics struct {
			Edges []struct {
				Node struct {
					Owner          *string
					CurrentVersion struct{ Number int }
				}
			}
		}
	}
	f.ask(t, ann, `{ changeRequests { edges { node { approvals reviews { decision } comments { replies { body } } timeline { type }
  items { definition } diff { changes { path } } } } }
  metrics(first: 20) { edges { node { owner currentVersion { number } } } } }`, nil, &data)
	if len(data.ChangeRequests.Edges) != 3 || len(data.Metrics.Edges) != 20 {
		t.Fatalf("data %+v", data)
	}
	for _, e := range data.ChangeRequests.Edges {
		n := e.Node
		if len(n.Reviews) != 1 || len(n.Comments) != 1 || len(n.Comments[0].Replies) != 1 || len(n.Timeline) != 4 || len(n.Items) != 1 || len(n.Diff[0].Changes) != 3 {
			t.Errorf("change request %+v", n)
		}
	}
	for _, e := range data.Metrics.Edges {
		if e.Node.CurrentVersion.Number != 1 || e.Node.Owner == nil {
			t.Errorf("metric %+v", e.Node)
		}
	}
	reader.check(t, map[string]struct{ calls, keys int }{
		"Reviews":         {1, 3},
		"Comments":        {1, 3}, // the replies are read with their request's comments
		"Timelines":       {1, 3},
		"Versions":        {1, 1}, // every item is a change of aov: read once for definitions and diffs
		"CurrentVersions": {1, 20},
	})
}

// TestGovernanceErrorCodes checks the codes the workflow's and the store's errors get, and that
// the store's details stay in the log.
func TestGovernanceErrorCodes(t *testing.T) {
	p := errorPresenter{log: quietLogger()}
	for _, tt := range []struct {
		err           error
		code, message string
	}{
		{&semantic.QueryError{Class: semantic.ErrConflict, Msg: "change request 3 is withdrawn"}, CodeConflict, "change request 3 is withdrawn"},
		{&semantic.QueryError{Class: semantic.ErrInvalidDefinition, Msg: "do not load"}, CodeInvalidDefinition, "do not load"},
		{fmt.Errorf("metadata store in SQLite file /secret/path.db: commit: %w: disk I/O error", store.ErrUnavailable), CodeStoreUnavailable,
			"the metadata store is unavailable right now; nothing was changed; retry once it is back"},
		{fmt.Errorf("metadata store in PostgreSQL schema s: update lost 10 times: %w: serialization", store.ErrConflict), CodeConflict,
			"another change to the same records came first; read them again and retry"},
	} {
		got := p.present(context.Background(), tt.err)
		if got.Extensions["code"] != tt.code || got.Message != tt.message {
			t.Errorf("%v: %s %q, want %s %q", tt.err, got.Extensions["code"], got.Message, tt.code, tt.message)
		}
	}
}

// TestRollbackOverGraphQL publishes a new aov, then proposes rolling it back over GraphQL: once a
// steward approves, version 3 serves, equal to version 1 field for field.
func TestRollbackOverGraphQL(t *testing.T) {
	f := newGovernedFixture(t, HandlerOptions{})
	ann, sam := analystToken(t), salesStewardToken(t)
	cr := f.propose(t, ann, updateAOV("over every order"))
	f.ask(t, sam, reviewMutation, reviewVars(cr, cr.Revision, "APPROVE", ""), nil)
	const rollback = `mutation($v: Int!) { proposeRollback(name: "aov", version: $v, rationale: "finance disagreed") ` + crFields + ` }`
	wantCode(t, f.send(t, ann, rollback, map[string]any{"v": 2}), CodeConflict, "is the one serving")
	wantCode(t, f.send(t, ann, rollback, map[string]any{"v": 9}), CodeNotFound, "has no version 9")
	var rb struct{ ProposeRollback crNode }
	f.ask(t, ann, rollback, map[string]any{"v": 1}, &rb)
	if rb.ProposeRollback.Title != "Roll metric aov back to version 1" || rb.ProposeRollback.Items[0].Version != 3 {
		t.Errorf("rollback request %+v", rb.ProposeRollback)
	}
	f.ask(t, sam, reviewMutation, reviewVars(rb.ProposeRollback, rb.ProposeRollback.Revision, "APPROVE", ""), nil)
	var data struct {
		Metric struct {
			CurrentVersion struct {
				Number int
				Diff   []struct{ Path string }
			}
		}
	}
	f.ask(t, ann, `{ metric(name: "aov") { currentVersion { number diff(against: 1) { path } } } }`, nil, &data)
	if v := data.Metric.CurrentVersion; v.Number != 3 || len(v.Diff) != 0 {
		t.Errorf("after the rollback aov is %+v, want version 3 with nothing changed from version 1", v)
	}
}
