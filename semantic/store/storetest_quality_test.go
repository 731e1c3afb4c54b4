package store

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func ptr(f float64) *float64 { return &f }

// insertRuns records runs in one transaction and returns them as the store keeps them.
func insertRuns(t *testing.T, s Store, runs ...QualityRun) []QualityRun {
	t.Helper()
	out := make([]QualityRun, len(runs))
	mustUpdate(t, s, func(tx Tx) error {
		for i, r := range runs {
			var err error
			if out[i], err = tx.InsertQualityRun(r); err != nil {
				return err
			}
		}
		return nil
	})
	return out
}

func qualityRuns(t *testing.T, s Store, q QualityRunQuery) []QualityRun {
	t.Helper()
	got, err := s.QualityRuns(t.Context(), q)
	if err != nil {
		t.Fatalf("quality runs %+v: %v", q, err)
	}
	return got
}

func conformQualityRuns(t *testing.T, open storeOpener) {
	s, again := open(t)
	full := QualityRun{Rule: "gmv_matches_finance", Kind: "reconciliation", Subject: "metric:gmv_paid", Version: 3,
		Objects: []string{"metric:gmv_paid", "metric:finance_gmv"}, Status: QualityFail, Value: ptr(0.0123456789012345),
		Warn: ptr(0.001), Fail: ptr(0.005), Detail: `{"groups":4,"worst":"east"}`, Query: "Aggregate …\nSELECT 1",
		Trigger: TriggerManual, Actor: "ann@demo", Tenant: "demo", StartedAt: at(2, 9), Duration: 1234567891 * time.Nanosecond}
	// A run that measured nothing, with one threshold, stamped now.
	bare := QualityRun{Rule: "orders_fresh", Kind: "freshness", Subject: "model:orders", Status: QualityError, Fail: ptr(172800),
		Detail: `{"error":"the source was unavailable"}`, Trigger: TriggerSchedule, Actor: "koujing@quality"}
	zero := QualityRun{Rule: "orders_pk_unique", Kind: "uniqueness", Subject: "model:orders", Status: QualityPass, Value: ptr(0),
		Warn: ptr(0), Objects: []string{}, StartedAt: at(1, 9)}
	before := time.Now().Add(-time.Second)
	got := insertRuns(t, s, full, bare, zero)
	if got[0].ID == 0 || got[1].ID <= got[0].ID || got[2].ID <= got[1].ID {
		t.Errorf("run IDs %d, %d, %d do not increase", got[0].ID, got[1].ID, got[2].ID)
	}
	if b := got[1].StartedAt; b.Before(before) || b.After(time.Now()) || b.Location() != time.UTC {
		t.Errorf("a run without a time is stamped %v, not now in UTC", b)
	}
	want := func(r QualityRun, stored QualityRun) QualityRun {
		r.ID, r.StartedAt = stored.ID, stored.StartedAt
		r.Duration = r.Duration.Truncate(time.Microsecond)
		r.Objects = nilIfEmpty(r.Objects)
		if r.Detail == "" {
			r.Detail = "{}"
		}
		return r
	}
	w := []QualityRun{want(full, got[0]), want(bare, got[1]), want(zero, got[2])}
	w[0].StartedAt, w[2].StartedAt = stored(at(2, 9)), stored(at(1, 9))
	wantEqual(t, "inserted runs", got, w)
	if got[0].Value == full.Value {
		t.Errorf("the stored run shares its value with the caller's")
	}
	wantStored(t, s, again, "all runs, newest first", func(t *testing.T, s Store) []QualityRun {
		return qualityRuns(t, s, QualityRunQuery{})
	}, []QualityRun{w[2], w[1], w[0]})

	// More runs of the same rules, then the latest of each.
	later := insertRuns(t, s,
		QualityRun{Rule: "orders_fresh", Kind: "freshness", Subject: "model:orders", Status: QualityPass, Value: ptr(60), Trigger: TriggerSchedule, StartedAt: at(3, 9)},
		QualityRun{Rule: "gmv_matches_finance", Kind: "reconciliation", Subject: "metric:gmv_paid", Status: QualityWarn, Value: ptr(0.002), Trigger: TriggerSchedule, StartedAt: at(3, 10)},
	)
	latest := func(t *testing.T, s Store) []QualityRun {
		return read(t, s, func(tx Tx) ([]QualityRun, error) {
			return tx.LatestQualityRuns([]string{"orders_fresh", "gmv_matches_finance", "orders_pk_unique", "no_such_rule"})
		})
	}
	wantStored(t, s, again, "the latest run of each rule, by name", latest, []QualityRun{later[1], later[0], w[2]})
	if got := read(t, s, func(tx Tx) ([]QualityRun, error) { return tx.LatestQualityRuns(nil) }); got != nil {
		t.Errorf("the latest runs of no rules: %+v", got)
	}

	ids := func(runs []QualityRun) []int64 {
		var out []int64
		for _, r := range runs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, c := range []struct {
		name string
		q    QualityRunQuery
		want []QualityRun
	}{
		{"of a rule", QualityRunQuery{Rules: []string{"orders_fresh"}}, []QualityRun{later[0], w[1]}},
		{"of rules", QualityRunQuery{Rules: []string{"orders_fresh", "orders_pk_unique"}}, []QualityRun{later[0], w[2], w[1]}},
		{"of no rules", QualityRunQuery{Rules: []string{}}, nil},
		{"of a subject", QualityRunQuery{Subjects: []string{"metric:gmv_paid"}}, []QualityRun{later[1], w[0]}},
		{"of no subjects", QualityRunQuery{Subjects: []string{}}, nil},
		{"statuses", QualityRunQuery{Statuses: []QualityStatus{QualityFail, QualityWarn}}, []QualityRun{later[1], w[0]}},
		{"scheduled", QualityRunQuery{Trigger: TriggerSchedule}, []QualityRun{later[1], later[0], w[1]}},
		{"since and until", QualityRunQuery{Since: at(2, 9), Until: at(3, 10)}, []QualityRun{later[0], w[0]}},
		{"a page", QualityRunQuery{BeforeID: later[1].ID, Limit: 2}, []QualityRun{later[0], w[2]}},
	} {
		if got := qualityRuns(t, s, c.q); !slices.Equal(ids(got), ids(c.want)) {
			t.Errorf("%s: runs %v, want %v", c.name, ids(got), ids(c.want))
		}
	}

	for _, bad := range []float64{math.NaN(), math.Inf(1)} {
		err := s.Update(t.Context(), func(tx Tx) error {
			_, err := tx.InsertQualityRun(QualityRun{Rule: "r", Kind: "range", Subject: "model:orders", Status: QualityPass, Value: ptr(bad)})
			return err
		})
		if err == nil {
			t.Errorf("a run measuring %v was stored", bad)
		}
	}
}

func conformScheduleSlots(t *testing.T, open storeOpener) {
	s, again := open(t)
	claim := func(s Store, name string, slot time.Time) bool {
		t.Helper()
		var claimed bool
		mustUpdate(t, s, func(tx Tx) error {
			var err error
			claimed, err = tx.ClaimSlot(name, slot)
			return err
		})
		return claimed
	}
	for _, c := range []struct {
		name string
		slot time.Time
		want bool
	}{
		{"a", at(1, 9), true},
		{"a", at(1, 9), false}, // the same slot again
		{"b", at(1, 9), true},  // another schedule
		{"a", at(1, 8), false}, // an earlier one
		{"a", at(1, 10), true}, // the next one
	} {
		if got := claim(s, c.name, c.slot); got != c.want {
			t.Errorf("claiming %s at %v: %v, want %v", c.name, c.slot, got, c.want)
		}
	}
	if again != nil {
		s2 := again(t)
		if claim(s2, "a", at(1, 10)) {
			t.Errorf("another store claimed a slot this one had claimed")
		}
		if !claim(s2, "a", at(1, 11)) {
			t.Errorf("another store could not claim the next slot")
		}
		s2.Close()
	}

	// A slot claimed in a transaction that rolls back stays free.
	s.Update(t.Context(), func(tx Tx) error {
		if _, err := tx.ClaimSlot("c", at(1, 9)); err != nil {
			return err
		}
		return errPlanned
	})
	if !claim(s, "c", at(1, 9)) {
		t.Errorf("a slot claimed in a transaction that rolled back stays claimed")
	}

	// Concurrent claims of one slot: exactly one succeeds.
	const workers = 8
	for round := range 3 {
		slot := at(5, 9+round)
		var won, lost atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range workers {
			wg.Go(func() {
				<-start
				var claimed bool
				err := s.Update(t.Context(), func(tx Tx) error {
					var err error
					claimed, err = tx.ClaimSlot("concurrent", slot)
					return err
				})
				switch {
				case err == nil && claimed:
					won.Add(1)
				case err == nil || errors.Is(err, ErrConflict):
					lost.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
		if won.Load() != 1 || lost.Load() != workers-1 {
			t.Errorf("round %d: %d of %d concurrent claims of one slot succeeded", round, won.Load(), workers)
		}
	}
}

func conformLeases(t *testing.T, open storeOpener) {
	s, again := open(t)
	const ttl = time.Minute
	hold := func(s Store, holder string, now time.Time) bool {
		t.Helper()
		held, err := s.HoldLease(t.Context(), "scheduler", holder, now, ttl)
		if err != nil {
			t.Fatalf("%s holding the lease: %v", holder, err)
		}
		return held
	}
	t0 := at(1, 9)
	steps := []struct {
		holder string
		now    time.Time
		want   bool
	}{
		{"a", t0, true},                         // free: a takes it
		{"b", t0.Add(30 * time.Second), false},  // a holds it
		{"a", t0.Add(50 * time.Second), true},   // a renews, until t0+110s
		{"b", t0.Add(100 * time.Second), false}, // still a's
		{"b", t0.Add(110 * time.Second), true},  // a's time ran out: b takes it
		{"a", t0.Add(120 * time.Second), false}, // now b's
		{"b", t0.Add(125 * time.Second), true},  // b renews, until t0+185s
		{"c", t0.Add(180 * time.Second), false}, // still b's
		{"c", t0.Add(185 * time.Second), true},  // b's ran out
		{"a", t0.Add(186 * time.Second), false},
	}
	for i, st := range steps {
		if got := hold(s, st.holder, st.now); got != st.want {
			t.Errorf("step %d: %s holds the lease at %v: %v, want %v", i, st.holder, st.now.Sub(t0), got, st.want)
		}
	}
	// Released by another than its holder: nothing changes; by its holder: free at once.
	now := t0.Add(187 * time.Second)
	if err := s.ReleaseLease(t.Context(), "scheduler", "a"); err != nil {
		t.Fatal(err)
	}
	if hold(s, "a", now) {
		t.Errorf("a took the lease c holds after releasing what it did not hold")
	}
	if err := s.ReleaseLease(t.Context(), "scheduler", "c"); err != nil {
		t.Fatal(err)
	}
	if !hold(s, "a", now) {
		t.Errorf("a could not take the lease c released")
	}
	if _, err := s.HoldLease(t.Context(), "scheduler", "", now, ttl); err == nil {
		t.Errorf("a lease was held by nobody")
	}
	// Leases of other names are apart.
	if held, err := s.HoldLease(t.Context(), "other", "b", now, ttl); err != nil || !held {
		t.Errorf("b holding another lease: %v, %v", held, err)
	}
	if again != nil {
		s2 := again(t)
		if held, err := s2.HoldLease(t.Context(), "scheduler", "b", now, ttl); err != nil || held {
			t.Errorf("another store took a's lease: %v, %v", held, err)
		}
		s2.Close()
	}

	// Many holders asking at once: one holds it.
	var holders atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	later := now.Add(time.Hour)
	for w := range 8 {
		wg.Go(func() {
			<-start
			held, err := s.HoldLease(t.Context(), "contended", fmt.Sprint("worker", w), later, ttl)
			if err != nil && !errors.Is(err, ErrConflict) {
				t.Error(err)
			}
			if held {
				holders.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if holders.Load() != 1 {
		t.Errorf("%d of 8 concurrent holders hold one lease", holders.Load())
	}
}
