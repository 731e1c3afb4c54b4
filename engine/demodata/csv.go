package demodata

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/koujing/koujing/engine/source"
)

// WriteCSV writes every table of d to dir as <table>.csv, with a header row, in the form
// PostgreSQL's COPY ... FROM STDIN WITH (FORMAT csv, HEADER true) reads back to the same
// values: NULL is an empty unquoted field, an empty string is "", timestamps are written in UTC
// as 2023-01-01 08:15:30.123456+00, dates as 2024-02-29, decimals exactly with their scale's
// digits (123.45), and strings are quoted only when they must be.
//
// Each file is streamed to a temporary file in dir that is renamed into place once complete,
// so an error or a cancelled ctx (checked between batches) never leaves a partial file under
// the final name. Files written before the failure stay.
func WriteCSV(ctx context.Context, dir string, d *Dataset) error {
	for _, t := range d.Tables() {
		if err := writeTableCSV(ctx, filepath.Join(dir, t.Name()+".csv"), t); err != nil {
			return fmt.Errorf("write %s as CSV: %w", t.Name(), err)
		}
	}
	return nil
}

func writeTableCSV(ctx context.Context, path string, t *source.Table) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()

	w := bufio.NewWriterSize(f, 1<<20)
	fields := t.Schema().Fields()
	line := make([]byte, 0, 256)
	for i, field := range fields {
		if i > 0 {
			line = append(line, ',')
		}
		line = appendCSVString(line, field.Name)
	}
	line = append(line, '\n')
	if _, err := w.Write(line); err != nil {
		return err
	}

	cells := make([]csvAppender, len(fields))
	for _, b := range t.Batches() {
		if err := ctx.Err(); err != nil {
			return err
		}
		for i, col := range b.Columns() {
			if cells[i], err = newCSVAppender(col); err != nil {
				return fmt.Errorf("column %s: %w", fields[i].Name, err)
			}
		}
		for row := range int(b.NumRows()) {
			line = line[:0]
			for i, cell := range cells {
				if i > 0 {
					line = append(line, ',')
				}
				line = cell(line, row)
			}
			line = append(line, '\n')
			if _, err := w.Write(line); err != nil {
				return err
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	// CreateTemp makes the file private; the data is public demo data, and a PostgreSQL server
	// running as another user may need to read it.
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// csvAppender appends the CSV field of one row of one column to dst; NULL appends nothing.
type csvAppender func(dst []byte, row int) []byte

func newCSVAppender(col arrow.Array) (csvAppender, error) {
	var value csvAppender
	switch a := col.(type) {
	case *array.Int8:
		value = func(dst []byte, row int) []byte { return strconv.AppendInt(dst, int64(a.Value(row)), 10) }
	case *array.Int16:
		value = func(dst []byte, row int) []byte { return strconv.AppendInt(dst, int64(a.Value(row)), 10) }
	case *array.Int32:
		value = func(dst []byte, row int) []byte { return strconv.AppendInt(dst, int64(a.Value(row)), 10) }
	case *array.Int64:
		value = func(dst []byte, row int) []byte { return strconv.AppendInt(dst, a.Value(row), 10) }
	case *array.Boolean:
		value = func(dst []byte, row int) []byte { return strconv.AppendBool(dst, a.Value(row)) }
	case *array.String:
		value = func(dst []byte, row int) []byte { return appendCSVString(dst, a.Value(row)) }
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		value = func(dst []byte, row int) []byte { return appendDecimal(dst, a.Value(row), scale) }
	case *array.Date32:
		value = func(dst []byte, row int) []byte { return a.Value(row).ToTime().AppendFormat(dst, time.DateOnly) }
	case *array.Timestamp:
		typ := a.DataType().(*arrow.TimestampType)
		unit := typ.Unit
		layout := "2006-01-02 15:04:05" + [...]string{"", ".000", ".000000", ".000000000"}[unit]
		if typ.TimeZone != "" {
			layout += "-07" // always +00: values are written in UTC
		}
		value = func(dst []byte, row int) []byte { return a.Value(row).ToTime(unit).AppendFormat(dst, layout) }
	case *array.Dictionary:
		dict, ok := a.Dictionary().(*array.String)
		if !ok {
			return nil, fmt.Errorf("dictionary of %s is not supported in CSV", a.Dictionary().DataType())
		}
		// Quote each dictionary value once rather than once per row.
		quoted := make([][]byte, dict.Len())
		for i := range quoted {
			quoted[i] = appendCSVString(nil, dict.Value(i))
		}
		value = func(dst []byte, row int) []byte { return append(dst, quoted[a.GetValueIndex(row)]...) }
	default:
		return nil, fmt.Errorf("type %s is not supported in CSV", col.DataType())
	}
	if col.NullN() == 0 {
		return value, nil
	}
	return func(dst []byte, row int) []byte {
		if col.IsNull(row) {
			return dst
		}
		return value(dst, row)
	}, nil
}

// appendCSVString appends s as a CSV field, quoted when it must be: when it holds a comma,
// quote, CR or LF, when it has leading or trailing space (which readers may trim), when it is
// empty (an unquoted empty field is NULL to PostgreSQL), and when it is \. (PostgreSQL's end of
// data marker).
func appendCSVString(dst []byte, s string) []byte {
	needsQuotes := s == "" || s == `\.` || strings.ContainsAny(s, ",\"\r\n") ||
		s[0] == ' ' || s[0] == '\t' || s[len(s)-1] == ' ' || s[len(s)-1] == '\t'
	if !needsQuotes {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		dst = append(dst, s[:i+1]...)
		dst = append(dst, '"')
		s = s[i+1:]
	}
	dst = append(dst, s...)
	return append(dst, '"')
}

// appendDecimal appends n, an unscaled decimal of the given scale, in plain notation with
// exactly scale digits after the point: 12345 at scale 2 is 123.45.
func appendDecimal(dst []byte, n decimal128.Num, scale int32) []byte {
	if scale <= 0 {
		return append(dst, n.ToString(scale)...)
	}
	var buf [40]byte
	var digits []byte
	if hi, lo := n.HighBits(), n.LowBits(); hi == int64(lo)>>63 { // fits in an int64
		v := int64(lo)
		mag := uint64(v)
		if v < 0 {
			dst = append(dst, '-')
			mag = -mag // also right for the smallest int64
		}
		digits = strconv.AppendUint(buf[:0], mag, 10)
	} else {
		b := n.BigInt()
		if b.Sign() < 0 {
			dst = append(dst, '-')
			b.Neg(b)
		}
		digits = b.Append(buf[:0], 10)
	}
	s := int(scale)
	if len(digits) <= s {
		dst = append(dst, '0', '.')
		for range s - len(digits) {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	}
	dst = append(dst, digits[:len(digits)-s]...)
	dst = append(dst, '.')
	return append(dst, digits[len(digits)-s:]...)
}
