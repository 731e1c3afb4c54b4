package demodata

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/source"
)

// generate returns the dataset at scale, released when the test ends, and checks then that
// every byte was freed.
func generate(t testing.TB, scale float64) *Dataset {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	d, err := Generate(context.Background(), mem, scale)
	if err != nil {
		t.Fatalf("Generate(%v): %v", scale, err)
	}
	t.Cleanup(func() {
		d.Release()
		mem.AssertSize(t, 0)
	})
	return d
}

// The helpers below gather one column of a table into a Go slice; null values are reported
// by a false in the second slice.

func int64s(t *testing.T, tab *source.Table, col string) []int64 {
	t.Helper()
	var out []int64
	for _, b := range tab.Batches() {
		out = append(out, columnOf(t, b, col).(*array.Int64).Int64Values()...)
	}
	return out
}

func strs(t *testing.T, tab *source.Table, col string) (vals []string, valid []bool) {
	t.Helper()
	for _, b := range tab.Batches() {
		a := columnOf(t, b, col)
		for i := range a.Len() {
			valid = append(valid, a.IsValid(i))
			switch a := a.(type) {
			case *array.Dictionary:
				vals = append(vals, a.Dictionary().(*array.String).Value(a.GetValueIndex(i)))
			case *array.String:
				vals = append(vals, a.Value(i))
			}
		}
	}
	return vals, valid
}

// cents returns a decimal(_, 2) column as integers of cents.
func cents(t *testing.T, tab *source.Table, col string) (vals []int64, valid []bool) {
	t.Helper()
	for _, b := range tab.Batches() {
		a := columnOf(t, b, col).(*array.Decimal128)
		for i := range a.Len() {
			n := a.Value(i)
			if n.HighBits() != 0 {
				t.Fatalf("%s: value %v does not fit an int64", col, n)
			}
			vals = append(vals, int64(n.LowBits()))
			valid = append(valid, a.IsValid(i))
		}
	}
	return vals, valid
}

func times(t *testing.T, tab *source.Table, col string) (vals []time.Time, valid []bool) {
	t.Helper()
	for _, b := range tab.Batches() {
		a := columnOf(t, b, col).(*array.Timestamp)
		for i := range a.Len() {
			vals = append(vals, a.Value(i).ToTime(arrow.Microsecond))
			valid = append(valid, a.IsValid(i))
		}
	}
	return vals, valid
}

func columnOf(t *testing.T, b arrow.RecordBatch, name string) arrow.Array {
	t.Helper()
	idx := b.Schema().FieldIndices(name)
	if len(idx) != 1 {
		t.Fatalf("no column %s in %s", name, b.Schema())
	}
	return b.Column(idx[0])
}

func TestRowCounts(t *testing.T) {
	tests := []struct {
		scale                                float64
		customers, products, orders, batches int64
	}{
		{scale: 0.00001, customers: 1, products: 1, orders: 10, batches: 1},
		{scale: 0.01, customers: 1000, products: 50, orders: 10_000, batches: 1},
		{scale: 0.07, customers: 7000, products: 350, orders: 70_000, batches: 2},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("scale=%v", tt.scale), func(t *testing.T) {
			d := generate(t, tt.scale)
			want := map[string]int64{Customers: tt.customers, Products: tt.products, Orders: tt.orders}
			for name, n := range want {
				if got := d.Table(name).NumRows(); got != n {
					t.Errorf("%s has %d rows, want %d", name, got, n)
				}
			}
			if got := len(d.Table(Orders).Batches()); int64(got) != tt.batches {
				t.Errorf("orders has %d batches, want %d", got, tt.batches)
			}
			items := d.Table(OrderItems).NumRows()
			if items < tt.orders || items > 5*tt.orders {
				t.Errorf("order_items has %d rows, want 1 to 5 per order", items)
			}
			for _, tab := range d.Tables() {
				for i, b := range tab.Batches() {
					last := i == len(tab.Batches())-1
					if n := b.NumRows(); n > BatchRows || n < 1 || !last && n != BatchRows {
						t.Errorf("%s batch %d has %d rows, want %d (the last one 1 to %[4]d)", tab.Name(), i, n, BatchRows)
					}
				}
			}
		})
	}
}

