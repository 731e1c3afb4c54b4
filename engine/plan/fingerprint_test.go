package plan

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// must returns v, and panics on an error: the plans of these tests are fixtures that build.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestFingerprintTellsPlansApart builds pairs of plans that differ in exactly one detail that
// can change a result, and checks that their fingerprints differ while rebuilding either plan
// gives the same fingerprint again.
func TestFingerprintTellsPlansApart(t *testing.T) {
	shanghai := must(time.LoadLocation("Asia/Shanghai"))
	orders := func(t *testing.T) *Scan {
		return scanOf(t, "orders", testOrders, "order_id", "customer_id", "status", "amount", "quantity", "created_at")
	}
	// project computes one expression, named x, over the orders.
	project := func(t *testing.T, e func(s Node) Expr) Node {
		s := orders(t)
		return must(NewProject(s, []Named{{Name: "x", Expr: e(s)}}))
	}
	literal := func(v any, typ arrow.DataType) func(*testing.T) Node {
		return func(t *testing.T) Node {
			return project(t, func(Node) Expr { return must(NewLiteral(v, typ)) })
		}
	}
	// rowFilter keeps the orders whose status is value, as a row filter from policy would.
	rowFilter := func(value string) func(*testing.T) Node {
		return func(t *testing.T) Node {
			s := orders(t)
			return must(NewFilter(s, must(NewBinary(Eq, col(t, s, "orders.status"), lit(t, value, String)))))
		}
	}
	scanFilter := func(value string) func(*testing.T) Node {
		return func(t *testing.T) Node {
			s := orders(t)
			return must(s.WithFilter(must(NewBinary(Eq, col(t, s, "orders.status"), lit(t, value, String)))))
		}
	}
	trunc := func(unit TimeUnit, loc *time.Location) func(*testing.T) Node {
		return func(t *testing.T) Node {
			return project(t, func(s Node) Expr { return must(NewTimeTrunc(col(t, s, "orders.created_at"), unit, loc)) })
		}
	}
	sunday := &Calendar{Name: "us", WeekStart: time.Sunday, FiscalYearStart: time.January}
	april := &Calendar{Name: "fy", WeekStart: time.Monday, FiscalYearStart: time.April}
	retail := func(pattern [3]int, nearest bool) *Calendar {
		return &Calendar{Name: "nrf", WeekStart: time.Sunday, Retail: &RetailCalendar{Pattern: pattern, YearEndMonth: time.January, YearEndWeekday: time.Saturday, Nearest: nearest}}
	}
	calendarTrunc := func(unit TimeUnit, cal *Calendar) func(*testing.T) Node {
		return func(t *testing.T) Node {
			return project(t, func(s Node) Expr {
				return must(NewCalendarTrunc(col(t, s, "orders.created_at"), unit, time.UTC, cal))
			})
		}
	}
	shift := func(unit TimeUnit, n int64, loc *time.Location, cal *Calendar) func(*testing.T) Node {
		return func(t *testing.T) Node {
			return project(t, func(s Node) Expr {
				return must(NewTimeShift(col(t, s, "orders.created_at"), unit, n, loc, cal))
			})
		}
	}
	lookup := func(probe string, value string) func(*testing.T) Node {
		return func(t *testing.T) Node {
			s := orders(t)
			return must(NewLookup(s, []Expr{col(t, s, "orders.order_id")}, []Expr{col(t, s, probe)},
				[]Named{{Name: "v", Expr: col(t, s, value)}}))
		}
	}
	densify := func(unit TimeUnit, keys []string, from *Literal) func(*testing.T) Node {
		return func(t *testing.T) Node {
			s := orders(t)
			p := must(NewProject(s, []Named{
				{Name: "status", Expr: col(t, s, "orders.status")},
				{Name: "month", Expr: must(NewTimeTrunc(col(t, s, "orders.created_at"), unit, time.UTC))},
			}))
			return must(NewDensify(p, "month", keys, unit, time.UTC, nil, from, nil))
		}
	}
	windows := func(kind WindowKind, n int64, span TimeUnit) func(*testing.T) Node {
		return func(t *testing.T) Node {
			return must(NewTimeWindows(orders(t), "orders.created_at", "p", Day, kind, n, span, time.UTC, nil, nil, nil))
		}
	}
	sorted := func(desc, nullsFirst bool) func(*testing.T) Node {
		return func(t *testing.T) Node {
			s := orders(t)
			return must(NewSort(s, []SortKey{{Expr: col(t, s, "orders.amount"), Desc: desc, NullsFirst: nullsFirst}}))
		}
	}
	limited := func(offset, count int64) func(*testing.T) Node {
		return func(t *testing.T) Node { return must(NewLimit(orders(t), offset, count)) }
	}
	aggregate := func(fn AggFunc, arg string, filter bool) func(*testing.T) Node {
		return func(t *testing.T) Node {
			s := orders(t)
			var a, f Expr
			if arg != "" {
				a = col(t, s, arg)
			}
			if filter {
				f = must(NewBinary(Gt, col(t, s, "orders.quantity"), lit(t, "1", Int64)))
			}
			agg := must(NewAggExpr("m", fn, a, f))
			return must(NewAggregate(s, []Named{{Name: "status", Expr: col(t, s, "orders.status")}}, []AggExpr{agg}))
		}
	}
	join := func(kind JoinKind, nullSafe bool) func(*testing.T) Node {
		return func(t *testing.T) Node {
			o, c := orders(t), scanOf(t, "customers", testCustomers, "customer_id", "region")
			return must(NewJoin(kind, o, c, []Expr{col(t, o, "orders.customer_id")}, []Expr{col(t, c, "customers.customer_id")}, nullSafe))
		}
	}
	scan := func(source, table, alias string, cols ...string) func(*testing.T) Node {
		return func(t *testing.T) Node { return must(NewScan(source, table, alias, testOrders, cols, nil)) }
	}
	unary := func(build func(t *testing.T, s Node) Expr) func(*testing.T) Node {
		return func(t *testing.T) Node { return project(t, func(s Node) Expr { return build(t, s) }) }
	}
	status := func(t *testing.T, s Node) Expr { return col(t, s, "orders.status") }
	in := func(not bool, values ...string) func(*testing.T) Node {
		return unary(func(t *testing.T, s Node) Expr {
			list := make([]*Literal, len(values))
			for i, v := range values {
				list[i] = lit(t, v, String)
			}
			return must(NewIn(status(t, s), list, not))
		})
	}
	mask := func(kind MaskKind) func(*testing.T) Node {
		return unary(func(t *testing.T, s Node) Expr { return must(NewMask(status(t, s), kind)) })
	}
	caseOf := func(withElse bool) func(*testing.T) Node {
		return unary(func(t *testing.T, s Node) Expr {
			var els Expr
			if withElse {
				els = lit(t, "0", Int64)
			}
			cond := NewIsNull(col(t, s, "orders.amount"), false)
			return must(NewCase([]When{{Cond: cond, Then: lit(t, "1", Int64)}}, els))
		})
	}
	utcInstant := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	dec := func(v int64, precision, scale int32) func(*testing.T) Node {
		return literal(decimal128.FromI64(v), Decimal(precision, scale))
	}
	// quantityOf scans the quantity of a table that declares it as typ.
	quantityOf := func(typ arrow.DataType) func(*testing.T) Node {
		return func(t *testing.T) Node {
			s := arrow.NewSchema([]arrow.Field{{Name: "quantity", Type: typ}}, nil)
			return must(NewScan("demo", "orders", "orders", s, []string{"quantity"}, nil))
		}
	}
	cast := func(to arrow.DataType, implicit bool) func(*testing.T) Node {
		return unary(func(t *testing.T, s Node) Expr { return must(newCast(col(t, s, "orders.quantity"), to, implicit)) })
	}
	binary := func(op BinaryOp, left, right string) func(*testing.T) Node {
		return unary(func(t *testing.T, s Node) Expr { return must(NewBinary(op, col(t, s, left), col(t, s, right))) })
	}
	contains := func(substr string, not bool) func(*testing.T) Node {
		return unary(func(t *testing.T, s Node) Expr { return must(NewContains(status(t, s), substr, not)) })
	}
	coalesce := func(statusFirst bool) func(*testing.T) Node {
		return unary(func(t *testing.T, s Node) Expr {
			args := []Expr{status(t, s), lit(t, "x", String)}
			if !statusFirst {
				args[0], args[1] = args[1], args[0]
			}
			return must(NewCoalesce(args...))
		})
	}

	tests := []struct {
		name string
		a, b func(*testing.T) Node
	}{
		{"integer 1 and float 1 (Format prints both as 1)", literal(int64(1), Int64), literal(1.0, Float64)},
		{"float 1.5 and decimal 1.5", literal(1.5, Float64), dec(15, 38, 1)},
		{"decimal scale", dec(10, 38, 1), dec(100, 38, 2)},
		{"decimal precision", dec(100, 12, 2), dec(100, 38, 2)},
		{"float bits", literal(0.1, Float64), literal(math.Nextafter(0.1, 1), Float64)},
		{"timestamp zone of one instant", literal(utcInstant, Timestamp("UTC")), literal(utcInstant, Timestamp("Asia/Shanghai"))},
		{"timestamp unit", literal(utcInstant, Timestamp("UTC")), literal(utcInstant, &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"})},
		{"timestamp and its microsecond", literal(utcInstant, Timestamp("UTC")), literal(utcInstant+1, Timestamp("UTC"))},
		{"date and integer", literal(int32(19783), Date), literal(int64(19783), Int64)},
		{"NULL of two types", literal(nil, Int64), literal(nil, String)},
		{"NULL and the string NULL", literal(nil, String), literal("NULL", String)},
		{"boolean and string", literal(true, Boolean), literal("true", String)},
		{"strings east and west", literal("east", String), literal("west", String)},
		{"trailing space", literal("east", String), literal("east ", String)},
		{"newline and carriage return", literal("a\nb", String), literal("a\r\nb", String)},
		{"quote doubled", literal("a'b", String), literal("a''b", String)},
		{"bytes that are not UTF-8", literal("\xff", String), literal("\xfe", String)},
		{"empty string and NULL", literal("", String), literal(nil, String)},
		{"row filter literal", rowFilter("paid"), rowFilter("shipped")},
		{"row filter trailing space", rowFilter("paid"), rowFilter("paid ")},
		{"scan filter literal", scanFilter("paid"), scanFilter("Paid")},
		{"filter in the scan and as a node", scanFilter("paid"), rowFilter("paid")},
		{"scan without a filter", scan("demo", "orders", "orders", "status"), scanFilter("paid")},
		{"scan source", scan("demo", "orders", "orders", "status"), scan("file", "orders", "orders", "status")},
		{"scan table", scan("demo", "orders", "orders", "status"), scan("demo", "orders2", "orders", "status")},
		{"scan alias", scan("demo", "orders", "orders", "status"), scan("demo", "orders", "o", "status")},
		{"scan columns", scan("demo", "orders", "orders", "status"), scan("demo", "orders", "orders", "status", "amount")},
		{"scan column order", scan("demo", "orders", "orders", "status", "amount"), scan("demo", "orders", "orders", "amount", "status")},
		{"table column type", quantityOf(arrow.PrimitiveTypes.Int32), quantityOf(arrow.PrimitiveTypes.Int64)},
		{"separators in names", func(t *testing.T) Node {
			s := orders(t)
			return must(NewProject(s, []Named{{Name: "x", Expr: lit(t, "a", String)}, {Name: "y", Expr: lit(t, "b", String)}}))
		}, func(t *testing.T) Node {
			s := orders(t)
			return must(NewProject(s, []Named{{Name: "x := 'a', y", Expr: lit(t, "b", String)}}))
		}},
		{"implicit and explicit cast", cast(Float64, true), cast(Float64, false)},
		{"cast target", cast(Float64, true), cast(Decimal(38, 2), true)},
		{"binary operator", binary(Lt, "orders.order_id", "orders.customer_id"), binary(LtEq, "orders.order_id", "orders.customer_id")},
		{"operand order", binary(Sub, "orders.order_id", "orders.customer_id"), binary(Sub, "orders.customer_id", "orders.order_id")},
		{"NOT IS NULL and IS NOT NULL", unary(func(t *testing.T, s Node) Expr {
			return must(NewNot(NewIsNull(status(t, s), false)))
		}), unary(func(t *testing.T, s Node) Expr { return NewIsNull(status(t, s), true) })},
		{"a column and its negation", unary(func(t *testing.T, s Node) Expr { return col(t, s, "orders.order_id") }),
			unary(func(t *testing.T, s Node) Expr { return must(NewNegate(col(t, s, "orders.order_id"))) })},
		{"IN and NOT IN", in(false, "paid"), in(true, "paid")},
		{"IN list", in(false, "paid", "shipped"), in(false, "paid, shipped")},
		{"contains and not", contains("pa", false), contains("pa", true)},
		{"contains substring", contains("pa", false), contains("pa'", false)},
		{"coalesce arguments", coalesce(true), coalesce(false)},
		{"masked and plain", unary(status), mask(MaskHash)},
		{"mask kind", mask(MaskHash), mask(MaskPartial)},
		{"CASE with and without ELSE", caseOf(false), caseOf(true)},
		{"time zone of a truncation", trunc(Month, time.UTC), trunc(Month, shanghai)},
		{"granularity", trunc(Day, time.UTC), trunc(Week, time.UTC)},
		{"week start", calendarTrunc(Week, nil), calendarTrunc(Week, sunday)},
		{"fiscal year start", calendarTrunc(FiscalQuarter, nil), calendarTrunc(FiscalQuarter, april)},
		{"fiscal and retail", calendarTrunc(FiscalYear, april), calendarTrunc(FiscalYear, retail([3]int{4, 4, 5}, false))},
		{"retail pattern", calendarTrunc(FiscalMonth, retail([3]int{4, 4, 5}, false)), calendarTrunc(FiscalMonth, retail([3]int{4, 5, 4}, false))},
		{"retail year end rule", calendarTrunc(FiscalMonth, retail([3]int{4, 5, 4}, false)), calendarTrunc(FiscalMonth, retail([3]int{4, 5, 4}, true))},
		{"shift count", shift(Year, -1, time.UTC, nil), shift(Year, 1, time.UTC, nil)},
		{"shift unit", shift(Year, -1, time.UTC, nil), shift(Month, -1, time.UTC, nil)},
		{"shift zone", shift(Day, -1, time.UTC, nil), shift(Day, -1, shanghai, nil)},
		{"shift calendar", shift(FiscalYear, -1, time.UTC, nil), shift(FiscalYear, -1, time.UTC, retail([3]int{4, 4, 5}, false))},
		{"lookup probe", lookup("orders.order_id", "orders.amount"), lookup("orders.customer_id", "orders.amount")},
		{"lookup value", lookup("orders.customer_id", "orders.amount"), lookup("orders.customer_id", "orders.quantity")},
		{"densify unit", densify(Month, nil, nil), densify(Quarter, nil, nil)},
		{"densify keys", densify(Month, nil, nil), densify(Month, []string{"status"}, nil)},
		{"densify start", densify(Month, nil, nil), densify(Month, nil, &Literal{Value: utcInstant, Type: Timestamp("UTC")})},
		{"window kind", windows(ToDateWindow, 0, Month), windows(RunningWindow, 0, Month)},
		{"window length", windows(RollingWindow, 7, Day), windows(RollingWindow, 30, Day)},
		{"window span", windows(ToDateWindow, 0, Month), windows(ToDateWindow, 0, Year)},
		{"sort direction", sorted(false, false), sorted(true, false)},
		{"nulls first", sorted(false, false), sorted(false, true)},
		{"limit count", limited(0, 10), limited(0, 11)},
		{"limit offset", limited(0, 10), limited(1, 10)},
		{"no limit and limit 0", limited(0, -1), limited(0, 0)},
		{"aggregate function", aggregate(Sum, "orders.amount", false), aggregate(Avg, "orders.amount", false)},
		{"aggregate argument", aggregate(Count, "", false), aggregate(Count, "orders.amount", false)},
		{"aggregate filter", aggregate(Sum, "orders.amount", false), aggregate(Sum, "orders.amount", true)},
		{"join kind", join(InnerJoin, false), join(LeftJoin, false)},
		{"null-safe join", join(LeftJoin, false), join(LeftJoin, true)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := tt.a(t), tt.b(t)
			fa, fb := must(Fingerprint(a)), must(Fingerprint(b))
			if fa == fb {
				t.Fatalf("both plans have fingerprint %q:\n%s\n%s", fa, Format(a), Format(b))
			}
			if again := must(Fingerprint(tt.a(t))); again != fa {
				t.Errorf("the same plan built twice has fingerprints %q and %q", fa, again)
			}
		})
	}
}

// TestFormatIsNoCacheKey records why results are not keyed by the printed plan.
func TestFormatIsNoCacheKey(t *testing.T) {
	s := scanOf(t, "orders", testOrders, "order_id")
	one := must(NewProject(s, []Named{{Name: "x", Expr: must(NewLiteral(int64(1), Int64))}}))
	oneFloat := must(NewProject(s, []Named{{Name: "x", Expr: must(NewLiteral(1.0, Float64))}}))
	if Format(one) != Format(oneFloat) {
		t.Skip("Format now tells integer 1 from float 1; the fingerprint is still the key")
	}
	if must(Fingerprint(one)) == must(Fingerprint(oneFloat)) {
		t.Errorf("integer 1 and float 1 share a fingerprint")
	}
}

// unknownExpr is an expression Fingerprint was not taught.
type unknownExpr struct{ *Literal }

func TestFingerprintRefusesWhatItDoesNotKnow(t *testing.T) {
	s := scanOf(t, "orders", testOrders, "order_id")
	p := must(NewProject(s, []Named{{Name: "x", Expr: unknownExpr{Null(Int64)}}}))
	if _, err := Fingerprint(p); !errors.Is(err, ErrNoFingerprint) {
		t.Errorf("error %v, want one wrapping ErrNoFingerprint", err)
	}
}

// TestFingerprintKnowsEveryKind checks that Fingerprint has a case for every node and expression
// the package declares, so that no kind of plan silently runs uncached.
func TestFingerprintKnowsEveryKind(t *testing.T) {
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("fingerprint.go")
	if err != nil {
		t.Fatal(err)
	}
	kinds := 0
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			// Find the checks `_ Expr = (*Name)(nil)` and `_ Node = (*Name)(nil)`.
			spec, ok := n.(*ast.ValueSpec)
			if !ok || len(spec.Values) != 1 || spec.Type == nil {
				return true
			}
			iface, ok := spec.Type.(*ast.Ident)
			if !ok || (iface.Name != "Expr" && iface.Name != "Node") {
				return true
			}
			call, ok := spec.Values[0].(*ast.CallExpr)
			if !ok {
				return true
			}
			star, ok := ast.Unparen(call.Fun).(*ast.StarExpr)
			if !ok {
				return true
			}
			name := star.X.(*ast.Ident).Name
			kinds++
			if !strings.Contains(string(src), "case *"+name+":") {
				t.Errorf("Fingerprint has no case for %s %s: plans holding one run uncached", iface.Name, name)
			}
			return true
		})
	}
	if kinds < 20 {
		t.Errorf("found %d node and expression kinds; the test no longer finds them all", kinds)
	}
}
