package resolvers

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/semantic"
)

// exportDefinitions read the demo's orders with each order as a dimension, so that a query by
// order yields one row per order: a million rows at scale 1, the server's default maximum.
const exportDefinitions = `
models:
  - name: orders
    source: {connection: demo, table: orders}
    primary_key: order_id
    dimensions:
      - name: order_id
        type: number
      - name: region
        type: string
      - name: created_at
        type: time
    measures:
      - name: amount_total
        agg: sum
        expr: amount
metrics:
  - name: gmv
    unit: CNY
    format: currency
    measure: orders.amount_total
`

// exportQuery asks for every order's GMV with its id, region and time: integer, text (kept as a
// dictionary by the engine, sent as plain text), timestamp and decimal columns.
const exportQuery = `{"input": {"metrics": ["gmv"], "dimensions": ["orders.order_id", "orders.region", "orders.created_at"],
  "orderBy": [{"field": "orders.order_id"}]}}`

// exportServer serves exportDefinitions over the demo data at scale 1 to anyone (demo mode, one
// rule allowing everything), with the engine's result cache on when cached.
func exportServer(b *testing.B, cached bool) *httptest.Server {
	b.Helper()
	ctx := context.Background()
	mem := memory.NewGoAllocator()
	src := engine.NewSources(mem)
	b.Cleanup(src.Close)
	ds, err := demodata.Generate(ctx, mem, 1)
	if err != nil {
		b.Fatal(err)
	}
	src.SetDemo(ds)
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "orders.yaml"), []byte(exportDefinitions), 0o644); err != nil {
		b.Fatal(err)
	}
	cat, err := semantic.LoadDir(ctx, dir, semantic.SourcesResolver(src))
	if err != nil {
		b.Fatal(err)
	}
	policy, err := authz.ParsePolicyFile("policy.csv", []byte("p, analyst, demo, *, *, allow\n"))
	if err != nil {
		b.Fatal(err)
	}
	a, err := authz.NewAuthorizer(ctx, authz.NewMemoryStore(policy), authz.AuthorizerOptions{Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	opts := engine.Options{Allocator: mem}
	if cached {
		// The cache counts each batch's buffers whole, and the sorted result's batches are slices
		// of one set of buffers: the million rows count as 16 times their size.
		opts.Cache = engine.CacheOptions{MaxBytes: 4 << 30, MaxEntryBytes: 4 << 30}
	}
	eng := engine.New(src, opts)
	b.Cleanup(eng.Close)
	svc := semantic.NewService(cat, eng, semantic.ServiceOptions{Authorizer: a})
	demoCopy := demoUser
	authn, err := authz.NewAuthenticator(authz.AuthenticatorOptions{Demo: &demoCopy})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler(svc, HandlerOptions{Logger: quietLogger(), Authenticator: authn}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkArrowExport exports a million-row result over POST /arrow and reports rows per second:
// "cached" serves the computed result from the engine's cache, so it times the export alone
// (encoding, HTTP over loopback, the client reading every byte); "decoded" adds decoding the
// stream with arrow-go's reader; "computed" runs the whole query every time, grouping a million
// orders. Run it with
//
//	go test ./resolvers -run X -bench ArrowExport -benchtime 20x
func BenchmarkArrowExport(b *testing.B) {
	cases := []struct {
		name           string
		cached, decode bool
	}{
		{"cached", true, false},
		{"decoded", true, true},
		{"computed", false, false},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			srv := exportServer(b, c.cached)
			if c.cached {
				exportOnce(b, srv, false)
			}
			b.ReportAllocs()
			b.ResetTimer()
			var rows, bytes int64
			for b.Loop() {
				r, n := exportOnce(b, srv, c.decode)
				rows, bytes = rows+r, bytes+n
			}
			b.SetBytes(bytes / int64(b.N))
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// exportOnce asks exportQuery and reads the whole stream, decoding it when decode is set; it
// returns the rows and bytes received.
func exportOnce(b *testing.B, srv *httptest.Server, decode bool) (rows, size int64) {
	res := postJSON(b, srv.URL+"/arrow", "", []byte(exportQuery))
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(res.Body)
		b.Fatalf("status %d: %s", res.StatusCode, msg)
	}
	counted := &byteCounter{r: res.Body}
	if !decode {
		if _, err := io.Copy(io.Discard, counted); err != nil {
			b.Fatal(err)
		}
		return 1_000_000, counted.n
	}
	rd, err := ipc.NewReader(counted)
	if err != nil {
		b.Fatal(err)
	}
	defer rd.Release()
	for rd.Next() {
		rows += rd.RecordBatch().NumRows()
	}
	if err := rd.Err(); err != nil {
		b.Fatal(err)
	}
	if rows != 1_000_000 {
		b.Fatalf("%d rows, want a million", rows)
	}
	return rows, counted.n
}

// byteCounter counts the bytes read through it.
type byteCounter struct {
	r io.Reader
	n int64
}

func (c *byteCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
