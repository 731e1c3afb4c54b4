// Package demodata generates Koujing's demo dataset: a deterministic e-commerce shop with
// customers, products, orders and order items, as Arrow tables and as CSV files that PostgreSQL
// can COPY.
//
// The same scale always yields the same data, byte for byte, whatever GOMAXPROCS is and however
// the goroutines that generate it are scheduled. Tests, examples and benchmarks can therefore
// state expected results and compare the engine against PostgreSQL loaded with the same rows.
package demodata

import (
	"github.com/apache/arrow-go/v18/arrow"
)

// The names of the four tables, in the order TableNames returns them.
const (
	// Customers is the name of the table of customers, keyed by customer_id.
	Customers = "customers"
	// Products is the name of the table of products, keyed by product_id.
	Products = "products"
	// Orders is the name of the table of orders, keyed by order_id; customer_id refers to
	// customers.
	Orders = "orders"
	// OrderItems is the name of the table of order lines, keyed by item_id; order_id refers to
	// orders and product_id to products.
	OrderItems = "order_items"
	// Inventory is the name of the table of daily stock snapshots, keyed by snapshot_id: the
	// units of a product (product_id refers to products) on hand in a warehouse at the end of a
	// day. Balances like these add up across products and warehouses but not across days.
	Inventory = "inventory"
)

// BatchRows is the number of rows in every record batch but the last of each table.
const BatchRows = 1 << 16

var (
	dictInt8 = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}
	tsUTC    = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	money10  = &arrow.Decimal128Type{Precision: 10, Scale: 2}
	money12  = &arrow.Decimal128Type{Precision: 12, Scale: 2}
)

// Column positions; the generator writes columns by position, so these must match the schemas.
const (
	custID = iota
	custName
	custSegment
	custRegion
	custCity
	custSignup
)

const (
	prodID = iota
	prodCategory
	prodBrand
	prodUnitPrice
)

const (
	ordID = iota
	ordCustomer
	ordChannel
	ordStatus
	ordCreatedAt
	ordPaidAt
	ordAmount
	ordCoupon
	ordRegion
)

const (
	itemID = iota
	itemOrder
	itemProduct
	itemQuantity
	itemPrice
)

const (
	invID = iota
	invDate
	invProduct
	invWarehouse
	invUnits
)

