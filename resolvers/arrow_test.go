package resolvers

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/oracletest"
)

// arrowResponse is an answer of POST /arrow: the decoded stream, or the error body.
type arrowResponse struct {
	status      int
	contentType string
	schema      *arrow.Schema
	result      *semantic.Result // the decoded batches; released when the test ends
	errors      []gqlError
}

// postArrow sends body to POST /arrow as the token's caller (none when token is "") and decodes
// the answer: the IPC stream, read with arrow-go's reader under a checked allocator, or the JSON
// error body.
func postArrow(t *testing.T, srv *httptest.Server, token, body string) arrowResponse {
	t.Helper()
	res := postJSON(t, srv.URL+"/arrow", token, []byte(body))
	defer res.Body.Close()
	out := arrowResponse{status: res.StatusCode, contentType: res.Header.Get("Content-Type")}
	if res.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(res.Body)
		var e struct{ Errors []gqlError }
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatalf("status %d with a body that is not JSON (%v): %s", res.StatusCode, err, raw)
		}
		out.errors = e.Errors
		return out
	}
	out.schema, out.result = readArrowStream(t, res.Body)
	return out
}

// readArrowStream decodes an Arrow IPC stream into a result whose batches the test releases,
// under an allocator checked back to zero when the test ends.
func readArrowStream(t *testing.T, r io.Reader) (*arrow.Schema, *semantic.Result) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	rd, err := ipc.NewReader(r, ipc.WithAllocator(mem))
	if err != nil {
		t.Fatalf("not an Arrow IPC stream: %v", err)
	}
	defer rd.Release()
	res := &semantic.Result{}
	t.Cleanup(func() {
		res.Release()
		mem.AssertSize(t, 0)
	})
	for rd.Next() {
		b := rd.RecordBatch()
		b.Retain()
		res.Batches = append(res.Batches, b)
		res.Rows += b.NumRows()
	}
	if err := rd.Err(); err != nil {
		t.Fatalf("reading the Arrow stream: %v", err)
	}
	return rd.Schema(), res
}

