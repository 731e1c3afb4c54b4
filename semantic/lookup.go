package semantic

import "strings"

// FindMetric returns the named metric, or an ErrNotFound error that suggests a near name.
func (c *Catalog) FindMetric(name string) (*Metric, error) {
	if m := c.Metric(name); m != nil {
		return m, nil
	}
	names := make([]string, len(c.metrics))
	for i, m := range c.metrics {
		names[i] = m.Name
	}
	return nil, notFound("unknown metric %q.%s", name, didYouMean(name, names))
}

// FindModel returns the named data model, or an ErrNotFound error that suggests a near name.
func (c *Catalog) FindModel(name string) (*DataModel, error) {
	if m := c.Model(name); m != nil {
		return m, nil
	}
	names := make([]string, len(c.models))
	for i, m := range c.models {
		names[i] = m.Name
	}
	return nil, notFound("unknown data model %q.%s", name, didYouMean(name, names))
}

// FindDomain returns the named business domain, or an ErrNotFound error that lists the domains.
func (c *Catalog) FindDomain(name string) (*Domain, error) {
	if d := c.Domain(name); d != nil {
		return d, nil
	}
	names := make([]string, len(c.domains))
	for i, d := range c.domains {
		names[i] = d.Name
	}
	return nil, notFound("unknown domain %q.%s The domains are %s.", name, didYouMean(name, names), strings.Join(names, ", "))
}

// FindDimension returns the dimension named "model.dimension", or an ErrNotFound error that
// suggests a near name.
func (c *Catalog) FindDimension(name string) (*Dimension, error) {
	if d := c.Dimension(name); d != nil {
		return d, nil
	}
	var names []string
	for _, m := range c.models {
		for _, d := range m.Dimensions {
			names = append(names, d.QualifiedName())
		}
	}
	if _, _, ok := cutQualified(name); !ok {
		return nil, notFound("unknown dimension %q; name dimensions as model.dimension, e.g. orders.region.%s", name, didYouMean(name, names))
	}
	return nil, notFound("unknown dimension %q.%s", name, didYouMean(name, names))
}
