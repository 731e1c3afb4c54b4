package semantic

import (
	"slices"
	"strings"
)

// MetricSearch selects metrics; every condition that is set must hold. It is the one search of
// the catalog: GraphQL's metrics(filter:) and MCP's search_metrics both ask it, so a word finds
// the same metrics on every surface.
type MetricSearch struct {
	// Text keeps the metrics that mention every word of it (see Metric.Mentions); empty keeps all.
	Text string
	// Domain keeps the metrics of one business domain; empty keeps all.
	Domain string
	// Tag keeps the metrics that carry the tag; empty keeps all.
	Tag string
}

// SearchMetrics returns the metrics the caller can see that match s, sorted by name. A domain the
// caller cannot see is unknown (ErrNotFound), as one that does not exist.
func (a *Access) SearchMetrics(s MetricSearch) ([]*Metric, error) {
	if s.Domain != "" {
		if _, err := a.FindDomain(s.Domain); err != nil {
			return nil, err
		}
	}
	words := searchWords(s.Text)
	var out []*Metric
	for _, m := range a.Metrics() {
		switch {
		case s.Domain != "" && m.Domain != s.Domain:
		case s.Tag != "" && !slices.Contains(m.Tags, s.Tag):
		case !m.mentionsAll(words):
		default:
			out = append(out, m)
		}
	}
	return out, nil
}

// Mentions reports whether every word of text (split at spaces) appears, ignoring case, in the
// metric's name, label, description or one of its synonyms — not necessarily all in the same one:
// "paid gmv" finds gmv_paid, "GMV" finds "GMV (paid)", and "下单GMV" finds the synonym 下单GMV.
// Text with no words mentions every metric.
func (m *Metric) Mentions(text string) bool { return m.mentionsAll(searchWords(text)) }

// searchWords splits search text into lower-case words.
func searchWords(text string) []string { return strings.Fields(strings.ToLower(text)) }

// mentionsAll reports whether each of words, in lower case, is in one of the metric's texts.
func (m *Metric) mentionsAll(words []string) bool {
	if len(words) == 0 {
		return true
	}
	texts := make([]string, 0, 3+len(m.Synonyms))
	for _, s := range append([]string{m.Name, m.Label, m.Description}, m.Synonyms...) {
		if s != "" {
			texts = append(texts, strings.ToLower(s))
		}
	}
	for _, w := range words {
		if !slices.ContainsFunc(texts, func(t string) bool { return strings.Contains(t, w) }) {
			return false
		}
	}
	return true
}
