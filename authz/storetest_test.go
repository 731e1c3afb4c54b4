package authz

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// storeOpener opens stores for the conformance suite. It returns a store on new, empty storage,
// removed when t ends, and again, which opens a further store on the same storage; again is nil
// for a store that keeps its state in itself (the memory store), which has nothing to reopen.
type storeOpener func(t *testing.T) (s Store, again func(t *testing.T) Store)

// runStoreConformance checks that a Store implementation keeps the Store contract. Every case
// starts from empty storage.
func runStoreConformance(t *testing.T, open storeOpener) {
	t.Run("LoadEmpty", func(t *testing.T) { conformLoadEmpty(t, open) })
	t.Run("RuleKinds", func(t *testing.T) { conformRuleKinds(t, open) })
	t.Run("RuleExistsAndNotFound", func(t *testing.T) { conformRuleErrors(t, open) })
	t.Run("APIKeys", func(t *testing.T) { conformAPIKeys(t, open) })
	t.Run("Audit", func(t *testing.T) { conformAudit(t, open) })
	t.Run("ConcurrentApply", func(t *testing.T) { conformConcurrentApply(t, open) })
	t.Run("Watch", func(t *testing.T) { conformWatch(t, open) })
	t.Run("InvalidChanges", func(t *testing.T) { conformInvalidChanges(t, open) })
}

// conformanceRules has a rule of every kind, with the quoting and defaults that round trips
// through storage must keep.
var conformanceRules = []Rule{
	{Kind: Grant, Subject: "analyst", Tenant: "acme", Object: "metric:gmv_*", Action: "query", Effect: Allow, Priority: DefaultPriority},
	{Kind: Grant, Subject: "east_sales", Tenant: "acme", Object: "tag:finance", Action: "*", Effect: Deny, Priority: 10},
	{Kind: RoleAssignment, Subject: "alice", Role: "analyst", Tenant: "acme"},
	{Kind: RowFilter, Subject: "east_sales", Tenant: "acme", Object: "orders",
		Value: `region IN ('east', 'north') AND channel <> "store", # not a comment`},
	{Kind: Mask, Subject: "support", Tenant: "acme", Object: "customers.name", Value: string(MaskPartial)},
	{Kind: AttributeDecl, Tenant: "acme", Object: "regions", Value: string(AttrStrings)},
	{Kind: Grant, Subject: "analyst", Tenant: "acme", Object: "metric:gmv_*", Action: "query", Effect: Allow},
}

func ruleChange(op ChangeOp, r Rule, actor string) Change {
	return Change{Op: op, Rule: r, Audit: AuditRecord{Actor: actor}}
}

func mustApply(t *testing.T, s Store, c Change) AuditRecord {
	t.Helper()
	rec, err := s.Apply(t.Context(), c)
	if err != nil {
		t.Fatalf("apply %s %s: %v", c.Op, c.Rule, err)
	}
	return rec
}

func mustLoad(t *testing.T, s Store) *State {
	t.Helper()
	st, err := s.Load(t.Context())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return st
}

// rulesOf returns the state's rules without the lines they were read from.
func rulesOf(st *State) []Rule {
	out := slices.Clone(st.Rules)
	for i := range out {
		out[i].Line = 0
	}
	return out
}

// allAudit reads every audit record of the tenant, a page of pageSize at a time.
func allAudit(t *testing.T, s Store, tenant string, pageSize int) []AuditRecord {
	t.Helper()
	var out []AuditRecord
	var after int64
	for {
		page, err := s.Audit(t.Context(), AuditQuery{Tenant: tenant, AfterSeq: after, Limit: pageSize})
		if err != nil {
			t.Fatalf("audit of %s after %d: %v", tenant, after, err)
		}
		if len(page) > pageSize {
			t.Fatalf("audit page of %d records, limit %d", len(page), pageSize)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].Seq
	}
}

// wantRules checks the store's rules, and those of a store opened again on its storage.
func wantRules(t *testing.T, s Store, again func(*testing.T) Store, want []Rule) {
	t.Helper()
	if got := rulesOf(mustLoad(t, s)); !slices.Equal(got, want) {
		t.Errorf("rules:\n%v\nwant:\n%v", got, want)
	}
	if again == nil {
		return
	}
	s2 := again(t)
	if got := rulesOf(mustLoad(t, s2)); !slices.Equal(got, want) {
		t.Errorf("rules read back from storage:\n%v\nwant:\n%v", got, want)
	}
	s2.Close()
}

