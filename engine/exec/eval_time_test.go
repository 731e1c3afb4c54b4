package exec

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/engine/plan"
)

var allUnits = []plan.TimeUnit{plan.Day, plan.Week, plan.Month, plan.Quarter, plan.Year}

func loadZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("time zone %s: %v", name, err)
	}
	return loc
}

// calendarStart is the oracle: the start of tm's period, found another way than the engine's
// (ISO weeks from ISOWeek and January 4th, quarters from a table).
func calendarStart(tm time.Time, unit plan.TimeUnit) time.Time {
	loc := tm.Location()
	y, m, d := tm.Date()
	switch unit {
	case plan.Day:
		return time.Date(y, m, d, 0, 0, 0, 0, loc)
	case plan.Week:
		year, week := tm.ISOWeek()
		// January 4th is always in ISO week 1, which starts on the Monday on or before it.
		jan4 := time.Date(year, 1, 4, 12, 0, 0, 0, loc)
		back := map[time.Weekday]int{time.Monday: 0, time.Tuesday: 1, time.Wednesday: 2, time.Thursday: 3,
			time.Friday: 4, time.Saturday: 5, time.Sunday: 6}[jan4.Weekday()]
		return time.Date(year, 1, 4-back+7*(week-1), 0, 0, 0, 0, loc)
	case plan.Month:
		return time.Date(y, m, 1, 0, 0, 0, 0, loc)
	case plan.Quarter:
		first := [...]time.Month{1, 1, 1, 4, 4, 4, 7, 7, 7, 10, 10, 10}[m-1]
		return time.Date(y, first, 1, 0, 0, 0, 0, loc)
	}
	return time.Date(y, 1, 1, 0, 0, 0, 0, loc)
}

// truncColumn runs date_trunc(unit, x, loc) through Project over batches of batchRows values and
// returns the results, checking the output type.
func truncColumn(t *testing.T, mem memory.Allocator, in arrow.Array, unit plan.TimeUnit, loc *time.Location, batchRows int) []string {
	t.Helper()
	schema := schemaOf("x", in.DataType())
	rec := array.NewRecordBatch(schema, []arrow.Array{in}, int64(in.Len()))
	defer rec.Release()
	var sizes []int64
	for left := int64(in.Len()); left > 0; left -= int64(batchRows) {
		sizes = append(sizes, min(left, int64(batchRows)))
	}
	parts := splitRecord(rec, sizes...)
	defer releaseBatches(parts)
	e := must(plan.NewTimeTrunc(col("x", in.DataType()), unit, loc))
	wantType := plan.Date
	if in.DataType().ID() == arrow.TIMESTAMP {
		wantType = plan.Timestamp(loc.String())
	}
	if !arrow.TypeEqual(e.DataType(), wantType) {
		t.Fatalf("date_trunc type %s, want %s", e.DataType(), wantType)
	}
	p, err := NewProject(&Env{Mem: mem}, newBatchSource(t, schema, parts...), []plan.Named{{Name: "y", Expr: e}},
		schemaOf("y", e.DataType()))
	if err != nil {
		t.Fatal(err)
	}
	return collectRows(t, p, 0)
}

// timestamps builds a timestamp array of the given microseconds; nulls marks NULL rows.
func timestamps(mem memory.Allocator, typ arrow.DataType, us []int64, nulls map[int]bool) arrow.Array {
	b := array.NewTimestampBuilder(mem, typ.(*arrow.TimestampType))
	defer b.Release()
	for i, v := range us {
		if nulls[i] {
			b.AppendNull()
		} else {
			b.Append(arrow.Timestamp(v))
		}
	}
	return b.NewArray()
}

