package resolvers

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// qualityRuleFields are the fields of a rule the tests read.
const qualityRuleFields = `{ name kind severity subject target unit warn fail threshold scheduleSeconds
  lastRun { id rule status value threshold at trigger actor detail } }`

type qualityRunNode struct {
	ID, Rule, Status, At, Trigger, Actor string
	Value, Threshold                     *float64
	Detail                               json.RawMessage
}

type qualityRuleNode struct {
	Name, Kind, Severity, Subject, Target, Unit, Threshold string
	Warn, Fail                                             *float64
	ScheduleSeconds                                        *int
	LastRun                                                *qualityRunNode
}

type qualityScoreNode struct {
	Score                                 *float64
	Status                                *string
	RuleCount, Measured, Failing, Warning int
	Rules                                 []qualityRuleNode
}

// TestQualityOverGraphQL runs the demo's quality rules through the API: who may run them, what
// they measure over the demo's data, the scores of a metric and a domain, the runs' history a
// page at a time, and the flag a query result of a metric with a red line carries.
func TestQualityOverGraphQL(t *testing.T) {
	f := newGovernedFixture(t, HandlerOptions{})
	steward := salesStewardToken(t)
	analyst := tokenFor(t, "ann", "demo", []string{"analyst"}, nil)
	viewer := tokenFor(t, "vic", "demo", []string{"viewer"}, nil)

	// Before any run: the rules (gmv_paid is built on gmv_placed, and has its rules), no score.
	var before struct {
		Metric struct{ Quality qualityScoreNode }
	}
	f.ask(t, analyst, `{ metric(name: "gmv_paid") { quality { score status ruleCount measured rules `+qualityRuleFields+` } } }`, nil, &before)
	if q := before.Metric.Quality; q.Score != nil || q.Status != nil || q.RuleCount != 6 || len(q.Rules) != 6 || q.Rules[0].LastRun != nil {
		t.Fatalf("gmv_paid's quality before any run: %+v", q)
	}

	// An analyst may query but not review: running is refused.
	wantCode(t, f.send(t, analyst, `mutation { runQualityRules(metric: "gmv_placed") { rule } }`, nil), "FORBIDDEN", "review")

	// The sales steward runs gmv_placed's rules: the orders' five and the reconciliation.
	var ran struct {
		RunQualityRules []qualityRunNode
	}
	f.ask(t, steward, `mutation { runQualityRules(metric: "gmv_placed") { id rule status value threshold at trigger actor detail } }`, nil, &ran)
	status := map[string]string{}
	for _, r := range ran.RunQualityRules {
		status[r.Rule] = r.Status
		if r.Trigger != "manual" || r.Actor != "sam@demo" || r.At != "2026-11-30T09:00:00Z" {
			t.Errorf("run of %s recorded as %+v", r.Rule, r)
		}
	}
	want := map[string]string{"gmv_placed_matches_item_revenue": "PASS", "orders_amount_complete": "PASS", "orders_amount_in_range": "PASS",
		"orders_fresh": "FAIL", "orders_id_unique": "PASS", "orders_status_valid": "PASS"}
	if len(status) != len(want) {
		t.Fatalf("ran %v, want %v", status, want)
	}
	for rule, s := range want {
		if status[rule] != s {
			t.Errorf("%s: %s, want %s", rule, status[rule], s)
		}
	}

	// Scores: gmv_placed's six rules, weights 3+3+2+2+1 for the orders' and 3 for the
	// reconciliation; only orders_fresh (minor) fails: 13/14.
	var after struct {
		Metric struct{ Quality qualityScoreNode }
	}
	f.ask(t, analyst, `{ metric(name: "gmv_placed") { quality { score status ruleCount measured failing warning rules `+qualityRuleFields+` } } }`, nil, &after)
	q := after.Metric.Quality
	if q.Score == nil || *q.Score != 92.86 || q.Status == nil || *q.Status != "FAIL" || q.RuleCount != 6 || q.Measured != 6 || q.Failing != 1 {
		t.Errorf("gmv_placed's quality: %+v", q)
	}
	for _, r := range q.Rules {
		if r.LastRun == nil || r.LastRun.Status != want[r.Name] {
			t.Errorf("rule %s's last run: %+v", r.Name, r.LastRun)
		}
		if r.Name == "orders_fresh" && (r.Unit != "SECONDS" || r.Kind != "FRESHNESS" || *r.LastRun.Threshold != 2*86400 || *r.LastRun.Value < 300*86400) {
			t.Errorf("orders_fresh: %+v, last run %+v", r, *r.LastRun)
		}
	}
	var domain struct{ DomainQuality qualityScoreNode }
	f.ask(t, analyst, `{ domainQuality(domain: "sales") { score ruleCount measured rules { name } } }`, nil, &domain)
	if d := domain.DomainQuality; d.Score == nil || *d.Score != 92.86 || d.RuleCount != 6 {
		t.Errorf("the sales domain's quality: %+v", d)
	}

	// The history, a page at a time, newest first; filtered by status.
	var page struct {
		QualityRuns struct {
			Edges []struct {
				Cursor string
				Node   qualityRunNode
			}
			PageInfo struct {
				HasNextPage bool
				EndCursor   *string
			}
		}
	}
	f.ask(t, analyst, `{ qualityRuns(metric: "gmv_placed", first: 4) { edges { cursor node { rule status } } pageInfo { hasNextPage endCursor } } }`, nil, &page)
	if len(page.QualityRuns.Edges) != 4 || !page.QualityRuns.PageInfo.HasNextPage {
		t.Fatalf("the first page: %+v", page)
	}
	f.ask(t, analyst, `query($after: String) { qualityRuns(metric: "gmv_placed", first: 4, after: $after) { edges { cursor node { rule status } } pageInfo { hasNextPage endCursor } } }`,
		map[string]any{"after": *page.QualityRuns.PageInfo.EndCursor}, &page)
	if len(page.QualityRuns.Edges) != 2 || page.QualityRuns.PageInfo.HasNextPage {
		t.Errorf("the second page: %+v", page)
	}
	f.ask(t, analyst, `{ qualityRuns(status: FAIL) { edges { node { id rule status } } } }`, nil, &page)
	if len(page.QualityRuns.Edges) != 1 || page.QualityRuns.Edges[0].Node.Rule != "orders_fresh" {
		t.Fatalf("the failed runs: %+v", page)
	}

	// A run is a node: its ID finds it again; an ID no run has, or a run of another type's ID,
	// finds nothing.
	runID := page.QualityRuns.Edges[0].Node.ID
	var node struct{ Node qualityRunNode }
	f.ask(t, analyst, `query($id: ID!) { node(id: $id) { id ... on QualityRun { rule status } } }`, map[string]any{"id": runID}, &node)
	if node.Node.ID != runID || node.Node.Rule != "orders_fresh" || node.Node.Status != "FAIL" {
		t.Errorf("node(id: %s) = %+v", runID, node.Node)
	}
	for _, id := range []string{globalID(qualityRunType, "999999"), globalID(qualityRunType, "x"), globalID(feedbackType, "1")} {
		wantCode(t, f.send(t, analyst, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id}), "NOT_FOUND")
	}

	// A query of gmv_placed carries the flag in extensions.quality; one of customer_count, whose
	// model has no rules, carries none.
	r := f.ask(t, analyst, `{ query(input: {metrics: ["gmv_placed", "customer_count"]}) { rowCount } }`, nil, nil)
	var flags []struct {
		Metric, Status string
		Score          float64
		Rules          []struct{ Name, Kind, Status string }
	}
	if err := json.Unmarshal(r.Extensions.Quality, &flags); err != nil {
		t.Fatalf("extensions.quality %s: %v", r.Extensions.Quality, err)
	}
	if len(flags) != 1 || flags[0].Metric != "gmv_placed" || flags[0].Status != "fail" || flags[0].Score != 92.86 ||
		len(flags[0].Rules) != 1 || flags[0].Rules[0].Name != "orders_fresh" {
		t.Errorf("extensions.quality: %s", r.Extensions.Quality)
	}
	r = f.ask(t, analyst, `{ query(input: {metrics: ["customer_count"]}) { rowCount } }`, nil, nil)
	if len(r.Extensions.Quality) != 0 {
		t.Errorf("a result without flags has extensions.quality %s", r.Extensions.Quality)
	}

	// A viewer, who may not see the metrics tagged finance, sees no rule of coupon_rate: for it
	// the metric does not exist. Nor may it read the runs of its rules through it.
	resp := f.send(t, viewer, `{ qualityRules(metric: "coupon_rate") { name } }`, nil)
	wantCode(t, resp, "NOT_FOUND")
	if strings.Contains(string(resp.Data), "orders_") {
		t.Errorf("a viewer read coupon_rate's rules: %s", resp.Data)
	}
	wantCode(t, f.send(t, viewer, `{ qualityRuns(metric: "coupon_rate") { edges { node { rule } } } }`, nil), "NOT_FOUND")
	wantCode(t, f.send(t, viewer, `{ metric(name: "coupon_rate") { quality { score } } }`, nil), "NOT_FOUND")
}

