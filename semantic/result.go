package semantic

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// Result is a metric query's answer: its columns and its rows as Arrow record batches. Release
// it when done.
type Result struct {
	Columns []OutputColumn
	Batches []arrow.RecordBatch
	Rows    int64
	// Versions names each metric the answer used, the ones asked for and those they are built
	// on, with the version of its definition that answered (0 when definitions are not
	// versioned). Warnings say what the caller should know, such as a metric being deprecated.
	Versions []MetricVersion
	Warnings []string
	// Cached says the answer was kept from an earlier, identical query.
	Cached bool
}

// MetricVersion names a metric and the version of its definition that answered.
type MetricVersion struct {
	Metric  string `json:"metric"`
	Version int    `json:"version"`
}

// Release frees the result's batches.
func (r *Result) Release() {
	for _, b := range r.Batches {
		b.Release()
	}
	r.Batches = nil
}

// WriteJSONRows writes the rows as a JSON array of row arrays: numbers as JSON numbers (decimals
// exactly as stored), times as RFC 3339 strings in the column's zone, dates as "2006-01-02",
// NULL as null.
func (r *Result) WriteJSONRows(w io.Writer) error {
	buf := make([]byte, 0, 64<<10)
	buf = append(buf, '[')
	first := true
	for _, b := range r.Batches {
		cols := b.Columns()
		for i := 0; i < int(b.NumRows()); i++ {
			if !first {
				buf = append(buf, ',')
			}
			first = false
			buf = append(buf, '[')
			for j, c := range cols {
				if j > 0 {
					buf = append(buf, ',')
				}
				buf = appendJSONValue(buf, c, i)
			}
			buf = append(buf, ']')
			if len(buf) > 48<<10 {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	buf = append(buf, ']')
	_, err := w.Write(buf)
	return err
}

// appendJSONValue appends row i of a as a JSON value.
func appendJSONValue(buf []byte, a arrow.Array, i int) []byte {
	if a.IsNull(i) {
		return append(buf, "null"...)
	}
	switch x := a.(type) {
	case *array.Int8:
		return strconv.AppendInt(buf, int64(x.Value(i)), 10)
	case *array.Int16:
		return strconv.AppendInt(buf, int64(x.Value(i)), 10)
	case *array.Int32:
		return strconv.AppendInt(buf, int64(x.Value(i)), 10)
	case *array.Int64:
		return strconv.AppendInt(buf, x.Value(i), 10)
	case *array.Float32:
		return appendJSONFloat(buf, float64(x.Value(i)))
	case *array.Float64:
		return appendJSONFloat(buf, x.Value(i))
	case *array.Decimal128:
		return append(buf, decimalString(x.Value(i), x.DataType().(*arrow.Decimal128Type).Scale)...)
	case *array.Boolean:
		return strconv.AppendBool(buf, x.Value(i))
	case *array.String:
		return appendJSONString(buf, x.Value(i))
	case *array.Dictionary:
		return appendJSONString(buf, x.Dictionary().(*array.String).Value(x.GetValueIndex(i)))
	case *array.Timestamp, *array.Date32:
		return appendJSONString(buf, FormatValue(a, i))
	}
	return appendJSONString(buf, a.ValueStr(i))
}

// FormatValue returns row i of a as text: what tables and CSV show. NULL is the empty string.
func FormatValue(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return ""
	}
	switch x := a.(type) {
	case *array.Float64:
		return string(appendJSONFloat(nil, x.Value(i)))
	case *array.Decimal128:
		return decimalString(x.Value(i), x.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Timestamp:
		t := x.DataType().(*arrow.TimestampType)
		loc, err := t.GetZone()
		if err != nil || loc == nil {
			loc = time.UTC
		}
		return time.UnixMicro(int64(x.Value(i))).In(loc).Format("2006-01-02T15:04:05.999999Z07:00")
	case *array.Date32:
		return x.Value(i).ToTime().Format(time.DateOnly)
	case *array.Dictionary:
		return x.Dictionary().(*array.String).Value(x.GetValueIndex(i))
	case *array.String:
		return x.Value(i)
	}
	return a.ValueStr(i)
}

// decimalString formats a scaled decimal exactly, with scale digits after the point.
func decimalString(v decimal128.Num, scale int32) string {
	neg := v.Sign() < 0
	digits := v.Abs().BigInt().String()
	if scale > 0 {
		if len(digits) <= int(scale) {
			digits = fmt.Sprintf("%0*s", int(scale)+1, digits)
		}
		digits = digits[:len(digits)-int(scale)] + "." + digits[len(digits)-int(scale):]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// appendJSONFloat formats a float as encoding/json does; a non-finite value, which no metric
// should produce, is written as null rather than as invalid JSON.
func appendJSONFloat(buf []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(buf, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	buf = strconv.AppendFloat(buf, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		n := len(buf)
		if n >= 4 && buf[n-4] == 'e' && buf[n-3] == '-' && buf[n-2] == '0' {
			buf[n-2] = buf[n-1]
			buf = buf[:n-1]
		}
	}
	return buf
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaping what JSON requires and replacing invalid
// UTF-8.
func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c == '\n':
				buf = append(buf, '\\', 'n')
			case c == '\r':
				buf = append(buf, '\\', 'r')
			case c == '\t':
				buf = append(buf, '\\', 't')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, `\ufffd`...)
		} else if r == '\u2028' || r == '\u2029' {
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		} else {
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}
