// Package postgres connects the engine to PostgreSQL. For now it loads Arrow tables into
// PostgreSQL, so that tests can run the same question on the engine and on PostgreSQL and
// compare the answers.
package postgres

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/koujing/koujing/engine/source"
)

// CopyConn is what CopyTable needs of a connection. *pgx.Conn, pgx.Tx and *pgxpool.Pool
// satisfy it. With a pool, the CREATE TABLE and the COPY may run on different connections, each
// in its own transaction; pass a pgx.Tx to load a table atomically.
type CopyConn interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	CopyFrom(ctx context.Context, tableName pgx.Identifier, columnNames []string, rowSrc pgx.CopyFromSource) (int64, error)
}

var (
	_ CopyConn = (*pgx.Conn)(nil)
	_ CopyConn = (pgx.Tx)(nil)
	_ CopyConn = (*pgxpool.Pool)(nil)
)

// CreateTableSQL returns the CREATE TABLE statement for a table named table in schema (no
// schema if empty) with a column per field of s: a field that is not nullable is NOT NULL, and
// Arrow types map to the PostgreSQL types that hold their values exactly (see pgType). It returns
// an error naming the field if a type has no such PostgreSQL type.
func CreateTableSQL(schema, table string, s *arrow.Schema) (string, error) {
	var b strings.Builder
	b.WriteString("CREATE TABLE ")
	b.WriteString(tableIdentifier(schema, table).Sanitize())
	b.WriteString(" (")
	for i, f := range s.Fields() {
		typ, err := pgType(f.Type)
		if err != nil {
			return "", fmt.Errorf("create table %s: column %s: %w", table, f.Name, err)
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pgx.Identifier{f.Name}.Sanitize())
		b.WriteByte(' ')
		b.WriteString(typ)
		if !f.Nullable {
			b.WriteString(" NOT NULL")
		}
	}
	b.WriteString(")")
	return b.String(), nil
}

// pgType returns the PostgreSQL type of an Arrow type.
func pgType(t arrow.DataType) (string, error) {
	switch t := t.(type) {
	case *arrow.Int8Type, *arrow.Int16Type:
		return "smallint", nil
	case *arrow.Int32Type:
		return "integer", nil
	case *arrow.Int64Type:
		return "bigint", nil
	case *arrow.Float32Type:
		return "real", nil
	case *arrow.Float64Type:
		return "double precision", nil
	case *arrow.Decimal128Type:
		return fmt.Sprintf("numeric(%d,%d)", t.Precision, t.Scale), nil
	case *arrow.StringType, *arrow.LargeStringType:
		return "text", nil
	case *arrow.BooleanType:
		return "boolean", nil
	case *arrow.Date32Type:
		return "date", nil
	case *arrow.TimestampType:
		if t.TimeZone != "" {
			return "timestamptz", nil
		}
		return "timestamp", nil
	case *arrow.DictionaryType:
		switch t.ValueType.(type) {
		case *arrow.StringType, *arrow.LargeStringType:
			return "text", nil
		}
	}
	return "", fmt.Errorf("arrow type %s has no PostgreSQL equivalent here: use integers, floats, decimal128, utf8 (or a dictionary of it), bool, date32 or timestamp", t)
}

func tableIdentifier(schema, table string) pgx.Identifier {
	if schema == "" {
		return pgx.Identifier{table}
	}
	return pgx.Identifier{schema, table}
}

// CopyTable creates table in schema (see CreateTableSQL) and copies every row of t into it
// with COPY, returning the number of rows copied. Values go over the wire in PostgreSQL's binary
// format straight from the Arrow columns: decimals exactly, timestamps and dates in UTC.
func CopyTable(ctx context.Context, conn CopyConn, schema, table string, t *source.Table) (int64, error) {
	ddl, err := CreateTableSQL(schema, table, t.Schema())
	if err != nil {
		return 0, err
	}
	ident := tableIdentifier(schema, table)
	if _, err := conn.Exec(ctx, ddl); err != nil {
		return 0, fmt.Errorf("create table %s: %w", ident.Sanitize(), err)
	}
	columns := make([]string, t.Schema().NumFields())
	for i, f := range t.Schema().Fields() {
		columns[i] = f.Name
	}
	n, err := conn.CopyFrom(ctx, ident, columns, newRowSource(t.Batches()))
	if err != nil {
		return n, fmt.Errorf("copy into %s: %w", ident.Sanitize(), err)
	}
	if n != t.NumRows() {
		return n, fmt.Errorf("copy into %s: copied %d rows of %d", ident.Sanitize(), n, t.NumRows())
	}
	return n, nil
}

