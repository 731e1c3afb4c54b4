package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"

	"github.com/koujing/koujing/engine/pgtest"
	"github.com/koujing/koujing/engine/postgres"
	"github.com/koujing/koujing/engine/source"
)

func TestCreateTableSQL(t *testing.T) {
	dict := func(index arrow.DataType) arrow.DataType {
		return &arrow.DictionaryType{IndexType: index, ValueType: arrow.BinaryTypes.String}
	}
	tests := []struct {
		name   string
		schema string
		field  arrow.Field
		want   string
	}{
		{"int8", "s", arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int8}, `CREATE TABLE "s"."t" ("a" smallint NOT NULL)`},
		{"int16", "s", arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int16, Nullable: true}, `CREATE TABLE "s"."t" ("a" smallint)`},
		{"int32", "s", arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int32}, `CREATE TABLE "s"."t" ("a" integer NOT NULL)`},
		{"int64", "s", arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64}, `CREATE TABLE "s"."t" ("a" bigint NOT NULL)`},
		{"float32", "s", arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Float32}, `CREATE TABLE "s"."t" ("a" real NOT NULL)`},
		{"float64", "s", arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Float64}, `CREATE TABLE "s"."t" ("a" double precision NOT NULL)`},
		{"decimal", "s", arrow.Field{Name: "a", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}}, `CREATE TABLE "s"."t" ("a" numeric(12,2) NOT NULL)`},
		{"utf8", "s", arrow.Field{Name: "a", Type: arrow.BinaryTypes.String}, `CREATE TABLE "s"."t" ("a" text NOT NULL)`},
		{"dictionary", "s", arrow.Field{Name: "a", Type: dict(arrow.PrimitiveTypes.Int16), Nullable: true}, `CREATE TABLE "s"."t" ("a" text)`},
		{"bool", "s", arrow.Field{Name: "a", Type: arrow.FixedWidthTypes.Boolean}, `CREATE TABLE "s"."t" ("a" boolean NOT NULL)`},
		{"date32", "s", arrow.Field{Name: "a", Type: arrow.FixedWidthTypes.Date32}, `CREATE TABLE "s"."t" ("a" date NOT NULL)`},
		{"timestamptz", "s", arrow.Field{Name: "a", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}}, `CREATE TABLE "s"."t" ("a" timestamptz NOT NULL)`},
		{"timestamp", "s", arrow.Field{Name: "a", Type: &arrow.TimestampType{Unit: arrow.Microsecond}}, `CREATE TABLE "s"."t" ("a" timestamp NOT NULL)`},
		{"no schema", "", arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64}, `CREATE TABLE "t" ("a" bigint NOT NULL)`},
		{"quoting", `my "schema"`, arrow.Field{Name: `Odd "name"`, Type: arrow.PrimitiveTypes.Int64}, `CREATE TABLE "my ""schema"""."t" ("Odd ""name""" bigint NOT NULL)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := postgres.CreateTableSQL(tt.schema, "t", arrow.NewSchema([]arrow.Field{tt.field}, nil))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}

	for _, typ := range []arrow.DataType{arrow.BinaryTypes.Binary, arrow.PrimitiveTypes.Uint64, arrow.ListOf(arrow.PrimitiveTypes.Int64), dict(arrow.PrimitiveTypes.Int64)} {
		if typ.ID() == arrow.DICTIONARY {
			typ = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.PrimitiveTypes.Int64}
		}
		s := arrow.NewSchema([]arrow.Field{{Name: "ok", Type: arrow.PrimitiveTypes.Int64}, {Name: "bad", Type: typ}}, nil)
		_, err := postgres.CreateTableSQL("s", "t", s)
		if err == nil || !strings.Contains(err.Error(), "column bad") {
			t.Errorf("CreateTableSQL with a %s column: err = %v, want an error naming the column", typ, err)
		}
	}
}

// roundTripSchema has a column of every supported type, nullable so that NULL travels too.
var roundTripSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int32},
	{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
	{Name: "i16", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
	{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
	{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "money", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}, Nullable: true},
	{Name: "huge", Type: &arrow.Decimal128Type{Precision: 38, Scale: 6}, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "d", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}, Nullable: true},
	{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "tz", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "local", Type: &arrow.TimestampType{Unit: arrow.Millisecond}, Nullable: true},
}, nil)

// roundTripRows are the two batches copied, as JSON.
var roundTripRows = []string{`[
	{"id": 1, "i8": -128, "i16": 32767, "i64": 9223372036854775807, "f32": 1.5, "f64": -0.1,
	 "money": "-123.45", "huge": "12345678901234567890123456789012.123456", "s": "a, \"quoted\"\nline",
	 "d": "east", "b": true, "day": "1969-12-31", "tz": "2023-01-01T08:15:30.123456Z", "local": "2024-02-29T23:59:59.999"},
	{"id": 2, "i8": null, "i16": null, "i64": null, "f32": null, "f64": null, "money": null, "huge": null,
	 "s": null, "d": null, "b": null, "day": null, "tz": null, "local": null}
]`, `[
	{"id": 3, "i8": 0, "i16": -1, "i64": -9223372036854775808, "f32": 0, "f64": 1e300,
	 "money": "0.05", "huge": "-99999999999999999999999999999999.999999", "s": "",
	 "d": "Xi'an", "b": false, "day": "2024-02-29", "tz": "1999-12-31T23:59:59.999999Z", "local": "1970-01-01T00:00:00"}
]`}

// roundTripWant is each row as PostgreSQL prints it, columns separated by |, NULL as ∅.
var roundTripWant = []string{
	"1|-128|32767|9223372036854775807|1.5|-0.1|-123.45|12345678901234567890123456789012.123456|a, \"quoted\"\nline|east|true|1969-12-31|2023-01-01 08:15:30.123456+00|2024-02-29 23:59:59.999",
	"2|∅|∅|∅|∅|∅|∅|∅|∅|∅|∅|∅|∅|∅",
	"3|0|-1|-9223372036854775808|0|1e+300|0.05|-99999999999999999999999999999999.999999||Xi'an|false|2024-02-29|1999-12-31 23:59:59.999999+00|1970-01-01 00:00:00",
}

func roundTripTable(t *testing.T, mem memory.Allocator) *source.Table {
	t.Helper()
	var batches []arrow.RecordBatch
	for _, rows := range roundTripRows {
		b, _, err := array.RecordFromJSON(mem, roundTripSchema, strings.NewReader(rows))
		if err != nil {
			t.Fatal(err)
		}
		defer b.Release()
		batches = append(batches, b)
	}
	tab, err := source.NewTable("round_trip", roundTripSchema, batches)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func TestCopyTable(t *testing.T) {
	pool := pgtest.Connect(t)
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tab := roundTripTable(t, mem)
	defer tab.Release()

	for _, via := range []string{"pool", "tx"} {
		t.Run(via, func(t *testing.T) {
			schema := pgtest.NewSchema(t, pool)
			var n int64
			var err error
			if via == "tx" {
				tx, err := pool.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback(ctx)
				if n, err = postgres.CopyTable(ctx, tx, schema, "round_trip", tab); err != nil {
					t.Fatal(err)
				}
				if err := tx.Commit(ctx); err != nil {
					t.Fatal(err)
				}
			} else if n, err = postgres.CopyTable(ctx, pool, schema, "round_trip", tab); err != nil {
				t.Fatal(err)
			}
			if n != 3 {
				t.Errorf("copied %d rows, want 3", n)
			}
			var cols []string
			for _, f := range roundTripSchema.Fields() {
				cols = append(cols, "coalesce("+pgx.Identifier{f.Name}.Sanitize()+"::text, '∅')")
			}
			rows, err := pool.Query(ctx, "SELECT concat_ws('|', "+strings.Join(cols, ", ")+") FROM "+
				pgx.Identifier{schema, "round_trip"}.Sanitize()+" ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			got, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n---\n") != strings.Join(roundTripWant, "\n---\n") {
				t.Errorf("PostgreSQL holds\n%s\nwant\n%s", strings.Join(got, "\n---\n"), strings.Join(roundTripWant, "\n---\n"))
			}
		})
	}
}

func TestCopyTableUnsupported(t *testing.T) {
	pool := pgtest.Connect(t)
	schema := pgtest.NewSchema(t, pool)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := arrow.NewSchema([]arrow.Field{{Name: "blob", Type: arrow.BinaryTypes.Binary}}, nil)
	b, _, err := array.RecordFromJSON(mem, s, strings.NewReader(`[{"blob": "AAE="}]`))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	tab, err := source.NewTable("blobs", s, []arrow.RecordBatch{b})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Release()
	if _, err := postgres.CopyTable(context.Background(), pool, schema, "blobs", tab); err == nil {
		t.Fatal("CopyTable of a binary column succeeded, want an error")
	}
	var exists bool
	err = pool.QueryRow(context.Background(), "SELECT to_regclass($1) IS NOT NULL", schema+".blobs").Scan(&exists)
	if err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Error("CopyTable created the table of a schema it cannot copy")
	}
}
