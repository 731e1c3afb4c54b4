package exec

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/plan"
)

// exprSchema is the fixture the expression tests evaluate over: every value type, with NULLs.
var exprSchema = schemaOf(
	"i", plan.Int64, "j", plan.Int64, "q", arrow.PrimitiveTypes.Int32, "k8", arrow.PrimitiveTypes.Int8,
	"f", plan.Float64, "g", plan.Float64,
	"d2", plan.Decimal(12, 2), "d4", plan.Decimal(18, 4),
	"s", plan.String, "t", plan.String, "ds", dictString, "dt", dictString,
	"ts", tsUTC, "day", plan.Date, "b", plan.Boolean, "c", plan.Boolean,
)

const exprRows = `[
{"i":1,   "j":2,   "q":3,   "k8":1,   "f":1.5,  "g":0.5,  "d2":"10.50", "d4":"0.5000", "s":"apple",  "t":"apple",  "ds":"east",  "dt":"east",  "ts":"2024-01-01T00:00:00Z",        "day":"2024-01-01", "b":true,  "c":true},
{"i":-2,  "j":3,   "q":1,   "k8":-1,  "f":-0.5, "g":2.0,  "d2":"-1.25", "d4":"2.0000", "s":"Banana", "t":"banana", "ds":"west",  "dt":"East",  "ts":"2024-03-10T07:00:00Z",        "day":"2024-02-29", "b":false, "c":null},
{"i":null,"j":4,   "q":2,   "k8":null,"f":null, "g":1.0,  "d2":null,    "d4":"1.2345", "s":null,     "t":"x",      "ds":null,    "dt":"x",     "ts":null,                          "day":null,         "b":null,  "c":null},
{"i":7,   "j":null,"q":null,"k8":7,   "f":2.0,  "g":0.0,  "d2":"0.00",  "d4":null,     "s":"cherry", "t":null,     "ds":"east",  "dt":null,    "ts":"2023-12-31T23:59:59.999999Z", "day":"1969-12-31", "b":true,  "c":false},
{"i":0,   "j":0,   "q":5,   "k8":0,   "f":0.0,  "g":null, "d2":"3.10",  "d4":"3.1000", "s":"",       "t":"",       "ds":"North", "dt":"North", "ts":"2024-01-01T00:00:00Z",        "day":"2024-01-01", "b":false, "c":false}
]`

// fx returns a reference to a column of the expression fixture.
func fx(name string) *plan.Column {
	f, ok := exprSchema.FieldsByName(name)
	if !ok {
		panic("no fixture column " + name)
	}
	return col(name, f[0].Type)
}

type exprCase struct {
	name string
	expr plan.Expr
	want string // the values of the five fixture rows, separated by ", "
}

