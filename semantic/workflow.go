package semantic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/semantic/store"
)

// ProposedItem is one definition a change request proposes to create, change, deprecate or
// retire.
type ProposedItem struct {
	Action store.Action
	Kind   store.Kind
	Name   string
	// YAML is the new definition, for Create and Update: one mapping, as an item of the list of
	// its kind in a definitions file.
	YAML string
	// Deprecation says what replaces a deprecated or retired definition, and from when.
	Deprecation *store.Deprecation
}

// Proposal is a change request as its author proposes it.
type Proposal struct {
	Title     string
	Rationale string
	Items     []ProposedItem
	// Draft keeps the request as a draft, to be submitted for review later.
	Draft bool
	// Reviewers are named to review (besides the domains' reviewers); Subscribers are told of
	// its progress.
	Reviewers   []string
	Subscribers []string
	// Audience, when set, publishes the request gray to it first.
	Audience *store.Audience
}

// conflict returns an ErrConflict error: an action the request's state does not take.
func conflict(format string, args ...any) error {
	return &QueryError{Class: ErrConflict, Msg: fmt.Sprintf(format, args...)}
}

func forbidden(format string, args ...any) error {
	return &QueryError{Class: ErrForbidden, Msg: fmt.Sprintf(format, args...)}
}

// itemObject is what an item changes, as access policies name it, read from the definition it
// proposes (or the one it changes).
func itemObject(kind store.Kind, name, yamlText string) authz.Object {
	switch kind {
	case store.KindMetric:
		var def struct {
			Domain string   `yaml:"domain"`
			Tags   []string `yaml:"tags"`
		}
		_ = yaml.Unmarshal([]byte(yamlText), &def)
		return authz.Object{Kind: authz.MetricObject, Name: name, Domain: def.Domain, Tags: def.Tags}
	case store.KindModel:
		return authz.Object{Kind: authz.ModelObject, Name: name}
	case store.KindDomain:
		return authz.Object{Kind: authz.DomainObject, Name: name}
	}
	return authz.Object{Kind: authz.ConnectionObject, Name: name}
}

// may reports whether the caller may act on an object; full access may do anything.
func (a *Access) may(o authz.Object, act authz.Action) bool {
	return a.grants == nil || a.grants.Allowed(o, act)
}

// actor names the caller in records: subject@tenant.
func (a *Access) actor() string { return a.who.String() }

// Propose opens a change request. Every definition it proposes must be one the caller may
// propose, and all of them, applied to the published definitions, must load; the request then
// waits for its domains' reviewers (or stays a draft).
func (g *Governance) Propose(ctx context.Context, acc *Access, p Proposal) (store.ChangeRequest, error) {
	if strings.TrimSpace(p.Title) == "" {
		return store.ChangeRequest{}, invalid("a change request needs a title that says what it changes")
	}
	if len(p.Items) == 0 {
		return store.ChangeRequest{}, invalid("a change request proposes at least one definition")
	}
	now := g.opts.Now().UTC()
	cr := store.ChangeRequest{Title: p.Title, Rationale: p.Rationale, Author: acc.actor(), Tenant: acc.who.Tenant,
		Status: store.CROpen, Reviewers: p.Reviewers, Subscribers: p.Subscribers, Audience: p.Audience, CreatedAt: now, UpdatedAt: now}
	if p.Draft {
		cr.Status = store.CRDraft
	}
	var f following
	err := g.store.Update(ctx, g.follow(&f, func(tx store.Tx) error {
		plan, err := g.planItems(ctx, tx, acc, p.Items)
		if err != nil {
			return err
		}
		cr.ID, cr.Revision = 0, 0
		g.route(&cr, plan, now)
		if cr, err = tx.InsertChangeRequest(cr); err != nil {
			return err
		}
		if err := g.insertItems(tx, &cr, plan, now); err != nil {
			return err
		}
		if err := g.attachLintWarnings(tx, &cr, plan, now); err != nil {
			return err
		}
		if cr, err = tx.UpdateChangeRequest(cr); err != nil {
			return err
		}
		event := "change_request.proposed"
		if cr.Status == store.CRDraft {
			event = "change_request.drafted"
		}
		return g.announce(tx, acc, &cr, event, nil)
	}))
	if err == nil {
		f.advance()
	}
	return cr, err
}

// ProposeFiles opens a change request for every definition of the files that differs from the
// published one: new ones created, changed ones updated. Definitions the files do not hold are
// left as they are (deprecate or retire them explicitly). It fails when nothing differs.
func (g *Governance) ProposeFiles(ctx context.Context, acc *Access, fsys fs.FS, p Proposal) (store.ChangeRequest, error) {
	defs, err := SplitDefinitions(fsys)
	if err != nil {
		return store.ChangeRequest{}, &QueryError{Class: ErrInvalidDefinition, Msg: err.Error()}
	}
	base := g.Catalog()
	for _, d := range defs {
		v, ok := base.VersionOf(d.Kind, d.Name)
		if ok {
			same, err := sameDefinition(v.Definition, d.YAML)
			if err != nil {
				return store.ChangeRequest{}, &QueryError{Class: ErrInvalidDefinition, Msg: fmt.Sprintf("%s %s: %v", d.Kind, d.Name, err)}
			}
			if same {
				continue
			}
			p.Items = append(p.Items, ProposedItem{Action: store.Update, Kind: d.Kind, Name: d.Name, YAML: d.YAML})
			continue
		}
		p.Items = append(p.Items, ProposedItem{Action: store.Create, Kind: d.Kind, Name: d.Name, YAML: d.YAML})
	}
	if len(p.Items) == 0 {
		return store.ChangeRequest{}, invalid("the files hold the published definitions already; there is nothing to propose")
	}
	return g.Propose(ctx, acc, p)
}

func sameDefinition(a, b string) (bool, error) {
	ha, err := (Definition{YAML: a}).Hash()
	if err != nil {
		return false, err
	}
	hb, err := (Definition{YAML: b}).Hash()
	return ha == hb, err
}

