package authz

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/bmatcuk/doublestar/v4"
)

// RuleKind is the kind of a policy rule, and the first field of its line in a policy file.
type RuleKind string

// The kinds of rules. The first two are Casbin's own policy and role lines; the others attach
// row filters, masks and attribute declarations to the same subjects and tenants.
const (
	// Grant: p, SUBJECT, TENANT, OBJECT, ACTION, EFFECT[, PRIORITY]
	Grant RuleKind = "p"
	// RoleAssignment: g, MEMBER, ROLE, TENANT — the member (a user or a role) has the role.
	RoleAssignment RuleKind = "g"
	// RowFilter: row_filter, SUBJECT, TENANT, MODEL, FILTER — the subject sees the model's rows
	// where FILTER holds.
	RowFilter RuleKind = "row_filter"
	// Mask: mask, SUBJECT, TENANT, DIMENSION, hash|partial — the subject sees the dimension's
	// values masked.
	Mask RuleKind = "mask"
	// AttributeDecl: attribute, TENANT, NAME, TYPE — row filters of the tenant may use
	// {user.NAME}.
	AttributeDecl RuleKind = "attribute"
)

// Effect says whether a grant allows or denies.
type Effect string

// The effects of a grant.
const (
	Allow Effect = "allow"
	Deny  Effect = "deny"
)

// DefaultPriority is the priority of a grant that states none. Lower numbers win; at equal
// priority a deny wins over an allow.
const DefaultPriority = 100

// MaskKind says how a masked dimension's values are shown.
type MaskKind string

// The masks.
const (
	// MaskHash shows the MD5 of the value in hex: equal values stay equal, so grouping and
	// counting still work, but the value is not shown.
	MaskHash MaskKind = "hash"
	// MaskPartial shows the first and last character and stars between: "W*****g".
	MaskPartial MaskKind = "partial"
)

// AttributeType is the type of a declared user attribute.
type AttributeType string

// The attribute types: one value, or a list (for IN).
const (
	AttrString  AttributeType = "string"
	AttrNumber  AttributeType = "number"
	AttrStrings AttributeType = "strings"
	AttrNumbers AttributeType = "numbers"
)

// IsList reports whether the attribute holds a list of values.
func (t AttributeType) IsList() bool { return t == AttrStrings || t == AttrNumbers }

// Rule is one line of a tenant's policy. Which fields are set depends on Kind:
//
//	Grant           Subject, Object (pattern), Action (pattern), Effect, Priority
//	RoleAssignment  Subject (the member), Role
//	RowFilter       Subject, Object (the model's name), Value (the filter)
//	Mask            Subject, Object (the dimension's qualified name), Value (the mask kind)
//	AttributeDecl   Object (the attribute's name), Value (its type)
type Rule struct {
	Kind     RuleKind
	Tenant   string
	Subject  string
	Role     string
	Object   string
	Action   string
	Effect   Effect
	Priority int
	Value    string
	// Line is the line of the policy file the rule was read from; 0 when it came from elsewhere.
	Line int
}

// Fields returns the rule as the fields of its line in a policy file, kind first.
func (r Rule) Fields() []string {
	switch r.Kind {
	case Grant:
		f := []string{string(r.Kind), r.Subject, r.Tenant, r.Object, r.Action, string(r.Effect)}
		if r.Priority != DefaultPriority {
			f = append(f, strconv.Itoa(r.Priority))
		}
		return f
	case RoleAssignment:
		return []string{string(r.Kind), r.Subject, r.Role, r.Tenant}
	case RowFilter, Mask:
		return []string{string(r.Kind), r.Subject, r.Tenant, r.Object, r.Value}
	case AttributeDecl:
		return []string{string(r.Kind), r.Tenant, r.Object, r.Value}
	}
	return []string{string(r.Kind)}
}

// String is the rule's line in a policy file: "p, east_sales, demo, tag:finance, *, deny".
func (r Rule) String() string { return formatCSVLine(r.Fields()) }

// Key identifies the rule: two rules with the same key are the same rule, wherever they came from.
func (r Rule) Key() string {
	return strings.Join(r.Fields(), "\x1f")
}

// ParseRule reads a rule from the fields of its line, kind first, and checks it.
func ParseRule(fields []string) (Rule, error) {
	if len(fields) == 0 {
		return Rule{}, fmt.Errorf("empty rule")
	}
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	want := func(n ...int) error {
		for _, k := range n {
			if len(fields) == k {
				return nil
			}
		}
		return fmt.Errorf("a %s rule has %s fields (%s), not %d", fields[0], fieldCounts(n), ruleSyntax[RuleKind(fields[0])], len(fields))
	}
	var r Rule
	switch kind := RuleKind(fields[0]); kind {
	case Grant:
		if err := want(6, 7); err != nil {
			return r, err
		}
		r = Rule{Kind: kind, Subject: fields[1], Tenant: fields[2], Object: fields[3], Action: fields[4], Effect: Effect(fields[5]), Priority: DefaultPriority}
		if len(fields) == 7 {
			p, err := strconv.Atoi(fields[6])
			if err != nil {
				return r, fmt.Errorf("priority %q is not a whole number", fields[6])
			}
			r.Priority = p
		}
	case RoleAssignment:
		if err := want(4); err != nil {
			return r, err
		}
		r = Rule{Kind: kind, Subject: fields[1], Role: fields[2], Tenant: fields[3]}
	case RowFilter, Mask:
		if err := want(5); err != nil {
			return r, err
		}
		r = Rule{Kind: kind, Subject: fields[1], Tenant: fields[2], Object: fields[3], Value: fields[4]}
	case AttributeDecl:
		if err := want(4); err != nil {
			return r, err
		}
		r = Rule{Kind: kind, Tenant: fields[1], Object: fields[2], Value: fields[3]}
	default:
		return r, fmt.Errorf("unknown rule kind %q; a line starts with p, g, row_filter, mask or attribute", fields[0])
	}
	return r, r.Check()
}

