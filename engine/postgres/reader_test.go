package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/koujing/koujing/engine/exec"
	"github.com/koujing/koujing/engine/pgtest"
	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/engine/postgres"
)

// typesTable has a column of every type TableSchema maps, and rows of extreme values, including
// a row of NULLs.
const typesTable = `CREATE TABLE %[1]s (
	id   int4 NOT NULL,
	i2   int2,
	i4   int4,
	i8   int8,
	f4   float4,
	f8   float8,
	n38  numeric(38,10),
	n12  numeric(12,2),
	nu   numeric,
	txt  text,
	vc   varchar(40),
	bp   char(3),
	nm   name,
	b    bool,
	d    date,
	ts   timestamp,
	tstz timestamptz
);
INSERT INTO %[1]s VALUES
	(1, -32768, -2147483648, -9223372036854775808, -3.4028235e38, -1.7976931348623157e308,
	 -9999999999999999999999999999.9999999999, -9999999999.99, -123.456,
	 '', 'it''s "q" \ $1 ; --', 'x', 'pg_class', false,
	 '0044-03-15 BC', '1900-01-01 00:00:00.000001', '1969-12-31 23:59:59.999999+00'),
	(2, 32767, 2147483647, 9223372036854775807, 3.4028235e38, 1.7976931348623157e308,
	 9999999999999999999999999999.9999999999, 9999999999.99, 1.5,
	 '口径 ünïcode', 'abc', 'abc', 'n', true,
	 '2024-02-29', '2024-02-29 12:34:56.789012', '2024-02-29 23:59:59.999999+00'),
	(3, 0, 0, 0, 0, 'NaN', 0.0000000001, -0.01, 0,
	 'a', '', '', '', true,
	 '1999-12-31', '1999-12-31 23:59:59.999999', '1970-01-01 00:00:00+00'),
	(4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	(5, -1, -1, -1, 1.5, 'Infinity', 1000000000000000000000000000, 1234567890.12, 123456789012345678.0123456789,
	 'z', 'z', 'z', 'z', false,
	 '1970-01-01', '2000-01-01 00:00:00', '2000-01-01 00:00:00+00'),
	(6, 1, 1, 1, -1e-30, '-Infinity', -0.5, 0.5, 0.0000000001,
	 'a', 'b', 'c', 'd', true,
	 '1969-12-31', '1969-12-31 23:59:59', '2000-01-01 00:00:00.000001+00'),
	(7, 2, 2, 2, 1e-38, 4.9e-324, 12345.6789012345, 100, -99999999999999999999999999.9,
	 'a', 'a', 'a', 'a', false,
	 '2000-01-01', '1899-12-31 23:59:59.5', '0001-01-01 00:00:00+00')`

// typesSchema is what TableSchema says of typesTable.
var typesSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int32},
	{Name: "i2", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
	{Name: "i4", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "i8", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "f4", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
	{Name: "f8", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "n38", Type: plan.Decimal(38, 10), Nullable: true},
	{Name: "n12", Type: plan.Decimal(12, 2), Nullable: true},
	{Name: "nu", Type: plan.Decimal(38, 10), Nullable: true},
	{Name: "txt", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "vc", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "bp", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "nm", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "ts", Type: plan.Timestamp(""), Nullable: true},
	{Name: "tstz", Type: plan.Timestamp("UTC"), Nullable: true},
}, nil)

