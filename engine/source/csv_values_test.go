package source

import (
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestScanNumber(t *testing.T) {
	tests := []struct {
		in               string
		ok               bool
		isInt, isDecimal bool
		intDigits, scale int
	}{
		{in: "0", ok: true, isInt: true, isDecimal: true},
		{in: "-17", ok: true, isInt: true, isDecimal: true, intDigits: 2},
		{in: "+5", ok: true, isInt: true, isDecimal: true, intDigits: 1},
		{in: "9223372036854775807", ok: true, isInt: true, isDecimal: true, intDigits: 19},
		{in: "9223372036854775808", ok: true, isDecimal: true, intDigits: 19},
		{in: "-9223372036854775808", ok: true, isInt: true, isDecimal: true, intDigits: 19},
		{in: "-0.5", ok: true, isDecimal: true, scale: 1},
		{in: "5.", ok: true, isDecimal: true, intDigits: 1},
		{in: ".25", ok: true, isDecimal: true, scale: 2},
		{in: "1.123456789", ok: true, isDecimal: true, intDigits: 1, scale: 9},
		{in: "1.1234567891", ok: true, intDigits: 1, scale: 10},
		{in: "1e3", ok: true, intDigits: 1},
		{in: "-2.5E-01", ok: true, intDigits: 1, scale: 1},
		{in: "Infinity", ok: true},
		{in: "007", ok: false},
		{in: "00.5", ok: false},
		{in: "", ok: false},
		{in: "-", ok: false},
		{in: ".", ok: false},
		{in: "1e", ok: false},
		{in: "1.2.3", ok: false},
		{in: "0x10", ok: false},
		{in: "1_000", ok: false},
		{in: " 1", ok: false},
		{in: "1 ", ok: false},
		{in: "--1", ok: false},
	}
	for _, tt := range tests {
		ns, ok := scanNumber([]byte(tt.in))
		if ok != tt.ok {
			t.Errorf("scanNumber(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		if ns.isInt != tt.isInt || ns.isDecimal != tt.isDecimal || ns.intDigits != tt.intDigits || ns.scale != tt.scale {
			t.Errorf("scanNumber(%q) = %+v, want isInt %v isDecimal %v intDigits %d scale %d",
				tt.in, ns, tt.isInt, tt.isDecimal, tt.intDigits, tt.scale)
		}
	}
}

// TestParseDecimalMatchesBig compares parseDecimal with math/big over random values of up to 38
// digits.
func TestParseDecimalMatchesBig(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10_000 {
		scale := rng.IntN(maxInferredScale + 1)
		frac := rng.IntN(scale + 1)
		intDigits := rng.IntN(decimalPrecision - scale + 1)
		var sb strings.Builder
		if rng.IntN(2) == 0 {
			sb.WriteByte('-')
		}
		for i := range intDigits {
			d := byte('0' + rng.IntN(10))
			if i == 0 && d == '0' {
				d = '1'
			}
			sb.WriteByte(d)
		}
		if intDigits == 0 {
			sb.WriteByte('0')
		}
		if frac > 0 {
			sb.WriteByte('.')
			for range frac {
				sb.WriteByte(byte('0' + rng.IntN(10)))
			}
		}
		in := sb.String()
		want, _ := new(big.Int).SetString(strings.Replace(in, ".", "", 1)+strings.Repeat("0", scale-frac), 10)
		if got := parseDecimal([]byte(in), scale).BigInt(); got.Cmp(want) != 0 {
			t.Fatalf("parseDecimal(%q, %d) = %s, want %s", in, scale, got, want)
		}
	}
}

func TestScanTime(t *testing.T) {
	tests := []struct {
		in        string
		ok        bool
		hasOffset bool
		want      string // RFC 3339 in UTC, microseconds
	}{
		{in: "2023-01-01", ok: true, want: "2023-01-01T00:00:00Z"},
		{in: "2000-02-29", ok: true, want: "2000-02-29T00:00:00Z"},
		{in: "0001-01-01", ok: true, want: "0001-01-01T00:00:00Z"},
		{in: "2023-01-01T08:15:30.123456Z", ok: true, hasOffset: true, want: "2023-01-01T08:15:30.123456Z"},
		{in: "2023-01-01 08:15:30.123456+00", ok: true, hasOffset: true, want: "2023-01-01T08:15:30.123456Z"},
		{in: "2023-01-01 08:15:30 +0530", ok: true, hasOffset: true, want: "2023-01-01T02:45:30Z"},
		{in: "2023-01-01 00:15:30-08:00", ok: true, hasOffset: true, want: "2023-01-01T08:15:30Z"},
		{in: "2023-12-31T23:59:59.9999996", ok: true, want: "2024-01-01T00:00:00Z"},
		{in: "2023-01-01t08:15", ok: true, want: "2023-01-01T08:15:00Z"},
		{in: "1900-02-29", ok: false},
		{in: "2023-13-01", ok: false},
		{in: "2023-1-01", ok: false},
		{in: "2023-01-01 24:00:00", ok: false},
		{in: "2023-01-01 08:60:00", ok: false},
		{in: "2023-01-01 08:15:60", ok: false},
		{in: "2023-01-01 08:15:30.", ok: false},
		{in: "2023-01-01 08:15:30.1234567890", ok: false},
		{in: "2023-01-01 08:15:30+8", ok: false},
		{in: "2023-01-01 08:15:30 ", ok: false},
		{in: "2023-01-01 08:15:30 UTC", ok: false},
		{in: "2023-01-01X08:15:30", ok: false},
	}
	for _, tt := range tests {
		ts, ok := scanTime([]byte(tt.in))
		if ok != tt.ok {
			t.Errorf("scanTime(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		got := time.UnixMicro(ts.micros).UTC().Format("2006-01-02T15:04:05.999999Z07:00")
		if got != tt.want || ts.hasOffset != tt.hasOffset {
			t.Errorf("scanTime(%q) = %s offset %v, want %s offset %v", tt.in, got, ts.hasOffset, tt.want, tt.hasOffset)
		}
	}
}

// TestDaysFromCivilMatchesTime compares daysFromCivil with the time package over every day of
// years 1 to 9999.
func TestDaysFromCivilMatchesTime(t *testing.T) {
	for d := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 10000; d = d.AddDate(0, 0, 1) {
		want := d.Unix() / 86400
		if d.Unix() < 0 && d.Unix()%86400 != 0 {
			want--
		}
		if got := daysFromCivil(d.Year(), int(d.Month()), d.Day()); got != want {
			t.Fatalf("daysFromCivil(%s) = %d, want %d", d.Format(time.DateOnly), got, want)
		}
	}
}
