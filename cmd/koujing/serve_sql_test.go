package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
)

// TestServeSQL starts koujing serve with the SQL API, asks it a question with pgx, and stops
// the server with a connection still open: it exits 0, and none of its goroutines is left.
func TestServeSQL(t *testing.T) {
	before := goleak.IgnoreCurrent()
	sqlAddr := freeAddr(t)
	s := startServe(t, "--demo-scale", "0.01", "--sql-addr", sqlAddr)
	s.waitUp(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, "postgres://demo:demo@"+sqlAddr+"/koujing?sslmode=disable")
	if err != nil {
		t.Fatalf("connect: %v\n%s", err, s.stderr.String())
	}
	var n int64
	if err := conn.QueryRow(ctx, "SELECT order_count FROM sales.orders").Scan(&n); err != nil || n != 10000 {
		t.Errorf("order_count at scale 0.01: %d, %v; want 10000", n, err)
	}
	_, err = pgx.Connect(ctx, "postgres://demo:wrong@"+sqlAddr+"/koujing?sslmode=disable")
	if err == nil || !strings.Contains(err.Error(), "28P01") {
		t.Errorf("a wrong password: %v", err)
	}
	// The server closes the idle connection as it shuts down.
	s.shutdown(t)
	if err := conn.Ping(ctx); err == nil {
		t.Error("the SQL connection is still served after shutdown")
	}
	conn.Close(ctx)
	http.DefaultClient.CloseIdleConnections()
	if err := goleak.Find(before); err != nil {
		t.Errorf("goroutines left after shutdown: %v", err)
	}
}
