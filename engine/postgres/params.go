package postgres

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/koujing/koujing/engine/plan"
)

// encodeParams returns a statement's parameters as the extended protocol's Bind sends them: each
// value in PostgreSQL's text format, with the OID of its type, so that the server neither guesses
// types nor depends on pgx's encoders. Integers go as int8, floats as float8, decimals as numeric
// (exactly), strings as text, timestamps with a zone as timestamptz in UTC, timestamps without
// one as timestamp, dates as date. NULL is a nil value with the literal's type. All values share
// one buffer.
func encodeParams(params []*plan.Literal) (values [][]byte, oids []uint32, err error) {
	if len(params) == 0 {
		return nil, nil, nil
	}
	values = make([][]byte, len(params))
	oids = make([]uint32, len(params))
	// Where each value lies in buf, which may move while it grows; a NULL has end -1.
	type span struct{ start, end int }
	spans := make([]span, len(params))
	// Non-nil even when empty: an empty value is the empty string, a nil one NULL.
	buf := make([]byte, 0, 16*len(params))
	for i, p := range params {
		if p == nil {
			return nil, nil, fmt.Errorf("parameter $%d is missing", i+1)
		}
		oid, ok := paramOID(p.Type)
		if !ok {
			return nil, nil, fmt.Errorf("parameter $%d has type %s, which cannot be sent to PostgreSQL", i+1, plan.TypeName(p.Type))
		}
		oids[i] = oid
		spans[i] = span{len(buf), -1}
		if p.Value == nil {
			continue
		}
		buf, err = appendParam(buf, p)
		if err != nil {
			return nil, nil, fmt.Errorf("parameter $%d: %w", i+1, err)
		}
		spans[i].end = len(buf)
	}
	for i, s := range spans {
		if s.end >= 0 {
			values[i] = buf[s.start:s.end:s.end]
		}
	}
	return values, oids, nil
}

// paramOID returns the PostgreSQL type a literal of type t is sent as.
func paramOID(t arrow.DataType) (uint32, bool) {
	switch {
	case plan.IsInteger(t):
		return pgtype.Int8OID, true
	case plan.IsFloat(t):
		return pgtype.Float8OID, true
	case plan.IsDecimal(t):
		return pgtype.NumericOID, true
	case plan.IsString(t):
		return pgtype.TextOID, true
	case plan.IsBoolean(t):
		return pgtype.BoolOID, true
	case t.ID() == arrow.DATE32:
		return pgtype.DateOID, true
	case t.ID() == arrow.TIMESTAMP:
		if t.(*arrow.TimestampType).TimeZone == "" {
			return pgtype.TimestampOID, true
		}
		return pgtype.TimestamptzOID, true
	case t.ID() == arrow.NULL:
		return 0, true // unknown: the server infers the type from where the NULL goes
	}
	return 0, false
}

// appendParam appends the text form of the non-NULL literal p to buf, checking that its Go value
// is the one plan.Literal documents for its type.
func appendParam(buf []byte, p *plan.Literal) ([]byte, error) {
	t := p.Type
	switch v := p.Value.(type) {
	case int64:
		if ts, ok := t.(*arrow.TimestampType); ok {
			if ts.Unit != arrow.Microsecond {
				return buf, fmt.Errorf("a timestamp in %s; only microseconds are sent", ts.Unit)
			}
			return appendTimestamp(buf, time.UnixMicro(v).UTC(), ts.TimeZone != ""), nil
		}
		if plan.IsInteger(t) {
			return strconv.AppendInt(buf, v, 10), nil
		}
	case float64:
		if plan.IsFloat(t) {
			switch {
			case math.IsNaN(v):
				return append(buf, "NaN"...), nil
			case math.IsInf(v, 1):
				return append(buf, "Infinity"...), nil
			case math.IsInf(v, -1):
				return append(buf, "-Infinity"...), nil
			}
			return strconv.AppendFloat(buf, v, 'g', -1, 64), nil
		}
	case decimal128.Num:
		if plan.IsDecimal(t) {
			// ToString is exact: it prints the 128-bit integer and places the point.
			return append(buf, v.ToString(plan.DecimalScale(t))...), nil
		}
	case string:
		if plan.IsString(t) {
			return append(buf, v...), nil
		}
	case bool:
		if plan.IsBoolean(t) {
			if v {
				return append(buf, 't'), nil
			}
			return append(buf, 'f'), nil
		}
	case int32:
		if t.ID() == arrow.DATE32 {
			return appendDate(buf, time.Unix(int64(v)*86400, 0).UTC()), nil
		}
	}
	return buf, fmt.Errorf("value %v (%T) does not fit type %s", p.Value, p.Value, plan.TypeName(t))
}

// appendTimestamp appends t in RFC 3339 with microseconds, "Z" when zoned, and years before 1 AD
// in PostgreSQL's "BC" notation (Go's year 0 is 1 BC).
func appendTimestamp(buf []byte, t time.Time, zoned bool) []byte {
	buf, bc := appendYear(buf, t.Year())
	buf = t.AppendFormat(buf, "-01-02T15:04:05.000000")
	if zoned {
		buf = append(buf, 'Z')
	}
	if bc {
		buf = append(buf, " BC"...)
	}
	return buf
}

// appendDate appends the date of t as 2006-01-02, in "BC" notation before 1 AD.
func appendDate(buf []byte, t time.Time) []byte {
	buf, bc := appendYear(buf, t.Year())
	buf = t.AppendFormat(buf, "-01-02")
	if bc {
		buf = append(buf, " BC"...)
	}
	return buf
}

func appendYear(buf []byte, year int) ([]byte, bool) {
	bc := year <= 0
	if bc {
		year = 1 - year
	}
	for d := 1000; d > 1 && year < d; d /= 10 {
		buf = append(buf, '0')
	}
	return strconv.AppendInt(buf, int64(year), 10), bc
}
