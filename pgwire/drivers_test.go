package pgwire

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/koujing/koujing/engine/pgtest"
	"github.com/koujing/koujing/semantic/oracletest"
)

// The BI tools' drivers, as Debian packages them; CI installs them (see .ci/run).
const (
	jdbcJar       = "/usr/share/java/postgresql.jar"
	debianPython3 = "/usr/bin/python3"
)

// statementLog is a slog handler that keeps what a server logs at debug level about
// statements: each statement a client sent, each it refused, and every internal error. The
// driver tests serve with it, so that a failure shows what the driver asked.
type statementLog struct {
	mu    sync.Mutex
	lines []string
	// refused and internal are the statements answered with an error, and the server's own
	// errors, each with the statement before it.
	refused, internal []string
	last              string
}

func (l *statementLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *statementLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *statementLog) WithGroup(string) slog.Handler            { return l }

func (l *statementLog) Handle(_ context.Context, r slog.Record) error {
	attrs := map[string]string{}
	r.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value.String()
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case r.Message == "statement":
		l.last = strings.Join(strings.Fields(attrs["sql"]), " ")
		l.lines = append(l.lines, l.last)
	case r.Message == "statement refused":
		l.refused = append(l.refused, fmt.Sprintf("%s %s\n    after: %s", attrs["code"], attrs["message"], l.last))
		l.lines = append(l.lines, "  → "+attrs["code"]+" "+attrs["message"])
	case r.Level >= slog.LevelError:
		l.internal = append(l.internal, fmt.Sprintf("%s %v\n    after: %s", r.Message, attrs, l.last))
	}
	return nil
}

// check fails the test for every statement the server refused or failed on, and logs every
// statement the client sent when the test fails or runs with -v.
func (l *statementLog) check(t *testing.T, client string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.internal {
		t.Errorf("%s: the server failed: %s", client, e)
	}
	for _, e := range l.refused {
		t.Errorf("%s: the server refused a statement: %s", client, e)
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("%s sent %d statements:\n%s", client, len(l.lines), strings.Join(l.lines, "\n"))
	}
}

// driverServer serves the fixture for a driver test, logging statements to a statementLog.
func driverServer(t *testing.T) (string, *statementLog) {
	log := &statementLog{}
	return testServer(t, Options{Logger: slog.New(log)}), log
}

// requireDriver skips the test, loudly, when a driver is missing, or fails it when the
// environment requires every client (KOUJING_REQUIRE_POSTGRES=1, as CI sets).
func requireDriver(t *testing.T, what string, present bool) {
	t.Helper()
	if present {
		return
	}
	if os.Getenv(pgtest.RequireEnv) == "1" {
		t.Fatalf("%s is not installed and %s=1", what, pgtest.RequireEnv)
	}
	t.Skipf("SKIPPING: %s is not installed (apt-get install libpostgresql-jdbc-java python3-sqlalchemy python3-psycopg2)", what)
}

// probeFacts runs a probe program and returns its output lines split at tabs; the statements
// the server logged are checked first, so that a failing probe shows what it sent.
func probeFacts(t *testing.T, cmd *exec.Cmd, log *statementLog, client string) [][]string {
	t.Helper()
	defer func() {
		log.check(t, client)
		if t.Failed() {
			t.FailNow()
		}
	}()
	out, err := runClient(cmd, 90*time.Second)
	if err != nil {
		t.Errorf("%s: %v\n%s", filepath.Base(cmd.Path), err, out)
		return nil
	}
	var facts [][]string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		facts = append(facts, strings.Split(sc.Text(), "\t"))
	}
	if len(facts) == 0 || facts[len(facts)-1][0] != "done" {
		t.Errorf("%s did not finish:\n%s", filepath.Base(cmd.Path), out)
	}
	return facts
}

// factsOf returns the facts of one kind, without the kind.
func factsOf(facts [][]string, kind string) [][]string {
	var out [][]string
	for _, f := range facts {
		if f[0] == kind {
			out = append(out, f[1:])
		}
	}
	return out
}