func conformLoadEmpty(t *testing.T, open storeOpener) {
	s, _ := open(t)
	st := mustLoad(t, s)
	if len(st.Rules) != 0 || len(st.Keys) != 0 {
		t.Errorf("empty store holds %+v", st)
	}
	recs, err := s.Audit(t.Context(), AuditQuery{Tenant: "acme"})
	if err != nil || len(recs) != 0 {
		t.Errorf("audit of an empty store: %v, %v", recs, err)
	}
}

func conformRuleKinds(t *testing.T, open storeOpener) {
	s, again := open(t)
	var canon, want []Rule
	for _, r := range conformanceRules {
		rec := mustApply(t, s, ruleChange(AddRule, r, "root@acme"))
		c, err := canonicalRule(r)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Op != AddRule || rec.Tenant != "acme" || rec.Actor != "root@acme" || rec.Detail != c.String() || rec.Seq <= 0 {
			t.Errorf("audit record of adding %s: %+v", r, rec)
		}
		canon = append(canon, c)
	}
	if last := canon[len(canon)-1]; canon[0].Priority != DefaultPriority || last.Priority != 0 || canon[0].Key() == last.Key() {
		t.Errorf("grants of priority 100 and 0 are stored as %d and %d", canon[0].Priority, last.Priority)
	}
	want = slices.Clone(canon)
	wantRules(t, s, again, want)

	// Remove in another order than added, so that lines in the middle go.
	for _, i := range []int{3, 0, 6, 5, 1, 4, 2} {
		mustApply(t, s, ruleChange(RemoveRule, conformanceRules[i], "root@acme"))
		want = slices.DeleteFunc(want, func(r Rule) bool { return r.Key() == canon[i].Key() })
		wantRules(t, s, again, want)
	}
	if len(want) != 0 {
		t.Fatalf("left %v", want)
	}
}

func conformRuleErrors(t *testing.T, open storeOpener) {
	s, again := open(t)
	r := conformanceRules[3]
	mustApply(t, s, ruleChange(AddRule, r, "root@acme"))
	_, err := s.Apply(t.Context(), ruleChange(AddRule, r, "root@acme"))
	if !errors.Is(err, ErrRuleExists) {
		t.Errorf("adding a rule twice: %v, want ErrRuleExists", err)
	}
	// The same rule in another spelling is the same rule.
	same := r
	same.Object = "model:" + r.Object
	if _, err := s.Apply(t.Context(), ruleChange(AddRule, same, "root@acme")); !errors.Is(err, ErrRuleExists) {
		t.Errorf("adding %s after %s: %v, want ErrRuleExists", same, r, err)
	}
	other := r
	other.Tenant = "globex"
	if _, err := s.Apply(t.Context(), ruleChange(RemoveRule, other, "root@globex")); !errors.Is(err, ErrRuleNotFound) {
		t.Errorf("removing another tenant's rule: %v, want ErrRuleNotFound", err)
	}
	if _, err := s.Apply(t.Context(), ruleChange(RemoveRule, conformanceRules[0], "root@acme")); !errors.Is(err, ErrRuleNotFound) {
		t.Errorf("removing a rule never added: %v, want ErrRuleNotFound", err)
	}
	mustApply(t, s, ruleChange(RemoveRule, r, "root@acme"))
	if _, err := s.Apply(t.Context(), ruleChange(RemoveRule, r, "root@acme")); !errors.Is(err, ErrRuleNotFound) {
		t.Errorf("removing a rule twice: %v, want ErrRuleNotFound", err)
	}
	wantRules(t, s, again, nil)
	if recs := allAudit(t, s, "acme", 10); len(recs) != 2 {
		t.Errorf("failed changes were audited: %+v", recs)
	}
	if recs := allAudit(t, s, "globex", 10); len(recs) != 0 {
		t.Errorf("failed changes were audited: %+v", recs)
	}
}

func testKey(tenant, id string, roles ...string) APIKey {
	h := sha256.Sum256([]byte("secret of " + id))
	return APIKey{ID: id, Tenant: tenant, Name: "export for " + id, Roles: roles, Hash: h[:],
		CreatedAt: time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.FixedZone("CST", 8*3600)), CreatedBy: "root@" + tenant}
}

