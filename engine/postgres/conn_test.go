package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/koujing/koujing/engine/exec"
	"github.com/koujing/koujing/engine/pgtest"
	"github.com/koujing/koujing/engine/postgres"
	"github.com/koujing/koujing/engine/source"
)

// openTest returns a Connection to the test server (skipping the test as pgtest does when it is
// unreachable), closed when the test ends, and a pool to the same server for checking on it.
// configure, if not nil, adjusts the configuration first.
func openTest(t testing.TB, configure func(*postgres.ConnectionConfig)) (*postgres.Connection, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.Connect(t)
	cfg := postgres.ConnectionConfig{Name: "test", URL: pool.Config().ConnString(), PoolSize: 4}
	if configure != nil {
		configure(&cfg)
	}
	c, err := postgres.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, pool
}

// int64Schema is the schema of a statement returning one bigint column.
var int64Schema = arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)

// marker returns a unique comment to put in a statement, to find it in pg_stat_activity.
func marker(t testing.TB) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "/* koujing-" + hex.EncodeToString(b[:]) + " */"
}

// activePID waits until a statement containing m is running and returns its backend's pid.
func activePID(t testing.TB, pool *pgxpool.Pool, m string) (int32, error) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var pid int32
		err := pool.QueryRow(context.Background(),
			"SELECT coalesce(max(pid), 0) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()", m).Scan(&pid)
		if err != nil {
			return 0, err
		}
		if pid != 0 {
			return pid, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, fmt.Errorf("no statement with %s started", m)
}

// assertNotRunning fails the test if a statement containing m is still running on the server.
func assertNotRunning(t testing.TB, pool *pgxpool.Pool, m string) {
	t.Helper()
	var n int
	// The server marks the backend idle as it sends the error; allow it a moment to get there.
	for range 50 {
		err := pool.QueryRow(context.Background(),
			"SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()", m).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("the statement %s is still running on the server", m)
}

// checkGoroutines returns a function that fails the test if more goroutines run than when
// checkGoroutines was called, after giving those that are ending a moment to end.
func checkGoroutines(t testing.TB) func() {
	before := runtime.NumGoroutine()
	return func() {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			t.Errorf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
		}
	}
}

// runQuery runs a statement returning one bigint column through NewQueryOperator and returns
// its values.
func runQuery(ctx context.Context, c *postgres.Connection, mem memory.Allocator, sql string) ([]int64, error) {
	op := postgres.NewQueryOperator(&exec.Env{Mem: mem}, c, &postgres.Statement{SQL: sql, Schema: int64Schema})
	batches, err := exec.Collect(ctx, op)
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, b := range batches {
		out = append(out, b.Column(0).(interface{ Int64Values() []int64 }).Int64Values()...)
		b.Release()
	}
	return out, nil
}

func TestOpenRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  postgres.ConnectionConfig
		want string
	}{
		{"no name", postgres.ConnectionConfig{URL: "postgres://localhost/db"}, "no name"},
		{"bad URL", postgres.ConnectionConfig{Name: "w", URL: "postgres://u:secret@localhost:notaport/db"}, `connection "w"`},
		{"negative timeout", postgres.ConnectionConfig{Name: "w", URL: "postgres://localhost/db", StatementTimeout: -time.Second}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := postgres.Open(context.Background(), tt.cfg)
			if err == nil {
				c.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "secret") {
				t.Errorf("err = %v, want it to say %q and hide the password", err, tt.want)
			}
		})
	}
}

