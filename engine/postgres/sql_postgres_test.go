package postgres_test

import (
	"context"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/engine/demodata"
	"github.com/koujing/koujing/engine/pgtest"
	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/engine/postgres"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
	"github.com/koujing/koujing/semantic/oracletest"
)

// sqlOracleScale keeps the suite quick while every group stays populated: 20,000 orders.
const sqlOracleScale = 0.02

// TestBuildSQLOnPostgres runs generated SQL on PostgreSQL, loaded with the demo data, and
// compares its rows with the engine's answer to the same plan (every golden case), and with
// PostgreSQL's answer to the hand-written SQL of every oracle case. It also checks that each
// column comes back as the type the plan declares, and that parameters are honoured.
func TestBuildSQLOnPostgres(t *testing.T) {
	pool := pgtest.Connect(t)
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ds, err := demodata.Generate(ctx, mem, sqlOracleScale)
	if err != nil {
		t.Fatal(err)
	}
	schema := pgtest.LoadDemo(t, pool, ds)
	src := engine.NewSources(mem)
	defer src.Close()
	src.SetDemo(ds)

	t.Run("plans", func(t *testing.T) {
		eng := engine.New(src, engine.Options{Allocator: mem})
		for _, c := range sqlCases() {
			if c.check == checkNone {
				continue
			}
			t.Run(c.name, func(t *testing.T) {
				stmt, err := postgres.BuildSQL(c.plan)
				if err != nil {
					t.Fatal(err)
				}
				got := runStatement(t, pool, schema, stmt, pgArgs(t, stmt.Params))
				res, err := eng.Execute(ctx, c.plan)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Release()
				want := oracletest.ResultRows(t, &semantic.Result{Batches: res.Batches})
				if len(want) == 0 && c.name != "aggregate_over_no_rows" {
					t.Errorf("the engine returned no rows; the case checks nothing")
				}
				switch c.check {
				case checkCount:
					if len(got) != len(want) {
						t.Errorf("got %d rows, the engine has %d", len(got), len(want))
					}
				default:
					oracletest.Compare(t, got, want, c.check == checkOrdered)
				}
			})
		}
	})

	cat, err := semantic.LoadFS(ctx, demo.FS, semantic.SourcesResolver(src))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("oracle", func(t *testing.T) {
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
				got := runStatement(t, pool, schema, stmt, pgArgs(t, stmt.Params))
				want := oracletest.SQLRows(t, pool, schema, c.SQL)
				oracletest.Compare(t, got, want, c.Query.Ordered())
				if t.Failed() {
					t.Logf("statement:\n%s", goldenSQL(stmt))
				}
			})
		}
	})

	t.Run("null-safe full join", func(t *testing.T) {
		// NULL must match NULL only, not the empty string or zero, and numbers must match by
		// value whatever their scale (1.0 and 1.00).
		_, err := pool.Exec(ctx, fmt.Sprintf(`
			CREATE TABLE %[1]s.keys_left (k text, n numeric, x bigint);
			INSERT INTO %[1]s.keys_left VALUES ('', 1.0, 1), (NULL, 1.0, 2), ('v', 2.5, 3), ('', NULL, 4);
			CREATE TABLE %[1]s.keys_right (k text, n numeric, y bigint);
			INSERT INTO %[1]s.keys_right VALUES ('', 1.00, 10), (NULL, 1.00, 20), ('w', 2.5, 30), (NULL, NULL, 40);`,
			pgx.Identifier{schema}.Sanitize()))
		if err != nil {
			t.Fatal(err)
		}
		keys := func(value string) *arrow.Schema {
			return arrow.NewSchema([]arrow.Field{
				{Name: "k", Type: plan.String, Nullable: true},
				{Name: "n", Type: plan.Decimal(12, 2), Nullable: true},
				{Name: value, Type: plan.Int64, Nullable: true},
			}, nil)
		}
		// One table named with its schema, the other found on the search path.
		l := must(plan.NewScan("warehouse", schema+".keys_left", "a", keys("x"), []string{"k", "n", "x"}, nil))
		r := must(plan.NewScan("warehouse", "keys_right", "b", keys("y"), []string{"k", "n", "y"}, nil))
		j := must(plan.NewJoin(plan.FullJoin, l, r,
			[]plan.Expr{col(l, "a.k"), col(l, "a.n")}, []plan.Expr{col(r, "b.k"), col(r, "b.n")}, true))
		p := project(j, named("x", col(j, "a.x")), named("y", col(j, "b.y")))
		stmt, err := postgres.BuildSQL(p)
		if err != nil {
			t.Fatal(err)
		}
		got := runStatement(t, pool, schema, stmt, pgArgs(t, stmt.Params))
		n := func(v int64) oracletest.Value { return oracletest.Value{Exact: big.NewRat(v, 1)} }
		null := oracletest.Value{Null: true}
		want := [][]oracletest.Value{{n(1), n(10)}, {n(2), n(20)}, {n(3), null}, {n(4), null}, {null, n(30)}, {null, n(40)}}
		oracletest.Compare(t, got, want, false)
	})

	t.Run("parameters", func(t *testing.T) {
		// One statement, run with the paid statuses it was built with and then with others: the
		// answers follow the parameters, not anything fixed in the text.
		q := semantic.MetricQuery{Metrics: []string{"paid_order_count"}, Dimensions: []string{"orders.channel"}}
		cq, err := cat.Compile(q, semantic.CompileOptions{}, cat.FullAccess())
		if err != nil {
			t.Fatal(err)
		}
		stmt, err := postgres.BuildSQL(cq.Plan)
		if err != nil {
			t.Fatal(err)
		}
		args := pgArgs(t, stmt.Params)
		statuses := 0
		for i, p := range stmt.Params {
			switch p.Value {
			case "paid", "shipped", "completed":
				args[i] = "refunded"
				statuses++
			}
		}
		if statuses != 3 {
			t.Fatalf("the statement has %d status parameters, want 3: %v", statuses, stmt.Params)
		}
		for _, run := range []struct {
			args []any
			sql  string
		}{
			{pgArgs(t, stmt.Params), "SELECT channel, count(*) FROM orders WHERE status IN ('paid', 'shipped', 'completed') GROUP BY 1"},
			{args, "SELECT channel, count(*) FROM orders WHERE status = 'refunded' GROUP BY 1"},
		} {
			got := runStatement(t, pool, schema, stmt, run.args)
			want := oracletest.SQLRows(t, pool, schema, run.sql)
			if len(want) == 0 {
				t.Fatalf("PostgreSQL returned no rows for %s", run.sql)
			}
			oracletest.Compare(t, got, want, false)
		}
	})
}

