package resolvers

import (
	"strings"

	"github.com/koujing/koujing/graph/model"
	"github.com/koujing/koujing/semantic"
)

// The page sizes of a search.
const (
	defaultSearchHits = 20
	maxSearchHits     = 100
)

// searchRequest reads the arguments of Query.search into the catalog's search request.
func searchRequest(text string, first *int, kinds []model.SearchKind, domain *string) (semantic.SearchRequest, error) {
	n := defaultSearchHits
	if first != nil {
		n = *first
	}
	if n < 1 || n > maxSearchHits {
		return semantic.SearchRequest{}, invalidf("first is %d; ask for 1 to %d hits", n, maxSearchHits)
	}
	req := semantic.SearchRequest{Text: text, Limit: n, Domain: deref(domain)}
	for _, k := range kinds {
		req.Kinds = append(req.Kinds, semantic.SearchKind(strings.ToLower(string(k))))
	}
	return req, nil
}

// searchResults turns what the catalog's search found into the API's hits.
func searchResults(res semantic.SearchResult) *model.SearchResults {
	out := &model.SearchResults{TotalCount: res.Total, Hits: make([]model.SearchHit, len(res.Hits)), IgnoredWords: res.Ignored}
	if out.IgnoredWords == nil {
		out.IgnoredWords = []string{}
	}
	for i, h := range res.Hits {
		matches := make([]*model.SearchMatch, len(h.Matches))
		for j, m := range h.Matches {
			spans := make([]*model.TextSpan, len(m.Spans))
			for k, s := range m.Spans {
				spans[k] = &model.TextSpan{Start: s.Start, End: s.End}
			}
			matches[j] = &model.SearchMatch{Field: model.SearchField(strings.ToUpper(string(m.Field))), Text: m.Text, Spans: spans}
		}
		if m := h.Metric; m != nil {
			out.Hits[i] = &model.MetricHit{Score: h.Score, Kind: model.SearchKindMetric, Name: m.Name, Label: labelOr(m.Label, m.Name),
				Description: optional(m.Description), Matches: matches, Metric: m}
			continue
		}
		d := h.Dimension
		out.Hits[i] = &model.DimensionHit{Score: h.Score, Kind: model.SearchKindDimension, Name: d.QualifiedName(), Label: labelOr(d.Label, d.Name),
			Description: optional(d.Description), Matches: matches, Dimension: d}
	}
	return out
}
