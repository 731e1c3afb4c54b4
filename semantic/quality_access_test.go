package semantic_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine/pgtest"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/store"
	"github.com/koujing/koujing/webhook"
)

// qualityPolicy lets sales_viewer read and query the sales domain and the orders and ledger
// models but not finance's metrics, sales_reviewer do that and review the sales domain, and
// finance_admin administer the tenant, which reads and queries everything.
const qualityPolicy = `p, sales_viewer, t, domain:sales, read, allow
p, sales_viewer, t, domain:sales, query, allow
p, sales_viewer, t, metric:ledger_total, read, allow
p, sales_viewer, t, metric:ledger_total, query, allow
p, sales_viewer, t, model:*, read, allow
p, sales_viewer, t, model:*, query, allow
p, sales_viewer, t, dimension:*, read, allow
p, sales_viewer, t, dimension:*, query, allow
g, sales_reviewer, sales_viewer, t
p, sales_reviewer, t, domain:sales, review, allow
p, finance_admin, t, *, read, allow
p, finance_admin, t, *, query, allow
p, finance_admin, t, policy:t, admin, allow
`

// TestQualityRulesFollowAccess checks that whoever cannot see a metric cannot see its rules or
// their runs, nor the rules that compare with it; that running rules on demand takes the review
// action or the tenant's admin; and that a metric's flag lists only the rules the caller sees.
func TestQualityRulesFollowAccess(t *testing.T) {
	dir := t.TempDir()
	qualityData(t, dir)
	writeFile(t, dir, "quality.yaml", qualityDefinitions(func(table string) string { return "{file: " + table + ".csv}" }))
	q := newPolicedQualityService(t, dir, memoryStore(t), nil, qualityPolicy)
	ctx := context.Background()
	as := func(role string) *semantic.Access {
		t.Helper()
		acc, err := q.svc.Access(&authz.Principal{Subject: role + "-user", Tenant: "t", Roles: []string{role}})
		if err != nil {
			t.Fatal(err)
		}
		return acc
	}
	viewer, reviewer, admin := as("sales_viewer"), as("sales_reviewer"), as("finance_admin")
	names := func(rules []*semantic.QualityRule) string {
		var out []string
		for _, r := range rules {
			out = append(out, r.Name)
		}
		return strings.Join(out, ",")
	}

	// The viewer sees the orders' rules and dirty_gmv's, not the reconciliations with finance.
	if got := names(viewer.QualityRules()); strings.Contains(got, "sales_agrees") || !strings.Contains(got, "dirty_gmv_fresh") || len(viewer.QualityRules()) != 13 {
		t.Errorf("the viewer sees rules %s", got)
	}
	if _, err := viewer.FindQualityRule("sales_agrees_with_finance"); !errors.Is(err, semantic.ErrNotFound) || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("a hidden rule: %v", err)
	}
	if rules, err := viewer.SelectQualityRules(semantic.QualitySelection{Domain: "sales"}); err != nil || strings.Contains(names(rules), "sales_agrees") || len(rules) != 13 {
		t.Errorf("the viewer's sales domain has rules %s, %v", names(rules), err)
	}
	if n := len(admin.QualityRules()); n != 17 {
		t.Errorf("the admin sees %d rules, want 17", n)
	}

	// Running on demand: the viewer may not; the reviewer of sales may run sales' rules; the
	// admin anything.
	if _, err := q.svc.RunQualityRules(ctx, viewer, semantic.QualitySelection{Metric: "dirty_gmv"}); !errors.Is(err, semantic.ErrForbidden) {
		t.Errorf("the viewer ran dirty_gmv's rules: %v", err)
	}
	// dirty_gmv's own rule, and those of the model it is built on, which the reviewer of a
	// metric over it may run.
	runs, err := q.svc.RunQualityRules(ctx, reviewer, semantic.QualitySelection{Metric: "dirty_gmv"})
	if err != nil || len(runs) != 7 || runs[0].Rule != "dirty_gmv_fresh" {
		t.Fatalf("the reviewer ran %+v, %v; want dirty_gmv's 7 rules", runs, err)
	}
	// The reconciliations of sales_gmv read finance's metrics, which the reviewer cannot see.
	if runs, err := q.svc.RunQualityRules(ctx, reviewer, semantic.QualitySelection{Metric: "sales_gmv"}); err != nil || len(runs) != 0 {
		t.Errorf("the reviewer ran sales_gmv's rules: %+v, %v", runs, err)
	}
	if runs[0].Actor != "sales_reviewer-user@t" || runs[0].Tenant != "t" {
		t.Errorf("the reviewer's run recorded as %+v", runs[0])
	}
	if _, err := q.svc.RunQualityRules(ctx, admin, semantic.QualitySelection{Domain: "sales"}); err != nil {
		t.Fatal(err)
	}
	if _, err := q.svc.RunQualityRules(ctx, admin, semantic.QualitySelection{Metric: "dirty_gmv", Domain: "sales"}); err == nil {
		t.Error("a selection of two things ran")
	}

	// Runs: the viewer lists none of the reconciliations', and cannot ask for them by name.
	all, err := q.svc.QualityRuns(ctx, admin, store.QualityRunQuery{Limit: 100})
	if err != nil || len(all) != 7+17 {
		t.Fatalf("the admin lists %d runs, %v; want 24", len(all), err)
	}
	seen, err := q.svc.QualityRuns(ctx, viewer, store.QualityRunQuery{Limit: 100})
	if err != nil || len(seen) != 7+13 {
		t.Fatalf("the viewer lists %d runs, %v; want 20", len(seen), err)
	}
	for _, r := range seen {
		if strings.HasPrefix(r.Rule, "sales_agrees") {
			t.Errorf("the viewer lists a run of %s", r.Rule)
		}
	}
	if hidden, err := q.svc.QualityRuns(ctx, viewer, store.QualityRunQuery{Rules: []string{"sales_agrees_with_far_finance"}}); err != nil || len(hidden) != 0 {
		t.Errorf("the viewer asked for a hidden rule's runs: %+v, %v", hidden, err)
	}
	var far store.QualityRun
	for _, r := range all {
		if r.Rule == "sales_agrees_with_far_finance" {
			far = r
		}
	}
	if r, err := q.svc.QualityRun(ctx, viewer, far.ID); err != nil || r != nil {
		t.Errorf("the viewer read a hidden run by its ID: %+v, %v", r, err)
	}

	// The flag of sales_gmv, whose reconciliations fail: the admin sees the rules that did
	// not pass; the viewer, who sees sales_gmv, sees the flag and its score, but no rule.
	flags, err := q.svc.QualityFlags(ctx, admin, []string{"sales_gmv", "clean_gmv"})
	if err != nil || len(flags) != 1 || flags[0].Metric != "sales_gmv" || flags[0].Status != store.QualityFail || len(flags[0].Rules) != 2 {
		t.Errorf("the admin's flags: %+v, %v", flags, err)
	}
	flags, err = q.svc.QualityFlags(ctx, viewer, []string{"sales_gmv", "finance_gmv_far"})
	if err != nil || len(flags) != 1 || flags[0].Metric != "sales_gmv" || len(flags[0].Rules) != 0 {
		t.Errorf("the viewer's flags: %+v, %v", flags, err)
	}
}

