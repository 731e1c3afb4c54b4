package resolvers

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/engine/pgtest"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/oracletest"
)

// adminService returns a service over the fixture's catalog and engine with the demo's policy of
// its own, so that what a test changes stays in it, and a server for it in demo mode.
func adminService(t *testing.T) (*semantic.Service, *httptest.Server) {
	t.Helper()
	svc := mustService(t, fixture.demo.Catalog(), fixture.eng, semantic.ServiceOptions{})
	return svc, server(t, svc, HandlerOptions{})
}

// Tokens of the demo's roles, one subject each.
func adminToken(t *testing.T) string   { return tokenFor(t, "ada", "demo", []string{"admin"}, nil) }
func analystToken(t *testing.T) string { return tokenFor(t, "ann", "demo", []string{"analyst"}, nil) }
func viewerToken(t *testing.T) string  { return tokenFor(t, "vic", "demo", []string{"viewer"}, nil) }
func financeToken(t *testing.T) string { return tokenFor(t, "fay", "demo", []string{"finance"}, nil) }
func supportToken(t *testing.T) string { return tokenFor(t, "sue", "demo", []string{"support"}, nil) }
func eastSalesToken(t *testing.T, region string) string {
	return tokenFor(t, "bob", "demo", []string{"east_sales"}, map[string]any{"region": region})
}

// policyChangeNode is a PolicyChange as the API returns it.
type policyChangeNode struct {
	Seq       int
	At        string
	Actor     string
	Operation string
	Detail    string
}

const policyChangeFields = `{ seq at actor operation detail }`

// policyMutation is one mutation of the access policy: its field, its document and variables.
type policyMutation struct {
	field string
	doc   string
	vars  map[string]any
}

func inputMutation(field, inputType string, in map[string]any) policyMutation {
	return policyMutation{field, fmt.Sprintf(`mutation($in: %s!) { %s(input: $in) %s }`, inputType, field, policyChangeFields), map[string]any{"in": in}}
}

// grantMutation is grant or revokeGrant of an action on an object to a subject, with the default
// effect and priority unless extra sets them.
func grantMutation(field, subject, object, action string, extra ...any) policyMutation {
	in := map[string]any{"subject": subject, "object": object, "action": action}
	for i := 0; i+1 < len(extra); i += 2 {
		in[extra[i].(string)] = extra[i+1]
	}
	return inputMutation(field, "GrantInput", in)
}

// rowFilterMutation is addRowFilter or removeRowFilter.
func rowFilterMutation(field, subject, model, filter string) policyMutation {
	return inputMutation(field, "RowFilterInput", map[string]any{"subject": subject, "model": model, "filter": filter})
}

// maskMutation is addMask or removeMask.
func maskMutation(field, subject, dimension, mask string) policyMutation {
	return inputMutation(field, "MaskInput", map[string]any{"subject": subject, "dimension": dimension, "mask": mask})
}

// roleMutation is assignRole or unassignRole.
func roleMutation(field, member, role string) policyMutation {
	return policyMutation{field, fmt.Sprintf(`mutation($m: String!, $r: String!) { %s(member: $m, role: $r) %s }`, field, policyChangeFields),
		map[string]any{"m": member, "r": role}}
}

// attributeMutation is declareAttribute or removeAttribute.
func attributeMutation(field, name, typ string) policyMutation {
	return policyMutation{field, fmt.Sprintf(`mutation($n: String!, $t: AttributeType!) { %s(name: $n, type: $t) %s }`, field, policyChangeFields),
		map[string]any{"n": name, "t": typ}}
}

func (m policyMutation) send(t *testing.T, srv *httptest.Server, tok string) gqlResponse {
	t.Helper()
	return postAs(t, srv, tok, m.doc, m.vars)
}

// apply sends the mutation, which must succeed, and returns the change it made.
func (m policyMutation) apply(t *testing.T, srv *httptest.Server, tok string) policyChangeNode {
	t.Helper()
	var data map[string]policyChangeNode
	mustData(t, m.send(t, srv, tok), &data)
	return data[m.field]
}

// policyLines returns the rules of the caller's tenant's policy, as policy file lines.
func policyLines(t *testing.T, srv *httptest.Server, tok string) []string {
	t.Helper()
	var data struct {
		AccessPolicy struct {
			Tenant string
			Rules  []struct{ Line string }
		}
	}
	mustData(t, postAs(t, srv, tok, `{ accessPolicy { tenant rules { line } } }`, nil), &data)
	out := make([]string, len(data.AccessPolicy.Rules))
	for i, r := range data.AccessPolicy.Rules {
		out[i] = r.Line
	}
	return out
}

// policyChangeLog returns every recorded change of the caller's tenant, oldest first.
func policyChangeLog(t *testing.T, srv *httptest.Server, tok string) []policyChangeNode {
	t.Helper()
	var data struct {
		PolicyChanges struct {
			Edges []struct{ Node policyChangeNode }
		}
	}
	mustData(t, postAs(t, srv, tok, `{ policyChanges(first: 100) { edges { node `+policyChangeFields+` } } }`, nil), &data)
	out := make([]policyChangeNode, len(data.PolicyChanges.Edges))
	for i, e := range data.PolicyChanges.Edges {
		out[i] = e.Node
	}
	return out
}

// accessDecision asks checkAccess whether a subject with roles may act on an object.
type accessDecision struct {
	Allowed bool
	Rule    *struct{ Line string }
}

