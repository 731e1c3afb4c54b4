package authz

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/util"
)

// CasbinModel is the access model in Casbin's language: RBAC with domains, one domain per tenant,
// roles inheriting roles, and the priority effect — the first matching rule in priority order
// decides, and with no match the answer is no. A rule's object pattern matches a request when it
// matches any of the object's facets (see Object.Facets), which is how one rule grants a whole
// domain or denies a tag.
//
// Grants evaluates exactly this model over an index of the rules, fast enough to run on every
// query; Explain asks Casbin itself, and the tests hold the two to the same answers.
const CasbinModel = `
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = priority, sub, dom, obj, act, eft

[role_definition]
g = _, _, _

[policy_effect]
e = priority(p.eft) || deny

[matchers]
m = (p.sub == "*" || g(r.sub, p.sub, r.dom)) && r.dom == p.dom && objectMatch(r.obj, p.obj) && globMatch(r.act, p.act)
`

// facetSeparator joins an object's facets into the one string Casbin's request carries.
const facetSeparator = "\x1f"

// objectMatch is the matcher function objectMatch(r.obj, p.obj): whether the pattern matches any
// of the facets.
func objectMatch(args ...any) (any, error) {
	if len(args) != 2 {
		return false, fmt.Errorf("objectMatch takes 2 arguments, got %d", len(args))
	}
	facets, _ := args[0].(string)
	pat, _ := args[1].(string)
	for _, f := range strings.Split(facets, facetSeparator) {
		if ok, err := util.GlobMatch(f, pat); err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// Explanation says why a request was decided as it was.
type Explanation struct {
	Allowed bool
	// Rule is the grant that decided, or nil when none matched (and the answer is no).
	Rule *Rule
}

// Explain decides one request with Casbin's own enforcer over the principal's tenant's rules,
// and says which rule decided. It is slower than Grants (it builds an enforcer per call) and is
// meant for answering "why may I (not)?", and for checking Grants.
func (p *Policy) Explain(who *Principal, o Object, act Action) (Explanation, error) {
	e, err := p.tenantEnforcer(who)
	if err != nil {
		return Explanation{}, err
	}
	ok, explain, err := e.EnforceEx(who.Subject, who.Tenant, strings.Join(o.Facets(), facetSeparator), string(act))
	if err != nil {
		return Explanation{}, fmt.Errorf("casbin: %w", err)
	}
	out := Explanation{Allowed: ok}
	if len(explain) == 6 {
		prio, _ := strconv.Atoi(explain[0])
		r := Rule{Kind: Grant, Subject: explain[1], Tenant: explain[2], Object: explain[3], Action: explain[4], Effect: Effect(explain[5]), Priority: prio}
		for _, x := range p.TenantRules(who.Tenant) {
			if x.Key() == r.Key() {
				r.Line = x.Line
			}
		}
		out.Rule = &r
	}
	return out, nil
}

// tenantEnforcer loads the principal's tenant's grants and roles into a Casbin enforcer, with the
// roles the principal's credentials carry as role assignments of its subject.
func (p *Policy) tenantEnforcer(who *Principal) (*casbin.Enforcer, error) {
	m, err := model.NewModelFromString(CasbinModel)
	if err != nil {
		return nil, fmt.Errorf("casbin model: %w", err)
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("casbin: %w", err)
	}
	e.AddFunction("objectMatch", objectMatch)
	var grants []*compiledGrant
	var roles [][]string
	for i, r := range p.TenantRules(who.Tenant) {
		switch r.Kind {
		case Grant:
			grants = append(grants, &compiledGrant{rule: &r, order: i})
		case RoleAssignment:
			roles = append(roles, []string{r.Subject, r.Role, r.Tenant})
		}
	}
	for _, role := range who.Roles {
		if role != who.Subject && !slices.ContainsFunc(roles, func(g []string) bool { return g[0] == who.Subject && g[1] == role }) {
			roles = append(roles, []string{who.Subject, role, who.Tenant})
		}
	}
	// Casbin keeps rules of equal priority in the order they were added: add the denies first, as
	// Grants decides.
	slices.SortFunc(grants, compareGrants)
	rules := make([][]string, len(grants))
	for i, g := range grants {
		r := g.rule
		rules[i] = []string{strconv.Itoa(r.Priority), r.Subject, r.Tenant, r.Object, r.Action, string(r.Effect)}
	}
	if len(rules) > 0 {
		if _, err := e.AddPolicies(rules); err != nil {
			return nil, fmt.Errorf("casbin: %w", err)
		}
	}
	if len(roles) > 0 {
		if _, err := e.AddGroupingPolicies(roles); err != nil {
			return nil, fmt.Errorf("casbin: %w", err)
		}
	}
	return e, nil
}
