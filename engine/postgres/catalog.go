package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/koujing/koujing/engine/plan"
)

// UnconstrainedNumeric is the decimal type a numeric column without precision and scale reads
// as: 28 integer digits and 10 decimals. Values with more fail to read rather than round.
var UnconstrainedNumeric = plan.Decimal(plan.MaxDecimalPrecision, 10)

// NoTableError is the error for a table that does not exist. It wraps ErrNoTable.
type NoTableError struct {
	// Schema is the schema searched: the one named, or the first of the search path.
	Schema string
	// Table is the table's name as given.
	Table string
	// Tables are the tables of Schema that could be read instead, for a caller to suggest one.
	Tables []string
}

// Error says which table is missing where.
func (e *NoTableError) Error() string {
	msg := fmt.Sprintf("table %q does not exist in schema %q", e.Table, e.Schema)
	if len(e.Tables) == 0 {
		msg += ", which has no tables Koujing can read"
	}
	return msg
}

// Unwrap returns ErrNoTable.
func (e *NoTableError) Unwrap() error { return ErrNoTable }

// readableRelkinds are the kinds of relation a model may read: tables, views, materialized
// views, foreign tables and partitioned tables.
const readableRelkinds = "'r', 'v', 'm', 'f', 'p'"

// TableSchema returns the columns of a table (or view), in order, as the Arrow schema the reader
// produces for them: the field's type per PostgreSQL type (see arrowType) and nullable unless
// the column (or its domain) is NOT NULL. table is "schema.table", or "table" to resolve through
// the session's search_path as PostgreSQL would; each part is an exact name, or a double-quoted
// identifier. A table that does not exist is a *NoTableError; a column of a type Koujing cannot
// read is an error naming it.
func (c *Connection) TableSchema(ctx context.Context, table string) (*arrow.Schema, error) {
	schema, name, err := ParseTableName(table)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL connection %q: %w", c.name, err)
	}
	var (
		oid     uint32
		relkind string
	)
	const findTable = `SELECT c.oid, c.relkind::text FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass($1)`
	err = c.pool.QueryRow(ctx, findTable, tableIdentifier(schema, name).Sanitize()).Scan(&oid, &relkind)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && !strings.Contains(readableRelkinds, "'"+relkind+"'") {
		return nil, c.noTable(ctx, schema, name)
	}
	if err != nil {
		return nil, c.errorf("look up table "+table, err)
	}

	const columns = `
SELECT a.attname,
       a.attnotnull OR (t.typtype = 'd' AND t.typnotnull),
       CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END,
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END,
       pg_catalog.format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`
	rows, err := c.pool.Query(ctx, columns, oid)
	if err != nil {
		return nil, c.errorf("read the columns of "+table, err)
	}
	var (
		fields []arrow.Field
		errs   []error
		col    struct {
			name    string
			notNull bool
			typ     uint32
			typmod  int32
			typName string
		}
	)
	_, err = pgx.ForEachRow(rows, []any{&col.name, &col.notNull, &col.typ, &col.typmod, &col.typName}, func() error {
		t, err := arrowType(col.typ, col.typmod)
		switch {
		case errors.Is(err, errNoArrowType):
			errs = append(errs, fmt.Errorf("column %s has type %s, which Koujing cannot read; cast it in a view", col.name, col.typName))
			return nil
		case err != nil:
			errs = append(errs, fmt.Errorf("column %s has type %s, which Koujing cannot read: %w; cast it in a view", col.name, col.typName, err))
			return nil
		}
		fields = append(fields, arrow.Field{Name: col.name, Type: t, Nullable: !col.notNull})
		return nil
	})
	if err != nil {
		return nil, c.errorf("read the columns of "+table, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("PostgreSQL connection %q: table %s: %w", c.name, table, errors.Join(errs...))
	}
	return arrow.NewSchema(fields, nil), nil
}

