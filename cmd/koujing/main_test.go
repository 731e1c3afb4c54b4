package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/koujing/koujing/engine/pgtest"
)

// koujing runs the command in-process and returns its exit status and output.
func koujing(t *testing.T, ctx context.Context, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const ratesModel = `models:
  - name: rates
    source: {file: rates.csv}
    primary_key: currency
    dimensions:
      - name: currency
    measures:
      - name: rate_total
        agg: sum
        expr: rate
metrics:
  - name: total_rate
    measure: rates.rate_total
`

func TestValidate(t *testing.T) {
	ctx := context.Background()
	good := writeFiles(t, map[string]string{"rates.yaml": ratesModel, "rates.csv": "currency,rate\nCNY,1.00\nUSD,7.10\n"})
	code, out, _ := koujing(t, ctx, "validate", good)
	if code != 0 || !strings.Contains(out, "ok (1 models, 1 metrics)") {
		t.Errorf("valid definitions: exit %d, output %q", code, out)
	}

	bad := writeFiles(t, map[string]string{
		"rates.yaml": strings.Replace(ratesModel, "expr: rate", "expr: rat", 1),
		"rates.csv":  "currency,rate\nCNY,1.00\n",
	})
	code, out, errOut := koujing(t, ctx, "validate", bad)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	want := filepath.Join(bad, "rates.yaml") + ":10:15: measure rates.rate_total: model rates has no column rat"
	if !strings.Contains(out, want) || !strings.Contains(out, "did you mean rate?") {
		t.Errorf("output %q does not contain %q with a hint", out, want)
	}
	if !strings.Contains(errOut, "1 problem(s)") {
		t.Errorf("stderr %q does not count the problems", errOut)
	}

	if code, _, errOut := koujing(t, ctx, "validate"); code != 2 || !strings.Contains(errOut, "give exactly one definitions directory") {
		t.Errorf("no directory: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := koujing(t, ctx, "validate", filepath.Join(good, "missing")); code != 1 || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing directory: exit %d, stderr %q", code, errOut)
	}
}

func TestQuery(t *testing.T) {
	ctx := context.Background()
	code, out, errOut := koujing(t, ctx, "query", "--demo-scale", "0.01", "--metric", "gmv_paid,order_count", "--by", "orders.region")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 8 || !strings.HasPrefix(lines[0], "orders.region") || !strings.Contains(lines[0], "gmv_paid") || lines[7] != "(5 rows)" {
		t.Fatalf("unexpected table:\n%s", out)
	}

	code, out, errOut = koujing(t, ctx, "query", "--demo-scale", "0.01", "--metric", "aov", "--by", "orders.channel",
		"--filter", "orders.channel in app,web", "--order", "-aov", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rows [][]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 2 {
		t.Fatalf("json output %q: %v", out, err)
	}
	if rows[0][1].(float64) < rows[1][1].(float64) {
		t.Errorf("rows are not ordered by aov descending: %v", rows)
	}

	code, out, _ = koujing(t, ctx, "query", "--demo-scale", "0.01", "--metric", "refund_rate,aov", "--by", "orders.channel")
	if code != 0 || !regexp.MustCompile(`\n(app|web|store) +\d+\.\d\d% +\d+\.\d\d\n`).MatchString(out) {
		t.Errorf("the table should show refund_rate as a percentage and aov to the cent: exit %d\n%s", code, out)
	}

	code, out, _ = koujing(t, ctx, "query", "--metric", "gmv_paid", "--by", "products.category", "--explain")
	if code != 0 || !strings.Contains(out, "Aggregate") || !strings.Contains(out, "#b0") {
		t.Errorf("explain: exit %d, output %q", code, out)
	}

	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"query"}, 2, "name at least one metric"},
		{[]string{"query", "--metric", "gmv_piad"}, 1, `Did you mean "gmv_paid"?`},
		{[]string{"query", "--metric", "aov", "--time", "orders.created_at"}, 2, "model.dimension:granularity"},
		{[]string{"query", "--metric", "aov", "--filter", "orders.channel"}, 2, "--filter"},
		{[]string{"query", "--metric", "aov", "--format", "xml"}, 2, "unknown format"},
		{[]string{"query", "--metric", "aov", "--timezone", "Nowhere/City"}, 2, "unknown time zone"},
		{[]string{"query", "--metric", "aov", "--limit", "99999999999"}, 1, "more than the maximum"},
		{[]string{"query", "--demo-scale", "0.01", "--metric", "aov", "--by", "customers.city", "--max-rows", "3"}, 1, "too many rows: more than 3"},
		{[]string{"query", "--metric", "aov", "--max-rows", "3", "--limit", "5"}, 1, "more than the maximum of 3"},
		{[]string{"query", "--metric", "aov", "--max-rows", "0"}, 2, "--max-rows must be positive"},
		{[]string{"query", "--demo-scale", "0.01", "--metric", "aov", "--query-timeout", "1ns"}, 1, "longer than --query-timeout 1ns"},
		{[]string{"query", "--metric", "aov", "--query-timeout", "0s"}, 2, "--query-timeout must be positive"},
	} {
		code, _, errOut := koujing(t, ctx, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d saying %q", tt.args, code, errOut, tt.code, tt.want)
		}
	}
}