func exprCases(t *testing.T) []exprCase {
	i, j, q, k8, f, g := fx("i"), fx("j"), fx("q"), fx("k8"), fx("f"), fx("g")
	d2, d4, s, tt, ds, dt := fx("d2"), fx("d4"), fx("s"), fx("t"), fx("ds"), fx("dt")
	ts, day, b, c := fx("ts"), fx("day"), fx("b"), fx("c")
	int64Lit := func(v int64) *plan.Literal { return lit(t, v, plan.Int64) }
	strLit := func(v string) *plan.Literal { return lit(t, v, plan.String) }
	boolLit := func(v bool) *plan.Literal { return lit(t, v, plan.Boolean) }
	dec2 := func(v string) *plan.Literal { return lit(t, dec(t, v, 2), plan.Decimal(12, 2)) }
	dateLit := func(v string) *plan.Literal { return lit(t, days(t, v), plan.Date) }
	tsLit := func(v string) *plan.Literal { return lit(t, micros(t, v), tsUTC) }
	nullOf := plan.Null
	in := func(x plan.Expr, not bool, list ...*plan.Literal) plan.Expr { return must(plan.NewIn(x, list, not)) }
	contains := func(x plan.Expr, sub string, not bool) plan.Expr { return must(plan.NewContains(x, sub, not)) }
	coalesce := func(args ...plan.Expr) plan.Expr { return must(plan.NewCoalesce(args...)) }
	not := func(x plan.Expr) plan.Expr { return must(plan.NewNot(x)) }
	neg := func(x plan.Expr) plan.Expr { return must(plan.NewNegate(x)) }
	cast := func(x plan.Expr, to arrow.DataType) plan.Expr { return must(plan.NewCast(x, to)) }
	caseOf := func(els plan.Expr, condThen ...plan.Expr) plan.Expr {
		var whens []plan.When
		for k := 0; k < len(condThen); k += 2 {
			whens = append(whens, plan.When{Cond: condThen[k], Then: condThen[k+1]})
		}
		return must(plan.NewCase(whens, els))
	}
	trunc := func(x plan.Expr, u plan.TimeUnit) plan.Expr { return must(plan.NewTimeTrunc(x, u, time.UTC)) }
	mask := func(x plan.Expr, k plan.MaskKind) plan.Expr { return must(plan.NewMask(x, k)) }
	fl := floatText

	return []exprCase{
		// Arithmetic: integers are promoted to int64; division always yields a float and NULL
		// for a zero divisor, never an infinity or an error.
		{"int add", bin(t, plan.Add, i, j), "3, 1, NULL, NULL, 0"},
		{"int sub", bin(t, plan.Sub, i, j), "-1, -5, NULL, NULL, 0"},
		{"int mul", bin(t, plan.Mul, i, j), "2, -6, NULL, NULL, 0"},
		{"int8 plus int32", bin(t, plan.Add, k8, q), "4, 0, NULL, NULL, 5"},
		{"int div is float, zero divisor NULL", bin(t, plan.Div, i, j), "0.5, " + fl(-2.0/3) + ", NULL, NULL, NULL"},
		{"int8 div by zero", bin(t, plan.Div, q, k8), "3, -1, NULL, NULL, NULL"},
		{"int plus literal", bin(t, plan.Add, i, int64Lit(10)), "11, 8, NULL, 17, 10"},
		{"int plus NULL", bin(t, plan.Add, i, nullOf(plan.Int64)), "NULL, NULL, NULL, NULL, NULL"},
		{"int plus untyped NULL", bin(t, plan.Add, i, nullOf(arrow.Null)), "NULL, NULL, NULL, NULL, NULL"},
		{"float add", bin(t, plan.Add, f, g), "2, 1.5, NULL, 2, NULL"},
		{"float sub", bin(t, plan.Sub, f, g), "1, -2.5, NULL, 2, NULL"},
		{"float mul", bin(t, plan.Mul, f, g), "0.75, -1, NULL, 0, NULL"},
		{"float div by zero is NULL", bin(t, plan.Div, f, g), "3, -0.25, NULL, NULL, NULL"},
		{"zero div zero is NULL", bin(t, plan.Div, g, f), fl(0.5/1.5) + ", -4, NULL, 0, NULL"},
		{"int plus float", bin(t, plan.Add, i, f), "2.5, -2.5, NULL, 9, 0"},
		{"decimal add across scales", bin(t, plan.Add, d2, d4), "11.0000, 0.7500, NULL, NULL, 6.2000"},
		{"decimal sub across scales", bin(t, plan.Sub, d2, d4), "10.0000, -3.2500, NULL, NULL, 0.0000"},
		{"decimal mul adds scales", bin(t, plan.Mul, d2, d4), "5.250000, -2.500000, NULL, NULL, 9.610000"},
		{"quantity times price", bin(t, plan.Mul, q, d2), "31.50, -1.25, NULL, NULL, 15.50"},
		{"price times quantity", bin(t, plan.Mul, d2, q), "31.50, -1.25, NULL, NULL, 15.50"},
		{"int plus decimal", bin(t, plan.Add, i, d2), "11.50, -3.25, NULL, 7.00, 3.10"},
		{"decimal div int", bin(t, plan.Div, d2, q), "3.5, -1.25, NULL, NULL, " + fl(3.1/5)},
		{"decimal div decimal", bin(t, plan.Div, d4, d2), fl(0.5/10.5) + ", -1.6, NULL, NULL, 1"},
		{"decimal div decimal zero", bin(t, plan.Div, d2, d2), "1, 1, NULL, NULL, 1"},
		{"decimal plus float", bin(t, plan.Add, d2, f), "12, -1.75, NULL, 2, 3.1"},
		{"negate int", neg(i), "-1, 2, NULL, -7, 0"},
		{"negate int8", neg(k8), "-1, 1, NULL, -7, 0"},
		{"negate float", neg(f), "-1.5, 0.5, NULL, -2, -0"},
		{"negate decimal", neg(d2), "-10.50, 1.25, NULL, 0.00, -3.10"},

		{"cast int32 to int64", cast(q, plan.Int64), "3, 1, 2, NULL, 5"},
		{"cast int to float", cast(i, plan.Float64), "1, -2, NULL, 7, 0"},
		{"cast int32 to decimal", cast(q, plan.Decimal(10, 2)), "3.00, 1.00, 2.00, NULL, 5.00"},
		{"cast decimal to float", cast(d2, plan.Float64), "10.5, -1.25, NULL, 0, 3.1"},
		{"cast decimal to larger scale", cast(d2, plan.Decimal(20, 4)), "10.5000, -1.2500, NULL, 0.0000, 3.1000"},

		// Comparisons.
		{"int lt", bin(t, plan.Lt, i, j), "true, true, NULL, NULL, false"},
		{"int eq", bin(t, plan.Eq, i, j), "false, false, NULL, NULL, true"},
		{"int ne", bin(t, plan.NotEq, i, j), "true, true, NULL, NULL, false"},
		{"int ge literal", bin(t, plan.GtEq, i, int64Lit(1)), "true, false, NULL, true, false"},
		{"int8 le int32", bin(t, plan.LtEq, k8, q), "true, true, NULL, NULL, true"},
		{"float gt", bin(t, plan.Gt, f, g), "true, false, NULL, true, NULL"},
		{"float le int", bin(t, plan.LtEq, f, i), "false, false, NULL, true, true"},
		{"decimal gt across scales", bin(t, plan.Gt, d2, d4), "true, false, NULL, NULL, false"},
		{"decimal eq across scales", bin(t, plan.Eq, d2, d4), "false, false, NULL, NULL, true"},
		{"decimal ge literal", bin(t, plan.GtEq, d2, lit(t, dec(t, "3.1", 1), plan.Decimal(38, 1))), "true, false, NULL, false, true"},
		{"int lt decimal", bin(t, plan.Lt, i, d2), "true, true, NULL, false, true"},
		{"string lt", bin(t, plan.Lt, s, tt), "false, true, NULL, NULL, false"},
		{"string eq", bin(t, plan.Eq, s, tt), "true, false, NULL, NULL, true"},
		{"string ge literal", bin(t, plan.GtEq, s, strLit("b")), "false, false, NULL, true, false"},
		{"dict eq literal", bin(t, plan.Eq, ds, strLit("east")), "true, false, NULL, true, false"},
		{"dict ne literal", bin(t, plan.NotEq, ds, strLit("east")), "false, true, NULL, false, true"},
		{"dict gt literal", bin(t, plan.Gt, ds, strLit("east")), "false, true, NULL, false, false"},
		{"dict lt literal", bin(t, plan.Lt, ds, strLit("west")), "true, false, NULL, true, true"},
		{"dict eq NULL", bin(t, plan.Eq, ds, nullOf(plan.String)), "NULL, NULL, NULL, NULL, NULL"},
		{"literal eq dict", bin(t, plan.Eq, strLit("east"), ds), "true, false, NULL, true, false"},
		{"dict eq dict", bin(t, plan.Eq, ds, dt), "true, false, NULL, NULL, true"},
		{"string eq dict", bin(t, plan.Eq, s, ds), "false, false, NULL, false, false"},
		{"dict eq string", bin(t, plan.Eq, dt, tt), "false, false, true, NULL, false"},
		{"timestamp lt", bin(t, plan.Lt, ts, tsLit("2024-01-01T00:00:00Z")), "false, false, NULL, true, false"},
		{"timestamp eq", bin(t, plan.Eq, ts, tsLit("2024-01-01T00:00:00Z")), "true, false, NULL, false, true"},
		{"date eq", bin(t, plan.Eq, day, dateLit("2024-02-29")), "false, true, NULL, false, false"},
		{"date lt", bin(t, plan.Lt, day, dateLit("2024-01-01")), "false, false, NULL, true, false"},
		{"bool eq", bin(t, plan.Eq, b, c), "true, NULL, NULL, false, true"},
		{"bool lt", bin(t, plan.Lt, b, c), "false, NULL, NULL, false, false"},
		{"bool ne literal", bin(t, plan.NotEq, b, boolLit(true)), "false, true, NULL, false, true"},

		// Logic; the full truth tables are in TestThreeValuedLogic.
		{"not", not(b), "false, true, NULL, false, true"},
		{"not NULL", not(nullOf(plan.Boolean)), "NULL, NULL, NULL, NULL, NULL"},
		{"and", bin(t, plan.And, b, c), "true, false, NULL, false, false"},
		{"or", bin(t, plan.Or, b, c), "true, NULL, NULL, true, false"},
		{"and NULL", bin(t, plan.And, b, nullOf(plan.Boolean)), "NULL, false, NULL, NULL, false"},
		{"or NULL", bin(t, plan.Or, b, nullOf(plan.Boolean)), "true, NULL, NULL, true, NULL"},
		{"and untyped NULL", bin(t, plan.And, nullOf(arrow.Null), b), "NULL, false, NULL, NULL, false"},
		{"is null", plan.NewIsNull(i, false), "false, false, true, false, false"},
		{"is not null", plan.NewIsNull(d2, true), "true, true, false, true, true"},
		{"dict is null", plan.NewIsNull(ds, false), "false, false, true, false, false"},
		{"sum is null", plan.NewIsNull(bin(t, plan.Add, i, j), false), "false, false, true, true, false"},
		{"NULL is null", plan.NewIsNull(nullOf(arrow.Null), false), "true, true, true, true, true"},

		// IN follows SQL: NULL when x is NULL, or not found in a list with a NULL.
		{"int in", in(i, false, int64Lit(1), int64Lit(7)), "true, false, NULL, true, false"},
		{"int in with NULL", in(i, false, int64Lit(1), nullOf(plan.Int64)), "true, NULL, NULL, NULL, NULL"},
		{"int not in", in(i, true, int64Lit(1), int64Lit(7)), "false, true, NULL, false, true"},
		{"int not in with NULL", in(i, true, int64Lit(1), nullOf(plan.Int64)), "false, NULL, NULL, NULL, NULL"},
		{"int32 in", in(q, false, lit(t, int64(3), q.Type), lit(t, int64(5), q.Type)), "true, false, false, NULL, true"},
		{"string in", in(s, false, strLit("apple"), strLit("cherry")), "true, false, NULL, true, false"},
		{"string in is case-sensitive", in(s, false, strLit("banana")), "false, false, NULL, false, false"},
		{"string not in with NULL", in(s, true, strLit("apple"), nullOf(plan.String)), "false, NULL, NULL, NULL, NULL"},
		{"dict in", in(ds, false, strLit("east"), strLit("North")), "true, false, NULL, true, true"},
		{"dict not in", in(ds, true, strLit("east")), "false, true, NULL, false, true"},
		{"dict in with NULL", in(ds, false, strLit("west"), nullOf(plan.String)), "NULL, true, NULL, NULL, NULL"},
		{"dict not in with NULL", in(ds, true, strLit("west"), nullOf(plan.String)), "NULL, false, NULL, NULL, NULL"},
		{"decimal in", in(d2, false, dec2("10.50"), dec2("0.00")), "true, false, NULL, true, false"},
		{"decimal not in with NULL", in(d2, true, dec2("10.50"), nullOf(d2.Type)), "false, NULL, NULL, NULL, NULL"},
		{"date in", in(day, false, dateLit("2024-02-29"), dateLit("1969-12-31")), "false, true, NULL, true, false"},
		{"timestamp in", in(ts, false, tsLit("2024-01-01T00:00:00Z")), "true, false, NULL, false, true"},
		{"float in", in(f, false, lit(t, 1.5, plan.Float64), lit(t, 0.0, plan.Float64)), "true, false, NULL, false, true"},
		{"bool in", in(b, false, boolLit(true)), "true, false, NULL, true, false"},
		{"bool not in with NULL", in(b, true, boolLit(false), nullOf(plan.Boolean)), "NULL, false, NULL, NULL, false"},

		{"contains ignores case", contains(s, "AN", false), "false, true, NULL, false, false"},
		{"not contains", contains(s, "AN", true), "true, false, NULL, true, true"},
		{"contains empty", contains(s, "", false), "true, true, NULL, true, true"},
		{"dict contains", contains(ds, "ST", false), "true, true, NULL, true, false"},
		{"dict not contains", contains(ds, "ST", true), "false, false, NULL, false, true"},
		{"dict contains lower", contains(ds, "nor", false), "false, false, NULL, false, true"},

		{"coalesce ints", coalesce(i, j), "1, -2, 4, 7, 0"},
		{"coalesce three", coalesce(j, q, i), "2, 3, 4, 7, 0"},
		{"coalesce int and decimal", coalesce(i, d2), "1.00, -2.00, NULL, 7.00, 0.00"},
		{"coalesce float and int", coalesce(f, i), "1.5, -0.5, NULL, 2, 0"},
		{"coalesce strings", coalesce(s, tt), "apple, Banana, x, cherry, "},
		{"coalesce dict and literal", coalesce(ds, strLit("none")), "east, west, none, east, North"},
		{"coalesce dicts", coalesce(ds, dt), "east, west, x, east, North"},
		{"coalesce one int32", coalesce(q), "3, 1, 2, NULL, 5"},
		{"coalesce NULL first", coalesce(nullOf(arrow.Null), i), "1, -2, NULL, 7, 0"},
		{"coalesce timestamp", coalesce(ts, tsLit("2000-01-01T00:00:00Z")),
			"2024-01-01T00:00:00Z, 2024-03-10T07:00:00Z, 2000-01-01T00:00:00Z, 2023-12-31T23:59:59.999999Z, 2024-01-01T00:00:00Z"},
		{"coalesce date", coalesce(day, dateLit("2000-01-01")), "2024-01-01, 2024-02-29, 2000-01-01, 1969-12-31, 2024-01-01"},
		{"coalesce NULL and string", coalesce(nullOf(arrow.Null), s), "apple, Banana, NULL, cherry, "},
		{"coalesce NULL and date", coalesce(nullOf(arrow.Null), day), "2024-01-01, 2024-02-29, NULL, 1969-12-31, 2024-01-01"},
		{"coalesce NULL and bool", coalesce(nullOf(arrow.Null), b), "true, false, NULL, true, false"},
		{"coalesce bools", coalesce(c, b, boolLit(false)), "true, false, false, false, false"},

		// Masks; TestMask has the edge cases.
		{"mask hash", mask(s, plan.MaskHash), "1f3870be274f6c49b3e31a0c6728957f, e6f9c347672daae5a2557ae118f44a1e, NULL, " +
			"c7a4476fc64b75ead800da9ea2b7d072, d41d8cd98f00b204e9800998ecf8427e"},
		{"mask partial", mask(s, plan.MaskPartial), "a***e, B****a, NULL, c****y, "},
		{"dict mask hash", mask(ds, plan.MaskHash), "320381dbf7cd2f31c04baa6b36e1c682, da4f0053a5c13882268852ae2da2e466, NULL, " +
			"320381dbf7cd2f31c04baa6b36e1c682, 601560b94fbb188919dd1d36c8ab70a4"},
		{"dict mask partial", mask(ds, plan.MaskPartial), "e**t, w**t, NULL, e**t, N***h"},

		{"case with else", caseOf(strLit("zero"), bin(t, plan.Gt, i, int64Lit(0)), strLit("pos"), bin(t, plan.Lt, i, int64Lit(0)), strLit("neg")),
			"pos, neg, zero, pos, zero"},
		{"case without else", caseOf(nil, bin(t, plan.Gt, i, int64Lit(0)), d2), "10.50, NULL, NULL, 0.00, NULL"},
		{"case promotes branches", caseOf(f, b, i), "1, -0.5, NULL, 7, 0"},
		{"case dict and string", caseOf(s, b, ds), "east, Banana, NULL, east, "},
		{"case one int32 branch", caseOf(nil, b, q), "3, NULL, NULL, NULL, NULL"},
		{"case NULL condition", caseOf(int64Lit(2), nullOf(plan.Boolean), int64Lit(1)), "2, 2, 2, 2, 2"},
		{"case else NULL", caseOf(nullOf(arrow.Null), b, s), "apple, NULL, NULL, cherry, NULL"},
		{"case then NULL", caseOf(ts, b, nullOf(arrow.Null)), "NULL, 2024-03-10T07:00:00Z, NULL, NULL, 2024-01-01T00:00:00Z"},
		{"case bools", caseOf(not(b), c, b), "true, true, NULL, false, true"},
		{"case first true wins", caseOf(nil, b, int64Lit(1), b, int64Lit(2), plan.NewIsNull(b, true), int64Lit(3)), "1, 3, NULL, 1, 3"},

		{"trunc timestamp to month", trunc(ts, plan.Month),
			"2024-01-01T00:00:00Z, 2024-03-01T00:00:00Z, NULL, 2023-12-01T00:00:00Z, 2024-01-01T00:00:00Z"},
		{"trunc date to week", trunc(day, plan.Week), "2024-01-01, 2024-02-26, NULL, 1969-12-29, 2024-01-01"},
	}
}