// arrowBody is the body of POST /arrow for a query input.
func arrowBody(t *testing.T, in any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"input": in})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// jsonRows is a result's rows as WriteJSONRows writes them: what GraphQL's rows field carries.
func jsonRows(t *testing.T, res *semantic.Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := res.WriteJSONRows(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// graphQLRows runs a query over GraphQL as the token's caller and returns its rows as sent, and
// its Arrow stream when withArrow.
func graphQLRows(t *testing.T, srv *httptest.Server, token string, in map[string]any, withArrow bool) (string, string) {
	t.Helper()
	fields := "rows"
	if withArrow {
		fields = "rows arrow"
	}
	r := postAs(t, srv, token, `query($in: MetricQueryInput!) { query(input: $in) { `+fields+` } }`, map[string]any{"in": in})
	var data struct {
		Query struct {
			Rows  json.RawMessage
			Arrow *string
		}
	}
	mustData(t, r, &data)
	var rows bytes.Buffer
	if err := json.Compact(&rows, data.Query.Rows); err != nil {
		t.Fatal(err)
	}
	if data.Query.Arrow == nil {
		return rows.String(), ""
	}
	return rows.String(), *data.Query.Arrow
}

// TestArrowMatchesGraphQL asks questions over POST /arrow and over GraphQL, with and without a
// row filter: every value of the stream, written as JSON rows, is what GraphQL's rows carry,
// GraphQL's arrow field holds the same stream, and the columns keep their types — decimals
// their scale, the time column the query's zone, text as plain utf8 — with metadata that says
// what each column is.
func TestArrowMatchesGraphQL(t *testing.T) {
	srv := server(t, fixture.demo, HandlerOptions{})
	all := map[string]any{
		"metrics":       []string{"gmv_paid", "aov", "order_count", "refund_rate"},
		"dimensions":    []string{"orders.region", "customers.city", "orders.is_paid"},
		"timeDimension": map[string]any{"dimension": "orders.created_at", "granularity": "MONTH"},
		"timeRange":     map[string]any{"from": "2024-01-01", "to": "2025-01-01"},
		"timezone":      "Asia/Shanghai",
	}
	signups := map[string]any{
		"metrics":       []string{"customer_count"},
		"dimensions":    []string{"customers.segment"},
		"timeDimension": map[string]any{"dimension": "customers.signup_date", "granularity": "QUARTER"},
		"orderBy":       []map[string]any{{"field": "customer_count", "direction": "DESC"}},
		"limit":         7,
	}
	east := eastSalesToken(t, "east")
	for _, c := range []struct {
		name  string
		token string
		in    map[string]any
	}{
		{"analyst by region, city and month", "", all},
		{"east_sales by region, city and month", east, all},
		{"signups by quarter, limited", "", signups},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := postArrow(t, srv, c.token, arrowBody(t, c.in))
			waitNoLeak(t)
			if got.status != http.StatusOK || got.contentType != arrowContentType {
				t.Fatalf("status %d, content type %q, errors %+v", got.status, got.contentType, got.errors)
			}
			rows, stream := graphQLRows(t, srv, c.token, c.in, true)
			checkNoLeak(t)
			if got.result.Rows == 0 {
				t.Fatal("the question has no rows; it checks nothing")
			}
			if arrowRows := jsonRows(t, got.result); arrowRows != rows {
				t.Errorf("rows from Arrow:\n%.600s\nrows over GraphQL:\n%.600s", arrowRows, rows)
			}
			raw, err := base64.StdEncoding.DecodeString(stream)
			if err != nil {
				t.Fatalf("arrow is not base64: %v", err)
			}
			schema, fromGraphQL := readArrowStream(t, bytes.NewReader(raw))
			if !schema.Equal(got.schema) || jsonRows(t, fromGraphQL) != rows {
				t.Errorf("GraphQL's arrow field holds another stream than POST /arrow sends:\n%s\n%s", schema, got.schema)
			}
			if c.token == east {
				for _, b := range got.result.Batches {
					for i := 0; i < int(b.NumRows()); i++ {
						if r := semantic.FormatValue(b.Column(0), i); r != "east" {
							t.Fatalf("east_sales got a row of region %q", r)
						}
					}
				}
			}
		})
	}

	got := postArrow(t, srv, "", arrowBody(t, all))
	wantTypes := map[string]string{
		"orders.region":           "utf8",
		"customers.city":          "utf8",
		"orders.is_paid":          "bool",
		"orders.created_at.month": "timestamp[us, tz=Asia/Shanghai]",
		"gmv_paid":                "decimal(38, 2)",
		"order_count":             "int64",
	}
	wantMeta := map[string]map[string]string{
		"orders.region":           {"koujing.kind": "dimension", "koujing.dimension": "orders.region", "koujing.label": "Order region"},
		"orders.created_at.month": {"koujing.kind": "time", "koujing.dimension": "orders.created_at", "koujing.granularity": "month"},
		"gmv_paid":                {"koujing.kind": "metric", "koujing.metric": "gmv_paid", "koujing.unit": "CNY", "koujing.format": "currency"},
	}
	for _, f := range got.schema.Fields() {
		if want, ok := wantTypes[f.Name]; ok && f.Type.String() != want {
			t.Errorf("column %s is %s, want %s", f.Name, f.Type, want)
		}
		for k, v := range wantMeta[f.Name] {
			if got, _ := f.Metadata.GetValue(k); got != v {
				t.Errorf("column %s: metadata %s = %q, want %q", f.Name, k, got, v)
			}
		}
	}
	if rows, _ := got.schema.Metadata().GetValue(semantic.ArrowRowsKey); rows != jsonNumber(got.result.Rows) {
		t.Errorf("the schema says %s rows, the stream has %d", rows, got.result.Rows)
	}
}

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestArrowOracle runs every oracle case through POST /arrow, as its JSON input, and compares
// the decoded stream with PostgreSQL's answer to the case's SQL over the same data.
func TestArrowOracle(t *testing.T) {
	pool, schema := loadFixtureData(t)
	srv := server(t, fixture.demo, HandlerOptions{})
	for _, c := range oracletest.Cases(t) {
		t.Run(c.Name, func(t *testing.T) {
			in := c.Query.Input()
			if q, err := in.MetricQuery(); err != nil || !reflect.DeepEqual(q, c.Query.MetricQuery()) {
				t.Fatalf("the case's JSON input reads as %+v (%v), not as the case's query %+v", q, err, c.Query.MetricQuery())
			}
			got := postArrow(t, srv, "", arrowBody(t, in))
			if got.status != http.StatusOK {
				t.Fatalf("status %d: %+v", got.status, got.errors)
			}
			oracletest.Compare(t, oracletest.ResultRows(t, got.result), oracletest.SQLRows(t, pool, schema, c.SQL), c.Query.Ordered())
		})
	}
	waitNoLeak(t)
}

