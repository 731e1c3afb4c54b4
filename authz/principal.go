// Package authz is Koujing's access control: who is asking (identity from JWT bearer tokens and
// API keys), what they may do (an RBAC-with-domains policy, one domain per tenant, evaluated the
// way Casbin's priority model evaluates it), which rows of each data model they may see (row
// filters written with user attributes), and which dimensions are masked for them.
//
// The package knows nothing of metrics or SQL: objects are names with facets ("metric:gmv_paid",
// "domain:finance", "tag:core"), and row filters are kept as text. The semantic layer asks it for
// decisions and binds the filters into every scan of a model; no surface checks a permission on
// its own.
package authz

import (
	"fmt"
	"slices"
	"strings"
)

// AuthMethod says how a principal proved who it is.
type AuthMethod string

// The ways a principal is authenticated.
const (
	// MethodJWT: a bearer token signed with the deployment's secret or one of its JWKS keys.
	MethodJWT AuthMethod = "jwt"
	// MethodAPIKey: a service's API key.
	MethodAPIKey AuthMethod = "api_key"
	// MethodDemo: no credentials, on a server running in demo mode.
	MethodDemo AuthMethod = "demo"
	// MethodLocal: the command line, run by whoever can read the definitions and data anyway.
	MethodLocal AuthMethod = "local"
)

// Principal is who is asking: a user or a service, within one tenant, with roles and
// attributes. It is immutable once authenticated.
type Principal struct {
	// Subject identifies the user ("alice") or the API key ("api_key:3f9c0a1b2d4e").
	Subject string
	// Tenant is the Casbin domain whose policy applies; a principal never sees another's.
	Tenant string
	// Roles are the roles the credentials carry; roles assigned in the policy are added to them.
	Roles []string
	// Attributes are the other claims of the token, usable in row filters as {user.NAME}: JSON
	// values (string, float64, bool, []any).
	Attributes map[string]any
	// Method says how the principal was authenticated.
	Method AuthMethod
}

// The attributes every principal has, besides its claims.
const (
	AttrSubject = "sub"
	AttrTenant  = "tenant"
	AttrRoles   = "roles"
)

// Attribute returns the named attribute: "sub", "tenant" and "roles" from the principal itself,
// any other name from its claims. ok is false when the principal has no such attribute.
func (p *Principal) Attribute(name string) (value any, ok bool) {
	switch name {
	case AttrSubject:
		return p.Subject, p.Subject != ""
	case AttrTenant:
		return p.Tenant, p.Tenant != ""
	case AttrRoles:
		roles := make([]any, len(p.Roles))
		for i, r := range p.Roles {
			roles[i] = r
		}
		return roles, true
	}
	v, ok := p.Attributes[name]
	return v, ok && v != nil
}

// String describes the principal for logs and audit records: subject@tenant.
func (p *Principal) String() string { return p.Subject + "@" + p.Tenant }

// cacheKey identifies what decisions depend on: tenant, subject and roles (in any order).
func (p *Principal) cacheKey() string {
	roles := slices.Clone(p.Roles)
	slices.Sort(roles)
	return p.Tenant + "\x00" + p.Subject + "\x00" + strings.Join(slices.Compact(roles), "\x00")
}

// Validate checks that the principal can be authorized at all.
func (p *Principal) Validate() error {
	switch {
	case p == nil:
		return fmt.Errorf("no principal")
	case p.Subject == "":
		return fmt.Errorf("the credentials name no subject (claim sub)")
	case p.Subject == "*":
		return fmt.Errorf("the subject * is reserved for rules that apply to everyone")
	case p.Tenant == "":
		return fmt.Errorf("the credentials name no tenant (claim tenant)")
	}
	return nil
}
