package semantic

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/koujing/koujing/semantic/store"
)

// Lineage is version-aware: a graph can be asked for over metrics pinned at versions (the
// lineage of gmv_paid@2 follows version 2's base and filters, and every metric built on it uses
// it, as a query pinning it does), or over the definitions as they were published at a time.

// maxHistory bounds the catalogs of past times kept; past it the cache starts afresh.
const maxHistory = 16

// historyCache keeps the catalogs built for past times, by the versions they hold: times between
// two publications share one.
type historyCache struct {
	mu       sync.Mutex
	catalogs map[string]*Catalog
}

// accessAsOf returns acc over the definitions asOf picks: acc itself when it picks none.
func (l *Lineage) accessAsOf(ctx context.Context, acc *Access, asOf LineageAsOf) (*Access, error) {
	if len(asOf.Versions) == 0 && asOf.At.IsZero() {
		return acc, nil
	}
	gov := l.svc.Governance()
	if gov == nil {
		return nil, invalid("this server reads its definitions from files and keeps no versions; ask for lineage without versions or a time")
	}
	// A metric the caller may not read is unknown, pinned or not, as everywhere: it is looked up
	// before its versions are, whose errors would tell it exists.
	for name := range asOf.Versions {
		if _, err := acc.FindMetric(name); err != nil {
			return nil, err
		}
	}
	cat := acc.cat
	var err error
	if !asOf.At.IsZero() {
		if cat, err = l.catalogAt(ctx, gov, asOf.At); err != nil {
			return nil, err
		}
	}
	if len(asOf.Versions) > 0 {
		if cat, err = gov.Pinned(ctx, cat, asOf.Versions); err != nil {
			return nil, err
		}
	}
	if acc.grants == nil {
		return cat.FullAccess(), nil
	}
	return cat.accessFor(acc.who, acc.grants, l.svc.memoFor(cat, acc.grants)), nil
}

// catalogAt returns the definitions as they served everyone at time t: of each definition, the
// version published last at or before t (a definition retired by then is left out). A gray
// release counts from when it was published to its audience.
func (l *Lineage) catalogAt(ctx context.Context, gov *Governance, t time.Time) (*Catalog, error) {
	var all []store.Version
	err := gov.store.View(ctx, func(tx store.Tx) error {
		var err error
		all, err = tx.Versions(store.VersionQuery{})
		return err
	})
	if err != nil {
		return nil, err
	}
	serving := map[string]store.Version{}
	for _, v := range all {
		if v.PublishedAt.IsZero() || v.PublishedAt.After(t) || v.Status == store.Gray {
			continue
		}
		key := string(v.Kind) + ":" + v.Name
		if prev, ok := serving[key]; !ok || v.PublishedAt.After(prev.PublishedAt) ||
			v.PublishedAt.Equal(prev.PublishedAt) && v.Number > prev.Number {
			serving[key] = v
		}
	}
	if len(serving) == 0 {
		return nil, invalid("nothing was published at %s; the first definitions were published later", t.UTC().Format(time.RFC3339))
	}
	versions := make([]store.Version, 0, len(serving))
	ids := make([]string, 0, len(serving))
	for _, v := range serving {
		versions = append(versions, v)
		ids = append(ids, strconv.FormatInt(v.ID, 10))
	}
	sort.Strings(ids)
	key := strings.Join(ids, ",")
	l.history.mu.Lock()
	cat, ok := l.history.catalogs[key]
	l.history.mu.Unlock()
	if ok {
		return cat, nil
	}
	sort.Slice(versions, func(i, j int) bool {
		if versions[i].Kind != versions[j].Kind {
			return versions[i].Kind < versions[j].Kind
		}
		return versions[i].Name < versions[j].Name
	})
	cat, err = gov.build(ctx, versions)
	if err != nil {
		return nil, err
	}
	l.history.mu.Lock()
	defer l.history.mu.Unlock()
	if l.history.catalogs == nil || len(l.history.catalogs) >= maxHistory {
		l.history.catalogs = map[string]*Catalog{}
	}
	l.history.catalogs[key] = cat
	return cat, nil
}
