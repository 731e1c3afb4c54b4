package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/exec"
	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/engine/postgres"
	"github.com/koujing/koujing/engine/source"
)

var dictOfStrings = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

func nullableSchema(nameTypes ...any) *arrow.Schema {
	var fields []arrow.Field
	for i := 0; i < len(nameTypes); i += 2 {
		fields = append(fields, arrow.Field{Name: nameTypes[i].(string), Type: nameTypes[i+1].(arrow.DataType), Nullable: true})
	}
	return arrow.NewSchema(fields, nil)
}

var (
	ordersSchema = nullableSchema("order_id", plan.Int64, "customer_id", plan.Int64, "region", dictOfStrings, "status", plan.String,
		"amount", plan.Decimal(12, 2), "ts", plan.Timestamp("UTC"))
	customersSchema = nullableSchema("id", plan.Int64, "segment", plan.String, "city", dictOfStrings)
)

// The orders are split into batches of 3, 3, 2 and 2 rows; customers into 2 and 3.
var ordersRows = []string{`[
{"order_id":1, "customer_id":10,  "region":"east", "status":"paid",      "amount":"100.00","ts":"2024-01-05T10:00:00Z"},
{"order_id":2, "customer_id":11,  "region":"east", "status":"placed",    "amount":"50.00", "ts":"2024-01-20T10:00:00Z"},
{"order_id":3, "customer_id":10,  "region":"west", "status":"shipped",   "amount":"20.50", "ts":"2024-02-01T01:00:00Z"}]`, `[
{"order_id":4, "customer_id":12,  "region":"west", "status":"paid",      "amount":"5.25",  "ts":"2024-02-10T10:00:00Z"},
{"order_id":5, "customer_id":null,"region":"east", "status":"paid",      "amount":"10.00", "ts":"2024-02-11T10:00:00Z"},
{"order_id":6, "customer_id":13,  "region":null,   "status":"paid",      "amount":"7.00",  "ts":"2024-03-01T10:00:00Z"}]`, `[
{"order_id":7, "customer_id":11,  "region":"north","status":"cancelled", "amount":"99.99", "ts":"2024-03-02T10:00:00Z"},
{"order_id":8, "customer_id":14,  "region":"east", "status":"shipped",   "amount":null,    "ts":"2024-03-03T10:00:00Z"}]`, `[
{"order_id":9, "customer_id":10,  "region":"west", "status":"paid",      "amount":"1.00",  "ts":"2024-03-04T10:00:00Z"},
{"order_id":10,"customer_id":12,  "region":null,   "status":"placed",    "amount":"3.00",  "ts":null}]`,
}

var customersRows = []string{`[
{"id":10,"segment":"retail",   "city":"shanghai"},
{"id":11,"segment":"retail",   "city":"beijing"}]`, `[
{"id":12,"segment":"wholesale","city":"shanghai"},
{"id":13,"segment":null,       "city":null},
{"id":15,"segment":"wholesale","city":"shenzhen"}]`,
}

// tableMap is a TableResolver over in-memory tables, named source:table.
type tableMap map[string]*source.Table

// Warehouse reports that the test tables are all in memory.
func (ts tableMap) Warehouse(string) (*postgres.Connection, bool) { return nil, false }

func (ts tableMap) Table(src, name string) (*source.Table, error) {
	t, ok := ts[src+":"+name]
	if !ok {
		return nil, fmt.Errorf("no table %s:%s", src, name)
	}
	return t, nil
}

func (ts tableMap) release() {
	for _, t := range ts {
		t.Release()
	}
}

func tableOf(t testing.TB, mem memory.Allocator, name string, schema *arrow.Schema, rows []string) *source.Table {
	t.Helper()
	var batches []arrow.RecordBatch
	for _, r := range rows {
		rec, _, err := array.RecordFromJSON(mem, schema, strings.NewReader(r))
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, rec)
	}
	tbl, err := source.NewTable(name, schema, batches)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		b.Release()
	}
	return tbl
}

func demoTables(t testing.TB, mem memory.Allocator) tableMap {
	return tableMap{
		"demo:orders":    tableOf(t, mem, "orders", ordersSchema, ordersRows),
		"demo:customers": tableOf(t, mem, "customers", customersSchema, customersRows),
	}
}

