package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/engine/golden"
	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/engine/postgres"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
	"github.com/koujing/koujing/semantic/oracletest"
)

// check says how TestBuildSQLOnPostgres compares a case's rows from PostgreSQL with the engine's.
type check int

const (
	checkSet     check = iota // the same rows, in any order
	checkOrdered              // the same rows in the same order
	checkCount                // the same number of rows (which rows is not defined)
	checkNone                 // golden text only: the plan reads tables the demo does not have
)

// sqlCase is a plan whose SQL is compared with testdata/sql/<name>.sql.
type sqlCase struct {
	name  string
	plan  plan.Node
	check check
}

// must panics on an error: the plans below are fixed, and a mistake in one is a bug in the test.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// scanOf scans columns of a demo table, aliased by the table's name.
func scanOf(table string, filter plan.Expr, columns ...string) *plan.Scan {
	s, ok := demodata.Schema(table)
	if !ok {
		panic("no demo table " + table)
	}
	return must(plan.NewScan("demo", table, table, s, columns, filter))
}

// demoColumn is the column of a demo table as a scan of it names it ("orders.amount").
func demoColumn(table, name string) *plan.Column {
	s, _ := demodata.Schema(table)
	f, ok := s.FieldsByName(name)
	if !ok {
		panic("no column " + table + "." + name)
	}
	return plan.NewColumn(table+"."+name, f[0].Type)
}

func col(n plan.Node, name string) plan.Expr { return must(plan.ColumnOf(n.Schema(), name)) }
func str(s string) *plan.Literal             { return must(plan.NewLiteral(s, plan.String)) }
func i64(v int64) *plan.Literal              { return must(plan.NewLiteral(v, plan.Int64)) }
func f64(v float64) *plan.Literal            { return must(plan.NewLiteral(v, plan.Float64)) }
func boolean(v bool) *plan.Literal           { return must(plan.NewLiteral(v, plan.Boolean)) }
func money(s string) *plan.Literal {
	return must(plan.ParseLiteral(s, plan.Decimal(12, 2), time.UTC))
}
func instant(s string) *plan.Literal {
	return must(plan.ParseLiteral(s, plan.Timestamp("UTC"), time.UTC))
}
func day(s string) *plan.Literal { return must(plan.ParseLiteral(s, plan.Date, time.UTC)) }
func bin(op plan.BinaryOp, l, r plan.Expr) plan.Expr {
	return must(plan.NewBinary(op, l, r))
}
func named(name string, e plan.Expr) plan.Named { return plan.Named{Name: name, Expr: e} }
func agg(name string, fn plan.AggFunc, arg, filter plan.Expr) plan.AggExpr {
	return must(plan.NewAggExpr(name, fn, arg, filter))
}
func zone(name string) *time.Location { return must(time.LoadLocation(name)) }
func trunc(x plan.Expr, u plan.TimeUnit, loc *time.Location) plan.Expr {
	return must(plan.NewTimeTrunc(x, u, loc))
}
func project(in plan.Node, exprs ...plan.Named) plan.Node { return must(plan.NewProject(in, exprs)) }
func calTrunc(x plan.Expr, u plan.TimeUnit, loc *time.Location, cal *plan.Calendar) plan.Expr {
	return must(plan.NewCalendarTrunc(x, u, loc, cal))
}
func shift(x plan.Expr, u plan.TimeUnit, n int64, loc *time.Location, cal *plan.Calendar) plan.Expr {
	return must(plan.NewTimeShift(x, u, n, loc, cal))
}

// Calendars for the time functions: weeks from Sunday; fiscal years from April; the NRF's 4-5-4
// retail calendar (years end on the Saturday nearest the end of January; 2023 has 53 weeks); and
// a 4-4-5 calendar whose years end on the last Saturday of December.
var (
	sundayWeeks       = &plan.Calendar{Name: "us", WeekStart: time.Sunday, FiscalYearStart: time.January}
	fiscalApril       = &plan.Calendar{Name: "fy", WeekStart: time.Monday, FiscalYearStart: time.April}
	nrf               = &plan.Calendar{Name: "nrf", WeekStart: time.Sunday, Retail: &plan.RetailCalendar{Pattern: [3]int{4, 5, 4}, YearEndMonth: time.January, YearEndWeekday: time.Saturday, Nearest: true}}
	retail445December = &plan.Calendar{Name: "r445", WeekStart: time.Sunday, Retail: &plan.RetailCalendar{Pattern: [3]int{4, 4, 5}, YearEndMonth: time.December, YearEndWeekday: time.Saturday}}
)

// paidStatuses is the filter that makes an order paid.
func paidStatuses() plan.Expr {
	return must(plan.NewIn(demoColumn("orders", "status"), []*plan.Literal{str("paid"), str("shipped"), str("completed")}, false))
}

// gmvByRegion is paid GMV and order count per order region.
func gmvByRegion() plan.Node {
	orders := scanOf("orders", paidStatuses(), "region", "amount", "status")
	return must(plan.NewAggregate(orders,
		[]plan.Named{named("orders.region", col(orders, "orders.region"))},
		[]plan.AggExpr{agg("gmv", plan.Sum, col(orders, "orders.amount"), nil), agg("orders", plan.Count, nil, nil)}))
}