// arrowType returns the Arrow type of a PostgreSQL type with a type modifier: smallint, integer
// and bigint as int16, int32 and int64; real and double precision as float32 and float64;
// numeric(p,s) as decimal128(p,s) and unconstrained numeric as UnconstrainedNumeric; text,
// varchar, char and name as utf8; boolean; date as date32; timestamp as timestamp[us] without a
// zone and timestamptz as timestamp[us, UTC].
func arrowType(oid uint32, typmod int32) (arrow.DataType, error) {
	switch oid {
	case pgtype.Int2OID:
		return arrow.PrimitiveTypes.Int16, nil
	case pgtype.Int4OID:
		return arrow.PrimitiveTypes.Int32, nil
	case pgtype.Int8OID:
		return arrow.PrimitiveTypes.Int64, nil
	case pgtype.Float4OID:
		return arrow.PrimitiveTypes.Float32, nil
	case pgtype.Float8OID:
		return arrow.PrimitiveTypes.Float64, nil
	case pgtype.NumericOID:
		if typmod < 4 {
			return UnconstrainedNumeric, nil
		}
		precision := (typmod - 4) >> 16 & 0xffff
		// The scale is 11 bits, signed since PostgreSQL 15 allows numeric(p,-s).
		scale := (typmod-4)&0x7ff ^ 0x400 - 0x400
		switch {
		case precision > plan.MaxDecimalPrecision:
			return nil, fmt.Errorf("its precision %d is more than the %d digits of a 128-bit decimal", precision, plan.MaxDecimalPrecision)
		case scale < 0:
			return nil, fmt.Errorf("its scale %d is negative", scale)
		}
		return plan.Decimal(max(precision, scale), scale), nil
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID:
		return arrow.BinaryTypes.String, nil
	case pgtype.BoolOID:
		return arrow.FixedWidthTypes.Boolean, nil
	case pgtype.DateOID:
		return arrow.FixedWidthTypes.Date32, nil
	case pgtype.TimestampOID:
		return plan.Timestamp(""), nil
	case pgtype.TimestamptzOID:
		return plan.Timestamp("UTC"), nil
	}
	return nil, errNoArrowType
}

// errNoArrowType is arrowType's error for a PostgreSQL type it does not map at all.
var errNoArrowType = errors.New("no Arrow type holds it")

// Tables returns the names of the tables, views, materialized views and foreign tables of a
// schema, sorted; partitions are left out, as queries read their parent. An empty schema means
// the first schema of the session's search_path.
func (c *Connection) Tables(ctx context.Context, schema string) ([]string, error) {
	const list = `
SELECT c.relname
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = coalesce(nullif($1, ''), pg_catalog.current_schema())
  AND c.relkind IN (` + readableRelkinds + `) AND NOT c.relispartition
ORDER BY c.relname`
	rows, err := c.pool.Query(ctx, list, schema)
	if err != nil {
		return nil, c.errorf("list the tables of schema "+schema, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, c.errorf("list the tables of schema "+schema, err)
	}
	return names, nil
}

// noTable returns the error for a table that does not exist, with the tables its schema does
// have. If listing them fails, that error is returned instead, as it likely explains the first.
func (c *Connection) noTable(ctx context.Context, schema, name string) error {
	if schema == "" {
		if err := c.pool.QueryRow(ctx, "SELECT coalesce(pg_catalog.current_schema(), '')").Scan(&schema); err != nil {
			return c.errorf("look up table "+name, err)
		}
	}
	tables, err := c.Tables(ctx, schema)
	if err != nil {
		return err
	}
	return fmt.Errorf("PostgreSQL connection %q: %w", c.name, &NoTableError{Schema: schema, Table: name, Tables: tables})
}

// FormatTableName writes a table's name as ParseTableName reads it: each part as it is, or in
// double quotes when it holds a dot or starts with a quote. schema may be empty.
func FormatTableName(schema, table string) string {
	part := func(s string) string {
		if s == "" || strings.Contains(s, ".") || strings.HasPrefix(s, `"`) {
			return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
		}
		return s
	}
	if schema == "" {
		return part(table)
	}
	return part(schema) + "." + part(table)
}

// ParseTableName splits "schema.table" or "table" into its parts. Each part is taken exactly as
// written (no case folding), or, in double quotes, as a SQL quoted identifier ("My ""x""").
// The schema is empty when there is none.
func ParseTableName(s string) (schema, table string, err error) {
	var parts []string
	rest := s
	for {
		var part string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i := 1
			for {
				j := strings.IndexByte(rest[i:], '"')
				if j < 0 {
					return "", "", fmt.Errorf("table name %q has an unclosed quote", s)
				}
				b.WriteString(rest[i : i+j])
				i += j + 1
				if !strings.HasPrefix(rest[i:], `"`) {
					break
				}
				b.WriteByte('"')
				i++
			}
			part, rest = b.String(), rest[i:]
			if rest != "" && !strings.HasPrefix(rest, ".") {
				return "", "", fmt.Errorf("table name %q has text after a quoted name", s)
			}
		} else {
			end := strings.IndexByte(rest, '.')
			if end < 0 {
				end = len(rest)
			}
			part, rest = rest[:end], rest[end:]
		}
		if part == "" {
			return "", "", fmt.Errorf("table name %q has an empty part; write schema.table or table", s)
		}
		parts = append(parts, part)
		if rest == "" {
			break
		}
		rest = rest[1:] // the dot
	}
	switch len(parts) {
	case 1:
		return "", parts[0], nil
	case 2:
		return parts[0], parts[1], nil
	}
	return "", "", fmt.Errorf("table name %q has %d parts; write schema.table or table", s, len(parts))
}