func TestDemoExport(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := koujing(t, context.Background(), "demo", "export", "--dir", dir, "--scale", "0.001")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, table := range []string{"customers", "products", "orders", "order_items"} {
		data, err := os.ReadFile(filepath.Join(dir, table+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, table+".csv") || len(strings.Split(strings.TrimSpace(string(data)), "\n")) < 2 {
			t.Errorf("%s.csv: missing from the output or empty", table)
		}
	}
	orders, _ := os.ReadFile(filepath.Join(dir, "orders.csv"))
	if header := strings.SplitN(string(orders), "\n", 2)[0]; header != "order_id,customer_id,channel,status,created_at,paid_at,amount,coupon_amount,region" {
		t.Errorf("orders.csv header %q", header)
	}
	if code, _, errOut := koujing(t, context.Background(), "demo", "export"); code != 2 || !strings.Contains(errOut, "--dir") {
		t.Errorf("no --dir: exit %d, stderr %q", code, errOut)
	}
}

// TestServe starts the server, asks it a question over HTTP, and stops it as a signal would.
func TestServe(t *testing.T) {
	s := startServe(t, "--demo-scale", "0.01")
	s.waitUp(t)
	res := s.graphQL(t, "", `{ query(input: {metrics: ["order_count"]}) { rows rowCount } }`)
	var got struct {
		Query struct {
			Rows     [][]int64
			RowCount int
		}
	}
	err := json.Unmarshal(res.Data, &got)
	if err != nil || len(res.Errors) > 0 || got.Query.RowCount != 1 || got.Query.Rows[0][0] != 10000 {
		t.Errorf("order_count at scale 0.01: %+v, %v %+v; want 10000 orders", got, err, res.Errors)
	}
	if resp, err := http.Get(s.base + "/"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GraphiQL: %v %v", resp, err)
	}
	s.shutdown(t)
}

func TestUsage(t *testing.T) {
	if code, out, _ := koujing(t, context.Background()); code != 0 || !strings.Contains(out, "serve") {
		t.Errorf("no arguments: exit %d, output %q", code, out)
	}
	if code, _, errOut := koujing(t, context.Background(), "frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, stderr %q", code, errOut)
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"3GiB": 3 << 30, "512MiB": 512 << 20, "2GB": 2e9, "1048576": 1 << 20, " 1.5 GiB ": 3 << 29, "10B": 10} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "lots", "-1GiB", "0", "3 parsecs", "1e30GiB"} {
		if _, err := parseBytes(in); err == nil {
			t.Errorf("parseBytes(%q) accepted a size that is not one", in)
		}
	}
}