var schemas = map[string]*arrow.Schema{
	Customers: arrow.NewSchema([]arrow.Field{
		{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "segment", Type: dictInt8},
		{Name: "region", Type: dictInt8},
		{Name: "city", Type: dictInt8, Nullable: true},
		{Name: "signup_date", Type: arrow.FixedWidthTypes.Date32},
	}, nil),
	Products: arrow.NewSchema([]arrow.Field{
		{Name: "product_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "category", Type: dictInt8},
		{Name: "brand", Type: dictInt8},
		{Name: "unit_price", Type: money10},
	}, nil),
	Orders: arrow.NewSchema([]arrow.Field{
		{Name: "order_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "channel", Type: dictInt8},
		{Name: "status", Type: dictInt8},
		{Name: "created_at", Type: tsUTC},
		{Name: "paid_at", Type: tsUTC, Nullable: true},
		{Name: "amount", Type: money12},
		{Name: "coupon_amount", Type: money12, Nullable: true},
		{Name: "region", Type: dictInt8},
	}, nil),
	OrderItems: arrow.NewSchema([]arrow.Field{
		{Name: "item_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "order_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "product_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "quantity", Type: arrow.PrimitiveTypes.Int32},
		{Name: "price", Type: money10},
	}, nil),
	Inventory: arrow.NewSchema([]arrow.Field{
		{Name: "snapshot_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "snapshot_date", Type: arrow.FixedWidthTypes.Date32},
		{Name: "product_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "warehouse", Type: dictInt8},
		{Name: "units_on_hand", Type: arrow.PrimitiveTypes.Int32},
	}, nil),
}

// TableNames returns the names of the dataset's tables: customers, products, orders,
// order_items and inventory, in that order, which is also an order that respects foreign keys.
func TableNames() []string {
	return []string{Customers, Products, Orders, OrderItems, Inventory}
}

// PrimaryKey returns the column that identifies a row of the named table, or "" for a name that
// is not one of TableNames.
func PrimaryKey(table string) string {
	return map[string]string{Customers: "customer_id", Products: "product_id", Orders: "order_id", OrderItems: "item_id",
		Inventory: "snapshot_id"}[table]
}

// Schema returns the schema of the named table, without generating any data. The schema is
// shared and must not be modified. It reports false for a name that is not one of TableNames.
func Schema(table string) (*arrow.Schema, bool) {
	s, ok := schemas[table]
	return s, ok
}

// The values of the dictionary columns. A column's Arrow dictionary holds exactly these strings
// in this order, so an index means the same value in every batch; customers.region and
// orders.region share one dictionary.
var (
	segments   = []string{"consumer", "corporate", "home_office"}
	regions    = []string{"east", "west", "north", "south", "central"}
	channels   = []string{"app", "web", "store"}
	statuses   = []string{"completed", "shipped", "paid", "placed", "cancelled", "refunded"}
	categories = []string{"electronics", "apparel", "home", "beauty", "grocery", "sports", "toys", "books"}
)

// Indices into statuses that mean the order was never paid.
const (
	statusPlaced    = 3
	statusCancelled = 4
)

// Weights, in percent, of the values above.
var (
	segmentWeights  = newWeights(60, 25, 15)
	regionWeights   = newWeights(30, 15, 20, 25, 10) // east, west, north, south, central
	channelWeights  = newWeights(55, 30, 15)
	statusWeights   = newWeights(50, 12, 10, 8, 12, 8)
	categoryWeights = newWeights(18, 20, 15, 10, 15, 9, 7, 6)
	itemsPerOrder   = newWeights(40, 25, 15, 12, 8)     // 1..5 items
	quantityWeights = newWeights(600, 250, 100, 25, 25) // quantity 1..5, in per mille
	discountWeights = newWeights(70, 10, 10, 10)
)

// discountPercent is the item price as a percentage of the product's unit price.
var discountPercent = []int64{100, 95, 90, 80}

// couponCents are the coupon face values, in cents.
var couponCents = []int64{500, 1000, 2000, 5000}

// citiesByRegion lists each region's cities, most populous first; indexed like regions.
var citiesByRegion = [][]string{
	{"Shanghai", "Hangzhou", "Nanjing", "Suzhou", "Ningbo", "Hefei"},   // east
	{"Chengdu", "Chongqing", "Xi'an", "Kunming", "Lanzhou", "Urumqi"},  // west
	{"Beijing", "Tianjin", "Shenyang", "Harbin", "Jinan", "Qingdao"},   // north
	{"Guangzhou", "Shenzhen", "Xiamen", "Fuzhou", "Nanning", "Haikou"}, // south
	{"Wuhan", "Changsha", "Zhengzhou", "Nanchang"},                     // central
}

// brandsByCategory lists invented brands of each category, most common first; indexed like
// categories.
var brandsByCategory = [][]string{
	{"Voltara", "Nexon Labs", "Pixelon", "Aurix", "Kestrel Audio", "Zenvo"},
	{"Threadline", "Urban Loom", "Maple & Pine", "Nordvik", "Solace"},
	{"Hearthly", "Casa Verde", "Oakridge Home", "Lumio"},
	{"Glowbe", "Petal & Co", "Lunaris", "Dewdrop", "Vela Skin"},
	{"Green Basket", "Harvest Lane", "Golden Grain", "FreshFold", "Tea Garden"},
	{"Stridex", "Peakform", "Trailhawk", "Aquaflow", "Ironcore"},
	{"Blocko", "Wonderkin", "Tiny Titans", "Puzzlepeak"},
	{"Inkwell Press", "Lantern House", "Paper Crane", "Northstar Books"},
}

// priceRangeCents is each category's unit price range in cents, indexed like categories.
var priceRangeCents = [][2]float64{
	{5_000, 500_000}, // electronics 50–5000
	{1_000, 50_000},  // apparel 10–500
	{500, 150_000},   // home 5–1500
	{300, 30_000},    // beauty 3–300
	{100, 8_000},     // grocery 1–80
	{500, 200_000},   // sports 5–2000
	{300, 40_000},    // toys 3–400
	{500, 15_000},    // books 5–150
}

var givenNames = []string{
	"Wei", "Fang", "Na", "Min", "Jing", "Lei", "Yang", "Jie", "Tao", "Yan",
	"Li", "Qiang", "Xiu", "Jun", "Hui", "Ping", "Ming", "Hong", "Lin", "Chao",
	"Yu", "Xin", "Hao", "Ying",
}

var familyNames = []string{
	"Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu",
	"Xu", "Sun", "Hu", "Zhu", "Gao", "Lin", "He", "Guo", "Ma", "Luo",
}

// flatten returns the concatenation of lists and, for each list, the index of its first element
// in the result.
func flatten(lists [][]string) (all []string, first []int) {
	for _, l := range lists {
		first = append(first, len(all))
		all = append(all, l...)
	}
	return all, first
}

var (
	cities, firstCity  = flatten(citiesByRegion)
	brands, firstBrand = flatten(brandsByCategory)
	cityWeights        = rankWeights(citiesByRegion)
	brandWeights       = rankWeights(brandsByCategory)
	fullNames          = func() []string {
		names := make([]string, 0, len(givenNames)*len(familyNames))
		for _, g := range givenNames {
			for _, f := range familyNames {
				names = append(names, g+" "+f)
			}
		}
		return names
	}()
)

// rankWeights gives each list a weights whose first element is the most likely: n, n-1, ..., 1.
func rankWeights(lists [][]string) []weights {
	ws := make([]weights, len(lists))
	for i, l := range lists {
		w := make([]uint32, len(l))
		for j := range w {
			w[j] = uint32(len(l) - j)
		}
		ws[i] = newWeights(w...)
	}
	return ws
}
