package semantic_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/pgtest"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/store"
)

// qualityNow is the time the quality tests' clock starts at.
var qualityNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// The quality tests' data: orders made to pass every rule (clean) and to fail them (dirty), and
// a ledger in which sales and finance book the same revenue, 0.1% apart (finance_close) or 1%
// apart (finance_far).
const (
	cleanOrdersCSV = `order_id,customer,amount,status,created_at
1,ann,10.00,paid,2026-02-20T08:00:00Z
2,bob,250.50,shipped,2026-02-21T09:30:00Z
3,cat,999.99,paid,2026-02-25T10:00:00Z
4,dan,0.00,cancelled,2026-02-27T11:00:00Z
5,eve,120.25,paid,2026-03-01T11:00:00Z
6,fay,75.00,shipped,2026-02-28T23:59:59Z
`
	// 20 rows: order_id 1 three times and 2 twice (3 duplicates); 4 amounts missing (20%);
	// of the 16 amounts, 3 outside [0, 1000]; 2 statuses of 19 outside the allowed ones; the
	// newest order 10 days old.
	dirtyOrdersCSV = `order_id,customer,amount,status,created_at
1,ann,10.00,paid,2026-02-01T08:00:00Z
1,ann,10.00,paid,2026-02-01T08:00:00Z
1,ann,,paid,2026-02-02T08:00:00Z
2,bob,-5.00,shipped,2026-02-03T08:00:00Z
2,bob,20.00,shipped,2026-02-03T09:00:00Z
3,cat,2000.00,paid,2026-02-04T08:00:00Z
4,dan,5000.00,lost,2026-02-05T08:00:00Z
5,eve,,paid,2026-02-06T08:00:00Z
6,fay,30.00,PAID,2026-02-07T08:00:00Z
7,gus,40.00,paid,2026-02-08T08:00:00Z
8,hal,,paid,2026-02-09T08:00:00Z
9,ivy,50.00,,2026-02-10T08:00:00Z
10,jon,60.00,paid,2026-02-11T08:00:00Z
11,kim,70.00,cancelled,2026-02-12T08:00:00Z
12,lou,,paid,2026-02-13T08:00:00Z
13,max,80.00,paid,2026-02-14T08:00:00Z
14,ned,90.00,shipped,2026-02-15T08:00:00Z
15,oli,100.00,paid,2026-02-16T08:00:00Z
16,pam,110.00,paid,2026-02-17T08:00:00Z
17,quinn,120.00,paid,2026-02-19T12:00:00Z
`
	ledgerCSV = `entry,region,source,amount,booked_at
1,east,sales,1000.00,2026-01-15T10:00:00Z
2,west,sales,2000.00,2026-01-15T10:00:00Z
3,north,sales,3000.00,2026-01-15T10:00:00Z
4,east,finance_close,1001.00,2026-01-15T10:00:00Z
5,west,finance_close,2002.00,2026-01-15T10:00:00Z
6,north,finance_close,3003.00,2026-01-15T10:00:00Z
7,east,finance_far,1010.00,2026-01-15T10:00:00Z
8,west,finance_far,2020.00,2026-01-15T10:00:00Z
9,north,finance_far,3030.00,2026-01-15T10:00:00Z
10,east,sales,500.00,2026-02-15T10:00:00Z
11,east,finance_close,500.50,2026-02-15T10:00:00Z
12,east,finance_far,500.00,2026-02-15T10:00:00Z
`
)

// ordersModel is the definition of an orders model over source with the quality rules every
// orders model has, their names prefixed with the model's name.
func ordersModel(name, source string) string {
	return fmt.Sprintf(`  - name: %[1]s
    source: %[2]s
    primary_key: order_id
    dimensions:
      - name: customer
      - name: amount
      - name: status
      - name: created_at
        type: time
    measures:
      - name: amount_total
        agg: sum
        expr: amount
    quality:
      - name: %[1]s_amount_complete
        kind: completeness
        dimension: amount
        warn: 5%%
        fail: 0.1
        severity: critical
        schedule: 1h
      - name: %[1]s_amount_mostly_complete
        kind: completeness
        column: amount
        warn: 10%%
        fail: 50%%
        severity: minor
      - name: %[1]s_id_unique
        kind: uniqueness
        fail: 0
        schedule: 1d
      - name: %[1]s_fresh
        kind: freshness
        dimension: created_at
        warn: 2h
        fail: 1d
      - name: %[1]s_amount_range
        kind: range
        column: amount
        min: 0
        max: 1000
        warn: 1%%
        fail: 5%%
      - name: %[1]s_status_valid
        kind: validity
        dimension: status
        values: [paid, shipped, cancelled]
        fail: 5%%
`, name, source)
}

