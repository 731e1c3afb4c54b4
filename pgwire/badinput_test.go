package pgwire

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/pgtest"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
)

// rawClient is a connection that speaks the protocol by hand, to send what no driver sends.
type rawClient struct {
	t  *testing.T
	nc net.Conn
	fe *pgproto3.Frontend
}

// dialRaw connects and, with login, authenticates as the demo user.
func dialRaw(t *testing.T, addr string, login bool) *rawClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	c := &rawClient{t: t, nc: nc, fe: pgproto3.NewFrontend(nc, nc)}
	if login {
		c.fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "demo", "database": "koujing"}})
		c.flush()
		c.expect(&pgproto3.AuthenticationCleartextPassword{})
		c.fe.Send(&pgproto3.PasswordMessage{Password: "demo"})
		c.flush()
		for {
			if _, ok := c.receive().(*pgproto3.ReadyForQuery); ok {
				break
			}
		}
	}
	return c
}

func (c *rawClient) flush() {
	if err := c.fe.Flush(); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawClient) receive() pgproto3.BackendMessage {
	c.t.Helper()
	m, err := c.fe.Receive()
	if err != nil {
		c.t.Fatalf("receive: %v", err)
	}
	return m
}

func (c *rawClient) expect(want pgproto3.BackendMessage) {
	c.t.Helper()
	if got := c.receive(); fmt.Sprintf("%T", got) != fmt.Sprintf("%T", want) {
		c.t.Fatalf("got %#v, want a %T", got, want)
	}
}

// wantFatal reads until an ErrorResponse with the code, then expects the connection to close.
func (c *rawClient) wantFatal(code string) {
	c.t.Helper()
	for {
		m, err := c.fe.Receive()
		if err != nil {
			c.t.Fatalf("the connection ended without an error %s: %v", code, err)
		}
		if e, ok := m.(*pgproto3.ErrorResponse); ok {
			if e.Code != code || e.Severity != "FATAL" {
				c.t.Errorf("got %s %s %q, want FATAL %s", e.Severity, e.Code, e.Message, code)
			}
			break
		}
	}
	if _, err := c.fe.Receive(); err == nil {
		c.t.Error("the connection stays open after a fatal error")
	}
}

// TestProtocolViolations sends garbage and oversized messages: each gets 08P01 and the
// connection is closed, and the server goes on serving others.
func TestProtocolViolations(t *testing.T) {
	addr := testServer(t, Options{MaxMessageBytes: 1 << 20})

	t.Run("garbage instead of a startup message", func(t *testing.T) {
		c := dialRaw(t, addr, false)
		c.nc.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		c.wantFatal(codeProtocolViolation)
	})
	t.Run("an unknown message type", func(t *testing.T) {
		c := dialRaw(t, addr, true)
		c.nc.Write([]byte{'z', 0, 0, 0, 4})
		c.wantFatal(codeProtocolViolation)
	})
	t.Run("a message larger than the limit", func(t *testing.T) {
		c := dialRaw(t, addr, true)
		var hdr [5]byte
		hdr[0] = 'Q'
		binary.BigEndian.PutUint32(hdr[1:], 100<<20)
		c.nc.Write(hdr[:])
		c.wantFatal(codeProtocolViolation)
	})
	t.Run("a negative length", func(t *testing.T) {
		c := dialRaw(t, addr, true)
		c.nc.Write([]byte{'Q', 0xff, 0xff, 0xff, 0xff})
		c.wantFatal(codeProtocolViolation)
	})
	t.Run("random bytes", func(t *testing.T) {
		c := dialRaw(t, addr, true)
		junk := make([]byte, 4096)
		for i := range junk {
			junk[i] = byte(i*7919 + 13)
		}
		c.nc.Write(junk)
		for {
			if _, err := c.fe.Receive(); err != nil {
				break // closed, after whatever error it sent
			}
		}
	})
	var n int64
	if err := connect(t, addr, "demo", "demo").QueryRow(context.Background(), "SELECT order_count FROM sales.orders").Scan(&n); err != nil || n == 0 {
		t.Errorf("after the bad clients: %d, %v", n, err)
	}
}