func checkAccess(t *testing.T, srv *httptest.Server, tok, subject string, roles []string, object, action string) accessDecision {
	t.Helper()
	var data struct{ CheckAccess accessDecision }
	mustData(t, postAs(t, srv, tok, `query($in: CheckAccessInput!) { checkAccess(input: $in) { allowed rule { line } } }`,
		map[string]any{"in": map[string]any{"subject": subject, "roles": roles, "object": object, "action": action}}), &data)
	return data.CheckAccess
}

// queryInput is a metric query's input: metrics, then dimensions, then filters as
// dimension, operator, values triples.
func queryInput(metrics, dimensions []string, filters ...any) map[string]any {
	in := map[string]any{"metrics": metrics, "dimensions": dimensions}
	var fs []map[string]any
	for i := 0; i+2 < len(filters); i += 3 {
		fs = append(fs, map[string]any{"dimension": filters[i], "operator": filters[i+1], "values": filters[i+2]})
	}
	if fs != nil {
		in["filters"] = fs
	}
	return in
}

// sendQuery runs a metric query as the token's caller.
func sendQuery(t *testing.T, srv *httptest.Server, tok string, in map[string]any) gqlResponse {
	t.Helper()
	return postAs(t, srv, tok, `query($in: MetricQueryInput!) { query(input: $in) { rows } }`, map[string]any{"in": in})
}

// queryRows runs a metric query that must succeed and returns its rows, comparable with
// PostgreSQL's and with each other's through oracletest.
func queryRows(t *testing.T, srv *httptest.Server, tok string, in map[string]any) [][]oracletest.Value {
	t.Helper()
	var data struct{ Query struct{ Rows [][]any } }
	mustData(t, sendQuery(t, srv, tok, in), &data)
	return oracleValues(t, data.Query.Rows)
}

// oracleValues converts rows of JSON values (numbers decoded as json.Number) to oracle values:
// numbers exactly as written, text as text.
func oracleValues(t *testing.T, rows [][]any) [][]oracletest.Value {
	t.Helper()
	out := make([][]oracletest.Value, len(rows))
	for i, row := range rows {
		out[i] = make([]oracletest.Value, len(row))
		for j, v := range row {
			switch v := v.(type) {
			case nil:
				out[i][j] = oracletest.Value{Null: true}
			case string:
				out[i][j] = oracletest.Value{Text: v}
			case json.Number:
				r, ok := new(big.Rat).SetString(v.String())
				if !ok {
					t.Fatalf("row %d column %d: %q is not a number", i, j, v)
				}
				out[i][j] = oracletest.Value{Exact: r}
			default:
				t.Fatalf("row %d column %d: cannot compare %v (%T)", i, j, v, v)
			}
		}
	}
	return out
}

// policySnapshot is what an admin sees of its tenant's policy: the rules and the change log.
type policySnapshot struct {
	rules []string
	log   []policyChangeNode
}

func snapshotPolicy(t *testing.T, srv *httptest.Server, adminTok string) policySnapshot {
	t.Helper()
	return policySnapshot{policyLines(t, srv, adminTok), policyChangeLog(t, srv, adminTok)}
}

// checkUnchanged fails the test when the policy or its change log differ from before.
func checkUnchanged(t *testing.T, srv *httptest.Server, adminTok string, before policySnapshot) {
	t.Helper()
	after := snapshotPolicy(t, srv, adminTok)
	if !slices.Equal(after.rules, before.rules) {
		t.Errorf("the policy changed:\nbefore %q\n after %q", before.rules, after.rules)
	}
	if !slices.Equal(after.log, before.log) {
		t.Errorf("a change was recorded:\nbefore %+v\n after %+v", before.log, after.log)
	}
}

// exactInt is a whole number as an oracle value.
func exactInt(n int64) oracletest.Value { return oracletest.Value{Exact: big.NewRat(n, 1)} }

// TestAdminGrant grants the viewer the query permission on order_count and takes it back: each
// change applies to the viewer's very next request, checkAccess names the deciding rule, and
// accessPolicy shows the rule while it is there.
func TestAdminGrant(t *testing.T) {
	_, srv := adminService(t)
	admin, viewer, analyst := adminToken(t), viewerToken(t), analystToken(t)
	orderCount := queryInput([]string{"order_count"}, nil)
	gmvPaid := queryInput([]string{"gmv_paid"}, nil)
	wantError(t, sendQuery(t, srv, viewer, orderCount), CodeForbidden, "may see metric order_count but not query it")

	metricGrant := grantMutation("grant", "viewer", "metric:order_count", "query")
	line := metricGrant.apply(t, srv, admin).Detail
	if want := "p, viewer, demo, metric:order_count, query, allow"; line != want {
		t.Errorf("grant recorded %q, want %q", line, want)
	}
	d := checkAccess(t, srv, admin, "vic", []string{"viewer"}, "metric:order_count", "QUERY")
	if !d.Allowed || d.Rule == nil || d.Rule.Line != line {
		t.Errorf("checkAccess of viewer query order_count = %+v, want allowed by %q", d, line)
	}
	// The grant on the metric is all it takes: querying a metric needs no query permission on
	// its model.
	oracletest.Compare(t, queryRows(t, srv, viewer, orderCount), queryRows(t, srv, analyst, orderCount), false)
	wantError(t, sendQuery(t, srv, viewer, gmvPaid), CodeForbidden, "may see metric gmv_paid but not query it")
	if d := checkAccess(t, srv, admin, "vic", []string{"viewer"}, "metric:gmv_paid", "QUERY"); d.Allowed || d.Rule != nil {
		t.Errorf("checkAccess of viewer query gmv_paid = %+v, want refused by no rule", d)
	}
	if policy := policyLines(t, srv, admin); !slices.Contains(policy, line) {
		t.Errorf("accessPolicy lacks the grant %q: %q", line, policy)
	}

	if got := grantMutation("revokeGrant", "viewer", "metric:order_count", "query").apply(t, srv, admin); got.Operation != "REMOVE_RULE" || got.Detail != line {
		t.Errorf("revokeGrant recorded %+v, want REMOVE_RULE of %q", got, line)
	}
	wantError(t, sendQuery(t, srv, viewer, orderCount), CodeForbidden, "may see metric order_count but not query it")
	if policy := policyLines(t, srv, admin); slices.Contains(policy, line) {
		t.Errorf("accessPolicy still has the revoked grant %q", line)
	}
	if d := checkAccess(t, srv, admin, "vic", []string{"viewer"}, "metric:order_count", "QUERY"); d.Allowed || d.Rule != nil {
		t.Errorf("checkAccess after the revoke = %+v, want refused by no rule", d)
	}
	checkNoLeak(t)
}

