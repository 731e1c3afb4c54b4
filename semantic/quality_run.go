package semantic

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine/source"
	"github.com/koujing/koujing/semantic/store"
)

// QualityActor is who the audit log and the runs say ran a scheduled check.
const QualityActor = "koujing@quality"

// The types of the events a run announces to the webhooks.
const (
	// EventRedLine: a rule failed (crossed its red line) after a run that did not.
	EventRedLine = "quality.red_line"
	// EventRecovered: a rule passed or warned after a run that failed.
	EventRecovered = "quality.recovered"
)

// errQualityNeedsStore is the answer of quality runs on a service without a metadata store.
var errQualityNeedsStore = invalid("this server keeps no metadata store, and quality runs are kept there; start it with one (koujing serve --store)")

// RunQualityRule runs a quality rule now, as acc's principal asks, and records the run. See
// RunQualityRules for who may.
func (s *Service) RunQualityRule(ctx context.Context, acc *Access, name string) (store.QualityRun, error) {
	runs, err := s.RunQualityRules(ctx, acc, QualitySelection{Rule: name})
	if err != nil {
		return store.QualityRun{}, err
	}
	return runs[0], nil
}

// QualitySelection names the rules a run on demand covers: exactly one of one rule, the rules
// that bear on a metric (see Catalog.QualityRulesOf), those a model declares, or those that bear
// on a domain's metrics.
type QualitySelection struct {
	Rule, Metric, Model, Domain string
}

// RunQualityRules runs the selected rules now, one after another, as acc's principal asks,
// records their runs and returns them in the order of the rules' names. Checks read every row,
// as the service: so that nobody starts work on the warehouse that they could not ask for
// themselves, the caller must see each rule, may query what it reads, and must review the
// metric that declares it (the review action on the metric or its domain) — for a rule of a
// model, the model or one of the metrics built on it — or administer the tenant. Rules of a metric, model or domain the caller may not run are left
// out; when that leaves none, the answer is FORBIDDEN. A check that cannot run is recorded as an
// error run; the error returned is the store's, or one of the request.
func (s *Service) RunQualityRules(ctx context.Context, acc *Access, sel QualitySelection) ([]store.QualityRun, error) {
	if s.opts.Governance == nil {
		return nil, errQualityNeedsStore
	}
	rules, err := acc.SelectQualityRules(sel)
	if err != nil {
		return nil, err
	}
	var runnable []*QualityRule
	var refused error
	for _, r := range rules {
		if err := acc.mayRunQualityRule(r); err != nil {
			refused = err
			continue
		}
		runnable = append(runnable, r)
	}
	if len(runnable) == 0 && refused != nil {
		return nil, refused
	}
	out := []store.QualityRun{}
	for _, r := range runnable {
		run, err := s.runQualityRule(ctx, acc.cat, r, store.TriggerManual, acc.actor(), acc.who.Tenant)
		if err != nil {
			return out, err
		}
		out = append(out, run)
	}
	return out, nil
}

// SelectQualityRules returns the rules of a selection that the caller may see, sorted by name.
func (a *Access) SelectQualityRules(sel QualitySelection) ([]*QualityRule, error) {
	given := 0
	for _, v := range []string{sel.Rule, sel.Metric, sel.Model, sel.Domain} {
		if v != "" {
			given++
		}
	}
	if given != 1 {
		return nil, invalid("name exactly one of a rule, a metric, a model or a domain whose quality rules to run")
	}
	switch {
	case sel.Rule != "":
		r, err := a.FindQualityRule(sel.Rule)
		if err != nil {
			return nil, err
		}
		return []*QualityRule{r}, nil
	case sel.Metric != "":
		m, err := a.FindMetric(sel.Metric)
		if err != nil {
			return nil, err
		}
		return a.VisibleQualityRules(a.cat.QualityRulesOf(m)), nil
	case sel.Model != "":
		m, err := a.FindModel(sel.Model)
		if err != nil {
			return nil, err
		}
		return a.VisibleQualityRules(a.cat.QualityRulesOn(m)), nil
	}
	d, err := a.FindDomain(sel.Domain)
	if err != nil {
		return nil, err
	}
	return a.VisibleQualityRules(a.QualityRulesOfDomain(d)), nil
}

