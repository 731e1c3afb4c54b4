package plan

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// Literal is a constant. Value holds, by type: int64 for integers, float64 for floats,
// decimal128.Num (scaled by the type's scale) for decimals, string, bool, int64 microseconds
// since the Unix epoch for timestamps, int32 days since the epoch for dates, and nil for NULL.
type Literal struct {
	Value any
	Type  arrow.DataType
}

// NewLiteral returns the constant v of type t, checking that v's Go type fits t.
func NewLiteral(v any, t arrow.DataType) (*Literal, error) {
	if v == nil {
		return &Literal{Type: t}, nil
	}
	ok := false
	switch v.(type) {
	case int64:
		ok = IsInteger(t) || t.ID() == arrow.TIMESTAMP
	case float64:
		ok = IsFloat(t)
	case decimal128.Num:
		ok = IsDecimal(t)
	case string:
		ok = IsString(t)
	case bool:
		ok = IsBoolean(t)
	case int32:
		ok = t.ID() == arrow.DATE32
	}
	if !ok {
		return nil, fmt.Errorf("literal %v (%T) does not fit type %s", v, v, TypeName(t))
	}
	if IsString(t) {
		t = String
	}
	return &Literal{Value: v, Type: t}, nil
}

// Null returns the NULL literal of type t.
func Null(t arrow.DataType) *Literal { return &Literal{Type: t} }

// ParseLiteral reads the user-supplied text s as a constant of type t. Times without an offset
// ("2024-03-01", "2024-03-01T08:00:00") are read in loc; the error says what was expected.
func ParseLiteral(s string, t arrow.DataType, loc *time.Location) (*Literal, error) {
	switch {
	case IsInteger(t):
		v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", s)
		}
		return &Literal{Value: v, Type: Int64}, nil
	case IsFloat(t):
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		return &Literal{Value: v, Type: Float64}, nil
	case IsDecimal(t):
		d := t.(*arrow.Decimal128Type)
		v, err := parseDecimal(strings.TrimSpace(s), d.Scale)
		if err != nil {
			return nil, err
		}
		return &Literal{Value: v, Type: Decimal(MaxDecimalPrecision, d.Scale)}, nil
	case IsString(t):
		return &Literal{Value: s, Type: String}, nil
	case IsBoolean(t):
		v, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%q is not a boolean; use true or false", s)
		}
		return &Literal{Value: v, Type: Boolean}, nil
	case t.ID() == arrow.TIMESTAMP:
		tm, err := ParseTime(s, loc)
		if err != nil {
			return nil, err
		}
		return &Literal{Value: tm.UnixMicro(), Type: t}, nil
	case t.ID() == arrow.DATE32:
		tm, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%q is not a date; write it as 2024-03-01", s)
		}
		return &Literal{Value: int32(tm.Unix() / 86400), Type: Date}, nil
	}
	return nil, fmt.Errorf("cannot read a constant of type %s", TypeName(t))
}

// ParseTime reads a date or date-time: RFC 3339 with an offset, or without one (then in loc):
// "2024-03-01", "2024-03-01T08:00:00", "2024-03-01 08:00:00".
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{time.DateOnly, "2006-01-02T15:04:05.999999999", time.DateTime + ".999999999"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time; write 2024-03-01, 2024-03-01T08:00:00 or 2024-03-01T08:00:00+08:00", s)
}

// parseDecimal reads s as a decimal of the given scale, exactly; more fraction digits than the
// scale holds is an error rather than a silent rounding.
func parseDecimal(s string, scale int32) (decimal128.Num, error) {
	bad := fmt.Errorf("%q is not a number with at most %d decimals", s, scale)
	neg := strings.HasPrefix(s, "-")
	digits := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	intPart, frac, _ := strings.Cut(digits, ".")
	if intPart == "" && frac == "" || int32(len(frac)) > scale || len(intPart)+int(scale) > MaxDecimalPrecision {
		return decimal128.Num{}, bad
	}
	frac += strings.Repeat("0", int(scale)-len(frac))
	v := decimal128.Num{}
	ten := decimal128.FromI64(10)
	for _, c := range intPart + frac {
		if c < '0' || c > '9' {
			return decimal128.Num{}, bad
		}
		v = v.Mul(ten).Add(decimal128.FromI64(int64(c - '0')))
	}
	if neg {
		v = v.Negate()
	}
	return v, nil
}

func (l *Literal) DataType() arrow.DataType { return l.Type }
func (l *Literal) Children() []Expr         { return nil }
func (l *Literal) WithChildren(children ...Expr) (Expr, error) {
	return l, checkArity("literal", children, 0)
}

// String prints the literal as SQL would: quoted strings, typed times, NULL.
func (l *Literal) String() string {
	switch v := l.Value.(type) {
	case nil:
		return "NULL"
	case string:
		return quoteString(v)
	case decimal128.Num:
		return v.ToString(DecimalScale(l.Type))
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case int64:
		if l.Type.ID() == arrow.TIMESTAMP {
			return "TIMESTAMP '" + time.UnixMicro(v).UTC().Format("2006-01-02 15:04:05.999999Z07:00") + "'"
		}
		return strconv.FormatInt(v, 10)
	case int32:
		return "DATE '" + time.Unix(int64(v)*86400, 0).UTC().Format(time.DateOnly) + "'"
	}
	return fmt.Sprint(l.Value)
}

func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
