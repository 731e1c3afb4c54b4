package engine

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"

	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/engine/pgtest"
	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/engine/postgres"
)

// paidGMVByCityAndMonth is the plan the compiler makes of "paid GMV by customer city and month in
// Shanghai, best first", with a caller's row filters on orders and customers added to their scans
// as policy adds them; a nil filter is none.
func paidGMVByCityAndMonth(orderRegion, customerRegion *plan.Literal) plan.Node {
	ordersSchema, _ := demodata.Schema(demodata.Orders)
	customersSchema, _ := demodata.Schema(demodata.Customers)
	o := mustBuild(plan.NewScan(DemoSource, demodata.Orders, "orders", ordersSchema, []string{"amount", "created_at", "customer_id", "region", "status"}, nil))
	where := []plan.Expr{mustBuild(plan.NewIn(colOf(o, "orders.status"), []*plan.Literal{strLit("paid"), strLit("shipped"), strLit("completed")}, false))}
	if orderRegion != nil {
		where = append(where, mustBuild(plan.NewBinary(plan.Eq, colOf(o, "orders.region"), orderRegion)))
	}
	o = mustBuild(o.WithFilter(mustBuild(plan.AndAll(where))))
	c := mustBuild(plan.NewScan(DemoSource, demodata.Customers, "customers", customersSchema, []string{"city", "customer_id", "region"}, nil))
	if customerRegion != nil {
		c = mustBuild(c.WithFilter(mustBuild(plan.NewIn(colOf(c, "customers.region"), []*plan.Literal{customerRegion}, false))))
	}
	j := mustBuild(plan.NewJoin(plan.LeftJoin, o, c, []plan.Expr{colOf(o, "orders.customer_id")}, []plan.Expr{colOf(c, "customers.customer_id")}, false))
	month := mustBuild(plan.NewTimeTrunc(colOf(j, "orders.created_at"), plan.Month, mustBuild(time.LoadLocation("Asia/Shanghai"))))
	agg := mustBuild(plan.NewAggregate(j, []plan.Named{{Name: "customers.city", Expr: colOf(j, "customers.city")}, {Name: "orders.created_at.month", Expr: month}},
		[]plan.AggExpr{aggExpr("gmv_paid", plan.Sum, colOf(j, "orders.amount"), nil)}))
	sorted := mustBuild(plan.NewSort(agg, []plan.SortKey{{Expr: colOf(agg, "gmv_paid"), Desc: true}, {Expr: colOf(agg, "customers.city")}, {Expr: colOf(agg, "orders.created_at.month")}}))
	return mustBuild(plan.NewLimit(sorted, 0, 200))
}

