package pgwire

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/koujing/koujing/engine/pgtest"
)

// requireTool finds a client program, skipping the test without it unless the environment
// requires every client (KOUJING_REQUIRE_POSTGRES=1, as CI sets), when it fails instead.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv(pgtest.RequireEnv) == "1" {
			t.Fatalf("%s is not installed and %s=1", name, pgtest.RequireEnv)
		}
		t.Skipf("SKIPPING: %s is not installed", name)
	}
	return path
}

// runClient runs a client program and returns its output, killing it if it has not finished
// within the timeout.
func runClient(cmd *exec.Cmd, timeout time.Duration) ([]byte, error) {
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
		return out, err
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		return out, fmt.Errorf("%s did not finish in %v", filepath.Base(cmd.Path), timeout)
	}
}

// runPsql runs psql against addr with the commands given as -c options and returns its output.
func runPsql(t *testing.T, addr, user, password string, commands ...string) (string, error) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	args := []string{"-X", "-h", host, "-p", port, "-U", user, "-d", "koujing", "-v", "ON_ERROR_STOP=1"}
	for _, c := range commands {
		args = append(args, "-c", c)
	}
	cmd := exec.Command(requireTool(t, "psql"), args...)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGCONNECT_TIMEOUT=5", "PGSSLMODE=prefer")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestPsql runs psql's describe commands and a grouped query, as a person would.
func TestPsql(t *testing.T) {
	addr := testServer(t, Options{})
	out, err := runPsql(t, addr, "demo", "demo", `\dt`, `\dn`, `\d sales.orders`,
		`SELECT orders.region, gmv_paid FROM sales.orders WHERE channel = 'app' GROUP BY 1 ORDER BY 2 DESC LIMIT 5`,
		`SELECT customers.segment, MEASURE(gmv_paid) FROM sales.orders GROUP BY 1 ORDER BY 1`)
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	for _, want := range []string{
		// \dt: each table once, where the search path finds it first.
		" finance | orders      | table | demo", " sales   | order_items | table | demo",
		// \dn
		" operations | demo",
		// \d sales.orders: dimensions, metrics and related dimensions with their types.
		`Table "sales.orders"`, " region                | text  ", " created_at            | timestamp with time zone",
		" gmv_paid              | numeric(38,2)", " aov                   | double precision", " customers.segment     | text",
		// the grouped queries
		"(5 rows)", " consumer    | ", "(3 rows)",
	} {
		// psql pads columns to their widest value, which depends on the whole catalog.
		squeeze := func(s string) string { return strings.Join(strings.Fields(s), " ") }
		if !strings.Contains(squeeze(out), squeeze(want)) {
			t.Errorf("psql output lacks %q:\n%s", want, out)
		}
	}
	// The regions come out largest first: the ORDER BY reached the semantic layer.
	lines := strings.Split(out, "\n")
	var values []float64
	for i, l := range lines {
		if strings.HasPrefix(l, " region ") && strings.Contains(l, "gmv_paid") {
			for _, r := range lines[i+2 : i+7] {
				f := strings.Split(r, "|")
				v, err := strconv.ParseFloat(strings.TrimSpace(f[1]), 64)
				if err != nil {
					t.Fatalf("region row %q: %v", r, err)
				}
				values = append(values, v)
			}
		}
	}
	if len(values) != 5 || !sort.IsSorted(sort.Reverse(sort.Float64Slice(values))) {
		t.Errorf("GMV by region, largest first: %v", values)
	}

	out, err = runPsql(t, addr, "demo", "wrong", `SELECT 1`)
	if err == nil || !strings.Contains(out, "password authentication failed") {
		t.Errorf("a wrong password: %v\n%s", err, out)
	}
	out, err = runPsql(t, addr, "demo", "demo", `SELECT nope FROM sales.orders`)
	if err == nil || !strings.Contains(out, `column nope does not exist`) || !strings.Contains(out, "LINE 1") {
		t.Errorf("an unknown column: %v\n%s", err, out)
	}
}

// TestNodePg runs Node's pg package — installed with npm into a temporary directory — with a
// parameterised query, a prepared statement and a catalog query.
func TestNodePg(t *testing.T) {
	node := requireTool(t, "node")
	npm := requireTool(t, "npm")
	dir := t.TempDir()
	install := exec.Command(npm, "install", "--no-audit", "--no-fund", "--silent", "pg@8")
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		if os.Getenv(pgtest.RequireEnv) == "1" {
			t.Fatalf("npm install pg: %v\n%s", err, out)
		}
		t.Skipf("SKIPPING: npm cannot install pg (%v); %s=1 makes this a failure", err, pgtest.RequireEnv)
	}
	addr := testServer(t, Options{})
	host, port, _ := net.SplitHostPort(addr)
	script := `
const { Client } = require('pg');
(async () => {
  const c = new Client({ host: process.argv[2], port: +process.argv[3], user: 'demo', password: 'demo', database: 'koujing' });
  await c.connect();
  const a = await c.query("SELECT orders.region, gmv_paid, order_count FROM sales.orders WHERE channel = $1 GROUP BY 1 ORDER BY 1", ['app']);
  const b = await c.query({ name: 'by_segment', text: 'SELECT customers.segment, aov FROM sales.orders WHERE orders.region = $1 GROUP BY 1 ORDER BY 1', values: ['east'] });
  const b2 = await c.query({ name: 'by_segment', text: 'SELECT customers.segment, aov FROM sales.orders WHERE orders.region = $1 GROUP BY 1 ORDER BY 1', values: ['west'] });
  const d = await c.query("SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2");
  let err = null;
  try { await c.query("SELECT gmv_paid FROM sales.orders o JOIN sales.customers c ON true"); } catch (e) { err = e.code; }
  console.log(JSON.stringify({ a: a.rows, fields: a.fields.map(f => f.name), b: b.rows, b2: b2.rows, d: d.rows, err }));
  await c.end();
})().catch(e => { console.error(e); process.exit(1); });
`
	if err := os.WriteFile(filepath.Join(dir, "client.js"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "client.js", host, port)
	cmd.Dir = dir
	out, err := runClient(cmd, 30*time.Second)
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{`"fields":["region","gmv_paid","order_count"]`, `{"region":"central","gmv_paid":"`,
		`{"segment":"consumer","aov":`, `{"table_schema":"sales","table_name":"orders"}`, `"err":"0A000"`} {
		if !strings.Contains(s, want) {
			t.Errorf("node output lacks %s:\n%s", want, s)
		}
	}
	if strings.Contains(s, `"b":[]`) || strings.Contains(s, `"b2":[]`) {
		t.Errorf("the prepared statement returned no rows:\n%s", s)
	}
}