// TestTimeTruncKnownInstants pins down hand-checked periods: the 23- and 25-hour days of New
// York's 2024 daylight-saving changes, the leap day, ISO weeks across years, and zones east of
// UTC where the local date is not the UTC date.
func TestTimeTruncKnownInstants(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ny, sh := loadZone(t, "America/New_York"), loadZone(t, "Asia/Shanghai")
	tests := []struct {
		name string
		loc  *time.Location
		unit plan.TimeUnit
		in   string // UTC instants
		want string // period starts, printed in loc
	}{
		{"spring forward day is 23 hours", ny, plan.Day,
			"2024-03-10T05:00:00Z 2024-03-10T06:59:59.999999Z 2024-03-10T07:00:00Z 2024-03-11T03:59:59.999999Z 2024-03-11T04:00:00Z",
			"2024-03-10T00:00:00-05:00 2024-03-10T00:00:00-05:00 2024-03-10T00:00:00-05:00 2024-03-10T00:00:00-05:00 2024-03-11T00:00:00-04:00"},
		{"fall back day is 25 hours", ny, plan.Day,
			"2024-11-03T03:59:59.999999Z 2024-11-03T04:00:00Z 2024-11-03T05:30:00Z 2024-11-03T06:30:00Z 2024-11-04T04:59:59.999999Z 2024-11-04T05:00:00Z",
			"2024-11-02T00:00:00-04:00 2024-11-03T00:00:00-04:00 2024-11-03T00:00:00-04:00 2024-11-03T00:00:00-04:00 2024-11-03T00:00:00-04:00 2024-11-04T00:00:00-05:00"},
		{"week across spring forward", ny, plan.Week,
			"2024-03-11T04:00:00Z 2024-03-10T12:00:00Z 2024-03-04T04:59:59Z",
			"2024-03-11T00:00:00-04:00 2024-03-04T00:00:00-05:00 2024-02-26T00:00:00-05:00"},
		{"month and quarter in New York", ny, plan.Quarter,
			"2024-04-01T03:59:59Z 2024-04-01T04:00:00Z 2024-11-30T12:00:00Z",
			"2024-01-01T00:00:00-05:00 2024-04-01T00:00:00-04:00 2024-10-01T00:00:00-04:00"},
		{"leap day", time.UTC, plan.Day,
			"2024-02-29T00:00:00Z 2024-02-29T23:59:59.999999Z 2024-03-01T00:00:00Z",
			"2024-02-29T00:00:00Z 2024-02-29T00:00:00Z 2024-03-01T00:00:00Z"},
		{"leap February", time.UTC, plan.Month,
			"2024-02-29T23:59:59.999999Z 2024-03-01T00:00:00Z 2023-02-28T23:59:59Z",
			"2024-02-01T00:00:00Z 2024-03-01T00:00:00Z 2023-02-01T00:00:00Z"},
		{"ISO week across new year", time.UTC, plan.Week,
			"2024-12-31T12:00:00Z 2025-01-01T00:00:00Z 2021-01-03T23:59:59Z 2021-01-04T00:00:00Z",
			"2024-12-30T00:00:00Z 2024-12-30T00:00:00Z 2020-12-28T00:00:00Z 2021-01-04T00:00:00Z"},
		{"Shanghai day starts at 16:00 UTC", sh, plan.Day,
			"2024-02-28T15:59:59.999999Z 2024-02-28T16:00:00Z 2024-02-29T16:00:00Z",
			"2024-02-28T00:00:00+08:00 2024-02-29T00:00:00+08:00 2024-03-01T00:00:00+08:00"},
		{"Shanghai year", sh, plan.Year,
			"2023-12-31T15:59:59Z 2023-12-31T16:00:00Z",
			"2023-01-01T00:00:00+08:00 2024-01-01T00:00:00+08:00"},
		{"before 1970", time.UTC, plan.Month,
			"1969-12-31T23:59:59.999999Z 1900-03-15T00:00:00Z",
			"1969-12-01T00:00:00Z 1900-03-01T00:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var us []int64
			for _, s := range strings.Fields(tc.in) {
				us = append(us, micros(t, s))
			}
			in := timestamps(mem, tsUTC, us, nil)
			defer in.Release()
			got := truncColumn(t, mem, in, tc.unit, tc.loc, 2)
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("\n got: %s\nwant: %s", strings.Join(got, " "), tc.want)
			}
		})
	}
}

