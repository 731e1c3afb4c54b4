package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

var (
	testOrders = arrow.NewSchema([]arrow.Field{
		{Name: "order_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "status", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}},
		{Name: "amount", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}},
		{Name: "quantity", Type: arrow.PrimitiveTypes.Int32},
		{Name: "created_at", Type: Timestamp("UTC")},
	}, nil)
	testCustomers = arrow.NewSchema([]arrow.Field{
		{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "region", Type: arrow.BinaryTypes.String},
	}, nil)
)

func scanOf(t *testing.T, table string, s *arrow.Schema, cols ...string) *Scan {
	t.Helper()
	sc, err := NewScan("demo", table, table, s, cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func col(t *testing.T, n Node, name string) *Column {
	t.Helper()
	c, err := ColumnOf(n.Schema(), name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func lit(t *testing.T, text string, typ arrow.DataType) *Literal {
	t.Helper()
	l, err := ParseLiteral(text, typ, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// checkError fails the test unless err says want, or, when want is "", unless err is nil. It
// reports whether there was an error, after which the case has nothing more to check.
func checkError(t *testing.T, err error, want string) bool {
	t.Helper()
	switch {
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("error %v, want one saying %q", err, want)
	case want == "" && err != nil:
		t.Fatal(err)
	}
	return err != nil
}

func TestBinaryTypes(t *testing.T) {
	s := scanOf(t, "orders", testOrders, "order_id", "amount", "quantity", "status", "created_at")
	amount, qty, id := col(t, s, "orders.amount"), col(t, s, "orders.quantity"), col(t, s, "orders.order_id")
	tests := []struct {
		name    string
		op      BinaryOp
		l, r    Expr
		want    string
		printed string
		err     string
	}{
		{"int32 times decimal keeps an exact decimal", Mul, qty, amount, "decimal(38,2)", "(orders.quantity * orders.amount)", ""},
		{"decimal plus int", Add, amount, id, "decimal(38,2)", "(orders.amount + orders.order_id)", ""},
		{"decimal times decimal adds scales", Mul, amount, amount, "decimal(38,4)", "", ""},
		{"division is float", Div, amount, qty, "float", "", ""},
		{"int32 plus int64", Add, qty, id, "integer", "", ""},
		{"comparison is boolean", Gt, amount, lit(t, "10.5", Decimal(38, 1)), "boolean", "(orders.amount > 10.5)", ""},
		{"string compared with number", Eq, col(t, s, "orders.status"), id, "", "", "cannot compare string with integer"},
		{"arithmetic on a string", Add, col(t, s, "orders.status"), id, "", "", "needs numeric operands"},
		{"AND of numbers", And, id, id, "", "", "needs boolean operands"},
		{"time arithmetic", Sub, col(t, s, "orders.created_at"), id, "", "", "needs numeric operands"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := NewBinary(tt.op, tt.l, tt.r)
			if checkError(t, err, tt.err) {
				return
			}
			if got := TypeName(e.DataType()); got != tt.want {
				t.Errorf("type %s, want %s", got, tt.want)
			}
			if tt.printed != "" && e.String() != tt.printed {
				t.Errorf("printed %s, want %s", e, tt.printed)
			}
		})
	}
}

func TestParseLiteral(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text string
		typ  arrow.DataType
		loc  *time.Location
		want string
		err  string
	}{
		{"12.5", Decimal(12, 2), time.UTC, "12.50", ""},
		{"-0.05", Decimal(12, 2), time.UTC, "-0.05", ""},
		{"12.345", Decimal(12, 2), time.UTC, "", "at most 2 decimals"},
		{"1e3", Decimal(12, 2), time.UTC, "", "not a number"},
		{"42", Int64, time.UTC, "42", ""},
		{"4.2", Int64, time.UTC, "", "not an integer"},
		{"true", Boolean, time.UTC, "true", ""},
		{"2024-03-01", Timestamp("UTC"), shanghai, "TIMESTAMP '2024-02-29 16:00:00Z'", ""},
		{"2024-03-01T08:00:00+08:00", Timestamp("UTC"), time.UTC, "TIMESTAMP '2024-03-01 00:00:00Z'", ""},
		{"2024-02-30", Date, time.UTC, "", "not a date"},
		{"2024-02-29", Date, time.UTC, "DATE '2024-02-29'", ""},
		{"it's", String, time.UTC, "'it''s'", ""},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			l, err := ParseLiteral(tt.text, tt.typ, tt.loc)
			if checkError(t, err, tt.err) {
				return
			}
			if l.String() != tt.want {
				t.Errorf("got %s, want %s", l, tt.want)
			}
		})
	}
}

func TestConstructorsCheckColumns(t *testing.T) {
	s := scanOf(t, "orders", testOrders, "order_id", "amount")
	if _, err := NewFilter(s, NewColumn("orders.status", String)); err == nil || !strings.Contains(err.Error(), "does not have") {
		t.Errorf("filter on a missing column: %v", err)
	}
	if _, err := NewFilter(s, col(t, s, "orders.amount")); err == nil || !strings.Contains(err.Error(), "not boolean") {
		t.Errorf("filter on a number: %v", err)
	}
	if _, err := NewProject(s, []Named{{"x", col(t, s, "orders.amount")}, {"x", col(t, s, "orders.order_id")}}); err == nil || !strings.Contains(err.Error(), `two output columns are named "x"`) {
		t.Errorf("duplicate output names: %v", err)
	}
	if _, err := NewScan("demo", "orders", "orders", testOrders, []string{"amout"}, nil); err == nil || !strings.Contains(err.Error(), `no column "amout"`) {
		t.Errorf("scan of a missing column: %v", err)
	}
	if _, err := NewAggregate(s, nil, []AggExpr{{Name: "n", Func: Sum, Arg: NewColumn("orders.status", String)}}); err == nil {
		t.Error("sum over a column the input lacks compiled")
	}
	status := scanOf(t, "orders", testOrders, "status")
	if _, err := NewAggExpr("s", Sum, col(t, status, "orders.status"), nil); err == nil || !strings.Contains(err.Error(), "cannot sum a string") {
		t.Errorf("sum over a string: %v", err)
	}
	if _, err := NewLimit(s, -1, 10); err == nil {
		t.Error("negative offset accepted")
	}
}

// TestRules checks each rewrite on a small plan by its printed form.
func TestRules(t *testing.T) {
	orders := scanOf(t, "orders", testOrders, "customer_id", "amount", "status")
	customers := scanOf(t, "customers", testCustomers, "customer_id", "region")
	join := func(kind JoinKind) *Join {
		j, err := NewJoin(kind, orders, customers,
			[]Expr{col(t, orders, "orders.customer_id")}, []Expr{col(t, customers, "customers.customer_id")}, false)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	paid, err := NewIn(col(t, orders, "orders.status"), []*Literal{lit(t, "paid", String)}, false)
	if err != nil {
		t.Fatal(err)
	}
	east, err := NewBinary(Eq, col(t, customers, "customers.region"), lit(t, "east", String))
	if err != nil {
		t.Fatal(err)
	}
	both, err := NewBinary(And, paid, east)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		plan func() Node
		want string
	}{
		{"a left join keeps filters on its right side above it", func() Node {
			f, err := NewFilter(join(LeftJoin), both)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}, `Filter (customers.region = 'east')
  LeftJoin orders.customer_id = customers.customer_id
    Scan demo:orders AS orders [customer_id, amount, status] WHERE (orders.status IN ('paid'))
    Scan demo:customers AS customers [customer_id, region]
`},
		{"an inner join takes filters to both sides", func() Node {
			f, err := NewFilter(join(InnerJoin), both)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}, `InnerJoin orders.customer_id = customers.customer_id
  Scan demo:orders AS orders [customer_id, amount, status] WHERE (orders.status IN ('paid'))
  Scan demo:customers AS customers [customer_id, region] WHERE (customers.region = 'east')
`},
		{"a full join keeps every filter above it", func() Node {
			f, err := NewFilter(join(FullJoin), paid)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}, `Filter (orders.status IN ('paid'))
  FullJoin orders.customer_id = customers.customer_id
    Scan demo:orders AS orders [customer_id, amount, status]
    Scan demo:customers AS customers [customer_id, region]
`},
		{"projections merge and identities vanish", func() Node {
			inner, err := NewProject(orders, []Named{{"a", col(t, orders, "orders.amount")}, {"s", col(t, orders, "orders.status")}})
			if err != nil {
				t.Fatal(err)
			}
			doubled, err := NewBinary(Mul, NewColumn("a", orders.Schema().Field(1).Type), lit(t, "2", Int64))
			if err != nil {
				t.Fatal(err)
			}
			outer, err := NewProject(inner, []Named{{"twice", doubled}})
			if err != nil {
				t.Fatal(err)
			}
			ident, err := NewProject(outer, []Named{{"twice", NewColumn("twice", doubled.DataType())}})
			if err != nil {
				t.Fatal(err)
			}
			return ident
		}, `Project twice := (orders.amount * 2)
  Scan demo:orders AS orders [customer_id, amount, status]
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.plan()
			out, err := Optimize(in, DefaultRules)
			if err != nil {
				t.Fatal(err)
			}
			if got := Format(out); got != tt.want {
				t.Errorf("got\n%swant\n%s", got, tt.want)
			}
			again, err := Optimize(out, DefaultRules)
			if err != nil {
				t.Fatal(err)
			}
			if again != out {
				t.Error("optimizing an optimized plan changed it; a rule does not return its input when it changes nothing")
			}
		})
	}
}

func TestNewMask(t *testing.T) {
	orders := scanOf(t, "orders", testOrders, "status", "amount", "created_at")
	customers := scanOf(t, "customers", testCustomers, "region")
	region, status := col(t, customers, "customers.region"), col(t, orders, "orders.status")
	tests := []struct {
		name    string
		x       Expr
		kind    MaskKind
		printed string
		err     string
	}{
		{"hash of a string", region, MaskHash, "mask_hash(customers.region)", ""},
		{"partial of a string", region, MaskPartial, "mask_partial(customers.region)", ""},
		{"hash of a dictionary of strings", status, MaskHash, "mask_hash(orders.status)", ""},
		{"partial of a string literal", lit(t, "Wei Wang", String), MaskPartial, "mask_partial('Wei Wang')", ""},
		{"a decimal", col(t, orders, "orders.amount"), MaskHash, "", "cannot mask orders.amount: it is decimal(12,2), and masks apply to text"},
		{"a timestamp", col(t, orders, "orders.created_at"), MaskPartial, "", "it is timestamp, and masks apply to text"},
		{"an untyped NULL", Null(arrow.Null), MaskHash, "", "it is null, and masks apply to text"},
		{"an unknown kind", region, MaskKind(7), "", "unknown mask kind 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := NewMask(tt.x, tt.kind)
			if checkError(t, err, tt.err) {
				return
			}
			if !arrow.TypeEqual(e.DataType(), String) {
				t.Errorf("type %s, want a plain string", e.DataType())
			}
			if e.String() != tt.printed {
				t.Errorf("printed %s, want %s", e, tt.printed)
			}
			again, err := e.WithChildren(e.Children()...)
			if err != nil || again.String() != e.String() {
				t.Errorf("WithChildren of its own children gave %v, %v", again, err)
			}
			if _, err := e.WithChildren(tt.x, tt.x); err == nil {
				t.Error("WithChildren accepted two operands")
			}
		})
	}
}

func TestParseMaskKind(t *testing.T) {
	tests := []struct {
		text string
		want MaskKind
		err  string
	}{
		{"hash", MaskHash, ""},
		{"partial", MaskPartial, ""},
		{"Partial", MaskPartial, ""},
		{"redact", 0, `unknown mask "redact"; use one of hash, partial`},
		{"", 0, "unknown mask"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			k, err := ParseMaskKind(tt.text)
			if checkError(t, err, tt.err) {
				return
			}
			if k != tt.want || k.String() != strings.ToLower(tt.text) {
				t.Errorf("got %v, want %v", k, tt.want)
			}
		})
	}
}
