package resolvers

import (
	"context"
	"slices"
	"strconv"

	"github.com/koujing/koujing/graph/model"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/store"
)

// qualityRunType is the GraphQL type name a quality run's global ID carries.
const qualityRunType = "QualityRun"

// latestQualityRuns returns the newest run of each rule that has one, by rule name, through the
// request's dataloader: the scores and lastRun fields of a page of metrics read the store once.
func latestQualityRuns(ctx context.Context, rules []*semantic.QualityRule) (map[string]store.QualityRun, error) {
	names := make([]string, len(rules))
	for i, r := range rules {
		names[i] = r.Name
	}
	runs, errs := governanceLoadersFor(ctx).latestQualityRun.LoadMany(ctx, names)()
	out := map[string]store.QualityRun{}
	for i, run := range runs {
		if len(errs) > i && errs[i] != nil {
			return nil, errs[i]
		}
		if run != nil {
			out[names[i]] = *run
		}
	}
	return out, nil
}

// qualityScore scores rules over their latest runs, listing those the caller may see.
func qualityScore(ctx context.Context, rules []*semantic.QualityRule) (*model.QualityScore, error) {
	latest, err := latestQualityRuns(ctx, rules)
	if err != nil {
		return nil, err
	}
	s := semantic.ScoreQuality(rules, latest)
	out := &model.QualityScore{Score: s.Score, RuleCount: s.Rules, Measured: s.Measured, Failing: s.Failing, Warning: s.Warning,
		Rules: nonNil(accessFor(ctx).VisibleQualityRules(rules))}
	if s.Status != "" {
		out.Status = &s.Status
	}
	return out, nil
}

// selectQualityRules returns the rules of at most one of a metric, a model and a domain that the
// caller may see; with none, every rule it may see.
func selectQualityRules(acc *semantic.Access, metric, model, domain *string) ([]*semantic.QualityRule, error) {
	sel := semantic.QualitySelection{Metric: deref(metric), Model: deref(model), Domain: deref(domain)}
	if sel == (semantic.QualitySelection{}) {
		return acc.QualityRules(), nil
	}
	return acc.SelectQualityRules(sel)
}

// qualityRunPage lists the runs of the rules the caller may see that the arguments select,
// newest first; cursors are run IDs.
func qualityRunPage(ctx context.Context, svc *semantic.Service, rule, metric, domain *string, status *store.QualityStatus, first *int, after *string) (*model.QualityRunConnection, error) {
	n, afterID, err := pageArgs(first, after)
	if err != nil {
		return nil, err
	}
	acc := accessFor(ctx)
	q := store.QualityRunQuery{BeforeID: afterID, Limit: n + 1}
	// Each argument narrows the rules: their names are the intersection.
	narrow := func(rules []*semantic.QualityRule) {
		var names []string
		for _, r := range rules {
			if q.Rules == nil || slices.Contains(q.Rules, r.Name) {
				names = append(names, r.Name)
			}
		}
		q.Rules = nonNil(names)
	}
	for _, sel := range []semantic.QualitySelection{{Rule: deref(rule)}, {Metric: deref(metric)}, {Domain: deref(domain)}} {
		if sel == (semantic.QualitySelection{}) {
			continue
		}
		rules, err := acc.SelectQualityRules(sel)
		if err != nil {
			return nil, err
		}
		narrow(rules)
	}
	if status != nil {
		q.Statuses = []store.QualityStatus{*status}
	}
	runs, err := svc.QualityRuns(ctx, acc, q)
	if err != nil {
		return nil, err
	}
	out := &model.QualityRunConnection{Edges: []*model.QualityRunEdge{}, PageInfo: &model.PageInfo{HasPreviousPage: afterID > 0}}
	if len(runs) > n {
		runs, out.PageInfo.HasNextPage = runs[:n], true
	}
	for i := range runs {
		out.Edges = append(out.Edges, &model.QualityRunEdge{Cursor: encodeCursor(strconv.FormatInt(runs[i].ID, 10)), Node: &runs[i]})
	}
	setPageCursors(out.PageInfo, len(out.Edges), func(i int) *string { return &out.Edges[i].Cursor })
	return out, nil
}

// responseQuality puts in the response's extensions.quality a flag for each metric of the
// operation's results whose quality rules did not all pass at their latest runs: its status,
// score, and the rules the caller may see that warned, failed or could not run. A metric in good
// health, or without rules, gets none; an operation without any flag has no such extension.
var responseQuality = listExtension[semantic.QualityFlag]{name: "Quality", key: "quality",
	same: func(a, b semantic.QualityFlag) bool { return a.Metric == b.Metric }}

// flagQuality adds the quality flags of a result's metrics to the response being answered;
// outside a GraphQL operation they are not read.
func flagQuality(ctx context.Context, svc *semantic.Service, metrics []string) {
	if !addToExtension[semantic.QualityFlag](ctx, responseQuality.key, nil) {
		return
	}
	addToExtension(ctx, responseQuality.key, svc.ResultQualityFlags(ctx, accessFor(ctx), metrics))
}