// ordersByCity is order counts per customer city, NULL city included.
func ordersByCity() plan.Node {
	orders, customers := scanOf("orders", nil, "customer_id"), scanOf("customers", nil, "customer_id", "city")
	j := must(plan.NewJoin(plan.LeftJoin, orders, customers,
		[]plan.Expr{col(orders, "orders.customer_id")}, []plan.Expr{col(customers, "customers.customer_id")}, false))
	return must(plan.NewAggregate(j, []plan.Named{named("customers.city", col(j, "customers.city"))},
		[]plan.AggExpr{agg("order_count", plan.Count, nil, nil)}))
}

// customersByCity is customer counts per city, NULL city included, under other column names.
func customersByCity() plan.Node {
	customers := scanOf("customers", nil, "city")
	return must(plan.NewAggregate(customers, []plan.Named{named("#1:customers.city", col(customers, "customers.city"))},
		[]plan.AggExpr{agg("customer_count", plan.Count, nil, nil)}))
}

func sqlCases() []sqlCase {
	var cases []sqlCase
	add := func(name string, n plan.Node, c check) { cases = append(cases, sqlCase{name, n, c}) }

	// Scans.
	add("scan_filter", scanOf("orders",
		bin(plan.And, bin(plan.Eq, demoColumn("orders", "status"), str("paid")), bin(plan.GtEq, demoColumn("orders", "amount"), money("100.00"))),
		"order_id", "status", "amount"), checkSet)
	add("scan_no_columns", must(plan.NewAggregate(scanOf("orders", nil), nil,
		[]plan.AggExpr{agg("order_count", plan.Count, nil, nil)})), checkSet)
	ordersSchema, _ := demodata.Schema("orders")
	add("scan_schema_qualified", must(plan.NewScan("warehouse", "sales.orders", "o", ordersSchema, []string{"order_id", "amount"}, nil)), checkNone)
	add("scan_table_named_like_a_cte", must(plan.NewScan("warehouse", "q0", "q0", ordersSchema, []string{"order_id"}, nil)), checkNone)

	// Expressions.
	items := scanOf("order_items", nil, "item_id", "order_id", "quantity", "price")
	add("arithmetic", project(items,
		named("id", col(items, "order_items.item_id")),
		named("sum", bin(plan.Add, col(items, "order_items.quantity"), i64(1))),
		named("difference", bin(plan.Sub, col(items, "order_items.item_id"), col(items, "order_items.order_id"))),
		named("line_total", bin(plan.Mul, col(items, "order_items.quantity"), col(items, "order_items.price"))),
		named("price_plus_one", bin(plan.Add, col(items, "order_items.price"), money("1.00"))),
		named("unit_share", bin(plan.Div, col(items, "order_items.price"), col(items, "order_items.quantity"))),
		named("by_zero", bin(plan.Div, col(items, "order_items.quantity"), i64(0))),
		named("float_product", bin(plan.Mul, col(items, "order_items.price"), f64(0.5))),
		named("negated", must(plan.NewNegate(col(items, "order_items.quantity")))),
	), checkSet)
	orders := scanOf("orders", nil, "order_id", "status", "channel", "amount", "coupon_amount", "created_at", "paid_at")
	add("comparisons", project(orders,
		named("id", col(orders, "orders.order_id")),
		named("eq", bin(plan.Eq, col(orders, "orders.status"), str("paid"))),
		named("ne", bin(plan.NotEq, col(orders, "orders.channel"), str("app"))),
		named("lt_string", bin(plan.Lt, col(orders, "orders.status"), str("paid"))),
		named("le", bin(plan.LtEq, col(orders, "orders.amount"), money("250.50"))),
		named("gt_mixed", bin(plan.Gt, col(orders, "orders.amount"), i64(100))),
		named("ge_time", bin(plan.GtEq, col(orders, "orders.created_at"), instant("2025-03-01T08:00:00+08:00"))),
		named("columns", bin(plan.Lt, col(orders, "orders.created_at"), col(orders, "orders.paid_at"))),
	), checkSet)
	add("logic", project(orders,
		named("id", col(orders, "orders.order_id")),
		named("and_or", bin(plan.Or,
			bin(plan.And, bin(plan.Eq, col(orders, "orders.channel"), str("web")), bin(plan.Gt, col(orders, "orders.amount"), money("500.00"))),
			must(plan.NewNot(bin(plan.Eq, col(orders, "orders.status"), str("placed")))))),
		named("is_null", plan.NewIsNull(col(orders, "orders.coupon_amount"), false)),
		named("is_not_null", plan.NewIsNull(col(orders, "orders.paid_at"), true)),
		named("in", must(plan.NewIn(col(orders, "orders.status"), []*plan.Literal{str("paid"), str("shipped")}, false))),
		named("not_in_with_null", must(plan.NewIn(col(orders, "orders.channel"), []*plan.Literal{str("app"), plan.Null(plan.String)}, true))),
		named("coalesced", must(plan.NewCoalesce(col(orders, "orders.coupon_amount"), i64(0)))),
		named("boolean_constant", bin(plan.And, boolean(true), plan.NewIsNull(col(orders, "orders.paid_at"), false))),
	), checkSet)
	customers := scanOf("customers", nil, "customer_id", "name", "city", "signup_date")
	add("strings", project(customers,
		named("id", col(customers, "customers.customer_id")),
		named("has_an", must(plan.NewContains(col(customers, "customers.city"), "AN", false))),
		named("lacks_zh", must(plan.NewContains(col(customers, "customers.city"), "zh", true))),
		named("city_or_none", must(plan.NewCoalesce(col(customers, "customers.city"), str("(none)")))),
		named("before_m", bin(plan.Lt, col(customers, "customers.name"), str("M"))),
	), checkSet)
	add("masks", project(customers,
		named("id", col(customers, "customers.customer_id")),
		named("name_hash", must(plan.NewMask(col(customers, "customers.name"), plan.MaskHash))),
		named("name_partial", must(plan.NewMask(col(customers, "customers.name"), plan.MaskPartial))),
		named("city_hash", must(plan.NewMask(col(customers, "customers.city"), plan.MaskHash))),
		named("city_partial", must(plan.NewMask(col(customers, "customers.city"), plan.MaskPartial))),
	), checkSet)
	products := scanOf("products", nil, "product_id", "unit_price")
	add("case", project(products,
		named("id", col(products, "products.product_id")),
		named("band", must(plan.NewCase([]plan.When{
			{Cond: bin(plan.Lt, col(products, "products.unit_price"), i64(100)), Then: str("under 100")},
			{Cond: bin(plan.Lt, col(products, "products.unit_price"), i64(500)), Then: str("100 to 500")},
		}, str("500 and over")))),
		named("discount", must(plan.NewCase([]plan.When{
			{Cond: bin(plan.Gt, col(products, "products.unit_price"), i64(1000)), Then: i64(50)},
		}, nil))),
		named("untyped_null", must(plan.NewCase([]plan.When{
			{Cond: bin(plan.Lt, col(products, "products.unit_price"), i64(10)), Then: plan.Null(arrow.Null)},
		}, str("not cheap")))),
	), checkSet)
	add("casts", project(items,
		named("id", col(items, "order_items.item_id")),
		named("quantity_float", must(plan.NewCast(col(items, "order_items.quantity"), plan.Float64))),
		named("price_float", must(plan.NewCast(col(items, "order_items.price"), plan.Float64))),
		named("quantity_decimal", must(plan.NewCast(col(items, "order_items.quantity"), plan.Decimal(12, 2)))),
		named("price_wider", must(plan.NewCast(col(items, "order_items.price"), plan.Decimal(38, 4)))),
	), checkSet)
	times := scanOf("orders", nil, "order_id", "created_at")
	dates := scanOf("customers", nil, "customer_id", "signup_date")
	created := col(times, "orders.created_at")
	add("time_trunc", project(times,
		named("id", col(times, "orders.order_id")),
		named("day_new_york", trunc(created, plan.Day, zone("America/New_York"))),
		named("week_utc", trunc(created, plan.Week, time.UTC)),
		named("month_shanghai", trunc(created, plan.Month, zone("Asia/Shanghai"))),
		named("quarter_new_york", trunc(created, plan.Quarter, zone("America/New_York"))),
		named("year_shanghai", trunc(created, plan.Year, zone("Asia/Shanghai"))),
	), checkSet)
	add("date_trunc", project(dates,
		named("id", col(dates, "customers.customer_id")),
		named("week", trunc(col(dates, "customers.signup_date"), plan.Week, time.UTC)),
		named("month", trunc(col(dates, "customers.signup_date"), plan.Month, zone("Asia/Shanghai"))),
		named("in_2021", bin(plan.And,
			bin(plan.GtEq, col(dates, "customers.signup_date"), day("2021-01-01")),
			bin(plan.Lt, col(dates, "customers.signup_date"), day("2022-01-01")))),
	), checkSet)

	ny := zone("America/New_York")
	add("calendar_trunc", project(times,
		named("id", col(times, "orders.order_id")),
		named("week_from_sunday", calTrunc(created, plan.Week, ny, sundayWeeks)),
		named("week_from_saturday", calTrunc(created, plan.Week, time.UTC, &plan.Calendar{Name: "sat", WeekStart: time.Saturday, FiscalYearStart: time.January})),
		named("fiscal_year_april", calTrunc(created, plan.FiscalYear, ny, fiscalApril)),
		named("fiscal_quarter_april", calTrunc(created, plan.FiscalQuarter, zone("Asia/Shanghai"), fiscalApril)),
		named("fiscal_month_april", calTrunc(created, plan.FiscalMonth, ny, fiscalApril)),
		named("retail_year", calTrunc(created, plan.FiscalYear, ny, nrf)),
		named("retail_quarter", calTrunc(created, plan.FiscalQuarter, ny, nrf)),
		named("retail_month", calTrunc(created, plan.FiscalMonth, ny, nrf)),
		named("retail_week", calTrunc(created, plan.Week, ny, nrf)),
		named("retail_445_december_month", calTrunc(created, plan.FiscalMonth, time.UTC, retail445December)),
		named("retail_445_december_year", calTrunc(created, plan.FiscalYear, time.UTC, retail445December)),
	), checkSet)
	add("calendar_trunc_dates", project(dates,
		named("id", col(dates, "customers.customer_id")),
		named("week_from_sunday", calTrunc(col(dates, "customers.signup_date"), plan.Week, time.UTC, sundayWeeks)),
		named("fiscal_quarter_april", calTrunc(col(dates, "customers.signup_date"), plan.FiscalQuarter, ny, fiscalApril)),
		named("retail_month", calTrunc(col(dates, "customers.signup_date"), plan.FiscalMonth, ny, nrf)),
	), checkSet)
	monthStart := trunc(created, plan.Month, ny)
	dayStart := trunc(created, plan.Day, ny)
	add("time_shift", project(times,
		named("id", col(times, "orders.order_id")),
		named("year_before", shift(created, plan.Year, -1, ny, nil)),
		named("month_before_day", shift(dayStart, plan.Month, -1, ny, nil)),
		named("quarter_after", shift(created, plan.Quarter, 1, zone("Asia/Shanghai"), nil)),
		named("day_before", shift(dayStart, plan.Day, -1, ny, nil)),
		named("weeks_before", shift(created, plan.Week, -52, ny, nil)),
		named("previous_month_start", trunc(shift(monthStart, plan.Month, -1, ny, nil), plan.Month, ny)),
		named("fiscal_year_before", shift(created, plan.FiscalYear, -1, ny, fiscalApril)),
		named("retail_year_before", shift(dayStart, plan.FiscalYear, -1, ny, nrf)),
		named("retail_quarter_before", shift(dayStart, plan.FiscalQuarter, -1, ny, nrf)),
		named("retail_month_before", shift(dayStart, plan.FiscalMonth, -1, ny, nrf)),
	), checkSet)
	add("time_shift_dates", project(dates,
		named("id", col(dates, "customers.customer_id")),
		named("year_before", shift(col(dates, "customers.signup_date"), plan.Year, -1, ny, nil)),
		named("month_after", shift(col(dates, "customers.signup_date"), plan.Month, 1, ny, nil)),
		named("retail_year_before", shift(col(dates, "customers.signup_date"), plan.FiscalYear, -1, ny, nrf)),
	), checkSet)
	byMonth := must(plan.NewAggregate(scanOf("orders", nil, "region", "amount", "created_at"), []plan.Named{
		named("orders.region", demoColumn("orders", "region")),
		named("month", trunc(demoColumn("orders", "created_at"), plan.Month, ny)),
	}, []plan.AggExpr{agg("gmv", plan.Sum, demoColumn("orders", "amount"), nil)}))
	prevMonth := trunc(shift(col(byMonth, "month"), plan.Month, -1, ny, nil), plan.Month, ny)
	add("lookup_previous_month", must(plan.NewLookup(byMonth,
		[]plan.Expr{col(byMonth, "orders.region"), col(byMonth, "month")},
		[]plan.Expr{col(byMonth, "orders.region"), prevMonth},
		[]plan.Named{named("gmv.previous", col(byMonth, "gmv")), named("month.previous", col(byMonth, "month"))})), checkSet)

	// Time spines: refunded store orders are few, so many weeks and months have none.
	rare := scanOf("orders", bin(plan.And, bin(plan.Eq, demoColumn("orders", "status"), str("refunded")), bin(plan.Eq, demoColumn("orders", "channel"), str("store"))),
		"region", "created_at", "status", "channel")
	rareBy := func(unit plan.TimeUnit, cal *plan.Calendar, region bool) plan.Node {
		group := []plan.Named{named("t", calTrunc(demoColumn("orders", "created_at"), unit, ny, cal))}
		if region {
			group = append([]plan.Named{named("orders.region", demoColumn("orders", "region"))}, group...)
		}
		return must(plan.NewAggregate(rare, group, []plan.AggExpr{agg("n", plan.Count, nil, nil)}))
	}
	byWeekRegion := rareBy(plan.Week, nil, true)
	add("densify_from_the_data", must(plan.NewDensify(byWeekRegion, "t", []string{"orders.region"}, plan.Week, ny, nil, nil, nil)), checkSet)
	nyInstant := func(s string) *plan.Literal {
		return must(plan.ParseLiteral(s, plan.Timestamp("America/New_York"), ny))
	}
	add("densify_between_ends", must(plan.NewDensify(rareBy(plan.Month, nil, false), "t", nil, plan.Month, ny, nil,
		nyInstant("2022-11-01"), nyInstant("2024-03-01"))), checkSet)
	add("densify_retail_months", must(plan.NewDensify(rareBy(plan.FiscalMonth, nrf, true), "t", []string{"orders.region"}, plan.FiscalMonth, ny, nrf,
		nil, nil)), checkSet)
	signups := scanOf("customers", bin(plan.Eq, demoColumn("customers", "segment"), str("home_office")), "signup_date", "segment")
	byWeekOfSignup := must(plan.NewAggregate(signups, []plan.Named{named("t", calTrunc(demoColumn("customers", "signup_date"), plan.Week, time.UTC, sundayWeeks))},
		[]plan.AggExpr{agg("n", plan.Count, nil, nil)}))
	add("densify_dates", must(plan.NewDensify(byWeekOfSignup, "t", nil, plan.Week, time.UTC, sundayWeeks, nil, day("2024-01-07"))), checkSet)

	// Time windows: each row once for every period whose window holds its time, then aggregated.
	windowed := func(in plan.Node, tcol string, unit plan.TimeUnit, kind plan.WindowKind, n int64, span plan.TimeUnit, loc *time.Location,
		cal *plan.Calendar, from, to *plan.Literal, keys []string, aggs func(plan.Node) []plan.AggExpr) plan.Node {
		w := must(plan.NewTimeWindows(in, tcol, "period", unit, kind, n, span, loc, cal, from, to))
		group := []plan.Named{named("period", col(w, "period"))}
		for _, k := range keys {
			group = append(group, named(k, col(w, k)))
		}
		return must(plan.NewAggregate(w, group, aggs(w)))
	}
	daily := must(plan.NewAggregate(scanOf("orders", paidStatuses(), "region", "amount", "created_at", "status"), []plan.Named{
		named("orders.region", demoColumn("orders", "region")),
		named("day", trunc(demoColumn("orders", "created_at"), plan.Day, ny)),
	}, []plan.AggExpr{agg("gmv", plan.Sum, demoColumn("orders", "amount"), nil), agg("n", plan.Count, nil, nil)}))
	add("windows_rolling_days", windowed(daily, "day", plan.Day, plan.RollingWindow, 7, plan.Day, ny, nil,
		nyInstant("2024-03-01"), nyInstant("2024-04-15"), []string{"orders.region"}, func(w plan.Node) []plan.AggExpr {
			return []plan.AggExpr{agg("gmv", plan.Sum, col(w, "gmv"), nil), agg("n", plan.Sum, col(w, "n"), nil)}
		}), checkSet)
	add("windows_rolling_months_by_week", windowed(daily, "day", plan.Week, plan.RollingWindow, 1, plan.Month, ny, nil,
		nil, nil, nil, func(w plan.Node) []plan.AggExpr { return []plan.AggExpr{agg("gmv", plan.Sum, col(w, "gmv"), nil)} }), checkSet)
	buyerDays := must(plan.NewAggregate(scanOf("orders", paidStatuses(), "customer_id", "created_at", "status"), []plan.Named{
		named("orders.customer_id", demoColumn("orders", "customer_id")),
		named("day", trunc(demoColumn("orders", "created_at"), plan.Day, time.UTC)),
	}, nil))
	add("windows_month_to_date_distinct", windowed(buyerDays, "day", plan.Day, plan.ToDateWindow, 0, plan.Month, time.UTC, nil,
		instant("2025-01-01T00:00:00Z"), instant("2025-03-01T00:00:00Z"), nil, func(w plan.Node) []plan.AggExpr {
			return []plan.AggExpr{agg("buyers", plan.CountDistinct, col(w, "orders.customer_id"), nil)}
		}), checkSet)
	monthly := must(plan.NewAggregate(scanOf("orders", nil, "amount", "created_at"), []plan.Named{
		named("month", trunc(demoColumn("orders", "created_at"), plan.Month, zone("Asia/Shanghai"))),
	}, []plan.AggExpr{agg("gmv", plan.Sum, demoColumn("orders", "amount"), nil)}))
	add("windows_running", windowed(monthly, "month", plan.Month, plan.RunningWindow, 0, plan.Month, zone("Asia/Shanghai"), nil,
		nil, nil, nil, func(w plan.Node) []plan.AggExpr { return []plan.AggExpr{agg("gmv", plan.Sum, col(w, "gmv"), nil)} }), checkSet)
	retailWeekly := must(plan.NewAggregate(scanOf("orders", nil, "amount", "created_at"), []plan.Named{
		named("week", calTrunc(demoColumn("orders", "created_at"), plan.Week, ny, nrf)),
	}, []plan.AggExpr{agg("gmv", plan.Sum, demoColumn("orders", "amount"), nil)}))
	add("windows_retail_year_to_date", windowed(retailWeekly, "week", plan.FiscalMonth, plan.ToDateWindow, 0, plan.FiscalYear, ny, nrf,
		nil, nil, nil, func(w plan.Node) []plan.AggExpr { return []plan.AggExpr{agg("gmv", plan.Sum, col(w, "gmv"), nil)} }), checkSet)
	signupDays := scanOf("customers", nil, "customer_id", "signup_date")
	add("windows_dates", windowed(signupDays, "customers.signup_date", plan.Week, plan.RollingWindow, 4, plan.Week, time.UTC, sundayWeeks,
		day("2023-01-01"), day("2024-01-07"), nil, func(w plan.Node) []plan.AggExpr { return []plan.AggExpr{agg("signups", plan.Count, nil, nil)} }), checkSet)

	// Aggregates.
	o := scanOf("orders", nil, "region", "customer_id", "channel", "status", "amount", "coupon_amount", "created_at")
	paid := must(plan.NewIn(col(o, "orders.status"), []*plan.Literal{str("paid"), str("shipped"), str("completed")}, false))
	add("aggregates", must(plan.NewAggregate(o, []plan.Named{named("orders.region", col(o, "orders.region"))}, []plan.AggExpr{
		agg("gmv", plan.Sum, col(o, "orders.amount"), nil),
		agg("orders", plan.Count, nil, nil),
		agg("with_coupon", plan.Count, col(o, "orders.coupon_amount"), nil),
		agg("buyers", plan.CountDistinct, col(o, "orders.customer_id"), nil),
		agg("average", plan.Avg, col(o, "orders.amount"), nil),
		agg("smallest", plan.Min, col(o, "orders.amount"), nil),
		agg("latest", plan.Max, col(o, "orders.created_at"), nil),
		agg("first_channel", plan.Min, col(o, "orders.channel"), nil),
		agg("last_status", plan.Max, col(o, "orders.status"), nil),
	})), checkSet)
	percentile := func(name string, fraction float64, arg, filter plan.Expr) plan.AggExpr {
		a := agg(name, plan.Percentile, arg, filter)
		a.Fraction = fraction
		return a
	}
	add("aggregates_percentiles", must(plan.NewAggregate(o, []plan.Named{named("orders.channel", col(o, "orders.channel"))}, []plan.AggExpr{
		agg("median_amount", plan.Median, col(o, "orders.amount"), nil),
		percentile("p90_amount", 0.9, col(o, "orders.amount"), nil),
		percentile("p0_coupon", 0, col(o, "orders.coupon_amount"), nil),
		percentile("p100_paid", 1, col(o, "orders.amount"), paid),
		percentile("p37_customer", 0.37, col(o, "orders.customer_id"), nil),
		percentile("p99_none", 0.99, col(o, "orders.coupon_amount"), bin(plan.Eq, col(o, "orders.status"), str("no such status"))),
	})), checkSet)
	add("aggregates_filtered", must(plan.NewAggregate(o, []plan.Named{named("orders.region", col(o, "orders.region"))}, []plan.AggExpr{
		agg("gmv_paid", plan.Sum, col(o, "orders.amount"), paid),
		agg("paid_orders", plan.Count, nil, paid),
		agg("paid_with_coupon", plan.Count, col(o, "orders.coupon_amount"), paid),
		agg("paid_buyers", plan.CountDistinct, col(o, "orders.customer_id"), paid),
		agg("paid_average", plan.Avg, col(o, "orders.amount"), paid),
		agg("paid_smallest", plan.Min, col(o, "orders.amount"), paid),
		agg("paid_latest", plan.Max, col(o, "orders.created_at"), paid),
		agg("app_first_status", plan.Min, col(o, "orders.status"), bin(plan.Eq, col(o, "orders.channel"), str("app"))),
	})), checkSet)
	li := scanOf("order_items", nil, "item_id", "product_id", "quantity", "price")
	share := bin(plan.Div, col(li, "order_items.price"), col(li, "order_items.quantity"))
	add("aggregates_integer_and_float", must(plan.NewAggregate(li, []plan.Named{named("order_items.quantity", col(li, "order_items.quantity"))}, []plan.AggExpr{
		agg("items", plan.Sum, col(li, "order_items.quantity"), nil),
		agg("id_total", plan.Sum, col(li, "order_items.item_id"), nil),
		agg("big_id_total", plan.Sum, col(li, "order_items.item_id"), bin(plan.Gt, col(li, "order_items.product_id"), i64(10))),
		agg("share_total", plan.Sum, share, nil),
		agg("share_average", plan.Avg, share, nil),
		agg("quantity_average", plan.Avg, col(li, "order_items.quantity"), nil),
		agg("largest_quantity", plan.Max, col(li, "order_items.quantity"), nil),
	})), checkSet)
	none := scanOf("orders", bin(plan.Eq, demoColumn("orders", "status"), str("no such status")), "amount", "status")
	add("aggregate_over_no_rows", must(plan.NewAggregate(none, nil, []plan.AggExpr{
		agg("orders", plan.Count, nil, nil),
		agg("gmv", plan.Sum, col(none, "orders.amount"), nil),
		agg("average", plan.Avg, col(none, "orders.amount"), nil),
	})), checkSet)
	add("aggregate_by_expressions", must(plan.NewAggregate(o, []plan.Named{
		named("orders.created_at.month", trunc(col(o, "orders.created_at"), plan.Month, zone("Asia/Shanghai"))),
		named("size", must(plan.NewCase([]plan.When{{Cond: bin(plan.Lt, col(o, "orders.amount"), i64(100)), Then: str("small")}}, str("large")))),
	}, []plan.AggExpr{agg("gmv", plan.Sum, col(o, "orders.amount"), nil)})), checkSet)
	add("aggregate_without_aggregates", must(plan.NewAggregate(o, []plan.Named{
		named("orders.region", col(o, "orders.region")), named("orders.channel", col(o, "orders.channel")),
	}, nil)), checkSet)
	add("aggregate_of_nothing", must(plan.NewAggregate(scanOf("orders", nil, "order_id"), nil, nil)), checkSet)
	inner := gmvByRegion()
	add("aggregate_nested", must(plan.NewAggregate(inner, nil, []plan.AggExpr{
		agg("regions", plan.Count, nil, nil),
		agg("top_gmv", plan.Max, col(inner, "gmv"), nil),
		agg("gmv", plan.Sum, col(inner, "gmv"), nil),
		agg("big_regions", plan.Count, nil, bin(plan.Gt, col(inner, "orders"), i64(1000))),
	})), checkSet)

	// Joins.
	jo, jc := scanOf("orders", nil, "order_id", "customer_id", "amount"), scanOf("customers", nil, "customer_id", "segment", "city")
	add("join_inner", must(plan.NewJoin(plan.InnerJoin, jo, jc,
		[]plan.Expr{col(jo, "orders.customer_id")}, []plan.Expr{col(jc, "customers.customer_id")}, false)), checkSet)
	ji, jp := scanOf("order_items", nil, "item_id", "product_id"), scanOf("products", nil, "product_id", "category")
	add("join_left", must(plan.NewJoin(plan.LeftJoin, ji, jp,
		[]plan.Expr{col(ji, "order_items.product_id")}, []plan.Expr{col(jp, "products.product_id")}, false)), checkSet)
	byRegion := gmvByRegion()
	customerRegions := must(plan.NewAggregate(scanOf("customers", nil, "region"),
		[]plan.Named{named("#1:orders.region", demoColumn("customers", "region"))},
		[]plan.AggExpr{agg("customers", plan.Count, nil, nil)}))
	add("join_full", must(plan.NewJoin(plan.FullJoin, byRegion, customerRegions,
		[]plan.Expr{col(byRegion, "orders.region")}, []plan.Expr{col(customerRegions, "#1:orders.region")}, false)), checkSet)
	a, bb := ordersByCity(), customersByCity()
	add("join_null_safe_inner", must(plan.NewJoin(plan.InnerJoin, a, bb,
		[]plan.Expr{col(a, "customers.city")}, []plan.Expr{col(bb, "#1:customers.city")}, true)), checkSet)
	add("join_null_safe_left", must(plan.NewJoin(plan.LeftJoin, a, bb,
		[]plan.Expr{col(a, "customers.city")}, []plan.Expr{col(bb, "#1:customers.city")}, true)), checkSet)
	full := must(plan.NewJoin(plan.FullJoin, a, bb,
		[]plan.Expr{col(a, "customers.city")}, []plan.Expr{col(bb, "#1:customers.city")}, true))
	add("join_null_safe_full", project(full,
		named("customers.city", must(plan.NewCoalesce(col(full, "customers.city"), col(full, "#1:customers.city")))),
		named("order_count", col(full, "order_count")),
		named("customer_count", col(full, "customer_count")),
	), checkSet)
	x, y := gmvByRegion(), customerRegions
	add("join_null_safe_full_two_keys", must(plan.NewJoin(plan.FullJoin, x, y,
		[]plan.Expr{col(x, "orders.region"), col(x, "orders")}, []plan.Expr{col(y, "#1:orders.region"), col(y, "customers")}, true)), checkSet)
	jf := must(plan.NewJoin(plan.LeftJoin, jo, jc,
		[]plan.Expr{col(jo, "orders.customer_id")}, []plan.Expr{col(jc, "customers.customer_id")}, false))
	add("filter_over_join", must(plan.NewFilter(jf, must(plan.NewContains(col(jf, "customers.city"), "an", false)))), checkSet)

	// Order and limits.
	cities := ordersByCity()
	sorted := must(plan.NewSort(cities, []plan.SortKey{
		{Expr: col(cities, "customers.city"), NullsFirst: true},
		{Expr: col(cities, "order_count"), Desc: true},
	}))
	add("sort_nulls_first_and_strings", sorted, checkOrdered)
	ranked := must(plan.NewSort(cities, []plan.SortKey{
		{Expr: col(cities, "order_count"), Desc: true},
		{Expr: col(cities, "customers.city"), Desc: true, NullsFirst: false},
	}))
	add("limit_offset", must(plan.NewLimit(ranked, 2, 5)), checkOrdered)
	add("offset_only", must(plan.NewLimit(ranked, 3, -1)), checkOrdered)
	add("limit_without_sort", must(plan.NewLimit(scanOf("orders", nil, "order_id"), 0, 7)), checkCount)
	add("limit_then_sort", must(plan.NewSort(must(plan.NewLimit(ranked, 0, 4)), []plan.SortKey{{Expr: col(cities, "customers.city")}})), checkOrdered)
	add("project_over_sort", project(sorted,
		named("city", col(sorted, "customers.city")),
		named("orders", col(sorted, "order_count")),
		named("busy", bin(plan.Gt, col(sorted, "order_count"), i64(100))),
	), checkOrdered)
	add("filter_over_sort", must(plan.NewFilter(sorted, bin(plan.Gt, col(sorted, "order_count"), i64(100)))), checkOrdered)
	return cases
}

