package source

import (
	"context"
	"fmt"
	"math"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// parquetSchema reads a Parquet file's footer and returns the schema readParquet gives its table.
func parquetSchema(path string) (*arrow.Schema, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read source file: %w", err)
	}
	defer f.Close()
	// Only the footer is read and no Arrow data is built, so the little memory this needs comes
	// from the Go heap rather than a query's allocator.
	pr, err := file.NewParquetReader(f, file.WithReadProps(parquet.NewReaderProperties(memory.NewGoAllocator())))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer pr.Close()
	sc, err := pqarrow.FromParquet(pr.MetaData().Schema, &pqarrow.ArrowReadProperties{}, pr.MetaData().KeyValueMetadata())
	if err != nil {
		return nil, fmt.Errorf("read %s: schema: %w", path, err)
	}
	return engineSchema(sc), nil
}

// engineSchema returns sc with each top-level column's type replaced by engineType's.
func engineSchema(sc *arrow.Schema) *arrow.Schema {
	fields := sc.Fields()
	for i := range fields {
		fields[i].Type = engineType(fields[i].Type)
		fields[i].Metadata = withoutMissingFieldID(fields[i].Metadata)
	}
	md := sc.Metadata()
	return arrow.NewSchema(fields, &md)
}

// withoutMissingFieldID drops the PARQUET:field_id -1 that pqarrow attaches to columns that have
// no field id, so that a schema read from Parquet equals the same schema written by hand.
func withoutMissingFieldID(md arrow.Metadata) arrow.Metadata {
	i := md.FindKey(fieldIDKey)
	if i < 0 || md.Values()[i] != "-1" {
		return md
	}
	keys := make([]string, 0, md.Len()-1)
	values := make([]string, 0, md.Len()-1)
	for j := range md.Len() {
		if j != i {
			keys = append(keys, md.Keys()[j])
			values = append(values, md.Values()[j])
		}
	}
	return arrow.NewMetadata(keys, values)
}

const fieldIDKey = "PARQUET:field_id"

// engineType returns the type the engine stores values of type t as: utf8 for the other string
// layouts, microseconds for timestamps, and int32 indices for dictionaries.
func engineType(t arrow.DataType) arrow.DataType {
	switch t := t.(type) {
	case *arrow.LargeStringType, *arrow.StringViewType:
		return arrow.BinaryTypes.String
	case *arrow.TimestampType:
		if t.Unit != arrow.Microsecond {
			return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: t.TimeZone}
		}
	case *arrow.DictionaryType:
		return &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: engineType(t.ValueType)}
	}
	return t
}

// parquetColumns holds a Parquet table's converted columns while it is read: one slice of
// arrays a batch and, for each dictionary column, the unifier building its shared dictionary.
type parquetColumns struct {
	batches   [][]arrow.Array
	unifiers  []array.DictionaryUnifier
	batchRows []int64
}

func (p *parquetColumns) release() {
	for _, cols := range p.batches {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}
	p.batches = nil
	for _, u := range p.unifiers {
		if u != nil {
			u.Release()
		}
	}
	p.unifiers = nil
}

// readParquet reads a Parquet file into batches of at most batchRows rows with the schema
// parquetSchema returns.
func readParquet(ctx context.Context, mem memory.Allocator, path string, batchRows int) (*arrow.Schema, []arrow.RecordBatch, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read source file: %w", err)
	}
	defer f.Close()
	pr, err := file.NewParquetReader(f, file.WithReadProps(parquet.NewReaderProperties(mem)))
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer pr.Close()
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{BatchSize: int64(batchRows)}, mem)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	stored, err := fr.Schema()
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: schema: %w", path, err)
	}
	schema := engineSchema(stored)
	if pr.NumRows() == 0 || schema.NumFields() == 0 {
		return schema, nil, nil
	}

	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer rr.Release()

	cols := &parquetColumns{unifiers: make([]array.DictionaryUnifier, schema.NumFields())}
	defer cols.release()
	for {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", path, err)
		}
		if !rr.Next() {
			break
		}
		rec := rr.RecordBatch()
		converted := make([]arrow.Array, schema.NumFields())
		cols.batches = append(cols.batches, converted)
		cols.batchRows = append(cols.batchRows, rec.NumRows())
		for j, field := range schema.Fields() {
			if field.Type.ID() == arrow.DICTIONARY && cols.unifiers[j] == nil {
				u, err := array.NewDictionaryUnifier(mem, field.Type.(*arrow.DictionaryType).ValueType)
				if err != nil {
					return nil, nil, fmt.Errorf("read %s: column %s: %w", path, field.Name, err)
				}
				cols.unifiers[j] = u
			}
			c, err := toEngineArray(mem, rec.Column(j), field.Type, cols.unifiers[j])
			if err != nil {
				return nil, nil, fmt.Errorf("read %s: column %s: %w", path, field.Name, err)
			}
			converted[j] = c
		}
	}
	if err := rr.Err(); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	if err := cols.shareDictionaries(schema); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}

	out := make([]arrow.RecordBatch, 0, len(cols.batches))
	for i, c := range cols.batches {
		out = append(out, array.NewRecordBatch(schema, c, cols.batchRows[i]))
	}
	return schema, out, nil
}