// TestDemoLoad loads the demo into PostgreSQL, answers from the definitions it writes, and
// checks that a second load into the same schema fails without leaving anything half-written.
func TestDemoLoad(t *testing.T) {
	pool := pgtest.Connect(t)
	ctx := context.Background()
	schema := pgtest.NewSchema(t, pool)
	if _, err := pool.Exec(ctx, "DROP SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	models := filepath.Join(t.TempDir(), "models")
	code, out, errOut := koujing(t, ctx, "demo", "load", "--database-url", pgtest.URL(), "--schema", schema, "--scale", "0.002", "--models", models)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, schema+".orders  2000 rows") {
		t.Errorf("output %q does not report the orders loaded", out)
	}
	var orders int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+schema+".orders").Scan(&orders); err != nil || orders != 2000 {
		t.Fatalf("orders in PostgreSQL: %d, %v", orders, err)
	}
	if info, err := os.Stat(filepath.Join(models, "warehouse_url")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("the URL file should be readable by its owner only: %v %v", info, err)
	}
	code, out, errOut = koujing(t, ctx, "query", "--models", models, "--metric", "order_count", "--format", "json")
	if code != 0 || strings.TrimSpace(out) != "[[2000]]" {
		t.Errorf("order_count from the warehouse: exit %d, %q, %s", code, out, errOut)
	}
	code, out, _ = koujing(t, ctx, "query", "--models", models, "--metric", "gmv_paid", "--by", "orders.region", "--explain")
	if code != 0 || !strings.Contains(out, "Warehouse warehouse runs statement 1") || !strings.Contains(out, "$1 = 'paid'") {
		t.Errorf("explain should show one warehouse statement with its parameters:\n%s", out)
	}

	again := filepath.Join(t.TempDir(), "again")
	code, _, errOut = koujing(t, ctx, "demo", "load", "--database-url", pgtest.URL(), "--schema", schema, "--scale", "0.002", "--models", again)
	if code != 1 || !strings.Contains(errOut, "already exists") {
		t.Errorf("a second load into %s: exit %d, %s", schema, code, errOut)
	}
	if _, err := os.Stat(again); !os.IsNotExist(err) {
		t.Errorf("a failed load wrote definitions to %s", again)
	}
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+schema+".orders").Scan(&orders); err != nil || orders != 2000 {
		t.Errorf("after the failed load, orders: %d, %v", orders, err)
	}
	if code, _, errOut := koujing(t, ctx, "demo", "load", "--schema", schema, "--models", again); code != 2 || !strings.Contains(errOut, "--database-url") {
		t.Errorf("no database: exit %d, %s", code, errOut)
	}
}

// TestValidateWarehouse checks definitions against a warehouse's live catalog: a missing table,
// a missing column and a column of the wrong type are each reported at their file:line:col.
func TestValidateWarehouse(t *testing.T) {
	pool := pgtest.Connect(t)
	ctx := context.Background()
	schema := pgtest.NewSchema(t, pool)
	if _, err := pool.Exec(ctx, "CREATE TABLE "+schema+".sales (id bigint PRIMARY KEY, region text, amount numeric(12,2), sold_on text)"); err != nil {
		t.Fatal(err)
	}
	defs := `connections:
  - name: warehouse
    url: ` + pgtest.URL() + `
models:
  - name: sales
    source: {connection: warehouse, table: ` + schema + `.sales}
    primary_key: id
    dimensions:
      - name: region
      - name: channel
      - name: sold_on
        type: time
    measures:
      - name: total
        agg: sum
        expr: amount
      - name: regions
        agg: sum
        expr: region
  - name: refunds
    source: {connection: warehouse, table: ` + schema + `.refund}
    primary_key: id
`
	dir := writeFiles(t, map[string]string{"sales.yaml": defs})
	code, out, _ := koujing(t, ctx, "validate", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	file := filepath.Join(dir, "sales.yaml")
	for _, want := range []string{
		file + ":10:15: ",                   // the channel dimension: no such column
		"no column channel",                 //
		file + ":12:15: ",                   // sold_on: declared a time, but the column is text
		file + ":19:15: ",                   // sum over a text column
		file + ":21:44: ",                   // no table refund
		"did you mean " + schema + ".sales", //
	} {
		if !strings.Contains(out, want) {
			t.Errorf("validate output does not contain %q:\n%s", want, out)
		}
	}
}