// mustBuild panics on a constructor error: a plan the tests cannot build is a bug in the test.
func mustBuild[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func colOf(n plan.Node, name string) plan.Expr { return mustBuild(plan.ColumnOf(n.Schema(), name)) }

func strLit(v string) *plan.Literal { return mustBuild(plan.NewLiteral(v, plan.String)) }

func scanOrders(filter func(*plan.Scan) plan.Expr) *plan.Scan {
	s := mustBuild(plan.NewScan("demo", "orders", "o", ordersSchema, []string{"order_id", "customer_id", "region", "status", "amount", "ts"}, nil))
	if filter != nil {
		s = mustBuild(s.WithFilter(filter(s)))
	}
	return s
}

func scanCustomers() *plan.Scan {
	return mustBuild(plan.NewScan("demo", "customers", "c", customersSchema, []string{"id", "segment", "city"}, nil))
}

func aggExpr(name string, fn plan.AggFunc, arg, filter plan.Expr) plan.AggExpr {
	return mustBuild(plan.NewAggExpr(name, fn, arg, filter))
}

// cellText formats row i of a column: NULL, numbers, decimals at their scale, strings, times in
// their zone.
func cellText(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "NULL"
	}
	switch x := a.(type) {
	case *array.Int64:
		return strconv.FormatInt(x.Value(i), 10)
	case *array.Float64:
		return strconv.FormatFloat(x.Value(i), 'g', -1, 64)
	case *array.Decimal128:
		return x.Value(i).ToString(x.DataType().(*arrow.Decimal128Type).Scale)
	case *array.String:
		return x.Value(i)
	case *array.Dictionary:
		return cellText(x.Dictionary(), x.GetValueIndex(i))
	case *array.Timestamp:
		loc, _ := x.DataType().(*arrow.TimestampType).GetZone()
		return time.UnixMicro(int64(x.Value(i))).In(loc).Format(time.RFC3339)
	}
	return a.ValueStr(i)
}

func resultRowsText(res *Result) []string {
	var out []string
	for _, b := range res.Batches {
		for i := 0; i < int(b.NumRows()); i++ {
			parts := make([]string, b.NumCols())
			for c := range parts {
				parts[c] = cellText(b.Column(c), i)
			}
			out = append(out, strings.Join(parts, "|"))
		}
	}
	return out
}

// executeRows runs root and returns its rows, checking the result's schema, row count and batch
// sizes.
func executeRows(t testing.TB, e *Engine, root plan.Node) ([]string, error) {
	t.Helper()
	res, err := e.Execute(context.Background(), root)
	if err != nil {
		return nil, err
	}
	defer res.Release()
	if !res.Schema.Equal(root.Schema()) {
		t.Fatalf("result schema %s, plan says %s", res.Schema, root.Schema())
	}
	rows := resultRowsText(res)
	if int64(len(rows)) != res.Rows {
		t.Fatalf("Rows = %d, batches hold %d", res.Rows, len(rows))
	}
	// Operators that build their batches keep to BatchRows; scans pass the table's on.
	switch root.(type) {
	case *plan.Aggregate, *plan.Join, *plan.Sort:
		for _, b := range res.Batches {
			if max := e.opts.BatchRows; max > 0 && b.NumRows() > int64(max) {
				t.Fatalf("batch of %d rows, BatchRows is %d", b.NumRows(), max)
			}
		}
	}
	return rows, nil
}

// demoQuery is a plan over the demo tables and its answer; ordered says whether the answer's
// order is part of it.
type demoQuery struct {
	name    string
	plan    func() plan.Node
	want    []string
	ordered bool
}

// check runs root, q's plan, on e and says how its answer differs from q's, if it does.
func (q demoQuery) check(e *Engine, root plan.Node) error {
	res, err := e.Execute(context.Background(), root)
	if err != nil {
		return fmt.Errorf("%s: %w", q.name, err)
	}
	got := resultRowsText(res)
	res.Release()
	if !q.ordered {
		got = slices.Sorted(slices.Values(got))
	}
	if !slices.Equal(got, q.want) {
		return fmt.Errorf("%s: got %q, want %q", q.name, got, q.want)
	}
	return nil
}