var ruleSyntax = map[RuleKind]string{
	Grant:          "p, SUBJECT, TENANT, OBJECT, ACTION, EFFECT[, PRIORITY]",
	RoleAssignment: "g, MEMBER, ROLE, TENANT",
	RowFilter:      "row_filter, SUBJECT, TENANT, MODEL, FILTER",
	Mask:           "mask, SUBJECT, TENANT, DIMENSION, hash|partial",
	AttributeDecl:  "attribute, TENANT, NAME, string|number|strings|numbers",
}

func fieldCounts(n []int) string {
	parts := make([]string, len(n))
	for i, k := range n {
		parts[i] = strconv.Itoa(k)
	}
	return strings.Join(parts, " or ")
}

// Check validates the rule on its own, normalising what has a canonical form ("model:orders"
// becomes "orders" in a row filter). It knows nothing of the catalog: whether the model exists or
// the filter is sound is checked by whoever binds the policy to definitions.
func (r *Rule) Check() error {
	if err := checkName("tenant", r.Tenant, false); err != nil {
		return err
	}
	switch r.Kind {
	case Grant:
		if err := checkName("subject", r.Subject, true); err != nil {
			return err
		}
		if err := checkObjectPattern(r.Object); err != nil {
			return err
		}
		if err := checkActionPattern(r.Action); err != nil {
			return err
		}
		if r.Effect != Allow && r.Effect != Deny {
			return fmt.Errorf("effect %q is neither allow nor deny", r.Effect)
		}
	case RoleAssignment:
		if err := checkName("member", r.Subject, false); err != nil {
			return err
		}
		if err := checkName("role", r.Role, false); err != nil {
			return err
		}
		if r.Subject == r.Role {
			return fmt.Errorf("%s cannot have itself as a role", r.Subject)
		}
	case RowFilter:
		if err := checkName("subject", r.Subject, true); err != nil {
			return err
		}
		r.Object = strings.TrimPrefix(r.Object, string(ModelObject)+":")
		if err := checkName("model", r.Object, false); err != nil {
			return err
		}
		if r.Value == "" {
			return fmt.Errorf("the row filter on %s is empty; write a condition such as region = {user.region}", r.Object)
		}
	case Mask:
		if err := checkName("subject", r.Subject, true); err != nil {
			return err
		}
		r.Object = strings.TrimPrefix(r.Object, string(DimensionObject)+":")
		if m, d, ok := strings.Cut(r.Object, "."); !ok || m == "" || d == "" {
			return fmt.Errorf("mask names %q; name the dimension as model.dimension, such as customers.name", r.Object)
		}
		if k := MaskKind(r.Value); k != MaskHash && k != MaskPartial {
			return fmt.Errorf("mask %q is neither hash nor partial", r.Value)
		}
	case AttributeDecl:
		if !isIdentifier(r.Object) {
			return fmt.Errorf("attribute name %q is not an identifier (letters, digits and _)", r.Object)
		}
		switch r.Object {
		case AttrSubject, AttrTenant, AttrRoles:
			return fmt.Errorf("attribute %s is built in; declare only other claims", r.Object)
		}
		switch AttributeType(r.Value) {
		case AttrString, AttrNumber, AttrStrings, AttrNumbers:
		default:
			return fmt.Errorf("attribute type %q is not one of string, number, strings, numbers", r.Value)
		}
	default:
		return fmt.Errorf("unknown rule kind %q", r.Kind)
	}
	return nil
}

// checkName refuses empty names, names with control characters or surrounding spaces, and
// wildcards except a lone "*" where star says it is allowed.
func checkName(what, s string, star bool) error {
	switch {
	case s == "":
		return fmt.Errorf("the %s is empty", what)
	case s == "*" && star:
		return nil
	case strings.TrimSpace(s) != s:
		return fmt.Errorf("the %s %q has surrounding spaces", what, s)
	case strings.ContainsAny(s, "*?[]{}"):
		return fmt.Errorf("the %s %q has a wildcard; only objects and actions are patterns", what, s)
	}
	for _, c := range s {
		if unicode.IsControl(c) {
			return fmt.Errorf("the %s %q has a control character", what, s)
		}
	}
	return nil
}

func checkObjectPattern(p string) error {
	if p == "*" {
		return nil
	}
	kind, name, ok := strings.Cut(p, ":")
	if !ok || name == "" {
		return fmt.Errorf("object %q is not KIND:NAME; use metric:, dimension:, model:, domain:, tag:, connection: or policy:, or * for everything", p)
	}
	known := kind == "*"
	for _, k := range objectKinds {
		known = known || string(k) == kind
	}
	if !known {
		return fmt.Errorf("object %q has unknown kind %q; use metric, dimension, model, domain, tag, connection or policy", p, kind)
	}
	if !doublestar.ValidatePattern(p) {
		return fmt.Errorf("object pattern %q is malformed", p)
	}
	return nil
}

func checkActionPattern(p string) error {
	if strings.ContainsAny(p, "*?[") {
		if !doublestar.ValidatePattern(p) {
			return fmt.Errorf("action pattern %q is malformed", p)
		}
		return nil
	}
	_, err := ParseAction(p)
	return err
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