// TestAdminAssignRole gives the user vic, whose token says viewer, the finance role in the
// policy, and takes it away: finance's metrics exist for vic's next request, and then no more.
func TestAdminAssignRole(t *testing.T) {
	_, srv := adminService(t)
	admin, viewer := adminToken(t), viewerToken(t)
	const lookup = `{ metric(name: "coupon_rate") { name } viewer { effectiveRoles } }`
	checkNotFound(t, postAs(t, srv, viewer, lookup, nil), "coupon_rate", matrixRole{name: "viewer"})

	if got := roleMutation("assignRole", "vic", "finance").apply(t, srv, admin); got.Detail != "g, vic, finance, demo" {
		t.Errorf("assignRole recorded %q", got.Detail)
	}
	var data struct {
		Metric *nameNode
		Viewer struct{ EffectiveRoles []string }
	}
	mustData(t, postAs(t, srv, viewer, lookup, nil), &data)
	if data.Metric == nil || !slices.Contains(data.Viewer.EffectiveRoles, "finance") {
		t.Errorf("with the finance role assigned, vic sees coupon_rate %v with roles %v", data.Metric, data.Viewer.EffectiveRoles)
	}
	if rows := queryRows(t, srv, viewer, queryInput([]string{"coupon_rate"}, nil)); len(rows) != 1 {
		t.Errorf("coupon_rate as vic, a finance member: %d rows, want 1", len(rows))
	}

	roleMutation("unassignRole", "vic", "finance").apply(t, srv, admin)
	checkNotFound(t, postAs(t, srv, viewer, lookup, nil), "coupon_rate", matrixRole{name: "viewer"})
	// A token that carries the role itself is not affected by the policy's assignments.
	mustData(t, postAs(t, srv, financeToken(t), lookup, nil), &data)
	if data.Metric == nil {
		t.Error("a finance token no longer sees coupon_rate")
	}
}

// TestAdminRowFilter adds row filters on orders and removes them. Row filters combine with OR:
// east_sales, who sees east's orders, then also sees every app order; finance, who saw every
// order, then sees only app orders. Each answer equals the analyst's with the filter written
// into the query.
func TestAdminRowFilter(t *testing.T) {
	_, srv := adminService(t)
	admin, analyst, east, finance := adminToken(t), analystToken(t), eastSalesToken(t, "east"), financeToken(t)
	byChannel := func(filters ...any) map[string]any {
		return queryInput([]string{"order_count"}, []string{"orders.channel"}, filters...)
	}
	app := []any{"orders.channel", "IN", []string{"app"}}
	eastOnly := []any{"orders.region", "EQUALS", []string{"east"}}
	notApp := []any{"orders.channel", "NOT_IN", []string{"app"}}
	eastWant := queryRows(t, srv, analyst, byChannel(eastOnly...))
	appWant := queryRows(t, srv, analyst, byChannel(app...))
	allWant := queryRows(t, srv, analyst, byChannel())
	if len(eastWant) != 3 || len(appWant) != 1 {
		t.Fatalf("the demo does not have three channels in east: %v, app %v", eastWant, appWant)
	}
	oracletest.Compare(t, queryRows(t, srv, east, byChannel()), eastWant, false)
	oracletest.Compare(t, queryRows(t, srv, finance, byChannel()), allWant, false)

	appFilter := func(field, subject string) policyMutation {
		return rowFilterMutation(field, subject, "orders", "channel = 'app'")
	}
	for _, subject := range []string{"east_sales", "finance"} {
		if got := appFilter("addRowFilter", subject).apply(t, srv, admin); got.Detail != "row_filter, "+subject+", demo, orders, channel = 'app'" {
			t.Errorf("addRowFilter recorded %q", got.Detail)
		}
	}
	oracletest.Compare(t, queryRows(t, srv, east, byChannel()),
		append(queryRows(t, srv, analyst, byChannel(append(eastOnly, notApp...)...)), appWant...), false)
	oracletest.Compare(t, queryRows(t, srv, finance, byChannel()), appWant, false)

	for _, subject := range []string{"east_sales", "finance"} {
		appFilter("removeRowFilter", subject).apply(t, srv, admin)
	}
	oracletest.Compare(t, queryRows(t, srv, east, byChannel()), eastWant, false)
	oracletest.Compare(t, queryRows(t, srv, finance, byChannel()), allWant, false)
	checkNoLeak(t)
}

// partialMask is what a partial mask shows of a value: its first and last character with a star
// for each one between; a value of two characters or fewer, only stars.
func partialMask(s string) string {
	r := []rune(s)
	if len(r) <= 2 {
		return strings.Repeat("*", len(r))
	}
	return string(r[0]) + strings.Repeat("*", len(r)-2) + string(r[len(r)-1])
}