// plannedItem is an item checked against what serves now: the version it will add.
type plannedItem struct {
	item    ProposedItem
	yaml    string
	base    int // the number of the version serving everyone now; 0 for none
	domains []string
	object  authz.Object
	// warnings are the naming rules of severity warning the item's definition breaks.
	warnings LintFindings
}

// planItems checks proposed items: well formed, each once, each one the caller may propose, and
// together, applied to what serves everyone, loadable.
func (g *Governance) planItems(ctx context.Context, tx store.Tx, acc *Access, items []ProposedItem) ([]plannedItem, error) {
	serving, err := tx.Versions(store.VersionQuery{Statuses: []store.Status{store.Published, store.Deprecated, store.Retired}})
	if err != nil {
		return nil, err
	}
	current := map[string]store.Version{}
	for _, v := range serving {
		current[string(v.Kind)+":"+v.Name] = v
	}
	seen := map[string]bool{}
	var plan []plannedItem
	for _, it := range items {
		key := string(it.Kind) + ":" + it.Name
		if seen[key] {
			return nil, invalid("%s %s is proposed twice; propose each definition once", it.Kind, it.Name)
		}
		seen[key] = true
		if kindOrder(it.Kind) == len(listKeys) {
			return nil, invalid("unknown kind %q; a change request changes domains, models, metrics and connections", it.Kind)
		}
		cur, exists := current[key]
		if exists && cur.Status == store.Retired {
			return nil, conflict("%s %s is retired; propose it under a new name", it.Kind, it.Name)
		}
		pi := plannedItem{item: it}
		if exists {
			pi.base = cur.Number
		}
		switch it.Action {
		case store.Create, store.Update:
			if it.Action == store.Create && exists {
				return nil, conflict("%s %s exists (version %d); propose an update instead", it.Kind, it.Name, cur.Number)
			}
			if it.Action == store.Update && !exists {
				return nil, invalid("there is no %s %s to update; propose to create it", it.Kind, it.Name)
			}
			text, err := checkItemYAML(it)
			if err != nil {
				return nil, err
			}
			pi.yaml = text
		case store.Deprecate, store.Retire:
			if !exists {
				return nil, invalid("there is no %s %s to %s", it.Kind, it.Name, it.Action)
			}
			if it.Kind != store.KindMetric {
				return nil, invalid("only metrics are deprecated or retired; %s %s is a %s", it.Kind, it.Name, it.Kind)
			}
			if it.Deprecation == nil || it.Deprecation.Replacement == "" && it.Deprecation.Note == "" {
				return nil, invalid("say what replaces metric %s, or why it goes, when you %s it", it.Name, it.Action)
			}
			pi.yaml = cur.Definition
		default:
			return nil, invalid("unknown action %q; use create, update, deprecate or retire", it.Action)
		}
		pi.object = itemObject(it.Kind, it.Name, pi.yaml)
		if !acc.may(pi.object, authz.Propose) {
			return nil, forbidden("%s may not propose changes to %s %s; the propose action on %s is needed", acc.who.Subject, it.Kind, it.Name, pi.object)
		}
		plan = append(plan, pi)
	}
	planned, err := g.loadPlanned(ctx, servingDefinitions(serving), plan)
	if err != nil {
		return nil, err
	}
	if err := g.lintPlan(planned.cat, plan); err != nil {
		return nil, err
	}
	for i := range plan {
		plan[i].domains = itemDomains(plan[i], serving)
	}
	return plan, nil
}

// checkItemYAML checks that an item's YAML is one mapping that names the item, and returns it
// as the store keeps it.
func checkItemYAML(it ProposedItem) (string, error) {
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(it.YAML), &node); err != nil {
		return "", &QueryError{Class: ErrInvalidDefinition, Msg: fmt.Sprintf("%s %s: invalid YAML: %v", it.Kind, it.Name, strings.TrimPrefix(err.Error(), "yaml: "))}
	}
	if len(node.Content) != 1 || resolve(node.Content[0]).Kind != yaml.MappingNode {
		return "", &QueryError{Class: ErrInvalidDefinition, Msg: fmt.Sprintf("%s %s: the definition is one mapping, as an item of the list of %ss in a definitions file", it.Kind, it.Name, it.Kind)}
	}
	if got := peek(node.Content[0], "name"); got != it.Name {
		return "", &QueryError{Class: ErrInvalidDefinition, Msg: fmt.Sprintf("%s %s: the definition is named %q; an item changes the definition of its own name", it.Kind, it.Name, got)}
	}
	d, err := itemDefinition(it.Kind, expandAliases(node.Content[0]))
	if err != nil {
		return "", &QueryError{Class: ErrInvalidDefinition, Msg: fmt.Sprintf("%s %s: %v", it.Kind, it.Name, err)}
	}
	return d.YAML, nil
}

// servingDefinitions returns the definitions of the versions that serve, by key; retired ones
// serve no more.
func servingDefinitions(serving []store.Version) map[string]Definition {
	defs := map[string]Definition{}
	for _, v := range serving {
		if v.Status != store.Retired {
			defs[string(v.Kind)+":"+v.Name] = Definition{Kind: v.Kind, Name: v.Name, YAML: v.Definition}
		}
	}
	return defs
}

// loadPlanned is checkLoads over the serving definitions by key, which it changes, returning
// what it loaded.
func (g *Governance) loadPlanned(ctx context.Context, defs map[string]Definition, plan []plannedItem) (*plannedCatalog, error) {
	for _, pi := range plan {
		key := string(pi.item.Kind) + ":" + pi.item.Name
		if pi.item.Action == store.Retire {
			delete(defs, key)
			continue
		}
		defs[key] = Definition{Kind: pi.item.Kind, Name: pi.item.Name, YAML: pi.yaml}
	}
	all := make([]Definition, 0, len(defs))
	for _, d := range defs {
		all = append(all, d)
	}
	// g.load reads them in the order of their files.
	cat, err := g.load(ctx, all)
	var problems Problems
	if errors.As(err, &problems) {
		return nil, &QueryError{Class: ErrInvalidDefinition, Msg: "the proposed definitions do not load with the published ones:\n" + problems.Error()}
	}
	if err != nil {
		return nil, err
	}
	if check, _ := g.policyCheck.Load().(func(*Catalog) error); check != nil {
		if err := check(cat); err != nil {
			return nil, &QueryError{Class: ErrInvalidDefinition, Msg: "the access policy would not fit the proposed definitions (change the policy first):\n" + err.Error()}
		}
	}
	return &plannedCatalog{cat: cat, defs: defs}, nil
}

