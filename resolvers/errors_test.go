package resolvers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/semantic"
)

// TestBadInput sends requests that are wrong in every way a client can get one wrong, and checks
// that each gets one clear error with the right code, and that the server goes on answering.
func TestBadInput(t *testing.T) {
	srv := server(t, fixture.withRates, HandlerOptions{})
	query := func(input string) string {
		return `{ query(input: ` + input + `) { rowCount rows } }`
	}
	deep := "name"
	for range 13 {
		deep = "dependsOn { " + deep + " }"
	}
	tests := []struct {
		name   string
		query  string
		vars   map[string]any
		code   string
		status int
		want   []string
	}{
		{name: "unknown metric", query: query(`{metrics: ["gmv_piad"]}`),
			code: CodeNotFound, want: []string{`unknown metric "gmv_piad"`, `Did you mean "gmv_paid"?`}},
		{name: "unknown dimension", query: query(`{metrics: ["gmv_paid"], dimensions: ["orders.regoin"]}`),
			code: CodeNotFound, want: []string{`unknown dimension "orders.regoin"`, `Did you mean "orders.region"?`}},
		{name: "dimension not reachable from the metric", query: query(`{metrics: ["gmv_paid"], dimensions: ["rates.currency"]}`),
			code: CodeInvalidQuery, want: []string{"rates.currency", "declare a relationship"}},
		{name: "malformed time zone", query: query(`{metrics: ["gmv_paid"], timezone: "Mars/Olympus_Mons"}`),
			code: CodeInvalidQuery, want: []string{`unknown time zone "Mars/Olympus_Mons"`, "IANA"}},
		{name: "negative limit", query: query(`{metrics: ["gmv_paid"], limit: -1}`),
			code: CodeInvalidQuery, want: []string{"limit -1 is negative"}},
		{name: "limit over the maximum", query: query(`{metrics: ["gmv_paid"], limit: 2000000}`),
			code: CodeInvalidQuery, want: []string{"limit 2000000 is more than the maximum"}},
		{name: "negative offset", query: query(`{metrics: ["gmv_paid"], offset: -5}`),
			code: CodeInvalidQuery, want: []string{"offset -5 is negative"}},
		{name: "no metric", query: query(`{metrics: []}`),
			code: CodeInvalidQuery, want: []string{"names no metric"}},
		{name: "filter value of the wrong type", query: query(`{metrics: ["gmv_paid"], filters: [{dimension: "orders.created_at", operator: GT, values: ["yesterday"]}]}`),
			code: CodeInvalidQuery, want: []string{"orders.created_at"}},
		{name: "granularity a dimension lacks", query: query(`{metrics: ["gmv_paid"], timeDimension: {dimension: "orders.region", granularity: DAY}}`),
			code: CodeInvalidQuery, want: []string{"not a time dimension"}},
		{name: "explain an unknown metric", query: `{ explain(input: {metrics: ["gmv"]}) { plan } }`,
			code: CodeNotFound, want: []string{`unknown metric "gmv"`}},
		{name: "first over 100", query: `{ metrics(first: 101) { totalCount } }`,
			code: CodeInvalidQuery, want: []string{"first is 101, more than the maximum of 100"}},
		{name: "negative first", query: `{ dataModels(first: -1) { totalCount } }`,
			code: CodeInvalidQuery, want: []string{"first is -1"}},
		{name: "bad cursor", query: `{ metrics(after: "bm90IGEgY3Vyc29y") { totalCount } }`,
			code: CodeInvalidQuery, want: []string{"is not a cursor"}},
		{name: "a global ID is not a cursor", query: `{ dimensions(after: "` + globalID("Metric", "aov") + `") { totalCount } }`,
			code: CodeInvalidQuery, want: []string{"is not a cursor"}},
		{name: "deep query", query: `{ metric(name: "aov") { ` + deep + ` } }`,
			code: CodeQueryTooDeep, status: http.StatusUnprocessableEntity, want: []string{"15 deep, more than the limit of 12"}},
		{name: "deep query through fragments",
			query: `query { metric(name: "aov") { ...a } } fragment a on Metric { dependsOn { ...b } } fragment b on Metric { dependsOn { ...c } }
			fragment c on Metric { dependsOn { dependsOn { dependsOn { dependsOn { dependsOn { dependsOn { dependsOn { dependsOn { dependsOn { dependsOn { name } } } } } } } } } } }`,
			code: CodeQueryTooDeep, want: []string{"more than the limit of 12"}},
		{name: "too complex", query: `{ metrics(first: 100) { edges { node { dimensions(first: 100) { edges { node { name label shortName type model { name } } } } } } } }`,
			code: "COMPLEXITY_LIMIT_EXCEEDED", want: []string{"exceeds the limit of 20000"}},
		{name: "too many queries", query: `{ a: query(input: {metrics: ["aov"]}) { rowCount } b: query(input: {metrics: ["aov"]}) { rowCount }
			c: query(input: {metrics: ["aov"]}) { rowCount } d: query(input: {metrics: ["aov"]}) { rowCount }
			e: query(input: {metrics: ["aov"]}) { rowCount } f: query(input: {metrics: ["aov"]}) { rowCount }
			g: query(input: {metrics: ["aov"]}) { rowCount } h: query(input: {metrics: ["aov"]}) { rowCount }
			i: query(input: {metrics: ["aov"]}) { rowCount } j: query(input: {metrics: ["aov"]}) { rowCount }
			k: query(input: {metrics: ["aov"]}) { rowCount } l: query(input: {metrics: ["aov"]}) { rowCount }
			m: query(input: {metrics: ["aov"]}) { rowCount } n: query(input: {metrics: ["aov"]}) { rowCount }
			o: query(input: {metrics: ["aov"]}) { rowCount } p: query(input: {metrics: ["aov"]}) { rowCount }
			q: query(input: {metrics: ["aov"]}) { rowCount } r: query(input: {metrics: ["aov"]}) { rowCount }
			s: query(input: {metrics: ["aov"]}) { rowCount } t: query(input: {metrics: ["aov"]}) { rowCount } }`,
			code: "COMPLEXITY_LIMIT_EXCEEDED"},
		{name: "malformed document", query: `{ metrics(first: 5) { edges { node { name }`,
			code: "GRAPHQL_PARSE_FAILED", status: http.StatusUnprocessableEntity},
		{name: "unknown field", query: `{ metrics { edges { node { colour } } } }`,
			code: "GRAPHQL_VALIDATION_FAILED", want: []string{"colour"}},
		{name: "unknown enum value", query: query(`{metrics: ["aov"], timeDimension: {dimension: "orders.created_at", granularity: FORTNIGHT}}`),
			code: "GRAPHQL_VALIDATION_FAILED", want: []string{"FORTNIGHT"}},
		{name: "wrong variable type", query: `query($first: Int) { metrics(first: $first) { totalCount } }`, vars: map[string]any{"first": "ten"},
			code: "GRAPHQL_VALIDATION_FAILED", want: []string{"variable $first: cannot use string as Int"}},
		{name: "missing variable", query: `query($input: MetricQueryInput!) { query(input: $input) { rowCount } }`,
			code: "GRAPHQL_VALIDATION_FAILED", want: []string{"variable $input: must be defined"}},
		{name: "variable of the wrong shape", query: `query($input: MetricQueryInput!) { query(input: $input) { rowCount } }`,
			vars: map[string]any{"input": map[string]any{"metrics": "gmv_paid", "limit": 1.5}},
			code: "GRAPHQL_VALIDATION_FAILED", want: []string{"variable $input."}},
		{name: "limit far beyond the maximum", query: `query($input: MetricQueryInput!) { query(input: $input) { rowCount } }`,
			vars: map[string]any{"input": map[string]any{"metrics": []string{"gmv_paid"}, "limit": 1e12}},
			code: CodeInvalidQuery, want: []string{"limit 1000000000000 is more than the maximum of 1000000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, srv, tt.query, tt.vars)
			wantError(t, r, tt.code, tt.want...)
			if tt.status != 0 && r.status != tt.status {
				t.Errorf("HTTP status = %d, want %d", r.status, tt.status)
			}
		})
	}
	checkNoLeak(t)

	// The server still answers.
	var data struct{ Query metricResult }
	mustData(t, post(t, srv, `{ query(input: {metrics: ["rate_count"], dimensions: ["rates.currency"]}) { rowCount } }`, nil), &data)
	if data.Query.RowCount != 3 {
		t.Errorf("rates by currency gave %d rows, want 3", data.Query.RowCount)
	}
}

