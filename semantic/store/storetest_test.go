package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// storeOpener opens stores for the conformance suite. It returns a store on new, empty storage,
// closed when t ends, and again, which opens a further store on the same storage; again is nil
// for a store in memory, which nothing else can open.
type storeOpener func(t *testing.T) (s Store, again func(t *testing.T) Store)

// runStoreConformance checks that a Store implementation keeps the Store contract. Every case
// starts from empty storage.
func runStoreConformance(t *testing.T, open storeOpener) {
	for _, c := range []struct {
		name string
		run  func(*testing.T, storeOpener)
	}{
		{"VersionRoundTrip", conformVersionRoundTrip},
		{"VersionNumbers", conformVersionNumbers},
		{"SetVersionStatus", conformSetVersionStatus},
		{"VersionQueries", conformVersionQueries},
		{"ChangeRequestRoundTrip", conformChangeRequestRoundTrip},
		{"ChangeRequestRevisions", conformChangeRequestRevisions},
		{"ChangeRequestQueries", conformChangeRequestQueries},
		{"ReviewsAndComments", conformReviewsAndComments},
		{"Feedback", conformFeedback},
		{"Events", conformEvents},
		{"Outbox", conformOutbox},
		{"QualityRuns", conformQualityRuns},
		{"ScheduleSlots", conformScheduleSlots},
		{"Leases", conformLeases},
		{"UpdateIsAtomic", conformUpdateIsAtomic},
		{"ViewIsReadOnly", conformViewIsReadOnly},
		{"ConcurrentUpdates", conformConcurrentUpdates},
		{"TwoStores", conformTwoStores},
		{"Closed", conformClosed},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, open) })
	}
}

// at is a time in Beijing with nanoseconds, which stores keep in UTC to the microsecond.
func at(day, hour int) time.Time {
	return time.Date(2026, 3, day, hour, 30, 15, 123456789, time.FixedZone("CST", 8*3600))
}