// TestArrowErrors sends bad requests to POST /arrow: each gets GraphQL's error body, the code
// GraphQL gives the same mistake, and an HTTP status to match.
func TestArrowErrors(t *testing.T) {
	srv := server(t, fixture.demo, HandlerOptions{})
	unknown := map[string]any{"metrics": []string{"gmv_payed"}}
	cases := []struct {
		name, token, body string
		status            int
		code              string
		want              []string
	}{
		{"unknown metric", "", arrowBody(t, unknown), http.StatusNotFound, CodeNotFound, []string{`unknown metric "gmv_payed"`, `Did you mean "gmv_paid"?`}},
		{"hidden metric", eastSalesToken(t, "east"), arrowBody(t, map[string]any{"metrics": []string{"coupon_rate"}}), http.StatusNotFound, CodeNotFound, []string{`unknown metric "coupon_rate"`}},
		{"read but not query", viewerToken(t), arrowBody(t, map[string]any{"metrics": []string{"order_count"}}), http.StatusForbidden, CodeForbidden, []string{"may see metric order_count but not query it"}},
		{"limit over the maximum", "", arrowBody(t, map[string]any{"metrics": []string{"order_count"}, "limit": 5_000_000}), http.StatusBadRequest, CodeInvalidQuery, []string{"limit 5000000 is more than the maximum of 1000000"}},
		{"unknown operator", "", arrowBody(t, map[string]any{"metrics": []string{"order_count"}, "filters": []map[string]any{{"dimension": "orders.region", "operator": "LIKE", "values": []string{"e%"}}}}),
			http.StatusBadRequest, CodeInvalidQuery, []string{`operator "LIKE" is not one of EQUALS, NOT_EQUALS`}},
		{"malformed JSON", "", `{"input": {"metrics": ["gmv_paid"]`, http.StatusBadRequest, CodeBadRequest, []string{"the body is not a metric query", `{"input": {"metrics"`}},
		{"a limit that is not a number", "", `{"input": {"metrics": ["gmv_paid"], "limit": "ten"}}`, http.StatusBadRequest, CodeBadRequest, []string{"limit", "int64"}},
		{"the input without its wrapper", "", `{"metrics": ["gmv_paid"]}`, http.StatusBadRequest, CodeBadRequest, []string{`unknown field "metrics": the query goes under input`}},
		{"no input", "", `{}`, http.StatusBadRequest, CodeBadRequest, []string{"the body has no input"}},
		{"two values", "", `{"input": {"metrics": ["gmv_paid"]}} {}`, http.StatusBadRequest, CodeBadRequest, []string{"more than one JSON value"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := postArrow(t, srv, c.token, c.body)
			if got.status != c.status {
				t.Errorf("status %d, want %d", got.status, c.status)
			}
			wantError(t, gqlResponse{Errors: got.errors}, c.code, c.want...)
		})
	}

	// The same mistake over GraphQL gets the same code and words.
	gql := wantError(t, postAs(t, srv, "", `query($in: MetricQueryInput!) { query(input: $in) { rowCount } }`, map[string]any{"in": unknown}), CodeNotFound)
	if got := postArrow(t, srv, "", arrowBody(t, unknown)); len(got.errors) != 1 || got.errors[0].Message != gql.Message {
		t.Errorf("POST /arrow says %+v, GraphQL %q", got.errors, gql.Message)
	}

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/arrow", strings.NewReader(arrowBody(t, unknown)))
	req.Header.Set("Content-Type", "text/plain")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a body that is not JSON: %v, %v; want 415", res, err)
	} else {
		res.Body.Close()
	}

	required := server(t, fixture.demo, HandlerOptions{Authenticator: requiredAuthenticator(t)})
	got := postArrow(t, required, "", arrowBody(t, map[string]any{"metrics": []string{"order_count"}}))
	if got.status != http.StatusUnauthorized {
		t.Errorf("no credentials: status %d, want 401", got.status)
	}
	wantError(t, gqlResponse{Errors: got.errors}, CodeUnauthenticated)

	small := server(t, mustService(t, fixture.demo.Catalog(), engineWithMaxRows(100), semantic.ServiceOptions{}), HandlerOptions{})
	got = postArrow(t, small, "", arrowBody(t, map[string]any{"metrics": []string{"order_count"}, "dimensions": []string{"customers.name"}}))
	if got.status != http.StatusUnprocessableEntity {
		t.Errorf("a result over the server's maximum: status %d, want 422", got.status)
	}
	wantError(t, gqlResponse{Errors: got.errors}, CodeTooManyRows)
	waitNoLeak(t)
}