// mayRunQualityRule checks that the caller may run a rule on demand (see RunQualityRules).
func (a *Access) mayRunQualityRule(r *QualityRule) error {
	for _, m := range []*Metric{r.Metric, r.Against} {
		if m != nil {
			if _, err := a.queryableMetric(m.Name); err != nil {
				return err
			}
		}
	}
	if r.Model != nil && a.modelFlags(r.Model)&canQuery == 0 {
		return forbidden("%s may not run quality rule %s: it reads model %s, which it may not query", a.who.Subject, r.Name, r.Model.Name)
	}
	if a.may(authz.Object{Kind: authz.PolicyObject, Name: a.who.Tenant}, authz.Admin) || r.Metric == nil && a.may(r.Model.AccessObject(), authz.Review) {
		return nil
	}
	// A model belongs to no domain: its rules are run by whoever reviews a metric built on it.
	for _, m := range qualityRuleMetrics(a.cat, r) {
		if a.may(m.AccessObject(), authz.Review) {
			return nil
		}
	}
	return forbidden("%s may not run quality rule %s: running rules on demand takes the review action on the metric the rule bears on (or its domain), or the tenant's admin",
		a.who.Subject, r.Name)
}

// runQualityRule runs a rule of cat and records the run, announcing a red line crossed (or left)
// to the webhooks in the same transaction.
func (s *Service) runQualityRule(ctx context.Context, cat *Catalog, r *QualityRule, trigger, actor, tenant string) (store.QualityRun, error) {
	g := s.opts.Governance
	run := s.measureQualityRule(ctx, cat, r, g.opts.Now())
	run.Trigger, run.Actor, run.Tenant = trigger, actor, tenant
	var stored store.QualityRun
	err := g.store.Update(ctx, func(tx store.Tx) error {
		prev, err := tx.LatestQualityRuns([]string{r.Name})
		if err != nil {
			return err
		}
		if stored, err = tx.InsertQualityRun(run); err != nil {
			return err
		}
		wasFailing := len(prev) == 1 && prev[0].Status == store.QualityFail
		switch {
		case stored.Status == store.QualityFail && !wasFailing:
			return g.announceQuality(tx, cat, r, stored, EventRedLine)
		case wasFailing && (stored.Status == store.QualityPass || stored.Status == store.QualityWarn):
			return g.announceQuality(tx, cat, r, stored, EventRecovered)
		}
		return nil
	})
	if err != nil {
		return store.QualityRun{}, fmt.Errorf("record the run of quality rule %s: %w", r.Name, err)
	}
	g.latestRuns.put(stored)
	return stored, nil
}

// measureQualityRule compiles and runs a rule's check and judges what it measured; a check that
// cannot run is judged an error, saying why.
func (s *Service) measureQualityRule(ctx context.Context, cat *Catalog, r *QualityRule, now time.Time) store.QualityRun {
	run := store.QualityRun{Rule: r.Name, Kind: string(r.Kind), Subject: r.Subject(), Objects: r.Objects(),
		Warn: r.Warn, Fail: r.Fail, StartedAt: now.UTC()}
	kind, name, _ := strings.Cut(r.Subject(), ":")
	if v, ok := cat.VersionOf(store.Kind(kind), name); ok {
		run.Version = v.Number
	}
	start := time.Now()
	value, detail, err := s.measure(ctx, cat, r, now, &run)
	run.Duration = time.Since(start)
	switch {
	case err != nil:
		run.Status = store.QualityError
		detail = map[string]any{"error": qualityErrorText(err, s.opts.QueryTimeout)}
		if g := s.opts.Governance; g != nil {
			g.log.Warn("a quality check could not run", "rule", r.Name, "err", err)
		}
	case value == nil:
		// Nothing to measure where something should be: a freshness check of a table with no
		// times is as stale as can be.
		run.Status = store.QualityFail
	default:
		run.Value = value
		run.Status = r.Judge(*value)
	}
	run.Detail = jsonText(detail)
	return run
}

// measure runs a rule's check, recording its query on run.
func (s *Service) measure(ctx context.Context, cat *Catalog, r *QualityRule, now time.Time, run *store.QualityRun) (*float64, map[string]any, error) {
	check, err := cat.compileQualityCheck(r, s.opts.CompileOptions, now)
	if err != nil {
		return nil, nil, err
	}
	if ex, err := s.engine.Explain(check.plan); err == nil {
		var b strings.Builder
		b.WriteString(ex.Plan)
		for i, st := range ex.Statements {
			fmt.Fprintf(&b, "\nStatement %d, on %s:\n%s\n", i+1, st.Connection, st.SQL)
			for j, p := range st.Params {
				fmt.Fprintf(&b, "$%d = %s\n", j+1, p)
			}
		}
		run.Query = strings.TrimRight(b.String(), "\n")
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.QueryTimeout)
	defer cancel()
	res, err := s.engine.Execute(ctx, check.plan)
	if err != nil {
		return nil, nil, err
	}
	defer res.Release()
	return check.measure(res.Batches)
}

