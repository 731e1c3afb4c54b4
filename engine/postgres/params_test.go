package postgres_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/exec"
	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/engine/postgres"
)

// TestParams sends every kind of literal as a parameter: the server must see the value the SQL
// text beside it spells (and the type), and reading $1 back must give the literal again.
func TestParams(t *testing.T) {
	c, _ := openTest(t, nil)
	mustDecimal := func(s string, p, sc int32) *plan.Literal {
		v, err := decimal128.FromString(s, p, sc)
		if err != nil {
			t.Fatal(err)
		}
		return &plan.Literal{Value: v, Type: plan.Decimal(p, sc)}
	}
	micros := func(tm time.Time) int64 { return tm.UnixMicro() }
	days := func(y int, m time.Month, d int) int32 {
		return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
	}
	tests := []struct {
		name  string
		lit   *plan.Literal
		check string // true when the server sees the value
	}{
		{"int64", &plan.Literal{Value: int64(42), Type: plan.Int64}, "$1 = 42 AND pg_typeof($1) = 'bigint'::regtype"},
		{"int64 min", &plan.Literal{Value: int64(math.MinInt64), Type: plan.Int64}, "$1 = -9223372036854775808"},
		{"int32 as bigint", &plan.Literal{Value: int64(-7), Type: arrow.PrimitiveTypes.Int32}, "$1 = -7::int4"},
		{"float64", &plan.Literal{Value: 0.1, Type: plan.Float64}, "$1 = 0.1::float8 AND pg_typeof($1) = 'float8'::regtype"},
		{"float64 tiny", &plan.Literal{Value: 5e-324, Type: plan.Float64}, "$1 = 5e-324::float8"},
		{"float64 NaN", &plan.Literal{Value: math.NaN(), Type: plan.Float64}, "$1 = 'NaN'::float8"},
		{"float64 -Inf", &plan.Literal{Value: math.Inf(-1), Type: plan.Float64}, "$1 = '-Infinity'::float8"},
		{"decimal", mustDecimal("12.34", 12, 2), "$1::numeric = 12.34 AND $1::text = '12.34' AND pg_typeof($1) = 'numeric'::regtype"},
		{"decimal 38 digits", mustDecimal("-9999999999999999999999999999.9999999999", 38, 10), "$1 = -9999999999999999999999999999.9999999999"},
		{"decimal small", mustDecimal("0.05", 12, 4), "$1 = 0.05 AND $1::text = '0.0500'"},
		{"string", &plan.Literal{Value: `it's "q" \ $1 ; -- 口径`, Type: plan.String}, `$1 = 'it''s "q" \ $1 ; -- 口径' AND pg_typeof($1) = 'text'::regtype`},
		{"empty string", &plan.Literal{Value: "", Type: plan.String}, "$1 = '' AND $1 IS NOT NULL"},
		{"bool true", &plan.Literal{Value: true, Type: plan.Boolean}, "$1 AND pg_typeof($1) = 'boolean'::regtype"},
		{"bool false", &plan.Literal{Value: false, Type: plan.Boolean}, "NOT $1"},
		{"timestamptz", &plan.Literal{Value: micros(time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC)), Type: plan.Timestamp("UTC")},
			"$1 = '1969-12-31 23:59:59.999999+00'::timestamptz AND pg_typeof($1) = 'timestamptz'::regtype"},
		{"timestamptz in a zone", &plan.Literal{Value: micros(time.Date(2024, 2, 29, 16, 0, 0, 0, time.UTC)), Type: plan.Timestamp("Asia/Shanghai")},
			"$1 = '2024-03-01 00:00:00+08'::timestamptz"},
		{"timestamptz BC", &plan.Literal{Value: micros(time.Date(-43, 3, 15, 12, 0, 0, 0, time.UTC)), Type: plan.Timestamp("UTC")},
			"$1 = '0044-03-15 12:00:00+00 BC'::timestamptz"},
		{"timestamp", &plan.Literal{Value: micros(time.Date(2024, 2, 29, 12, 0, 0, 1000, time.UTC)), Type: plan.Timestamp("")},
			"$1 = '2024-02-29 12:00:00.000001'::timestamp AND pg_typeof($1) = 'timestamp'::regtype"},
		{"date", &plan.Literal{Value: days(2024, 2, 29), Type: plan.Date}, "$1 = DATE '2024-02-29' AND pg_typeof($1) = 'date'::regtype"},
		{"date before 1970", &plan.Literal{Value: days(1969, 7, 20), Type: plan.Date}, "$1 = DATE '1969-07-20'"},
		{"date BC", &plan.Literal{Value: days(-43, 3, 15), Type: plan.Date}, "$1 = '0044-03-15 BC'::date"},
		{"null bigint", plan.Null(plan.Int64), "$1 IS NULL AND pg_typeof($1) = 'bigint'::regtype"},
		{"null numeric", plan.Null(plan.Decimal(12, 2)), "$1 IS NULL AND pg_typeof($1) = 'numeric'::regtype"},
		{"null text", plan.Null(plan.String), "$1 IS NULL AND pg_typeof($1) = 'text'::regtype"},
		{"null timestamptz", plan.Null(plan.Timestamp("UTC")), "$1 IS NULL AND pg_typeof($1) = 'timestamptz'::regtype"},
		{"null date", plan.Null(plan.Date), "$1 IS NULL AND pg_typeof($1) = 'date'::regtype"},
		{"null bool", plan.Null(plan.Boolean), "$1 IS NULL AND pg_typeof($1) = 'boolean'::regtype"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			s := arrow.NewSchema([]arrow.Field{
				{Name: "v", Type: tt.lit.Type, Nullable: true},
				{Name: "ok", Type: plan.Boolean, Nullable: true},
			}, nil)
			stmt := &postgres.Statement{SQL: "SELECT $1, " + tt.check, Params: []*plan.Literal{tt.lit}, Schema: s}
			batches, err := exec.Collect(context.Background(), postgres.NewQueryOperator(&exec.Env{Mem: mem}, c, stmt))
			if err != nil {
				t.Fatal(err)
			}
			defer batches[0].Release()
			if ok := batches[0].Column(1).(*array.Boolean); ok.IsNull(0) || !ok.Value(0) {
				t.Errorf("the server does not see %v as %s", tt.lit, tt.check)
			}
			got := literalValue(batches[0].Column(0), 0)
			if f, isFloat := got.(float64); isFloat && math.IsNaN(f) && math.IsNaN(tt.lit.Value.(float64)) {
				return
			}
			if got != tt.lit.Value {
				t.Errorf("read back %v (%T), sent %v (%T)", got, got, tt.lit.Value, tt.lit.Value)
			}
		})
	}
}