// maskedCounts masks the first column of rows of (text, count), adding up the counts of values
// that look alike once masked.
func maskedCounts(rows [][]oracletest.Value, mask func(string) string) [][]oracletest.Value {
	var out [][]oracletest.Value
	at := map[string]int{}
	for _, row := range rows {
		key := row[0]
		if !key.Null {
			key.Text = mask(key.Text)
		}
		i, ok := at[key.String()]
		if !ok {
			i, at[key.String()] = len(out), len(out)
			out = append(out, []oracletest.Value{key, {Exact: new(big.Rat)}})
		}
		out[i][1].Exact.Add(out[i][1].Exact, row[1].Exact)
	}
	return out
}

// TestAdminMask masks customer cities for support, then takes the mask away: support's next
// request groups by masked cities, the analyst's cities masked as the mask shows them, and then
// by the cities again.
func TestAdminMask(t *testing.T) {
	_, srv := adminService(t)
	admin, analyst, support := adminToken(t), analystToken(t), supportToken(t)
	byCity := queryInput([]string{"customer_count"}, []string{"customers.city"})
	masking := func() *string {
		var data struct{ Dimension struct{ Masking *string } }
		mustData(t, postAs(t, srv, support, `{ dimension(name: "customers.city") { masking } }`, nil), &data)
		return data.Dimension.Masking
	}
	cities := queryRows(t, srv, analyst, byCity)
	oracletest.Compare(t, queryRows(t, srv, support, byCity), cities, false)

	if got := maskMutation("addMask", "support", "customers.city", "PARTIAL").apply(t, srv, admin); got.Detail != "mask, support, demo, customers.city, partial" {
		t.Errorf("addMask recorded %q", got.Detail)
	}
	masked := maskedCounts(cities, partialMask)
	if len(masked) == len(cities) {
		t.Fatalf("no two cities look alike masked; the mask and the analyst's cities would be told apart by count alone")
	}
	oracletest.Compare(t, queryRows(t, srv, support, byCity), masked, false)
	if m := masking(); m == nil || *m != "PARTIAL" {
		t.Errorf("customers.city masking for support = %v, want PARTIAL", m)
	}
	oracletest.Compare(t, queryRows(t, srv, analyst, byCity), cities, false)

	maskMutation("removeMask", "support", "customers.city", "PARTIAL").apply(t, srv, admin)
	oracletest.Compare(t, queryRows(t, srv, support, byCity), cities, false)
	if m := masking(); m != nil {
		t.Errorf("customers.city masking for support after removeMask = %q", *m)
	}
	checkNoLeak(t)
}

// TestAdminAttributes declares a user attribute, filters finance's customers by it, and takes
// both away in the order the policy allows: a filter may not use an attribute before it is
// declared, nor may the declaration go while a filter uses it.
func TestAdminAttributes(t *testing.T) {
	_, srv := adminService(t)
	admin, analyst := adminToken(t), analystToken(t)
	corporate := tokenFor(t, "fay", "demo", []string{"finance"}, map[string]any{"segment": "corporate"})
	noClaim := financeToken(t)
	bySegment := func(filters ...any) map[string]any {
		return queryInput([]string{"customer_count"}, []string{"customers.segment"}, filters...)
	}
	filter := func(field string) policyMutation {
		return rowFilterMutation(field, "finance", "customers", "segment = {user.segment}")
	}
	declaration := func(field string) policyMutation { return attributeMutation(field, "segment", "STRING") }
	all := queryRows(t, srv, analyst, bySegment())

	before := snapshotPolicy(t, srv, admin)
	wantError(t, filter("addRowFilter").send(t, srv, admin), CodeInvalidPolicy, "{user.segment} is not an attribute of tenant demo", "attribute, demo, segment, string")
	checkUnchanged(t, srv, admin, before)

	if got := declaration("declareAttribute").apply(t, srv, admin); got.Detail != "attribute, demo, segment, string" {
		t.Errorf("declareAttribute recorded %q", got.Detail)
	}
	filter("addRowFilter").apply(t, srv, admin)
	oracletest.Compare(t, queryRows(t, srv, corporate, bySegment()), queryRows(t, srv, analyst, bySegment("customers.segment", "EQUALS", []string{"corporate"})), false)
	// Without the claim, the filter keeps no customer: a missing attribute never widens access.
	if rows := queryRows(t, srv, noClaim, bySegment()); len(rows) != 0 {
		t.Errorf("finance without a segment claim sees customers: %v", rows)
	}

	before = snapshotPolicy(t, srv, admin)
	wantError(t, declaration("removeAttribute").send(t, srv, admin), CodeInvalidPolicy, "{user.segment}")
	checkUnchanged(t, srv, admin, before)
	filter("removeRowFilter").apply(t, srv, admin)
	declaration("removeAttribute").apply(t, srv, admin)
	oracletest.Compare(t, queryRows(t, srv, noClaim, bySegment()), all, false)
	wantError(t, filter("addRowFilter").send(t, srv, admin), CodeInvalidPolicy, "{user.segment} is not an attribute")
	checkNoLeak(t)
}