// TestEvalExpressions evaluates each expression over the fixture whole, over an offset slice of
// it (kernels must honour offsets), and through Project over batches of 2, 0 and 3 rows.
func TestEvalExpressions(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := recordJSON(t, mem, exprSchema, exprRows)
	defer rec.Release()
	env := &Env{Mem: mem}
	for _, tc := range exprCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			want := strings.Split(tc.want, ", ")
			got, err := evalRows(t, env, tc.expr, rec)
			if err != nil {
				t.Fatalf("%s: %v", tc.expr, err)
			}
			if strings.Join(got, ", ") != tc.want {
				t.Fatalf("%s\n got: %q\nwant: %q", tc.expr, got, want)
			}

			slice := rec.NewSlice(1, rec.NumRows())
			defer slice.Release()
			got, err = evalRows(t, env, tc.expr, slice)
			if err != nil {
				t.Fatalf("%s over a slice: %v", tc.expr, err)
			}
			if strings.Join(got, ", ") != strings.Join(want[1:], ", ") {
				t.Fatalf("%s over a slice\n got: %q\nwant: %q", tc.expr, got, want[1:])
			}

			parts := splitRecord(rec, 2, 0, 3)
			defer releaseBatches(parts)
			schema := arrow.NewSchema([]arrow.Field{nullable("x", tc.expr.DataType())}, nil)
			p, err := NewProject(env, newBatchSource(t, exprSchema, parts...), []plan.Named{{Name: "x", Expr: tc.expr}}, schema)
			if err != nil {
				t.Fatal(err)
			}
			if got := collectRows(t, p, 0); strings.Join(got, ", ") != tc.want {
				t.Fatalf("%s through Project\n got: %q\nwant: %q", tc.expr, got, want)
			}
		})
	}
}