// TestQualityLoadersBatch reads the quality of a page of metrics, with each rule's last run:
// the newest runs are read in one batch, each rule once, however many metrics share it.
func TestQualityLoadersBatch(t *testing.T) {
	reader := &countingGovernanceReader{batchCounter: newBatchCounter()}
	f := newGovernedFixture(t, HandlerOptions{BatchWait: 50 * time.Millisecond, GovernanceReader: reader.wrap})
	f.ask(t, salesStewardToken(t), `mutation { runQualityRules(metric: "gmv_placed") { rule } }`, nil, nil)
	reader.reset()

	var data struct {
		Metrics struct {
			Edges []struct {
				Node struct {
					Name    string
					Quality qualityScoreNode
				}
			}
		}
	}
	f.ask(t, tokenFor(t, "ann", "demo", []string{"analyst"}, nil),
		`{ metrics(first: 30) { edges { node { name quality { score rules { name lastRun { status } } } } } } }`, nil, &data)
	withRules := 0
	for _, e := range data.Metrics.Edges {
		if len(e.Node.Quality.Rules) > 0 {
			withRules++
			if e.Node.Quality.Rules[0].LastRun == nil {
				t.Errorf("%s: a rule without its last run: %+v", e.Node.Name, e.Node.Quality)
			}
		}
	}
	if withRules < 10 {
		t.Fatalf("only %d of the page's metrics have rules", withRules)
	}
	// The demo's six rules on orders and gmv_placed, each read once.
	reader.check(t, map[string]struct{ calls, keys int }{"LatestQualityRuns": {1, 6}})
}