// sameKeys reports whether two lists hold the same keys, in any order.
func sameKeys(a, b []APIKey) bool {
	if len(a) != len(b) {
		return false
	}
	byID := func(x, y APIKey) int { return strings.Compare(x.ID, y.ID) }
	a, b = slices.SortedFunc(slices.Values(a), byID), slices.SortedFunc(slices.Values(b), byID)
	for i := range a {
		x, y := a[i], b[i]
		if x.ID != y.ID || x.Tenant != y.Tenant || x.Name != y.Name || !slices.Equal(x.Roles, y.Roles) ||
			!slices.Equal(x.Hash, y.Hash) || !x.CreatedAt.Equal(y.CreatedAt) || x.CreatedBy != y.CreatedBy ||
			!x.RevokedAt.Equal(y.RevokedAt) {
			return false
		}
	}
	return true
}

func conformAPIKeys(t *testing.T, open storeOpener) {
	s, again := open(t)
	k1, k2 := testKey("acme", "k1acme", "analyst", "viewer"), testKey("acme", "k2acme")
	k3 := testKey("globex", "k3globex", "admin")
	for _, k := range []APIKey{k1, k2, k3} {
		rec := mustApply(t, s, Change{Op: CreateAPIKey, Key: k, Audit: AuditRecord{Actor: k.CreatedBy}})
		if rec.Op != CreateAPIKey || rec.Tenant != k.Tenant || !strings.Contains(rec.Detail, k.ID) || !strings.Contains(rec.Detail, k.Name) {
			t.Errorf("audit record of creating %s: %+v", k.ID, rec)
		}
	}
	// Stores keep times to the microsecond.
	stored := func(k APIKey) APIKey {
		k.CreatedAt = k.CreatedAt.Truncate(time.Microsecond)
		k.RevokedAt = k.RevokedAt.Truncate(time.Microsecond)
		return k
	}
	want := []APIKey{stored(k1), stored(k2), stored(k3)}
	checkKeys := func(what string) {
		t.Helper()
		if got := mustLoad(t, s).Keys; !sameKeys(got, want) {
			t.Errorf("%s: keys\n%+v\nwant\n%+v", what, got, want)
		}
		if again != nil {
			s2 := again(t)
			if got := mustLoad(t, s2).Keys; !sameKeys(got, want) {
				t.Errorf("%s: keys read back from storage\n%+v\nwant\n%+v", what, got, want)
			}
			s2.Close()
		}
	}
	checkKeys("after creating")

	dup := testKey("globex", k1.ID)
	if _, err := s.Apply(t.Context(), Change{Op: CreateAPIKey, Key: dup, Audit: AuditRecord{Actor: "root@globex"}}); !errors.Is(err, ErrKeyExists) {
		t.Errorf("creating a key whose ID is taken: %v, want ErrKeyExists", err)
	}
	revoke := func(tenant, id string, at time.Time) (AuditRecord, error) {
		return s.Apply(t.Context(), Change{Op: RevokeAPIKey, Key: APIKey{Tenant: tenant, ID: id, RevokedAt: at},
			Audit: AuditRecord{Actor: "root@" + tenant}})
	}
	at := time.Date(2026, 4, 1, 12, 0, 0, 999999999, time.UTC)
	if _, err := revoke("globex", k1.ID, at); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("revoking another tenant's key: %v, want ErrKeyNotFound", err)
	}
	if _, err := revoke("acme", "nosuchkey", at); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("revoking an unknown key: %v, want ErrKeyNotFound", err)
	}
	rec, err := revoke("acme", k1.ID, at)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Op != RevokeAPIKey || rec.Tenant != "acme" || !strings.Contains(rec.Detail, k1.ID) || !strings.Contains(rec.Detail, k1.Name) {
		t.Errorf("audit record of revoking %s: %+v", k1.ID, rec)
	}
	want[0].RevokedAt = at.Truncate(time.Microsecond)
	checkKeys("after revoking")
	if _, err := revoke("acme", k1.ID, at.Add(time.Hour)); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("revoking a key twice: %v, want ErrKeyNotFound", err)
	}
	checkKeys("after revoking twice")
}