// TestThreeValuedLogic checks AND, OR and NOT against SQL's truth tables, over every pair of
// true, false and NULL, repeated so that rows span several bytes and start at an odd offset.
func TestThreeValuedLogic(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	type tv int // 0 false, 1 true, 2 NULL
	text := [...]string{"false", "true", "NULL"}
	sqlAnd := func(a, b tv) tv {
		switch {
		case a == 0 || b == 0:
			return 0
		case a == 2 || b == 2:
			return 2
		}
		return 1
	}
	sqlOr := func(a, b tv) tv {
		switch {
		case a == 1 || b == 1:
			return 1
		case a == 2 || b == 2:
			return 2
		}
		return 0
	}
	sqlNot := func(a tv) tv { return [...]tv{1, 0, 2}[a] }
	var as, bs []tv
	var js strings.Builder
	js.WriteString("[")
	for rep := 0; rep < 3; rep++ {
		for a := tv(0); a < 3; a++ {
			for b := tv(0); b < 3; b++ {
				if len(as) > 0 {
					js.WriteString(",")
				}
				jsv := func(v tv) string { return [...]string{"false", "true", "null"}[v] }
				js.WriteString(`{"a":` + jsv(a) + `,"b":` + jsv(b) + `}`)
				as, bs = append(as, a), append(bs, b)
			}
		}
	}
	js.WriteString("]")
	schema := schemaOf("a", plan.Boolean, "b", plan.Boolean)
	rec := recordJSON(t, mem, schema, js.String())
	defer rec.Release()
	a, b := col("a", plan.Boolean), col("b", plan.Boolean)
	env := &Env{Mem: mem}
	tests := []struct {
		name string
		expr plan.Expr
		fn   func(i int) tv
	}{
		{"a AND b", bin(t, plan.And, a, b), func(i int) tv { return sqlAnd(as[i], bs[i]) }},
		{"a OR b", bin(t, plan.Or, a, b), func(i int) tv { return sqlOr(as[i], bs[i]) }},
		{"NOT a", must(plan.NewNot(a)), func(i int) tv { return sqlNot(as[i]) }},
		{"NOT (a AND b)", must(plan.NewNot(bin(t, plan.And, a, b))), func(i int) tv { return sqlNot(sqlAnd(as[i], bs[i])) }},
		{"(a OR b) AND NOT b", bin(t, plan.And, bin(t, plan.Or, a, b), must(plan.NewNot(b))),
			func(i int) tv { return sqlAnd(sqlOr(as[i], bs[i]), sqlNot(bs[i])) }},
	}
	for _, tc := range tests {
		for _, off := range []int64{0, 3, 5} {
			slice := rec.NewSlice(off, rec.NumRows())
			got, err := evalRows(t, env, tc.expr, slice)
			slice.Release()
			if err != nil {
				t.Fatal(err)
			}
			for r, g := range got {
				i := r + int(off)
				if want := text[tc.fn(i)]; g != want {
					t.Errorf("%s offset %d: a=%s b=%s gives %s, want %s", tc.name, off, text[as[i]], text[bs[i]], g, want)
				}
			}
		}
	}
}