// TestPolicyChanges makes one change of each kind of rule and checks that policyChanges lists
// them in order, each as its mutation returned it — actor, operation, and the rule's line as
// accessPolicy shows it — a page at a time.
func TestPolicyChanges(t *testing.T) {
	_, srv := adminService(t)
	admin := adminToken(t)
	changes := []struct {
		mutation  policyMutation
		operation string
		detail    string
	}{
		{grantMutation("grant", "viewer", "metric:aov", "query", "effect", "DENY", "priority", 5), "ADD_RULE", "p, viewer, demo, metric:aov, query, deny, 5"},
		{roleMutation("assignRole", "vic", "finance"), "ADD_RULE", "g, vic, finance, demo"},
		{rowFilterMutation("addRowFilter", "finance", "orders", "channel IN ('app', 'web')"), "ADD_RULE", `row_filter, finance, demo, orders, "channel IN ('app', 'web')"`},
		{maskMutation("addMask", "support", "customers.city", "HASH"), "ADD_RULE", "mask, support, demo, customers.city, hash"},
		{attributeMutation("declareAttribute", "team", "STRING"), "ADD_RULE", "attribute, demo, team, string"},
		{roleMutation("unassignRole", "vic", "finance"), "REMOVE_RULE", "g, vic, finance, demo"},
	}
	var made []policyChangeNode
	for _, c := range changes {
		got := c.mutation.apply(t, srv, admin)
		if got.Actor != "ada@demo" || got.Operation != c.operation || got.Detail != c.detail || got.At == "" {
			t.Errorf("%s recorded %+v, want %s of %q by ada@demo", c.mutation.field, got, c.operation, c.detail)
		}
		if len(made) > 0 && got.Seq <= made[len(made)-1].Seq {
			t.Errorf("%s has seq %d after %d", c.mutation.field, got.Seq, made[len(made)-1].Seq)
		}
		made = append(made, got)
	}
	if log := policyChangeLog(t, srv, admin); !slices.Equal(log, made) {
		t.Errorf("policyChanges = %+v\nwant the changes as made: %+v", log, made)
	}
	rules := policyLines(t, srv, admin)
	for _, c := range changes[:5] {
		if c.operation == "ADD_RULE" && c.mutation.field != "assignRole" && !slices.Contains(rules, c.detail) {
			t.Errorf("accessPolicy lacks %q", c.detail)
		}
	}
	if slices.Contains(rules, "g, vic, finance, demo") {
		t.Error("accessPolicy still has the unassigned role")
	}

	var paged []policyChangeNode
	var after any
	for page := 1; ; page++ {
		var data struct {
			PolicyChanges struct {
				Edges    []struct{ Node policyChangeNode }
				PageInfo pageInfo
			}
		}
		mustData(t, postAs(t, srv, admin, `query($after: String) { policyChanges(first: 4, after: $after) { edges { node `+policyChangeFields+` } pageInfo { hasNextPage hasPreviousPage endCursor } } }`,
			map[string]any{"after": after}), &data)
		pc := data.PolicyChanges
		for _, e := range pc.Edges {
			paged = append(paged, e.Node)
		}
		if pc.PageInfo.HasPreviousPage != (page > 1) {
			t.Errorf("page %d: hasPreviousPage %v", page, pc.PageInfo.HasPreviousPage)
		}
		if !pc.PageInfo.HasNextPage {
			if page != 2 || len(pc.Edges) != 2 {
				t.Errorf("the last page is page %d with %d changes; want page 2 with 2", page, len(pc.Edges))
			}
			break
		}
		if page > 2 || len(pc.Edges) != 4 || pc.PageInfo.EndCursor == nil {
			t.Fatalf("page %d: %d changes, pageInfo %+v", page, len(pc.Edges), pc.PageInfo)
		}
		after = *pc.PageInfo.EndCursor
	}
	if !slices.Equal(paged, made) {
		t.Errorf("the pages hold %+v\nwant %+v", paged, made)
	}
}

// TestAdminRefusals sends every mutation and admin query as an analyst, who may not administer
// the policy: each is FORBIDDEN, and the policy and its log stay as they were.
func TestAdminRefusals(t *testing.T) {
	_, srv := adminService(t)
	admin, analyst := adminToken(t), analystToken(t)
	var created struct {
		CreateApiKey struct{ APIKey struct{ ID string } }
	}
	mustData(t, postAs(t, srv, admin, `mutation { createApiKey(input: {name: "export", roles: ["viewer"]}) { apiKey { id } } }`, nil), &created)
	before := snapshotPolicy(t, srv, admin)

	// Each of them would succeed for an admin.
	mutations := []policyMutation{
		grantMutation("grant", "analyst", "policy:demo", "admin"),
		grantMutation("revokeGrant", "analyst", "*", "read"),
		roleMutation("assignRole", "ann", "admin"),
		roleMutation("unassignRole", "east_sales", "viewer"),
		rowFilterMutation("addRowFilter", "analyst", "orders", "channel = 'app'"),
		rowFilterMutation("removeRowFilter", "east_sales", "orders", "region = {user.region}"),
		maskMutation("addMask", "analyst", "customers.city", "HASH"),
		maskMutation("removeMask", "support", "customers.name", "PARTIAL"),
		attributeMutation("declareAttribute", "team", "STRING"),
		attributeMutation("removeAttribute", "regions", "STRINGS"),
		{"createApiKey", `mutation { createApiKey(input: {name: "mine", roles: ["admin"]}) { key } }`, nil},
		{"revokeApiKey", `mutation($id: ID!) { revokeApiKey(id: $id) { seq } }`, map[string]any{"id": created.CreateApiKey.APIKey.ID}},
	}
	for _, m := range mutations {
		t.Run(m.field, func(t *testing.T) {
			wantError(t, m.send(t, srv, analyst), CodeForbidden, "ann may not administer the access policy of tenant demo")
		})
	}
	for _, q := range []string{
		`{ accessPolicy { tenant } }`,
		`{ apiKeys { id } }`,
		`{ policyChanges { edges { cursor } } }`,
		`{ checkAccess(input: {subject: "ann", object: "metric:gmv_paid", action: READ}) { allowed } }`,
	} {
		wantError(t, postAs(t, srv, analyst, q, nil), CodeForbidden, "may not administer")
	}
	var v struct{ Viewer struct{ Admin bool } }
	mustData(t, postAs(t, srv, analyst, `{ viewer { admin } }`, nil), &v)
	if v.Viewer.Admin {
		t.Error("viewer.admin is true for an analyst")
	}
	checkUnchanged(t, srv, admin, before)
}