func TestSchemas(t *testing.T) {
	d := generate(t, 0.001)
	if got := len(d.Tables()); got != len(TableNames()) {
		t.Fatalf("%d tables, want %d", got, len(TableNames()))
	}
	for i, name := range TableNames() {
		s, ok := Schema(name)
		if !ok {
			t.Fatalf("Schema(%q) not found", name)
		}
		tab := d.Tables()[i]
		if tab.Name() != name || !tab.Schema().Equal(s) {
			t.Errorf("table %d is %s with schema %s, want %s with %s", i, tab.Name(), tab.Schema(), name, s)
		}
	}
	if _, ok := Schema("nope"); ok {
		t.Error(`Schema("nope") found a schema`)
	}
	if d.Table("nope") != nil {
		t.Error(`Table("nope") is not nil`)
	}
}

func TestBadScale(t *testing.T) {
	for _, scale := range []float64{0, -1, 1000, math.NaN(), math.Inf(1)} {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		d, err := Generate(context.Background(), mem, scale)
		if err == nil {
			d.Release()
			t.Errorf("Generate(%v) succeeded, want an error", scale)
		}
		mem.AssertSize(t, 0)
	}
}

func TestCancel(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d, err := Generate(ctx, mem, 0.2)
	if !errors.Is(err, context.Canceled) {
		if d != nil {
			d.Release()
		}
		t.Errorf("Generate with a cancelled context: err = %v, want context.Canceled", err)
	}
	mem.AssertSize(t, 0)
}