// SetPolicyCheck makes every proposal and publication also check that the access policy fits
// the definitions it would make (a row filter on a column a change removes is refused).
func (g *Governance) SetPolicyCheck(check func(*Catalog) error) { g.policyCheck.Store(check) }

// checkPublishable checks, at the final approval, that a request's definitions still load with
// those published since it was proposed (another request may have changed what they use).
func (g *Governance) checkPublishable(ctx context.Context, tx store.Tx, cr *store.ChangeRequest, p *publication) error {
	p.checked, p.changed, p.gray = nil, nil, false
	var defs map[string]Definition
	if p.fresh {
		// Nothing changed a version since the served definitions were read: they are the store's.
		defs = maps.Clone(p.state.base.governed.defs)
	} else {
		serving, err := tx.Versions(store.VersionQuery{Statuses: []store.Status{store.Published, store.Deprecated, store.Retired}})
		if err != nil {
			return err
		}
		defs = servingDefinitions(serving)
	}
	plan, err := requestPlan(tx, cr)
	if err != nil {
		return err
	}
	checked, err := g.loadPlanned(ctx, defs, plan)
	if err != nil {
		return conflict("change request %d no longer fits the definitions published since it was proposed; amend it: %v", cr.ID, err)
	}
	p.checked = checked
	return nil
}

// requestPlan returns the items of a request with the definitions of the versions it proposed.
func requestPlan(tx store.Tx, cr *store.ChangeRequest) ([]plannedItem, error) {
	mine, err := tx.Versions(store.VersionQuery{ChangeRequest: cr.ID})
	if err != nil {
		return nil, err
	}
	var plan []plannedItem
	for _, it := range cr.Items {
		for _, v := range mine {
			if v.Kind == it.Kind && v.Name == it.Name && v.Number == it.Version {
				plan = append(plan, plannedItem{item: ProposedItem{Action: it.Action, Kind: it.Kind, Name: it.Name}, yaml: v.Definition})
			}
		}
	}
	return plan, nil
}

// itemDomains returns the domains whose owners review an item: a metric's own domain; for a
// model, the domains of the metrics built on it; a domain itself.
func itemDomains(pi plannedItem, serving []store.Version) []string {
	switch pi.item.Kind {
	case store.KindMetric:
		if pi.object.Domain != "" {
			return []string{pi.object.Domain}
		}
	case store.KindDomain:
		return []string{pi.item.Name}
	case store.KindModel:
		var out []string
		for _, v := range serving {
			if v.Kind != store.KindMetric || v.Status == store.Retired || !strings.Contains(v.Definition, pi.item.Name+".") {
				continue
			}
			if d := itemObject(v.Kind, v.Name, v.Definition).Domain; d != "" && !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
		sort.Strings(out)
		return out
	}
	return nil
}

// route sets who reviews a request and by when: the approvals its strictest domain asks for, the
// reviewers and subscribers they name, and the due time of its tightest SLA.
func (g *Governance) route(cr *store.ChangeRequest, plan []plannedItem, now time.Time) {
	cat := g.Catalog()
	cr.Domains = nil
	approvals, sla := DefaultApprovals, DefaultReviewSLA
	first := true
	for _, pi := range plan {
		for _, name := range pi.domains {
			if slices.Contains(cr.Domains, name) {
				continue
			}
			cr.Domains = append(cr.Domains, name)
			d := cat.Domain(name)
			if d == nil {
				continue
			}
			if first || d.Review.Approvals > approvals {
				approvals = d.Review.Approvals
			}
			if first || d.Review.SLA < sla {
				sla = d.Review.SLA
			}
			first = false
			cr.Reviewers = appendNew(cr.Reviewers, d.Review.Reviewers...)
			cr.Subscribers = appendNew(cr.Subscribers, d.Review.Subscribers...)
		}
	}
	sort.Strings(cr.Domains)
	cr.ApprovalsRequired = approvals
	cr.DueAt = now.Add(sla)
}

func appendNew(list []string, items ...string) []string {
	for _, x := range items {
		if !slices.Contains(list, x) {
			list = append(list, x)
		}
	}
	return list
}

// insertItems adds a version for each planned item and records the items on the request.
func (g *Governance) insertItems(tx store.Tx, cr *store.ChangeRequest, plan []plannedItem, now time.Time) error {
	status := store.InReview
	if cr.Status == store.CRDraft {
		status = store.Draft
	}
	cr.Items = nil
	for _, pi := range plan {
		d := Definition{Kind: pi.item.Kind, Name: pi.item.Name, YAML: pi.yaml}
		hash, err := d.Hash()
		if err != nil {
			return err
		}
		v, err := tx.InsertVersion(store.Version{Kind: d.Kind, Name: d.Name, Status: status, Definition: d.YAML, Hash: hash,
			Author: cr.Author, Note: cr.Title, CreatedAt: now, ChangeRequest: cr.ID, Deprecation: pi.item.Deprecation})
		if err != nil {
			return err
		}
		cr.Items = append(cr.Items, store.Item{Kind: d.Kind, Name: d.Name, Action: pi.item.Action, Version: v.Number, BaseVersion: pi.base})
	}
	return nil
}

// act runs one action of the caller on a request: it reads the request in the transaction,
// checks the revision the caller read (0 skips the check) and lets fn change it; a request fn
// changed is stored as the next revision, and the event is announced. Reviews that do not
// publish leave the revision as it is, so that reviewers acting at once do not conflict.
func (g *Governance) act(ctx context.Context, acc *Access, id int64, revision int, fn func(tx store.Tx, cr *store.ChangeRequest) (event string, detail map[string]any, err error)) (store.ChangeRequest, error) {
	return g.actPublishing(ctx, acc, id, revision, &publication{}, fn)
}

// actPublishing is act, noting in p what a publication makes serve, so that the definitions it
// checked are served without reading and loading them all again.
func (g *Governance) actPublishing(ctx context.Context, acc *Access, id int64, revision int, p *publication, fn func(tx store.Tx, cr *store.ChangeRequest) (event string, detail map[string]any, err error)) (store.ChangeRequest, error) {
	var cr store.ChangeRequest
	published := false
	err := g.store.Update(ctx, g.follow(&p.following, func(tx store.Tx) error {
		var err error
		if cr, err = tx.ChangeRequest(id); errors.Is(err, store.ErrNotFound) {
			return notFound("there is no change request %d", id)
		} else if err != nil {
			return err
		}
		if revision > 0 && cr.Revision != revision {
			return conflict("change request %d changed since you read it (it is at revision %d, you read %d); read it again", id, cr.Revision, revision)
		}
		before := cr
		before.Items = slices.Clone(cr.Items)
		event, detail, err := fn(tx, &cr)
		if err != nil || event == "" {
			return err
		}
		if !reflect.DeepEqual(before, cr) {
			cr.UpdatedAt = g.opts.Now().UTC()
			if cr, err = tx.UpdateChangeRequest(cr); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return conflict("change request %d changed while the action ran; read it again", id)
				}
				return err
			}
		}
		published = cr.Status == store.CRPublished && before.Status != store.CRPublished
		return g.announce(tx, acc, &cr, event, detail)
	}))
	if err != nil {
		return store.ChangeRequest{}, err
	}
	if !published {
		p.advance()
	}
	if published && !g.install(p) {
		if err := g.Reload(ctx); err != nil {
			return cr, fmt.Errorf("change request %d is published, but serving it failed: %w", id, err)
		}
	}
	return cr, nil
}

