package demodata

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/source"
)

// MaxScale is the largest scale Generate accepts: 100 million orders, some 220 million items.
const MaxScale = 100

// Rows per unit of scale; a table never has fewer than one row.
const (
	customersPerScale = 100_000
	productsPerScale  = 5_000
	ordersPerScale    = 1_000_000
)

// The time ranges of the data.
var (
	firstSignupDay = daysSinceEpoch(2020, time.January, 1)
	signupDays     = daysSinceEpoch(2025, time.December, 31) - firstSignupDay + 1
	ordersStart    = time.Date(2023, time.January, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	ordersSpan     = uint64(time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC).UnixMicro() - ordersStart)
)

const (
	minPayDelay = int64(time.Minute / time.Microsecond)
	maxPayDelay = int64(48 * time.Hour / time.Microsecond)
)

func daysSinceEpoch(y int, m time.Month, d int) int {
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// Dataset is a generated demo dataset: one table per name in TableNames.
//
// A Dataset is immutable and safe for concurrent readers. It owns its tables; Release frees them,
// and a reader that keeps a batch past that retains it.
type Dataset struct {
	scale  float64
	tables []*source.Table // in TableNames order
}

// Scale returns the scale the dataset was generated at.
func (d *Dataset) Scale() float64 { return d.scale }

// Table returns the named table, or nil if name is not one of TableNames. The table is
// borrowed from the dataset.
func (d *Dataset) Table(name string) *source.Table {
	for _, t := range d.tables {
		if t.Name() == name {
			return t
		}
	}
	return nil
}

// Tables returns the dataset's tables in TableNames order. The slice is a copy; the tables are
// borrowed from the dataset.
func (d *Dataset) Tables() []*source.Table {
	return append([]*source.Table(nil), d.tables...)
}

// Release frees the dataset's tables. The dataset must not be used after.
func (d *Dataset) Release() {
	for _, t := range d.tables {
		t.Release()
	}
	d.tables = nil
}

// rowCounts returns the number of customers, products and orders at scale.
func rowCounts(scale float64) (customers, products, orders int) {
	n := func(perScale float64) int { return max(1, int(math.Round(perScale*scale))) }
	return n(customersPerScale), n(productsPerScale), n(ordersPerScale)
}

// Generate generates the demo dataset at scale, which must be greater than 0 and at most
// MaxScale: scale 1 has 100,000 customers, 5,000 products, 1,000,000 orders and about 2.2
// million order items. Every table is cut into batches of BatchRows rows (the last one
// shorter), and all its memory comes from mem.
//
// The data depends only on scale. Chunks of rows are generated in parallel on up to GOMAXPROCS
// goroutines; ctx is checked between chunks, and a cancelled ctx makes Generate return its error.
func Generate(ctx context.Context, mem memory.Allocator, scale float64) (*Dataset, error) {
	if !(scale > 0 && scale <= MaxScale) { // also rejects NaN
		return nil, fmt.Errorf("demo data scale %v is out of range: use a number greater than 0 and at most %d (scale 1 generates 1,000,000 orders)", scale, MaxScale)
	}
	g := &generator{mem: mem, dicts: map[string]map[string]arrow.Array{}}
	defer g.release()
	g.numCustomers, g.numProducts, g.numOrders = rowCounts(scale)
	g.makeDictionaries()

	if err := g.customers(ctx); err != nil {
		return nil, err
	}
	if err := g.products(ctx); err != nil {
		return nil, err
	}
	if err := g.ordersAndItems(ctx); err != nil {
		return nil, err
	}
	if err := g.inventory(ctx); err != nil {
		return nil, err
	}

	d := &Dataset{scale: scale}
	for _, name := range TableNames() {
		t, err := source.NewTable(name, schemas[name], g.batches[name])
		if err != nil {
			d.Release()
			return nil, fmt.Errorf("generate demo data: %w", err)
		}
		d.tables = append(d.tables, t)
	}
	return d, nil
}

// generator holds the state of one Generate call.
type generator struct {
	mem                                  memory.Allocator
	numCustomers, numProducts, numOrders int
	dicts                                map[string]map[string]arrow.Array // table -> column -> dictionary
	batches                              map[string][]arrow.RecordBatch

	// Read by order generation, written before it starts.
	customerRegions [][]int8           // by batch, the customers' region indices
	unitPrices      [][]decimal128.Num // by batch, the products' unit prices
	customerPicker  skewedPicker
	productPicker   skewedPicker
}

func (g *generator) makeDictionaries() {
	region := newDictionary(g.mem, regions)
	defer region.Release()
	g.dicts[Customers] = map[string]arrow.Array{
		"segment": newDictionary(g.mem, segments),
		"region":  region,
		"city":    newDictionary(g.mem, cities),
	}
	g.dicts[Products] = map[string]arrow.Array{
		"category": newDictionary(g.mem, categories),
		"brand":    newDictionary(g.mem, brands),
	}
	g.dicts[Orders] = map[string]arrow.Array{
		"channel": newDictionary(g.mem, channels),
		"status":  newDictionary(g.mem, statuses),
		"region":  region,
	}
	g.dicts[Inventory] = map[string]arrow.Array{"warehouse": region}
	region.Retain() // one reference per table that holds it
	region.Retain()
	region.Retain()
	g.batches = map[string][]arrow.RecordBatch{}
}

// release frees what the generator still holds: the dictionaries (each batch keeps its own
// reference) and the batches (each table keeps its own reference).
func (g *generator) release() {
	for _, cols := range g.dicts {
		for _, d := range cols {
			d.Release()
		}
	}
	for _, bs := range g.batches {
		for _, b := range bs {
			if b != nil {
				b.Release()
			}
		}
	}
}

func numBatches(rows int) int { return (rows + BatchRows - 1) / BatchRows }

// batchBounds returns the first row and the row count of batch k of a table of rows rows.
func batchBounds(k, rows int) (first, n int) {
	first = k * BatchRows
	return first, min(BatchRows, rows-first)
}

func (g *generator) customers(ctx context.Context) error {
	batches := make([]arrow.RecordBatch, numBatches(g.numCustomers))
	g.batches[Customers] = batches
	err := forEachChunk(ctx, len(batches), func(k int) error {
		var err error
		batches[k], err = g.customerBatch(k)
		return err
	})
	if err != nil {
		return fmt.Errorf("generate customers: %w", err)
	}
	g.customerRegions = make([][]int8, len(batches))
	for k, b := range batches {
		g.customerRegions[k] = b.Column(custRegion).(*array.Dictionary).Indices().(*array.Int8).Int8Values()
	}
	g.customerPicker = newSkewedPicker(g.numCustomers, int(math.Ceil(0.85*float64(g.numCustomers))))
	return nil
}

func (g *generator) customerBatch(k int) (arrow.RecordBatch, error) {
	schema := schemas[Customers]
	first, n := batchBounds(k, g.numCustomers)
	r := newRand(Customers, k)
	cols := batchColumns(g.mem, schema, n, g.dicts[Customers])
	defer releaseColumns(cols)

	ids, segment, region := cols[custID].int64s(), cols[custSegment].int8s(), cols[custRegion].int8s()
	city, signup := cols[custCity], cols[custSignup].dates()
	cityIdx := city.int8s()
	names := make([]uint16, n)
	for i := range n {
		ids[i] = int64(first + i + 1)
		names[i] = uint16(r.IntN(len(fullNames)))
		segment[i] = int8(segmentWeights.pick(r))
		reg := regionWeights.pick(r)
		region[i] = int8(reg)
		if r.IntN(1000) < 5 {
			city.setValidity(i, false)
		} else {
			city.setValidity(i, true)
			cityIdx[i] = int8(firstCity[reg] + cityWeights[reg].pick(r))
		}
		signup[i] = arrow.Date32(firstSignupDay + r.IntN(signupDays))
	}
	name, err := newStringArray(g.mem, n, func(i int) string { return fullNames[names[i]] })
	if err != nil {
		return nil, err
	}
	defer name.Release()
	return record(schema, cols, map[int]arrow.Array{custName: name}, n), nil
}

func (g *generator) products(ctx context.Context) error {
	batches := make([]arrow.RecordBatch, numBatches(g.numProducts))
	g.batches[Products] = batches
	err := forEachChunk(ctx, len(batches), func(k int) error {
		batches[k] = g.productBatch(k)
		return nil
	})
	if err != nil {
		return fmt.Errorf("generate products: %w", err)
	}
	g.unitPrices = make([][]decimal128.Num, len(batches))
	for k, b := range batches {
		g.unitPrices[k] = b.Column(prodUnitPrice).(*array.Decimal128).Values()
	}
	g.productPicker = newSkewedPicker(g.numProducts, g.numProducts)
	return nil
}

func (g *generator) productBatch(k int) arrow.RecordBatch {
	schema := schemas[Products]
	first, n := batchBounds(k, g.numProducts)
	r := newRand(Products, k)
	cols := batchColumns(g.mem, schema, n, g.dicts[Products])
	defer releaseColumns(cols)

	ids, category, brand := cols[prodID].int64s(), cols[prodCategory].int8s(), cols[prodBrand].int8s()
	price := cols[prodUnitPrice].decimals()
	for i := range n {
		ids[i] = int64(first + i + 1)
		c := categoryWeights.pick(r)
		category[i] = int8(c)
		brand[i] = int8(firstBrand[c] + brandWeights[c].pick(r))
		// Log-uniform within the category's range, so cheap items are common and every order
		// of magnitude is represented. The float only picks the price; it is stored exactly.
		lo, hi := priceRangeCents[c][0], priceRangeCents[c][1]
		cents := math.Round(lo * math.Exp(r.Float64()*math.Log(hi/lo)))
		price[i] = decimal128.FromI64(int64(cents))
	}
	return record(schema, cols, nil, n)
}

// ordersAndItems generates orders and their items chunk by chunk, a chunk being one batch of
// orders. Item rows go straight into the item batches at positions fixed in advance: a first
// pass draws every order's item count, and prefix sums over the chunks give each chunk its
// first item.
func (g *generator) ordersAndItems(ctx context.Context) error {
	chunks := numBatches(g.numOrders)
	itemCounts := make([]uint8, g.numOrders)
	chunkItems := make([]int, chunks)
	err := forEachChunk(ctx, chunks, func(k int) error {
		first, n := batchBounds(k, g.numOrders)
		r := newRand("order_items.count", k)
		total := 0
		for i := first; i < first+n; i++ {
			c := itemsPerOrder.pick(r) + 1
			itemCounts[i] = uint8(c)
			total += c
		}
		chunkItems[k] = total
		return nil
	})
	if err != nil {
		return fmt.Errorf("generate order items: %w", err)
	}
	firstItem := make([]int, chunks)
	numItems := 0
	for k, c := range chunkItems {
		firstItem[k] = numItems
		numItems += c
	}

	items := make([][]*column, numBatches(numItems))
	defer func() {
		for _, cols := range items {
			releaseColumns(cols)
		}
	}()
	err = forEachChunk(ctx, len(items), func(k int) error {
		_, n := batchBounds(k, numItems)
		items[k] = batchColumns(g.mem, schemas[OrderItems], n, nil)
		return nil
	})
	if err != nil {
		return fmt.Errorf("generate order items: %w", err)
	}
	w := itemWriter{
		id:       make([][]int64, len(items)),
		order:    make([][]int64, len(items)),
		product:  make([][]int64, len(items)),
		quantity: make([][]int32, len(items)),
		price:    make([][]decimal128.Num, len(items)),
	}
	for k, cols := range items {
		w.id[k], w.order[k], w.product[k] = cols[itemID].int64s(), cols[itemOrder].int64s(), cols[itemProduct].int64s()
		w.quantity[k], w.price[k] = cols[itemQuantity].int32s(), cols[itemPrice].decimals()
	}

	orders := make([]arrow.RecordBatch, chunks)
	g.batches[Orders] = orders
	err = forEachChunk(ctx, chunks, func(k int) error {
		orders[k] = g.orderBatch(k, itemCounts, firstItem[k], &w)
		return nil
	})
	if err != nil {
		return fmt.Errorf("generate orders: %w", err)
	}

	itemBatches := make([]arrow.RecordBatch, len(items))
	g.batches[OrderItems] = itemBatches
	for k, cols := range items {
		_, n := batchBounds(k, numItems)
		itemBatches[k] = record(schemas[OrderItems], cols, nil, n)
	}
	return nil
}

// itemWriter addresses the item batches' columns by global item row, 0-based. Chunks write
// disjoint row ranges, so they may write concurrently.
type itemWriter struct {
	id, order, product [][]int64
	quantity           [][]int32
	price              [][]decimal128.Num
}

func (g *generator) orderBatch(k int, itemCounts []uint8, item int, w *itemWriter) arrow.RecordBatch {
	schema := schemas[Orders]
	first, n := batchBounds(k, g.numOrders)
	r := newRand(Orders, k)
	cols := batchColumns(g.mem, schema, n, g.dicts[Orders])
	defer releaseColumns(cols)

	ids, customer := cols[ordID].int64s(), cols[ordCustomer].int64s()
	channel, status, region := cols[ordChannel].int8s(), cols[ordStatus].int8s(), cols[ordRegion].int8s()
	created, paid, paidAt := cols[ordCreatedAt].times(), cols[ordPaidAt], cols[ordPaidAt].times()
	amount, coupon, couponAmount := cols[ordAmount].decimals(), cols[ordCoupon], cols[ordCoupon].decimals()
	for i := range n {
		order := first + i
		ids[i] = int64(order + 1)
		c := g.customerPicker.pick(r)
		customer[i] = c
		channel[i] = int8(channelWeights.pick(r))
		st := statusWeights.pick(r)
		status[i] = int8(st)
		t := createdAt(uint64(order), uint64(g.numOrders), r.Uint32())
		created[i] = arrow.Timestamp(t)
		if st == statusPlaced || st == statusCancelled {
			paid.setValidity(i, false)
		} else {
			paid.setValidity(i, true)
			paidAt[i] = arrow.Timestamp(t + minPayDelay + r.Int64N(maxPayDelay-minPayDelay+1))
		}

		var cents int64
		for range itemCounts[order] {
			b, j := item/BatchRows, item%BatchRows
			p := g.productPicker.pick(r)
			q := int64(quantityWeights.pick(r) + 1)
			unit := int64(g.unitPrices[(p-1)/BatchRows][(p-1)%BatchRows].LowBits())
			price := (unit*discountPercent[discountWeights.pick(r)] + 50) / 100 // half-up
			w.id[b][j] = int64(item + 1)
			w.order[b][j] = int64(order + 1)
			w.product[b][j] = p
			w.quantity[b][j] = int32(q)
			w.price[b][j] = decimal128.FromI64(price)
			cents += q * price
			item++
		}
		amount[i] = decimal128.FromI64(cents)

		if r.IntN(100) < 30 {
			coupon.setValidity(i, true)
			couponAmount[i] = decimal128.FromI64(min(couponCents[r.IntN(len(couponCents))], cents*3/10))
		} else {
			coupon.setValidity(i, false)
		}
		if r.IntN(10) < 9 {
			region[i] = g.customerRegions[(c-1)/BatchRows][(c-1)%BatchRows]
		} else {
			region[i] = int8(r.IntN(len(regions)))
		}
	}
	return record(schema, cols, nil, n)
}

// createdAt returns the creation time of 0-based order i of n, in microseconds since the epoch:
// start + (i + frac/2³²)·span/n, in 128-bit integer arithmetic so that it is exact at every
// scale. Times grow with i and stay below the end of the span.
func createdAt(i, n uint64, frac uint32) int64 {
	hi, lo := bits.Mul64(i<<32|uint64(frac), ordersSpan)
	q, _ := bits.Div64(hi, lo, n<<32)
	return ordersStart + int64(q)
}

// The inventory: daily snapshots of the stock of the first trackedProducts products in each
// warehouse (one per region), from 2023 to 2025. A series starts on a day of its first half
// year, one in ten ends early (the product is discontinued there), and a day's snapshot is
// missing now and then — so that "the last snapshot of the month" differs between groups, as
// it does in real balances.
const (
	trackedProducts = 20
	inventoryDays   = 1096 // 2023-01-01 to 2025-12-31
)

var firstInventoryDay = daysSinceEpoch(2023, time.January, 1)

// inventoryRow is one snapshot of a series.
type inventoryRow struct {
	day   int32
	units int32
}

func (g *generator) inventory(ctx context.Context) error {
	series := min(g.numProducts, trackedProducts) * len(regions)
	rows := make([][]inventoryRow, series)
	err := forEachChunk(ctx, series, func(k int) error {
		r := newRand(Inventory, k)
		start := r.IntN(181)
		end := inventoryDays
		if r.IntN(10) == 0 {
			end = 730 + r.IntN(inventoryDays-730)
		}
		units := int32(50 + r.IntN(451))
		for d := start; d < end; d++ {
			// Sales take a little every day; a delivery comes when the shelf runs low.
			units -= int32(r.IntN(25))
			if units < 20 {
				units += int32(200 + r.IntN(201))
			}
			if r.IntN(100) < 3 {
				continue // no snapshot this day
			}
			rows[k] = append(rows[k], inventoryRow{day: int32(firstInventoryDay + d), units: units})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("generate inventory: %w", err)
	}
	total := 0
	for _, s := range rows {
		total += len(s)
	}
	schema := schemas[Inventory]
	batches := make([]arrow.RecordBatch, numBatches(total))
	g.batches[Inventory] = batches
	k, s, i := 0, 0, 0 // the next batch, series and row of it
	for b := range batches {
		_, n := batchBounds(b, total)
		cols := batchColumns(g.mem, schema, n, g.dicts[Inventory])
		ids, days, product := cols[invID].int64s(), cols[invDate].dates(), cols[invProduct].int64s()
		warehouse, units := cols[invWarehouse].int8s(), cols[invUnits].int32s()
		for j := range n {
			for i == len(rows[s]) {
				s, i = s+1, 0
			}
			row := rows[s][i]
			ids[j] = int64(k + 1)
			days[j] = arrow.Date32(row.day)
			product[j] = int64(s/len(regions) + 1)
			warehouse[j] = int8(s % len(regions))
			units[j] = row.units
			k, i = k+1, i+1
		}
		batches[b] = record(schema, cols, nil, n)
		releaseColumns(cols)
	}
	return nil
}