func conformAudit(t *testing.T, open storeOpener) {
	s, _ := open(t)
	at := time.Date(2026, 5, 1, 8, 0, 0, 1500, time.UTC)
	acme := func(r Rule) Rule { r.Tenant = "acme"; return r }
	globex := func(r Rule) Rule { r.Tenant = "globex"; return r }
	changes := []Change{
		{Op: AddRule, Rule: acme(conformanceRules[0]), Audit: AuditRecord{Actor: "alice@acme", At: at}},
		{Op: AddRule, Rule: globex(conformanceRules[0]), Audit: AuditRecord{Actor: "bob@globex"}},
		{Op: AddRule, Rule: acme(conformanceRules[2]), Audit: AuditRecord{Actor: "alice@acme", Tenant: "acme", Op: AddRule}},
		{Op: CreateAPIKey, Key: testKey("globex", "kglobex"), Audit: AuditRecord{Actor: "bob@globex"}},
		{Op: RemoveRule, Rule: acme(conformanceRules[0]), Audit: AuditRecord{Actor: "carol@acme", Detail: "removed by the nightly job"}},
		{Op: AddRule, Rule: acme(conformanceRules[3]), Audit: AuditRecord{Actor: "alice@acme"}},
	}
	before := time.Now().Add(-time.Second)
	var byTenant = map[string][]AuditRecord{}
	for _, c := range changes {
		rec := mustApply(t, s, c)
		byTenant[rec.Tenant] = append(byTenant[rec.Tenant], rec)
	}
	for tenant, want := range byTenant {
		got := allAudit(t, s, tenant, 100)
		if !slices.EqualFunc(got, want, sameRecord) {
			t.Errorf("audit of %s:\n%+v\nwant as applied:\n%+v", tenant, got, want)
		}
		for i, r := range got {
			if r.Tenant != tenant {
				t.Errorf("audit of %s returns a record of %s: %+v", tenant, r.Tenant, r)
			}
			if i > 0 && r.Seq <= got[i-1].Seq {
				t.Errorf("audit of %s: seq %d after %d", tenant, r.Seq, got[i-1].Seq)
			}
		}
		// Paging one and two records at a time gives the same records.
		for _, size := range []int{1, 2} {
			if paged := allAudit(t, s, tenant, size); !slices.EqualFunc(paged, got, func(a, b AuditRecord) bool { return a.Seq == b.Seq }) {
				t.Errorf("audit of %s in pages of %d: %+v", tenant, size, paged)
			}
		}
	}
	acmeRecs := allAudit(t, s, "acme", 100)
	if len(acmeRecs) != 4 {
		t.Fatalf("acme has %d records, want 4", len(acmeRecs))
	}
	if r := acmeRecs[0]; !r.At.Equal(at.Truncate(time.Microsecond)) || r.Actor != "alice@acme" || r.Op != AddRule ||
		r.Detail != "p, analyst, acme, metric:gmv_*, query, allow" {
		t.Errorf("first acme record: %+v", r)
	}
	if r := acmeRecs[1]; r.At.Before(before) || r.At.After(time.Now()) {
		t.Errorf("a record without a time is stamped %v, not now", r.At)
	}
	if r := acmeRecs[2]; r.Op != RemoveRule || r.Actor != "carol@acme" || r.Detail != "removed by the nightly job" {
		t.Errorf("the caller's detail is not kept: %+v", r)
	}
	if recs, err := s.Audit(t.Context(), AuditQuery{Tenant: "acme", AfterSeq: acmeRecs[1].Seq, Limit: 1}); err != nil ||
		len(recs) != 1 || recs[0].Seq != acmeRecs[2].Seq {
		t.Errorf("audit after seq %d, limit 1: %+v, %v", acmeRecs[1].Seq, recs, err)
	}
	if recs, err := s.Audit(t.Context(), AuditQuery{Tenant: "initech"}); err != nil || len(recs) != 0 {
		t.Errorf("audit of a tenant without changes: %+v, %v", recs, err)
	}
	if _, err := s.Audit(t.Context(), AuditQuery{}); err == nil {
		t.Errorf("an audit query of no tenant succeeds")
	}
}

// sameRecord reports whether two audit records are the same, their times in any zone.
func sameRecord(a, b AuditRecord) bool {
	at := a.At.Equal(b.At)
	a.At, b.At = time.Time{}, time.Time{}
	return at && a == b
}