// visible reports whether the caller may see a request: it wrote it, or may read one of the
// definitions it changes.
func (g *Governance) visible(tx store.Tx, acc *Access, cr store.ChangeRequest) bool {
	if cr.Author == acc.actor() || acc.grants == nil {
		return true
	}
	for _, it := range cr.Items {
		if acc.may(g.objectOf(tx, it), authz.Read) {
			return true
		}
	}
	return false
}

// objectOf is an item's definition as access policies name it.
func (g *Governance) objectOf(tx store.Tx, it store.Item) authz.Object {
	vs, err := tx.Versions(store.VersionQuery{Kind: it.Kind, Name: it.Name})
	if err == nil {
		for _, v := range vs {
			if v.Number == it.Version {
				return itemObject(it.Kind, it.Name, v.Definition)
			}
		}
	}
	return itemObject(it.Kind, it.Name, "")
}

// load reads a request for an action by its author (or an admin of its tenant).
func (g *Governance) authorOnly(acc *Access, cr *store.ChangeRequest, what string) error {
	admin := acc.may(authz.Object{Kind: authz.PolicyObject, Name: acc.who.Tenant}, authz.Admin)
	if cr.Author != acc.actor() && !(admin && cr.Tenant == acc.who.Tenant) {
		return forbidden("only the author of change request %d, %s, may %s it", cr.ID, cr.Author, what)
	}
	return nil
}

// setItemStatus moves the versions a request proposed to a status.
func setItemStatus(tx store.Tx, cr *store.ChangeRequest, from []store.Status, to store.Status) error {
	vs, err := tx.Versions(store.VersionQuery{ChangeRequest: cr.ID, Statuses: from})
	if err != nil {
		return err
	}
	for _, v := range vs {
		if err := tx.SetVersionStatus(v.ID, to, v.PublishedAt, v.Audience, v.Deprecation); err != nil {
			return err
		}
	}
	return nil
}

// ProposeRollback proposes to publish an old version of a definition again, as a new version
// equal to it, reviewed like any change.
func (g *Governance) ProposeRollback(ctx context.Context, acc *Access, kind store.Kind, name string, version int, rationale string) (store.ChangeRequest, error) {
	var old store.Version
	serving := 0
	err := g.store.View(ctx, func(tx store.Tx) error {
		vs, err := tx.Versions(store.VersionQuery{Kind: kind, Name: name})
		if err != nil {
			return err
		}
		for _, v := range vs {
			if v.Number == version {
				old = v
			}
			if v.Status == store.Published || v.Status == store.Deprecated {
				serving = v.Number
			}
		}
		return nil
	})
	switch {
	case err != nil:
		return store.ChangeRequest{}, err
	case old.ID == 0 || !acc.may(itemObject(kind, name, old.Definition), authz.Read):
		return store.ChangeRequest{}, notFound("%s %s has no version %d", kind, name, version)
	case old.Number == serving:
		return store.ChangeRequest{}, conflict("version %d of %s %s is the one serving; there is nothing to roll back", version, kind, name)
	}
	return g.Propose(ctx, acc, Proposal{Title: fmt.Sprintf("Roll %s %s back to version %d", kind, name, version), Rationale: rationale,
		Items: []ProposedItem{{Action: store.Update, Kind: kind, Name: name, YAML: old.Definition}}})
}

// Submit sends a draft for review.
func (g *Governance) Submit(ctx context.Context, acc *Access, id int64, revision int) (store.ChangeRequest, error) {
	return g.act(ctx, acc, id, revision, func(tx store.Tx, cr *store.ChangeRequest) (string, map[string]any, error) {
		if err := g.authorOnly(acc, cr, "submit"); err != nil {
			return "", nil, err
		}
		if cr.Status != store.CRDraft {
			return "", nil, conflict("change request %d is %s, not a draft; only a draft is submitted", id, cr.Status)
		}
		if err := g.lintRequest(ctx, tx, cr); err != nil {
			return "", nil, err
		}
		cr.Status = store.CROpen
		cr.DueAt = g.opts.Now().UTC().Add(g.slaOf(cr))
		return "change_request.submitted", nil, setItemStatus(tx, cr, []store.Status{store.Draft}, store.InReview)
	})
}