// TestQualityRedLineWebhookSigned delivers the call a red line queues to a receiver that checks
// its HMAC signature, as any receiver of Koujing's webhooks does.
func TestQualityRedLineWebhookSigned(t *testing.T) {
	secret := []byte("quality tests sign with this")
	var mu sync.Mutex
	type call struct {
		event, body string
		signed      bool
	}
	var calls []call
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, call{r.Header.Get(webhook.HeaderEvent), string(body), webhook.Verify(secret, body, r.Header.Get(webhook.HeaderSignature))})
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	qualityData(t, dir)
	defs := qualityDefinitions(func(table string) string { return "{file: " + table + ".csv}" })
	writeFile(t, dir, "quality.yaml", strings.Replace(defs, "https://hooks.example/sales", srv.URL+"/sales", 1))
	st := memoryStore(t)
	q := newQualityService(t, dir, st, nil)
	ctx := context.Background()
	if run, err := q.svc.RunQualityRule(ctx, q.gov.Catalog().FullAccess(), "dirty_orders_amount_complete"); err != nil || run.Status != store.QualityFail {
		t.Fatalf("run: %+v, %v", run, err)
	}
	// The deployment's webhook (hooks.example) is not this test's: only the domain's is called.
	d := webhook.New(st, webhook.Options{Secret: secret, Now: q.clock.Now, Logger: quietLog(), Timeout: 2 * time.Second,
		Jitter: func(d time.Duration) time.Duration { return d }})
	if _, err := d.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 1 || !calls[0].signed || calls[0].event != semantic.EventRedLine {
		t.Fatalf("the receiver got %+v", calls)
	}
	var payload struct {
		Type   string
		Detail struct {
			Rule, Status string
			Owners       []string
			Value, Fail  float64
		}
	}
	if err := json.Unmarshal([]byte(calls[0].body), &payload); err != nil {
		t.Fatal(err)
	}
	if p := payload.Detail; payload.Type != semantic.EventRedLine || p.Rule != "dirty_orders_amount_complete" || p.Status != "fail" ||
		strings.Join(p.Owners, ",") != "sales-analytics" || p.Value != 0.2 || p.Fail != 0.1 {
		t.Errorf("the red line's call: %s", calls[0].body)
	}
}