// TestCacheKeepsCallersApartOnTheDemo runs, over the demo dataset, the same query as callers
// whose row filters differ only in a literal, concurrently and repeatedly: each caller always
// gets the rows an engine without a cache computes for its own filter.
func TestCacheKeepsCallersApartOnTheDemo(t *testing.T) {
	dataMem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer dataMem.AssertSize(t, 0)
	ds, err := demodata.Generate(context.Background(), dataMem, 0.005)
	if err != nil {
		t.Fatal(err)
	}
	src := NewSources(dataMem)
	defer src.Close()
	src.SetDemo(ds)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	callers := []struct {
		name string
		root plan.Node
	}{
		{"everything", paidGMVByCityAndMonth(nil, nil)},
		{"orders in east", paidGMVByCityAndMonth(strLit("east"), nil)},
		{"orders in west", paidGMVByCityAndMonth(strLit("west"), nil)},
		{"orders in 'east '", paidGMVByCityAndMonth(strLit("east "), nil)},
		{"orders in East", paidGMVByCityAndMonth(strLit("East"), nil)},
		{"customers in east", paidGMVByCityAndMonth(nil, strLit("east"))},
		{"orders and customers in east", paidGMVByCityAndMonth(strLit("east"), strLit("east"))},
		{"orders in east, customers in west", paidGMVByCityAndMonth(strLit("east"), strLit("west"))},
	}
	uncached := New(src, Options{Allocator: mem, Parallelism: 1})
	want := map[string][]string{}
	for _, c := range callers {
		want[c.name] = executeCached(t, uncached, c.root, false)
	}
	if len(want["orders in east"]) == 0 || slices.Equal(want["orders in east"], want["orders in west"]) || len(want["orders in 'east '"]) != 0 {
		t.Fatalf("the demo does not tell the callers apart: %d rows for east, %d for west, %d for 'east '",
			len(want["orders in east"]), len(want["orders in west"]), len(want["orders in 'east '"]))
	}

	e := New(src, Options{Allocator: mem, Parallelism: 4, Cache: CacheOptions{MaxBytes: 64 << 20}})
	defer e.Close()
	const rounds = 4
	var wg sync.WaitGroup
	errs := make(chan error, rounds*len(callers))
	for round := range rounds {
		for _, c := range callers {
			wg.Go(func() {
				res, err := e.Execute(context.Background(), c.root)
				if err != nil {
					errs <- fmt.Errorf("%s, round %d: %w", c.name, round, err)
					return
				}
				defer res.Release()
				if got := resultRowsText(res); !slices.Equal(got, want[c.name]) {
					errs <- fmt.Errorf("%s, round %d (cached %v): got %d rows %.200q…, want %d rows %.200q…",
						c.name, round, res.Cached, len(got), got, len(want[c.name]), want[c.name])
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s := e.CacheStats()
	if s.Misses != int64(len(callers)) || s.Entries != len(callers) || s.Hits+s.Shared != int64((rounds-1)*len(callers)) {
		t.Errorf("stats %+v, want one run and one entry per caller (%d), the rest served from them", s, len(callers))
	}
}

// TestCacheWarehouseResultsExpire changes a warehouse table under a kept result: the result is
// served until its TTL has passed, and then the query runs again and sees the change. A result
// for another row filter is never the kept one.
func TestCacheWarehouseResultsExpire(t *testing.T) {
	pool := pgtest.Connect(t)
	schema := pgtest.NewSchema(t, pool)
	ctx := context.Background()
	table := schema + ".sales"
	quoted := pgx.Identifier{schema, "sales"}.Sanitize()
	exec := func(sql string) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	exec("CREATE TABLE " + quoted + " (region text NOT NULL, amount bigint NOT NULL)")
	exec("INSERT INTO " + quoted + " VALUES ('east', 10), ('east', 5), ('west', 7)")

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	src := NewSources(mem)
	defer src.Close()
	if err := src.OpenWarehouse(ctx, postgres.ConnectionConfig{Name: "wh", URL: pool.Config().ConnString(), PoolSize: 2}); err != nil {
		t.Fatal(err)
	}
	sales, err := src.TableSchema(ctx, "wh", table)
	if err != nil {
		t.Fatal(err)
	}
	gmvOf := func(region string) plan.Node {
		s := mustBuild(plan.NewScan("wh", table, "sales", sales, []string{"region", "amount"}, nil))
		s = mustBuild(s.WithFilter(mustBuild(plan.NewBinary(plan.Eq, colOf(s, "sales.region"), strLit(region)))))
		return mustBuild(plan.NewAggregate(s, []plan.Named{{Name: "region", Expr: colOf(s, "sales.region")}},
			[]plan.AggExpr{aggExpr("gmv", plan.Sum, colOf(s, "sales.amount"), nil)}))
	}
	const ttl = time.Minute
	clock := &fakeClock{now: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)}
	cached := New(src, Options{Allocator: mem, Cache: CacheOptions{MaxBytes: 1 << 20, TTL: ttl, Now: clock.Now}})
	defer cached.Close()
	noTTL := New(src, Options{Allocator: mem, Cache: CacheOptions{MaxBytes: 1 << 20, Now: clock.Now}})
	defer noTTL.Close()

	steps := []struct {
		name   string
		do     func()
		engine *Engine
		region string
		cached bool
		want   string
	}{
		{"first run", nil, cached, "east", false, "east|15"},
		{"kept", nil, cached, "east", true, "east|15"},
		{"another row filter", nil, cached, "west", false, "west|7"},
		{"changed, within the TTL", func() { exec("UPDATE " + quoted + " SET amount = 20 WHERE amount = 10") }, cached, "east", true, "east|15"},
		{"just before the TTL", func() { clock.Advance(ttl - time.Second) }, cached, "east", true, "east|15"},
		{"at the TTL", func() { clock.Advance(time.Second) }, cached, "east", false, "east|25"},
		{"kept again", nil, cached, "east", true, "east|25"},
		{"without a TTL", nil, noTTL, "east", false, "east|25"},
		{"without a TTL, changed", func() { exec("UPDATE " + quoted + " SET amount = 1 WHERE amount = 5") }, noTTL, "east", false, "east|21"},
	}
	for _, s := range steps {
		if s.do != nil {
			s.do()
		}
		got := executeCached(t, s.engine, gmvOf(s.region), s.cached)
		if !slices.Equal(got, []string{s.want}) {
			t.Errorf("%s: got %q, want %q", s.name, got, s.want)
		}
	}
	if st := noTTL.CacheStats(); st.Entries != 0 {
		t.Errorf("without a TTL the cache keeps %d warehouse results", st.Entries)
	}
}

// BenchmarkFingerprint times the fingerprint of a plan as the compiler makes it, with row filters.
func BenchmarkFingerprint(b *testing.B) {
	root := paidGMVByCityAndMonth(strLit("east"), strLit("east"))
	key, err := plan.Fingerprint(root)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(key)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := plan.Fingerprint(root); err != nil {
			b.Fatal(err)
		}
	}
}
