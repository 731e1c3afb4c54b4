package semantic_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/demo"
	"github.com/koujing/koujing/semantic/store"
)

// readCountingStore counts the transactions that read every serving version.
type readCountingStore struct {
	store.Store
	fullReads atomic.Int64
}

func (s *readCountingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(&readCountingTx{tx.(countedTx), s}) })
}

func (s *readCountingStore) View(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.View(ctx, func(tx store.Tx) error { return fn(&readCountingTx{tx.(countedTx), s}) })
}

type countedTx interface {
	store.Tx
	store.VersionCounter
}

type readCountingTx struct {
	countedTx
	s *readCountingStore
}

func (t *readCountingTx) Versions(q store.VersionQuery) ([]store.Version, error) {
	if q.Kind == "" && q.Name == "" && q.ChangeRequest == 0 && slices.Contains(q.Statuses, store.Published) {
		t.s.fullReads.Add(1)
	}
	return t.countedTx.Versions(q)
}

// sameServing checks that two catalogs serve the same definitions at the same versions.
func sameServing(t *testing.T, got, want *semantic.Catalog) {
	t.Helper()
	gd, wd := got.Definitions(), want.Definitions()
	if len(gd) != len(wd) {
		t.Fatalf("%d definitions, want %d", len(gd), len(wd))
	}
	for i := range wd {
		gv, _ := got.VersionOf(wd[i].Kind, wd[i].Name)
		wv, _ := want.VersionOf(wd[i].Kind, wd[i].Name)
		if gd[i] != wd[i] || gv.ID != wv.ID || gv.Status != wv.Status || !gv.PublishedAt.Equal(wv.PublishedAt) {
			t.Errorf("%s: version %+v, want %+v", wd[i].Key(), gv, wv)
		}
	}
	for _, m := range want.Metrics() {
		g := got.Metric(m.Name)
		if g == nil || g.Version != m.Version || (g.Deprecation == nil) != (m.Deprecation == nil) {
			t.Errorf("metric %s: %+v, want version %d deprecated %v", m.Name, g, m.Version, m.Deprecation != nil)
		}
	}
}

// TestPublishServesWhatItChecked publishes, deprecates and retires on a store nothing else
// changes: each final approval serves the catalog it checked, without reading every version
// again, and what it serves is what a reload from the store serves. Then another process (a
// second store on the file) publishes, and the next approval here reads the store and serves
// both changes.
func TestPublishServesWhatItChecked(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "koujing.db")
	st, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	counting := &readCountingStore{Store: st}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	src := engine.NewSources(memory.NewGoAllocator())
	defer src.Close()
	defs, err := semantic.SplitDefinitions(demo.FS)
	if err != nil {
		t.Fatal(err)
	}
	open := func(s store.Store, seed []semantic.Definition) (*semantic.Governance, *semantic.Service) {
		gov, err := semantic.OpenGovernance(ctx, s, seed, semantic.GovernanceOptions{Resolver: semantic.SourcesResolver(src), Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(gov.Close)
		a, err := demo.NewAuthorizerFor(ctx, gov.Catalog, quiet)
		if err != nil {
			t.Fatal(err)
		}
		return gov, semantic.NewService(gov.Catalog(), engine.New(src, engine.Options{}), semantic.ServiceOptions{Authorizer: a, Governance: gov})
	}
	gov, svc := open(counting, defs)
	as := func(svc *semantic.Service, sub, role string) *semantic.Access {
		acc, err := svc.Access(&authz.Principal{Subject: sub, Tenant: "demo", Roles: []string{role}})
		if err != nil {
			t.Fatal(err)
		}
		return acc
	}
	approve := func(gov *semantic.Governance, svc *semantic.Service, reviewer, role string, items ...semantic.ProposedItem) {
		t.Helper()
		cr, err := gov.Propose(ctx, as(svc, "ann", "analyst"), semantic.Proposal{Title: "change", Items: items})
		if err != nil {
			t.Fatal(err)
		}
		if cr, err = gov.Review(ctx, as(svc, reviewer, role), cr.ID, cr.Revision, store.Approve, ""); err != nil || cr.Status != store.CRPublished {
			t.Fatalf("%+v %v", cr, err)
		}
	}
	reloaded := func() *semantic.Catalog {
		t.Helper()
		other, err := store.OpenSQLite(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		g, _ := open(other, nil)
		return g.Catalog()
	}

	aov, _ := gov.Catalog().VersionOf(store.KindMetric, "aov")
	counting.fullReads.Store(0)
	approve(gov, svc, "sam", "sales_steward", semantic.ProposedItem{Action: store.Update, Kind: store.KindMetric, Name: "aov",
		YAML: strings.Replace(aov.Definition, "label: Average order value", "label: AOV", 1)})
	approve(gov, svc, "fay", "finance_steward", semantic.ProposedItem{Action: store.Deprecate, Kind: store.KindMetric, Name: "coupon_spend_placed",
		Deprecation: &store.Deprecation{Replacement: "coupon_spend", Sunset: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)}})
	approve(gov, svc, "fay", "finance_steward", semantic.ProposedItem{Action: store.Retire, Kind: store.KindMetric, Name: "coupon_rate",
		Deprecation: &store.Deprecation{Replacement: "net_take_rate"}})
	if n := counting.fullReads.Load(); n != 3 {
		// The proposals read what serves; the approvals read nothing more.
		t.Errorf("%d transactions read every serving version, want the 3 proposals'", n)
	}
	if m := gov.Catalog().Metric("aov"); m.Label != "AOV" || m.Version != 2 {
		t.Errorf("aov serves as %q version %d", m.Label, m.Version)
	}
	sameServing(t, gov.Catalog(), reloaded())
	if _, err := svc.Query(ctx, as(svc, "ann", "analyst"), semantic.MetricQuery{Metrics: []string{"coupon_rate"}}); err == nil || !strings.Contains(err.Error(), "retired") {
		t.Errorf("a retired metric answered: %v", err)
	}

	// Another process publishes; this one's next approval sees the count moved and reads.
	other, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	gov2, svc2 := open(other, nil)
	net, _ := gov2.Catalog().VersionOf(store.KindMetric, "gmv_net")
	approve(gov2, svc2, "fay", "finance_steward", semantic.ProposedItem{Action: store.Update, Kind: store.KindMetric, Name: "gmv_net",
		YAML: strings.Replace(net.Definition, "label: Net GMV", "label: Net GMV (paid)", 1)})
	counting.fullReads.Store(0)
	aov, _ = gov.Catalog().VersionOf(store.KindMetric, "aov")
	approve(gov, svc, "sam", "sales_steward", semantic.ProposedItem{Action: store.Update, Kind: store.KindMetric, Name: "aov",
		YAML: strings.Replace(aov.Definition, "label: AOV", "label: Average order value", 1)})
	if n := counting.fullReads.Load(); n < 3 {
		t.Errorf("%d transactions read every serving version after another process published, want the proposal's, the approval's and the reload's", n)
	}
	if m := gov.Catalog().Metric("gmv_net"); m.Label != "Net GMV (paid)" || m.Version != 2 {
		t.Errorf("the other process's publication is not served: %q version %d", m.Label, m.Version)
	}
	sameServing(t, gov.Catalog(), reloaded())
}