func conformConcurrentApply(t *testing.T, open storeOpener) {
	s, _ := open(t)
	const workers, perWorker, removed = 8, 10, 3
	rule := func(w, i int) Rule {
		return Rule{Kind: Grant, Subject: fmt.Sprintf("user%d_%d", w, i), Tenant: "acme", Object: "metric:gmv", Action: "query", Effect: Allow, Priority: DefaultPriority}
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				if _, err := s.Apply(t.Context(), ruleChange(AddRule, rule(w, i), "root@acme")); err != nil {
					errs <- err
					return
				}
			}
			for i := range removed {
				if _, err := s.Apply(t.Context(), ruleChange(RemoveRule, rule(w, i), "root@acme")); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var want []string
	for w := range workers {
		for i := removed; i < perWorker; i++ {
			want = append(want, rule(w, i).Key())
		}
	}
	var got []string
	for _, r := range mustLoad(t, s).Rules {
		got = append(got, r.Key())
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("after concurrent changes the store holds %d rules, want %d", len(got), len(want))
	}
	recs := allAudit(t, s, "acme", 1000)
	if len(recs) != workers*(perWorker+removed) {
		t.Errorf("%d audit records, want %d", len(recs), workers*(perWorker+removed))
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].Seq <= recs[i-1].Seq {
			t.Errorf("audit seq %d after %d", recs[i].Seq, recs[i-1].Seq)
		}
	}
}

func conformWatch(t *testing.T, open storeOpener) {
	s, again := open(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	fired := make(chan struct{}, 100)
	if err := s.Watch(ctx, func() {
		select {
		case fired <- struct{}{}:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, ruleChange(AddRule, conformanceRules[0], "root@acme"))
	select {
	case <-fired:
		t.Errorf("Watch reported the store's own change")
	case <-time.After(300 * time.Millisecond):
	}
	if again == nil {
		return
	}
	other := again(t)
	defer other.Close()
	mustApply(t, other, ruleChange(AddRule, conformanceRules[1], "root@acme"))
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		t.Fatalf("Watch did not report a change made by another store on the same storage")
	}
	if got := rulesOf(mustLoad(t, s)); len(got) != 2 {
		t.Errorf("after the other store's change: %v", got)
	}
}

func conformInvalidChanges(t *testing.T, open storeOpener) {
	s, _ := open(t)
	bad := conformanceRules[0]
	bad.Effect = "maybe"
	multi := conformanceRules[3]
	multi.Value = "region = 'east'\x00"
	cases := map[string]Change{
		"invalid rule":       ruleChange(AddRule, bad, "root@acme"),
		"control character":  ruleChange(AddRule, multi, "root@acme"),
		"no actor":           ruleChange(AddRule, conformanceRules[0], ""),
		"other tenant":       {Op: AddRule, Rule: conformanceRules[0], Audit: AuditRecord{Actor: "root@acme", Tenant: "globex"}},
		"other op":           {Op: AddRule, Rule: conformanceRules[0], Audit: AuditRecord{Actor: "root@acme", Op: RemoveRule}},
		"unknown op":         {Op: "rename_rule", Rule: conformanceRules[0], Audit: AuditRecord{Actor: "root@acme"}},
		"key without a hash": {Op: CreateAPIKey, Key: APIKey{ID: "k1", Tenant: "acme"}, Audit: AuditRecord{Actor: "root@acme"}},
		"revoked new key":    {Op: CreateAPIKey, Key: APIKey{ID: "k1", Tenant: "acme", Hash: make([]byte, 32), RevokedAt: time.Now()}, Audit: AuditRecord{Actor: "root@acme"}},
		"role with a space":  {Op: CreateAPIKey, Key: testKey("acme", "k1", "data analyst"), Audit: AuditRecord{Actor: "root@acme"}},
	}
	for name, c := range cases {
		if _, err := s.Apply(t.Context(), c); !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("%s: %v, want ErrInvalidPolicy", name, err)
		}
	}
	if st := mustLoad(t, s); len(st.Rules) != 0 || len(st.Keys) != 0 {
		t.Errorf("invalid changes were stored: %+v", st)
	}
	if recs := allAudit(t, s, "acme", 100); len(recs) != 0 {
		t.Errorf("invalid changes were audited: %+v", recs)
	}
}