// literalValue returns value i of a in plan.Literal's representation, or nil if it is NULL.
func literalValue(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int64:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Decimal128:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.Date32:
		return int32(a.Value(i))
	case *array.Timestamp:
		return int64(a.Value(i))
	}
	panic("unexpected array " + a.DataType().String())
}

// TestParamsSeveral sends several parameters to one statement and a scan's filter.
func TestParamsSeveral(t *testing.T) {
	c, _ := openTest(t, nil)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	stmt := &postgres.Statement{
		SQL: "SELECT g::int8 FROM generate_series(1, 100) g WHERE g BETWEEN $1 AND $2 AND $3 = 'x' AND $4::numeric < g",
		Params: []*plan.Literal{
			{Value: int64(10), Type: plan.Int64}, {Value: int64(20), Type: plan.Int64},
			{Value: "x", Type: plan.String}, {Value: decimal128.FromI64(1550), Type: plan.Decimal(12, 2)},
		},
		Schema: int64Schema,
	}
	batches, err := exec.Collect(context.Background(), postgres.NewQueryOperator(&exec.Env{Mem: mem}, c, stmt))
	if err != nil {
		t.Fatal(err)
	}
	defer batches[0].Release()
	if got := batches[0].Column(0).(*array.Int64).Int64Values(); len(got) != 5 || got[0] != 16 || got[4] != 20 {
		t.Errorf("got %v, want 16…20", got)
	}
}

func TestParamsRejected(t *testing.T) {
	c, _ := openTest(t, nil)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for name, lit := range map[string]*plan.Literal{
		"missing":    nil,
		"wrong type": {Value: "12", Type: plan.Int64},
		"binary":     {Value: []byte("x"), Type: arrow.BinaryTypes.Binary},
	} {
		stmt := &postgres.Statement{SQL: "SELECT $1::int8", Params: []*plan.Literal{lit}, Schema: int64Schema}
		batches, err := exec.Collect(context.Background(), postgres.NewQueryOperator(&exec.Env{Mem: mem}, c, stmt))
		for _, b := range batches {
			b.Release()
		}
		if err == nil || !strings.Contains(err.Error(), "parameter $1") {
			t.Errorf("%s: err = %v, want one naming parameter $1", name, err)
		}
	}
}
