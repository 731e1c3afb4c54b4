package pgwire

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.uber.org/goleak"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
)

// fixtureScale is the size of the demo data the tests serve: 10,000 orders.
const fixtureScale = 0.01

// testSecret signs the tokens tests make to act as the demo's roles.
var testSecret = []byte("koujing pgwire tests sign their tokens with this secret")

// fixture is what most tests serve: the demo definitions over the demo data, under the demo's
// access policy.
var fixture struct {
	queryMem *memory.CheckedAllocator
	svc      *semantic.Service
	ds       *demodata.Dataset
	cat      *semantic.Catalog
	src      *engine.Sources
	authz    *authz.Authorizer
}

func TestMain(m *testing.M) {
	code, err := runTests(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if code == 0 {
		// Every connection's goroutine has ended once its test closed its server.
		if err := goleak.Find(goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"),
			goleak.IgnoreAnyFunction("github.com/jackc/puddle/v2.(*Pool[...]).backgroundHealthCheck")); err != nil {
			fmt.Fprintln(os.Stderr, "leaked goroutines:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func runTests(m *testing.M) (int, error) {
	ctx := context.Background()
	dataMem := memory.NewGoAllocator()
	src := engine.NewSources(dataMem)
	defer src.Close()
	ds, err := demodata.Generate(ctx, dataMem, fixtureScale)
	if err != nil {
		return 0, err
	}
	src.SetDemo(ds)
	fixture.ds = ds
	fixture.queryMem = memory.NewCheckedAllocator(memory.NewGoAllocator())
	// No result cache: every query's memory must be back to zero after it, which proves results
	// are released; the benchmark makes an engine with the cache on, as koujing serve runs.
	eng := engine.New(src, engine.Options{Allocator: fixture.queryMem, MaxRows: 5000})
	defer eng.Close()
	cat, err := semantic.LoadFS(ctx, demo.FS, semantic.SourcesResolver(src))
	if err != nil {
		return 0, err
	}
	a, err := demo.NewAuthorizer(ctx, cat, quietLogger())
	if err != nil {
		return 0, err
	}
	defer a.Close()
	fixture.svc = semantic.NewService(cat, eng, semantic.ServiceOptions{Authorizer: a})
	fixture.cat, fixture.src, fixture.authz = cat, src, a
	return m.Run(), nil
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// demoAuthenticator verifies tokens signed with testSecret, and, like koujing serve on the demo,
// runs user demo with password demo as the demo user.
func demoAuthenticator(t testing.TB) *authz.Authenticator {
	t.Helper()
	a, err := authz.NewAuthenticator(authz.AuthenticatorOptions{Secret: testSecret, APIKeys: fixture.svc.Authorizer().LookupKey,
		Demo: &authz.Principal{Subject: "demo", Tenant: "demo", Roles: []string{"analyst"}}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// tokenFor signs a token for a demo role with extra claims, valid for an hour.
func tokenFor(t testing.TB, sub, role string, claims map[string]any) string {
	t.Helper()
	c := map[string]any{"sub": sub, "tenant": "demo", "roles": []string{role}, "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range claims {
		c[k] = v
	}
	tok, err := authz.SignToken(testSecret, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// testServer serves the fixture on a loopback port for one test and returns its address; the
// server is shut down, and its goroutines gone, when the test ends.
func testServer(t testing.TB, opts Options) string {
	t.Helper()
	return serveService(t, fixture.svc, opts)
}

// governedDemo serves the demo's definitions from a new metadata store in memory, under the
// demo's policy, over the fixture's tables.
func governedDemo(t testing.TB) *demo.Governed {
	t.Helper()
	g, err := demo.OpenGoverned(context.Background(), "", fixture.src, engine.New(fixture.src, engine.Options{Allocator: fixture.queryMem}), quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

// serveService serves svc as testServer serves the fixture; svc's engine allocates from
// fixture.queryMem.
func serveService(t testing.TB, svc *semantic.Service, opts Options) string {
	t.Helper()
	if opts.Authenticator == nil {
		opts.Authenticator = demoAuthenticator(t)
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	srv := New(svc, opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != ErrServerClosed {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
		if n := fixture.queryMem.CurrentAlloc(); n != 0 {
			t.Errorf("%d bytes of query memory were not released", n)
		}
	})
	return ln.Addr().String()
}

// TestServeForHand serves the fixture at $KOUJING_PGWIRE_SERVE until interrupted, for trying
// clients by hand; it is skipped otherwise.
func TestServeForHand(t *testing.T) {
	addr := os.Getenv("KOUJING_PGWIRE_SERVE")
	if addr == "" {
		t.Skip("set KOUJING_PGWIRE_SERVE=127.0.0.1:15433 to serve the fixture by hand")
	}
	srv := New(fixture.svc, Options{Authenticator: demoAuthenticator(t)})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt)
		<-sig
		srv.Close()
	}()
	t.Log(srv.Serve(ln))
}