// slaOf is how long each step of a request may take: its domains' tightest SLA.
func (g *Governance) slaOf(cr *store.ChangeRequest) time.Duration {
	sla := time.Duration(0)
	for _, name := range cr.Domains {
		if d := g.Catalog().Domain(name); d != nil && (sla == 0 || d.Review.SLA < sla) {
			sla = d.Review.SLA
		}
	}
	if sla == 0 {
		sla = DefaultReviewSLA
	}
	return sla
}

// Amend replaces the definitions a request proposes: the versions it proposed are withdrawn,
// new ones added, and reviews given before count no more. A request whose changes were asked
// for goes back to review.
func (g *Governance) Amend(ctx context.Context, acc *Access, id int64, revision int, items []ProposedItem) (store.ChangeRequest, error) {
	if len(items) == 0 {
		return store.ChangeRequest{}, invalid("an amendment proposes at least one definition")
	}
	return g.act(ctx, acc, id, revision, func(tx store.Tx, cr *store.ChangeRequest) (string, map[string]any, error) {
		if err := g.authorOnly(acc, cr, "amend"); err != nil {
			return "", nil, err
		}
		if cr.Status.Closed() {
			return "", nil, conflict("change request %d is %s; it takes no more changes", id, cr.Status)
		}
		plan, err := g.planItems(ctx, tx, acc, items)
		if err != nil {
			return "", nil, err
		}
		if err := setItemStatus(tx, cr, []store.Status{store.Draft, store.InReview}, store.Withdrawn); err != nil {
			return "", nil, err
		}
		now := g.opts.Now().UTC()
		if cr.Status == store.CRChangesRequested {
			cr.Status = store.CROpen
		}
		reviewers, subscribers := cr.Reviewers, cr.Subscribers
		g.route(cr, plan, now)
		cr.Reviewers, cr.Subscribers = appendNew(reviewers, cr.Reviewers...), appendNew(subscribers, cr.Subscribers...)
		if err := g.insertItems(tx, cr, plan, now); err != nil {
			return "", nil, err
		}
		return "change_request.amended", nil, g.attachLintWarnings(tx, cr, plan, now)
	})
}

// Withdraw closes a request its author no longer wants.
func (g *Governance) Withdraw(ctx context.Context, acc *Access, id int64, revision int) (store.ChangeRequest, error) {
	return g.act(ctx, acc, id, revision, func(tx store.Tx, cr *store.ChangeRequest) (string, map[string]any, error) {
		if err := g.authorOnly(acc, cr, "withdraw"); err != nil {
			return "", nil, err
		}
		if cr.Status.Closed() {
			return "", nil, conflict("change request %d is %s already", id, cr.Status)
		}
		cr.Status = store.CRWithdrawn
		return "change_request.withdrawn", nil, setItemStatus(tx, cr, []store.Status{store.Draft, store.InReview}, store.Withdrawn)
	})
}

// Review records a reviewer's decision on the revision of a request they read. The reviewer
// must not be its author and must be allowed to review one of the definitions it changes.
// Approving gives the request the approval of each of its domains the reviewer may review; once
// every domain has the approvals it asks for, the request is published, in the same transaction.
// Rejecting closes it; asking for changes sends it back to its author.
func (g *Governance) Review(ctx context.Context, acc *Access, id int64, revision int, decision store.Decision, note string) (store.ChangeRequest, error) {
	if revision < 1 {
		return store.ChangeRequest{}, invalid("a review names the revision of the request it was given on")
	}
	p := &publication{}
	return g.actPublishing(ctx, acc, id, revision, p, func(tx store.Tx, cr *store.ChangeRequest) (string, map[string]any, error) {
		if cr.Status != store.CROpen {
			return "", nil, conflict("change request %d is %s; only an open request is reviewed", id, cr.Status)
		}
		if cr.Author == acc.actor() {
			return "", nil, forbidden("%s wrote change request %d and may not review it", acc.who.Subject, id)
		}
		mine := g.reviewable(tx, acc, cr)
		if len(mine) == 0 {
			return "", nil, forbidden("%s may not review change request %d; the review action on its domains (%s) is needed", acc.who.Subject, id, strings.Join(cr.Domains, ", "))
		}
		now := g.opts.Now().UTC()
		reviews, err := tx.Reviews(cr.ID)
		if err != nil {
			return "", nil, err
		}
		for _, r := range reviews {
			if r.Reviewer == acc.actor() && r.Revision == cr.Revision && r.Decision == store.Approve && decision == store.Approve {
				return "", nil, conflict("%s approved revision %d of change request %d already", acc.who.Subject, cr.Revision, id)
			}
		}
		r, err := tx.InsertReview(store.Review{ChangeRequest: cr.ID, Revision: cr.Revision, Reviewer: acc.actor(), Decision: decision,
			Domains: mine, Note: note, At: now})
		if err != nil {
			return "", nil, err
		}
		detail := map[string]any{"decision": decision, "note": note}
		switch decision {
		case store.Approve:
			reviews = append(reviews, r)
			if !g.approved(cr, reviews) {
				return "change_request.approved", detail, nil
			}
			if err := g.checkPublishable(ctx, tx, cr, p); err != nil {
				return "", nil, err
			}
			if err := g.publish(tx, cr, now, p); err != nil {
				return "", nil, err
			}
			return "change_request.published", detail, nil
		case store.Reject:
			cr.Status = store.CRRejected
			return "change_request.rejected", detail, setItemStatus(tx, cr, []store.Status{store.InReview}, store.Rejected)
		case store.RequestChanges:
			cr.Status = store.CRChangesRequested
			cr.DueAt = now.Add(g.slaOf(cr))
			return "change_request.changes_requested", detail, nil
		}
		return "", nil, invalid("unknown decision %q; approve, reject or request_changes", decision)
	})
}

