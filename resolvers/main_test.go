package resolvers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
)

// fixtureScale is the scale of the demo data the fixture serves: 10,000 orders.
const fixtureScale = 0.01

// fixture is what every test serves: the demo definitions over the demo data at scale 0.01, and
// the same definitions plus a model of exchange rates related to nothing.
var fixture struct {
	src *engine.Sources
	// queryMem is the allocator of every query the engine runs; it must be back to zero after
	// each response, which proves the resolvers release results.
	queryMem  *memory.CheckedAllocator
	eng       *engine.Engine
	demo      *semantic.Service
	withRates *semantic.Service
}

// ratesDefinitions adds a model that no relationship reaches, and two metrics over it, which
// make 22 metrics with the demo's 20.
const ratesDefinitions = `
models:
  - name: rates
    label: Exchange rates
    description: One row per currency, with its rate to CNY.
    source: {file: rates.csv}
    primary_key: currency
    dimensions:
      - name: currency
        type: string
        label: Currency
    measures:
      - name: rate_count
        agg: count
        label: Rates
      - name: rate_avg
        agg: avg
        expr: rate
        label: Average rate
metrics:
  - name: rate_count
    label: Rates
    description: Number of currencies with a rate.
    domain: finance
    tags: [rates]
    measure: rates.rate_count
  - name: average_rate
    label: Average rate
    description: Average rate to CNY over currencies.
    domain: finance
    tags: [rates]
    measure: rates.rate_avg
`

const ratesCSV = "currency,rate\nUSD,7.1\nEUR,7.8\nJPY,0.05\n"

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
	fixture.queryMem = memory.NewCheckedAllocator(memory.NewGoAllocator())
	fixture.eng = engine.New(fixture.src, engine.Options{Allocator: fixture.queryMem})

	cat, err := semantic.LoadFS(ctx, demo.FS, semantic.SourcesResolver(fixture.src))
	if err != nil {
		return 0, fmt.Errorf("load demo definitions: %w", err)
	}
	if fixture.demo, err = newService(cat, fixture.eng, semantic.ServiceOptions{}); err != nil {
		return 0, err
	}

	dir, err := os.MkdirTemp("", "koujing-resolvers-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	if err := writeRatesDefinitions(dir); err != nil {
		return 0, err
	}
	ratesCat, err := semantic.LoadDir(ctx, dir, semantic.SourcesResolver(fixture.src))
	if err != nil {
		return 0, fmt.Errorf("load definitions with rates: %w", err)
	}
	if fixture.withRates, err = newService(ratesCat, fixture.eng, semantic.ServiceOptions{}); err != nil {
		return 0, err
	}
	return m.Run(), nil
}

// writeRatesDefinitions writes the demo definitions plus rates.yaml and rates.csv into dir.
func writeRatesDefinitions(dir string) error {
	files, err := fs.Glob(demo.FS, "*.yaml")
	if err != nil {
		return err
	}
	for _, name := range files {
		b, err := fs.ReadFile(demo.FS, name)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "rates.yaml"), []byte(ratesDefinitions), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "rates.csv"), []byte(ratesCSV), 0o644)
}

// quietLogger discards the request log lines, which would drown the test output.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// server serves svc's API over HTTP for one test; without an authenticator in opts, in demo mode
// (see demoAuthenticator).
func server(t testing.TB, svc *semantic.Service, opts HandlerOptions) *httptest.Server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	if opts.Authenticator == nil {
		opts.Authenticator = demoAuthenticator(t, svc)
	}
	srv := httptest.NewServer(NewHandler(svc, opts))
	t.Cleanup(srv.Close)
	return srv
}

// gqlError is one error of a GraphQL response.
type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

func (e gqlError) code() string {
	c, _ := e.Extensions["code"].(string)
	return c
}

// gqlResponse is a GraphQL response, data kept as raw JSON.
type gqlResponse struct {
	status     int
	Data       json.RawMessage `json:"data"`
	Errors     []gqlError      `json:"errors"`
	Extensions struct {
		Warnings []string        `json:"warnings"`
		Quality  json.RawMessage `json:"quality"`
	} `json:"extensions"`
}

// post sends a GraphQL request without credentials and decodes the response.
func post(t *testing.T, srv *httptest.Server, query string, vars map[string]any) gqlResponse {
	t.Helper()
	return postAs(t, srv, "", query, vars)
}

// postAs sends a GraphQL request with a bearer token (none when token is "") and decodes the
// response.
func postAs(t testing.TB, srv *httptest.Server, token, query string, vars map[string]any) gqlResponse {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	return sendRaw(t, srv, token, body)
}

func postRaw(t *testing.T, srv *httptest.Server, body []byte) gqlResponse {
	t.Helper()
	return sendRaw(t, srv, "", body)
}

func sendRaw(t testing.TB, srv *httptest.Server, token string, body []byte) gqlResponse {
	t.Helper()
	res := postJSON(t, srv.URL+"/graphql", token, body)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out gqlResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("response is not JSON (%v): %s", err, raw)
	}
	out.status = res.StatusCode
	return out
}

// postJSON posts a JSON body to url with a bearer token (none when token is "") and returns the
// response, whose body the caller closes.
func postJSON(t testing.TB, url, token string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// mustData decodes the data of a response that must have no errors.
func mustData(t *testing.T, r gqlResponse, into any) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("unexpected errors: %+v", r.Errors)
	}
	dec := json.NewDecoder(bytes.NewReader(r.Data))
	dec.UseNumber()
	if err := dec.Decode(into); err != nil {
		t.Fatalf("decode data %s: %v", r.Data, err)
	}
}

// checkNoLeak fails the test when a query's memory was not released.
func checkNoLeak(t *testing.T) {
	t.Helper()
	if n := fixture.queryMem.CurrentAlloc(); n != 0 {
		t.Errorf("%d bytes of query memory were not released", n)
	}
}

// wantError checks that a response failed with one error of that code whose message contains
// every one of want.
func wantError(t *testing.T, r gqlResponse, code string, want ...string) gqlError {
	t.Helper()
	if len(r.Errors) != 1 {
		t.Fatalf("want one %s error, got %d: %+v (data %s)", code, len(r.Errors), r.Errors, r.Data)
	}
	e := r.Errors[0]
	if e.code() != code {
		t.Errorf("code = %q, want %q (message %q)", e.code(), code, e.Message)
	}
	for _, w := range want {
		if !strings.Contains(e.Message, w) {
			t.Errorf("message %q does not contain %q", e.Message, w)
		}
	}
	return e
}

// warehouseCatalog returns the demo definitions with every model read from the tables in schema
// of the database at url, so that queries over them are pushed down to it; poolSize 0 keeps the
// connection's default.
func warehouseCatalog(t testing.TB, schema, url string, poolSize int) (*semantic.Catalog, *engine.Sources) {
	t.Helper()
	dir := t.TempDir()
	if err := demo.Write(dir, func(table string) string { return "{connection: warehouse, table: " + schema + "." + table + "}" }); err != nil {
		t.Fatal(err)
	}
	connections := "connections:\n  - name: warehouse\n    url: " + url + "\n"
	if poolSize > 0 {
		connections += fmt.Sprintf("    pool_size: %d\n", poolSize)
	}
	if err := os.WriteFile(filepath.Join(dir, "connections.yaml"), []byte(connections), 0o644); err != nil {
		t.Fatal(err)
	}
	src := engine.NewSources(memory.NewGoAllocator())
	t.Cleanup(src.Close)
	cat, err := semantic.LoadDir(context.Background(), dir, semantic.SourcesResolver(src))
	if err != nil {
		t.Fatal(err)
	}
	return cat, src
}