// createTypesTable creates typesTable in a new schema and returns its qualified name.
func createTypesTable(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	schema := pgtest.NewSchema(t, pool)
	name := schema + ".types"
	if _, err := pool.Exec(context.Background(), fmt.Sprintf(typesTable, pgx.Identifier{schema, "types"}.Sanitize())); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestReadTypes reads every supported type through NewQueryOperator, in batches of two rows,
// and compares each value with what pgx's own Scan reads from the same query.
func TestReadTypes(t *testing.T) {
	c, pool := openTest(t, nil)
	table := createTypesTable(t, pool)
	ctx := context.Background()
	schema, err := c.TableSchema(ctx, table)
	if err != nil {
		t.Fatal(err)
	}
	if !schema.Equal(typesSchema) {
		t.Fatalf("TableSchema:\n%s\nwant\n%s", schema, typesSchema)
	}
	// The same columns with integers widened and strings dictionary-encoded.
	var wide []arrow.Field
	for _, f := range schema.Fields() {
		switch {
		case plan.IsInteger(f.Type):
			f.Type = arrow.PrimitiveTypes.Int64
		case f.Type.ID() == arrow.STRING:
			f.Type = plan.DictionaryOfStrings
		case f.Type.ID() == arrow.FLOAT32:
			f.Type = arrow.PrimitiveTypes.Float64
		}
		wide = append(wide, f)
	}
	columns := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		columns[i] = f.Name
	}

	for name, s := range map[string]*arrow.Schema{"catalog types": schema, "widened": arrow.NewSchema(wide, nil)} {
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			quoted := make([]string, len(columns))
			for i, c := range columns {
				quoted[i] = pgx.Identifier{c}.Sanitize()
			}
			stmt := &postgres.Statement{
				SQL:    "SELECT " + strings.Join(quoted, ", ") + " FROM " + table + " WHERE id >= $1",
				Params: []*plan.Literal{{Value: int64(0), Type: plan.Int64}},
				Schema: s,
			}
			want := pgxRows(t, pool, stmt.SQL, int64(0))
			batches, err := exec.Collect(ctx, postgres.NewQueryOperator(&exec.Env{Mem: mem, BatchRows: 2}, c, stmt))
			if err != nil {
				t.Fatal(err)
			}
			rows := 0
			for _, b := range batches {
				defer b.Release()
				if !b.Schema().Equal(s) {
					t.Fatalf("batch schema %s, want %s", b.Schema(), s)
				}
				if b.NumRows() > 2 {
					t.Errorf("a batch of %d rows, want at most 2", b.NumRows())
				}
				for i := 0; i < int(b.NumRows()); i++ {
					var row []any
					switch id := b.Column(0).(type) {
					case *array.Int64:
						row = want[int32(id.Value(i))]
					case *array.Int32:
						row = want[id.Value(i)]
					}
					if row == nil {
						t.Fatalf("row %d of a batch has an id pgx did not read", i)
					}
					for j, col := range b.Columns() {
						checkValue(t, fmt.Sprintf("row %v column %s", row[0], s.Field(j).Name), col, i, row[j])
					}
					rows++
				}
			}
			if rows != len(want) {
				t.Errorf("read %d rows, want %d", rows, len(want))
			}
		})
	}
}