// reviewKeys are what a request's approvals are counted on: each of its domains, by name, or,
// for a request touching no domain, each of its definitions, as "kind:name"; with the object
// access policies name each by.
func (g *Governance) reviewKeys(tx store.Tx, cr *store.ChangeRequest) (keys []string, objects []authz.Object) {
	for _, d := range cr.Domains {
		keys, objects = append(keys, d), append(objects, authz.Object{Kind: authz.DomainObject, Name: d})
	}
	if len(keys) == 0 {
		for _, it := range cr.Items {
			keys, objects = append(keys, string(it.Kind)+":"+it.Name), append(objects, g.objectOf(tx, it))
		}
	}
	return keys, objects
}

// reviewable returns the review keys of a request the caller may review.
func (g *Governance) reviewable(tx store.Tx, acc *Access, cr *store.ChangeRequest) []string {
	keys, objects := g.reviewKeys(tx, cr)
	var out []string
	for i, o := range objects {
		if acc.may(o, authz.Review) {
			out = append(out, keys[i])
		}
	}
	return out
}

// approved reports whether each review key of a request has the approvals it asks for (its
// domain's, or the request's own for a definition of no domain), from distinct reviewers who
// approved the request's current revision for it.
func (g *Governance) approved(cr *store.ChangeRequest, reviews []store.Review) bool {
	keys := cr.Domains
	if len(keys) == 0 {
		for _, it := range cr.Items {
			keys = append(keys, string(it.Kind)+":"+it.Name)
		}
	}
	for _, k := range keys {
		need := max(cr.ApprovalsRequired, 1)
		if d := g.Catalog().Domain(k); d != nil {
			need = d.Review.Approvals
		}
		got := map[string]bool{}
		for _, r := range reviews {
			if r.Decision == store.Approve && r.Revision == cr.Revision && slices.Contains(r.Domains, k) {
				got[r.Reviewer] = true
			}
		}
		if len(got) < need {
			return false
		}
	}
	return true
}

// publish makes a request's versions serve: each replaces the version serving everyone (or, with
// an audience, is published gray to it), a deprecation or retirement takes effect, and the
// request is published. It fails when a definition was published by another request since this
// one was proposed.
func (g *Governance) publish(tx store.Tx, cr *store.ChangeRequest, now time.Time, p *publication) error {
	for _, it := range cr.Items {
		vs, err := tx.Versions(store.VersionQuery{Kind: it.Kind, Name: it.Name})
		if err != nil {
			return err
		}
		var mine store.Version
		for _, v := range vs {
			if v.Number == it.Version {
				mine = v
			}
		}
		if mine.ID == 0 {
			return fmt.Errorf("change request %d proposes %s %s version %d, which the store does not hold", cr.ID, it.Kind, it.Name, it.Version)
		}
		serving := 0
		for _, v := range vs {
			if v.Status == store.Published || v.Status == store.Deprecated {
				serving = v.Number
			}
		}
		if serving != it.BaseVersion {
			return conflict("%s %s was published as version %d after change request %d proposed a change to version %d; amend the request against the new version",
				it.Kind, it.Name, serving, cr.ID, it.BaseVersion)
		}
		status := store.Published
		switch {
		case it.Action == store.Deprecate:
			status = store.Deprecated
		case it.Action == store.Retire:
			status = store.Retired
		case cr.Audience != nil:
			status = store.Gray
		}
		for _, v := range vs {
			replaced := v.Status == store.Gray || status != store.Gray && (v.Status == store.Published || v.Status == store.Deprecated)
			if v.ID != mine.ID && replaced {
				if err := tx.SetVersionStatus(v.ID, store.Superseded, v.PublishedAt, v.Audience, v.Deprecation); err != nil {
					return err
				}
				p.gray = p.gray || v.Status == store.Gray
			}
		}
		var audience *store.Audience
		if status == store.Gray {
			audience = cr.Audience
		}
		if err := tx.SetVersionStatus(mine.ID, status, now, audience, mine.Deprecation); err != nil {
			return err
		}
		p.served(mine, status, now, audience)
		if _, err := tx.AppendEvent(store.Event{At: now, Tenant: cr.Tenant, Actor: cr.Author, Type: "definition." + string(status),
			Object: string(it.Kind) + ":" + it.Name, Detail: jsonObject("version", it.Version, "change_request", cr.ID)}); err != nil {
			return err
		}
	}
	cr.Status = store.CRPublished
	return nil
}

// Promote publishes a gray version to everyone; the caller needs the publish action on it.
func (g *Governance) Promote(ctx context.Context, acc *Access, kind store.Kind, name string) (store.Version, error) {
	var promoted store.Version
	err := g.store.Update(ctx, func(tx store.Tx) error {
		vs, err := tx.Versions(store.VersionQuery{Kind: kind, Name: name})
		if err != nil {
			return err
		}
		i := slices.IndexFunc(vs, func(v store.Version) bool { return v.Status == store.Gray })
		if i < 0 {
			return conflict("%s %s has no gray release to promote", kind, name)
		}
		gray := vs[i]
		if !acc.may(itemObject(kind, name, gray.Definition), authz.Publish) {
			return forbidden("%s may not publish %s %s; the publish action on it is needed", acc.who.Subject, kind, name)
		}
		now := g.opts.Now().UTC()
		for _, v := range vs {
			if v.Status == store.Published || v.Status == store.Deprecated {
				if err := tx.SetVersionStatus(v.ID, store.Superseded, v.PublishedAt, v.Audience, v.Deprecation); err != nil {
					return err
				}
			}
		}
		if err := tx.SetVersionStatus(gray.ID, store.Published, gray.PublishedAt, nil, gray.Deprecation); err != nil {
			return err
		}
		promoted = gray
		promoted.Status, promoted.Audience = store.Published, nil
		e, err := tx.AppendEvent(store.Event{At: now, Tenant: acc.who.Tenant, Actor: acc.actor(), Type: "definition.promoted",
			Object: string(kind) + ":" + name, Detail: jsonObject("version", gray.Number)})
		if err != nil {
			return err
		}
		return g.enqueue(tx, e, nil)
	})
	if err != nil {
		return store.Version{}, err
	}
	return promoted, g.Reload(ctx)
}