// goldenSQL is what a golden file holds: the statement, then one comment line per parameter.
func goldenSQL(stmt *postgres.Statement) string {
	var b strings.Builder
	b.WriteString(stmt.SQL)
	b.WriteString("\n")
	for i, p := range stmt.Params {
		fmt.Fprintf(&b, "-- $%d = %s (%s)\n", i+1, p, paramTypeName(p.Type))
	}
	return b.String()
}

// paramTypeName names a parameter's PostgreSQL type, for golden files.
func paramTypeName(t arrow.DataType) string {
	switch {
	case t.ID() == arrow.NULL:
		return "unknown"
	case t.ID() == arrow.INT64:
		return "bigint"
	case plan.IsInteger(t):
		return "integer"
	case plan.IsFloat(t):
		return "float8"
	case plan.IsDecimal(t):
		return "numeric"
	case plan.IsString(t):
		return "text"
	case t.ID() == arrow.TIMESTAMP:
		return "timestamptz"
	}
	return plan.TypeName(t)
}

func TestBuildSQLGolden(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range sqlCases() {
		t.Run(c.name, func(t *testing.T) {
			if seen[c.name] {
				t.Fatalf("two cases are named %s", c.name)
			}
			seen[c.name] = true
			stmt, err := postgres.BuildSQL(c.plan)
			if err != nil {
				t.Fatalf("%v\nplan:\n%s", err, plan.Format(c.plan))
			}
			if !stmt.Schema.Equal(c.plan.Schema()) {
				t.Errorf("statement schema %s, plan schema %s", stmt.Schema, c.plan.Schema())
			}
			again, err := postgres.BuildSQL(c.plan)
			if err != nil || again.SQL != stmt.SQL || len(again.Params) != len(stmt.Params) {
				t.Errorf("a second build differs:\n%s", again.SQL)
			}
			golden.Compare(t, filepath.Join("testdata", "sql", c.name+".sql"), goldenSQL(stmt))
		})
	}
}