// stored is t as stores return it.
func stored(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

func mustUpdate(t *testing.T, s Store, fn func(Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("update: %v", err)
	}
}

// read runs fn in a View of s and returns what it returns.
func read[T any](t *testing.T, s Store, fn func(Tx) (T, error)) T {
	t.Helper()
	var out T
	err := s.View(t.Context(), func(tx Tx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	if err != nil {
		t.Fatalf("view: %v", err)
	}
	return out
}

func versionsOf(t *testing.T, s Store, q VersionQuery) []Version {
	t.Helper()
	return read(t, s, func(tx Tx) ([]Version, error) { return tx.Versions(q) })
}

func insertVersions(t *testing.T, s Store, vs ...Version) []Version {
	t.Helper()
	out := make([]Version, len(vs))
	mustUpdate(t, s, func(tx Tx) error {
		for i, v := range vs {
			var err error
			if out[i], err = tx.InsertVersion(v); err != nil {
				return err
			}
		}
		return nil
	})
	return out
}

func insertCR(t *testing.T, s Store, cr ChangeRequest) ChangeRequest {
	t.Helper()
	var out ChangeRequest
	mustUpdate(t, s, func(tx Tx) error {
		var err error
		out, err = tx.InsertChangeRequest(cr)
		return err
	})
	return out
}

func metric(name string, status Status) Version {
	return Version{Kind: KindMetric, Name: name, Status: status, Definition: "name: " + name + "\n", Hash: "h-" + name,
		Author: "alice@acme", Note: "note", CreatedAt: at(1, 9)}
}

// storedVersion is v as a store returns it after inserting it with the given ID and number.
func storedVersion(v Version, id int64, number int) Version {
	v.ID, v.Number = id, number
	v.CreatedAt, v.PublishedAt = stored(v.CreatedAt), stored(v.PublishedAt)
	if v.Audience != nil {
		a := *v.Audience
		a.Roles, a.Tenants = nilIfEmpty(a.Roles), nilIfEmpty(a.Tenants)
		v.Audience = &a
	}
	if v.Deprecation != nil {
		d := *v.Deprecation
		d.Sunset = stored(d.Sunset)
		v.Deprecation = &d
	}
	return v
}

func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// wantStored checks what the store, and a store opened again on its storage, return.
func wantStored[T any](t *testing.T, s Store, again func(*testing.T) Store, what string, get func(*testing.T, Store) T, want T) {
	t.Helper()
	wantEqual(t, what, get(t, s), want)
	if again != nil {
		s2 := again(t)
		wantEqual(t, what+", read by another store", get(t, s2), want)
		s2.Close()
	}
}

func conformVersionRoundTrip(t *testing.T, open storeOpener) {
	s, again := open(t)
	cr := insertCR(t, s, ChangeRequest{Title: "t", Author: "alice@acme", Tenant: "acme", Status: CROpen})
	full := metric("gmv_paid", Gray)
	full.Definition = "name: gmv_paid\nexpr: sum(amount)\nlabel: \"成交额 (已付)\"\n"
	full.ChangeRequest = cr.ID
	full.PublishedAt = at(2, 10)
	full.Audience = &Audience{Roles: []string{"analyst", "finance"}, Tenants: []string{"acme"}}
	full.Deprecation = &Deprecation{Replacement: "gmv_paid_v2", Sunset: at(30, 0), Note: "use v2"}
	empty := metric("gmv_placed", Published)
	empty.Audience, empty.Deprecation = &Audience{Roles: []string{}}, &Deprecation{}
	none := metric("orders", Draft)
	none.Kind = KindModel
	zero := Version{Kind: KindConnection, Name: "warehouse", Status: InReview}

	before := time.Now().Add(-time.Second)
	got := insertVersions(t, s, full, empty, none, zero)
	want := []Version{
		storedVersion(empty, got[1].ID, 1),
		storedVersion(full, got[0].ID, 1),
		storedVersion(zero, got[3].ID, 1),
		storedVersion(none, got[2].ID, 1),
	}
	want[2].CreatedAt = got[3].CreatedAt
	if c := got[3].CreatedAt; c.Before(before) || c.After(time.Now()) || c.Location() != time.UTC || c.Nanosecond()%1000 != 0 {
		t.Errorf("a version without a time is stamped %v, not now in UTC to the microsecond", c)
	}
	wantEqual(t, "inserted versions", []Version{got[1], got[0], got[3], got[2]}, want)
	if want[0].Audience == nil || want[0].Deprecation == nil {
		t.Fatalf("empty audience and deprecation became nil")
	}
	// Ordered by kind, name and number.
	wantStored(t, s, again, "versions", func(t *testing.T, s Store) []Version { return versionsOf(t, s, VersionQuery{}) },
		[]Version{want[2], want[1], want[0], want[3]})
}

func conformVersionNumbers(t *testing.T, open storeOpener) {
	s, again := open(t)
	var want []string
	// Interleaved inserts of three names, one of them of two kinds, some in one transaction.
	for round := range 3 {
		insertVersions(t, s, metric("a", Draft), metric("b", Draft))
		model := metric("a", Draft)
		model.Kind = KindModel
		insertVersions(t, s, model)
		if round < 2 {
			insertVersions(t, s, metric("c", Draft), metric("c", Draft))
		}
	}
	for _, kn := range []struct {
		kind Kind
		name string
		n    int
	}{{KindMetric, "a", 3}, {KindMetric, "b", 3}, {KindMetric, "c", 4}, {KindModel, "a", 3}} {
		for i := 1; i <= kn.n; i++ {
			want = append(want, fmt.Sprintf("%s %s@%d", kn.kind, kn.name, i))
		}
	}
	slices.Sort(want)
	numbers := func(t *testing.T, s Store) []string {
		var out []string
		for _, v := range versionsOf(t, s, VersionQuery{}) {
			out = append(out, fmt.Sprintf("%s %s@%d", v.Kind, v.Name, v.Number))
		}
		return out
	}
	wantStored(t, s, again, "version numbers", numbers, want)
}

func conformSetVersionStatus(t *testing.T, open storeOpener) {
	s, again := open(t)
	vs := insertVersions(t, s, metric("gmv", InReview), metric("gmv", Published))
	audience := &Audience{Tenants: []string{"globex"}}
	deprecation := &Deprecation{Replacement: "gmv_v2", Sunset: at(20, 0)}
	mustUpdate(t, s, func(tx Tx) error {
		if err := tx.SetVersionStatus(vs[0].ID, Gray, at(3, 12), audience, nil); err != nil {
			return err
		}
		return tx.SetVersionStatus(vs[1].ID, Deprecated, vs[1].PublishedAt, nil, deprecation)
	})
	want := []Version{vs[0], vs[1]}
	want[0].Status, want[0].PublishedAt, want[0].Audience = Gray, stored(at(3, 12)), audience
	want[1].Status, want[1].Deprecation = Deprecated, &Deprecation{Replacement: "gmv_v2", Sunset: stored(at(20, 0))}
	get := func(t *testing.T, s Store) []Version { return versionsOf(t, s, VersionQuery{Name: "gmv"}) }
	wantStored(t, s, again, "after moving on", get, want)

	// nil clears.
	mustUpdate(t, s, func(tx Tx) error { return tx.SetVersionStatus(vs[0].ID, Published, at(4, 0), nil, nil) })
	want[0].Status, want[0].PublishedAt, want[0].Audience = Published, stored(at(4, 0)), nil
	wantStored(t, s, again, "after clearing the audience", get, want)

	err := s.Update(t.Context(), func(tx Tx) error { return tx.SetVersionStatus(vs[1].ID+100, Retired, time.Time{}, nil, nil) })
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("setting the status of no version: %v, want ErrNotFound", err)
	}
}

func conformVersionQueries(t *testing.T, open storeOpener) {
	s, _ := open(t)
	cr := insertCR(t, s, ChangeRequest{Title: "t", Author: "alice@acme", Tenant: "acme", Status: CROpen})
	inCR := func(v Version) Version { v.ChangeRequest = cr.ID; return v }
	model := metric("orders", Published)
	model.Kind = KindModel
	vs := insertVersions(t, s, metric("b", Published), metric("a", Superseded), metric("a", Published),
		inCR(metric("a", InReview)), inCR(metric("c", InReview)), model, metric("d", Retired), metric("e", Deprecated))
	name := func(vs []Version) []string {
		var out []string
		for _, v := range vs {
			out = append(out, fmt.Sprintf("%s %s@%d", v.Kind, v.Name, v.Number))
		}
		return out
	}
	for _, c := range []struct {
		q    VersionQuery
		want []string
	}{
		{VersionQuery{}, []string{"metric a@1", "metric a@2", "metric a@3", "metric b@1", "metric c@1", "metric d@1", "metric e@1", "model orders@1"}},
		{VersionQuery{Kind: KindModel}, []string{"model orders@1"}},
		{VersionQuery{Name: "a"}, []string{"metric a@1", "metric a@2", "metric a@3"}},
		{VersionQuery{Kind: KindModel, Name: "a"}, nil},
		{VersionQuery{Statuses: []Status{Published, Deprecated, Gray, Retired}}, []string{"metric a@2", "metric b@1", "metric d@1", "metric e@1", "model orders@1"}},
		{VersionQuery{Kind: KindMetric, Statuses: []Status{Published}}, []string{"metric a@2", "metric b@1"}},
		{VersionQuery{ChangeRequest: cr.ID}, []string{"metric a@3", "metric c@1"}},
		{VersionQuery{ChangeRequest: cr.ID, Name: "c"}, []string{"metric c@1"}},
		{VersionQuery{Statuses: []Status{Withdrawn}}, nil},
	} {
		if got := name(versionsOf(t, s, c.q)); !slices.Equal(got, c.want) {
			t.Errorf("%+v: %v, want %v", c.q, got, c.want)
		}
	}
	if got := versionsOf(t, s, VersionQuery{Name: "a", Statuses: []Status{InReview}}); len(got) != 1 || got[0].ID != vs[3].ID {
		t.Errorf("a in review: %+v", got)
	}
}

// fullCR is a change request with every field set and an item of every action.
func fullCR() ChangeRequest {
	return ChangeRequest{
		Title: "Count GMV on paid orders", Rationale: "Finance and sales disagree.\n财务与销售口径不一。",
		Author: "alice@acme", Tenant: "acme", Status: CROpen,
		Items: []Item{
			{Kind: KindMetric, Name: "gmv_paid", Action: Create, Version: 1},
			{Kind: KindMetric, Name: "gmv", Action: Update, Version: 4, BaseVersion: 3},
			{Kind: KindModel, Name: "orders", Action: Deprecate, Version: 2, BaseVersion: 1},
			{Kind: KindMetric, Name: "gmv_old", Action: Retire, Version: 7, BaseVersion: 6},
		},
		Domains: []string{"sales", "finance"}, ApprovalsRequired: 2,
		Reviewers: []string{"bob@acme", "carol@acme"}, Subscribers: []string{"dave@acme"},
		Audience:  &Audience{Roles: []string{"analyst"}},
		CreatedAt: at(1, 9), UpdatedAt: at(1, 10), DueAt: at(3, 18),
	}
}

func storedCR(cr ChangeRequest, id int64, revision int) ChangeRequest {
	cr.ID, cr.Revision = id, revision
	cr.CreatedAt, cr.UpdatedAt, cr.DueAt = stored(cr.CreatedAt), stored(cr.UpdatedAt), stored(cr.DueAt)
	return cr
}

func changeRequest(t *testing.T, s Store, id int64) ChangeRequest {
	t.Helper()
	return read(t, s, func(tx Tx) (ChangeRequest, error) { return tx.ChangeRequest(id) })
}

func conformChangeRequestRoundTrip(t *testing.T, open storeOpener) {
	s, again := open(t)
	full := fullCR()
	got := insertCR(t, s, full)
	want := storedCR(full, got.ID, 1)
	wantEqual(t, "inserted", got, want)
	get := func(t *testing.T, s Store) ChangeRequest { return changeRequest(t, s, got.ID) }
	wantStored(t, s, again, "change request", get, want)

	// A request with nothing but a title; empty lists read back as nil.
	before := time.Now().Add(-time.Second)
	bare := insertCR(t, s, ChangeRequest{Title: "bare", Items: []Item{}, Domains: []string{}, Status: CRDraft})
	if bare.ID == got.ID || bare.Revision != 1 || bare.CreatedAt.Before(before) || !bare.UpdatedAt.Equal(bare.CreatedAt) {
		t.Errorf("bare request: %+v", bare)
	}
	wantEqual(t, "bare request", changeRequest(t, s, bare.ID), ChangeRequest{ID: bare.ID, Title: "bare", Status: CRDraft,
		Revision: 1, CreatedAt: bare.CreatedAt, UpdatedAt: bare.CreatedAt})

	err := s.View(t.Context(), func(tx Tx) error { _, err := tx.ChangeRequest(bare.ID + 100); return err })
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("reading no change request: %v, want ErrNotFound", err)
	}
}

func conformChangeRequestRevisions(t *testing.T, open storeOpener) {
	s, again := open(t)
	cr := insertCR(t, s, fullCR())
	// The winner drops an item, a domain and the audience, and changes the rest.
	winner := cr
	winner.Title, winner.Status = "GMV on paid orders", CRChangesRequested
	winner.Items = []Item{cr.Items[1], {Kind: KindMetric, Name: "aov", Action: Create, Version: 1}}
	winner.Domains, winner.Reviewers, winner.Subscribers = []string{"finance"}, []string{"erin@acme"}, nil
	winner.Audience, winner.DueAt, winner.UpdatedAt = nil, time.Time{}, at(2, 8)
	var got ChangeRequest
	mustUpdate(t, s, func(tx Tx) error {
		var err error
		got, err = tx.UpdateChangeRequest(winner)
		return err
	})
	want := storedCR(winner, cr.ID, 2)
	wantEqual(t, "updated", got, want)

	loser := cr
	loser.Title = "lost"
	err := s.Update(t.Context(), func(tx Tx) error { _, err := tx.UpdateChangeRequest(loser); return err })
	if !errors.Is(err, ErrConflict) {
		t.Errorf("updating revision 1 of a request at revision 2: %v, want ErrConflict", err)
	}
	get := func(t *testing.T, s Store) ChangeRequest { return changeRequest(t, s, cr.ID) }
	wantStored(t, s, again, "after a stale update", get, want)

	// The next update, of the revision read, goes through; one of no request does not.
	next := got
	next.Status = CROpen
	mustUpdate(t, s, func(tx Tx) error { _, err := tx.UpdateChangeRequest(next); return err })
	if got := get(t, s); got.Revision != 3 || got.Status != CROpen {
		t.Errorf("after the next update: revision %d, status %s", got.Revision, got.Status)
	}
	next.ID += 100
	err = s.Update(t.Context(), func(tx Tx) error { _, err := tx.UpdateChangeRequest(next); return err })
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("updating no change request: %v, want ErrNotFound", err)
	}
}

