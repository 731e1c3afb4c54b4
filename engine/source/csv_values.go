package source

import (
	"bytes"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// maxInferredScale is the most digits after the point a value may have and still be read as an
// exact decimal; values with more are read as float64.
const maxInferredScale = 9

// decimalPrecision is the precision of decimal columns read from CSV: all a decimal128 holds, so
// that the scale alone describes the column.
const decimalPrecision = 38

// numberSyntax describes a value written as a number.
type numberSyntax struct {
	// isInt reports a plain integer (no point, no exponent) that fits in int64.
	isInt bool
	// isDecimal reports plain decimal notation (an integer, or digits with a point and at most
	// maxInferredScale digits after it; no exponent) that a decimal128 can hold exactly.
	isDecimal bool
	// special reports NaN or an infinity.
	special bool
	// intDigits is the number of significant digits before the point; scale the number after it.
	intDigits, scale int
}

// scanNumber reports whether b is a number and, if so, its notation. It accepts an optional sign,
// digits with an optional point, and an optional exponent; NaN, Inf and Infinity in any case.
// A number with a leading zero ("007") is not accepted: such values are codes (ZIP codes, account
// numbers) whose zeros matter, and reading them as numbers would lose them.
func scanNumber(b []byte) (numberSyntax, bool) {
	var ns numberSyntax
	i := 0
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		i++
	}
	if i < len(b) && (b[i] < '0' || b[i] > '9') && b[i] != '.' {
		switch rest := b[i:]; {
		case bytes.EqualFold(rest, []byte("nan")), bytes.EqualFold(rest, []byte("inf")),
			bytes.EqualFold(rest, []byte("infinity")):
			ns.special = true
			return ns, true
		}
		return ns, false
	}
	start := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	digits := i - start
	if digits > 1 && b[start] == '0' {
		return ns, false
	}
	if digits == 1 && b[start] == '0' {
		ns.intDigits = 0
	} else {
		ns.intDigits = digits
	}
	point := false
	if i < len(b) && b[i] == '.' {
		point = true
		i++
		fracStart := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		ns.scale = i - fracStart
	}
	if digits+ns.scale == 0 {
		return ns, false
	}
	exponent := false
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		exponent = true
		i++
		if i < len(b) && (b[i] == '-' || b[i] == '+') {
			i++
		}
		expStart := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == expStart {
			return ns, false
		}
	}
	if i != len(b) {
		return ns, false
	}
	if exponent {
		return ns, true
	}
	ns.isDecimal = ns.scale <= maxInferredScale && ns.intDigits+ns.scale <= decimalPrecision
	if !point {
		// Up to 18 digits always fit in int64; only longer values need the exact check.
		ns.isInt = digits <= 18
		if digits == 19 {
			_, ns.isInt = parseInt64(b)
		}
	}
	return ns, true
}