// TestAdminRefusedChanges sends changes an admin may make but that cannot apply — adding a rule
// that exists (CONFLICT), removing one that does not (NOT_FOUND), or making the policy invalid
// (INVALID_POLICY) — of every kind of rule: each is refused with a message that names the rule or
// the problem, and nothing changes.
func TestAdminRefusedChanges(t *testing.T) {
	_, srv := adminService(t)
	admin := adminToken(t)
	before := snapshotPolicy(t, srv, admin)
	tests := []struct {
		name     string
		mutation policyMutation
		code     string
		want     []string
	}{
		{"grant that exists", grantMutation("grant", "analyst", "*", "read"), CodeConflict, []string{"p, analyst, demo, *, read, allow"}},
		{"grant that exists at a priority", grantMutation("grant", "analyst", "tag:pii", "*", "priority", 10), CodeConflict, []string{"p, analyst, demo, tag:pii, *, allow, 10"}},
		{"role that is assigned", roleMutation("assignRole", "east_sales", "viewer"), CodeConflict, []string{"g, east_sales, viewer, demo"}},
		{"row filter that exists", rowFilterMutation("addRowFilter", "east_sales", "orders", "region = {user.region}"), CodeConflict,
			[]string{"row_filter, east_sales, demo, orders, region = {user.region}"}},
		{"mask that exists", maskMutation("addMask", "support", "customers.name", "PARTIAL"), CodeConflict, []string{"mask, support, demo, customers.name, partial"}},
		{"attribute that is declared", attributeMutation("declareAttribute", "region", "STRING"), CodeConflict, []string{"attribute, demo, region, string"}},
		{"revoke of no grant", grantMutation("revokeGrant", "analyst", "*", "admin"), CodeNotFound, []string{"p, analyst, demo, *, admin, allow"}},
		// The grant exists at priority 10, not at the default 100.
		{"revoke at another priority", grantMutation("revokeGrant", "analyst", "tag:pii", "*"), CodeNotFound, []string{"p, analyst, demo, tag:pii, *, allow"}},
		{"unassign of no role", roleMutation("unassignRole", "vic", "admin"), CodeNotFound, []string{"g, vic, admin, demo"}},
		{"removal of no row filter", rowFilterMutation("removeRowFilter", "east_sales", "orders", "region = 'east'"), CodeNotFound,
			[]string{"row_filter, east_sales, demo, orders, region = 'east'"}},
		{"removal of another mask", maskMutation("removeMask", "support", "customers.name", "HASH"), CodeNotFound, []string{"mask, support, demo, customers.name, hash"}},
		{"removal of another type", attributeMutation("removeAttribute", "region", "NUMBER"), CodeNotFound, []string{"attribute, demo, region, number"}},

		{"row filter that does not parse", rowFilterMutation("addRowFilter", "analyst", "orders", "region = = 'east'"), CodeInvalidPolicy,
			[]string{"region = = 'east'", "syntax error"}},
		{"row filter on an unknown column", rowFilterMutation("addRowFilter", "analyst", "orders", "regoin = 'east'"), CodeInvalidPolicy,
			[]string{"model orders has no column regoin"}},
		{"row filter with an undeclared attribute", rowFilterMutation("addRowFilter", "analyst", "orders", "region = {user.regoin}"), CodeInvalidPolicy,
			[]string{"{user.regoin} is not an attribute of tenant demo", "region, regions"}},
		{"list attribute outside IN", rowFilterMutation("addRowFilter", "analyst", "orders", "region = {user.regions}"), CodeInvalidPolicy,
			[]string{"{user.regions} holds a list", "IN"}},
		{"row filter on an unknown model", rowFilterMutation("addRowFilter", "analyst", "ordrs", "region = 'east'"), CodeInvalidPolicy,
			[]string{"there is no data model ordrs", `"orders"`}},
		{"row filter that is not a condition", rowFilterMutation("addRowFilter", "analyst", "orders", "region"), CodeInvalidPolicy, []string{"not a condition"}},
		{"mask on a time dimension", maskMutation("addMask", "support", "customers.signup_date", "HASH"), CodeInvalidPolicy,
			[]string{"customers.signup_date", "only text dimensions"}},
		{"mask on a boolean dimension", maskMutation("addMask", "support", "orders.is_paid", "PARTIAL"), CodeInvalidPolicy,
			[]string{"orders.is_paid", "only text dimensions"}},
		{"mask on an unknown dimension", maskMutation("addMask", "support", "customers.nmae", "PARTIAL"), CodeInvalidPolicy,
			[]string{"there is no dimension customers.nmae", "customers.name"}},
		{"grant of an unknown action", grantMutation("grant", "analyst", "metric:aov", "write"), CodeInvalidPolicy, []string{`unknown action "write"`, "read, query"}},
		{"grant of a malformed pattern", grantMutation("grant", "analyst", "metric:[gmv", "read"), CodeInvalidPolicy, []string{`"metric:[gmv" is malformed`}},
		{"grant of an object with no kind", grantMutation("grant", "analyst", "gmv_paid", "read"), CodeInvalidPolicy, []string{`"gmv_paid" is not KIND:NAME`}},
		{"grant of an unknown kind", grantMutation("grant", "analyst", "table:orders", "read"), CodeInvalidPolicy, []string{`unknown kind "table"`}},
		{"role assigned to itself", roleMutation("assignRole", "viewer", "viewer"), CodeInvalidPolicy, []string{"itself"}},
		{"attribute removed while a filter uses it", attributeMutation("removeAttribute", "region", "STRING"), CodeInvalidPolicy,
			[]string{"{user.region} is not an attribute of tenant demo", "row_filter, east_sales, demo, orders"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, tt.mutation.send(t, srv, admin), tt.code, tt.want...)
		})
	}
	checkUnchanged(t, srv, admin, before)
}