// qualityErrorText says why a check could not run, for whoever reads the run: what went wrong,
// without the details of a source (its address, its user) that the server's log keeps.
func qualityErrorText(err error, timeout time.Duration) string {
	var qe *QueryError
	switch {
	case errors.As(err, &qe):
		return qe.Msg
	case errors.Is(err, source.ErrUnavailable):
		return "a data source the check reads was unavailable"
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("the check took longer than the query timeout (%v)", timeout)
	case errors.Is(err, context.Canceled):
		return "the check was cancelled"
	}
	return err.Error()
}

// announceQuality appends a quality event and queues it for the deployment's webhooks and those
// of the domains of the metrics the rule bears on, naming their owners.
func (g *Governance) announceQuality(tx store.Tx, cat *Catalog, r *QualityRule, run store.QualityRun, event string) error {
	metrics := qualityRuleMetrics(cat, r)
	var owners, names, hooks []string
	for _, m := range metrics {
		names = append(names, m.Name)
		if m.Owner != "" {
			owners = appendNew(owners, m.Owner)
		}
		hooks = appendNew(hooks, g.domainWebhooks(m.Domain)...)
	}
	detail := map[string]any{"rule": r.Name, "kind": r.Kind, "status": run.Status, "run": run.ID, "version": run.Version,
		"threshold": r.Threshold(), "owners": nonNilStrings(owners), "metrics": nonNilStrings(names)}
	if run.Value != nil {
		detail["value"] = *run.Value
	}
	if run.Warn != nil {
		detail["warn"] = *run.Warn
	}
	if run.Fail != nil {
		detail["fail"] = *run.Fail
	}
	e, err := tx.AppendEvent(store.Event{At: run.StartedAt, Tenant: run.Tenant, Actor: run.Actor, Type: event, Object: run.Subject,
		Detail: jsonText(detail)})
	if err != nil {
		return err
	}
	return g.enqueue(tx, e, hooks)
}

// qualityRuleMetrics are the metrics whose owners a rule's red line concerns: the metric that
// declares it, or the metrics built on the model that does.
func qualityRuleMetrics(cat *Catalog, r *QualityRule) []*Metric {
	if r.Metric != nil {
		return []*Metric{r.Metric}
	}
	var out []*Metric
	for _, m := range cat.Metrics() {
		if slices.Contains(m.MeasureModels(), r.Model) {
			out = append(out, m)
		}
	}
	return out
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// LatestQualityRuns returns the newest run of each named rule that has run, by rule name. It
// checks no access: callers name rules the caller may see. A service without a metadata store
// has no runs.
func (s *Service) LatestQualityRuns(ctx context.Context, rules []string) (map[string]store.QualityRun, error) {
	g := s.opts.Governance
	if g == nil || len(rules) == 0 {
		return map[string]store.QualityRun{}, nil
	}
	return readLatestQualityRuns(ctx, g.store, rules)
}

// readLatestQualityRuns reads the newest run of each named rule that has run, by rule name.
func readLatestQualityRuns(ctx context.Context, st store.Store, rules []string) (map[string]store.QualityRun, error) {
	var runs []store.QualityRun
	err := st.View(ctx, func(tx store.Tx) error {
		var err error
		runs, err = tx.LatestQualityRuns(rules)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]store.QualityRun, len(runs))
	for _, r := range runs {
		out[r.Rule] = r
	}
	return out, nil
}

// QualityRuns returns the runs the query selects of the rules the caller may see, newest first.
// Runs of rules the definitions no longer have are not listed.
func (s *Service) QualityRuns(ctx context.Context, acc *Access, q store.QualityRunQuery) ([]store.QualityRun, error) {
	g := s.opts.Governance
	if g == nil {
		return nil, errQualityNeedsStore
	}
	visible := []string{}
	for _, r := range acc.QualityRules() {
		if q.Rules == nil || slices.Contains(q.Rules, r.Name) {
			visible = append(visible, r.Name)
		}
	}
	q.Rules = visible
	runs, err := g.store.QualityRuns(ctx, q)
	if err != nil {
		return nil, err
	}
	return filterVisible(runs, acc.CanReadQualityRun), nil
}

// QualityRun returns a run by its ID, if the caller may see it.
func (s *Service) QualityRun(ctx context.Context, acc *Access, id int64) (*store.QualityRun, error) {
	if s.opts.Governance == nil {
		return nil, nil
	}
	runs, err := s.QualityRuns(ctx, acc, store.QualityRunQuery{BeforeID: id + 1, Limit: 1})
	if err != nil || len(runs) == 0 || runs[0].ID != id {
		return nil, err
	}
	return &runs[0], nil
}
