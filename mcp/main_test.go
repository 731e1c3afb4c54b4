package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
)

// fixtureScale is the scale of the demo data the tests serve: 10,000 orders.
const fixtureScale = 0.01

// fixture is what every test serves: the demo definitions over the demo data, under the demo's
// policy, with every query's memory counted.
var fixture struct {
	data *demodata.Dataset
	src  *engine.Sources
	// queryMem is the allocator of every query; it must be back to zero after each call.
	queryMem *memory.CheckedAllocator
	svc      *semantic.Service
}

// testSecret signs the tokens the tests make to act as the demo's roles.
var testSecret = []byte("koujing mcp tests sign their tokens with this secret")

func TestMain(m *testing.M) {
	code, err := runTests(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runTests(m *testing.M) (int, error) {
	ctx := context.Background()
	dataMem := memory.NewGoAllocator()
	fixture.src = engine.NewSources(dataMem)
	defer fixture.src.Close()
	ds, err := demodata.Generate(ctx, dataMem, fixtureScale)
	if err != nil {
		return 0, err
	}
	fixture.src.SetDemo(ds)
	fixture.data = ds
	fixture.queryMem = memory.NewCheckedAllocator(memory.NewGoAllocator())
	cat, err := semantic.LoadFS(ctx, demo.FS, semantic.SourcesResolver(fixture.src))
	if err != nil {
		return 0, err
	}
	a, err := demo.NewAuthorizer(ctx, cat, quietLogger())
	if err != nil {
		return 0, err
	}
	fixture.svc = semantic.NewService(cat, engine.New(fixture.src, engine.Options{Allocator: fixture.queryMem}), semantic.ServiceOptions{Authorizer: a})
	return m.Run(), nil
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

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// demoUser is who requests without credentials run as in demo mode.
var demoUser = authz.Principal{Subject: "demo", Tenant: "demo", Roles: []string{"analyst"}, Method: authz.MethodDemo}

// authenticator verifies tokens signed with testSecret and, in demo mode, runs requests without
// credentials as demoUser.
func authenticator(t testing.TB, demoMode bool) *authz.Authenticator {
	t.Helper()
	opts := authz.AuthenticatorOptions{Secret: testSecret, APIKeys: fixture.svc.Authorizer().LookupKey}
	if demoMode {
		u := demoUser
		opts.Demo = &u
	}
	a, err := authz.NewAuthenticator(opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// tokenFor signs a token of tenant demo for a subject with one role and extra claims.
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

// serveHTTP serves an MCP server over HTTP for one test, in demo mode unless required.
func serveHTTP(t testing.TB, opts Options, demoMode bool) *httptest.Server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	srv := httptest.NewServer(NewServer(fixture.svc, opts).Handler(authenticator(t, demoMode)))
	t.Cleanup(srv.Close)
	return srv
}

// bearer adds a token to every request it sends.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// connect opens a session of the SDK's own client with the server at srv, sending token (none
// when ""). The session and the client's connections close when the test ends.
func connect(t testing.TB, srv *httptest.Server, token string) *sdk.ClientSession {
	t.Helper()
	cs, err := dial(srv, token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func dial(srv *httptest.Server, token string) (*sdk.ClientSession, error) {
	transport := &http.Transport{}
	client := &http.Client{Transport: transport}
	if token != "" {
		client.Transport = bearer{token: token, next: transport}
	}
	c := sdk.NewClient(&sdk.Implementation{Name: "koujing-test", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &sdk.StreamableClientTransport{Endpoint: srv.URL, HTTPClient: client, MaxRetries: -1}, nil)
	if err != nil {
		transport.CloseIdleConnections()
		return nil, err
	}
	go func() {
		cs.Wait()
		transport.CloseIdleConnections()
	}()
	return cs, nil
}

// call calls a tool and returns its result, failing the test on a protocol error.
func call(t testing.TB, cs *sdk.ClientSession, tool string, args any) *sdk.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return res
}

// callOK calls a tool that must succeed and decodes its structured result into out.
func callOK(t testing.TB, cs *sdk.ClientSession, tool string, args, out any) *sdk.CallToolResult {
	t.Helper()
	res := call(t, cs, tool, args)
	if res.IsError {
		t.Fatalf("%s(%v) failed: %s", tool, args, resultText(res))
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	reflect.ValueOf(out).Elem().SetZero()
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		t.Fatalf("%s: decode %s: %v", tool, b, err)
	}
	return res
}

// callError calls a tool that must fail and returns its error text.
func callError(t testing.TB, cs *sdk.ClientSession, tool string, args any) string {
	t.Helper()
	res := call(t, cs, tool, args)
	if !res.IsError {
		t.Fatalf("%s(%v) succeeded, want an error: %s", tool, args, resultText(res))
	}
	return resultText(res)
}

// resultText is the text content of a tool result.
func resultText(res *sdk.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// checkNoLeak fails the test when a query's memory was not released.
func checkNoLeak(t testing.TB) {
	t.Helper()
	if n := fixture.queryMem.CurrentAlloc(); n != 0 {
		t.Errorf("%d bytes of query memory were not released", n)
	}
}