// TestDisconnectMidStream drops connections while their results stream; the server releases
// each result and goes on.
func TestDisconnectMidStream(t *testing.T) {
	addr := testServer(t, Options{})
	for i := 0; i < 3; i++ {
		c := dialRaw(t, addr, true)
		c.fe.Send(&pgproto3.Query{String: "SELECT created_at, order_count FROM sales.orders GROUP BY 1 LIMIT 4000"})
		c.flush()
		c.expect(&pgproto3.RowDescription{})
		c.expect(&pgproto3.DataRow{})
		c.nc.Close()
	}
	var n int64
	if err := connect(t, addr, "demo", "demo").QueryRow(context.Background(), "SELECT order_count FROM sales.orders").Scan(&n); err != nil || n == 0 {
		t.Errorf("after the dropped clients: %d, %v", n, err)
	}
}

// TestBadSQL checks the errors of SQL that cannot be answered, and that values are only data.
func TestBadSQL(t *testing.T) {
	ctx := context.Background()
	conn := connect(t, testServer(t, Options{}), "demo", "demo")
	var all int64
	if err := conn.QueryRow(ctx, "SELECT order_count FROM sales.orders").Scan(&all); err != nil {
		t.Fatal(err)
	}
	// Injection attempts are values: they match no region, and nothing else happens.
	for _, sql := range []string{
		`SELECT orders.region, order_count FROM sales.orders WHERE orders.region = 'x''); DROP TABLE orders; --' GROUP BY 1`,
		`SELECT orders.region, order_count FROM sales.orders WHERE orders.region = 'east'' OR ''1''=''1' GROUP BY 1`,
	} {
		rows, err := conn.Query(ctx, sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		if rows.Err() != nil || n != 0 {
			t.Errorf("%s: %d rows, %v; want none", sql, n, rows.Err())
		}
	}
	rows, err := conn.Query(ctx, "SELECT orders.region, order_count FROM sales.orders WHERE orders.region = $1 GROUP BY 1", "east' OR '1'='1")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		t.Error("a parameter carrying SQL matched rows")
	}
	rows.Close()
	var after int64
	if err := conn.QueryRow(ctx, "SELECT order_count FROM sales.orders").Scan(&after); err != nil || after != all {
		t.Errorf("after the injection attempts: %d orders, %v; want %d", after, err, all)
	}

	cases := []struct {
		sql, code string
		want      []string
	}{
		{"SELECT o.region, gmv_paid FROM sales.orders o JOIN sales.customers c ON c.customer_id = o.customer_id GROUP BY 1", codeFeatureNotSupported, []string{"joins", "customers.segment"}},
		{"SELECT gmv_paid FROM sales.orders WHERE channel = 'app' OR orders.region = 'east'", codeFeatureNotSupported, []string{"OR across dimensions", "one dimension"}},
		{"SELECT orders.region, gmv_paid, rank() OVER (ORDER BY gmv_paid) FROM sales.orders GROUP BY 1", codeFeatureNotSupported, []string{"window functions", "cumulative metric"}},
		{"SELECT * FROM (SELECT gmv_paid FROM sales.orders) s", codeFeatureNotSupported, []string{"subqueries"}},
		{"SELECT gmv_paid FROM sales.orders WHERE gmv_paid > 100", codeFeatureNotSupported, []string{"metric gmv_paid", "in your tool"}},
		{"SELECT count(*) FROM sales.orders", codeFeatureNotSupported, []string{"count", "order_count"}},
		{"SELECT region FROM sales.orders WHERE region LIKE 'ea%'", codeFeatureNotSupported, []string{"LIKE", "'%text%'"}},
		{"SELECT gmv_paid FROM sales.nope", codeUndefinedTable, []string{`"sales.nope" does not exist`, "sales.orders"}},
		{"SELECT gmv_pied FROM sales.orders", codeUndefinedColumn, []string{"gmv_pied does not exist", "gmv_paid"}},
		{"SELECT orders.region, gmv_paid FROM sales.orders GROUP BY channel", codeFeatureNotSupported, []string{"add channel"}},
		{"SELECT orders.region, channel, gmv_paid FROM sales.orders GROUP BY 1", codeGroupingError, []string{"channel", "GROUP BY"}},
		{"SELEC gmv_paid FROM sales.orders", codeSyntaxError, []string{"syntax error"}},
		{"INSERT INTO sales.orders (region) VALUES ('x')", "25006", []string{"read-only"}},
		{"SELECT gmv_paid FROM sales.orders WHERE created_at >= 'yesterday'", codeInvalidParameter, []string{"not a time"}},
		{"SELECT orders.region, gmv_paid FROM sales.orders WHERE orders.region = NULL GROUP BY 1", codeFeatureNotSupported, []string{"IS NULL"}},
	}
	for _, tc := range cases {
		_, err := conn.Exec(ctx, tc.sql)
		pe := wantSQLError(t, err, tc.code, tc.want...)
		if tc.code == codeSyntaxError && pe.Position != 1 {
			t.Errorf("%s: syntax error at position %d, want 1", tc.sql, pe.Position)
		}
	}

	// A huge LIMIT is no limit: the server's row cap (5,000 in these tests) applies.
	_, err = conn.Exec(ctx, "SELECT created_at, order_count FROM sales.orders GROUP BY 1 LIMIT 999999999999")
	wantSQLError(t, err, codeProgramLimit, "too many rows")
	var n int64
	if err := conn.QueryRow(ctx, "SELECT order_count FROM sales.orders LIMIT 999999999999").Scan(&n); err != nil || n != all {
		t.Errorf("one row under a huge limit: %d, %v", n, err)
	}
}