// TestArithmeticOverflow checks that integer and decimal arithmetic that leaves its range fails
// with ErrOverflow instead of wrapping, and that values under NULLs do not count.
func TestArithmeticOverflow(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env := &Env{Mem: mem}
	schema := schemaOf("a", plan.Int64, "b", plan.Int64, "x", plan.Decimal(38, 0), "y", plan.Decimal(38, 0), "z", plan.Decimal(38, 2))
	a, b := col("a", plan.Int64), col("b", plan.Int64)
	x, y, z := col("x", plan.Decimal(38, 0)), col("y", plan.Decimal(38, 0)), col("z", plan.Decimal(38, 2))
	tests := []struct {
		name string
		rows string
		expr plan.Expr
	}{
		{"int add", `[{"a":9223372036854775807,"b":1}]`, bin(t, plan.Add, a, b)},
		{"int add negative", `[{"a":-9223372036854775808,"b":-1}]`, bin(t, plan.Add, a, b)},
		{"int sub", `[{"a":-9223372036854775808,"b":1}]`, bin(t, plan.Sub, a, b)},
		{"int mul", `[{"a":4611686018427387904,"b":2}]`, bin(t, plan.Mul, a, b)},
		{"int mul min by minus one", `[{"a":-9223372036854775808,"b":-1}]`, bin(t, plan.Mul, a, b)},
		{"int mul minus one by min", `[{"a":-1,"b":-9223372036854775808}]`, bin(t, plan.Mul, a, b)},
		{"int negate", `[{"a":-9223372036854775808}]`, must(plan.NewNegate(a))},
		{"decimal add", `[{"x":"99999999999999999999999999999999999999","y":"99999999999999999999999999999999999999"}]`, bin(t, plan.Add, x, y)},
		{"decimal sub", `[{"x":"-99999999999999999999999999999999999999","y":"99999999999999999999999999999999999999"}]`, bin(t, plan.Sub, x, y)},
		{"decimal mul", `[{"x":"100000000000000000000","y":"100000000000000000000"}]`, bin(t, plan.Mul, x, y)},
		{"decimal mul big by small", `[{"x":"99999999999999999999999999999999999999","y":"2"}]`, bin(t, plan.Mul, x, y)},
		{"int to decimal in multiplication", `[{"a":9223372036854775807,"z":"99999999999999999999999999.99"}]`, bin(t, plan.Mul, a, z)},
		{"decimal to larger scale", `[{"x":"99999999999999999999999999999999999999","z":"1.00"}]`, bin(t, plan.Add, x, z)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := recordJSON(t, mem, schema, tc.rows)
			defer rec.Release()
			got, err := evalRows(t, env, tc.expr, rec)
			if !errors.Is(err, ErrOverflow) {
				t.Fatalf("%s = %v, %v; want ErrOverflow", tc.expr, got, err)
			}
		})
	}

	t.Run("largest values that fit", func(t *testing.T) {
		rec := recordJSON(t, mem, schema, `[
			{"a":9223372036854775806,"b":1,"x":"-99999999999999999999999999999999999998","y":"-1"},
			{"a":-9223372036854775807,"b":-1,"x":"9999999999999999999","y":"9999999999999999999"}]`)
		defer rec.Release()
		for _, e := range []plan.Expr{bin(t, plan.Add, a, b), bin(t, plan.Mul, a, b), bin(t, plan.Add, x, y), bin(t, plan.Mul, x, y)} {
			if _, err := evalRows(t, env, e, rec); err != nil {
				t.Errorf("%s: %v", e, err)
			}
		}
	})

	// A NULL row's value slot may hold anything; arithmetic on it must not fail.
	t.Run("overflow under NULL", func(t *testing.T) {
		big := arrayJSON(t, mem, plan.Int64, `[9223372036854775807, 1]`)
		defer big.Release()
		mask := arrayJSON(t, mem, plan.Boolean, `[false, true]`)
		defer mask.Release()
		// Make row 0 NULL while its slot keeps MaxInt64.
		data := array.NewData(plan.Int64, 2, []*memory.Buffer{mask.Data().Buffers()[1], big.Data().Buffers()[1]}, nil, 1, 0)
		masked := array.MakeFromData(data)
		data.Release()
		defer masked.Release()
		one := arrayJSON(t, mem, plan.Int64, `[1, 1]`)
		defer one.Release()
		rec := array.NewRecordBatch(schemaOf("a", plan.Int64, "b", plan.Int64), []arrow.Array{masked, one}, 2)
		defer rec.Release()
		for _, e := range []plan.Expr{bin(t, plan.Add, a, b), bin(t, plan.Mul, a, bin(t, plan.Add, b, b)), must(plan.NewNegate(bin(t, plan.Sub, lit(t, int64(-2), plan.Int64), a)))} {
			got, err := evalRows(t, env, e, rec)
			if err != nil {
				t.Fatalf("%s: %v", e, err)
			}
			if got[0] != "NULL" {
				t.Errorf("%s: row 0 = %s, want NULL", e, got[0])
			}
		}
	})
}