func demoQueries() []demoQuery {
	shanghai := mustBuild(time.LoadLocation("Asia/Shanghai"))
	return []demoQuery{
		{"scan, filter, aggregate", func() plan.Node {
			o := scanOrders(nil)
			f := mustBuild(plan.NewFilter(o, mustBuild(plan.NewIn(colOf(o, "o.status"), []*plan.Literal{strLit("paid"), strLit("shipped")}, false))))
			return mustBuild(plan.NewAggregate(f, []plan.Named{{Name: "region", Expr: colOf(f, "o.region")}}, []plan.AggExpr{
				aggExpr("gmv", plan.Sum, colOf(f, "o.amount"), nil),
				aggExpr("orders", plan.Count, nil, nil),
				aggExpr("customers", plan.CountDistinct, colOf(f, "o.customer_id"), nil),
			}))
		}, []string{"NULL|7.00|1|1", "east|110.00|3|2", "west|26.75|3|2"}, false},

		{"filter pushed into the scan", func() plan.Node {
			o := scanOrders(func(s *plan.Scan) plan.Expr {
				return mustBuild(plan.NewIn(colOf(s, "o.status"), []*plan.Literal{strLit("paid"), strLit("shipped")}, false))
			})
			return mustBuild(plan.NewAggregate(o, []plan.Named{{Name: "region", Expr: colOf(o, "o.region")}}, []plan.AggExpr{
				aggExpr("gmv", plan.Sum, colOf(o, "o.amount"), nil),
			}))
		}, []string{"NULL|7.00", "east|110.00", "west|26.75"}, false},

		{"left join, aggregate", func() plan.Node {
			o, c := scanOrders(nil), scanCustomers()
			j := mustBuild(plan.NewJoin(plan.LeftJoin, o, c, []plan.Expr{colOf(o, "o.customer_id")}, []plan.Expr{colOf(c, "c.id")}, false))
			return mustBuild(plan.NewAggregate(j, []plan.Named{{Name: "segment", Expr: colOf(j, "c.segment")}}, []plan.AggExpr{
				aggExpr("gmv", plan.Sum, colOf(j, "o.amount"), nil),
				aggExpr("orders", plan.Count, nil, nil),
			}))
		}, []string{"NULL|17.00|3", "retail|271.49|5", "wholesale|8.25|2"}, false},

		{"filtered probe of a join under an aggregate", func() plan.Node {
			// The probe's filter becomes the join's selection; every pipeline must still share
			// one scan of orders, or each would count every paid order again.
			o := scanOrders(func(s *plan.Scan) plan.Expr {
				return mustBuild(plan.NewBinary(plan.Eq, colOf(s, "o.status"), strLit("paid")))
			})
			c := scanCustomers()
			j := mustBuild(plan.NewJoin(plan.LeftJoin, o, c, []plan.Expr{colOf(o, "o.customer_id")}, []plan.Expr{colOf(c, "c.id")}, false))
			return mustBuild(plan.NewAggregate(j, []plan.Named{{Name: "segment", Expr: colOf(j, "c.segment")}}, []plan.AggExpr{
				aggExpr("gmv", plan.Sum, colOf(j, "o.amount"), nil),
				aggExpr("orders", plan.Count, nil, nil),
			}))
		}, []string{"NULL|17.00|2", "retail|101.00|2", "wholesale|5.25|1"}, false},

		{"filter node over a join's probe", func() plan.Node {
			o, c := scanOrders(nil), scanCustomers()
			f := mustBuild(plan.NewFilter(o, mustBuild(plan.NewBinary(plan.Eq, colOf(o, "o.status"), strLit("paid")))))
			j := mustBuild(plan.NewJoin(plan.InnerJoin, f, c, []plan.Expr{colOf(f, "o.customer_id")}, []plan.Expr{colOf(c, "c.id")}, false))
			return mustBuild(plan.NewAggregate(j, []plan.Named{{Name: "city", Expr: colOf(j, "c.city")}}, []plan.AggExpr{
				aggExpr("buyers", plan.CountDistinct, colOf(j, "o.customer_id"), nil),
			}))
		}, []string{"NULL|1", "shanghai|2"}, false},

		{"inner join, aggregate by dictionary", func() plan.Node {
			o, c := scanOrders(nil), scanCustomers()
			j := mustBuild(plan.NewJoin(plan.InnerJoin, o, c, []plan.Expr{colOf(o, "o.customer_id")}, []plan.Expr{colOf(c, "c.id")}, false))
			return mustBuild(plan.NewAggregate(j, []plan.Named{{Name: "city", Expr: colOf(j, "c.city")}}, []plan.AggExpr{
				aggExpr("gmv", plan.Sum, colOf(j, "o.amount"), nil),
			}))
		}, []string{"NULL|7.00", "beijing|149.99", "shanghai|129.75"}, false},

		{"full join, aggregate", func() plan.Node {
			o, c := scanOrders(nil), scanCustomers()
			j := mustBuild(plan.NewJoin(plan.FullJoin, o, c, []plan.Expr{colOf(o, "o.customer_id")}, []plan.Expr{colOf(c, "c.id")}, false))
			return mustBuild(plan.NewAggregate(j, []plan.Named{{Name: "customer", Expr: colOf(j, "c.id")}}, []plan.AggExpr{
				aggExpr("orders", plan.Count, colOf(j, "o.order_id"), nil),
			}))
		}, []string{"10|3", "11|2", "12|2", "13|1", "15|0", "NULL|2"}, false},

		{"month in Shanghai", func() plan.Node {
			o := scanOrders(nil)
			month := mustBuild(plan.NewTimeTrunc(colOf(o, "o.ts"), plan.Month, shanghai))
			return mustBuild(plan.NewAggregate(o, []plan.Named{{Name: "month", Expr: month}}, []plan.AggExpr{
				aggExpr("orders", plan.Count, nil, nil),
			}))
		}, []string{"2024-01-01T00:00:00+08:00|2", "2024-02-01T00:00:00+08:00|3", "2024-03-01T00:00:00+08:00|4", "NULL|1"}, false},

		{"top customers: limit over sort", func() plan.Node {
			o := scanOrders(nil)
			a := mustBuild(plan.NewAggregate(o, []plan.Named{{Name: "customer", Expr: colOf(o, "o.customer_id")}}, []plan.AggExpr{
				aggExpr("total", plan.Sum, colOf(o, "o.amount"), nil),
			}))
			s := mustBuild(plan.NewSort(a, []plan.SortKey{{Expr: colOf(a, "total"), Desc: true}, {Expr: colOf(a, "customer")}}))
			return mustBuild(plan.NewLimit(s, 1, 2))
		}, []string{"10|121.50", "NULL|10.00"}, true},

		{"sort without limit count", func() plan.Node {
			o := scanOrders(nil)
			s := mustBuild(plan.NewSort(o, []plan.SortKey{{Expr: colOf(o, "o.amount"), NullsFirst: true}}))
			p := mustBuild(plan.NewProject(s, []plan.Named{{Name: "id", Expr: colOf(s, "o.order_id")}}))
			return mustBuild(plan.NewLimit(p, 7, -1))
		}, []string{"2", "7", "1"}, true},

		{"limit without sort", func() plan.Node {
			o := scanOrders(nil)
			p := mustBuild(plan.NewProject(o, []plan.Named{{Name: "id", Expr: colOf(o, "o.order_id")}}))
			return mustBuild(plan.NewLimit(p, 2, 5))
		}, []string{"3", "4", "5", "6", "7"}, true},

		{"aggregate of an aggregate", func() plan.Node {
			o := scanOrders(nil)
			inner := mustBuild(plan.NewAggregate(o, []plan.Named{{Name: "customer", Expr: colOf(o, "o.customer_id")}}, []plan.AggExpr{
				aggExpr("total", plan.Sum, colOf(o, "o.amount"), nil),
			}))
			return mustBuild(plan.NewAggregate(inner, nil, []plan.AggExpr{
				aggExpr("customers", plan.Count, nil, nil),
				aggExpr("biggest", plan.Max, colOf(inner, "total"), nil),
				aggExpr("spent", plan.Count, colOf(inner, "total"), nil),
			}))
		}, []string{"6|149.99|5"}, false},

		// Sort yields slices of its sorted batch, so these inputs start at offsets.
		{"aggregate over a limited sort", func() plan.Node {
			o := scanOrders(nil)
			s := mustBuild(plan.NewSort(o, []plan.SortKey{{Expr: colOf(o, "o.order_id")}}))
			l := mustBuild(plan.NewLimit(s, 1, 8))
			paid := mustBuild(plan.NewBinary(plan.Eq, colOf(l, "o.status"), strLit("paid")))
			return mustBuild(plan.NewAggregate(l, []plan.Named{{Name: "region", Expr: colOf(l, "o.region")}}, []plan.AggExpr{
				aggExpr("gmv", plan.Sum, colOf(l, "o.amount"), nil),
				aggExpr("orders", plan.Count, nil, nil),
				aggExpr("paid_gmv", plan.Sum, colOf(l, "o.amount"), paid),
			}))
		}, []string{"NULL|7.00|1|7.00", "east|60.00|3|10.00", "north|99.99|1|NULL", "west|26.75|3|6.25"}, false},

		{"join probing a limited sort", func() plan.Node {
			o, c := scanOrders(nil), scanCustomers()
			s := mustBuild(plan.NewSort(o, []plan.SortKey{{Expr: colOf(o, "o.order_id"), Desc: true}}))
			l := mustBuild(plan.NewLimit(s, 0, 5))
			j := mustBuild(plan.NewJoin(plan.InnerJoin, l, c, []plan.Expr{colOf(l, "o.customer_id")}, []plan.Expr{colOf(c, "c.id")}, false))
			f := mustBuild(plan.NewFilter(j, mustBuild(plan.NewContains(colOf(j, "c.city"), "SH", true))))
			return mustBuild(plan.NewProject(f, []plan.Named{{Name: "id", Expr: colOf(f, "o.order_id")}, {Name: "city", Expr: colOf(f, "c.city")}}))
		}, []string{"7|beijing"}, false},

		{"metrics merged with a null-safe full join", func() plan.Node {
			o1 := scanOrders(nil)
			gmv := mustBuild(plan.NewAggregate(o1, []plan.Named{{Name: "region", Expr: colOf(o1, "o.region")}}, []plan.AggExpr{
				aggExpr("gmv", plan.Sum, colOf(o1, "o.amount"), nil),
			}))
			o2 := scanOrders(func(s *plan.Scan) plan.Expr {
				return mustBuild(plan.NewBinary(plan.Eq, colOf(s, "o.status"), strLit("paid")))
			})
			paid := mustBuild(plan.NewAggregate(o2, []plan.Named{{Name: "paid_region", Expr: colOf(o2, "o.region")}}, []plan.AggExpr{
				aggExpr("paid_orders", plan.Count, nil, nil),
			}))
			return mustBuild(plan.NewJoin(plan.FullJoin, gmv, paid, []plan.Expr{colOf(gmv, "region")}, []plan.Expr{colOf(paid, "paid_region")}, true))
		}, []string{"NULL|10.00|NULL|1", "east|160.00|east|2", "north|99.99|NULL|NULL", "west|26.75|west|2"}, false},
	}
}

