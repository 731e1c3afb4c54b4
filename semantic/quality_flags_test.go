package semantic_test

import (
	"context"
	"strings"
	"testing"

	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/store"
)

// TestQualityFlagsFollowRuns flags a metric as soon as a run of this server records a failure,
// though its rules were read, without runs, by the query before; and says what a flag means.
func TestQualityFlagsFollowRuns(t *testing.T) {
	q := fileQualityService(t, memoryStore(t), nil)
	ctx := context.Background()
	acc := q.gov.Catalog().FullAccess()
	flags, err := q.svc.QualityFlags(ctx, acc, []string{"dirty_gmv"})
	if err != nil || len(flags) != 0 {
		t.Fatalf("before any run: %+v, %v", flags, err)
	}
	if _, err := q.svc.RunQualityRules(ctx, acc, semantic.QualitySelection{Metric: "dirty_gmv"}); err != nil {
		t.Fatal(err)
	}
	flags, err = q.svc.QualityFlags(ctx, acc, []string{"dirty_gmv", "unknown_metric"})
	if err != nil || len(flags) != 1 || flags[0].Status != store.QualityFail || len(flags[0].Rules) != 7 {
		t.Fatalf("after the run: %+v, %v", flags, err)
	}
	msg := flags[0].Message()
	for _, want := range []string{"metric dirty_gmv crossed a quality red line (score 3.57 of 100): rule ",
		" (completeness) failed, measuring 20% (", " (completeness) warned, measuring 20% (warns above ", ", at 2026-03-01 12:00:00 UTC"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the flag's message lacks %q: %s", want, msg)
		}
	}
}

// TestFormatQualityValue: ages read in days, hours, minutes and seconds, two units at most;
// ratios as percentages; counts as they are.
func TestFormatQualityValue(t *testing.T) {
	for _, tt := range []struct {
		unit semantic.QualityUnit
		v    float64
		want string
	}{
		{semantic.UnitSeconds, 0, "0s"},
		{semantic.UnitSeconds, 45, "45s"},
		{semantic.UnitSeconds, 90, "1m 30s"},
		{semantic.UnitSeconds, 5400, "1h 30m"},
		{semantic.UnitSeconds, 86400, "1d"},
		{semantic.UnitSeconds, 172800, "2d"},
		{semantic.UnitSeconds, 86400 + 1800, "1d"},
		{semantic.UnitSeconds, 90061, "1d 1h"},
		{semantic.UnitSeconds, 28808296, "333d 10h"},
		{semantic.UnitSeconds, -3600.4, "-1h"},
		{semantic.UnitSeconds, 1e300, "1e+300s"},
		{semantic.UnitRatio, 0.005, "0.5%"},
		{semantic.UnitCount, 12, "12"},
	} {
		if got := semantic.FormatQualityValue(tt.unit, tt.v); got != tt.want {
			t.Errorf("FormatQualityValue(%s, %v) = %q, want %q", tt.unit, tt.v, got, tt.want)
		}
	}
}

// BenchmarkQualityFlags: what looking up a result's quality flags adds to every query once the
// service has cached the newest runs, so that no store is read.
func BenchmarkQualityFlags(b *testing.B) {
	q := fileQualityService(b, memoryStore(b), nil)
	ctx := context.Background()
	acc := q.gov.Catalog().FullAccess()
	if _, err := q.svc.RunQualityRules(ctx, acc, semantic.QualitySelection{Metric: "dirty_gmv"}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if flags := q.svc.ResultQualityFlags(ctx, acc, []string{"dirty_gmv"}); len(flags) != 1 {
			b.Fatalf("flags %+v", flags)
		}
	}
}
