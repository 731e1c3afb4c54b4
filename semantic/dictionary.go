package semantic

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// DictionaryEntry is one metric or dimension of a domain's data dictionary (数据字典).
type DictionaryEntry struct {
	Kind SearchKind
	// Name is the metric's name or the dimension's qualified name.
	Name, Label string
	// Definition says what it counts in plain words (the description) and Expression how (the
	// metric's one-line definition, the dimension's SQL).
	Definition, Expression string
	Unit, Format           string
	Category               string
	Owner, Steward         string
	// Status is "published" or "deprecated"; Version the published version's number (0 when
	// the definitions are read from files).
	Status  string
	Version int
	Metric  *Metric
	Dim     *Dimension
}

// Dictionary is a domain's data dictionary: its metrics, by name, then the dimensions they can
// be grouped by, by qualified name — each the caller may see.
type Dictionary struct {
	Domain  *Domain
	Entries []DictionaryEntry
}

// Dictionary returns the data dictionary of a domain as the caller may read it: what it may not
// see is left out. A domain the caller cannot see is unknown (ErrNotFound).
func (a *Access) Dictionary(domain string) (*Dictionary, error) {
	d, err := a.FindDomain(domain)
	if err != nil {
		return nil, err
	}
	out := &Dictionary{Domain: d}
	seen := map[*Dimension]bool{}
	var dims []*Dimension
	for _, m := range a.Metrics() {
		if m.Domain != d.Name {
			continue
		}
		e := DictionaryEntry{Kind: SearchMetric, Name: m.Name, Label: labelOrName(m.Label, m.Name), Definition: m.Description,
			Expression: m.Expression(), Unit: m.Unit, Format: m.Format, Category: m.Category, Owner: cmp.Or(m.Owner, d.Owner),
			Steward: cmp.Or(m.Steward, d.Steward), Status: "published", Version: m.Version, Metric: m}
		if m.Deprecation != nil {
			e.Status = "deprecated"
		}
		out.Entries = append(out.Entries, e)
		for _, dim := range a.DimensionsFor(m) {
			if !seen[dim] {
				seen[dim] = true
				dims = append(dims, dim)
			}
		}
	}
	slices.SortFunc(dims, func(x, y *Dimension) int { return strings.Compare(x.QualifiedName(), y.QualifiedName()) })
	for _, dim := range dims {
		out.Entries = append(out.Entries, DictionaryEntry{Kind: SearchDimension, Name: dim.QualifiedName(), Label: labelOrName(dim.Label, dim.Name),
			Definition: dim.Description, Expression: dim.SQL, Format: string(dim.Type), Category: dim.Category, Owner: dim.Owner,
			Steward: dim.Steward, Status: "published", Version: dim.Model.Version, Dim: dim})
	}
	return out, nil
}

// labelOrName is what to call a definition: its label, or its name when it has none.
func labelOrName(label, name string) string { return cmp.Or(label, name) }

// dictionaryColumns are the columns of a dictionary's table, in order.
var dictionaryColumns = []string{"kind", "name", "label", "definition", "expression", "unit", "format", "category", "owner", "steward", "status", "version"}

func (e *DictionaryEntry) row() []string {
	version := ""
	if e.Version > 0 {
		version = strconv.Itoa(e.Version)
	}
	return []string{string(e.Kind), e.Name, e.Label, e.Definition, e.Expression, e.Unit, e.Format, e.Category, e.Owner, e.Steward, e.Status, version}
}

// WriteCSV writes the dictionary as CSV with a header row.
func (d *Dictionary) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(dictionaryColumns); err != nil {
		return err
	}
	for i := range d.Entries {
		if err := cw.Write(d.Entries[i].row()); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteMarkdown writes the dictionary as a Markdown document: a heading for the domain, then a
// table of its metrics and one of its dimensions.
func (d *Dictionary) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s — data dictionary\n\n", labelOrName(d.Domain.Label, d.Domain.Name))
	if d.Domain.Description != "" {
		fmt.Fprintf(&b, "%s\n\n", d.Domain.Description)
	}
	if d.Domain.Owner != "" || d.Domain.Steward != "" {
		fmt.Fprintf(&b, "Owner: %s. Steward: %s.\n\n", cmp.Or(d.Domain.Owner, "—"), cmp.Or(d.Domain.Steward, "—"))
	}
	for _, kind := range []SearchKind{SearchMetric, SearchDimension} {
		title := map[SearchKind]string{SearchMetric: "Metrics", SearchDimension: "Dimensions"}[kind]
		fmt.Fprintf(&b, "## %s\n\n| %s |\n|%s\n", title, strings.Join(dictionaryColumns[1:], " | "), strings.Repeat(" --- |", len(dictionaryColumns)-1))
		for i := range d.Entries {
			if e := &d.Entries[i]; e.Kind == kind {
				cells := e.row()[1:]
				for j, c := range cells {
					cells[j] = strings.ReplaceAll(strings.ReplaceAll(strings.TrimSpace(c), "|", `\|`), "\n", " ")
				}
				fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
			}
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
