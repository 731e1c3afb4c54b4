package resolvers

import (
	"strings"

	"github.com/koujing/koujing/graph/model"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/store"
)

// dataDictionary turns a domain's data dictionary, already filtered by what the caller may read,
// into the API's.
func dataDictionary(d *semantic.Dictionary) *model.DataDictionary {
	out := &model.DataDictionary{Domain: d.Domain, Entries: make([]*model.DictionaryEntry, len(d.Entries))}
	for i, e := range d.Entries {
		var version *int
		if e.Version > 0 {
			version = &e.Version
		}
		out.Entries[i] = &model.DictionaryEntry{Kind: model.SearchKind(strings.ToUpper(string(e.Kind))), Name: e.Name, Label: e.Label,
			Definition: optional(e.Definition), Expression: e.Expression, Unit: optional(e.Unit), Format: optional(e.Format),
			Category: optional(e.Category), Owner: optional(e.Owner), Steward: optional(e.Steward), Status: store.Status(e.Status),
			Version: version, Metric: e.Metric, Dimension: e.Dim}
	}
	return out
}
