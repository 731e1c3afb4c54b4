package authz

import (
	"cmp"
	"slices"
	"strings"
	"sync"

	"github.com/bmatcuk/doublestar/v4"
)

// maxRoleDepth bounds how many roles deep inheritance is followed, as Casbin's default role
// manager does (its maxHierarchyLevel).
const maxRoleDepth = 10

// maxCachedGrants bounds the decision sets a policy keeps; past it the cache starts afresh.
const maxCachedGrants = 10_000

// Policy is an immutable snapshot of every tenant's rules and API keys, indexed for decisions. A
// changed policy is a new Policy. It is safe for concurrent use.
type Policy struct {
	state   *State
	tenants map[string]*tenantPolicy
	keys    map[string]*APIKey

	mu     sync.Mutex
	grants map[string]*Grants
}

// tenantPolicy is one tenant's rules, indexed by subject.
type tenantPolicy struct {
	rules      []Rule
	grants     map[string][]*compiledGrant // by subject; "*" holds the grants to everyone
	roles      map[string][]string         // member -> its roles
	rowFilters map[string][]*Rule          // by subject
	masks      map[string][]*Rule          // by subject
	attributes map[string]AttributeType
}

// compiledGrant is a grant whose patterns are ready to match; order is its place in the tenant's
// rules, which breaks ties after priority and effect.
type compiledGrant struct {
	rule   *Rule
	object pattern
	action pattern
	order  int
}

// pattern matches names against a rule's glob, with the common cases (everything, one exact
// name) decided without the glob matcher.
type pattern struct {
	all   bool
	exact string
	glob  string
}