// qualityDefinitions are the definitions of the quality tests, with each table read from where
// sourceOf says.
func qualityDefinitions(sourceOf func(table string) string) string {
	return `domains:
  - name: sales
    owner: sales-analytics
    review:
      webhooks: [https://hooks.example/sales]
  - name: finance
    owner: finance-bi
models:
` + ordersModel("clean_orders", sourceOf("clean_orders")) + ordersModel("dirty_orders", sourceOf("dirty_orders")) + `  - name: ledger
    source: ` + sourceOf("ledger") + `
    primary_key: entry
    dimensions:
      - name: region
      - name: source
      - name: booked_at
        type: time
    measures:
      - name: amount_total
        agg: sum
        expr: amount
metrics:
  - name: clean_gmv
    owner: sales-analytics
    domain: sales
    measure: clean_orders.amount_total
  - name: dirty_gmv
    owner: sales-analytics
    domain: sales
    measure: dirty_orders.amount_total
    quality:
      - name: dirty_gmv_fresh
        kind: freshness
        dimension: dirty_orders.created_at
        fail: 3d
  - name: ledger_total
    measure: ledger.amount_total
  - name: sales_gmv
    owner: sales-analytics
    domain: sales
    base: ledger_total
    filters:
      - {dimension: ledger.source, operator: equals, values: [sales]}
    quality:
      - name: sales_agrees_with_finance
        kind: reconciliation
        against: finance_gmv_close
        warn: 0.2%
        fail: 0.5%
        schedule: 1h
      - name: sales_agrees_with_far_finance
        kind: reconciliation
        against: finance_gmv_far
        warn: 0.2%
        fail: 0.5%
      - name: sales_agrees_by_region
        kind: reconciliation
        against: finance_gmv_far
        by: ledger.region
        fail: 0.5%
      - name: sales_agrees_in_february
        kind: reconciliation
        against: finance_gmv_far
        time_range: {dimension: ledger.booked_at, from: 2026-02-01, to: 2026-03-01}
        fail: 0.5%
  - name: finance_gmv_close
    owner: finance-bi
    domain: finance
    base: ledger_total
    filters:
      - {dimension: ledger.source, operator: equals, values: [finance_close]}
  - name: finance_gmv_far
    owner: finance-bi
    domain: finance
    base: ledger_total
    filters:
      - {dimension: ledger.source, operator: equals, values: [finance_far]}
`
}