// TestDeterministic generates the same scale with different parallelism and compares the
// Arrow IPC streams of the tables byte for byte.
func TestDeterministic(t *testing.T) {
	hashes := func(procs int) map[string]string {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		d, err := Generate(context.Background(), mem, 0.02)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Release()
		out := map[string]string{}
		for _, tab := range d.Tables() {
			h := sha256.New()
			w := ipc.NewWriter(h, ipc.WithSchema(tab.Schema()), ipc.WithAllocator(mem))
			for _, b := range tab.Batches() {
				if err := w.Write(b); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			out[tab.Name()] = hex.EncodeToString(h.Sum(nil))
		}
		return out
	}
	one, four := hashes(1), hashes(4)
	for _, name := range TableNames() {
		if one[name] != four[name] {
			t.Errorf("%s differs between GOMAXPROCS 1 (%s) and 4 (%s)", name, one[name], four[name])
		}
	}
}

func TestReferentialIntegrity(t *testing.T) {
	d := generate(t, 0.05)
	customers := d.Table(Customers).NumRows()
	products := d.Table(Products).NumRows()
	for _, tc := range []struct {
		table, col string
		want       []int64 // the ids, which must be 1..n in order
	}{
		{Customers, "customer_id", nil},
		{Products, "product_id", nil},
		{Orders, "order_id", nil},
		{OrderItems, "item_id", nil},
	} {
		for i, id := range int64s(t, d.Table(tc.table), tc.col) {
			if id != int64(i+1) {
				t.Fatalf("%s.%s row %d is %d, want %d", tc.table, tc.col, i, id, i+1)
			}
		}
	}
	ordered := map[int64]bool{}
	for i, c := range int64s(t, d.Table(Orders), "customer_id") {
		if c < 1 || c > customers {
			t.Fatalf("order %d has customer %d, want 1..%d", i+1, c, customers)
		}
		ordered[c] = true
	}
	// The skew is part of the dataset's purpose: some customers never order.
	if n := int64(len(ordered)); n == customers || n < customers/2 {
		t.Errorf("%d of %d customers ordered, want most but not all", n, customers)
	}
	orders := d.Table(Orders).NumRows()
	itemOrders := int64s(t, d.Table(OrderItems), "order_id")
	perOrder := map[int64]int{}
	for i, o := range itemOrders {
		if o < 1 || o > orders {
			t.Fatalf("item %d has order %d, want 1..%d", i+1, o, orders)
		}
		if i > 0 && o < itemOrders[i-1] {
			t.Fatalf("item %d has order %d after order %d: items are not in order_id order", i+1, o, itemOrders[i-1])
		}
		perOrder[o]++
	}
	if int64(len(perOrder)) != orders {
		t.Errorf("%d orders have items, want all %d", len(perOrder), orders)
	}
	for o, n := range perOrder {
		if n < 1 || n > 5 {
			t.Errorf("order %d has %d items, want 1 to 5", o, n)
		}
	}
	for i, p := range int64s(t, d.Table(OrderItems), "product_id") {
		if p < 1 || p > products {
			t.Fatalf("item %d has product %d, want 1..%d", i+1, p, products)
		}
	}
}

func TestAmounts(t *testing.T) {
	d := generate(t, 0.05)
	unit, _ := cents(t, d.Table(Products), "unit_price")
	product := int64s(t, d.Table(OrderItems), "product_id")
	order := int64s(t, d.Table(OrderItems), "order_id")
	price, _ := cents(t, d.Table(OrderItems), "price")
	quantity := []int32{}
	for _, b := range d.Table(OrderItems).Batches() {
		quantity = append(quantity, columnOf(t, b, "quantity").(*array.Int32).Int32Values()...)
	}
	sums := make([]int64, d.Table(Orders).NumRows())
	for i := range order {
		if q := quantity[i]; q < 1 || q > 5 {
			t.Fatalf("item %d has quantity %d, want 1 to 5", i+1, q)
		}
		u := unit[product[i]-1]
		ok := false
		for _, pct := range discountPercent {
			ok = ok || price[i] == (u*pct+50)/100
		}
		if !ok {
			t.Fatalf("item %d has price %d cents for unit price %d, want 100%%, 95%%, 90%% or 80%% of it", i+1, price[i], u)
		}
		sums[order[i]-1] += int64(quantity[i]) * price[i]
	}
	amount, _ := cents(t, d.Table(Orders), "amount")
	coupon, hasCoupon := cents(t, d.Table(Orders), "coupon_amount")
	coupons := 0
	for i := range amount {
		if amount[i] != sums[i] {
			t.Fatalf("order %d has amount %d cents, its items sum to %d", i+1, amount[i], sums[i])
		}
		if !hasCoupon[i] {
			continue
		}
		coupons++
		limit := amount[i] * 3 / 10
		if c := coupon[i]; c != min(500, limit) && c != min(1000, limit) && c != min(2000, limit) && c != min(5000, limit) {
			t.Fatalf("order %d of %d cents has a coupon of %d cents", i+1, amount[i], c)
		}
	}
	if share := float64(coupons) / float64(len(amount)); share < 0.27 || share > 0.33 {
		t.Errorf("%.3f of orders have a coupon, want about 0.3", share)
	}
}

func TestStatusesAndNulls(t *testing.T) {
	d := generate(t, 0.05)
	status, _ := strs(t, d.Table(Orders), "status")
	created, _ := times(t, d.Table(Orders), "created_at")
	paid, paidValid := times(t, d.Table(Orders), "paid_at")
	for i, s := range status {
		unpaid := s == "placed" || s == "cancelled"
		if paidValid[i] == unpaid {
			t.Fatalf("order %d is %s and has paid_at valid=%v", i+1, s, paidValid[i])
		}
		if paidValid[i] {
			if delay := paid[i].Sub(created[i]); delay < time.Minute || delay > 48*time.Hour {
				t.Fatalf("order %d was paid %v after it was created, want 1m to 48h", i+1, delay)
			}
		}
	}
	_, cityValid := strs(t, d.Table(Customers), "city")
	nulls := 0
	for _, v := range cityValid {
		if !v {
			nulls++
		}
	}
	if share := float64(nulls) / float64(len(cityValid)); nulls == 0 || share > 0.015 {
		t.Errorf("%d of %d cities are null, want about 0.5%%", nulls, len(cityValid))
	}
	for _, name := range TableNames() {
		s, _ := Schema(name)
		for _, b := range d.Table(name).Batches() {
			for i, f := range s.Fields() {
				if !f.Nullable && b.Column(i).NullN() != 0 {
					t.Errorf("%s.%s is NOT NULL and has %d nulls", name, f.Name, b.Column(i).NullN())
				}
			}
		}
	}
}

func TestValueDomains(t *testing.T) {
	d := generate(t, 0.05)
	in := func(domain []string) map[string]bool {
		m := map[string]bool{}
		for _, v := range domain {
			m[v] = true
		}
		return m
	}
	cityRegion := map[string]string{}
	for r, cs := range citiesByRegion {
		for _, c := range cs {
			cityRegion[c] = regions[r]
		}
	}
	checks := []struct {
		table, col string
		domain     map[string]bool
		wantAll    bool
	}{
		{Customers, "segment", in([]string{"consumer", "corporate", "home_office"}), true},
		{Customers, "region", in([]string{"east", "west", "north", "south", "central"}), true},
		{Customers, "city", in(cities), false},
		{Products, "category", in([]string{"electronics", "apparel", "home", "beauty", "grocery", "sports", "toys", "books"}), true},
		{Products, "brand", in(brands), false},
		{Orders, "channel", in([]string{"app", "web", "store"}), true},
		{Orders, "status", in([]string{"completed", "shipped", "paid", "placed", "cancelled", "refunded"}), true},
		{Orders, "region", in([]string{"east", "west", "north", "south", "central"}), true},
	}
	for _, c := range checks {
		vals, valid := strs(t, d.Table(c.table), c.col)
		seen := map[string]bool{}
		for i, v := range vals {
			if !valid[i] {
				continue
			}
			if !c.domain[v] {
				t.Errorf("%s.%s has %q", c.table, c.col, v)
			}
			seen[v] = true
		}
		if c.wantAll && len(seen) != len(c.domain) {
			t.Errorf("%s.%s has %d distinct values, want all %d", c.table, c.col, len(seen), len(c.domain))
		}
	}

	region, _ := strs(t, d.Table(Customers), "region")
	city, cityValid := strs(t, d.Table(Customers), "city")
	for i := range city {
		if cityValid[i] && cityRegion[city[i]] != region[i] {
			t.Errorf("customer %d lives in %s, which is not in region %s", i+1, city[i], region[i])
		}
	}
	orderRegion, _ := strs(t, d.Table(Orders), "region")
	customer := int64s(t, d.Table(Orders), "customer_id")
	same := 0
	for i, r := range orderRegion {
		if r == region[customer[i]-1] {
			same++
		}
	}
	if share := float64(same) / float64(len(orderRegion)); share < 0.9 || share > 0.95 {
		t.Errorf("%.3f of orders ship to the customer's region, want about 0.92", share)
	}

	created, _ := times(t, d.Table(Orders), "created_at")
	first, end := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, c := range created {
		if c.Before(first) || !c.Before(end) || i > 0 && c.Before(created[i-1]) {
			t.Fatalf("order %d was created at %v, want in [%v, %v) and not before order %d", i+1, c, first, end, i)
		}
	}
	if last := created[len(created)-1]; last.Before(end.Add(-24 * time.Hour)) {
		t.Errorf("the last order was created at %v, want on the last day", last)
	}

	signupFirst, signupLast := arrow.Date32FromTime(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)), arrow.Date32FromTime(time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC))
	for _, b := range d.Table(Customers).Batches() {
		for _, day := range columnOf(t, b, "signup_date").(*array.Date32).Date32Values() {
			if day < signupFirst || day > signupLast {
				t.Fatalf("signup date %s is outside 2020-01-01..2025-12-31", day.FormattedString())
			}
		}
	}

	category, _ := strs(t, d.Table(Products), "category")
	unit, _ := cents(t, d.Table(Products), "unit_price")
	for i := range unit {
		r := priceRangeCents[indexOf(categories, category[i])]
		if float64(unit[i]) < r[0] || float64(unit[i]) > r[1] {
			t.Errorf("product %d, %s, costs %d cents, want %v..%v", i+1, category[i], unit[i], r[0], r[1])
		}
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// TestDictionariesShared checks that every batch of a dictionary column refers to the same
// dictionary data, so indices compare across batches, and that customers.region and
// orders.region share theirs.
func TestDictionariesShared(t *testing.T) {
	d := generate(t, 0.7) // two batches of customers, 11 of orders
	dicts := map[string]arrow.ArrayData{}
	for _, tab := range d.Tables() {
		if tab.Name() != Products && len(tab.Batches()) < 2 {
			t.Fatalf("%s has %d batch, want several", tab.Name(), len(tab.Batches()))
		}
		for i, f := range tab.Schema().Fields() {
			if f.Type.ID() != arrow.DICTIONARY {
				continue
			}
			key := tab.Name() + "." + f.Name
			for k, b := range tab.Batches() {
				dict := b.Column(i).(*array.Dictionary).Dictionary().Data()
				if first, ok := dicts[key]; !ok {
					dicts[key] = dict
				} else if dict != first {
					t.Errorf("%s batch %d has its own dictionary", key, k)
				}
			}
		}
	}
	if dicts["customers.region"] != dicts["orders.region"] {
		t.Error("customers.region and orders.region have different dictionaries")
	}
}

func BenchmarkGenerate(b *testing.B) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	b.ReportAllocs()
	for b.Loop() {
		d, err := Generate(context.Background(), mem, 0.1)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(mem.CurrentAlloc()))
		d.Release()
	}
	mem.AssertSize(b, 0)
}