// TestArrowClientGoesAway reads the first bytes of a large stream and hangs up: the server stops
// writing, releases every batch of the result and leaves no goroutine behind.
func TestArrowClientGoesAway(t *testing.T) {
	srv := server(t, fixture.demo, HandlerOptions{})
	before := runtime.NumGoroutine()
	body := arrowBody(t, map[string]any{"metrics": []string{"gmv_placed", "order_count"}, "dimensions": []string{"customers.name", "orders.channel"}})
	for range 3 {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/arrow", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		client := &http.Client{Transport: &http.Transport{}}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(res.Body, make([]byte, 1024)); err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		client.CloseIdleConnections()
	}
	waitFor(t, func() bool { return fixture.queryMem.CurrentAlloc() == 0 && runtime.NumGoroutine() <= before }, func() string {
		buf := make([]byte, 1<<20)
		return fmt.Sprintf("%d bytes of query memory held and %d goroutines running, %d before:\n%s",
			fixture.queryMem.CurrentAlloc(), runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
	})
}

// waitNoLeak waits for the handler of a stream the client has read to the end to release the
// result, which it does once the last byte is written, after the client may have read it.
func waitNoLeak(t *testing.T) {
	t.Helper()
	waitFor(t, func() bool { return fixture.queryMem.CurrentAlloc() == 0 }, func() string {
		return fmt.Sprintf("%d bytes of query memory were not released", fixture.queryMem.CurrentAlloc())
	})
}

// waitFor waits up to five seconds for done, then fails with what why says.
func waitFor(t *testing.T, done func() bool, why func() string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !done(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal(why())
		}
	}
}

// engineWithMaxRows returns an engine over the fixture's data whose results may hold at most
// maxRows rows.
func engineWithMaxRows(maxRows int64) *engine.Engine {
	return engine.New(fixture.src, engine.Options{Allocator: fixture.queryMem, MaxRows: maxRows})
}

// brokenConnection is a response writer whose connection breaks once n bytes have gone through.
type brokenConnection struct {
	header  http.Header
	n       int
	flushes int
}

func (w *brokenConnection) Header() http.Header { return w.header }
func (w *brokenConnection) WriteHeader(int)     {}
func (w *brokenConnection) Flush()              { w.flushes++ }

func (w *brokenConnection) Write(p []byte) (int, error) {
	if len(p) > w.n {
		w.n = 0
		return 0, errors.New("connection reset by peer")
	}
	w.n -= len(p)
	return len(p), nil
}

// TestArrowConnectionBreaks streams a result of many small batches into a connection that breaks
// after a few of them: the handler stops at the failed write, cuts the response off (so that
// the client never sees an end marker) and releases the result before it returns.
func TestArrowConnectionBreaks(t *testing.T) {
	eng := engine.New(fixture.src, engine.Options{Allocator: fixture.queryMem, BatchRows: 64})
	h := NewHandler(mustService(t, fixture.demo.Catalog(), eng, semantic.ServiceOptions{}),
		HandlerOptions{Logger: quietLogger(), Authenticator: demoAuthenticator(t, fixture.demo)})
	body := arrowBody(t, map[string]any{"metrics": []string{"gmv_placed"}, "dimensions": []string{"customers.name"}})
	serve := func(w *brokenConnection) (aborted bool) {
		req := httptest.NewRequest(http.MethodPost, "/arrow", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		defer func() {
			v := recover()
			if v != nil && v != http.ErrAbortHandler {
				panic(v)
			}
			aborted = v != nil
		}()
		h.ServeHTTP(w, req)
		return false
	}
	whole := &brokenConnection{header: http.Header{}, n: 1 << 30}
	if serve(whole) || whole.flushes < 4 {
		t.Fatalf("the whole stream went out in %d flushes; want it to go batch by batch", whole.flushes)
	}
	checkNoLeak(t)
	half := &brokenConnection{header: http.Header{}, n: (1<<30 - whole.n) / 2}
	if !serve(half) {
		t.Error("a connection that broke halfway got the whole stream, or a stream that looks whole")
	}
	if half.flushes == 0 || half.flushes >= whole.flushes {
		t.Errorf("%d of %d batches went out before the connection broke halfway", half.flushes, whole.flushes)
	}
	checkNoLeak(t)
}