// apiKeyHeaderServer serves svc's API as server does, except that a request's bearer
// credentials reach the API as an X-API-Key header instead: what a client that sends its key
// that way sends.
func apiKeyHeaderServer(t *testing.T, svc *semantic.Service) *httptest.Server {
	t.Helper()
	api := NewHandler(svc, HandlerOptions{Logger: quietLogger(), Authenticator: demoAuthenticator(t, svc)})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			r.Header.Del("Authorization")
			r.Header.Set("X-API-Key", key)
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// apiKeyNode is an ApiKey as the API returns it.
type apiKeyNode struct {
	ID, Name, Subject, CreatedAt, CreatedBy string
	Roles                                   []string
	RevokedAt                               *string
}

const apiKeyFields = `{ id name roles subject createdAt createdBy revokedAt }`

// TestAPIKeys creates a viewer's API key, uses it in either header, lists it, and revokes it: its
// requests run as api_key:ID with the viewer's permissions until it is revoked, and are refused
// from the next request on.
func TestAPIKeys(t *testing.T) {
	svc, srv := adminService(t)
	headerSrv := apiKeyHeaderServer(t, svc)
	admin := adminToken(t)
	var created struct {
		CreateApiKey struct {
			Key    string
			APIKey apiKeyNode
			Change policyChangeNode
		}
	}
	mustData(t, postAs(t, srv, admin, `mutation { createApiKey(input: {name: "nightly-export", roles: ["viewer"]}) { key apiKey `+apiKeyFields+` change `+policyChangeFields+` } }`, nil), &created)
	key, stored := created.CreateApiKey.Key, created.CreateApiKey.APIKey
	if stored.Subject != "api_key:"+stored.ID || !slices.Equal(stored.Roles, []string{"viewer"}) || stored.CreatedBy != "ada@demo" || stored.RevokedAt != nil ||
		!strings.HasPrefix(key, "kj_"+stored.ID+"_") {
		t.Fatalf("createApiKey returned key %q as %+v", key, stored)
	}
	if c := created.CreateApiKey.Change; c.Operation != "CREATE_API_KEY" || c.Detail != stored.ID+" (nightly-export)" || c.Actor != "ada@demo" {
		t.Errorf("createApiKey recorded %+v", c)
	}
	secret := strings.TrimPrefix(key, "kj_"+stored.ID+"_")

	const whoAndWhat = `{ viewer { subject tenant roles authMethod admin } metrics { totalCount } }`
	type whoAndWhatData struct {
		Viewer struct {
			Subject, Tenant, AuthMethod string
			Roles                       []string
			Admin                       bool
		}
		Metrics struct{ TotalCount int }
	}
	var asViewer whoAndWhatData
	mustData(t, postAs(t, srv, viewerToken(t), whoAndWhat, nil), &asViewer)
	for name, s := range map[string]*httptest.Server{"Authorization: Bearer": srv, "X-API-Key": headerSrv} {
		t.Run(name, func(t *testing.T) {
			var data whoAndWhatData
			mustData(t, postAs(t, s, key, whoAndWhat, nil), &data)
			v := data.Viewer
			if v.Subject != stored.Subject || v.Tenant != "demo" || !slices.Equal(v.Roles, []string{"viewer"}) || v.AuthMethod != "API_KEY" || v.Admin {
				t.Errorf("the key runs as %+v", v)
			}
			if data.Metrics.TotalCount == 0 || data.Metrics.TotalCount != asViewer.Metrics.TotalCount {
				t.Errorf("the key sees %d metrics, a viewer's token %d", data.Metrics.TotalCount, asViewer.Metrics.TotalCount)
			}
			wantError(t, sendQuery(t, s, key, queryInput([]string{"order_count"}, nil)), CodeForbidden, stored.Subject+" may see metric order_count but not query it")
		})
	}

	r := postAs(t, srv, admin, `{ apiKeys `+apiKeyFields+` }`, nil)
	if strings.Contains(string(r.Data), secret) {
		t.Errorf("apiKeys shows the key's secret: %s", r.Data)
	}
	var listed struct{ APIKeys []apiKeyNode }
	mustData(t, r, &listed)
	if len(listed.APIKeys) != 1 || !reflect.DeepEqual(listed.APIKeys[0], stored) {
		t.Errorf("apiKeys = %+v, want the one created, %+v", listed.APIKeys, stored)
	}

	const revoke = `mutation($id: ID!) { revokeApiKey(id: $id) ` + policyChangeFields + ` }`
	var revoked struct{ RevokeApiKey policyChangeNode }
	mustData(t, postAs(t, srv, admin, revoke, map[string]any{"id": stored.ID}), &revoked)
	if c := revoked.RevokeApiKey; c.Operation != "REVOKE_API_KEY" || c.Detail != stored.ID+" (nightly-export)" {
		t.Errorf("revokeApiKey recorded %+v", c)
	}
	for name, s := range map[string]*httptest.Server{"Authorization: Bearer": srv, "X-API-Key": headerSrv} {
		r := postAs(t, s, key, whoAndWhat, nil)
		if r.status != http.StatusUnauthorized {
			t.Errorf("%s with the revoked key: status %d, want 401", name, r.status)
		}
		wantError(t, r, CodeUnauthenticated, "the API key "+stored.ID+" was revoked")
	}
	mustData(t, postAs(t, srv, admin, `{ apiKeys `+apiKeyFields+` }`, nil), &listed)
	if len(listed.APIKeys) != 1 || listed.APIKeys[0].RevokedAt == nil {
		t.Errorf("apiKeys after the revoke = %+v, want the key with its revokedAt", listed.APIKeys)
	}
	wantError(t, postAs(t, srv, admin, revoke, map[string]any{"id": stored.ID}), CodeNotFound, stored.ID)
	if log := policyChangeLog(t, srv, admin); len(log) != 2 || log[0] != created.CreateApiKey.Change || log[1] != revoked.RevokeApiKey {
		t.Errorf("policyChanges = %+v, want the creation and the revocation", log)
	}
}

// fixtureOrders returns how many orders the fixture's demo data has, as its table holds them.
func fixtureOrders(t *testing.T) int64 {
	t.Helper()
	orders, err := fixture.src.Table(engine.DemoSource, demodata.Orders)
	if err != nil {
		t.Fatal(err)
	}
	return orders.NumRows()
}

// pgOrderCount counts the orders in schema of the test database.
func pgOrderCount(t *testing.T, pool *pgxpool.Pool, schema string) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+pgx.Identifier{schema, "orders"}.Sanitize()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// loadFixtureData loads the demo data the fixture serves into a schema of the test database, for
// PostgreSQL to answer the questions the tests ask the server, and returns a pool and the schema.
func loadFixtureData(t *testing.T) (*pgxpool.Pool, string) {
	t.Helper()
	pool := pgtest.Connect(t)
	ds, err := demodata.Generate(context.Background(), memory.NewGoAllocator(), fixtureScale)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Release()
	schema := pgtest.LoadDemo(t, pool, ds)
	if got, want := pgOrderCount(t, pool, schema), fixtureOrders(t); got != want {
		t.Fatalf("PostgreSQL got %d orders and the fixture has %d: fixtureScale is not the fixture's scale", got, want)
	}
	return pool, schema
}

// TestInjectionIsData sends SQL where values go — in a token's claim that a row filter reads, in
// a query's filter, in the literal of a row filter an admin adds — to the embedded engine and to
// PostgreSQL: each is a value no row has, so the answer is the one for a region that does not
// exist, no statement carries it as SQL, and the orders are all still there.
func TestInjectionIsData(t *testing.T) {
	const sql = "east' OR '1'='1"
	pool, schema := loadFixtureData(t)
	cat, src := warehouseCatalog(t, schema, pgtest.URL(), 0)
	services := []struct {
		name string
		svc  *semantic.Service
	}{
		{"engine", mustService(t, fixture.demo.Catalog(), fixture.eng, semantic.ServiceOptions{})},
		{"pushed down", mustService(t, cat, engine.New(src, engine.Options{}), semantic.ServiceOptions{})},
	}
	byRegion := func(filters ...any) map[string]any {
		return queryInput([]string{"order_count", "gmv_paid"}, []string{"orders.region"}, filters...)
	}
	for _, s := range services {
		t.Run(s.name, func(t *testing.T) {
			srv := server(t, s.svc, HandlerOptions{})
			admin, analyst := adminToken(t), analystToken(t)
			nowhere := queryRows(t, srv, eastSalesToken(t, "atlantis"), byRegion())
			if len(nowhere) != 0 {
				t.Fatalf("east_sales of a region that does not exist sees %v", nowhere)
			}
			oracletest.Compare(t, queryRows(t, srv, eastSalesToken(t, sql), byRegion()), nowhere, false)
			oracletest.Compare(t, queryRows(t, srv, analyst, byRegion("orders.region", "EQUALS", []string{sql})), nowhere, false)
			rowFilter := rowFilterMutation("addRowFilter", "finance", "orders", "region = '"+strings.ReplaceAll(sql, "'", "''")+"'")
			rowFilter.apply(t, srv, admin)
			oracletest.Compare(t, queryRows(t, srv, financeToken(t), byRegion()), nowhere, false)

			var explained struct {
				Explain struct{ Statements []struct{ SQL string } }
			}
			mustData(t, postAs(t, srv, eastSalesToken(t, sql), `query($in: MetricQueryInput!) { explain(input: $in) { statements { sql } } }`,
				map[string]any{"in": byRegion()}), &explained)
			if s.name == "pushed down" && len(explained.Explain.Statements) == 0 {
				t.Error("nothing is pushed down to PostgreSQL; the case checks only the engine")
			}
			for _, st := range explained.Explain.Statements {
				if strings.Contains(st.SQL, "1'='1") {
					t.Errorf("the claim is spliced into the SQL: %s", st.SQL)
				}
			}
			// Every order is still there, and still counted.
			if got, want := pgOrderCount(t, pool, schema), fixtureOrders(t); got != want {
				t.Errorf("PostgreSQL has %d orders, want %d", got, want)
			}
			total := queryRows(t, srv, analyst, queryInput([]string{"order_count"}, nil))
			oracletest.Compare(t, total, [][]oracletest.Value{{exactInt(fixtureOrders(t))}}, false)
		})
	}
	checkNoLeak(t)
}