// driverRole is who a driver test connects as, and what that role must and must not see.
type driverRole struct {
	name, user string
	password   func(t *testing.T) string
	// oracleFilter narrows the oracle's rows as the role's row filter does.
	oracleFilter string
	// seesName tells whether the role sees customers.name, which the policy hides as personal
	// data from all but analysts.
	seesName bool
}

var driverRoles = []driverRole{
	{name: "analyst", user: "demo", password: func(*testing.T) string { return "demo" }, seesName: true},
	{name: "east_sales", user: "bob", password: func(t *testing.T) string {
		return tokenFor(t, "bob", "east_sales", map[string]any{"region": "east"})
	}, oracleFilter: " AND region = 'east'"},
}

// driverOracle is PostgreSQL's answer to the drivers' grouped question for a role: paid GMV by
// region over one channel's orders, largest first.
func driverOracle(t *testing.T, channel string, role driverRole) [][]oracletest.Value {
	pool := pgtest.Connect(t)
	schema := pgtest.LoadDemo(t, pool, fixture.ds)
	return oracletest.SQLRows(t, pool, schema, `SELECT region, sum(amount) FROM orders
		WHERE status IN ('paid', 'shipped', 'completed') AND channel = `+quoteLiteral(channel)+role.oracleFilter+`
		GROUP BY 1 ORDER BY 2 DESC`)
}

// checkDriverRows compares the rows a probe printed for each run ("row", run, region, gmv) with
// the oracle's.
func checkDriverRows(t *testing.T, facts [][]string, want [][]oracletest.Value) {
	t.Helper()
	runs := map[string][][]oracletest.Value{}
	var order []string
	for _, f := range factsOf(facts, "row") {
		gmv, ok := new(big.Rat).SetString(f[2])
		if !ok {
			t.Fatalf("gmv %q is not a number", f[2])
		}
		if _, seen := runs[f[0]]; !seen {
			order = append(order, f[0])
		}
		runs[f[0]] = append(runs[f[0]], []oracletest.Value{{Text: f[1]}, {Exact: gmv}})
	}
	if len(runs) == 0 {
		t.Fatal("the grouped query returned no rows")
	}
	for _, run := range order {
		oracletest.Compare(t, runs[run], want, true)
	}
}

// driverSession serves the fixture, runs the probe command makes for the server's address as
// role, and returns the facts it printed once its grouped question's rows are checked against
// PostgreSQL's answer for the role.
func driverSession(t *testing.T, client string, role driverRole, command func(addr string) *exec.Cmd) [][]string {
	t.Helper()
	want := driverOracle(t, "app", role)
	addr, log := driverServer(t)
	facts := probeFacts(t, command(addr), log, client)
	checkDriverRows(t, facts, want)
	return facts
}

// TestJDBC connects with pgjdbc, the driver of DBeaver and Metabase, as an analyst and as
// east_sales: it walks DatabaseMetaData as DBeaver does, runs Metabase's sync queries, and asks
// a grouped question through a prepared statement, whose numbers must be PostgreSQL's. Every
// statement the driver sends must be answered without an error.
func TestJDBC(t *testing.T) {
	java, err := exec.LookPath("java")
	_, jarErr := os.Stat(jdbcJar)
	requireDriver(t, "java with pgjdbc ("+jdbcJar+")", err == nil && jarErr == nil)
	probe, err := filepath.Abs("testdata/drivers/Probe.java")
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range driverRoles {
		t.Run(role.name, func(t *testing.T) {
			facts := driverSession(t, "pgjdbc", role, func(addr string) *exec.Cmd {
				host, port, _ := net.SplitHostPort(addr)
				url := fmt.Sprintf("jdbc:postgresql://%s:%s/koujing?sslmode=disable", host, port)
				return exec.Command(java, "-cp", jdbcJar, probe, url, role.user, role.password(t), "app")
			})
			if !slices.ContainsFunc(factsOf(facts, "schema"), func(f []string) bool { return f[0] == "sales" }) {
				t.Errorf("getSchemas lacks sales: %v", factsOf(facts, "schema"))
			}
			tables := factsOf(facts, "table")
			if !slices.ContainsFunc(tables, func(f []string) bool { return f[1] == "orders" && f[2] == "TABLE" && f[3] != "null" }) {
				t.Errorf("getTables lacks sales.orders as a TABLE with remarks: %v", tables)
			}
			var columns []string
			for _, c := range factsOf(facts, "column") {
				columns = append(columns, c[0]+" "+c[1])
			}
			for _, c := range []string{"region text", "created_at timestamptz", "gmv_paid numeric", "customers.segment text"} {
				if !slices.Contains(columns, c) {
					t.Errorf("getColumns lacks %q: %v", c, columns)
				}
			}
			if slices.Contains(columns, "customers.name text") != role.seesName {
				t.Errorf("%s sees customers.name: %v, want %v", role.name, !role.seesName, role.seesName)
			}
			counts := map[string]string{}
			for _, c := range factsOf(facts, "count") {
				counts[c[0]] = c[1]
			}
			for what, least := range map[string]int{"metabase tables": 3, "metabase privileges": 3, "metabase fields": 10, "schemas like sales": 1} {
				var n int
				fmt.Sscan(counts[what], &n)
				if n < least {
					t.Errorf("%s: %s rows, want at least %d", what, counts[what], least)
				}
			}
			if cols := factsOf(facts, "result columns"); len(cols) != 1 || cols[0][0] != "region" || cols[0][2] != "gmv_paid" || cols[0][3] != "numeric" {
				t.Errorf("result columns %v", cols)
			}
		})
	}
}

