package semantic

import (
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The catalog's fields — domains' categories and stewards, metrics' and dimensions' categories,
// owners and stewards — are read beside the definitions they describe; this file checks them.

// checkCatalogName reports a category or a steward that is not written as a name: one line, not
// empty and without spaces at either end, such as "revenue" or "team-finance".
func (l *loader) checkCatalogName(f *defFile, n *yaml.Node, key, what string) bool {
	if n == nil {
		return true
	}
	if v := n.Value; strings.TrimSpace(v) != v || v == "" || strings.ContainsAny(v, "\n\t") {
		l.report(f.pos(n), "write one name on one line, such as revenue", "%s of %s is not a name: %q", key, what, v)
		return false
	}
	return true
}

// readCategories reads the categories a domain lists for its metrics: names, each once.
func (l *loader) readCategories(f *defFile, domain *fields) []string {
	vals, nodes := l.strList(domain, "categories", false)
	var out []string
	for i, v := range vals {
		if !l.checkCatalogName(f, nodes[i], "a category", domain.what) {
			continue
		}
		if slices.Contains(out, v) {
			l.report(f.pos(nodes[i]), "list each category once", "category %q of %s is listed twice", v, domain.what)
			continue
		}
		out = append(out, v)
	}
	if domain.get("categories") != nil && len(vals) == 0 {
		l.report(f.pos(domain.get("categories")), "leave categories out to allow any", "categories of %s is empty", domain.what)
	}
	return out
}

// checkCategory checks that a metric's category is a name and, when its domain lists
// categories, one of them.
func (l *loader) checkCategory(md *metricDef) {
	x := md.m
	if !l.checkCatalogName(md.f, md.categoryNode, "category", md.what) || md.categoryNode == nil {
		return
	}
	d := l.domainByName[x.Domain]
	switch {
	case d == nil:
		return
	case len(d.d.Categories) > 0 && !slices.Contains(d.d.Categories, x.Category):
		l.report(md.f.pos(md.categoryNode), suggestion(x.Category, d.d.Categories, "the categories of domain "+x.Domain+" are"),
			"%s: category %q is not one of domain %s's categories", md.what, x.Category, x.Domain)
	}
}