func TestBadRequests(t *testing.T) {
	srv := server(t, fixture.demo, HandlerOptions{})
	t.Run("body over the size limit", func(t *testing.T) {
		pad := strings.Repeat(" ", 1<<20)
		r := postRaw(t, srv, []byte(`{"query": "{ domains { name } }`+pad+`"}`))
		wantError(t, r, CodeRequestTooLarge, "larger than the limit of 1048576 bytes")
		if r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("HTTP status = %d, want 413", r.status)
		}
	})
	t.Run("body over the size limit without a length", func(t *testing.T) {
		pad := strings.Repeat(" ", 1<<20)
		body := struct{ *strings.Reader }{strings.NewReader(`{"query": "{ domains { name } }` + pad + `"}`)} // hides the length
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/graphql", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("HTTP status = %d, want 413", res.StatusCode)
		}
	})
	t.Run("body that is not JSON", func(t *testing.T) {
		r := postRaw(t, srv, []byte(`{"query": `))
		e := wantError(t, r, CodeBadRequest, "json request body could not be decoded")
		if strings.Contains(e.Message, "body:") {
			t.Errorf("message %q quotes the body", e.Message)
		}
	})
	t.Run("body that is not declared JSON", func(t *testing.T) {
		res, err := http.Post(srv.URL+"/graphql", "text/plain", strings.NewReader(`{ domains { name } }`))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var r gqlResponse
		if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
		wantError(t, r, CodeBadRequest, "Content-Type: application/json")
		if res.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("HTTP status = %d, want 415", res.StatusCode)
		}
	})
	t.Run("no query", func(t *testing.T) {
		r := postRaw(t, srv, []byte(`{}`))
		wantError(t, r, "GRAPHQL_VALIDATION_FAILED")
	})
	t.Run("too many tokens", func(t *testing.T) {
		r := post(t, srv, "{ "+strings.Repeat("domains { name } ", 5000)+"}", nil)
		wantError(t, r, "GRAPHQL_PARSE_FAILED", "token limit")
	})
}

