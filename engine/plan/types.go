package plan

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// The engine's value types. Columns may arrive in other integer widths, as dictionary-encoded
// strings, or as dates; expressions promote them to these where arithmetic needs one type.
var (
	Int64   arrow.DataType = arrow.PrimitiveTypes.Int64
	Float64 arrow.DataType = arrow.PrimitiveTypes.Float64
	String  arrow.DataType = arrow.BinaryTypes.String
	Boolean arrow.DataType = arrow.FixedWidthTypes.Boolean
	Date    arrow.DataType = arrow.FixedWidthTypes.Date32
	// DictionaryOfStrings is how operators emit strings they build from dictionary-encoded
	// input: int32 indices, wide enough for every value a merge of dictionaries may hold.
	DictionaryOfStrings arrow.DataType = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
)

// MaxDecimalPrecision is the precision of decimals produced by arithmetic and sums: the most a
// 128-bit decimal holds.
const MaxDecimalPrecision = 38

// Decimal returns the decimal type with the given precision and scale.
func Decimal(precision, scale int32) arrow.DataType {
	return &arrow.Decimal128Type{Precision: precision, Scale: scale}
}

// Timestamp returns the microsecond timestamp type in the named IANA zone ("UTC" for instants).
func Timestamp(zone string) arrow.DataType {
	return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: zone}
}

// IsInteger reports whether t is a signed integer type.
func IsInteger(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64:
		return true
	}
	return false
}

// IsFloat reports whether t is a floating-point type.
func IsFloat(t arrow.DataType) bool {
	return t.ID() == arrow.FLOAT32 || t.ID() == arrow.FLOAT64
}

// IsDecimal reports whether t is a 128-bit decimal.
func IsDecimal(t arrow.DataType) bool { return t.ID() == arrow.DECIMAL128 }

// IsNumeric reports whether t is an integer, float or decimal type.
func IsNumeric(t arrow.DataType) bool { return IsInteger(t) || IsFloat(t) || IsDecimal(t) }

// IsString reports whether t holds strings: utf8, or a dictionary of utf8.
func IsString(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING:
		return true
	case arrow.DICTIONARY:
		return t.(*arrow.DictionaryType).ValueType.ID() == arrow.STRING
	}
	return false
}

// IsTemporal reports whether t is a timestamp or a date.
func IsTemporal(t arrow.DataType) bool {
	return t.ID() == arrow.TIMESTAMP || t.ID() == arrow.DATE32
}

// IsBoolean reports whether t is boolean.
func IsBoolean(t arrow.DataType) bool { return t.ID() == arrow.BOOL }

// DecimalScale returns the scale of a decimal type, and 0 for anything else.
func DecimalScale(t arrow.DataType) int32 {
	if d, ok := t.(*arrow.Decimal128Type); ok {
		return d.Scale
	}
	return 0
}

// ValueType returns the type of the values t holds: the value type of a dictionary, t otherwise.
func ValueType(t arrow.DataType) arrow.DataType {
	if d, ok := t.(*arrow.DictionaryType); ok {
		return d.ValueType
	}
	return t
}

// TypeName returns a short user-facing name for t: "integer", "decimal(12,2)", "string",
// "timestamp", "date", "boolean", "float".
func TypeName(t arrow.DataType) string {
	switch {
	case IsInteger(t):
		return "integer"
	case IsFloat(t):
		return "float"
	case IsDecimal(t):
		d := t.(*arrow.Decimal128Type)
		return fmt.Sprintf("decimal(%d,%d)", d.Precision, d.Scale)
	case IsString(t):
		return "string"
	case t.ID() == arrow.TIMESTAMP:
		return "timestamp"
	case t.ID() == arrow.DATE32:
		return "date"
	case IsBoolean(t):
		return "boolean"
	case t.ID() == arrow.NULL:
		return "null"
	}
	return t.String()
}

// SameType reports whether values of a and b compare without a cast: identical types, or strings
// in any encoding.
func SameType(a, b arrow.DataType) bool {
	if IsString(a) && IsString(b) {
		return true
	}
	return arrow.TypeEqual(a, b)
}