// TestQualityRunWhenTheWarehouseGoesAway runs a rule pushed down to a warehouse that goes away
// as the check sends its statement, and stays away for the next run: each run is recorded as an
// error that says so, without the warehouse's address, and the run after it is back measures
// again.
func TestQualityRunWhenTheWarehouseGoesAway(t *testing.T) {
	pool := pgtest.Connect(t)
	data := t.TempDir()
	qualityData(t, data)
	schema := loadQualityTables(t, pool, data)
	u, err := url.Parse(pgtest.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.addr

	dir := t.TempDir()
	defs := qualityDefinitions(func(table string) string { return "{connection: warehouse, table: " + schema + "." + table + "}" })
	writeFile(t, dir, "quality.yaml", defs+"connections:\n  - name: warehouse\n    url: "+u.String()+"\n")
	q := newQualityService(t, dir, memoryStore(t), nil)
	ctx := context.Background()
	acc := q.gov.Catalog().FullAccess()

	if run, err := q.svc.RunQualityRule(ctx, acc, "clean_orders_id_unique"); err != nil || run.Status != store.QualityPass {
		t.Fatalf("before the warehouse went away: %+v, %v", run, err)
	}
	// The warehouse goes away as the check sends its statement, then stays away for the next.
	proxy.cutWhenSent([]byte("clean_orders"))
	for i := range 2 {
		run, err := q.svc.RunQualityRule(ctx, acc, "clean_orders_id_unique")
		if err != nil {
			t.Fatalf("run %d: a run whose warehouse went away returned %v; want an error run", i+1, err)
		}
		if run.Status != store.QualityError || run.Value != nil || !strings.Contains(run.Detail, "unavailable") || strings.Contains(run.Detail, proxy.addr) {
			t.Errorf("run %d without a warehouse: %+v", i+1, run)
		}
	}
	proxy.cutWhenSent(nil)
	runs, err := q.svc.QualityRuns(ctx, acc, store.QualityRunQuery{Rules: []string{"clean_orders_id_unique"}})
	if err != nil || len(runs) != 3 || runs[0].Status != store.QualityError || runs[1].Status != store.QualityError {
		t.Errorf("the history: %+v, %v", runs, err)
	}
	// An error measures nothing: the score counts the pass before it no more, and no less.
	if s := semantic.ScoreQuality([]*semantic.QualityRule{q.gov.Catalog().QualityRule("clean_orders_id_unique")},
		map[string]store.QualityRun{"clean_orders_id_unique": runs[0]}); s.Score != nil || s.Status != store.QualityError {
		t.Errorf("the score after an error: %+v", s)
	}
	proxy.start(t)
	if run, err := q.svc.RunQualityRule(ctx, acc, "clean_orders_id_unique"); err != nil || run.Status != store.QualityPass {
		t.Errorf("after the warehouse came back: %+v, %v", run, err)
	}
}

// tcpProxy forwards connections to a server, and can stop — closing every connection it
// forwards and refusing new ones — and start again on the same address. It can also stop by
// itself, when a client sends given bytes.
type tcpProxy struct {
	target, addr string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
	cutOn        []byte
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{target: target, addr: "127.0.0.1:0"}
	p.start(t)
	p.addr = p.ln.Addr().String()
	t.Cleanup(p.stop)
	return p
}

func (p *tcpProxy) start(t *testing.T) {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go p.forward(s, c)
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
}

// forward copies what the client sends to the server, and stops the proxy instead when it
// sends the bytes cutOn names: the server goes away in the middle of a statement.
func (p *tcpProxy) forward(server, client net.Conn) {
	defer server.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := client.Read(buf)
		p.mu.Lock()
		cut := p.cutOn != nil && bytes.Contains(buf[:n], p.cutOn)
		p.mu.Unlock()
		if cut {
			p.stop()
			return
		}
		if n > 0 {
			if _, werr := server.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cutWhenSent makes the proxy stop when a client sends b.
func (p *tcpProxy) cutWhenSent(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutOn = b
}

func (p *tcpProxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