// TestDivisionNeverInfinite divides by zeros of every kind: the result is NULL, never ±Inf or
// NaN, and never an error.
func TestDivisionNeverInfinite(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env := &Env{Mem: mem}
	schema := schemaOf("x", plan.Float64, "y", plan.Float64, "n", plan.Int64, "d", plan.Decimal(10, 3))
	rec := recordJSON(t, mem, schema, `[
		{"x":1, "y":0, "n":0, "d":"0.000"},
		{"x":0, "y":0, "n":0, "d":"0.000"},
		{"x":-1,"y":-0.0,"n":0, "d":"-0.000"},
		{"x":null,"y":0,"n":null,"d":null},
		{"x":5, "y":null,"n":2, "d":"0.500"}]`)
	defer rec.Release()
	x, y, n, d := col("x", plan.Float64), col("y", plan.Float64), col("n", plan.Int64), col("d", plan.Decimal(10, 3))
	tests := []struct {
		expr plan.Expr
		want string
	}{
		{bin(t, plan.Div, x, y), "NULL, NULL, NULL, NULL, NULL"},
		{bin(t, plan.Div, x, n), "NULL, NULL, NULL, NULL, 2.5"},
		{bin(t, plan.Div, n, d), "NULL, NULL, NULL, NULL, 4"},
		{bin(t, plan.Div, x, d), "NULL, NULL, NULL, NULL, 10"},
		{bin(t, plan.Div, x, lit(t, 0.0, plan.Float64)), "NULL, NULL, NULL, NULL, NULL"},
	}
	for _, tc := range tests {
		got, err := evalRows(t, env, tc.expr, rec)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		if strings.Join(got, ", ") != tc.want {
			t.Errorf("%s = %q, want %s", tc.expr, got, tc.want)
		}
		for _, g := range got {
			if strings.Contains(g, "Inf") || strings.Contains(g, "NaN") {
				t.Errorf("%s yields %s", tc.expr, g)
			}
		}
	}
}