func conformChangeRequestQueries(t *testing.T, open storeOpener) {
	s, _ := open(t)
	type spec struct {
		status   CRStatus
		author   string
		domains  []string
		reviewer string
		item     string
		due      time.Time
	}
	specs := []spec{
		{CROpen, "alice@acme", []string{"sales"}, "bob@acme", "gmv", at(2, 0)},
		{CRDraft, "bob@acme", []string{"finance"}, "", "profit", time.Time{}},
		{CROpen, "alice@acme", []string{"sales", "finance"}, "carol@acme", "gmv_paid", at(5, 0)},
		{CRPublished, "carol@acme", []string{"supply"}, "bob@acme", "gmv", at(1, 0)},
		{CRChangesRequested, "alice@acme", []string{"finance"}, "bob@acme", "aov", at(3, 0)},
		{CRWithdrawn, "dave@acme", []string{"sales"}, "carol@acme", "gmv", at(4, 0)},
	}
	ids := make([]int64, len(specs))
	for i, sp := range specs {
		cr := ChangeRequest{Title: fmt.Sprint("request ", i), Author: sp.author, Tenant: "acme", Status: sp.status,
			Domains: sp.domains, Items: []Item{{Kind: KindMetric, Name: sp.item, Action: Update, Version: 2, BaseVersion: 1}}, DueAt: sp.due}
		if sp.reviewer != "" {
			cr.Reviewers = []string{sp.reviewer, "zed@acme"}
		}
		ids[i] = insertCR(t, s, cr).ID
	}
	// Newest first.
	idsOf := func(is ...int) []int64 {
		var out []int64
		for _, i := range is {
			out = append(out, ids[i])
		}
		return out
	}
	for _, c := range []struct {
		name string
		q    CRQuery
		want []int64
	}{
		{"all", CRQuery{}, idsOf(5, 4, 3, 2, 1, 0)},
		{"open", CRQuery{Statuses: []CRStatus{CROpen}}, idsOf(2, 0)},
		{"in flight", CRQuery{Statuses: []CRStatus{CROpen, CRChangesRequested, CRDraft}}, idsOf(4, 2, 1, 0)},
		{"domain", CRQuery{Domain: "finance"}, idsOf(4, 2, 1)},
		{"author", CRQuery{Author: "alice@acme"}, idsOf(4, 2, 0)},
		{"reviewer", CRQuery{Reviewer: "bob@acme"}, idsOf(4, 3, 0)},
		{"second reviewer", CRQuery{Reviewer: "zed@acme"}, idsOf(5, 4, 3, 2, 0)},
		{"definition", CRQuery{Kind: KindMetric, Name: "gmv"}, idsOf(5, 3, 0)},
		{"definition of another kind", CRQuery{Kind: KindModel, Name: "gmv"}, nil},
		{"due before", CRQuery{DueBefore: at(3, 0)}, idsOf(3, 0)},
		{"overdue open", CRQuery{DueBefore: at(4, 0), Statuses: []CRStatus{CROpen, CRChangesRequested}}, idsOf(4, 0)},
		{"together", CRQuery{Domain: "sales", Reviewer: "carol@acme", Statuses: []CRStatus{CROpen}}, idsOf(2)},
		{"page", CRQuery{Limit: 2}, idsOf(5, 4)},
		{"next page", CRQuery{Limit: 2, BeforeID: ids[4]}, idsOf(3, 2)},
		{"last page", CRQuery{Limit: 2, BeforeID: ids[2]}, idsOf(1, 0)},
		{"after the last page", CRQuery{BeforeID: ids[0]}, nil},
	} {
		crs, err := s.ChangeRequests(t.Context(), c.q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got []int64
		for _, cr := range crs {
			got = append(got, cr.ID)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	// Listed requests are whole.
	crs, err := s.ChangeRequests(t.Context(), CRQuery{Domain: "finance"})
	if err != nil || len(crs) != 3 {
		t.Fatalf("finance: %v, %v", crs, err)
	}
	for _, cr := range crs {
		wantEqual(t, "listed request", cr, changeRequest(t, s, cr.ID))
	}
}

func conformReviewsAndComments(t *testing.T, open storeOpener) {
	s, again := open(t)
	cr := insertCR(t, s, fullCR())
	other := insertCR(t, s, fullCR())
	var reviews []Review
	var comments []Comment
	mustUpdate(t, s, func(tx Tx) error {
		for i, r := range []Review{
			{ChangeRequest: cr.ID, Revision: 1, Reviewer: "bob@acme", Decision: RequestChanges, Note: "which statuses?", At: at(2, 9)},
			{ChangeRequest: other.ID, Revision: 1, Reviewer: "bob@acme", Decision: Reject, At: at(2, 9)},
			{ChangeRequest: cr.ID, Revision: 2, Reviewer: "bob@acme", Decision: Approve, Domains: []string{}, At: at(2, 11)},
			{ChangeRequest: cr.ID, Revision: 2, Reviewer: "carol@acme", Decision: Approve, Domains: []string{"sales", "finance"}, Note: "同意", At: at(2, 10)},
		} {
			r, err := tx.InsertReview(r)
			if err != nil {
				return err
			}
			if i != 1 {
				reviews = append(reviews, r)
			}
		}
		c1, err := tx.InsertComment(Comment{ChangeRequest: cr.ID, Author: "bob@acme", Body: "why paid, not shipped?", At: at(2, 9)})
		if err != nil {
			return err
		}
		c2, err := tx.InsertComment(Comment{ChangeRequest: cr.ID, Parent: c1.ID, Author: "alice@acme", Body: "finance books on payment", At: at(2, 10)})
		if err != nil {
			return err
		}
		c3, err := tx.InsertComment(Comment{ChangeRequest: cr.ID, Author: "carol@acme", Body: "ok"})
		comments = []Comment{c1, c2, c3}
		return err
	})
	if reviews[0].ID == 0 || reviews[1].ID <= reviews[0].ID || comments[1].Parent != comments[0].ID || comments[2].At.IsZero() {
		t.Errorf("inserted: %+v %+v", reviews, comments)
	}
	wantReviews := slices.Clone(reviews)
	for i := range wantReviews {
		wantReviews[i].At = stored(wantReviews[i].At)
	}
	if reviews[1].Domains != nil || len(reviews[2].Domains) != 2 {
		t.Errorf("review domains: %v and %v, want nil (for none) and two", reviews[1].Domains, reviews[2].Domains)
	}
	wantComments := slices.Clone(comments)
	for i := range wantComments {
		wantComments[i].At = stored(wantComments[i].At)
	}
	// Oldest first: in the order inserted, whatever their times.
	wantStored(t, s, again, "reviews", func(t *testing.T, s Store) []Review {
		return read(t, s, func(tx Tx) ([]Review, error) { return tx.Reviews(cr.ID) })
	}, wantReviews)
	wantStored(t, s, again, "comments", func(t *testing.T, s Store) []Comment {
		return read(t, s, func(tx Tx) ([]Comment, error) { return tx.Comments(cr.ID) })
	}, wantComments)
	if got := read(t, s, func(tx Tx) ([]Comment, error) { return tx.Comments(other.ID) }); len(got) != 0 {
		t.Errorf("comments of a request without any: %+v", got)
	}

	err := s.Update(t.Context(), func(tx Tx) error {
		_, err := tx.InsertReview(Review{ChangeRequest: other.ID + 100, Reviewer: "bob@acme", Decision: Approve})
		return err
	})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("reviewing no request: %v, want ErrNotFound", err)
	}
	err = s.Update(t.Context(), func(tx Tx) error {
		_, err := tx.InsertComment(Comment{ChangeRequest: cr.ID, Parent: comments[2].ID + 100, Author: "bob@acme", Body: "?"})
		return err
	})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("answering no comment: %v, want ErrNotFound", err)
	}
}

func conformFeedback(t *testing.T, open storeOpener) {
	s, again := open(t)
	var fs []Feedback
	mustUpdate(t, s, func(tx Tx) error {
		for i, f := range []Feedback{
			{Metric: "gmv", Version: 3, Owner: "alice@acme", Author: "erin@acme", Tenant: "acme", Note: "looks low",
				Query: `{"metrics":["gmv"],"dimensions":["region"]}`, At: at(4, 9)},
			{Metric: "aov", Version: 1, Owner: "bob@acme", Author: "erin@acme", Tenant: "acme", Note: "negative?", Query: `{}`, At: at(4, 10)},
			{Metric: "gmv", Version: 3, Owner: "alice@acme", Author: "frank@globex", Tenant: "globex", Note: "双倍了", Query: `{}`, Resolved: true},
			{Metric: "gmv", Version: 4, Owner: "alice@acme", Author: "erin@acme", Tenant: "acme", Note: "still low", Query: `{}`, At: at(5, 9)},
		} {
			f, err := tx.InsertFeedback(f)
			if err != nil {
				return err
			}
			f.At = stored(f.At)
			if f.ID == 0 || (i > 0 && f.ID <= fs[i-1].ID) {
				t.Errorf("feedback %d has ID %d", i, f.ID)
			}
			fs = append(fs, f)
		}
		return nil
	})
	check := func(what string, q FeedbackQuery, want ...int) {
		t.Helper()
		get := func(t *testing.T, s Store) []Feedback {
			got, err := s.Feedback(t.Context(), q)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			return got
		}
		var w []Feedback
		for _, i := range want {
			w = append(w, fs[i])
		}
		wantStored(t, s, again, what, get, w)
	}
	check("all, newest first", FeedbackQuery{}, 3, 2, 1, 0)
	check("of a metric", FeedbackQuery{Metric: "gmv"}, 3, 2, 0)
	check("an owner's queue", FeedbackQuery{Owner: "alice@acme", Unresolved: true}, 3, 0)
	check("a page", FeedbackQuery{Limit: 2, BeforeID: fs[3].ID}, 2, 1)

	mustUpdate(t, s, func(tx Tx) error { return tx.ResolveFeedback(fs[0].ID) })
	fs[0].Resolved = true
	check("after resolving", FeedbackQuery{Owner: "alice@acme", Unresolved: true}, 3)
	check("resolved ones too", FeedbackQuery{Owner: "alice@acme"}, 3, 2, 0)
	err := s.Update(t.Context(), func(tx Tx) error { return tx.ResolveFeedback(fs[3].ID + 100) })
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("resolving no feedback: %v, want ErrNotFound", err)
	}
}