// TestTimeTruncMatchesCalendar truncates many instants, in time order and shuffled (the
// evaluator caches periods, and a shuffled input misses the last-period shortcut), and compares
// every value with the calendar oracle.
func TestTimeTruncMatchesCalendar(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	lo := time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	hi := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	var us []int64
	for range 5000 {
		us = append(us, lo+rng.Int64N(hi-lo))
	}
	// Instants around every local midnight and DST change near the 2024 transitions, where a
	// wrong period would show.
	for _, day := range []string{"2024-03-09", "2024-03-10", "2024-03-11", "2024-11-02", "2024-11-03", "2024-11-04", "2024-02-28", "2024-02-29", "2024-03-01", "2024-12-31", "2025-01-01"} {
		base := micros(t, day+"T00:00:00Z")
		for h := int64(-2); h <= 30; h++ {
			for _, d := range []int64{-1, 0, 1} {
				us = append(us, base+h*3_600_000_000+d)
			}
		}
	}
	nulls := map[int]bool{7: true, 4000: true}
	zones := []string{"UTC", "Asia/Shanghai", "America/New_York"}
	for _, zone := range zones {
		loc := loadZone(t, zone)
		for _, unit := range allUnits {
			for _, order := range []string{"sorted", "shuffled"} {
				t.Run(zone+"/"+unit.String()+"/"+order, func(t *testing.T) {
					vals := slices.Clone(us)
					if order == "sorted" {
						slices.Sort(vals)
					} else {
						rng.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
					}
					in := timestamps(mem, tsUTC, vals, nulls)
					defer in.Release()
					got := truncColumn(t, mem, in, unit, loc, 1000)
					for i, v := range vals {
						want := "NULL"
						if !nulls[i] {
							want = calendarStart(time.UnixMicro(v).In(loc), unit).Format(time.RFC3339Nano)
						}
						if got[i] != want {
							t.Fatalf("date_trunc(%s, %s in %s) = %s, want %s", unit,
								time.UnixMicro(v).In(loc).Format(time.RFC3339Nano), zone, got[i], want)
						}
					}
				})
			}
		}
	}
}

// TestTimeTruncCacheMatchesUncached runs zones whose daylight-saving changes skip midnight
// itself, and a spread of days wide enough to overflow the period cache, comparing the cached
// evaluation with plan.Calendar.Truncate called per value.
func TestTimeTruncCacheMatchesUncached(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(3, 4))
	tests := []struct {
		zone   string
		from   int
		to     int
		n      int
		units  []plan.TimeUnit
		sorted bool
	}{
		{"America/Sao_Paulo", 2015, 2020, 20000, allUnits, false},
		{"America/Havana", 2015, 2020, 20000, allUnits, false},
		{"Asia/Beirut", 2015, 2020, 20000, allUnits, false},
		{"America/Santiago", 2015, 2020, 20000, allUnits, true},
		// More than maxPeriods distinct days: the cache starts afresh part way.
		{"UTC", 1800, 2100, 150000, []plan.TimeUnit{plan.Day}, false},
	}
	for _, tc := range tests {
		loc := loadZone(t, tc.zone)
		lo := time.Date(tc.from, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
		hi := time.Date(tc.to, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
		vals := make([]int64, tc.n)
		for i := range vals {
			vals[i] = lo + rng.Int64N(hi-lo)
		}
		if tc.sorted {
			slices.Sort(vals)
		}
		in := timestamps(mem, tsUTC, vals, nil)
		for _, unit := range tc.units {
			t.Run(tc.zone+"/"+unit.String(), func(t *testing.T) {
				got := truncColumn(t, mem, in, unit, loc, 4096)
				for i, v := range vals {
					start, _ := (*plan.Calendar)(nil).Truncate(time.UnixMicro(v).In(loc), unit)
					if want := start.Format(time.RFC3339Nano); got[i] != want {
						t.Fatalf("date_trunc(%s, %s) = %s, want %s", unit, time.UnixMicro(v).In(loc), got[i], want)
					}
				}
			})
		}
		in.Release()
	}
}

// TestTimeTruncDates truncates date32 values, which stay dates whatever the zone.
func TestTimeTruncDates(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(5, 6))
	lo, hi := days(t, "1960-01-01"), days(t, "2040-12-31")
	var ds []int32
	for range 3000 {
		ds = append(ds, lo+rng.Int32N(hi-lo))
	}
	ds = append(ds, days(t, "2024-02-29"), days(t, "1970-01-01"), days(t, "1969-12-31"), days(t, "2000-02-29"))
	b := array.NewDate32Builder(mem)
	for i, d := range ds {
		if i == 11 {
			b.AppendNull()
			continue
		}
		b.Append(arrow.Date32(d))
	}
	in := b.NewArray()
	b.Release()
	defer in.Release()
	ny := loadZone(t, "America/New_York")
	for _, unit := range allUnits {
		t.Run(unit.String(), func(t *testing.T) {
			got := truncColumn(t, mem, in, unit, ny, 500)
			for i, d := range ds {
				want := "NULL"
				if i != 11 {
					want = calendarStart(time.Unix(int64(d)*86400, 0).UTC(), unit).Format(time.DateOnly)
				}
				if got[i] != want {
					t.Fatalf("date_trunc(%s, %s) = %s, want %s", unit, time.Unix(int64(d)*86400, 0).UTC().Format(time.DateOnly), got[i], want)
				}
			}
		})
	}
}