// TestLiteralAcrossBatchSizes checks that a constant column, built once and sliced, fits batches
// that grow past its first size and shrink again.
func TestLiteralAcrossBatchSizes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env := &Env{Mem: mem}
	sizes := []int{3, 1500, 0, 1, 5000, 2}
	schema := schemaOf("i", plan.Int64)
	var batches []arrow.RecordBatch
	next := int64(0)
	for _, n := range sizes {
		bld := array.NewInt64Builder(mem)
		for k := 0; k < n; k++ {
			if next%7 == 3 {
				bld.AppendNull()
			} else {
				bld.Append(next)
			}
			next++
		}
		a := bld.NewArray()
		bld.Release()
		batches = append(batches, array.NewRecordBatch(schema, []arrow.Array{a}, int64(n)))
		a.Release()
	}
	defer releaseBatches(batches)
	i := col("i", plan.Int64)
	exprs := []plan.Named{
		{Name: "plus", Expr: bin(t, plan.Add, i, lit(t, int64(100), plan.Int64))},
		{Name: "word", Expr: lit(t, "x", plan.String)},
		{Name: "none", Expr: plan.Null(plan.Decimal(10, 2))},
		{Name: "either", Expr: must(plan.NewCoalesce(i, lit(t, int64(-1), plan.Int64)))},
		{Name: "flag", Expr: lit(t, true, plan.Boolean)},
	}
	fields := make([]arrow.Field, len(exprs))
	for k, e := range exprs {
		fields[k] = nullable(e.Name, e.Expr.DataType())
	}
	p, err := NewProject(env, newBatchSource(t, schema, batches...), exprs, arrow.NewSchema(fields, nil))
	if err != nil {
		t.Fatal(err)
	}
	got := collectRows(t, p, 0)
	if len(got) != int(next) {
		t.Fatalf("%d rows, want %d", len(got), next)
	}
	for r, row := range got {
		want := "NULL|x|NULL|-1|true"
		if r%7 != 3 {
			want = strings.Join([]string{strconv.Itoa(r + 100), "x", "NULL", strconv.Itoa(r), "true"}, "|")
		}
		if row != want {
			t.Fatalf("row %d = %s, want %s", r, row, want)
		}
	}
}