// TestBuildSQLOracleGolden writes the SQL of every oracle case's compiled plan to
// testdata/sql/oracle: what the warehouse is asked for the questions TestBuildSQLOnPostgres
// checks the answers of.
func TestBuildSQLOracleGolden(t *testing.T) {
	ctx := context.Background()
	src := engine.NewSources(memory.NewGoAllocator())
	defer src.Close()
	cat, err := semantic.LoadFS(ctx, demo.FS, semantic.SourcesResolver(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range oracletest.Cases(t) {
		t.Run(c.Name, func(t *testing.T) {
			cq, err := cat.Compile(c.Query.MetricQuery(), semantic.CompileOptions{}, cat.FullAccess())
			if err != nil {
				t.Fatal(err)
			}
			stmt, err := postgres.BuildSQL(cq.Plan)
			if err != nil {
				t.Fatalf("%v\nplan:\n%s", err, plan.Format(cq.Plan))
			}
			golden.Compare(t, filepath.Join("testdata", "sql", "oracle", golden.Name(c.Name)+".sql"), "-- "+c.Name+"\n"+goldenSQL(stmt))
		})
	}
}

// opaqueExpr is an expression BuildSQL does not know.
type opaqueExpr struct{ plan.Expr }

// opaqueNode is a plan node BuildSQL does not know.
type opaqueNode struct{ plan.Node }

func (opaqueNode) String() string { return "Opaque" }

func TestBuildSQLErrors(t *testing.T) {
	orders := scanOf("orders", nil, "order_id", "created_at", "status")
	local := time.FixedZone("", 3600)
	cases := []struct {
		name string
		plan plan.Node
		want string
	}{
		{
			name: "unknown expression",
			plan: project(orders, named("x", opaqueExpr{col(orders, "orders.order_id")})),
			want: "expression postgres_test.opaqueExpr",
		},
		{
			name: "unknown node",
			plan: opaqueNode{orders},
			want: "plan node postgres_test.opaqueNode (Opaque)",
		},
		{
			name: "unknown node below a known one",
			plan: must(plan.NewLimit(opaqueNode{orders}, 0, 1)),
			want: "plan node postgres_test.opaqueNode",
		},
		{
			name: "zone without a name",
			plan: project(orders, named("d", trunc(col(orders, "orders.created_at"), plan.Day, local))),
			want: `time zone "" is not an IANA zone name`,
		},
		{
			name: "process-local zone",
			plan: project(orders, named("d", trunc(col(orders, "orders.created_at"), plan.Day, time.Local))),
			want: `time zone "Local" is not an IANA zone name`,
		},
		{
			name: "sort key dropped by a projection above",
			plan: project(must(plan.NewSort(orders, []plan.SortKey{{Expr: col(orders, "orders.status")}})),
				named("id", col(orders, "orders.order_id"))),
			want: "sort key column orders.status is not an output column",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stmt, err := postgres.BuildSQL(c.plan)
			if err == nil {
				t.Fatalf("got SQL, want an error:\n%s", stmt.SQL)
			}
			if !errors.Is(err, postgres.ErrNotExpressible) {
				t.Errorf("error %q does not wrap ErrNotExpressible", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
		})
	}
}

// TestBuildSQLKeepsConstantsOutOfText checks that constants only ever travel as parameters,
// whatever they hold.
func TestBuildSQLKeepsConstantsOutOfText(t *testing.T) {
	hostile := []string{
		"x'); drop table orders; --",
		"$1",
		`back\slash`,
		"\"quoted\" identifier",
		"上海 — ünïcödé 🙂",
		"*/ /* --",
	}
	for _, h := range hostile {
		t.Run(h, func(t *testing.T) {
			orders := scanOf("orders", bin(plan.Eq, demoColumn("orders", "status"), str(h)), "status", "channel", "amount")
			p := must(plan.NewAggregate(orders, []plan.Named{named("orders.channel", col(orders, "orders.channel"))}, []plan.AggExpr{
				agg("n", plan.Count, nil, must(plan.NewIn(col(orders, "orders.channel"), []*plan.Literal{str(h), str("app")}, false))),
				agg("m", plan.Count, nil, must(plan.NewContains(col(orders, "orders.channel"), h, true))),
			}))
			stmt, err := postgres.BuildSQL(p)
			if err != nil {
				t.Fatal(err)
			}
			// "$1" is also how the SQL names the first parameter; the quote test covers it.
			if h != "$1" && strings.Contains(stmt.SQL, h) {
				t.Errorf("the SQL holds %q:\n%s", h, stmt.SQL)
			}
			if strings.Contains(stmt.SQL, "'") {
				t.Errorf("the SQL holds a string constant:\n%s", stmt.SQL)
			}
			found := 0
			for _, p := range stmt.Params {
				if p.Value == h {
					found++
				}
			}
			if found != 1 {
				t.Errorf("%q is %d parameters, want 1 (shared by its three uses): %v", h, found, stmt.Params)
			}
		})
	}
}