// qualityData writes the tables as CSV files into dir.
func qualityData(t testing.TB, dir string) {
	t.Helper()
	for name, text := range map[string]string{"clean_orders.csv": cleanOrdersCSV, "dirty_orders.csv": dirtyOrdersCSV, "ledger.csv": ledgerCSV} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// loadQualityTables creates the tables in a new schema of the test database and copies the
// CSV files' rows in, as PostgreSQL reads them.
func loadQualityTables(t *testing.T, pool *pgxpool.Pool, dir string) string {
	t.Helper()
	ctx := context.Background()
	schema := pgtest.NewSchema(t, pool)
	tables := map[string]string{
		"clean_orders": "order_id bigint, customer text, amount numeric(12,2), status text, created_at timestamptz",
		"dirty_orders": "order_id bigint, customer text, amount numeric(12,2), status text, created_at timestamptz",
		"ledger":       "entry bigint PRIMARY KEY, region text, source text, amount numeric(12,2), booked_at timestamptz",
	}
	for name, columns := range tables {
		table := pgx.Identifier{schema, name}.Sanitize()
		if _, err := pool.Exec(ctx, "CREATE TABLE "+table+" ("+columns+")"); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(filepath.Join(dir, name+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		conn, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = conn.Conn().PgConn().CopyFrom(ctx, f, "COPY "+table+" FROM STDIN WITH (FORMAT csv, HEADER true)")
		conn.Release()
		f.Close()
		if err != nil {
			t.Fatalf("copy %s: %v", name, err)
		}
	}
	return schema
}

// qualityClock is a clock the test moves.
type qualityClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *qualityClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *qualityClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// qualityService is a governed service over the quality definitions in dir.
type qualityService struct {
	svc   *semantic.Service
	gov   *semantic.Governance
	store store.Store
	clock *qualityClock
}

// newQualityService serves the definitions in dir from st, a new store, with a clock at
// qualityNow.
func newQualityService(t testing.TB, dir string, st store.Store, clock *qualityClock) *qualityService {
	t.Helper()
	return newPolicedQualityService(t, dir, st, clock, "")
}

// newPolicedQualityService is newQualityService with an access policy for tenant t, in the
// policy file's format; with none, only full access is served.
func newPolicedQualityService(t testing.TB, dir string, st store.Store, clock *qualityClock, policy string) *qualityService {
	t.Helper()
	ctx := context.Background()
	mem := memory.NewGoAllocator()
	src := engine.NewSources(mem)
	t.Cleanup(src.Close)
	cat, err := semantic.LoadDir(ctx, dir, semantic.SourcesResolver(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := semantic.Preload(ctx, cat, src); err != nil {
		t.Fatal(err)
	}
	defs, err := semantic.SplitDefinitions(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	if clock == nil {
		clock = &qualityClock{now: qualityNow}
	}
	gov, err := semantic.OpenGovernance(ctx, st, defs, semantic.GovernanceOptions{Resolver: semantic.SourcesResolver(src), FileBase: dir,
		Now: clock.Now, Logger: quietLog(), Webhooks: []string{"https://hooks.example/koujing"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gov.Close)
	opts := semantic.ServiceOptions{Governance: gov}
	if policy != "" {
		ps, err := authz.ParsePolicyFile("policy.csv", []byte(policy))
		if err != nil {
			t.Fatal(err)
		}
		a, err := authz.NewAuthorizer(ctx, authz.NewMemoryStore(ps), authz.AuthorizerOptions{Logger: quietLog()})
		if err != nil {
			t.Fatal(err)
		}
		opts.Authorizer = a
	}
	svc := semantic.NewService(gov.Catalog(), engine.New(src, engine.Options{Allocator: mem}), opts)
	return &qualityService{svc: svc, gov: gov, store: st, clock: clock}
}

// qualityStores are the metadata stores the quality tests run on: SQLite, and PostgreSQL.
func qualityStores(t *testing.T) map[string]func(t *testing.T) store.Store {
	return map[string]func(t *testing.T) store.Store{
		"sqlite": func(t *testing.T) store.Store {
			st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "store.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"postgres": func(t *testing.T) store.Store {
			pool := pgtest.Connect(t)
			st, err := store.OpenPostgres(context.Background(), pool, store.PostgresOptions{Schema: pgtest.NewSchema(t, pool)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
}

// qualityOracle is what PostgreSQL computes for a rule: the same measure, written as plain SQL
// over the tables of schema. {t} stands for the rule's table; $1 is the time now.
var qualityOracle = map[string]string{
	"amount_complete":        `SELECT (count(*) FILTER (WHERE amount IS NULL))::float8 / nullif(count(*), 0) FROM {t}`,
	"amount_mostly_complete": `SELECT (count(*) FILTER (WHERE amount IS NULL))::float8 / nullif(count(*), 0) FROM {t}`,
	"id_unique":              `SELECT (count(*) - (SELECT count(*) FROM (SELECT DISTINCT order_id FROM {t}) d))::float8 FROM {t}`,
	"fresh":                  `SELECT extract(epoch FROM $1::timestamptz - max(created_at))::float8 FROM {t}`,
	"amount_range":           `SELECT (count(*) FILTER (WHERE amount NOT BETWEEN 0 AND 1000))::float8 / nullif(count(amount), 0) FROM {t}`,
	"status_valid":           `SELECT (count(*) FILTER (WHERE status NOT IN ('paid', 'shipped', 'cancelled')))::float8 / nullif(count(status), 0) FROM {t}`,
}

// reconciliationOracle computes a reconciliation of sales against another source of the ledger:
// the largest relative difference over the groups of by (none: one group), within [from, to).
func reconciliationOracle(against, by, from, to string) string {
	group, where := "", ""
	if by != "" {
		group = " GROUP BY " + by
	}
	if from != "" {
		where = " WHERE booked_at >= '" + from + "' AND booked_at < '" + to + "'"
	}
	return `SELECT coalesce(max(abs(a - b) / nullif(greatest(abs(a), abs(b)), 0)), 0)::float8 FROM (
		SELECT coalesce(sum(amount) FILTER (WHERE source = 'sales'), 0) AS a, coalesce(sum(amount) FILTER (WHERE source = '` + against + `'), 0) AS b
		FROM {ledger}` + where + group + `) g`
}

// TestQualityRulesAgainstPostgres runs every kind of rule over data made to pass and data made
// to fail, read from CSV files by the engine and from PostgreSQL by pushdown, with the runs kept
// in each kind of store, and checks each measured value against PostgreSQL computing the same
// measure in plain SQL, and each status against the rule's thresholds.
func TestQualityRulesAgainstPostgres(t *testing.T) {
	pool := pgtest.Connect(t)
	data := t.TempDir()
	qualityData(t, data)
	schema := loadQualityTables(t, pool, data)

	wantStatus := map[string]store.QualityStatus{
		"clean_orders_amount_complete": store.QualityPass, "clean_orders_amount_mostly_complete": store.QualityPass,
		"clean_orders_id_unique": store.QualityPass, "clean_orders_fresh": store.QualityPass,
		"clean_orders_amount_range": store.QualityPass, "clean_orders_status_valid": store.QualityPass,
		"dirty_orders_amount_complete": store.QualityFail, "dirty_orders_amount_mostly_complete": store.QualityWarn,
		"dirty_orders_id_unique": store.QualityFail, "dirty_orders_fresh": store.QualityFail,
		"dirty_orders_amount_range": store.QualityFail, "dirty_orders_status_valid": store.QualityFail,
		"dirty_gmv_fresh":           store.QualityFail,
		"sales_agrees_with_finance": store.QualityPass, "sales_agrees_with_far_finance": store.QualityFail,
		"sales_agrees_by_region": store.QualityFail, "sales_agrees_in_february": store.QualityPass,
	}
	oracle := func(t *testing.T, rule string) float64 {
		t.Helper()
		var query string
		switch rule {
		case "dirty_gmv_fresh":
			query = strings.ReplaceAll(qualityOracle["fresh"], "{t}", pgx.Identifier{schema, "dirty_orders"}.Sanitize())
		case "sales_agrees_with_finance":
			query = reconciliationOracle("finance_close", "", "", "")
		case "sales_agrees_with_far_finance":
			query = reconciliationOracle("finance_far", "", "", "")
		case "sales_agrees_by_region":
			query = reconciliationOracle("finance_far", "region", "", "")
		case "sales_agrees_in_february":
			query = reconciliationOracle("finance_far", "", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z")
		default:
			for suffix, q := range qualityOracle {
				for _, table := range []string{"clean_orders", "dirty_orders"} {
					if rule == table+"_"+suffix {
						query = strings.ReplaceAll(q, "{t}", pgx.Identifier{schema, table}.Sanitize())
					}
				}
			}
		}
		query = strings.ReplaceAll(query, "{ledger}", pgx.Identifier{schema, "ledger"}.Sanitize())
		if query == "" {
			t.Fatalf("no oracle for rule %s", rule)
		}
		var args []any
		if strings.Contains(query, "$1") {
			args = append(args, qualityNow)
		}
		var v *float64
		if err := pool.QueryRow(context.Background(), query, args...).Scan(&v); err != nil {
			t.Fatalf("oracle of %s: %v", rule, err)
		}
		if v == nil {
			return 0
		}
		return *v
	}

	url := pgtest.URL()
	sources := map[string]func(table string) string{
		"files":     func(table string) string { return "{file: " + filepath.Join(data, table+".csv") + "}" },
		"warehouse": func(table string) string { return "{connection: warehouse, table: " + schema + "." + table + "}" },
	}
	for sourceName, sourceOf := range sources {
		for storeName, openStore := range qualityStores(t) {
			t.Run(sourceName+"/"+storeName, func(t *testing.T) {
				dir := t.TempDir()
				defs := qualityDefinitions(sourceOf)
				if sourceName == "warehouse" {
					defs += "connections:\n  - name: warehouse\n    url: " + url + "\n"
				}
				writeFile(t, dir, "quality.yaml", defs)
				q := newQualityService(t, dir, openStore(t), nil)
				acc := q.gov.Catalog().FullAccess()
				rules := q.gov.Catalog().QualityRules()
				if len(rules) != len(wantStatus) {
					t.Fatalf("%d rules loaded, want %d", len(rules), len(wantStatus))
				}
				for _, r := range rules {
					run, err := q.svc.RunQualityRule(context.Background(), acc, r.Name)
					if err != nil {
						t.Fatalf("run %s: %v", r.Name, err)
					}
					if run.Value == nil {
						t.Errorf("%s measured nothing: %+v", r.Name, run)
						continue
					}
					want := oracle(t, r.Name)
					if math.Abs(*run.Value-want) > 1e-9*math.Max(1, math.Abs(want)) {
						t.Errorf("%s measured %v, PostgreSQL %v", r.Name, *run.Value, want)
					}
					if got, byOracle := run.Status, r.Judge(want); got != byOracle || got != wantStatus[r.Name] {
						t.Errorf("%s: status %s, by PostgreSQL's value %s, want %s (value %v, %s)", r.Name, got, byOracle, wantStatus[r.Name], want, r.Threshold())
					}
					if run.ID == 0 || run.Rule != r.Name || run.Kind != string(r.Kind) || run.Subject != r.Subject() || run.Version != 1 ||
						!run.StartedAt.Equal(qualityNow) || run.Trigger != store.TriggerManual || run.Actor != "local@local" || run.Query == "" {
						t.Errorf("%s: run recorded as %+v", r.Name, run)
					}
					if !equalFloat(run.Warn, r.Warn) || !equalFloat(run.Fail, r.Fail) {
						t.Errorf("%s: thresholds recorded %v/%v, the rule's %v/%v", r.Name, run.Warn, run.Fail, r.Warn, r.Fail)
					}
					pushedDown := strings.Contains(run.Query, "Statement 1, on warehouse")
					if pushedDown != (sourceName == "warehouse") {
						t.Errorf("%s over %s: the query ran pushed down %v:\n%s", r.Name, sourceName, pushedDown, run.Query)
					}
				}
				// History: every rule once, newest first, and again after a second round.
				history, err := q.store.QualityRuns(context.Background(), store.QualityRunQuery{Limit: 1000})
				if err != nil || len(history) != len(rules) {
					t.Fatalf("history: %d runs, %v; want %d", len(history), err, len(rules))
				}
				q.clock.advance(time.Hour)
				for _, r := range rules {
					if _, err := q.svc.RunQualityRule(context.Background(), acc, r.Name); err != nil {
						t.Fatal(err)
					}
				}
				runs, err := q.store.QualityRuns(context.Background(), store.QualityRunQuery{Rules: []string{"clean_orders_fresh"}})
				if err != nil || len(runs) != 2 || !runs[0].StartedAt.Equal(qualityNow.Add(time.Hour)) || !runs[1].StartedAt.Equal(qualityNow) {
					t.Fatalf("the history of clean_orders_fresh: %+v, %v", runs, err)
				}
				// An hour later the clean orders are two hours old: at the warning threshold, which
				// a value must pass to warn.
				if *runs[0].Value != 7200 || runs[0].Status != store.QualityPass {
					t.Errorf("clean_orders_fresh an hour later: %v, %s", *runs[0].Value, runs[0].Status)
				}
			})
		}
	}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func equalFloat(a, b *float64) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

func writeFile(t testing.TB, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fileQualityService serves the quality definitions over CSV files, with the runs in st.
func fileQualityService(t testing.TB, st store.Store, clock *qualityClock) *qualityService {
	t.Helper()
	dir := t.TempDir()
	qualityData(t, dir)
	writeFile(t, dir, "quality.yaml", qualityDefinitions(func(table string) string { return "{file: " + table + ".csv}" }))
	return newQualityService(t, dir, st, clock)
}

func memoryStore(t testing.TB) store.Store {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestQualityScores checks the scores of metrics and domains over the latest runs: each rule
// weighted by its severity, a pass counting fully and a warning half.
func TestQualityScores(t *testing.T) {
	q := fileQualityService(t, memoryStore(t), nil)
	ctx := context.Background()
	cat := q.gov.Catalog()
	acc := cat.FullAccess()
	score := func(rules []*semantic.QualityRule) semantic.QualityScore {
		names := make([]string, len(rules))
		for i, r := range rules {
			names[i] = r.Name
		}
		latest, err := q.svc.LatestQualityRuns(ctx, names)
		if err != nil {
			t.Fatal(err)
		}
		return semantic.ScoreQuality(rules, latest)
	}
	dirty := cat.QualityRulesOf(cat.Metric("dirty_gmv"))
	if s := score(dirty); s.Score != nil || s.Status != "" || s.Rules != 7 || s.Measured != 0 {
		t.Errorf("before any run: %+v", s)
	}
	if _, err := q.svc.RunQualityRules(ctx, acc, semantic.QualitySelection{Metric: "dirty_gmv"}); err != nil {
		t.Fatal(err)
	}
	// dirty_gmv: its own freshness rule (major, fails) and the six of dirty_orders: completeness
	// (critical, fails), mostly complete (minor, warns), the rest major and failing.
	// (0·2 + 0·3 + ½·1 + 0·2·4) / (2 + 3 + 1 + 2·4) = 0.5 / 14.
	s := score(dirty)
	if s.Score == nil || *s.Score != math.Round(0.5/14*100*100)/100 || s.Status != store.QualityFail || s.Measured != 7 || s.Failing != 6 || s.Warning != 1 {
		t.Errorf("dirty_gmv's score: %+v (%v)", s, s.Score)
	}
	if _, err := q.svc.RunQualityRules(ctx, acc, semantic.QualitySelection{Metric: "clean_gmv"}); err != nil {
		t.Fatal(err)
	}
	if s := score(cat.QualityRulesOf(cat.Metric("clean_gmv"))); s.Score == nil || *s.Score != 100 || s.Status != store.QualityPass {
		t.Errorf("clean_gmv's score: %+v", s)
	}
	// The sales domain: clean_gmv's 6 rules, dirty_gmv's 7 and sales_gmv's 4 reconciliations,
	// of which 2 ran (sales_gmv has not been run: its 4 rules do not count yet).
	sales := acc.QualityRulesOfDomain(cat.Domain("sales"))
	if len(sales) != 17 {
		t.Fatalf("the sales domain has %d rules, want 17", len(sales))
	}
	// (6 rules · weights 3+1+2·4 = 12) passing, dirty's 0.5 of 14: 12.5 / 26.
	if s := score(sales); s.Score == nil || *s.Score != math.Round(12.5/26*100*100)/100 || s.Measured != 13 {
		t.Errorf("the sales domain's score: %+v", s)
	}
	// A run that could not measure (an error) does not count.
	if got := semantic.ScoreQuality(dirty[:1], map[string]store.QualityRun{dirty[0].Name: {Status: store.QualityError}}); got.Score != nil || got.Status != store.QualityError {
		t.Errorf("a rule that errored: %+v", got)
	}
}

// TestQualityRedLineNotifies checks that a rule crossing its red line queues a webhook call to
// the deployment's webhooks and those of the domains of the metrics concerned, naming their
// owners, in the same transaction as the run; that failing again does not notify again; and that
// recovering does.
func TestQualityRedLineNotifies(t *testing.T) {
	st := memoryStore(t)
	q := fileQualityService(t, st, nil)
	ctx := context.Background()
	acc := q.gov.Catalog().FullAccess()
	due := func() []store.Delivery {
		t.Helper()
		ds, err := st.DueDeliveries(ctx, qualityNow.Add(24*time.Hour), 100)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	run, err := q.svc.RunQualityRule(ctx, acc, "dirty_orders_id_unique")
	if err != nil || run.Status != store.QualityFail {
		t.Fatalf("run: %+v, %v", run, err)
	}
	ds := due()
	if len(ds) != 2 || ds[0].URL != "https://hooks.example/koujing" || ds[1].URL != "https://hooks.example/sales" {
		t.Fatalf("deliveries after the red line: %+v", ds)
	}
	var payload struct {
		Seq    int64
		Type   string
		Object string
		Actor  string
		Detail struct {
			Rule, Kind, Status, Threshold string
			Run                           int64
			Value, Fail                   float64
			Owners, Metrics               []string
		}
	}
	if err := json.Unmarshal([]byte(ds[0].Payload), &payload); err != nil {
		t.Fatal(err)
	}
	d := payload.Detail
	if payload.Type != semantic.EventRedLine || payload.Object != "model:dirty_orders" || payload.Actor != "local@local" || d.Rule != "dirty_orders_id_unique" ||
		d.Kind != "uniqueness" || d.Status != "fail" || d.Run != run.ID || d.Value != 3 || d.Fail != 0 ||
		strings.Join(d.Owners, ",") != "sales-analytics" || strings.Join(d.Metrics, ",") != "dirty_gmv" || d.Threshold != "fails above 0" {
		t.Errorf("the red line's payload: %s", ds[0].Payload)
	}
	events, err := st.Events(ctx, store.EventQuery{Tenant: "local", Types: []string{"quality"}})
	if err != nil || len(events) != 1 || events[0].Seq != payload.Seq {
		t.Errorf("the red line's event: %+v, %v", events, err)
	}

	// Failing again: no new call.
	if _, err := q.svc.RunQualityRule(ctx, acc, "dirty_orders_id_unique"); err != nil {
		t.Fatal(err)
	}
	if n := len(due()); n != 2 {
		t.Errorf("a second failure queued %d more calls", n-2)
	}
	// A reconciliation of finance metrics fails: its owner is finance's, whose domain has no
	// webhook.
	if _, err := q.svc.RunQualityRule(ctx, acc, "sales_agrees_with_far_finance"); err != nil {
		t.Fatal(err)
	}
	ds = due()
	if len(ds) != 4 || !strings.Contains(ds[2].Payload, `"owners":["sales-analytics"]`) || !strings.Contains(ds[2].Payload, `"object":"metric:sales_gmv"`) {
		t.Errorf("deliveries after the reconciliation failed: %+v", ds[2:])
	}
	// A rule that passes after failing recovers. The clean orders' key rule never failed: its
	// passes tell nobody.
	if _, err := q.svc.RunQualityRule(ctx, acc, "clean_orders_id_unique"); err != nil {
		t.Fatal(err)
	}
	if n := len(due()); n != 4 {
		t.Errorf("a pass queued %d calls", n-4)
	}
}

// TestQualitySchedulerAcrossReplicas runs two replicas' schedulers on one store with a clock the
// test moves: one holds the lease at a time, each scheduled rule runs once in each period of its
// schedule, however often the schedulers look and whichever holds the lease, and a replica that
// stops lets the other take over.
func TestQualitySchedulerAcrossReplicas(t *testing.T) {
	for name, openStore := range map[string]func(t *testing.T) (store.Store, func(t *testing.T) store.Store){
		"sqlite": func(t *testing.T) (store.Store, func(t *testing.T) store.Store) {
			path := filepath.Join(t.TempDir(), "store.db")
			open := func(t *testing.T) store.Store {
				st, err := store.OpenSQLite(context.Background(), path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				return st
			}
			return open(t), open
		},
		"postgres": func(t *testing.T) (store.Store, func(t *testing.T) store.Store) {
			pool := pgtest.Connect(t)
			schema := pgtest.NewSchema(t, pool)
			open := func(t *testing.T) store.Store {
				st, err := store.OpenPostgres(context.Background(), pool, store.PostgresOptions{Schema: schema})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				return st
			}
			return open(t), open
		},
	} {
		t.Run(name, func(t *testing.T) {
			first, again := openStore(t)
			clock := &qualityClock{now: qualityNow.Add(5 * time.Minute)}
			a := fileQualityService(t, first, clock)
			b := fileQualityService(t, again(t), clock)
			opts := func(holder string) semantic.QualitySchedulerOptions {
				return semantic.QualitySchedulerOptions{Holder: holder, Now: clock.Now, PollInterval: time.Minute, LeaseTTL: 3 * time.Minute, Logger: quietLog()}
			}
			sa, err := semantic.NewQualityScheduler(a.svc, opts("a"))
			if err != nil {
				t.Fatal(err)
			}
			sb, err := semantic.NewQualityScheduler(b.svc, opts("b"))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			ran := map[string]int{}
			round := func(s *semantic.QualityScheduler) []string {
				t.Helper()
				runs, err := s.RunDue(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, r := range runs {
					if r.Trigger != store.TriggerSchedule || r.Actor != semantic.QualityActor {
						t.Errorf("a scheduled run recorded as %+v", r)
					}
					names = append(names, r.Rule)
					ran[r.Rule]++
				}
				return names
			}
			hourly := "clean_orders_amount_complete,dirty_orders_amount_complete,sales_agrees_with_finance"
			daily := "clean_orders_id_unique,dirty_orders_id_unique"
			allScheduled := "clean_orders_amount_complete,clean_orders_id_unique,dirty_orders_amount_complete,dirty_orders_id_unique,sales_agrees_with_finance"
			// 12:05: a takes the lease and runs every scheduled rule; b, asking next, runs nothing.
			if got := strings.Join(round(sa), ","); got != allScheduled {
				t.Errorf("a's first round ran %s", got)
			}
			if got := round(sb); len(got) != 0 {
				t.Errorf("b ran %v while a holds the lease", got)
			}
			// Every minute to 12:59: nothing more, from either.
			for range 54 {
				clock.advance(time.Minute)
				if got := append(round(sa), round(sb)...); len(got) != 0 {
					t.Errorf("at %v, %v ran again", clock.Now(), got)
				}
			}
			// 13:00: the hourly rules are due.
			clock.advance(time.Minute)
			if got := strings.Join(append(round(sb), round(sa)...), ","); got != hourly {
				t.Errorf("at 13:00 %s ran, want %s", got, hourly)
			}
			// a stops, giving the lease up; b takes over at 13:30 but runs nothing until 14:00,
			// the hour a's runs already claimed being over.
			clock.advance(30 * time.Minute)
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			sa.Run(cctx)
			if got := round(sb); len(got) != 0 {
				t.Errorf("b ran %v when it took the lease within an hour a had run", got)
			}
			clock.advance(30 * time.Minute)
			if got := strings.Join(round(sb), ","); got != hourly {
				t.Errorf("b at 14:00 ran %s, want %s", got, hourly)
			}
			// b dies holding the lease: a takes it once it runs out, three minutes on.
			clock.advance(time.Minute)
			if got := round(sa); len(got) != 0 {
				t.Errorf("a ran %v while b's lease lasts", got)
			}
			// At 00:01 a new UTC day has begun: the daily rules are due with the hourly ones.
			clock.advance(10 * time.Hour)
			if got, want := strings.Join(round(sa), ","), allScheduled; got != want {
				t.Errorf("a at 00:01 ran %s, want %s", got, want)
			}
			// Once per period: 4 hours had runs of the hourly rules, 2 days of the daily ones
			// (12:05 on the 1st, and 00:01 on the 2nd, UTC).
			clock.advance(time.Hour)
			round(sa)
			for _, r := range strings.Split(hourly, ",") {
				if ran[r] != 5 {
					t.Errorf("%s ran %d times in 5 hours that had runs", r, ran[r])
				}
			}
			for _, r := range strings.Split(daily, ",") {
				if ran[r] != 2 {
					t.Errorf("%s ran %d times over 2 days", r, ran[r])
				}
			}
			runs, err := first.QualityRuns(ctx, store.QualityRunQuery{Trigger: store.TriggerSchedule, Limit: 1000})
			if err != nil || len(runs) != 5*3+2*2 {
				t.Errorf("the store holds %d scheduled runs, %v; want %d", len(runs), err, 5*3+2*2)
			}
		})
	}
}

// TestQualityRuleProblems loads broken rules and checks each problem is reported where it is,
// saying what is wrong.
func TestQualityRuleProblems(t *testing.T) {
	base := func(quality string) string {
		return `models:
  - name: orders
    source: {file: orders.csv}
    primary_key: order_id
    dimensions:
      - name: status
      - name: created_at
        type: time
    measures:
      - name: amount_total
        agg: sum
        expr: amount
    quality:
` + quality + `metrics:
  - name: gmv
    measure: orders.amount_total
  - name: gmv2
    measure: orders.amount_total
`
	}
	for _, c := range []struct {
		name, quality, want string
	}{
		{"unknown kind", "      - {name: r, kind: completness, column: amount, fail: 1%}\n", `quality.yaml:14:25: unknown kind "completness" of quality rule r of model orders (hint: did you mean completeness?)`},
		{"no kind", "      - {name: r, column: amount, fail: 1%}\n", `quality.yaml:14:9: quality rule r of model orders has no kind`},
		{"unknown column", "      - {name: r, kind: completeness, column: amout, fail: 1%}\n", `quality.yaml:14:47: model orders has no column amout (hint: did you mean amount?)`},
		{"unknown dimension", "      - {name: r, kind: freshness, dimension: created, fail: 1d}\n", `quality.yaml:14:47: quality rule r of model orders: model orders has no dimension created`},
		{"not a time", "      - {name: r, kind: freshness, dimension: status, fail: 1d}\n", `quality.yaml:14:47: quality rule r of model orders: orders.status is a string, not a time`},
		{"share above 100%", "      - {name: r, kind: completeness, column: amount, fail: 120%}\n", `quality.yaml:14:61: fail of quality rule r of model orders: "120%" is not a share from 0 to 100%`},
		{"not a share", "      - {name: r, kind: completeness, column: amount, warn: lots}\n", `quality.yaml:14:61: warn of quality rule r of model orders: "lots" is not a share (hint: write a share, such as 0.5% or 0.005)`},
		{"warn above fail", "      - {name: r, kind: completeness, column: amount, warn: 5%, fail: 1%}\n", `quality.yaml:14:61: warn of quality rule r of model orders is above its fail (5% > 1%)`},
		{"no threshold", "      - {name: r, kind: completeness, column: amount}\n", `quality.yaml:14:9: quality rule r of model orders has no threshold`},
		{"not a duration", "      - {name: r, kind: freshness, dimension: created_at, fail: 3}\n", `quality.yaml:14:65: fail of quality rule r of model orders: "3" is not a span of time`},
		{"not a count", "      - {name: r, kind: uniqueness, fail: 0.5}\n", `quality.yaml:14:43: fail of quality rule r of model orders: "0.5" is not a count of rows`},
		{"key of the wrong kind", "      - {name: r, kind: uniqueness, column: order_id, fail: 0}\n", `quality.yaml:14:37: unknown key column in quality rule r of model orders (hint: did you mean columns?)`},
		{"bad schedule", "      - {name: r, kind: uniqueness, fail: 0, schedule: often}\n", `quality.yaml:14:56: schedule of quality rule r of model orders is not an interval: "often"`},
		{"range of text", "      - {name: r, kind: range, dimension: status, min: a, fail: 1%}\n", `quality.yaml:14:9: quality rule r of model orders: orders.status is a string, which has no range`},
		{"bad bound", "      - {name: r, kind: range, column: amount, min: zero, fail: 1%}\n", `quality.yaml:14:53: min of quality rule r of model orders`},
		{"reconciliation on a model", "      - {name: r, kind: reconciliation, against: gmv, fail: 1%}\n", `quality.yaml:14:9: quality rule r of model orders compares metrics, and is declared on model orders`},
		{"duplicate", "      - {name: r, kind: uniqueness, fail: 0}\n      - {name: r, kind: uniqueness, fail: 1}\n", `quality.yaml:15:16: duplicate quality rule r; the first is at quality.yaml:14:16`},
		{"unknown severity", "      - {name: r, kind: uniqueness, fail: 0, severity: high}\n", `quality.yaml:14:56: unknown severity "high" of quality rule r`},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "orders.csv", "order_id,amount,status,created_at\n1,10.00,paid,2026-01-01T00:00:00Z\n")
			writeFile(t, dir, "quality.yaml", base(c.quality))
			_, err := semantic.LoadDir(context.Background(), dir, semantic.SourcesResolver(engine.NewSources(memory.NewGoAllocator())))
			var problems semantic.Problems
			if !errors.As(err, &problems) {
				t.Fatalf("loaded: %v", err)
			}
			// Problems name files as LoadDir was given them, here by their absolute path, as the
			// loader's other problems do.
			if want := strings.ReplaceAll(c.want, "quality.yaml", filepath.Join(dir, "quality.yaml")); !strings.Contains(problems.Error(), want) {
				t.Errorf("problems:\n%v\nwant one starting %s", problems, c.want)
			}
		})
	}

	// Rules of metrics name other models' dimensions qualified, and metrics that exist.
	for _, c := range []struct {
		name, quality, want string
	}{
		{"unqualified", "      - {name: r, kind: freshness, dimension: created_at, fail: 1d}\n", `metric gmv: dimension "created_at" must be qualified by its model`},
		{"unknown metric", "      - {name: r, kind: reconciliation, against: gmv3, fail: 1%}\n", `quality rule r of metric gmv: unknown metric gmv3 (hint: did you mean gmv2?)`},
		{"itself", "      - {name: r, kind: reconciliation, against: gmv, fail: 1%}\n", `quality rule r of metric gmv compares gmv with itself`},
		{"unreachable by", "      - {name: r, kind: reconciliation, against: gmv2, by: customers.segment, fail: 1%}\n", `unknown model customers`},
		{"time range without range", "      - {name: r, kind: reconciliation, against: gmv2, time_range: {dimension: orders.created_at}, fail: 1%}\n", `time_range of quality rule r of metric gmv gives no range`},
	} {
		t.Run("metric "+c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "orders.csv", "order_id,amount,status,created_at\n1,10.00,paid,2026-01-01T00:00:00Z\n")
			text := strings.Replace(base(""), "    quality:\n", "", 1)
			text = strings.Replace(text, "  - name: gmv\n    measure: orders.amount_total\n", "  - name: gmv\n    measure: orders.amount_total\n    quality:\n"+c.quality, 1)
			writeFile(t, dir, "quality.yaml", text)
			_, err := semantic.LoadDir(context.Background(), dir, semantic.SourcesResolver(engine.NewSources(memory.NewGoAllocator())))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("load: %v\nwant a problem saying %s", err, c.want)
			}
		})
	}
}

// TestQualityRuleProblemsRefuseAChange proposes a metric whose rule compares it with a metric
// that does not exist: the change request is refused as an invalid definition, saying so, and
// a good rule proposed the same way is accepted.
func TestQualityRuleProblemsRefuseAChange(t *testing.T) {
	q := fileQualityService(t, memoryStore(t), nil)
	ctx := context.Background()
	acc := q.gov.Catalog().FullAccess()
	metric := func(against string) string {
		return "name: clean_gmv\nowner: sales-analytics\ndomain: sales\nmeasure: clean_orders.amount_total\nquality:\n" +
			"  - {name: clean_agrees, kind: reconciliation, against: " + against + ", fail: 0.5%}\n"
	}
	_, err := q.gov.Propose(ctx, acc, semantic.Proposal{Title: "Reconcile clean GMV",
		Items: []semantic.ProposedItem{{Action: store.Update, Kind: store.KindMetric, Name: "clean_gmv", YAML: metric("dirty_gvm")}}})
	if !errors.Is(err, semantic.ErrInvalidDefinition) || !strings.Contains(err.Error(), "quality rule clean_agrees of metric clean_gmv: unknown metric dirty_gvm (hint: did you mean dirty_gmv?)") {
		t.Errorf("a bad rule proposed: %v", err)
	}
	if _, err := q.gov.Propose(ctx, acc, semantic.Proposal{Title: "Reconcile clean GMV",
		Items: []semantic.ProposedItem{{Action: store.Update, Kind: store.KindMetric, Name: "clean_gmv", YAML: metric("dirty_gmv")}}}); err != nil {
		t.Errorf("a good rule proposed: %v", err)
	}
}
