package resolvers

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/engine/pgtest"
	"github.com/koujing/koujing/engine/postgres"
	"github.com/koujing/koujing/semantic"
)

// BenchmarkPushdownOverhead times one question whose whole plan the warehouse runs, over the
// demo at scale 0.1 in PostgreSQL: through the GraphQL API over HTTP ("graphql"), and as the very
// statement Koujing sends, run directly with pgx and read to the end ("pgx"). The difference is
// what Koujing adds: parsing, compiling, sending, reading into Arrow and encoding JSON.
func BenchmarkPushdownOverhead(b *testing.B) {
	pool := pgtest.Connect(b)
	ctx := context.Background()
	ds, err := demodata.Generate(ctx, memory.NewGoAllocator(), 0.1)
	if err != nil {
		b.Fatal(err)
	}
	schema := pgtest.LoadDemo(b, pool, ds)
	ds.Release()
	cat, src := warehouseCatalog(b, schema, pgtest.URL(), 0)
	svc := mustService(b, cat, engine.New(src, engine.Options{}), semantic.ServiceOptions{})
	srv := server(b, svc, HandlerOptions{})

	q := semantic.MetricQuery{Metrics: []string{"gmv_paid", "aov"}, Dimensions: []string{"customers.city"}}
	cq, err := svc.Compile(cat.FullAccess(), q)
	if err != nil {
		b.Fatal(err)
	}
	stmt, err := postgres.BuildSQL(cq.Plan)
	if err != nil {
		b.Fatal(err)
	}
	args := make([]any, len(stmt.Params))
	for i, p := range stmt.Params {
		args[i] = p.Value
	}
	body, err := json.Marshal(map[string]any{
		"query": `{ query(input: {metrics: ["gmv_paid", "aov"], dimensions: ["customers.city"]}) { rowCount rows } }`,
	})
	if err != nil {
		b.Fatal(err)
	}

	b.Run("graphql", func(b *testing.B) {
		for b.Loop() {
			res, err := http.Post(srv.URL+"/graphql", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			out, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil || res.StatusCode != http.StatusOK || bytes.Contains(out, []byte(`"errors"`)) {
				b.Fatalf("%d %s %v", res.StatusCode, out, err)
			}
		}
	})
	// pgx runs it as Koujing does, unprepared (a plan made for these values every time), and with
	// its default statement cache (prepared once; PostgreSQL may then use a generic plan).
	for name, mode := range map[string]pgx.QueryExecMode{"pgx": pgx.QueryExecModeExec, "pgx-prepared": pgx.QueryExecModeCacheStatement} {
		benchmarkPgx(b, name, pool, stmt.SQL, append([]any{mode}, args...))
	}
}

func benchmarkPgx(b *testing.B, name string, pool *pgxpool.Pool, sql string, args []any) {
	ctx := context.Background()
	b.Run(name, func(b *testing.B) {
		for b.Loop() {
			rows, err := pool.Query(ctx, sql, args...)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for rows.Next() {
				if _, err := rows.Values(); err != nil {
					b.Fatal(err)
				}
				n++
			}
			if rows.Err() != nil || n == 0 || n > 1000 {
				b.Fatalf("%d rows, %v", n, rows.Err())
			}
		}
	})
}
