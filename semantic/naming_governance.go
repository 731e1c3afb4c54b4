package semantic

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/koujing/koujing/semantic/store"
)

// NamingRulesAuthor is the author of the comments that attach naming warnings to a change
// request.
const NamingRulesAuthor = "koujing (naming rules)"

// SetNamingRules makes every proposal, amendment and submission lint the definitions it
// proposes against the rules: one that breaks a rule of severity error is refused; warnings are
// attached to the request as a comment. Nil, or rules without any, check nothing.
func (g *Governance) SetNamingRules(r *NamingRules) { g.naming.Store(r) }

// lintPlan lints the definitions a plan creates or updates, as loaded in cat, refusing the plan
// when one breaks a rule of severity error and noting each item's warnings in it.
func (g *Governance) lintPlan(cat *Catalog, plan []plannedItem) error {
	rules := g.naming.Load()
	if rules == nil || len(rules.Rules) == 0 {
		return nil
	}
	changed := map[string]int{}
	for i, pi := range plan {
		if pi.item.Action == store.Create || pi.item.Action == store.Update {
			changed[string(pi.item.Kind)+":"+pi.item.Name] = i
		}
	}
	findings := rules.LintOnly(cat, func(key string) bool { _, ok := changed[key]; return ok })
	if errs := findings.Errors(); len(errs) > 0 {
		return &QueryError{Class: ErrInvalidDefinition, Msg: "the proposed definitions break the naming rules; rename them, or ask whoever keeps " +
			NamingRulesFile + " to change the rule:\n" + errs.String()}
	}
	for _, f := range findings {
		for key, i := range changed {
			if kind, name, _ := strings.Cut(key, ":"); lintSubjectOf(f, kind, name) {
				plan[i].warnings = append(plan[i].warnings, f)
			}
		}
	}
	return nil
}

// lintSubjectOf reports whether a finding is about the definition of that kind and name: the
// metric, or the model or one of its dimensions and measures.
func lintSubjectOf(f LintFinding, kind, name string) bool {
	if kind == string(store.KindMetric) {
		return f.Subject == "metric "+name
	}
	return f.Source == name
}

// attachLintWarnings comments on a request with the naming warnings of its plan, if any.
func (g *Governance) attachLintWarnings(tx store.Tx, cr *store.ChangeRequest, plan []plannedItem, now time.Time) error {
	var lines []string
	for _, pi := range plan {
		for _, w := range pi.warnings {
			lines = append(lines, "- "+w.String())
		}
	}
	if len(lines) == 0 {
		return nil
	}
	body := fmt.Sprintf("The proposed definitions break %d naming rule(s) of severity warning:\n%s", len(lines), strings.Join(lines, "\n"))
	_, err := tx.InsertComment(store.Comment{ChangeRequest: cr.ID, Author: NamingRulesAuthor, Body: body, At: now})
	return err
}

// lintRequest lints the definitions a request proposes, loaded with those that serve everyone,
// refusing it when one breaks a rule of severity error.
func (g *Governance) lintRequest(ctx context.Context, tx store.Tx, cr *store.ChangeRequest) error {
	if rules := g.naming.Load(); rules == nil || len(rules.Rules) == 0 {
		return nil
	}
	serving, err := tx.Versions(store.VersionQuery{Statuses: []store.Status{store.Published, store.Deprecated, store.Retired}})
	if err != nil {
		return err
	}
	plan, err := requestPlan(tx, cr)
	if err != nil {
		return err
	}
	planned, err := g.loadPlanned(ctx, servingDefinitions(serving), plan)
	if err != nil {
		return err
	}
	return g.lintPlan(planned.cat, plan)
}