// pgxRows runs sql with pgx and returns its rows' values by their first column, an int4 id.
func pgxRows(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) map[int32][]any {
	t.Helper()
	rows, err := pool.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int32][]any{}
	for rows.Next() {
		values, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		out[values[0].(int32)] = values
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkValue compares value i of col with want, a value as pgx's Values returns it.
func checkValue(t *testing.T, where string, col arrow.Array, i int, want any) {
	t.Helper()
	if want == nil || col.IsNull(i) {
		if want != nil || !col.IsNull(i) {
			t.Errorf("%s: got %s, want %v", where, col.ValueStr(i), want)
		}
		return
	}
	var got, wantV any
	switch a := col.(type) {
	case *array.Int16:
		got, wantV = int64(a.Value(i)), toInt64(want)
	case *array.Int32:
		got, wantV = int64(a.Value(i)), toInt64(want)
	case *array.Int64:
		got, wantV = a.Value(i), toInt64(want)
	case *array.Float32:
		got, wantV = a.Value(i), want
	case *array.Float64:
		w, ok := want.(float64)
		if !ok {
			w = float64(want.(float32))
		}
		if math.IsNaN(w) && math.IsNaN(a.Value(i)) {
			return
		}
		got, wantV = a.Value(i), w
	case *array.Decimal128:
		n := want.(pgtype.Numeric)
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		g, w := a.Value(i).BigInt(), new(big.Int).Set(n.Int)
		if e := int64(n.Exp + scale); e >= 0 {
			w.Mul(w, new(big.Int).Exp(big.NewInt(10), big.NewInt(e), nil))
		} else {
			g.Mul(g, new(big.Int).Exp(big.NewInt(10), big.NewInt(-e), nil))
		}
		got, wantV = g.String(), w.String()
	case *array.String:
		got, wantV = a.Value(i), want
	case *array.Dictionary:
		got, wantV = a.Dictionary().(*array.String).Value(a.GetValueIndex(i)), want
	case *array.Boolean:
		got, wantV = a.Value(i), want
	case *array.Date32:
		got, wantV = int64(a.Value(i)), want.(time.Time).Unix()/86400
	case *array.Timestamp:
		got, wantV = int64(a.Value(i)), want.(time.Time).UnixMicro()
	default:
		t.Fatalf("%s: unexpected array %T", where, col)
	}
	if got != wantV {
		t.Errorf("%s: got %v, want %v", where, got, wantV)
	}
}

func toInt64(v any) int64 {
	switch v := v.(type) {
	case int16:
		return int64(v)
	case int32:
		return int64(v)
	case int64:
		return v
	}
	panic(fmt.Sprintf("not an integer: %T", v))
}

// TestReadConversions reads single values into field types other than their own, and checks
// what cannot be read exactly is an error rather than a rounded value.
func TestReadConversions(t *testing.T) {
	c, _ := openTest(t, nil)
	tests := []struct {
		sql  string
		typ  arrow.DataType
		want string // the value as Arrow prints it, or
		err  string // a part of the error
	}{
		{"SELECT 5::int2", arrow.PrimitiveTypes.Int64, "5", ""},
		{"SELECT -128::int4", arrow.PrimitiveTypes.Int8, "-128", ""},
		{"SELECT 300::int4", arrow.PrimitiveTypes.Int8, "", "300 is outside the range of int8"},
		{"SELECT 40000::int8", arrow.PrimitiveTypes.Int16, "", "outside the range of int16"},
		{"SELECT sum(x) FROM (VALUES (9223372036854775807::int8), (-1::int8)) v(x)", arrow.PrimitiveTypes.Int64, "9223372036854775806", ""},
		{"SELECT (-9223372036854775808)::numeric", arrow.PrimitiveTypes.Int64, "-9223372036854775808", ""},
		{"SELECT 9223372036854775808::numeric", arrow.PrimitiveTypes.Int64, "", "outside the range of int64"},
		{"SELECT 2.5::numeric", arrow.PrimitiveTypes.Int64, "", "2.5 is not an integer"},
		{"SELECT 2.000::numeric", arrow.PrimitiveTypes.Int32, "2", ""},
		{"SELECT 12.3::numeric", plan.Decimal(12, 4), "12.3000", ""},
		{"SELECT 1.000::numeric", plan.Decimal(12, 2), "1.00", ""},
		{"SELECT -0.000001::numeric(20,10)", plan.Decimal(12, 6), "-0.000001", ""},
		{"SELECT 1.005::numeric", plan.Decimal(12, 2), "", "numeric 1.005 does not fit decimal(12,2): it has more decimals"},
		{"SELECT 0.001::numeric", plan.Decimal(12, 2), "", "more decimals"},
		{"SELECT 1e10::numeric", plan.Decimal(12, 2), "", "more digits"},
		{"SELECT 9999999999.99::numeric", plan.Decimal(12, 2), "9999999999.99", ""},
		{"SELECT 12345678901234567890123456789012345678::numeric", plan.Decimal(38, 0), "12345678901234567890123456789012345678", ""},
		{"SELECT 1e36::numeric", plan.Decimal(38, 1), "1000000000000000000000000000000000000.0", ""},
		{"SELECT 1e37::numeric", plan.Decimal(38, 1), "", "more digits"},
		{"SELECT 1e38::numeric", plan.Decimal(38, 0), "", "more digits"},
		{"SELECT 'NaN'::numeric", plan.Decimal(12, 2), "", "NaN"},
		{"SELECT 42::int4", plan.Decimal(5, 2), "42.00", ""},
		{"SELECT -999::int8", plan.Decimal(5, 2), "-999.00", ""},
		{"SELECT 1000::int8", plan.Decimal(5, 2), "", "more digits"},
		{"SELECT 0.1::numeric", arrow.PrimitiveTypes.Float64, "0.1", ""},
		{"SELECT -123456789012345678901234567890.5::numeric", arrow.PrimitiveTypes.Float64, "-1.2345678901234568e+29", ""},
		{"SELECT 1e-30::numeric", arrow.PrimitiveTypes.Float64, "1e-30", ""},
		{"SELECT 'NaN'::numeric", arrow.PrimitiveTypes.Float64, "NaN", ""},
		{"SELECT 1.5::float4", arrow.PrimitiveTypes.Float64, "1.5", ""},
		{"SELECT (2^53 + 1)::int8", arrow.PrimitiveTypes.Float64, "9.007199254740992e+15", ""},
		{"SELECT 1.5::float8", arrow.PrimitiveTypes.Float32, "", "float8, which cannot be read as float32"},
		{"SELECT 'infinity'::timestamptz", plan.Timestamp("UTC"), "", "infinite timestamp"},
		{"SELECT '-infinity'::timestamp", plan.Timestamp(""), "", "infinite timestamp"},
		{"SELECT '-infinity'::date", plan.Date, "", "infinite date"},
		{"SELECT DATE '2024-02-29'", plan.Timestamp("UTC"), "2024-02-29 00:00:00Z", ""},
		{"SELECT TIMESTAMP '2024-02-29 12:00:00'", plan.Timestamp("Asia/Shanghai"), "2024-02-29 20:00:00+08:00", ""},
		{"SELECT TIMESTAMPTZ '1960-01-01 00:00:00.5+00'", plan.Timestamp(""), "1960-01-01 00:00:00.5", ""},
		{"SELECT 1::int8", &arrow.TimestampType{Unit: arrow.Millisecond}, "", "microseconds"},
		{"SELECT 'abc'", arrow.BinaryTypes.String, "abc", ""},
		{"SELECT 'abc'::varchar", plan.DictionaryOfStrings, "abc", ""},
		{"SELECT '{}'::jsonb", arrow.BinaryTypes.String, "", "PostgreSQL returns jsonb, which cannot be read as utf8"},
		{"SELECT true", arrow.FixedWidthTypes.Boolean, "true", ""},
		{"SELECT 'abc'", arrow.BinaryTypes.Binary, "", "cannot be read as binary"},
	}
	for _, tt := range tests {
		t.Run(tt.sql+" as "+tt.typ.String(), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			s := arrow.NewSchema([]arrow.Field{{Name: "v", Type: tt.typ, Nullable: true}}, nil)
			batches, err := exec.Collect(context.Background(), postgres.NewQueryOperator(&exec.Env{Mem: mem}, c, &postgres.Statement{SQL: tt.sql, Schema: s}))
			for _, b := range batches {
				defer b.Release()
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(batches) != 1 || batches[0].NumRows() != 1 {
				t.Fatalf("got %d batches, want one of one row", len(batches))
			}
			if got := valueString(batches[0].Column(0), 0); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// valueString prints value i of a: timestamps in their field's zone, decimals exactly.
func valueString(a arrow.Array, i int) string {
	switch a := a.(type) {
	case *array.Timestamp:
		typ := a.DataType().(*arrow.TimestampType)
		tm := a.Value(i).ToTime(typ.Unit)
		if typ.TimeZone == "" {
			return tm.Format("2006-01-02 15:04:05.999999")
		}
		loc, err := time.LoadLocation(typ.TimeZone)
		if err != nil {
			return err.Error()
		}
		return tm.In(loc).Format("2006-01-02 15:04:05.999999Z07:00")
	case *array.Decimal128:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Float64:
		return fmt.Sprint(a.Value(i))
	}
	return a.ValueStr(i)
}

// TestReadEmptyAndNulls reads a result without rows, and a column of only NULLs.
func TestReadEmptyAndNulls(t *testing.T) {
	c, _ := openTest(t, nil)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	got, err := runQuery(ctx, c, mem, "SELECT 1::int8 WHERE false")
	if err != nil || len(got) != 0 {
		t.Errorf("an empty result: %v, %v", got, err)
	}
	s := arrow.NewSchema([]arrow.Field{{Name: "v", Type: plan.DictionaryOfStrings, Nullable: true}}, nil)
	op := postgres.NewQueryOperator(&exec.Env{Mem: mem, BatchRows: 3}, c, &postgres.Statement{
		SQL: "SELECT NULL::text FROM generate_series(1, 10)", Schema: s})
	batches, err := exec.Collect(ctx, op)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, b := range batches {
		n += int(b.NumRows())
		if b.Column(0).NullN() != b.Column(0).Len() {
			t.Errorf("a batch with %d nulls of %d", b.Column(0).NullN(), b.Column(0).Len())
		}
		b.Release()
	}
	if n != 10 || len(batches) != 4 {
		t.Errorf("%d rows in %d batches, want 10 in 4", n, len(batches))
	}
}

// TestOperatorContract checks the calls around the rows: Next after the end, after an error, and
// Close twice or without Open.
func TestOperatorContract(t *testing.T) {
	c, _ := openTest(t, nil)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()

	op := postgres.NewQueryOperator(&exec.Env{Mem: mem}, c, &postgres.Statement{SQL: "SELECT 1::int8", Schema: int64Schema})
	if !op.Schema().Equal(int64Schema) {
		t.Errorf("Schema() = %s", op.Schema())
	}
	if err := op.Open(ctx); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int64{1, 0, 0} {
		b, err := op.Next(ctx)
		if err != nil || (b != nil) != (want > 0) {
			t.Fatalf("Next #%d: %v, %v", i+1, b, err)
		}
	}
	op.Close()
	op.Close()
	postgres.NewQueryOperator(&exec.Env{Mem: mem}, c, &postgres.Statement{SQL: "SELECT 1::int8", Schema: int64Schema}).Close()

	op = postgres.NewQueryOperator(&exec.Env{Mem: mem, BatchRows: 2}, c, &postgres.Statement{
		SQL: "SELECT (10 / (3 - g))::int8 FROM generate_series(1, 5) g", Schema: int64Schema})
	defer op.Close()
	if err := op.Open(ctx); err != nil {
		t.Fatal(err)
	}
	var err error
	for range 3 {
		if _, err = op.Next(ctx); err != nil {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), "22012") {
		t.Fatalf("err = %v, want division by zero", err)
	}
	if _, again := op.Next(ctx); !errors.Is(again, err) {
		t.Errorf("Next after an error: %v, want the same error", again)
	}

}

// The benchmarks read a table of a million rows of five columns, through NewQueryOperator and
// through pgx's rows.Scan.
const (
	transferRows  = 1_000_000
	transferTable = `CREATE TABLE %[1]s AS
SELECT g::int8 AS id,
       ((g %% 100000)::numeric / 100 + 1000)::numeric(12,2) AS amount,
       'customer-' || (g %% 1000) AS name,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' AS at,
       g * 0.5::float8 AS score
FROM generate_series(1, %[2]d) g`
)

// transferSchema is the schema of the benchmarks' rows.
var transferSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "amount", Type: plan.Decimal(12, 2)},
	{Name: "name", Type: arrow.BinaryTypes.String},
	{Name: "at", Type: plan.Timestamp("UTC")},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64},
}, nil)

func transferSetup(b *testing.B) (*postgres.Connection, *pgxpool.Pool, string) {
	c, pool := openTest(b, nil)
	schema := pgtest.NewSchema(b, pool)
	table := pgx.Identifier{schema, "transfer"}.Sanitize()
	if _, err := pool.Exec(context.Background(), fmt.Sprintf(transferTable, table, transferRows)); err != nil {
		b.Fatal(err)
	}
	// Set the hint bits and warm the server's cache, so that both benchmarks read from memory.
	for _, sql := range []string{"VACUUM ANALYZE " + table, "SELECT count(*) FROM " + table} {
		if _, err := pool.Exec(context.Background(), sql); err != nil {
			b.Fatal(err)
		}
	}
	return c, pool, "SELECT id, amount, name, at, score FROM " + table
}

func BenchmarkTransfer(b *testing.B) {
	c, _, sql := transferSetup(b)
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(b, 0)
	env := &exec.Env{Mem: mem}
	var bytes int64
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU(b)
	for i := 0; i < b.N; i++ {
		bytes = readTransfer(ctx, b, env, c, sql)
	}
	b.SetBytes(bytes)
	reportTransfer(b, cpu)
}

// readTransfer reads the transfer table through a QueryOperator, checks it has every row, and
// returns the size of the Arrow buffers it filled.
func readTransfer(ctx context.Context, b *testing.B, env *exec.Env, c *postgres.Connection, sql string) (bytes int64) {
	op := postgres.NewQueryOperator(env, c, &postgres.Statement{SQL: sql, Schema: transferSchema})
	defer op.Close()
	if err := op.Open(ctx); err != nil {
		b.Fatal(err)
	}
	rows := 0
	for {
		batch, err := op.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if batch == nil {
			break
		}
		rows += int(batch.NumRows())
		for _, col := range batch.Columns() {
			for _, buf := range col.Data().Buffers() {
				if buf != nil {
					bytes += int64(buf.Len())
				}
			}
		}
	}
	if rows != transferRows {
		b.Fatalf("read %d rows, want %d", rows, transferRows)
	}
	return bytes
}

// processCPU returns the CPU time this process has used, user and system, in all its threads.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportTransfer reports rows per second, and the client's CPU time per row since start (the
// server shares the machine, so rows/s also measures it; cpu-ns/row is the reader's own cost).
func reportTransfer(b *testing.B, start time.Duration) {
	rows := float64(transferRows) * float64(b.N)
	b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(processCPU(b)-start)/rows, "cpu-ns/row")
}

