package resolvers

import (
	"fmt"
	"sort"
	"strings"

	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/graph/model"
	"github.com/koujing/koujing/semantic"
)

// optional returns nil for text that was not given, so that the API says null rather than "".
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// labelOr returns the label, or the name when there is none.
func labelOr(label, name string) string {
	if label == "" {
		return name
	}
	return label
}

func relationshipKeys(r *semantic.Relationship) []*model.RelationshipKey {
	keys := make([]*model.RelationshipKey, len(r.FromColumns))
	for i := range r.FromColumns {
		keys[i] = &model.RelationshipKey{Column: r.FromColumns[i], TargetColumn: r.ToColumns[i]}
	}
	return keys
}

// metricExpression states a metric's definition in one line.
func metricExpression(m *semantic.Metric) string {
	switch m.Kind {
	case semantic.Atomic:
		return aggregateText(m.Measure) + " over " + m.Measure.Model.Name
	case semantic.Derived:
		conds := make([]string, len(m.Filters))
		for i, f := range m.Filters {
			conds[i] = filterText(f)
		}
		return m.Base.Name + " where " + strings.Join(conds, " and ")
	}
	return m.SQL
}

// aggregateText writes a measure as SQL: sum(amount), count(*), count(distinct customer_id).
func aggregateText(x *semantic.Measure) string {
	switch {
	case x.SQL == "":
		return x.Agg.String() + "(*)"
	case x.Agg == plan.CountDistinct:
		return "count(distinct " + x.SQL + ")"
	}
	return x.Agg.String() + "(" + x.SQL + ")"
}

// filterText writes a metric filter as SQL-like text: orders.status in ('paid', 'shipped').
func filterText(f *semantic.Filter) string {
	vals := make([]string, len(f.Values))
	for i, v := range f.Values {
		vals[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	list := "(" + strings.Join(vals, ", ") + ")"
	first := func() string {
		if len(vals) == 0 {
			return "''"
		}
		return vals[0]
	}
	d := f.Dimension
	switch f.Op {
	case semantic.Equals:
		if len(vals) > 1 {
			return d + " in " + list
		}
		return d + " = " + first()
	case semantic.NotEquals:
		if len(vals) > 1 {
			return d + " not in " + list
		}
		return d + " <> " + first()
	case semantic.InList:
		return d + " in " + list
	case semantic.NotInList:
		return d + " not in " + list
	case semantic.Gt:
		return d + " > " + first()
	case semantic.Gte:
		return d + " >= " + first()
	case semantic.Lt:
		return d + " < " + first()
	case semantic.Lte:
		return d + " <= " + first()
	case semantic.Between:
		if len(vals) == 2 {
			return d + " between " + vals[0] + " and " + vals[1]
		}
	case semantic.IsNullOp:
		return d + " is null"
	case semantic.IsNotNullOp:
		return d + " is not null"
	case semantic.ContainsOp:
		return d + " contains " + first()
	case semantic.NotContains:
		return d + " does not contain " + first()
	}
	return fmt.Sprintf("%s %s %s", d, f.Op, list)
}

// filterMetrics returns the metrics the caller can see that pass every condition of f, sorted by
// name.
func filterMetrics(acc *semantic.Access, f *model.MetricFilter) ([]*semantic.Metric, error) {
	all := acc.Metrics()
	if f == nil {
		return all, nil
	}
	if f.Domain != nil {
		if _, err := acc.FindDomain(*f.Domain); err != nil {
			return nil, err
		}
	}
	search := ""
	if f.Search != nil {
		search = strings.ToLower(strings.TrimSpace(*f.Search))
	}
	var out []*semantic.Metric
	for _, m := range all {
		switch {
		case f.Domain != nil && m.Domain != *f.Domain:
		case f.Tag != nil && !contains(m.Tags, *f.Tag):
		case search != "" && !metricMentions(m, search):
		default:
			out = append(out, m)
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// metricMentions reports whether the metric's name, label, description or a synonym contains
// text, which is in lower case.
func metricMentions(m *semantic.Metric, text string) bool {
	has := func(s string) bool { return strings.Contains(strings.ToLower(s), text) }
	if has(m.Name) || has(m.Label) || has(m.Description) {
		return true
	}
	for _, s := range m.Synonyms {
		if has(s) {
			return true
		}
	}
	return false
}

// listDimensions returns the dimensions the caller can see of the named model, or of every
// model when model is nil, sorted by qualified name.
func listDimensions(acc *semantic.Access, modelName *string) ([]*semantic.Dimension, error) {
	if modelName == nil {
		return acc.Dimensions(), nil
	}
	m, err := acc.FindModel(*modelName)
	if err != nil {
		return nil, err
	}
	return sortedDimensions(acc.ModelDimensions(m)), nil
}

// sortedDimensions returns dims sorted by qualified name, leaving dims as it was.
func sortedDimensions(dims []*semantic.Dimension) []*semantic.Dimension {
	out := append([]*semantic.Dimension(nil), dims...)
	sort.Slice(out, func(i, j int) bool { return out[i].QualifiedName() < out[j].QualifiedName() })
	return out
}