// pgArgs converts parameters to the Go values pgx sends for their types: decimals exactly, as
// pgtype.Numeric, times as UTC time.Time.
func pgArgs(tb testing.TB, params []*plan.Literal) []any {
	tb.Helper()
	args := make([]any, len(params))
	for i, p := range params {
		switch v := p.Value.(type) {
		case nil:
			args[i] = nil
		case int64:
			if p.Type.ID() == arrow.TIMESTAMP {
				args[i] = time.UnixMicro(v).UTC()
			} else {
				args[i] = v
			}
		case int32:
			args[i] = time.Unix(int64(v)*86400, 0).UTC()
		case decimal128.Num:
			args[i] = pgtype.Numeric{Int: v.BigInt(), Exp: -plan.DecimalScale(p.Type), Valid: true}
		case float64, string, bool:
			args[i] = v
		default:
			tb.Fatalf("parameter $%d: cannot send %T", i+1, v)
		}
	}
	return args
}

// runStatement runs stmt with the demo schema on the search path, checks that each column has the
// type the statement's schema declares, and returns the rows comparably.
func runStatement(tb testing.TB, pool *pgxpool.Pool, schema string, stmt *postgres.Statement, args []any) [][]oracletest.Value {
	tb.Helper()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SET search_path TO "+pgx.Identifier{schema}.Sanitize()); err != nil {
		tb.Fatal(err)
	}
	rows, err := conn.Query(ctx, stmt.SQL, args...)
	if err != nil {
		tb.Fatalf("run statement: %v\n%s", err, stmt.SQL)
	}
	defer rows.Close()
	fields := stmt.Schema.Fields()
	descs := rows.FieldDescriptions()
	if len(descs) != len(fields) {
		tb.Fatalf("the statement returns %d columns, its schema has %d", len(descs), len(fields))
	}
	for i, d := range descs {
		if want := pgOID(tb, fields[i].Type); d.DataTypeOID != want {
			tb.Errorf("column %s has type OID %d, want %d for %s", fields[i].Name, d.DataTypeOID, want, fields[i].Type)
		}
	}
	var out [][]oracletest.Value
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			tb.Fatal(err)
		}
		row := make([]oracletest.Value, len(vals))
		for j, v := range vals {
			row[j] = pgValue(tb, fields[j].Type, v)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		tb.Fatalf("run statement: %v\n%s", err, stmt.SQL)
	}
	return out
}