// TestExecute runs every query with one pipeline and with four, with the default batch size and
// with batches of two rows; all must give the same answer.
func TestExecute(t *testing.T) {
	dataMem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer dataMem.AssertSize(t, 0)
	ts := demoTables(t, dataMem)
	defer ts.release()
	for _, q := range demoQueries() {
		for _, par := range []int{1, 4} {
			for _, batchRows := range []int{0, 2} {
				t.Run(fmt.Sprintf("%s/parallelism %d/batch %d", q.name, par, batchRows), func(t *testing.T) {
					mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
					defer mem.AssertSize(t, 0)
					e := New(ts, Options{Allocator: mem, Parallelism: par, BatchRows: batchRows})
					got, err := executeRows(t, e, q.plan())
					if err != nil {
						t.Fatal(err)
					}
					want := q.want
					if !q.ordered {
						got = slices.Sorted(slices.Values(got))
					}
					if !slices.Equal(got, want) {
						t.Fatalf("\n got: %q\nwant: %q", got, want)
					}
				})
			}
		}
	}
}

// TestExecuteConcurrently runs the same plans from several goroutines at once, sharing one
// engine and the tables; run with -race.
func TestExecuteConcurrently(t *testing.T) {
	dataMem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer dataMem.AssertSize(t, 0)
	ts := demoTables(t, dataMem)
	defer ts.release()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	e := New(ts, Options{Allocator: mem, Parallelism: 4, BatchRows: 2})
	qs := demoQueries()
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(qs))
	for range 4 {
		for _, q := range qs {
			root := q.plan()
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := q.check(e, root); err != nil {
					errs <- err
				}
			}()
		}
	}
	// The same plan value, run twice at once.
	root := qs[2].plan()
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.Execute(context.Background(), root)
			if err != nil {
				errs <- err
				return
			}
			if got := slices.Sorted(slices.Values(resultRowsText(res))); !slices.Equal(got, qs[2].want) {
				errs <- fmt.Errorf("shared plan: got %q", got)
			}
			res.Release()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestExecuteMaxRows(t *testing.T) {
	dataMem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer dataMem.AssertSize(t, 0)
	ts := demoTables(t, dataMem)
	defer ts.release()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	o := scanOrders(nil)
	for _, tc := range []struct {
		max  int64
		fail bool
	}{{5, true}, {9, true}, {10, false}} {
		e := New(ts, Options{Allocator: mem, MaxRows: tc.max})
		_, err := executeRows(t, e, o)
		if tc.fail != errors.Is(err, ErrTooManyRows) || (!tc.fail && err != nil) {
			t.Errorf("MaxRows %d over 10 rows: %v", tc.max, err)
		}
	}
}

