package source

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// batchRows is the number of rows in each batch of a table read from a file; the last batch may
// have fewer.
const batchRows = 1 << 16

// ReadFile reads a CSV or Parquet file, chosen by its extension (.csv or .parquet, in any case),
// into an in-memory table named path. The table's memory comes from mem; the caller releases the
// table when done with it.
//
// A CSV file needs a header row of unique, non-empty column names. Each column's type is
// inferred from all its values: the narrowest of int64; decimal128(38, s) for plain decimal
// notation with at most 9 digits after the point (s is the most seen), so that amounts of money
// stay exact; float64 for exponents or more decimals; boolean (true/false); date32 (YYYY-MM-DD);
// timestamp[us, UTC] (RFC 3339 or PostgreSQL's text form; values without an offset are taken as
// UTC, but only when no value in the column has one); and utf8 otherwise. An empty unquoted field
// is NULL, and a column of only NULLs is utf8. A utf8 column with at most 65,536 distinct values,
// and at most one distinct value for every two non-NULL ones, is dictionary<int32, utf8>, and all
// its batches share one dictionary, so indices compare across batches. A field is nullable when
// the column has a NULL. Values are taken as written: integers with leading zeros ("02139") and
// values with surrounding spaces are text, so that nothing in them is lost. Quoted fields may hold
// commas, quotes (doubled) and line breaks; blank lines are skipped; a UTF-8 byte order mark is
// ignored. Errors name the file, line and column: "orders.csv:1042: column amount: …".
//
// A Parquet file keeps the types Arrow reads, with these exceptions, so that the engine sees one
// representation of each kind of value: large_string and string_view become utf8; dictionary
// columns get int32 indices (and utf8 values, for strings) and one dictionary shared by all
// batches; and timestamps in seconds, milliseconds or nanoseconds become microseconds, the
// engine's unit, rounded to the nearest microsecond and keeping their zone (or lack of one). These
// conversions apply to top-level columns; nested types are kept as read.
//
// Every batch has at most 65,536 rows and the table's schema. ReadFile checks ctx between
// batches, starts no goroutines, and may be called concurrently. A CSV file is read twice, once
// to infer the schema and once to build the batches; it need not fit in memory as text, but its
// table must.
func ReadFile(ctx context.Context, mem memory.Allocator, path string) (*Table, error) {
	return readFile(ctx, mem, path, batchRows)
}

// FileSchema returns the schema ReadFile would give the table read from path, without building
// the table. For a CSV file it reads the whole file, since every value takes part in inference;
// for a Parquet file it reads only the metadata.
func FileSchema(ctx context.Context, path string) (*arrow.Schema, error) {
	switch format, err := fileFormat(path); {
	case err != nil:
		return nil, err
	case format == ".csv":
		r, err := openCSV(path)
		if err != nil {
			return nil, err
		}
		defer r.close()
		if err := r.inferSchema(ctx); err != nil {
			return nil, err
		}
		return r.schema, nil
	default:
		return parquetSchema(path)
	}
}

// readFile is ReadFile with the batch size as a parameter, so that tests can make many batches
// from small files.
func readFile(ctx context.Context, mem memory.Allocator, path string, batchRows int) (*Table, error) {
	format, err := fileFormat(path)
	if err != nil {
		return nil, err
	}
	var (
		schema  *arrow.Schema
		batches []arrow.RecordBatch
	)
	switch format {
	case ".csv":
		schema, batches, err = readCSV(ctx, mem, path, batchRows)
	default:
		schema, batches, err = readParquet(ctx, mem, path, batchRows)
	}
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	return NewTable(path, schema, batches)
}

// fileFormat returns the lower-cased extension of a file ReadFile can read.
func fileFormat(path string) (string, error) {
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".csv", ".parquet":
		return ext, nil
	case "":
		return "", fmt.Errorf("source file %s: no file extension; name the file .csv or .parquet", path)
	}
	return "", fmt.Errorf("source file %s: unsupported file type %q; supported are .csv and .parquet", path, ext)
}

func readCSV(ctx context.Context, mem memory.Allocator, path string, batchRows int) (*arrow.Schema, []arrow.RecordBatch, error) {
	r, err := openCSV(path)
	if err != nil {
		return nil, nil, err
	}
	defer r.close()
	if err := r.inferSchema(ctx); err != nil {
		return nil, nil, err
	}
	batches, err := r.readBatches(ctx, mem, batchRows)
	if err != nil {
		return nil, nil, err
	}
	return r.schema, batches, nil
}