// pgOID is the PostgreSQL type a column of type t must come back as.
func pgOID(tb testing.TB, t arrow.DataType) uint32 {
	switch {
	case t.ID() == arrow.INT8, t.ID() == arrow.INT16:
		return pgtype.Int2OID
	case t.ID() == arrow.INT32:
		return pgtype.Int4OID
	case t.ID() == arrow.INT64:
		return pgtype.Int8OID
	case t.ID() == arrow.FLOAT32:
		return pgtype.Float4OID
	case t.ID() == arrow.FLOAT64:
		return pgtype.Float8OID
	case plan.IsDecimal(t):
		return pgtype.NumericOID
	case plan.IsString(t):
		return pgtype.TextOID
	case plan.IsBoolean(t):
		return pgtype.BoolOID
	case t.ID() == arrow.DATE32:
		return pgtype.DateOID
	case t.ID() == arrow.TIMESTAMP && t.(*arrow.TimestampType).TimeZone != "":
		return pgtype.TimestamptzOID
	case t.ID() == arrow.TIMESTAMP:
		return pgtype.TimestampOID
	}
	tb.Fatalf("no PostgreSQL type for %s", t)
	return 0
}

// pgValue converts a value pgx read into the comparable form oracletest.ResultRows gives the
// engine's values of type t: times as wall-clock times in the type's zone.
func pgValue(tb testing.TB, t arrow.DataType, v any) oracletest.Value {
	switch x := v.(type) {
	case nil:
		return oracletest.Value{Null: true}
	case int16:
		return oracletest.Value{Exact: new(big.Rat).SetInt64(int64(x))}
	case int32:
		return oracletest.Value{Exact: new(big.Rat).SetInt64(int64(x))}
	case int64:
		return oracletest.Value{Exact: new(big.Rat).SetInt64(x)}
	case float32:
		f := float64(x)
		return oracletest.Value{Float: &f}
	case float64:
		return oracletest.Value{Float: &x}
	case pgtype.Numeric:
		if !x.Valid {
			return oracletest.Value{Null: true}
		}
		if x.NaN || x.InfinityModifier != pgtype.Finite {
			tb.Fatalf("numeric %v is not a number", x)
		}
		r := new(big.Rat).SetInt(x.Int)
		p := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(max(x.Exp, -x.Exp))), nil))
		if x.Exp < 0 {
			r.Quo(r, p)
		} else {
			r.Mul(r, p)
		}
		return oracletest.Value{Exact: r}
	case string:
		return oracletest.Value{Text: x}
	case bool:
		return oracletest.Value{Text: fmt.Sprint(x)}
	case time.Time:
		switch tt := t.(type) {
		case *arrow.Date32Type:
			return oracletest.Value{Text: x.Format(time.DateOnly)}
		case *arrow.TimestampType:
			loc, err := tt.GetZone()
			if err != nil || loc == nil {
				loc = time.UTC
			}
			return oracletest.Value{Text: x.In(loc).Format("2006-01-02 15:04:05.999999")}
		}
	}
	tb.Fatalf("cannot compare PostgreSQL value %v (%T) of a %s column", v, v, t)
	return oracletest.Value{}
}
