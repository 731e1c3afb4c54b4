package resolvers

import (
	"slices"
	"sort"
	"strings"

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

// filterMetrics returns the metrics the caller can see that pass every condition of f, sorted by
// name: the catalog's one search, which MCP's search_metrics and GraphQL's search ask too. The
// search ranks what it finds; a list pages by name, so its cursors stay valid between pages. A
// filter holds every word: it cannot say which it left out, so it does not relax.
func filterMetrics(acc *semantic.Access, f *model.MetricFilter) ([]*semantic.Metric, error) {
	if f == nil {
		return acc.Metrics(), nil
	}
	res, err := acc.SearchMetrics(semantic.MetricSearch{Text: deref(f.Search), Domain: deref(f.Domain), Tag: deref(f.Tag)})
	if err != nil {
		return nil, err
	}
	found := res.Metrics
	slices.SortFunc(found, func(a, b *semantic.Metric) int { return strings.Compare(a.Name, b.Name) })
	return found, nil
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