// rowSource walks record batches row by row for pgx.CopyFrom. It reuses one row of values:
// pgx encodes each row before asking for the next.
type rowSource struct {
	batches []arrow.RecordBatch
	batch   int // the current batch, -1 before the first
	row     int // the current row of the current batch
	rows    int
	columns []valueFunc
	values  []any
	dicts   map[arrow.ArrayData][]any // values of the dictionaries seen, boxed once
	err     error
}

var _ pgx.CopyFromSource = (*rowSource)(nil)

// valueFunc returns the value of one column at a row, as pgx encodes it; nil is NULL.
type valueFunc func(row int) any

func newRowSource(batches []arrow.RecordBatch) *rowSource {
	return &rowSource{batches: batches, batch: -1, dicts: map[arrow.ArrayData][]any{}}
}

func (s *rowSource) Next() bool {
	for s.row+1 >= s.rows {
		s.batch++
		if s.err != nil || s.batch >= len(s.batches) {
			return false
		}
		b := s.batches[s.batch]
		s.columns = s.columns[:0]
		for i, col := range b.Columns() {
			f, err := s.valueFunc(col)
			if err != nil {
				s.err = fmt.Errorf("column %s: %w", b.ColumnName(i), err)
				return false
			}
			s.columns = append(s.columns, f)
		}
		if len(s.values) != len(s.columns) {
			s.values = make([]any, len(s.columns))
		}
		s.row, s.rows = -1, int(b.NumRows())
	}
	s.row++
	return true
}

func (s *rowSource) Values() ([]any, error) {
	for i, f := range s.columns {
		s.values[i] = f(s.row)
	}
	return s.values, nil
}

func (s *rowSource) Err() error { return s.err }

// valueFunc returns the function that reads col's values.
func (s *rowSource) valueFunc(col arrow.Array) (valueFunc, error) {
	var f valueFunc
	switch a := col.(type) {
	case *array.Int8:
		f = func(i int) any { return int16(a.Value(i)) }
	case *array.Int16:
		f = func(i int) any { return a.Value(i) }
	case *array.Int32:
		f = func(i int) any { return a.Value(i) }
	case *array.Int64:
		f = func(i int) any { return a.Value(i) }
	case *array.Float32:
		f = func(i int) any { return a.Value(i) }
	case *array.Float64:
		f = func(i int) any { return a.Value(i) }
	case *array.Boolean:
		f = func(i int) any { return a.Value(i) }
	case *array.String:
		f = func(i int) any { return a.Value(i) }
	case *array.LargeString:
		f = func(i int) any { return a.Value(i) }
	case *array.Decimal128:
		exp := -a.DataType().(*arrow.Decimal128Type).Scale
		// One big.Int per column is enough, as pgx encodes each row before the next.
		n := new(big.Int)
		f = func(i int) any {
			v := a.Value(i)
			if hi, lo := v.HighBits(), v.LowBits(); hi == int64(lo)>>63 {
				n.SetInt64(int64(lo))
			} else {
				n.Set(v.BigInt())
			}
			return pgtype.Numeric{Int: n, Exp: exp, Valid: true}
		}
	case *array.Date32:
		f = func(i int) any { return time.Unix(int64(a.Value(i))*86400, 0).UTC() }
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		f = func(i int) any { return a.Value(i).ToTime(unit) }
	case *array.Dictionary:
		values, err := s.dictionaryValues(a.Dictionary())
		if err != nil {
			return nil, err
		}
		f = func(i int) any { return values[a.GetValueIndex(i)] }
	default:
		_, err := pgType(col.DataType())
		if err == nil {
			err = fmt.Errorf("arrow type %s cannot be copied", col.DataType())
		}
		return nil, err
	}
	if col.NullN() == 0 {
		return f, nil
	}
	return func(i int) any {
		if col.IsNull(i) {
			return nil
		}
		return f(i)
	}, nil
}

// dictionaryValues returns the values of a dictionary as strings in interfaces, made once per
// dictionary so that rows do not box them again.
func (s *rowSource) dictionaryValues(dict arrow.Array) ([]any, error) {
	if values, ok := s.dicts[dict.Data()]; ok {
		return values, nil
	}
	str, ok := dict.(interface{ Value(int) string })
	if !ok {
		return nil, fmt.Errorf("dictionary of %s cannot be copied: only string dictionaries can", dict.DataType())
	}
	values := make([]any, dict.Len())
	for i := range values {
		if dict.IsValid(i) {
			values[i] = strings.Clone(str.Value(i))
		}
	}
	s.dicts[dict.Data()] = values
	return values, nil
}