// shareDictionaries replaces the index arrays of each dictionary column by dictionary arrays
// over the column's unified dictionary.
func (p *parquetColumns) shareDictionaries(schema *arrow.Schema) error {
	for j, u := range p.unifiers {
		if u == nil {
			continue
		}
		field := schema.Field(j)
		dict, err := u.GetResultWithIndexType(arrow.PrimitiveTypes.Int32)
		if err != nil {
			return fmt.Errorf("column %s: %w", field.Name, err)
		}
		defer dict.Release()
		for _, cols := range p.batches {
			indices := cols[j]
			cols[j] = array.NewDictionaryArray(field.Type, indices, dict)
			indices.Release()
		}
	}
	return nil
}

// toEngineArray returns a converted to type want (see engineType). For a dictionary it returns the
// indices into u's unified dictionary, which shareDictionaries later wraps.
func toEngineArray(mem memory.Allocator, a arrow.Array, want arrow.DataType, u array.DictionaryUnifier) (arrow.Array, error) {
	if want.ID() != arrow.DICTIONARY && arrow.TypeEqual(a.DataType(), want) {
		a.Retain()
		return a, nil
	}
	switch a := a.(type) {
	case *array.LargeString:
		return toUTF8(mem, a.Len(), a.IsNull, a.Value), nil
	case *array.StringView:
		return toUTF8(mem, a.Len(), a.IsNull, a.Value), nil
	case *array.Timestamp:
		return toMicroseconds(mem, a, want)
	case *array.Dictionary:
		return transposeDictionary(mem, a, want.(*arrow.DictionaryType), u)
	}
	return nil, fmt.Errorf("read as %s, want %s", a.DataType(), want)
}

func toUTF8(mem memory.Allocator, n int, isNull func(int) bool, value func(int) string) arrow.Array {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.Reserve(n)
	for i := range n {
		if isNull(i) {
			b.AppendNull()
			continue
		}
		b.Append(value(i))
	}
	return b.NewArray()
}

// toMicroseconds converts a timestamp array to microseconds, rounding nanoseconds to the nearest
// microsecond (half up), as the CSV reader rounds fractions.
func toMicroseconds(mem memory.Allocator, a *array.Timestamp, want arrow.DataType) (arrow.Array, error) {
	unit := a.DataType().(*arrow.TimestampType).Unit
	b := array.NewTimestampBuilder(mem, want.(*arrow.TimestampType))
	defer b.Release()
	b.Reserve(a.Len())
	for i, v := range a.TimestampValues() {
		if a.IsNull(i) {
			b.AppendNull()
			continue
		}
		us, ok := microseconds(int64(v), unit)
		if !ok {
			return nil, fmt.Errorf("timestamp %d%s is outside the range of microsecond timestamps", v, unit)
		}
		b.Append(arrow.Timestamp(us))
	}
	return b.NewArray(), nil
}

func microseconds(v int64, unit arrow.TimeUnit) (int64, bool) {
	switch unit {
	case arrow.Second, arrow.Millisecond:
		m := int64(microsPerSecond)
		if unit == arrow.Millisecond {
			m = 1000
		}
		if v > math.MaxInt64/m || v < math.MinInt64/m {
			return 0, false
		}
		return v * m, true
	case arrow.Nanosecond:
		q, r := v/1000, v%1000
		if r < 0 {
			q, r = q-1, r+1000
		}
		if r >= 500 {
			q++
		}
		return q, true
	}
	return v, true
}

// transposeDictionary adds a's dictionary to u and returns a's indices into u's dictionary.
func transposeDictionary(mem memory.Allocator, a *array.Dictionary, want *arrow.DictionaryType, u array.DictionaryUnifier) (arrow.Array, error) {
	values, err := toEngineArray(mem, a.Dictionary(), want.ValueType, nil)
	if err != nil {
		return nil, err
	}
	defer values.Release()
	transposed, err := u.UnifyAndTranspose(values)
	if err != nil {
		return nil, err
	}
	defer transposed.Release()
	newIndex := arrow.Int32Traits.CastFromBytes(transposed.Bytes())

	b := array.NewInt32Builder(mem)
	defer b.Release()
	b.Reserve(a.Len())
	for i := range a.Len() {
		if a.IsNull(i) {
			b.AppendNull()
			continue
		}
		b.Append(newIndex[a.GetValueIndex(i)])
	}
	return b.NewArray(), nil
}
