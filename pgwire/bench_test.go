package pgwire

import (
	"context"
	"net"
	"sort"
	"testing"
	"time"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/semantic"
)

// BenchmarkCachedRoundTrip times the SQL round trip, over loopback with pgx, of a 10-row result
// that the engine's result cache holds, as koujing serve runs with its cache on: the statement
// is prepared once, then each iteration binds, translates, compiles, finds the cached result
// and sends its rows. It reports the median and 99th percentile of the round trips.
//
//	go test ./pgwire -run X -bench CachedRoundTrip -benchtime 5000x
func BenchmarkCachedRoundTrip(b *testing.B) {
	ctx := context.Background()
	eng := engine.New(fixture.src, engine.Options{Cache: engine.CacheOptions{MaxBytes: 64 << 20}})
	defer eng.Close()
	svc := semantic.NewService(fixture.cat, eng, semantic.ServiceOptions{Authorizer: fixture.authz})
	srv := New(svc, Options{Authenticator: demoAuthenticator(b), Logger: quietLogger()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	defer func() {
		srv.Shutdown(ctx)
		<-done
	}()
	conn := connect(b, ln.Addr().String(), "demo", "demo")
	const sql = `SELECT orders.region, customers.segment, gmv_paid, aov FROM sales.orders WHERE channel = $1 GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 10`
	run := func() int {
		rows, err := conn.Query(ctx, sql, "app")
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		return n
	}
	if n := run(); n != 10 {
		b.Fatalf("%d rows, want 10", n)
	}
	times := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		run()
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(float64(times[len(times)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "p99-µs")
}