// TestExecuteMemoryLimit runs an aggregation with many groups under a small budget: Execute
// returns an error wrapping exec.ErrMemoryLimit, does not panic, and leaves nothing allocated.
func TestExecuteMemoryLimit(t *testing.T) {
	dataMem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer dataMem.AssertSize(t, 0)
	var rows []string
	for b := 0; b < 4; b++ {
		var js strings.Builder
		js.WriteString("[")
		for i := 0; i < 5000; i++ {
			if i > 0 {
				js.WriteString(",")
			}
			id := b*5000 + i
			fmt.Fprintf(&js, `{"order_id":%d,"customer_id":%d,"region":"r%d","status":"paid","amount":"%d.00","ts":null}`, id, id*31, id%7, id%100)
		}
		js.WriteString("]")
		rows = append(rows, js.String())
	}
	ts := tableMap{"demo:orders": tableOf(t, dataMem, "orders", ordersSchema, rows)}
	defer ts.release()
	o := scanOrders(nil)
	byCustomer := mustBuild(plan.NewAggregate(o, []plan.Named{{Name: "customer", Expr: colOf(o, "o.customer_id")}}, []plan.AggExpr{
		aggExpr("gmv", plan.Sum, colOf(o, "o.amount"), nil),
		aggExpr("regions", plan.CountDistinct, colOf(o, "o.region"), nil),
	}))
	sorted := mustBuild(plan.NewSort(o, []plan.SortKey{{Expr: colOf(o, "o.region")}, {Expr: colOf(o, "o.amount"), Desc: true}}))
	for _, tc := range []struct {
		name string
		root plan.Node
	}{{"aggregate", byCustomer}, {"sort", sorted}} {
		for _, par := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/parallelism %d", tc.name, par), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				e := New(ts, Options{Allocator: mem, Parallelism: par, MemoryLimit: 64 << 10})
				_, err := executeRows(t, e, tc.root)
				if !errors.Is(err, exec.ErrMemoryLimit) {
					t.Fatalf("got %v, want ErrMemoryLimit", err)
				}
				// The same query fits a larger budget, and reports what it used.
				e = New(ts, Options{Allocator: mem, Parallelism: par, MemoryLimit: 64 << 20})
				res, err := e.Execute(context.Background(), tc.root)
				if err != nil {
					t.Fatal(err)
				}
				if res.PeakMemory <= 64<<10 {
					t.Errorf("PeakMemory %d, yet 64 KiB was not enough", res.PeakMemory)
				}
				res.Release()
			})
		}
	}
}

func TestExecuteUnknownTable(t *testing.T) {
	e := New(tableMap{}, Options{})
	_, err := e.Execute(context.Background(), scanOrders(nil))
	if err == nil || !strings.Contains(err.Error(), "demo:orders") {
		t.Fatalf("scan of a missing table: %v", err)
	}
}

func TestExecuteCancelled(t *testing.T) {
	dataMem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer dataMem.AssertSize(t, 0)
	ts := demoTables(t, dataMem)
	defer ts.release()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, q := range demoQueries() {
		_, err := New(ts, Options{Allocator: mem, Parallelism: 2}).Execute(ctx, q.plan())
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %v", q.name, err)
		}
	}
}
