package semantic

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/semantic/sqlexpr"
)

// CheckPolicy checks an access policy against the definitions it governs, so that a rule that
// could never apply as written is refused when the policy loads or changes, not discovered when
// a query runs: a row filter must name a model, parse, use only its tenant's declared attributes
// (a list attribute only as an IN list) and be a condition over the model's columns; a mask must
// name a text dimension. Every problem is reported, in a PolicyProblems, each naming its rule
// and the line it was read from.
func CheckPolicy(cat *Catalog, p *authz.Policy) error {
	var problems PolicyProblems
	for _, r := range p.State().Rules {
		var err error
		switch r.Kind {
		case authz.RowFilter:
			err = checkRowFilter(cat, p.Attributes(r.Tenant), r)
		case authz.Mask:
			err = checkMask(cat, r)
		}
		if err != nil {
			problems = append(problems, PolicyProblem{Line: r.Line, Rule: r.String(), Msg: err.Error()})
		}
	}
	if len(problems) > 0 {
		return problems
	}
	return nil
}

// PolicyProblem is a rule of an access policy that the definitions cannot bind.
type PolicyProblem struct {
	// Line is the line of the policy file the rule was read from; 0 when it came from elsewhere.
	Line int
	// Rule is the rule as a policy file line; Msg says what is wrong with it.
	Rule string
	Msg  string
}

// PolicyProblems are every problem of a policy, one per line when printed.
type PolicyProblems []PolicyProblem

func (ps PolicyProblems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		if p.Line > 0 {
			lines[i] = fmt.Sprintf("line %d: ", p.Line)
		}
		lines[i] += p.Rule + ": " + p.Msg
	}
	return strings.Join(lines, "\n")
}

func checkRowFilter(cat *Catalog, declared map[string]authz.AttributeType, r authz.Rule) error {
	m := cat.Model(r.Object)
	if m == nil {
		return fmt.Errorf("there is no data model %s.%s", r.Object, didYouMean(r.Object, names(cat.models, func(m *DataModel) string { return m.Name })))
	}
	n, err := sqlexpr.Parse(r.Value)
	if err != nil {
		return err
	}
	typeOf := func(name string) (authz.AttributeType, bool) {
		switch name {
		case authz.AttrSubject, authz.AttrTenant:
			return authz.AttrString, true
		case authz.AttrRoles:
			return authz.AttrStrings, true
		}
		t, ok := declared[name]
		return t, ok
	}
	for _, at := range sqlexpr.Attributes(n) {
		if _, ok := typeOf(at.Name); !ok {
			known := []string{authz.AttrSubject, authz.AttrTenant, authz.AttrRoles}
			for name := range declared {
				known = append(known, name)
			}
			sort.Strings(known)
			return fmt.Errorf("%s is not an attribute of tenant %s; declare it with a line such as \"attribute, %s, %s, string\" (the attributes are %s)",
				at, r.Tenant, r.Tenant, at.Name, strings.Join(known, ", "))
		}
	}
	if at := sqlexpr.ListAttributeOutsideIn(n, func(name string) bool { t, _ := typeOf(name); return t.IsList() }); at != nil {
		return fmt.Errorf("%s holds a list; use it as the list of IN, as in region IN %s", at, at)
	}
	// Bind with a value of each attribute's type to check the filter against the columns.
	sample, err := sqlexpr.ReplaceAttributes(n, func(at *sqlexpr.Attribute) ([]sqlexpr.Node, error) {
		t, _ := typeOf(at.Name)
		var v any = "x"
		if t == authz.AttrNumber || t == authz.AttrNumbers {
			v = float64(0)
		}
		if t.IsList() {
			v = []any{v}
		}
		return attributeConstants(at, t, v)
	})
	if err != nil {
		return err
	}
	if _, err := bindPredicate(cat, m, sample); err != nil {
		var ee *exprError
		if errors.As(err, &ee) && ee.hint != "" {
			return fmt.Errorf("%s (%s)", ee.msg, ee.hint)
		}
		return err
	}
	return nil
}

func checkMask(cat *Catalog, r authz.Rule) error {
	d := cat.Dimension(r.Object)
	if d == nil {
		var all []string
		for _, m := range cat.models {
			all = append(all, names(m.Dimensions, (*Dimension).QualifiedName)...)
		}
		return fmt.Errorf("there is no dimension %s.%s", r.Object, didYouMean(r.Object, all))
	}
	if !plan.IsString(d.Expr.DataType()) {
		return fmt.Errorf("%s is %s; only text dimensions can be masked", r.Object, article(plan.TypeName(d.Expr.DataType())))
	}
	return nil
}