// TestSQLAlchemy connects with SQLAlchemy over psycopg2, as Superset does, as an analyst and as
// east_sales: it inspects schemas, tables, columns, keys and indexes, and asks a grouped
// question with a bound parameter, whose numbers must be PostgreSQL's. Every statement the
// driver sends must be answered without an error.
func TestSQLAlchemy(t *testing.T) {
	_, err := os.Stat(debianPython3)
	present := err == nil && exec.Command(debianPython3, "-c", "import sqlalchemy, psycopg2").Run() == nil
	requireDriver(t, "SQLAlchemy with psycopg2 for "+debianPython3, present)
	probe, err := filepath.Abs("testdata/drivers/probe.py")
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range driverRoles {
		t.Run(role.name, func(t *testing.T) {
			facts := driverSession(t, "SQLAlchemy", role, func(addr string) *exec.Cmd {
				url := fmt.Sprintf("postgresql+psycopg2://%s:%s@%s/koujing?sslmode=disable", role.user, role.password(t), addr)
				return exec.Command(debianPython3, probe, url, "app")
			})
			if !slices.ContainsFunc(factsOf(facts, "schema"), func(f []string) bool { return f[0] == "sales" }) {
				t.Errorf("get_schema_names lacks sales: %v", factsOf(facts, "schema"))
			}
			if !slices.ContainsFunc(factsOf(facts, "table"), func(f []string) bool { return f[0] == "orders" }) {
				t.Errorf("get_table_names lacks orders: %v", factsOf(facts, "table"))
			}
			var columns []string
			for _, c := range factsOf(facts, "column") {
				columns = append(columns, c[0]+" "+c[1])
			}
			for _, c := range []string{"region TEXT", "created_at TIMESTAMP", "customers.segment TEXT"} {
				if !slices.ContainsFunc(columns, func(s string) bool { return strings.HasPrefix(s, c) }) {
					t.Errorf("get_columns lacks %q: %v", c, columns)
				}
			}
			if !slices.ContainsFunc(columns, func(s string) bool { return strings.HasPrefix(s, "gmv_paid NUMERIC") }) {
				t.Errorf("get_columns lacks gmv_paid NUMERIC: %v", columns)
			}
			if slices.ContainsFunc(columns, func(s string) bool { return strings.HasPrefix(s, "customers.name ") }) != role.seesName {
				t.Errorf("%s sees customers.name: %v, want %v", role.name, !role.seesName, role.seesName)
			}
			if cols := factsOf(facts, "result columns"); len(cols) != 1 || !slices.Equal(cols[0], []string{"region", "gmv_paid"}) {
				t.Errorf("result columns %v", cols)
			}
		})
	}
}