// TestEvalEmptyBatch evaluates boolean operators over batches with no rows, whose
// boolean columns may have no value buffer at all.
func TestEvalEmptyBatch(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env := &Env{Mem: mem}
	empty := recordJSON(t, mem, exprSchema, `[]`)
	defer empty.Release()
	for _, tc := range exprCases(t) {
		got, err := evalRows(t, env, tc.expr, empty)
		if err != nil || len(got) != 0 {
			t.Errorf("%s over no rows: %q, %v", tc.expr, got, err)
		}
	}
	b := fx("b")
	for _, e := range []plan.Expr{b, must(plan.NewNot(b)), bin(t, plan.And, b, fx("c"))} {
		f, err := NewFilter(env, newBatchSource(t, exprSchema, empty), e)
		if err != nil {
			t.Fatal(err)
		}
		if got := collectRows(t, f, 0); len(got) != 0 {
			t.Errorf("filter %s over no rows: %q", e, got)
		}
	}
}

// TestProjectPropagatesCancel checks that a cancelled context stops a pipeline with the
// context's error.
func TestProjectPropagatesCancel(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env := &Env{Mem: mem}
	rec := recordJSON(t, mem, exprSchema, exprRows)
	defer rec.Release()
	tbl := newTable(t, exprSchema, []arrow.RecordBatch{rec})
	defer tbl.Release()
	p, err := NewProject(env, scansOf(t, tbl, 1)[0], []plan.Named{{Name: "i", Expr: fx("i")}}, schemaOf("i", plan.Int64))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Collect(ctx, p); !errors.Is(err, context.Canceled) {
		t.Fatalf("Collect with a cancelled context: %v", err)
	}
}