// allEvents reads every event q selects, a page of pageSize at a time.
func allEvents(t *testing.T, s Store, q EventQuery, pageSize int) []Event {
	t.Helper()
	var out []Event
	q.Limit = pageSize
	for {
		page, err := s.Events(t.Context(), q)
		if err != nil {
			t.Fatalf("events %+v: %v", q, err)
		}
		if len(page) > pageSize {
			t.Fatalf("a page of %d events, limit %d", len(page), pageSize)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		q.AfterSeq = page[len(page)-1].Seq
	}
}

func conformEvents(t *testing.T, open storeOpener) {
	s, again := open(t)
	ev := func(tenant, actor, typ, object string, day int) Event {
		return Event{At: at(day, 9), Tenant: tenant, Actor: actor, Type: typ, Object: object, Detail: `{"n":1}`}
	}
	var appended []Event
	// Through Update, with other writes …
	mustUpdate(t, s, func(tx Tx) error {
		for _, e := range []Event{
			ev("acme", "alice@acme", "change_request.opened", "change_request:1", 1),
			ev("globex", "frank@globex", "change_request.opened", "change_request:1", 1),
			ev("acme", "bob@acme", "change_request.approved", "change_request:1", 2),
		} {
			e, err := tx.AppendEvent(e)
			if err != nil {
				return err
			}
			appended = append(appended, e)
		}
		_, err := tx.InsertVersion(metric("gmv", Published))
		return err
	})
	// … and in batches, which keep their order.
	batch := []Event{
		ev("acme", "alice@acme", "query", "metric:gmv", 3),
		ev("acme", "", "login.failed", "", 3),
		ev("globex", "frank@globex", "query", "metric:gmv", 3),
		ev("acme", "alice@acme", "change_requests.listed", "", 4),
		ev("acme", "alice@acme", "change_request_x", "", 4),
		ev("acme", "bob@acme", "definition.published", "metric:gmv", 5),
		ev("acme", "bob@acme", "change_request.published", "change_request:1", 5),
		{Tenant: "acme", Actor: "bob@acme", Type: "query", Object: "metric:aov", Detail: "{}"},
	}
	before := time.Now().Add(-time.Second)
	if err := s.AppendEvents(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvents(t.Context(), nil); err != nil {
		t.Errorf("appending no events: %v", err)
	}
	for i := 1; i < len(appended); i++ {
		if appended[i].Seq <= appended[i-1].Seq {
			t.Errorf("seq %d after %d", appended[i].Seq, appended[i-1].Seq)
		}
	}
	acme := allEvents(t, s, EventQuery{Tenant: "acme"}, 100)
	if len(acme) != 9 {
		t.Fatalf("acme has %d events, want 9: %+v", len(acme), acme)
	}
	wantEqual(t, "acme's events from Update", acme[:2], []Event{
		{Seq: appended[0].Seq, At: stored(at(1, 9)), Tenant: "acme", Actor: "alice@acme", Type: "change_request.opened", Object: "change_request:1", Detail: `{"n":1}`},
		{Seq: appended[2].Seq, At: stored(at(2, 9)), Tenant: "acme", Actor: "bob@acme", Type: "change_request.approved", Object: "change_request:1", Detail: `{"n":1}`},
	})
	for i, e := range acme {
		if e.Tenant != "acme" {
			t.Errorf("acme's events hold one of %s: %+v", e.Tenant, e)
		}
		if i > 0 && e.Seq <= acme[i-1].Seq {
			t.Errorf("acme's events: seq %d after %d", e.Seq, acme[i-1].Seq)
		}
	}
	var order []string
	for _, e := range acme {
		order = append(order, e.Type)
	}
	wantEqual(t, "acme's events in the order appended", order, []string{"change_request.opened", "change_request.approved",
		"query", "login.failed", "change_requests.listed", "change_request_x", "definition.published", "change_request.published", "query"})
	if last := acme[8]; last.At.Before(before) || last.At.After(time.Now()) {
		t.Errorf("an event without a time is stamped %v, not now", last.At)
	}
	types := func(es []Event) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Type+" "+e.Object)
		}
		return out
	}
	for _, c := range []struct {
		name string
		q    EventQuery
		want []string
	}{
		{"another tenant", EventQuery{Tenant: "globex"}, []string{"change_request.opened change_request:1", "query metric:gmv"}},
		{"no such tenant", EventQuery{Tenant: "initech"}, nil},
		{"a type and its kind", EventQuery{Tenant: "acme", Types: []string{"change_request"}},
			[]string{"change_request.opened change_request:1", "change_request.approved change_request:1", "change_request.published change_request:1"}},
		{"types", EventQuery{Tenant: "acme", Types: []string{"login.failed", "definition"}}, []string{"login.failed ", "definition.published metric:gmv"}},
		{"exact type", EventQuery{Tenant: "acme", Types: []string{"change_request.published"}}, []string{"change_request.published change_request:1"}},
		{"actor", EventQuery{Tenant: "acme", Actor: "bob@acme", Types: []string{"query"}}, []string{"query metric:aov"}},
		{"object", EventQuery{Tenant: "acme", Object: "metric:gmv"}, []string{"query metric:gmv", "definition.published metric:gmv"}},
		{"since and until", EventQuery{Tenant: "acme", Since: at(2, 9), Until: at(4, 9)},
			[]string{"change_request.approved change_request:1", "query metric:gmv", "login.failed "}},
	} {
		if got := types(allEvents(t, s, c.q, 100)); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
		// Pages of one and two events give the same.
		for _, size := range []int{1, 2} {
			if got := types(allEvents(t, s, c.q, size)); !slices.Equal(got, c.want) {
				t.Errorf("%s in pages of %d: %v, want %v", c.name, size, got, c.want)
			}
		}
	}
	if got, err := s.Events(t.Context(), EventQuery{Tenant: "acme", Limit: 3, AfterSeq: acme[1].Seq}); err != nil || len(got) != 3 || got[0].Seq != acme[2].Seq {
		t.Errorf("acme after seq %d, limit 3: %+v, %v", acme[1].Seq, got, err)
	}
	if again != nil {
		s2 := again(t)
		wantEqual(t, "acme's events read by another store", allEvents(t, s2, EventQuery{Tenant: "acme"}, 100), acme)
		s2.Close()
	}
}