func BenchmarkTransferPgxScan(b *testing.B) {
	c, pool, sql := transferSetup(b)
	c.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU(b)
	for i := 0; i < b.N; i++ {
		rows, err := pool.Query(ctx, sql)
		if err != nil {
			b.Fatal(err)
		}
		var (
			id     int64
			amount pgtype.Numeric
			name   string
			at     time.Time
			score  float64
			n      int
			bytes  int64
		)
		for rows.Next() {
			if err := rows.Scan(&id, &amount, &name, &at, &score); err != nil {
				b.Fatal(err)
			}
			n++
			bytes += int64(8 + 16 + len(name) + 4 + 8 + 8)
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		if n != transferRows {
			b.Fatalf("read %d rows, want %d", n, transferRows)
		}
		b.SetBytes(bytes)
	}
	reportTransfer(b, cpu)
}

// TestReadNumericsRandom reads random numerics into decimals of several precisions and scales,
// into float64 and into int64, and compares each with the value computed from its text in Go.
// Values that must not fit are read one by one and must fail.
func TestReadNumericsRandom(t *testing.T) {
	c, _ := openTest(t, nil)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
		}
		return string(b)
	}
	var values []string
	for range 400 {
		v := digits(rng.IntN(30))
		if v == "" || rng.IntN(4) == 0 {
			v = "0"
		}
		if f := rng.IntN(16); f > 0 {
			v += "." + digits(f)
		}
		if rng.IntN(2) == 0 {
			v = "-" + v
		}
		values = append(values, v)
	}
	values = append(values, "0.0001", "10000", "100000000", "99999999.9999", "1e-8", "123456789012345678901234567890")

	type target struct{ precision, scale int32 }
	for _, tg := range []target{{38, 10}, {12, 2}, {18, 0}, {38, 0}, {20, 15}, {5, 5}, {19, 4}} {
		var fit []string
		var misfit []string
		ten := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(tg.scale)), nil))
		limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(tg.precision)), nil)
		want := map[string]string{}
		for _, v := range values {
			r, _ := new(big.Rat).SetString(v)
			r.Mul(r, ten)
			if !r.IsInt() || new(big.Int).Abs(r.Num()).Cmp(limit) >= 0 {
				misfit = append(misfit, v)
				continue
			}
			fit = append(fit, v)
			want[v] = r.Num().String()
		}
		t.Run(fmt.Sprintf("decimal(%d,%d)", tg.precision, tg.scale), func(t *testing.T) {
			t.Logf("%d values fit, %d do not", len(fit), len(misfit))
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			s := arrow.NewSchema([]arrow.Field{{Name: "t", Type: arrow.BinaryTypes.String}, {Name: "v", Type: plan.Decimal(tg.precision, tg.scale)}}, nil)
			rows := make([]string, len(fit))
			for i, v := range fit {
				rows[i] = "('" + v + "')"
			}
			if len(rows) > 0 {
				sql := "SELECT t, t::numeric FROM (VALUES " + strings.Join(rows, ", ") + ") v(t)"
				batches, err := exec.Collect(ctx, postgres.NewQueryOperator(&exec.Env{Mem: mem, BatchRows: 64}, c, &postgres.Statement{SQL: sql, Schema: s}))
				if err != nil {
					t.Fatal(err)
				}
				for _, b := range batches {
					texts, nums := b.Column(0).(*array.String), b.Column(1).(*array.Decimal128)
					for i := range int(b.NumRows()) {
						if got := nums.Value(i).BigInt().String(); got != want[texts.Value(i)] {
							t.Errorf("%s: got %s, want %s", texts.Value(i), got, want[texts.Value(i)])
						}
					}
					b.Release()
				}
			}
			for _, v := range misfit[:min(len(misfit), 25)] {
				batches, err := exec.Collect(ctx, postgres.NewQueryOperator(&exec.Env{Mem: mem}, c,
					&postgres.Statement{SQL: "SELECT '" + v + "', '" + v + "'::numeric", Schema: s}))
				for _, b := range batches {
					b.Release()
				}
				if err == nil || !strings.Contains(err.Error(), "does not fit") {
					t.Errorf("%s: err = %v, want it not to fit", v, err)
				}
			}
		})
	}

	t.Run("float64 and int64", func(t *testing.T) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		s := arrow.NewSchema([]arrow.Field{{Name: "t", Type: arrow.BinaryTypes.String}, {Name: "f", Type: plan.Float64}}, nil)
		rows := make([]string, len(values))
		for i, v := range values {
			rows[i] = "('" + v + "')"
		}
		sql := "SELECT t, t::numeric FROM (VALUES " + strings.Join(rows, ", ") + ") v(t)"
		batches, err := exec.Collect(ctx, postgres.NewQueryOperator(&exec.Env{Mem: mem}, c, &postgres.Statement{SQL: sql, Schema: s}))
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range batches {
			texts, floats := b.Column(0).(*array.String), b.Column(1).(*array.Float64)
			for i := range int(b.NumRows()) {
				want, _ := strconv.ParseFloat(texts.Value(i), 64)
				if floats.Value(i) != want {
					t.Errorf("%s: got %v, want %v", texts.Value(i), floats.Value(i), want)
				}
			}
			b.Release()
		}
		var ints []string
		for _, v := range values {
			if r, _ := new(big.Rat).SetString(v); r.IsInt() && r.Num().IsInt64() {
				ints = append(ints, "('"+v+"')")
			}
		}
		s = arrow.NewSchema([]arrow.Field{{Name: "t", Type: arrow.BinaryTypes.String}, {Name: "i", Type: plan.Int64}}, nil)
		sql = "SELECT t, t::numeric FROM (VALUES " + strings.Join(ints, ", ") + ") v(t)"
		batches, err = exec.Collect(ctx, postgres.NewQueryOperator(&exec.Env{Mem: mem}, c, &postgres.Statement{SQL: sql, Schema: s}))
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range batches {
			texts, got := b.Column(0).(*array.String), b.Column(1).(*array.Int64)
			for i := range int(b.NumRows()) {
				r, _ := new(big.Rat).SetString(texts.Value(i))
				if got.Value(i) != r.Num().Int64() {
					t.Errorf("%s: got %d", texts.Value(i), got.Value(i))
				}
			}
			b.Release()
		}
	})
}