// TestUnreachable opens a connection to a port nothing listens on: Open succeeds (Koujing starts
// while a source is down), and everything that needs the server fails soon with
// source.ErrUnavailable, leaving no goroutine behind.
func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	check := checkGoroutines(t)
	ctx := context.Background()
	c, err := postgres.Open(ctx, postgres.ConnectionConfig{
		Name: "down", URL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/test?sslmode=disable", port),
		ConnectTimeout: time.Second,
	})
	if err != nil {
		t.Fatalf("Open of a server that is down: %v, want success", err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	calls := map[string]func() error{
		"query": func() error { _, err := runQuery(ctx, c, mem, "SELECT 1::int8"); return err },
		"ping":  func() error { return c.Ping(ctx) },
		"table schema": func() error {
			_, err := c.TableSchema(ctx, "public.t")
			return err
		},
		"tables": func() error { _, err := c.Tables(ctx, "public"); return err },
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		if !errors.Is(err, source.ErrUnavailable) {
			t.Errorf("%s: err = %v, want one wrapping source.ErrUnavailable", name, err)
		} else if !strings.Contains(err.Error(), `"down"`) {
			t.Errorf("%s: err = %v, want it to name the connection", name, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s took %v to fail", name, d)
		}
	}
	c.Close()
	if _, err := runQuery(ctx, c, mem, "SELECT 1::int8"); !errors.Is(err, source.ErrUnavailable) {
		t.Errorf("query after Close: err = %v, want one wrapping source.ErrUnavailable", err)
	}
	check()
}

// TestCancelRunningQuery cancels the context of a query while the server sleeps: the operator
// returns context.Canceled at once, and the server no longer runs the statement.
func TestCancelRunningQuery(t *testing.T) {
	c, pool := openTest(t, nil)
	check := checkGoroutines(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	m := marker(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		if _, err := activePID(t, pool, m); err != nil {
			t.Error(err)
		}
		cancel()
	}()
	start := time.Now()
	_, err := runQuery(ctx, c, mem, "SELECT 1::int8 FROM pg_sleep(30) "+m)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want one wrapping context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the cancelled query took %v to return", d)
	}
	assertNotRunning(t, pool, m)

	// The session went back to the pool in a usable state.
	got, err := runQuery(context.Background(), c, mem, "SELECT 42::int8")
	if err != nil || len(got) != 1 || got[0] != 42 {
		t.Errorf("query after the cancelled one: %v, %v", got, err)
	}
	check()
}

// TestDeadline lets a context's deadline pass during a query.
func TestDeadline(t *testing.T) {
	c, pool := openTest(t, nil)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	m := marker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := runQuery(ctx, c, mem, "SELECT 1::int8 FROM pg_sleep(30) "+m)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, source.ErrUnavailable) {
		t.Fatalf("err = %v, want one wrapping context.DeadlineExceeded only", err)
	}
	assertNotRunning(t, pool, m)
}

// TestCloseMidStream stops reading a long result after one batch, as a LIMIT does: Close cancels
// the statement on the server and leaves the session usable.
func TestCloseMidStream(t *testing.T) {
	c, pool := openTest(t, func(cfg *postgres.ConnectionConfig) { cfg.PoolSize = 1 })
	check := checkGoroutines(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	m := marker(t)
	ctx := context.Background()

	op := postgres.NewQueryOperator(&exec.Env{Mem: mem, BatchRows: 1000}, c,
		&postgres.Statement{SQL: "SELECT generate_series(1, 2000000000)::int8 " + m, Schema: int64Schema})
	if err := op.Open(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := op.Next(ctx)
	if err != nil || b == nil || b.NumRows() != 1000 {
		t.Fatalf("first batch: %v, %v; want 1000 rows", b, err)
	}
	if _, err := activePID(t, pool, m); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := op.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %v", d)
	}
	assertNotRunning(t, pool, m)
	// With a pool of one, this reuses the session the closed operator had.
	got, err := runQuery(ctx, c, mem, "SELECT 7::int8")
	if err != nil || len(got) != 1 || got[0] != 7 {
		t.Errorf("query after Close: %v, %v", got, err)
	}
	check()
}

// TestTerminatedBackend ends the backend running a query, as a server restart or an
// administrator does: the query fails with source.ErrUnavailable, and the next query on the same
// Connection succeeds on a new session.
func TestTerminatedBackend(t *testing.T) {
	c, pool := openTest(t, func(cfg *postgres.ConnectionConfig) { cfg.PoolSize = 1 })
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	m := marker(t)
	ctx := context.Background()

	go func() {
		pid, err := activePID(t, pool, m)
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := pool.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
			t.Error(err)
		}
	}()
	_, err := runQuery(ctx, c, mem, "SELECT 1::int8 FROM pg_sleep(30) "+m)
	if !errors.Is(err, source.ErrUnavailable) {
		t.Fatalf("err = %v, want one wrapping source.ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "57P01") {
		t.Errorf("err = %v, want it to carry SQLSTATE 57P01", err)
	}
	got, err := runQuery(ctx, c, mem, "SELECT 5::int8")
	if err != nil || len(got) != 1 || got[0] != 5 {
		t.Errorf("query after the backend was terminated: %v, %v", got, err)
	}
}

// TestIdleSessionTerminated ends a session while it waits in the pool: the next query is not
// handed the dead session.
func TestIdleSessionTerminated(t *testing.T) {
	c, pool := openTest(t, func(cfg *postgres.ConnectionConfig) { cfg.PoolSize = 1 })
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	m := marker(t)
	if _, err := runQuery(ctx, c, mem, "SELECT 1::int8 "+m); err != nil {
		t.Fatal(err)
	}
	var n int
	err := pool.QueryRow(ctx, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()", m).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("terminate the idle session: %d, %v", n, err)
	}
	time.Sleep(1100 * time.Millisecond) // idle long enough for the pool to check it
	if got, err := runQuery(ctx, c, mem, "SELECT 3::int8"); err != nil || len(got) != 1 || got[0] != 3 {
		t.Errorf("query after the idle session was terminated: %v, %v", got, err)
	}
}

// TestStatementTimeout runs a statement longer than the connection's statement timeout.
func TestStatementTimeout(t *testing.T) {
	c, _ := openTest(t, func(cfg *postgres.ConnectionConfig) { cfg.StatementTimeout = 200 * time.Millisecond })
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	_, err := runQuery(context.Background(), c, mem, "SELECT 1::int8 FROM pg_sleep(5)")
	if !errors.Is(err, postgres.ErrStatementTimeout) || errors.Is(err, source.ErrUnavailable) || errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want one wrapping ErrStatementTimeout only", err)
	}
	if !strings.Contains(err.Error(), "statement timeout") || !strings.Contains(err.Error(), "57014") {
		t.Errorf("err = %v, want it to say the statement timeout was exceeded, with the SQLSTATE", err)
	}
	if got, err := runQuery(context.Background(), c, mem, "SELECT 1::int8 FROM pg_sleep(0.01)"); err != nil || len(got) != 1 {
		t.Errorf("a statement within the timeout: %v, %v", got, err)
	}
}

func TestPing(t *testing.T) {
	c, _ := openTest(t, nil)
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c.Name() != "test" {
		t.Errorf("Name() = %q", c.Name())
	}
}

// TestSQLError checks that an error in the statement is reported with its SQLSTATE and is not
// taken for unavailability.
func TestSQLError(t *testing.T) {
	c, _ := openTest(t, nil)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for sql, state := range map[string]string{
		"SELEC 1":                          "42601",
		"SELECT (1 / 0)::int8":             "22012",
		"SELECT x::int8 FROM no_such_tbl":  "42P01",
		"SELECT generate_series(1, 3) / 0": "22012",
	} {
		_, err := runQuery(context.Background(), c, mem, sql)
		if err == nil || !strings.Contains(err.Error(), state) || errors.Is(err, source.ErrUnavailable) {
			t.Errorf("%s: err = %v, want SQLSTATE %s", sql, err, state)
		}
	}
}