func conformOutbox(t *testing.T, open storeOpener) {
	s, again := open(t)
	var ds []Delivery
	mustUpdate(t, s, func(tx Tx) error {
		e, err := tx.AppendEvent(Event{Tenant: "acme", Actor: "bob@acme", Type: "change_request.published", Object: "change_request:1"})
		if err != nil {
			return err
		}
		for _, d := range []Delivery{
			{Event: e.Seq, URL: "https://hooks.example/a", Payload: `{"a":1}`, NextAttempt: at(1, 10)},
			{Event: e.Seq, URL: "https://hooks.example/b", Payload: `{"b":1}`, NextAttempt: at(1, 9)},
			{Event: e.Seq, URL: "https://hooks.example/c", Payload: `{"c":1}`, NextAttempt: at(2, 9)},
		} {
			d, err := tx.Enqueue(d)
			if err != nil {
				return err
			}
			ds = append(ds, d)
		}
		return nil
	})
	for i := range ds {
		ds[i].NextAttempt = stored(ds[i].NextAttempt)
	}
	due := func(t *testing.T, s Store, now time.Time, limit int) []Delivery {
		got, err := s.DueDeliveries(t.Context(), now, limit)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	wantEqual(t, "nothing due yet", due(t, s, at(1, 8), 10), nil)
	wantEqual(t, "due at 10:30 on the 1st, longest waiting first", due(t, s, at(1, 10), 10), []Delivery{ds[1], ds[0]})
	wantEqual(t, "limit", due(t, s, at(3, 0), 1), []Delivery{ds[1]})

	// b fails and is due again on the 4th; a succeeds.
	if err := s.RecordAttempt(t.Context(), ds[1].ID, at(1, 11), "503 Service Unavailable", at(4, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordAttempt(t.Context(), ds[0].ID, at(1, 12), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	ds[1].Attempts, ds[1].LastError, ds[1].NextAttempt = 1, "503 Service Unavailable", stored(at(4, 0))
	ds[0].Attempts, ds[0].DeliveredAt = 1, stored(at(1, 12))
	get := func(t *testing.T, s Store) []Delivery { return due(t, s, at(3, 0), 10) }
	wantStored(t, s, again, "due on the 3rd", get, []Delivery{ds[2]})
	wantEqual(t, "due on the 5th", due(t, s, at(5, 0), 10), []Delivery{ds[2], ds[1]})
	if err := s.RecordAttempt(t.Context(), ds[2].ID+100, at(1, 12), "", time.Time{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("recording an attempt of no delivery: %v, want ErrNotFound", err)
	}
}

// errPlanned is the error a test's transaction returns on purpose.
var errPlanned = errors.New("planned failure")

func conformUpdateIsAtomic(t *testing.T, open storeOpener) {
	s, again := open(t)
	cr := insertCR(t, s, fullCR())
	v := insertVersions(t, s, metric("gmv", Published))[0]
	var fb Feedback
	mustUpdate(t, s, func(tx Tx) error {
		var err error
		fb, err = tx.InsertFeedback(Feedback{Metric: "gmv", Owner: "alice@acme", Query: "{}"})
		return err
	})
	// Every kind of write, then a failure: nothing of it stays.
	writeAll := func(tx Tx) error {
		steps := []func() error{
			func() error { _, err := tx.InsertVersion(metric("gmv", Published)); return err },
			func() error { return tx.SetVersionStatus(v.ID, Superseded, v.PublishedAt, nil, nil) },
			func() error { _, err := tx.InsertChangeRequest(fullCR()); return err },
			func() error { u := cr; u.Title = "changed"; _, err := tx.UpdateChangeRequest(u); return err },
			func() error {
				_, err := tx.InsertReview(Review{ChangeRequest: cr.ID, Reviewer: "bob@acme", Decision: Approve})
				return err
			},
			func() error {
				_, err := tx.InsertComment(Comment{ChangeRequest: cr.ID, Author: "bob@acme", Body: "x"})
				return err
			},
			func() error { return tx.ResolveFeedback(fb.ID) },
			func() error { _, err := tx.AppendEvent(Event{Tenant: "acme", Type: "x"}); return err },
			func() error { _, err := tx.Enqueue(Delivery{URL: "https://hooks.example"}); return err },
			func() error {
				_, err := tx.InsertQualityRun(QualityRun{Rule: "r", Kind: "uniqueness", Subject: "model:orders", Status: QualityPass})
				return err
			},
			func() error { _, err := tx.ClaimSlot("quality:r", at(1, 9)); return err },
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	}
	type snapshot struct {
		Versions []Version
		CRs      []ChangeRequest
		Reviews  []Review
		Comments []Comment
		Feedback []Feedback
		Events   []Event
		Due      []Delivery
		Runs     []QualityRun
		Claimed  bool
	}
	take := func(t *testing.T, s Store) snapshot {
		var snap snapshot
		snap.Versions = versionsOf(t, s, VersionQuery{})
		snap.Reviews = read(t, s, func(tx Tx) ([]Review, error) { return tx.Reviews(cr.ID) })
		snap.Comments = read(t, s, func(tx Tx) ([]Comment, error) { return tx.Comments(cr.ID) })
		var err error
		snap.CRs, err = s.ChangeRequests(t.Context(), CRQuery{})
		if err == nil {
			snap.Feedback, err = s.Feedback(t.Context(), FeedbackQuery{})
		}
		if err == nil {
			snap.Events, err = s.Events(t.Context(), EventQuery{Tenant: "acme"})
		}
		if err == nil {
			snap.Due, err = s.DueDeliveries(t.Context(), time.Now().Add(time.Hour), 100)
		}
		if err == nil {
			snap.Runs, err = s.QualityRuns(t.Context(), QualityRunQuery{})
		}
		if err != nil {
			t.Fatal(err)
		}
		// A slot that was claimed cannot be claimed again: try, in a transaction that rolls back.
		s.Update(t.Context(), func(tx Tx) error {
			claimed, err := tx.ClaimSlot("quality:r", at(1, 9))
			snap.Claimed = err == nil && claimed
			return errPlanned
		})
		return snap
	}
	before := take(t, s)
	err := s.Update(t.Context(), func(tx Tx) error {
		if err := writeAll(tx); err != nil {
			return err
		}
		return errPlanned
	})
	if err != errPlanned {
		t.Errorf("Update returned %v, want the function's error as it is", err)
	}
	wantStored(t, s, again, "after a failed update", take, before)

	// A panic rolls back too, and goes on.
	func() {
		defer func() {
			if r := recover(); r != errPlanned {
				t.Errorf("recovered %v, want the function's panic", r)
			}
		}()
		s.Update(t.Context(), func(tx Tx) error {
			if err := writeAll(tx); err != nil {
				return err
			}
			panic(errPlanned)
		})
		t.Errorf("Update returned after a panic")
	}()
	wantStored(t, s, again, "after a panicking update", take, before)

	// The store works on after both.
	mustUpdate(t, s, writeAll)
	if after := take(t, s); len(after.Versions) != 2 || len(after.Events) != 1 || len(after.Due) != 1 || !after.Feedback[0].Resolved ||
		len(after.Runs) != 1 || after.Claimed {
		t.Errorf("after a good update: %+v", after)
	}
}

func conformViewIsReadOnly(t *testing.T, open storeOpener) {
	s, _ := open(t)
	cr := insertCR(t, s, fullCR())
	for name, write := range map[string]func(Tx) error{
		"insert version":   func(tx Tx) error { _, err := tx.InsertVersion(metric("gmv", Draft)); return err },
		"insert request":   func(tx Tx) error { _, err := tx.InsertChangeRequest(fullCR()); return err },
		"update request":   func(tx Tx) error { _, err := tx.UpdateChangeRequest(cr); return err },
		"append event":     func(tx Tx) error { _, err := tx.AppendEvent(Event{Tenant: "acme", Type: "x"}); return err },
		"resolve feedback": func(tx Tx) error { return tx.ResolveFeedback(1) },
		"insert quality run": func(tx Tx) error {
			_, err := tx.InsertQualityRun(QualityRun{Rule: "r", Kind: "uniqueness", Subject: "model:orders", Status: QualityPass})
			return err
		},
		"claim slot": func(tx Tx) error { _, err := tx.ClaimSlot("quality:r", at(1, 9)); return err },
	} {
		if err := s.View(t.Context(), write); err == nil {
			t.Errorf("%s in a View succeeds", name)
		}
	}
	if got := versionsOf(t, s, VersionQuery{}); len(got) != 0 {
		t.Errorf("a View wrote %+v", got)
	}
	if got := changeRequest(t, s, cr.ID); got.Revision != 1 {
		t.Errorf("a View updated the request: %+v", got)
	}
}

func conformConcurrentUpdates(t *testing.T, open storeOpener) {
	s, _ := open(t)
	const workers = 8
	cr := insertCR(t, s, fullCR())

	// Each reads the request, all of them before any writes, then updates what it read: one
	// wins, the others conflict.
	var readAll, wins, conflicts sync.WaitGroup
	var won, lost atomic.Int32
	readAll.Add(workers)
	for w := range workers {
		wins.Go(func() {
			got := changeRequest(t, s, cr.ID)
			readAll.Done()
			readAll.Wait()
			got.Title = fmt.Sprint("title of worker ", w)
			err := s.Update(t.Context(), func(tx Tx) error { _, err := tx.UpdateChangeRequest(got); return err })
			switch {
			case err == nil:
				won.Add(1)
			case errors.Is(err, ErrConflict):
				lost.Add(1)
			default:
				t.Errorf("worker %d: %v", w, err)
			}
		})
	}
	wins.Wait()
	if won.Load() != 1 || lost.Load() != workers-1 {
		t.Errorf("%d updates of one revision won and %d conflicted, want 1 and %d", won.Load(), lost.Load(), workers-1)
	}
	if got := changeRequest(t, s, cr.ID); got.Revision != 2 {
		t.Errorf("after one winner: revision %d", got.Revision)
	}

	// Each reads and updates in one transaction, adding itself as a subscriber: none is lost.
	// A transaction that keeps losing to the others may give up with ErrConflict, and then it
	// added nobody.
	var added atomic.Int32
	for w := range workers {
		conflicts.Go(func() {
			err := s.Update(t.Context(), func(tx Tx) error {
				got, err := tx.ChangeRequest(cr.ID)
				if err != nil {
					return err
				}
				got.Subscribers = append(got.Subscribers, fmt.Sprint("worker", w))
				_, err = tx.UpdateChangeRequest(got)
				return err
			})
			if err == nil {
				added.Add(1)
			} else if !errors.Is(err, ErrConflict) {
				t.Errorf("worker %d: %v", w, err)
			}
		})
	}
	conflicts.Wait()
	got := changeRequest(t, s, cr.ID)
	if n := int(added.Load()); got.Revision != 2+n || len(got.Subscribers) != 1+n || n == 0 {
		t.Errorf("%d read-and-update transactions succeeded, leaving revision %d and subscribers %v", n, got.Revision, got.Subscribers)
	}
	if n := added.Load(); n < workers {
		t.Logf("%d of %d read-and-update transactions gave up", workers-int(n), workers)
	}

	// Concurrent version inserts of one name number them without gaps or repeats.
	var inserts sync.WaitGroup
	for range workers {
		inserts.Go(func() {
			if err := s.Update(t.Context(), func(tx Tx) error { _, err := tx.InsertVersion(metric("gmv", Draft)); return err }); err != nil && !errors.Is(err, ErrConflict) {
				t.Error(err)
			}
		})
	}
	inserts.Wait()
	for i, v := range versionsOf(t, s, VersionQuery{Name: "gmv"}) {
		if v.Number != i+1 {
			t.Errorf("version %d of gmv is numbered %d", i+1, v.Number)
		}
	}
}

func conformTwoStores(t *testing.T, open storeOpener) {
	s, again := open(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	fired := make(chan time.Time, 100)
	if err := s.Watch(ctx, func() {
		select {
		case fired <- time.Now():
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	quiet := func(what string) {
		t.Helper()
		select {
		case <-fired:
			t.Errorf("Watch reported %s", what)
		case <-time.After(800 * time.Millisecond):
		}
	}
	v := insertVersions(t, s, metric("gmv", Published))[0]
	quiet("the store's own change")
	if again == nil {
		return
	}
	other := again(t)
	defer other.Close()
	// The other store sees this one's writes, and this one the other's.
	if got := versionsOf(t, other, VersionQuery{}); len(got) != 1 || got[0].ID != v.ID {
		t.Errorf("the other store reads %+v", got)
	}
	if err := other.AppendEvents(t.Context(), []Event{{Tenant: "acme", Type: "query"}}); err != nil {
		t.Fatal(err)
	}
	quiet("a change that is not to a version")
	if got, err := s.Events(t.Context(), EventQuery{Tenant: "acme"}); err != nil || len(got) != 1 {
		t.Errorf("the other store's event: %+v, %v", got, err)
	}
	mustUpdate(t, other, func(tx Tx) error {
		return tx.SetVersionStatus(v.ID, Deprecated, v.PublishedAt, nil, &Deprecation{Replacement: "gmv2"})
	})
	changedAt := time.Now()
	select {
	case firedAt := <-fired:
		if d := firedAt.Sub(changedAt); d > time.Second {
			t.Errorf("Watch reported the other store's change after %v, want within a second", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Watch did not report a status change made by another store on the same storage")
	}
	if got := versionsOf(t, s, VersionQuery{}); len(got) != 1 || got[0].Status != Deprecated {
		t.Errorf("after the other store's change: %+v", got)
	}
	// After the watch's context ends, no more calls.
	cancel()
	time.Sleep(50 * time.Millisecond)
	mustUpdate(t, other, func(tx Tx) error { _, err := tx.InsertVersion(metric("gmv", Draft)); return err })
	quiet("a change after its context ended")
}

func conformClosed(t *testing.T, open storeOpener) {
	s, _ := open(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checks := map[string]error{
		"update": s.Update(t.Context(), func(tx Tx) error { return nil }),
		"view":   s.View(t.Context(), func(tx Tx) error { return nil }),
		"watch":  s.Watch(t.Context(), func() {}),
	}
	_, checks["events"] = s.Events(t.Context(), EventQuery{Tenant: "acme"})
	_, checks["change requests"] = s.ChangeRequests(t.Context(), CRQuery{})
	for what, err := range checks {
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s after Close: %v, want ErrUnavailable", what, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("closing twice: %v", err)
	}
}
