package pgwire

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/semantic"
)

// The PostgreSQL type OIDs the SQL API names (pg_type's oid column).
const (
	oidBool        uint32 = 16
	oidInt8        uint32 = 20
	oidInt2        uint32 = 21
	oidInt4        uint32 = 23
	oidText        uint32 = 25
	oidOid         uint32 = 26
	oidName        uint32 = 19
	oidChar        uint32 = 18
	oidFloat4      uint32 = 700
	oidFloat8      uint32 = 701
	oidUnknown     uint32 = 705
	oidVarchar     uint32 = 1043
	oidDate        uint32 = 1082
	oidTimestamp   uint32 = 1114
	oidTimestamptz uint32 = 1184
	oidNumeric     uint32 = 1700
	oidRegproc     uint32 = 24
	oidRegclass    uint32 = 2205
	oidRegtype     uint32 = 2206
	oidRegnspace   uint32 = 4089
	oidTextArray   uint32 = 1009
	oidInt2Array   uint32 = 1005
	oidOidArray    uint32 = 1028
)

// pgTypeOf returns the PostgreSQL type and type modifier that SQL clients see for values of an
// Arrow type: text for strings and dictionaries, numeric(p,s) for decimals, timestamptz for
// timestamps (they carry a zone), date, bool, int8 and float8.
func pgTypeOf(t arrow.DataType) (oid uint32, typmod int32) {
	switch {
	case t == nil:
		return oidText, -1
	case plan.IsInteger(t):
		return oidInt8, -1
	case plan.IsDecimal(t):
		d := t.(*arrow.Decimal128Type)
		return oidNumeric, (d.Precision<<16 | d.Scale) + 4
	case plan.IsFloat(t):
		return oidFloat8, -1
	case plan.IsBoolean(t):
		return oidBool, -1
	case t.ID() == arrow.TIMESTAMP:
		return oidTimestamptz, -1
	case t.ID() == arrow.DATE32:
		return oidDate, -1
	}
	return oidText, -1
}

// typeSize is pg_type's typlen of a type, as pg_attribute's attlen and RowDescription give
// it: the fixed width, or -1.
func typeSize(oid uint32) int16 {
	if t := loadStatic().types[oid]; t != nil {
		return t.size
	}
	return -1
}

// arrowColumn writes the values of one Arrow column as PostgreSQL text or binary values.
type arrowColumn struct {
	oid uint32
	loc *time.Location
	m   *pgtype.Map
}

// appendValue appends row i of a in the format asked for (0 text, 1 binary) and reports whether
// it is NULL.
func (c arrowColumn) appendValue(buf []byte, a arrow.Array, i int, format int16) ([]byte, bool, error) {
	if a.IsNull(i) {
		return buf, true, nil
	}
	if format == 0 {
		return c.appendText(buf, a, i), false, nil
	}
	v, err := c.goValue(a, i)
	if err != nil {
		return nil, false, err
	}
	out, err := c.m.Encode(c.oid, pgtype.BinaryFormatCode, v, buf)
	if err != nil {
		return nil, false, fmt.Errorf("encode %T as type %d: %w", v, c.oid, err)
	}
	return out, false, nil
}

// appendText appends row i of a as PostgreSQL prints it: t/f, timestamps in the session's zone
// with their offset, floats to the shortest exact digits.
func (c arrowColumn) appendText(buf []byte, a arrow.Array, i int) []byte {
	switch x := a.(type) {
	case *array.Int64:
		return strconv.AppendInt(buf, x.Value(i), 10)
	case *array.Int32:
		return strconv.AppendInt(buf, int64(x.Value(i)), 10)
	case *array.Float64:
		return appendFloatText(buf, x.Value(i))
	case *array.Boolean:
		if x.Value(i) {
			return append(buf, 't')
		}
		return append(buf, 'f')
	case *array.Timestamp:
		return appendTimestamptz(buf, timestampOf(x, i, c.loc))
	}
	return append(buf, semantic.FormatValue(a, i)...)
}