// TestEngineErrors checks the codes of queries the engine refuses to finish.
func TestEngineErrors(t *testing.T) {
	cat := fixture.demo.Catalog()
	tests := []struct {
		name string
		svc  *semantic.Service
		code string
		want string
	}{
		{"too many rows", mustService(t, cat, engine.New(fixture.src, engine.Options{Allocator: fixture.queryMem, MaxRows: 2}), semantic.ServiceOptions{}),
			CodeTooManyRows, "add a filter or a limit"},
		{"memory limit", mustService(t, cat, engine.New(fixture.src, engine.Options{Allocator: fixture.queryMem, MemoryLimit: 1024}), semantic.ServiceOptions{}),
			CodeResourceExhausted, "memory limit"},
		{"timeout", mustService(t, cat, fixture.eng, semantic.ServiceOptions{QueryTimeout: time.Nanosecond}),
			CodeTimeout, "took longer than it may"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := server(t, tt.svc, HandlerOptions{})
			r := post(t, srv, `{ query(input: {metrics: ["gmv_paid"], dimensions: ["orders.region"]}) { rowCount } }`, nil)
			wantError(t, r, tt.code, tt.want)
			checkNoLeak(t)
		})
	}
}

// failingReader fails every batch: with an error that must not reach the client, or by panicking.
type failingReader struct {
	CatalogReader
	panics bool
}

func (f failingReader) DependenciesOf(context.Context, []string) ([][]*semantic.Metric, error) {
	if f.panics {
		panic("the reader fell over")
	}
	return nil, errors.New("connection to secret-db.internal:5432 refused")
}

func TestInternalErrorsAreHidden(t *testing.T) {
	for _, panics := range []bool{false, true} {
		var logs bytes.Buffer
		srv := server(t, fixture.demo, HandlerOptions{
			Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			CatalogReader: func(acc *semantic.Access) CatalogReader {
				return failingReader{CatalogReader: NewCatalogReader(acc), panics: panics}
			},
		})
		r := post(t, srv, `{ metric(name: "aov") { name dependsOn { name } } }`, nil)
		e := wantError(t, r, CodeInternal)
		if e.Message != "internal error" {
			t.Errorf("message = %q, want the generic one", e.Message)
		}
		secret := "secret-db"
		if panics {
			secret = "fell over"
		}
		if !strings.Contains(logs.String(), secret) {
			t.Errorf("the log does not record the real error %q:\n%s", secret, logs.String())
		}
		if strings.Contains(string(r.Data), secret) {
			t.Errorf("the response leaks the real error: %s", r.Data)
		}
	}
}

// TestResolverPanic serves the schema with the caller's access but without dataloaders, so that
// every field that needs a loader panics, and checks that each panic becomes INTERNAL while the
// rest of the response is served.
func TestResolverPanic(t *testing.T) {
	var logs bytes.Buffer
	opts := HandlerOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	opts.setDefaults()
	acc, err := fixture.demo.Access(&demoUser)
	if err != nil {
		t.Fatal(err)
	}
	gql := newGraphQLServer(fixture.demo, opts, opts.Logger)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gql.ServeHTTP(w, r.WithContext(withAccess(r.Context(), acc)))
	}))
	defer srv.Close()
	r := post(t, srv, `{ metric(name: "aov") { name models { name } } domains { name } }`, nil)
	e := wantError(t, r, CodeInternal, "internal error")
	if len(e.Path) != 2 || e.Path[1] != "models" {
		t.Errorf("error path = %v, want metric.models", e.Path)
	}
	if !strings.Contains(string(r.Data), `"domains":[{"name":"finance"}`) {
		t.Errorf("the fields that did not panic were not served: %s", r.Data)
	}
	if !strings.Contains(logs.String(), "panicked") || !strings.Contains(logs.String(), "no dataloaders") {
		t.Errorf("the panic was not logged:\n%s", logs.String())
	}
}