// replayServer speaks just enough of the PostgreSQL protocol to answer every extended-protocol
// statement with the same rows, recorded from a real server: it measures the reader without the
// server's cost of producing the rows.
type replayServer struct {
	listener net.Listener
	fields   []pgproto3.FieldDescription
	rows     []byte // DataRow messages
	repeat   int    // how many times the rows are sent per statement
	done     sync.WaitGroup
}

// newReplayServer records the rows of sql from pool and serves them repeat times per statement
// until the benchmark ends.
func newReplayServer(b *testing.B, pool *pgxpool.Pool, sql string, repeat int) *replayServer {
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	s := &replayServer{repeat: repeat}
	rr := conn.Conn().PgConn().ExecParams(ctx, sql, nil, nil, nil, []int16{pgtype.BinaryFormatCode})
	for _, fd := range rr.FieldDescriptions() {
		s.fields = append(s.fields, pgproto3.FieldDescription{Name: []byte(fd.Name), DataTypeOID: fd.DataTypeOID,
			DataTypeSize: fd.DataTypeSize, TypeModifier: fd.TypeModifier, Format: pgtype.BinaryFormatCode})
	}
	for rr.NextRow() {
		if s.rows, err = (&pgproto3.DataRow{Values: rr.Values()}).Encode(s.rows); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := rr.Close(); err != nil {
		b.Fatal(err)
	}
	if s.listener, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	s.done.Go(func() {
		for {
			c, err := s.listener.Accept()
			if err != nil {
				return
			}
			s.done.Go(func() { s.serve(c) })
		}
	})
	b.Cleanup(func() {
		s.listener.Close()
		s.done.Wait()
	})
	return s
}

func (s *replayServer) url() string {
	return "postgres://replay@" + s.listener.Addr().String() + "/replay?sslmode=disable"
}

func (s *replayServer) serve(conn net.Conn) {
	defer conn.Close()
	be := pgproto3.NewBackend(conn, conn)
	if _, err := be.ReceiveStartupMessage(); err != nil {
		return
	}
	be.Send(&pgproto3.AuthenticationOk{})
	be.Send(&pgproto3.ParameterStatus{Name: "client_encoding", Value: "UTF8"})
	be.Send(&pgproto3.ParameterStatus{Name: "standard_conforming_strings", Value: "on"})
	be.Send(&pgproto3.BackendKeyData{ProcessID: 1, SecretKey: []byte{0, 0, 0, 1}})
	be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
	if be.Flush() != nil {
		return
	}
	for {
		msg, err := be.Receive()
		if err != nil {
			return
		}
		switch msg.(type) {
		case *pgproto3.Parse:
			be.Send(&pgproto3.ParseComplete{})
		case *pgproto3.Bind:
			be.Send(&pgproto3.BindComplete{})
		case *pgproto3.Describe:
			be.Send(&pgproto3.RowDescription{Fields: s.fields})
		case *pgproto3.Execute:
			if be.Flush() != nil {
				return
			}
			for range s.repeat {
				if _, err := conn.Write(s.rows); err != nil {
					return
				}
			}
			be.Send(&pgproto3.CommandComplete{CommandTag: []byte("SELECT")})
		case *pgproto3.Query:
			be.Send(&pgproto3.EmptyQueryResponse{})
			be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
			if be.Flush() != nil {
				return
			}
		case *pgproto3.Sync:
			be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
			if be.Flush() != nil {
				return
			}
		case *pgproto3.Terminate:
			return
		}
	}
}

// BenchmarkTransferReplay reads the rows of BenchmarkTransfer from a replayServer: the reader's
// own throughput, without PostgreSQL producing the rows on the same machine.
func BenchmarkTransferReplay(b *testing.B) {
	_, pool, sql := transferSetup(b)
	const recorded = 100_000
	server := newReplayServer(b, pool, sql+fmt.Sprintf(" LIMIT %d", recorded), transferRows/recorded)
	c, err := postgres.Open(context.Background(), postgres.ConnectionConfig{Name: "replay", URL: server.url()})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(b, 0)
	env := &exec.Env{Mem: mem}
	b.SetBytes(int64(len(server.rows) * server.repeat))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU(b)
	for i := 0; i < b.N; i++ {
		readTransfer(ctx, b, env, c, sql)
	}
	reportTransfer(b, cpu)
}