func compilePattern(p string) pattern {
	switch {
	case p == "*":
		return pattern{all: true}
	case strings.ContainsAny(p, `*?[{\`):
		return pattern{glob: p}
	}
	return pattern{exact: p}
}

func (p pattern) match(s string) bool {
	switch {
	case p.all:
		return true
	case p.glob == "":
		return s == p.exact
	}
	ok, _ := doublestar.Match(p.glob, s)
	return ok
}

// NewPolicy indexes a store's state. The rules must have passed Rule.Check, as rules read by
// ParsePolicyFile and stored through Authorizer have.
func NewPolicy(st *State) *Policy {
	p := &Policy{state: st, tenants: map[string]*tenantPolicy{}, keys: map[string]*APIKey{}, grants: map[string]*Grants{}}
	for i := range st.Rules {
		r := &st.Rules[i]
		t := p.tenants[r.Tenant]
		if t == nil {
			t = &tenantPolicy{grants: map[string][]*compiledGrant{}, roles: map[string][]string{},
				rowFilters: map[string][]*Rule{}, masks: map[string][]*Rule{}, attributes: map[string]AttributeType{}}
			p.tenants[r.Tenant] = t
		}
		t.rules = append(t.rules, *r)
		switch r.Kind {
		case Grant:
			t.grants[r.Subject] = append(t.grants[r.Subject], &compiledGrant{rule: r, object: compilePattern(r.Object), action: compilePattern(r.Action), order: i})
		case RoleAssignment:
			t.roles[r.Subject] = append(t.roles[r.Subject], r.Role)
		case RowFilter:
			t.rowFilters[r.Subject] = append(t.rowFilters[r.Subject], r)
		case Mask:
			t.masks[r.Subject] = append(t.masks[r.Subject], r)
		case AttributeDecl:
			t.attributes[r.Object] = AttributeType(r.Value)
		}
	}
	for i := range st.Keys {
		k := &st.Keys[i]
		p.keys[k.ID] = k
	}
	return p
}

// State returns the rules and keys the policy was built from. It must not be modified.
func (p *Policy) State() *State { return p.state }

// TenantRules returns one tenant's rules, in the order they were stored.
func (p *Policy) TenantRules(tenant string) []Rule {
	if t := p.tenants[tenant]; t != nil {
		return t.rules
	}
	return nil
}

// Attributes returns the user attributes a tenant's row filters may use, with their types.
func (p *Policy) Attributes(tenant string) map[string]AttributeType {
	if t := p.tenants[tenant]; t != nil {
		return t.attributes
	}
	return nil
}

// APIKey returns the API key of that ID, revoked or not.
func (p *Policy) APIKey(id string) (*APIKey, bool) {
	k, ok := p.keys[id]
	return k, ok
}

// Grants returns the decisions for a principal: the same *Grants for principals with the same
// tenant, subject and roles, as long as the policy lasts.
func (p *Policy) Grants(who *Principal) *Grants {
	key := who.cacheKey()
	p.mu.Lock()
	g, ok := p.grants[key]
	p.mu.Unlock()
	if ok {
		return g
	}
	g = p.computeGrants(who)
	p.mu.Lock()
	if len(p.grants) >= maxCachedGrants {
		clear(p.grants)
	}
	if prev, ok := p.grants[key]; ok {
		g = prev
	} else {
		p.grants[key] = g
	}
	p.mu.Unlock()
	return g
}

// Subjects returns the subjects whose rules apply to a principal: itself, its roles, and the
// roles those inherit, within its tenant.
func (p *Policy) Subjects(who *Principal) []string {
	t := p.tenants[who.Tenant]
	seen := map[string]bool{who.Subject: true}
	out := []string{who.Subject}
	level := []string{who.Subject}
	for _, r := range who.Roles {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
			level = append(level, r)
		}
	}
	if t == nil {
		return out
	}
	for depth := 0; depth < maxRoleDepth && len(level) > 0; depth++ {
		var next []string
		for _, s := range level {
			for _, r := range t.roles[s] {
				if !seen[r] {
					seen[r] = true
					out = append(out, r)
					next = append(next, r)
				}
			}
		}
		level = next
	}
	return out
}

func (p *Policy) computeGrants(who *Principal) *Grants {
	g := &Grants{Tenant: who.Tenant, rowFilters: map[string][]string{}, masks: map[string]MaskKind{}}
	t := p.tenants[who.Tenant]
	if t == nil {
		return g
	}
	g.Subjects = p.Subjects(who)
	g.attributes = t.attributes
	for _, s := range append(g.Subjects, "*") {
		g.rules = append(g.rules, t.grants[s]...)
		for _, r := range t.rowFilters[s] {
			if !slices.Contains(g.rowFilters[r.Object], r.Value) {
				g.rowFilters[r.Object] = append(g.rowFilters[r.Object], r.Value)
			}
		}
		for _, r := range t.masks[s] {
			// A hash shows nothing of the value; it wins over a partial mask.
			if k := MaskKind(r.Value); g.masks[r.Object] != MaskHash {
				g.masks[r.Object] = k
			}
		}
	}
	slices.SortFunc(g.rules, compareGrants)
	return g
}

// compareGrants orders grants as they are decided: by priority, lower first; at equal priority
// denies first; then in the order they were stored.
func compareGrants(a, b *compiledGrant) int {
	if c := cmp.Compare(a.rule.Priority, b.rule.Priority); c != 0 {
		return c
	}
	if a.rule.Effect != b.rule.Effect {
		if a.rule.Effect == Deny {
			return -1
		}
		return 1
	}
	return cmp.Compare(a.order, b.order)
}

// Grants are the decisions of one policy for one principal: what it may do with each object,
// which rows of each model it sees, which dimensions it sees masked. Immutable and safe for
// concurrent use.
type Grants struct {
	Tenant string
	// Subjects are the principal, its roles and the roles they inherit.
	Subjects   []string
	rules      []*compiledGrant
	rowFilters map[string][]string
	masks      map[string]MaskKind
	attributes map[string]AttributeType
}

// Allowed reports whether the principal may act on the object: the first grant, in priority
// order, whose action pattern matches the action and whose object pattern matches one of the
// object's facets decides; when none matches, the answer is no.
func (g *Grants) Allowed(o Object, act Action) bool {
	r := g.decidingRule(o, act)
	return r != nil && r.Effect == Allow
}

func (g *Grants) decidingRule(o Object, act Action) *Rule {
	self := string(o.Kind) + ":" + o.Name
	for _, r := range g.rules {
		if !r.action.match(string(act)) {
			continue
		}
		if r.object.all || r.object.match(self) || matchesFacet(r.object, o) {
			return r.rule
		}
	}
	return nil
}

// matchesFacet matches the object's facets besides its own name, without building them.
func matchesFacet(p pattern, o Object) bool {
	if o.Domain != "" && p.match("domain:"+o.Domain) {
		return true
	}
	for _, m := range o.Models {
		if p.match("model:" + m) {
			return true
		}
	}
	for _, t := range o.Tags {
		if p.match("tag:" + t) {
			return true
		}
	}
	return false
}

// RowFilters returns the row filters on a model that apply to the principal, as written; rows
// are visible where any of them holds. None means every row is visible.
func (g *Grants) RowFilters(model string) []string { return g.rowFilters[model] }

// RowFilteredModels returns the models that have row filters for the principal.
func (g *Grants) RowFilteredModels() []string {
	out := make([]string, 0, len(g.rowFilters))
	for m := range g.rowFilters {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

// Mask returns how a dimension's values are masked for the principal, or "" when they are not.
func (g *Grants) Mask(dimension string) MaskKind { return g.masks[dimension] }

// AttributeType returns the declared type of a user attribute in the principal's tenant; ok is
// false for an attribute that is not declared (the built-in sub, tenant and roles are always
// declared).
func (g *Grants) AttributeType(name string) (t AttributeType, ok bool) {
	switch name {
	case AttrSubject, AttrTenant:
		return AttrString, true
	case AttrRoles:
		return AttrStrings, true
	}
	t, ok = g.attributes[name]
	return t, ok
}