// goValue returns row i of a as the Go value pgtype encodes for the column's type.
func (c arrowColumn) goValue(a arrow.Array, i int) (any, error) {
	switch x := a.(type) {
	case *array.Int64:
		return x.Value(i), nil
	case *array.Int32:
		return int64(x.Value(i)), nil
	case *array.Float64:
		return x.Value(i), nil
	case *array.Boolean:
		return x.Value(i), nil
	case *array.Timestamp:
		return timestampOf(x, i, c.loc), nil
	case *array.Date32:
		return x.Value(i).ToTime(), nil
	case *array.Decimal128:
		scale := x.DataType().(*arrow.Decimal128Type).Scale
		return pgtype.Numeric{Int: x.Value(i).BigInt(), Exp: -scale, Valid: true}, nil
	}
	return semantic.FormatValue(a, i), nil
}

func timestampOf(x *array.Timestamp, i int, loc *time.Location) time.Time {
	t := time.UnixMicro(int64(x.Value(i)))
	if loc != nil {
		return t.In(loc)
	}
	return t.UTC()
}

// appendTimestamptz appends t as PostgreSQL prints a timestamptz in t's zone:
// 2024-03-01 00:00:00+08, with fractional seconds only when there are some.
func appendTimestamptz(buf []byte, t time.Time) []byte {
	buf = t.AppendFormat(buf, "2006-01-02 15:04:05.999999")
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	buf = append(buf, sign)
	buf = append(buf, byte('0'+off/36000), byte('0'+off/3600%10))
	if m := off / 60 % 60; m != 0 || off%60 != 0 {
		buf = append(buf, ':', byte('0'+m/10), byte('0'+m%10))
		if s := off % 60; s != 0 {
			buf = append(buf, ':', byte('0'+s/10), byte('0'+s%10))
		}
	}
	return buf
}

// appendFloatText appends f as PostgreSQL 12 and later print a float8: the shortest digits that
// read back exactly, in exponent form only for very large or small magnitudes.
func appendFloatText(buf []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(buf, "NaN"...)
	case math.IsInf(f, 1):
		return append(buf, "Infinity"...)
	case math.IsInf(f, -1):
		return append(buf, "-Infinity"...)
	}
	if abs := math.Abs(f); abs != 0 && (abs < 1e-4 || abs >= 1e15) {
		return strconv.AppendFloat(buf, f, 'e', -1, 64)
	}
	return strconv.AppendFloat(buf, f, 'f', -1, 64)
}

// paramText returns a bound parameter's value as text, decoding it from binary with its type
// when the client sent it so. A NULL parameter is reported as such.
func paramText(m *pgtype.Map, oid uint32, format int16, raw []byte) (string, bool, error) {
	if raw == nil {
		return "", true, nil
	}
	if format == 0 {
		return string(raw), false, nil
	}
	switch oid {
	case oidText, oidVarchar, oidName, oidUnknown, 0:
		return string(raw), false, nil
	}
	var v any
	if err := m.Scan(oid, pgtype.BinaryFormatCode, raw, &v); err != nil {
		return "", false, fmt.Errorf("decode a binary parameter of type %d: %w", oid, err)
	}
	switch x := v.(type) {
	case time.Time:
		if oid == oidDate {
			return x.Format(time.DateOnly), false, nil
		}
		if oid == oidTimestamp {
			return x.Format("2006-01-02 15:04:05.999999"), false, nil
		}
		return x.Format(time.RFC3339Nano), false, nil
	case pgtype.Numeric:
		return numericText(x), false, nil
	case bool:
		return strconv.FormatBool(x), false, nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), false, nil
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32), false, nil
	}
	return fmt.Sprint(v), false, nil
}

// numericText formats a numeric exactly.
func numericText(n pgtype.Numeric) string {
	if !n.Valid || n.Int == nil {
		return ""
	}
	if n.Exp >= 0 {
		return new(big.Int).Mul(n.Int, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n.Exp)), nil)).String()
	}
	digits := new(big.Int).Abs(n.Int).String()
	scale := int(-n.Exp)
	for len(digits) <= scale {
		digits = "0" + digits
	}
	s := digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	if n.Int.Sign() < 0 {
		s = "-" + s
	}
	return s
}
