package semantic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/semantic/store"
)

// SeedActor is who the audit log says imported the definitions a new metadata store starts with.
const SeedActor = "koujing@seed"

// maxVariants bounds the catalogs kept for gray releases and pinned versions; past it the cache
// starts afresh.
const maxVariants = 64

// GovernanceOptions configure a Governance. The zero value of each field picks its default.
type GovernanceOptions struct {
	// Resolver finds the schemas of the tables definitions read, as for LoadDir.
	Resolver SchemaResolver
	// FileBase is the directory relative file sources are read from, as LoadDir's dir.
	FileBase string
	// Webhooks are URLs told of every workflow event, besides each domain's own.
	Webhooks []string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives reloads and their failures; default slog.Default().
	Logger *slog.Logger
}

// Governance keeps the definitions in the metadata store and serves them as catalogs: the one
// everyone's queries use, built from the published versions; variants with a gray release for
// its audience, or with versions a query pins; and the workflow that changes them — proposals,
// reviews, publication, deprecation — every step audited and checked against the access policy.
// It is safe for concurrent use.
type Governance struct {
	store store.Store
	opts  GovernanceOptions
	log   *slog.Logger
	state atomic.Pointer[servedDefinitions]
	// reload serialises rebuilding the served definitions.
	reload sync.Mutex
	audit  *auditWriter
	// policyCheck holds the func(*Catalog) error that checks the access policy against
	// definitions (see SetPolicyCheck).
	policyCheck atomic.Value
	// naming holds the naming conventions every proposal is linted against (see SetNamingRules).
	naming atomic.Pointer[NamingRules]
	// parsed keeps the definitions parsed by the loads before, for the next.
	parsed *parsedDefinitions
	// latestRuns caches the latest run of each quality rule, which results are flagged by.
	latestRuns latestRunCache
}

// servedDefinitions is the definitions that serve queries, as read from the store at one time.
type servedDefinitions struct {
	base *Catalog
	// gray holds the versions published to an audience first.
	gray []store.Version

	mu       sync.Mutex
	variants map[string]*Catalog

	// changes is the store's count of transactions that changed versions when these were read
	// (see served.go), or -1 when the store keeps no count.
	changes atomic.Int64
}

// governedCatalog is what a catalog built from the store knows besides its definitions.
type governedCatalog struct {
	// defs are the definitions it was built from, by key, with the versions they are.
	defs     map[string]Definition
	versions map[string]store.Version
	// retired holds the metrics retired, by name: their last version.
	retired map[string]store.Version
}

// OpenGovernance serves the definitions of a metadata store. A store that has never held a
// definition is first given seed (the definitions read from files), each as version 1, published
// and audited as imported — once, even when several replicas start on it together. The seed must
// load as a catalog. Run Watch to learn of other replicas' changes.
func OpenGovernance(ctx context.Context, st store.Store, seed []Definition, opts GovernanceOptions) (*Governance, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Resolver == nil {
		return nil, errors.New("governance: no schema resolver")
	}
	g := &Governance{store: st, opts: opts, log: opts.Logger.With("component", "governance"), parsed: newParsedDefinitions()}
	g.audit = newAuditWriter(st, g.log)
	if len(seed) > 0 {
		if _, err := LoadDefinitions(ctx, seed, opts.Resolver, opts.FileBase); err != nil {
			return nil, fmt.Errorf("the definitions to import: %w", err)
		}
		if err := g.seed(ctx, seed); err != nil {
			return nil, err
		}
	}
	if err := g.Reload(ctx); err != nil {
		return nil, err
	}
	return g, nil
}

// seed imports the definitions into a store that never held any.
func (g *Governance) seed(ctx context.Context, seed []Definition) error {
	now := g.opts.Now().UTC()
	imported := 0
	err := g.store.Update(ctx, func(tx store.Tx) error {
		existing, err := tx.Versions(store.VersionQuery{})
		if err != nil || len(existing) > 0 {
			imported = 0
			return err
		}
		for _, d := range seed {
			hash, err := d.Hash()
			if err != nil {
				return err
			}
			if _, err := tx.InsertVersion(store.Version{Kind: d.Kind, Name: d.Name, Status: store.Published, Definition: d.YAML,
				Hash: hash, Author: SeedActor, Note: "imported from files", CreatedAt: now, PublishedAt: now}); err != nil {
				return err
			}
		}
		imported = len(seed)
		_, err = tx.AppendEvent(store.Event{At: now, Actor: SeedActor, Type: "definition.imported",
			Detail: jsonObject("definitions", len(seed))})
		return err
	})
	if err != nil {
		return fmt.Errorf("import the definitions into the metadata store: %w", err)
	}
	if imported > 0 {
		g.log.Info("the metadata store was new: imported the definitions", "definitions", imported)
	}
	return nil
}