// parseInt64 parses an optionally signed decimal integer, reporting false on bad syntax or
// overflow.
func parseInt64(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if u > (math.MaxUint64-9)/10 {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// parseDecimal parses plain decimal notation into the unscaled value at scale, which must be at
// least the number of digits after the point. scanNumber must have accepted b as a decimal.
func parseDecimal(b []byte, scale int) decimal128.Num {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	// Most values have at most 18 digits at the column's scale and fit in an int64.
	if len(b) <= 18 && scale < len(decimalPowers) {
		var u int64
		frac, inFrac := 0, false
		for _, c := range b {
			if c == '.' {
				inFrac = true
				continue
			}
			if inFrac {
				frac++
			}
			u = u*10 + int64(c-'0')
		}
		digits := len(b)
		if inFrac {
			digits--
		}
		if pad := scale - frac; digits+pad <= 18 {
			u *= decimalPowers[pad]
			if neg {
				u = -u
			}
			return decimal128.FromI64(u)
		}
	}
	var (
		n      decimal128.Num
		acc    uint64
		chunk  int
		frac   int
		inFrac bool
	)
	for _, c := range b {
		if c == '.' {
			inFrac = true
			continue
		}
		if inFrac {
			frac++
		}
		acc = acc*10 + uint64(c-'0')
		// Eighteen digits always fit in a uint64; longer values fold into the 128-bit number.
		if chunk++; chunk == 18 {
			n = n.Mul(decimal128.GetScaleMultiplier(18)).Add(decimal128.FromU64(acc))
			acc, chunk = 0, 0
		}
	}
	n = n.Mul(decimal128.GetScaleMultiplier(chunk)).Add(decimal128.FromU64(acc))
	n = n.Mul(decimal128.GetScaleMultiplier(scale - frac))
	if neg {
		n = n.Negate()
	}
	return n
}

var decimalPowers = [...]int64{1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000}

// parseFloat parses a number scanNumber accepted.
func parseFloat(b []byte) float64 {
	// A value too large or too small for float64 reads as ±Inf or 0, as in PostgreSQL's float8.
	f, _ := strconv.ParseFloat(string(b), 64)
	return f
}

// parseBool reports whether b is true or false in any case, and which.
func parseBool(b []byte) (value, ok bool) {
	switch {
	case bytes.EqualFold(b, []byte("true")):
		return true, true
	case bytes.EqualFold(b, []byte("false")):
		return false, true
	}
	return false, false
}

// timeSyntax describes a value written as a date or a timestamp.
type timeSyntax struct {
	// hasTime reports a time of day after the date; hasOffset a UTC offset after that.
	hasTime, hasOffset bool
	// days is the date, in days since 1970-01-01.
	days int64
	// micros is the instant in microseconds since 1970-01-01 00:00 UTC, the offset applied (or
	// taken as UTC when there is none).
	micros int64
}

const (
	microsPerSecond = 1_000_000
	microsPerDay    = 86_400 * microsPerSecond
)

// scanTime reports whether b is a date (YYYY-MM-DD) or a timestamp and, if so, its value. A
// timestamp is a date, 'T' or a space, HH:MM[:SS[.fraction]], and optionally a UTC offset: Z, or
// ±HH, ±HH:MM or ±HHMM, possibly after a space (PostgreSQL writes +00). Fractions finer than a
// microsecond are rounded to the nearest one, as PostgreSQL does.
func scanTime(b []byte) (timeSyntax, bool) {
	var ts timeSyntax
	if len(b) < 10 || b[4] != '-' || b[7] != '-' {
		return ts, false
	}
	year, ok1 := digitsAt(b, 0, 4)
	month, ok2 := digitsAt(b, 5, 2)
	day, ok3 := digitsAt(b, 8, 2)
	if !ok1 || !ok2 || !ok3 || year < 1 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return ts, false
	}
	ts.days = daysFromCivil(year, month, day)
	ts.micros = ts.days * microsPerDay
	if len(b) == 10 {
		return ts, true
	}
	if (b[10] != 'T' && b[10] != 't' && b[10] != ' ') || len(b) < 16 || b[13] != ':' {
		return ts, false
	}
	ts.hasTime = true
	hour, ok1 := digitsAt(b, 11, 2)
	minute, ok2 := digitsAt(b, 14, 2)
	if !ok1 || !ok2 || hour > 23 || minute > 59 {
		return ts, false
	}
	seconds := int64(hour*3600 + minute*60)
	var fracMicros int64
	i := 16
	if i < len(b) && b[i] == ':' {
		second, ok := digitsAt(b, i+1, 2)
		if !ok || second > 59 {
			return ts, false
		}
		seconds += int64(second)
		i += 3
		if i < len(b) && b[i] == '.' {
			i++
			start := i
			var frac int64
			for i < len(b) && b[i] >= '0' && b[i] <= '9' {
				if i-start < 7 {
					frac = frac*10 + int64(b[i]-'0')
				}
				i++
			}
			n := i - start
			if n == 0 || n > 9 {
				return ts, false
			}
			// frac holds the first seven digits; scale them to tenths of a microsecond, then round.
			for k := n; k < 7; k++ {
				frac *= 10
			}
			fracMicros = (frac + 5) / 10
		}
	}
	ts.micros += seconds*microsPerSecond + fracMicros
	if i == len(b) {
		return ts, true
	}
	if b[i] == ' ' && i+1 < len(b) {
		i++
	}
	if (b[i] == 'Z' || b[i] == 'z') && i+1 == len(b) {
		ts.hasOffset = true
		return ts, true
	}
	if b[i] != '+' && b[i] != '-' {
		return ts, false
	}
	sign := int64(1)
	if b[i] == '-' {
		sign = -1
	}
	rest := b[i+1:]
	var offHour, offMinute int
	var ok bool
	switch {
	case len(rest) == 2:
		offHour, ok = digitsAt(rest, 0, 2)
	case len(rest) == 4:
		offHour, ok = digitsAt(rest, 0, 2)
		if ok {
			offMinute, ok = digitsAt(rest, 2, 2)
		}
	case len(rest) == 5 && rest[2] == ':':
		offHour, ok = digitsAt(rest, 0, 2)
		if ok {
			offMinute, ok = digitsAt(rest, 3, 2)
		}
	}
	if !ok || offHour > 23 || offMinute > 59 {
		return ts, false
	}
	ts.hasOffset = true
	ts.micros -= sign * int64(offHour*3600+offMinute*60) * microsPerSecond
	return ts, true
}

// digitsAt parses the n decimal digits of b starting at i.
func digitsAt(b []byte, i, n int) (int, bool) {
	if i+n > len(b) {
		return 0, false
	}
	v := 0
	for _, c := range b[i : i+n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// daysIn returns the number of days in a month of the proleptic Gregorian calendar.
func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the number of days from 1970-01-01 to the given date; see Howard
// Hinnant's "chrono-Compatible Low-Level Date Algorithms".
func daysFromCivil(year, month, day int) int64 {
	y := int64(year)
	if month <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := int64((month + 9) % 12)
	doy := (153*mp+2)/5 + int64(day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