// Comment adds a remark to a request, in reply to another when parent is not 0. Anyone who may
// see the request may comment on it, open or closed.
func (g *Governance) Comment(ctx context.Context, acc *Access, id, parent int64, body string) (store.Comment, error) {
	if strings.TrimSpace(body) == "" {
		return store.Comment{}, invalid("a comment says something")
	}
	var c store.Comment
	err := g.store.Update(ctx, func(tx store.Tx) error {
		cr, err := tx.ChangeRequest(id)
		if errors.Is(err, store.ErrNotFound) || err == nil && !g.visible(tx, acc, cr) {
			return notFound("there is no change request %d", id)
		} else if err != nil {
			return err
		}
		if parent != 0 {
			cs, err := tx.Comments(id)
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(cs, func(x store.Comment) bool { return x.ID == parent }) {
				return notFound("change request %d has no comment %d to reply to", id, parent)
			}
		}
		if c, err = tx.InsertComment(store.Comment{ChangeRequest: id, Parent: parent, Author: acc.actor(), Body: body, At: g.opts.Now().UTC()}); err != nil {
			return err
		}
		return g.announce(tx, acc, &cr, "change_request.commented", map[string]any{"comment": c.ID, "parent": parent})
	})
	return c, err
}

// ChangeRequest returns a request the caller may see.
func (g *Governance) ChangeRequest(ctx context.Context, acc *Access, id int64) (store.ChangeRequest, error) {
	var cr store.ChangeRequest
	err := g.store.View(ctx, func(tx store.Tx) error {
		var err error
		cr, err = tx.ChangeRequest(id)
		if errors.Is(err, store.ErrNotFound) || err == nil && !g.visible(tx, acc, cr) {
			return notFound("there is no change request %d", id)
		}
		return err
	})
	return cr, err
}

