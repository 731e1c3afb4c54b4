package semantic

import (
	"maps"
	"time"

	"github.com/koujing/koujing/semantic/store"
)

// Publishing with 10,000 metrics must not read every version again and load the catalog twice
// (once to check the request, once to serve it). The store counts the transactions that changed
// versions (store.VersionCounter); the served definitions keep the count they were read at. A
// transaction that sees the same count knows they are still the store's: the final approval
// then checks the request against them in memory, and, once committed, serves the catalog it
// checked. Transactions that write versions without changing what serves (proposals,
// amendments) move the count on, so that the next approval finds the definitions current. When
// anything else changed the store meanwhile — another process — the count differs, and the
// definitions are read from the store as before; a store that keeps no count (PostgreSQL) is
// always read.

// versionWrites is a transaction that notes whether it inserted or changed a version, which the
// store counts when it commits.
type versionWrites struct {
	store.Tx
	wrote bool
}

func (t *versionWrites) InsertVersion(v store.Version) (store.Version, error) {
	v, err := t.Tx.InsertVersion(v)
	t.wrote = t.wrote || err == nil
	return v, err
}

func (t *versionWrites) SetVersionStatus(id int64, s store.Status, publishedAt time.Time, a *store.Audience, d *store.Deprecation) error {
	err := t.Tx.SetVersionStatus(id, s, publishedAt, a, d)
	t.wrote = t.wrote || err == nil
	return err
}

// following is what a transaction knew of the served definitions when it ran.
type following struct {
	// state is the served definitions when the transaction began; fresh is set when they were
	// the store's as it saw it, whose count of version changes was count.
	state *servedDefinitions
	count int64
	fresh bool
	// wrote is set when the transaction inserted or changed a version.
	wrote bool
}

// follow wraps an Update's function so that f learns what it knew and wrote. f is reset on every
// run of fn, so that what it holds is the committed run's.
func (g *Governance) follow(f *following, fn func(store.Tx) error) func(store.Tx) error {
	return func(tx store.Tx) error {
		*f = following{state: g.state.Load()}
		if c, ok := tx.(store.VersionCounter); ok && f.state != nil {
			n, counted, err := c.VersionChanges()
			if err != nil {
				return err
			}
			f.count, f.fresh = n, counted && f.state.changes.Load() == n
		}
		w := &versionWrites{Tx: tx}
		err := fn(w)
		f.wrote = w.wrote
		return err
	}
}

// advance moves the served definitions' count on past a committed transaction that followed
// them and wrote versions without changing what serves.
func (f *following) advance() {
	if f.fresh && f.wrote {
		f.state.changes.CompareAndSwap(f.count, f.count+1)
	}
}

// plannedCatalog is a catalog loaded with a request's definitions applied, and the definitions.
type plannedCatalog struct {
	cat  *Catalog
	defs map[string]Definition
}

// publication is what a final approval made serve.
type publication struct {
	following
	// checked is the catalog the request was checked with: what serves once it is published.
	checked *plannedCatalog
	// changed holds the request's versions as they serve now; gray is set when a gray release
	// was published or replaced, which the served catalog does not hold.
	changed []store.Version
	gray    bool
}

// served notes a version of the request as publish made it.
func (p *publication) served(v store.Version, s store.Status, at time.Time, a *store.Audience) {
	v.Status, v.PublishedAt, v.Audience = s, at.Truncate(time.Microsecond), a
	p.changed = append(p.changed, v)
	p.gray = p.gray || s == store.Gray
}

// install serves the catalog a committed publication checked, when the definitions it was
// checked against are still those served and were the store's: no other transaction changed a
// version since. It reports false, changing nothing, otherwise; the caller then reloads.
func (g *Governance) install(p *publication) bool {
	g.reload.Lock()
	defer g.reload.Unlock()
	s := g.state.Load()
	if !p.fresh || p.gray || p.checked == nil || s != p.state || s.changes.Load() != p.count {
		return false
	}
	gc := &governedCatalog{defs: p.checked.defs, versions: maps.Clone(s.base.governed.versions), retired: maps.Clone(s.base.governed.retired)}
	for _, v := range p.changed {
		key := string(v.Kind) + ":" + v.Name
		if v.Status == store.Retired {
			delete(gc.versions, key)
			gc.retired[v.Name] = v
			continue
		}
		gc.versions[key] = v
	}
	annotate(p.checked.cat, gc)
	next := &servedDefinitions{base: p.checked.cat, gray: s.gray, variants: map[string]*Catalog{}}
	next.changes.Store(p.count + 1)
	g.state.Store(next)
	return true
}