// Close flushes the audit of queries and stops writing it. It does not close the store.
func (g *Governance) Close() { g.audit.close() }

// Store returns the metadata store.
func (g *Governance) Store() store.Store { return g.store }

// Catalog returns the catalog everyone's queries use: the published definitions.
func (g *Governance) Catalog() *Catalog { return g.state.Load().base }

// Reload reads the serving versions from the store and makes them the served definitions. A
// store whose published definitions do not load keeps the previous ones served, and the error is
// returned.
func (g *Governance) Reload(ctx context.Context) error {
	g.reload.Lock()
	defer g.reload.Unlock()
	var versions []store.Version
	changes := int64(-1)
	err := g.store.View(ctx, func(tx store.Tx) error {
		var err error
		versions, err = tx.Versions(store.VersionQuery{Statuses: []store.Status{store.Published, store.Deprecated, store.Gray, store.Retired}})
		if c, ok := tx.(store.VersionCounter); ok && err == nil {
			// Read in the same snapshot as the versions.
			if n, counted, cerr := c.VersionChanges(); counted && cerr == nil {
				changes = n
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("read the published definitions: %w", err)
	}
	var everyone, gray []store.Version
	for _, v := range versions {
		if v.Status == store.Gray {
			gray = append(gray, v)
		} else {
			everyone = append(everyone, v)
		}
	}
	base, err := g.build(ctx, everyone)
	if err != nil {
		return fmt.Errorf("the published definitions: %w", err)
	}
	next := &servedDefinitions{base: base, gray: gray, variants: map[string]*Catalog{}}
	next.changes.Store(changes)
	g.state.Store(next)
	return nil
}

// build loads a catalog from versions (Published, Deprecated or Retired; Retired ones are kept
// aside, not loaded) and records on it which version each definition is.
func (g *Governance) build(ctx context.Context, versions []store.Version) (*Catalog, error) {
	gc := &governedCatalog{defs: map[string]Definition{}, versions: map[string]store.Version{}, retired: map[string]store.Version{}}
	var defs []Definition
	for _, v := range versions {
		d := Definition{Kind: v.Kind, Name: v.Name, YAML: v.Definition}
		if v.Status == store.Retired {
			gc.retired[v.Name] = v
			continue
		}
		defs = append(defs, d)
		gc.defs[d.Key()] = d
		gc.versions[d.Key()] = v
	}
	cat, err := g.load(ctx, defs)
	if err != nil {
		return nil, err
	}
	annotate(cat, gc)
	return cat, nil
}

// load loads definitions as LoadDefinitions does, parsing only those no recent load parsed.
func (g *Governance) load(ctx context.Context, defs []Definition) (*Catalog, error) {
	return loadDefinitions(ctx, defs, g.opts.Resolver, g.opts.FileBase, g.parsed)
}

// annotate records on a catalog's objects the versions they are.
func annotate(cat *Catalog, gc *governedCatalog) {
	cat.governed = gc
	for _, m := range cat.metrics {
		v := gc.versions[string(store.KindMetric)+":"+m.Name]
		m.Version = v.Number
		if v.Status == store.Deprecated {
			m.Deprecation = v.Deprecation
		}
	}
	for _, m := range cat.models {
		m.Version = gc.versions[string(store.KindModel)+":"+m.Name].Number
	}
	for _, d := range cat.domains {
		d.Version = gc.versions[string(store.KindDomain)+":"+d.Name].Number
	}
}

// CatalogFor returns the catalog a principal's queries use: the published one, with the gray
// releases whose audience it is in. subjects are the principal's effective roles (the authorizer
// works them out).
func (g *Governance) CatalogFor(ctx context.Context, who *authz.Principal, subjects []string) (*Catalog, error) {
	s := g.state.Load()
	var ids []string
	var mine []store.Version
	for _, v := range s.gray {
		if inAudience(v.Audience, who, subjects) {
			mine = append(mine, v)
			ids = append(ids, strconv.FormatInt(v.ID, 10))
		}
	}
	if len(mine) == 0 {
		return s.base, nil
	}
	return g.variant(ctx, s, s.base, "gray:"+strings.Join(ids, ","), mine)
}

func inAudience(a *store.Audience, who *authz.Principal, subjects []string) bool {
	if a == nil {
		return false
	}
	if slices.Contains(a.Tenants, who.Tenant) {
		return true
	}
	for _, r := range a.Roles {
		if slices.Contains(who.Roles, r) || slices.Contains(subjects, r) {
			return true
		}
	}
	return false
}

// variant returns cat with some definitions replaced by other versions, cached under key.
func (g *Governance) variant(ctx context.Context, s *servedDefinitions, cat *Catalog, key string, replace []store.Version) (*Catalog, error) {
	s.mu.Lock()
	c, ok := s.variants[key]
	s.mu.Unlock()
	if ok {
		return c, nil
	}
	gc := &governedCatalog{defs: map[string]Definition{}, versions: map[string]store.Version{}, retired: cat.governed.retired}
	for k, d := range cat.governed.defs {
		gc.defs[k], gc.versions[k] = d, cat.governed.versions[k]
	}
	for _, v := range replace {
		d := Definition{Kind: v.Kind, Name: v.Name, YAML: v.Definition}
		gc.defs[d.Key()], gc.versions[d.Key()] = d, v
	}
	defs := make([]Definition, 0, len(gc.defs))
	for _, d := range gc.defs {
		defs = append(defs, d)
	}
	sortDefinitions(defs)
	c, err := g.load(ctx, defs)
	if err != nil {
		return nil, err
	}
	annotate(c, gc)
	s.mu.Lock()
	if len(s.variants) >= maxVariants {
		clear(s.variants)
	}
	s.variants[key] = c
	s.mu.Unlock()
	return c, nil
}

// Pinned returns cat with the metrics of pins (name → version number) at those versions: any
// version ever made, published or not, so that a reviewer can query a proposal before approving
// it. Other definitions stay as in cat, and metrics built on a pinned one use the pinned one.
func (g *Governance) Pinned(ctx context.Context, cat *Catalog, pins map[string]int) (*Catalog, error) {
	if cat.governed == nil {
		return nil, invalid("this server reads its definitions from files and keeps no versions; ask for metrics without @VERSION")
	}
	names := make([]string, 0, len(pins))
	for n := range pins {
		names = append(names, n)
	}
	sort.Strings(names)
	var replace []store.Version
	var key []string
	err := g.store.View(ctx, func(tx store.Tx) error {
		for _, name := range names {
			vs, err := tx.Versions(store.VersionQuery{Kind: store.KindMetric, Name: name})
			if err != nil {
				return err
			}
			i := slices.IndexFunc(vs, func(v store.Version) bool { return v.Number == pins[name] })
			if i < 0 {
				return invalid("metric %s has no version %d; it has versions 1 to %d", name, pins[name], len(vs))
			}
			replace = append(replace, vs[i])
			key = append(key, fmt.Sprintf("%s@%d", name, pins[name]))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c, err := g.variant(ctx, g.state.Load(), cat, fmt.Sprintf("%p:pin:%s", cat, strings.Join(key, ",")), replace)
	if err != nil {
		var problems Problems
		if errors.As(err, &problems) {
			return nil, invalid("the pinned versions no longer fit the current definitions: %v", problems)
		}
		return nil, err
	}
	return c, nil
}

// Watch reloads the served definitions whenever another process changes them, until ctx ends.
func (g *Governance) Watch(ctx context.Context) error {
	return g.store.Watch(ctx, func() {
		if err := g.Reload(ctx); err != nil && ctx.Err() == nil {
			g.log.Error("the definitions changed in the metadata store but could not be served; the previous ones stay", "err", err)
			return
		}
		g.log.Info("definitions reloaded")
	})
}

// retired returns the last version of a retired metric the catalog knows of.
func (c *Catalog) retiredMetric(name string) (store.Version, bool) {
	if c.governed == nil {
		return store.Version{}, false
	}
	v, ok := c.governed.retired[name]
	return v, ok
}

// Definitions returns the definitions the catalog was built from, sorted by kind and name, or
// nil for a catalog read from files.
func (c *Catalog) Definitions() []Definition {
	if c.governed == nil {
		return nil
	}
	out := make([]Definition, 0, len(c.governed.defs))
	for _, d := range c.governed.defs {
		out = append(out, d)
	}
	sortDefinitions(out)
	return out
}

// VersionOf returns the version the catalog holds of a definition, if the catalog is governed.
func (c *Catalog) VersionOf(kind store.Kind, name string) (store.Version, bool) {
	if c.governed == nil {
		return store.Version{}, false
	}
	v, ok := c.governed.versions[string(kind)+":"+name]
	return v, ok
}

// retiredObject is a retired metric as access policies name it, read from its definition.
func retiredObject(v store.Version) authz.Object {
	var def struct {
		Domain string   `yaml:"domain"`
		Tags   []string `yaml:"tags"`
	}
	_ = yaml.Unmarshal([]byte(v.Definition), &def)
	return authz.Object{Kind: authz.MetricObject, Name: v.Name, Domain: def.Domain, Tags: def.Tags}
}

// jsonObject writes key/value pairs as a JSON object, for event details.
func jsonObject(kv ...any) string {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[fmt.Sprint(kv[i])] = kv[i+1]
	}
	return jsonText(m)
}