// ChangeRequests returns the requests the query selects that the caller may see.
func (g *Governance) ChangeRequests(ctx context.Context, acc *Access, q store.CRQuery) ([]store.ChangeRequest, error) {
	all, err := g.store.ChangeRequests(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []store.ChangeRequest
	err = g.store.View(ctx, func(tx store.Tx) error {
		for _, cr := range all {
			if g.visible(tx, acc, cr) {
				out = append(out, cr)
			}
		}
		return nil
	})
	return out, err
}

// ReviewQueue returns the open requests the caller may review and has not yet approved in their
// current revision, the oldest due first.
func (g *Governance) ReviewQueue(ctx context.Context, acc *Access) ([]store.ChangeRequest, error) {
	open, err := g.store.ChangeRequests(ctx, store.CRQuery{Statuses: []store.CRStatus{store.CROpen}, Limit: 1000})
	if err != nil {
		return nil, err
	}
	var out []store.ChangeRequest
	err = g.store.View(ctx, func(tx store.Tx) error {
		for _, cr := range open {
			if cr.Author == acc.actor() || len(g.reviewable(tx, acc, &cr)) == 0 {
				continue
			}
			reviews, err := tx.Reviews(cr.ID)
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(reviews, func(r store.Review) bool {
				return r.Reviewer == acc.actor() && r.Revision == cr.Revision
			}) {
				out = append(out, cr)
			}
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].DueAt.Before(out[j].DueAt) })
	return out, err
}

// Overdue reports whether a request waits past its due time.
func (g *Governance) Overdue(cr store.ChangeRequest) bool {
	return !cr.Status.Closed() && cr.Status != store.CRDraft && !cr.DueAt.IsZero() && g.opts.Now().After(cr.DueAt)
}

// Diff returns, for each definition a request changes, the fields its proposal changes from the
// version it was proposed against.
func (g *Governance) Diff(ctx context.Context, cr store.ChangeRequest) (map[string][]FieldChange, error) {
	out := map[string][]FieldChange{}
	err := g.store.View(ctx, func(tx store.Tx) error {
		for _, it := range cr.Items {
			vs, err := tx.Versions(store.VersionQuery{Kind: it.Kind, Name: it.Name})
			if err != nil {
				return err
			}
			var oldYAML, newYAML string
			for _, v := range vs {
				if v.Number == it.BaseVersion {
					oldYAML = v.Definition
				}
				if v.Number == it.Version {
					newYAML = v.Definition
				}
			}
			changes, err := DiffDefinitions(oldYAML, newYAML)
			if err != nil {
				return err
			}
			out[string(it.Kind)+":"+it.Name] = changes
		}
		return nil
	})
	return out, err
}

// ReportFeedback sends feedback on a metric the caller may see ("this number looks wrong") to the
// metric's owner, with the query it was seen in.
func (g *Governance) ReportFeedback(ctx context.Context, acc *Access, metric, note string, query json.RawMessage) (store.Feedback, error) {
	m, err := acc.FindMetric(metric)
	if err != nil {
		return store.Feedback{}, err
	}
	if strings.TrimSpace(note) == "" {
		return store.Feedback{}, invalid("feedback says what looks wrong")
	}
	var f store.Feedback
	err = g.store.Update(ctx, func(tx store.Tx) error {
		var err error
		f, err = tx.InsertFeedback(store.Feedback{Metric: m.Name, Version: m.Version, Owner: m.Owner, Author: acc.actor(),
			Tenant: acc.who.Tenant, Note: note, Query: string(query), At: g.opts.Now().UTC()})
		if err != nil {
			return err
		}
		e, err := tx.AppendEvent(store.Event{At: f.At, Tenant: f.Tenant, Actor: f.Author, Type: "feedback.reported",
			Object: "metric:" + m.Name, Detail: jsonObject("feedback", f.ID, "owner", f.Owner, "note", note)})
		if err != nil {
			return err
		}
		return g.enqueue(tx, e, g.domainWebhooks(m.Domain))
	})
	return f, err
}

// announce appends a request's event and queues it for the webhooks of its domains.
func (g *Governance) announce(tx store.Tx, acc *Access, cr *store.ChangeRequest, event string, detail map[string]any) error {
	actor := cr.Author
	if acc != nil {
		actor = acc.actor()
	}
	if detail == nil {
		detail = map[string]any{}
	}
	detail["status"], detail["revision"], detail["title"] = cr.Status, cr.Revision, cr.Title
	e, err := tx.AppendEvent(store.Event{At: g.opts.Now().UTC(), Tenant: cr.Tenant, Actor: actor, Type: event,
		Object: fmt.Sprintf("change_request:%d", cr.ID), Detail: jsonText(detail)})
	if err != nil {
		return err
	}
	var hooks []string
	for _, d := range cr.Domains {
		hooks = appendNew(hooks, g.domainWebhooks(d)...)
	}
	return g.enqueue(tx, e, hooks)
}

func (g *Governance) domainWebhooks(domain string) []string {
	if d := g.Catalog().Domain(domain); d != nil {
		return d.Review.Webhooks
	}
	return nil
}

// enqueue puts an event in the outbox for the deployment's webhooks and the given ones.
func (g *Governance) enqueue(tx store.Tx, e store.Event, hooks []string) error {
	payload := jsonText(map[string]any{"seq": e.Seq, "at": e.At.Format(time.RFC3339Nano), "tenant": e.Tenant, "actor": e.Actor,
		"type": e.Type, "object": e.Object, "detail": json.RawMessage(e.Detail)})
	for _, url := range appendNew(slices.Clone(g.opts.Webhooks), hooks...) {
		if _, err := tx.Enqueue(store.Delivery{Event: e.Seq, URL: url, Payload: payload, NextAttempt: e.At}); err != nil {
			return err
		}
	}
	return nil
}

// Versions returns every version of a definition the caller may see, oldest first: all of them,
// when it may read the definition as it serves now (or, for one never published, as its newest
// version has it).
func (g *Governance) Versions(ctx context.Context, acc *Access, kind store.Kind, name string) ([]store.Version, error) {
	var vs []store.Version
	err := g.store.View(ctx, func(tx store.Tx) error {
		var err error
		vs, err = tx.Versions(store.VersionQuery{Kind: kind, Name: name})
		return err
	})
	if err != nil || len(vs) == 0 {
		return nil, err
	}
	newest := vs[len(vs)-1]
	for _, v := range vs {
		if v.Status == store.Published || v.Status == store.Deprecated || v.Status == store.Retired {
			newest = v
		}
	}
	if !acc.may(itemObject(kind, name, newest.Definition), authz.Read) {
		return nil, nil
	}
	return vs, nil
}

// Reviews returns a request's reviews, oldest first, and Comments its comments; the caller must
// be able to see the request.
func (g *Governance) Reviews(ctx context.Context, acc *Access, id int64) ([]store.Review, error) {
	var out []store.Review
	err := g.viewRequest(ctx, acc, id, func(tx store.Tx) (err error) { out, err = tx.Reviews(id); return err })
	return out, err
}

// Comments returns a request's comments, oldest first.
func (g *Governance) Comments(ctx context.Context, acc *Access, id int64) ([]store.Comment, error) {
	var out []store.Comment
	err := g.viewRequest(ctx, acc, id, func(tx store.Tx) (err error) { out, err = tx.Comments(id); return err })
	return out, err
}

func (g *Governance) viewRequest(ctx context.Context, acc *Access, id int64, fn func(store.Tx) error) error {
	return g.store.View(ctx, func(tx store.Tx) error {
		cr, err := tx.ChangeRequest(id)
		if errors.Is(err, store.ErrNotFound) || err == nil && !g.visible(tx, acc, cr) {
			return notFound("there is no change request %d", id)
		} else if err != nil {
			return err
		}
		return fn(tx)
	})
}

// Timeline returns the events of a request, oldest first.
func (g *Governance) Timeline(ctx context.Context, acc *Access, cr store.ChangeRequest) ([]store.Event, error) {
	if err := g.viewRequest(ctx, acc, cr.ID, func(store.Tx) error { return nil }); err != nil {
		return nil, err
	}
	return g.store.Events(ctx, store.EventQuery{Tenant: cr.Tenant, Object: fmt.Sprintf("change_request:%d", cr.ID), Limit: 1000})
}

// Events returns audit events of the caller's tenant; only the tenant's admins may read them.
func (g *Governance) Events(ctx context.Context, acc *Access, q store.EventQuery) ([]store.Event, error) {
	if !acc.may(authz.Object{Kind: authz.PolicyObject, Name: acc.who.Tenant}, authz.Admin) {
		return nil, forbidden("%s may not read the audit log of tenant %s; the admin action on policy:%s is needed", acc.who.Subject, acc.who.Tenant, acc.who.Tenant)
	}
	q.Tenant = acc.who.Tenant
	return g.store.Events(ctx, q)
}

// Feedback returns the feedback the query selects on metrics the caller may see.
func (g *Governance) Feedback(ctx context.Context, acc *Access, q store.FeedbackQuery) ([]store.Feedback, error) {
	all, err := g.store.Feedback(ctx, q)
	if err != nil {
		return nil, err
	}
	return filterVisible(all, func(f store.Feedback) bool { return acc.Metric(f.Metric) != nil }), nil
}

// ResolveFeedback marks feedback on a metric handled; the caller must be allowed to review the
// metric (its owners are).
func (g *Governance) ResolveFeedback(ctx context.Context, acc *Access, id int64) error {
	fs, err := g.store.Feedback(ctx, store.FeedbackQuery{Limit: 1, BeforeID: id + 1})
	if err != nil {
		return err
	}
	if len(fs) == 0 || fs[0].ID != id || acc.Metric(fs[0].Metric) == nil {
		return notFound("there is no feedback %d", id)
	}
	m := acc.Metric(fs[0].Metric)
	if !acc.may(m.AccessObject(), authz.Review) {
		return forbidden("%s may not resolve feedback on metric %s; the review action on it is needed", acc.who.Subject, m.Name)
	}
	return g.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.ResolveFeedback(id); err != nil {
			return err
		}
		_, err := tx.AppendEvent(store.Event{At: g.opts.Now().UTC(), Tenant: acc.who.Tenant, Actor: acc.actor(), Type: "feedback.resolved",
			Object: "metric:" + m.Name, Detail: jsonObject("feedback", id)})
		return err
	})
}