// TestCancel cancels a slow query — a warehouse table that takes ten seconds to read — with a
// cancel request, and another with statement_timeout: both fail with 57014 at once, and the
// warehouse's statement is cancelled too.
func TestCancel(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Connect(t)
	schema := pgtest.LoadDemo(t, pool, fixture.ds)
	if _, err := pool.Exec(ctx, `CREATE VIEW `+schema+`.slow_orders AS SELECT o.* FROM `+schema+`.orders o, pg_sleep(10)`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := demo.Write(dir, func(table string) string {
		if table == "orders" {
			table = "slow_orders"
		}
		return "{connection: warehouse, table: " + schema + "." + table + "}"
	}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "connections.yaml"), []byte("connections:\n  - name: warehouse\n    url: "+pgtest.URL()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := engine.NewSources(fixture.queryMem)
	defer src.Close()
	cat, err := semantic.LoadDir(ctx, dir, semantic.SourcesResolver(src))
	if err != nil {
		t.Fatal(err)
	}
	a, err := demo.NewAuthorizer(ctx, cat, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	eng := engine.New(src, engine.Options{Allocator: fixture.queryMem})
	defer eng.Close()
	svc := semantic.NewService(cat, eng, semantic.ServiceOptions{Authorizer: a})
	srv := New(svc, Options{Authenticator: demoAuthenticator(t), Logger: quietLogger()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		srv.Shutdown(ctx)
		<-served
	}()
	conn := connect(t, ln.Addr().String(), "demo", "demo")

	start := time.Now()
	go func() {
		time.Sleep(300 * time.Millisecond)
		conn.PgConn().CancelRequest(ctx)
	}()
	_, err = conn.Exec(ctx, "SELECT order_count FROM sales.orders")
	wantSQLError(t, err, codeQueryCanceled, "user request")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the cancelled query ended after %v", d)
	}

	if _, err := conn.Exec(ctx, "SET statement_timeout = '200ms'"); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	_, err = conn.Exec(ctx, "SELECT order_count FROM sales.orders")
	wantSQLError(t, err, codeQueryCanceled, "statement timeout")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the timed-out query ended after %v", d)
	}
	// The warehouse is not left running the statement.
	time.Sleep(200 * time.Millisecond)
	var running int64
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%slow_orders%' AND state = 'active' AND pid <> pg_backend_pid()").Scan(&running); err != nil {
		t.Fatal(err)
	}
	if running != 0 {
		t.Errorf("%d warehouse statements still run", running)
	}
	var one int64
	if _, err := conn.Exec(ctx, "SET statement_timeout = 0"); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Errorf("after the cancels: %v", err)
	}
	if errors.Is(err, io.EOF) {
		t.Error("the connection closed")
	}
}
