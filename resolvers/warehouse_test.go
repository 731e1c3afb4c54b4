package resolvers

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/engine/pgtest"
	"github.com/koujing/koujing/semantic"
)

// flakyProxy forwards TCP connections to PostgreSQL and can be taken down and brought back on
// the same address: the database going away and returning, as far as the server can tell.
type flakyProxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
}

func newFlakyProxy(t *testing.T, target string) *flakyProxy {
	t.Helper()
	p := &flakyProxy{target: target, conns: map[net.Conn]bool{}}
	if err := p.up("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.down)
	return p
}

// up starts accepting on addr.
func (p *flakyProxy) up(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
	return nil
}

func (p *flakyProxy) forward(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[s] = true, true
	p.mu.Unlock()
	go func() { io.Copy(s, c); s.Close() }() //nolint:errcheck // copying until either side closes
	io.Copy(c, s)                            //nolint:errcheck
	c.Close()
}

// down stops accepting and cuts every connection, as a database that goes away does.
func (p *flakyProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// TestWarehouseUnavailable serves the demo from PostgreSQL through a proxy, then takes the
// database away and brings it back: queries fail with SOURCE_UNAVAILABLE while it is gone, the
// server keeps serving, and queries succeed again by themselves once it is back. Killing the
// server's backends with pg_terminate_backend is survived the same way.
func TestWarehouseUnavailable(t *testing.T) {
	pool := pgtest.Connect(t)
	ctx := context.Background()
	ds, err := demodata.Generate(ctx, memory.NewGoAllocator(), 0.002)
	if err != nil {
		t.Fatal(err)
	}
	schema := pgtest.LoadDemo(t, pool, ds)
	ds.Release()
	cfg, err := pgx.ParseConfig(pgtest.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := newFlakyProxy(t, fmt.Sprintf("%s:%d", cfg.Host, cfg.Port))
	url := fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable&connect_timeout=2&application_name=koujing_flaky", cfg.User, proxy.addr, cfg.Database)

	cat, src := warehouseCatalog(t, schema, url, 2)
	svc := mustService(t, cat, engine.New(src, engine.Options{}), semantic.ServiceOptions{})
	srv := server(t, svc, HandlerOptions{})
	const q = `{ query(input: {metrics: ["order_count"]}) { rows } }`
	var data struct{ Query struct{ Rows [][]int } }
	mustData(t, post(t, srv, q, nil), &data)
	if data.Query.Rows[0][0] != 2000 {
		t.Fatalf("order_count %v, want 2000", data.Query.Rows)
	}

	proxy.down()
	r := post(t, srv, q, nil)
	if len(r.Errors) != 1 || r.Errors[0].code() != CodeSourceUnavailable || strings.Contains(r.Errors[0].Message, proxy.addr) {
		t.Fatalf("with the database gone: %+v; want one SOURCE_UNAVAILABLE error that does not show the address", r.Errors)
	}
	if status, _ := get(t, srv.URL+"/healthz"); status != http.StatusOK {
		t.Errorf("the server stopped serving: /healthz %d", status)
	}
	if err := proxy.up(proxy.addr); err != nil {
		t.Fatal(err)
	}
	eventuallyCounts(t, srv, q)

	// Kill every backend the server holds, between two queries.
	if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'koujing_flaky'`); err != nil {
		t.Fatal(err)
	}
	eventuallyCounts(t, srv, q)
}

// eventuallyCounts asks q until it answers 2000 orders, allowing a few seconds and reporting
// what each failed attempt said; only SOURCE_UNAVAILABLE is an acceptable failure on the way.
func eventuallyCounts(t *testing.T, srv *httptest.Server, q string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for attempt := 1; ; attempt++ {
		r := post(t, srv, q, nil)
		if len(r.Errors) == 0 {
			var data struct{ Query struct{ Rows [][]int } }
			mustData(t, r, &data)
			if data.Query.Rows[0][0] != 2000 {
				t.Fatalf("order_count %v, want 2000", data.Query.Rows)
			}
			return
		}
		if r.Errors[0].code() != CodeSourceUnavailable {
			t.Fatalf("attempt %d: %+v; only SOURCE_UNAVAILABLE may come before recovery", attempt, r.Errors)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not recover within 10s (%d attempts): %+v", attempt, r.Errors)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
