package semantic

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/semantic/sqlexpr"
)

// ErrForbidden is the class of errors about something the caller may see but not do, such as
// querying a metric that is in its catalog for reading only. What a caller may not see is not
// forbidden but absent: ErrNotFound, exactly as for a name that does not exist.
var ErrForbidden = errors.New("forbidden")

// Access is the catalog as one principal may see and use it: which metrics, dimensions, models
// and domains exist for it, which it may query, which rows of each model it sees (its row
// filters, bound to its attributes) and which dimensions it sees masked. Every surface reaches
// definitions and queries through an Access, so no surface can skip a check. Decisions are
// remembered for every principal with the same tenant, subject and roles under one policy.
// It is safe for concurrent use.
type Access struct {
	cat    *Catalog
	who    *authz.Principal
	grants *authz.Grants // nil: everything is allowed
	memo   *accessMemo
}

// AccessObject is the metric as access policies name it: metric:NAME, in domain:DOMAIN, with a
// tag:TAG for each of its tags. Rules on models do not match metrics: a metric is governed by
// its name, domain and tags, and the models it aggregates may stay hidden behind it.
func (m *Metric) AccessObject() authz.Object {
	return authz.Object{Kind: authz.MetricObject, Name: m.Name, Domain: m.Domain, Tags: m.Tags}
}

// AccessObject is the dimension as access policies name it: dimension:MODEL.NAME, of
// model:MODEL, with a tag:TAG for each of its tags.
func (d *Dimension) AccessObject() authz.Object {
	return authz.Object{Kind: authz.DimensionObject, Name: d.QualifiedName(), Models: []string{d.Model.Name}, Tags: d.Tags}
}

// AccessObject is the data model as access policies name it: model:NAME.
func (m *DataModel) AccessObject() authz.Object {
	return authz.Object{Kind: authz.ModelObject, Name: m.Name}
}

// AccessObject is the domain as access policies name it: domain:NAME.
func (d *Domain) AccessObject() authz.Object {
	return authz.Object{Kind: authz.DomainObject, Name: d.Name}
}

// Access flags of one object.
const (
	canRead uint8 = 1 << iota
	canQuery
)

// accessMemo remembers the decisions of one set of grants over one catalog.
type accessMemo struct {
	mu      sync.Mutex
	metrics map[*Metric]uint8
	dims    map[*Dimension]uint8
	models  map[*DataModel]uint8
	domains map[*Domain]bool
	// filters holds each row filter's text parsed, or the error parsing it gave.
	filters map[string]parsedFilter
	// lists caches the visible metrics, models, domains and dimensions, once listed.
	metricList []*Metric
	modelList  []*DataModel
	domainList []*Domain
	listed     bool
}

type parsedFilter struct {
	node sqlexpr.Node
	err  error
}

func newAccessMemo() *accessMemo {
	return &accessMemo{metrics: map[*Metric]uint8{}, dims: map[*Dimension]uint8{}, models: map[*DataModel]uint8{},
		domains: map[*Domain]bool{}, filters: map[string]parsedFilter{}}
}

// FullAccess returns access to everything in the catalog, with no row filter: for the command
// line and tests, run by someone who can read the definitions and the data anyway.
func (c *Catalog) FullAccess() *Access {
	return &Access{cat: c, who: &authz.Principal{Subject: "local", Tenant: "local", Method: authz.MethodLocal}}
}

// accessFor returns the access of a principal under grants, sharing memo with every other
// principal of the same grants.
func (c *Catalog) accessFor(who *authz.Principal, g *authz.Grants, memo *accessMemo) *Access {
	return &Access{cat: c, who: who, grants: g, memo: memo}
}

// Principal returns who the access is for.
func (a *Access) Principal() *authz.Principal { return a.who }

// Unrestricted reports whether the access allows everything (FullAccess).
func (a *Access) Unrestricted() bool { return a.grants == nil }

// memoFlags returns the remembered flags of key in m, computing and remembering them with fn.
// fn runs without the lock held, as it asks for other objects' flags.
func memoFlags[K comparable](a *Access, m map[K]uint8, key K, fn func() uint8) uint8 {
	a.memo.mu.Lock()
	f, ok := m[key]
	a.memo.mu.Unlock()
	if ok {
		return f
	}
	f = fn()
	a.memo.mu.Lock()
	m[key] = f
	a.memo.mu.Unlock()
	return f
}

func (a *Access) allowed(o authz.Object) uint8 {
	var f uint8
	if a.grants.Allowed(o, authz.Read) {
		f |= canRead
		if a.grants.Allowed(o, authz.Query) {
			f |= canQuery
		}
	}
	return f
}

func (a *Access) modelFlags(m *DataModel) uint8 {
	if a.grants == nil {
		return canRead | canQuery
	}
	return memoFlags(a, a.memo.models, m, func() uint8 {
		return a.allowed(m.AccessObject())
	})
}

func (a *Access) dimensionFlags(d *Dimension) uint8 {
	if a.grants == nil {
		return canRead | canQuery
	}
	return memoFlags(a, a.memo.dims, d, func() uint8 {
		return a.allowed(d.AccessObject()) &
			a.modelFlags(d.Model)
	})
}

// metricFlags decides a metric: it is visible when the caller may read it, every metric it is
// built on and every dimension its filters use — a metric computed from something hidden would
// reveal it — and queryable when, besides, the caller may query it and every metric it is built
// on. A metric may be visible while its models are not: the metric is the governed number, and
// the models can stay an implementation detail, as a view exposes a table's columns.
func (a *Access) metricFlags(m *Metric) uint8 {
	if a.grants == nil {
		return canRead | canQuery
	}
	return memoFlags(a, a.memo.metrics, m, func() uint8 {
		f := a.allowed(m.AccessObject())
		switch m.Kind {
		case Derived:
			f &= a.metricFlags(m.Base)
			for _, flt := range m.Filters {
				if d := a.cat.Dimension(flt.Dimension); d == nil || a.dimensionFlags(d)&canRead == 0 {
					f = 0
				}
			}
		case Composite:
			for _, dep := range m.DependsOn() {
				f &= a.metricFlags(dep)
			}
		}
		return f
	})
}

// CanReadMetric reports whether the metric exists for the caller.
func (a *Access) CanReadMetric(m *Metric) bool { return a.metricFlags(m)&canRead != 0 }

// CanReadDimension reports whether the dimension exists for the caller.
func (a *Access) CanReadDimension(d *Dimension) bool { return a.dimensionFlags(d)&canRead != 0 }

// CanReadModel reports whether the data model, its measures and relationships exist for the
// caller.
func (a *Access) CanReadModel(m *DataModel) bool { return a.modelFlags(m)&canRead != 0 }

// CanReadDomain reports whether the domain exists for the caller: when it may read the domain,
// or one of its metrics.
func (a *Access) CanReadDomain(d *Domain) bool {
	if a.grants == nil {
		return true
	}
	a.memo.mu.Lock()
	v, ok := a.memo.domains[d]
	a.memo.mu.Unlock()
	if ok {
		return v
	}
	v = a.grants.Allowed(d.AccessObject(), authz.Read)
	for _, m := range a.cat.metrics {
		if v {
			break
		}
		v = m.Domain == d.Name && a.CanReadMetric(m)
	}
	a.memo.mu.Lock()
	a.memo.domains[d] = v
	a.memo.mu.Unlock()
	return v
}

// Mask returns how the caller sees a dimension's values masked, or "" when it sees them as they
// are.
func (a *Access) Mask(d *Dimension) authz.MaskKind {
	if a.grants == nil {
		return ""
	}
	return a.grants.Mask(d.QualifiedName())
}

// Metrics returns the metrics the caller can see, sorted by name.
func (a *Access) Metrics() []*Metric {
	if a.grants == nil {
		return a.cat.metrics
	}
	metrics, _, _ := a.list()
	return metrics
}

// Models returns the data models the caller can see, sorted by name.
func (a *Access) Models() []*DataModel {
	if a.grants == nil {
		return a.cat.models
	}
	_, models, _ := a.list()
	return models
}

// Domains returns the business domains the caller can see, sorted by name.
func (a *Access) Domains() []*Domain {
	if a.grants == nil {
		return a.cat.domains
	}
	_, _, domains := a.list()
	return domains
}

// list returns the metrics, models and domains the caller can see, listing them the first time.
// The lists are read under the lock: requests of one caller list concurrently, and the first to
// finish keeps its lists.
func (a *Access) list() ([]*Metric, []*DataModel, []*Domain) {
	m := a.memo
	m.mu.Lock()
	if m.listed {
		defer m.mu.Unlock()
		return m.metricList, m.modelList, m.domainList
	}
	m.mu.Unlock()
	metrics := filterVisible(a.cat.metrics, a.CanReadMetric)
	models := filterVisible(a.cat.models, a.CanReadModel)
	domains := filterVisible(a.cat.domains, a.CanReadDomain)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.listed {
		m.metricList, m.modelList, m.domainList, m.listed = metrics, models, domains, true
	}
	return m.metricList, m.modelList, m.domainList
}

// names returns the name of each object.
func names[T any](all []T, name func(T) string) []string {
	out := make([]string, len(all))
	for i, x := range all {
		out[i] = name(x)
	}
	return out
}

func filterVisible[T any](all []T, visible func(T) bool) []T {
	out := make([]T, 0, len(all))
	for _, x := range all {
		if visible(x) {
			out = append(out, x)
		}
	}
	return out
}

// ModelDimensions returns the dimensions of a model the caller can see, in definition order.
func (a *Access) ModelDimensions(m *DataModel) []*Dimension {
	return filterVisible(m.Dimensions, a.CanReadDimension)
}

// Dimensions returns every dimension the caller can see, sorted by qualified name.
func (a *Access) Dimensions() []*Dimension {
	var out []*Dimension
	for _, m := range a.Models() {
		out = append(out, a.ModelDimensions(m)...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].QualifiedName() < out[j].QualifiedName() })
	return out
}

// DimensionsFor returns the dimensions the caller can see that metric m can be grouped by.
func (a *Access) DimensionsFor(m *Metric) []*Dimension {
	return filterVisible(a.cat.DimensionsFor(m), a.CanReadDimension)
}

// MeasureModels returns the models metric m aggregates that the caller can see.
func (a *Access) MeasureModels(m *Metric) []*DataModel {
	return filterVisible(m.MeasureModels(), a.CanReadModel)
}

// Relationships returns a model's relationships to models the caller can see.
func (a *Access) Relationships(m *DataModel) []*Relationship {
	return filterVisible(m.Relationships, func(r *Relationship) bool { return a.CanReadModel(r.To) })
}

// Metric returns the named metric, or nil when there is none the caller can see.
func (a *Access) Metric(name string) *Metric {
	if m := a.cat.Metric(name); m != nil && a.CanReadMetric(m) {
		return m
	}
	return nil
}

// Dimension returns the dimension named "model.dimension", or nil when there is none the caller
// can see.
func (a *Access) Dimension(name string) *Dimension {
	if d := a.cat.Dimension(name); d != nil && a.CanReadDimension(d) {
		return d
	}
	return nil
}

// Model returns the named data model, or nil when there is none the caller can see.
func (a *Access) Model(name string) *DataModel {
	if m := a.cat.Model(name); m != nil && a.CanReadModel(m) {
		return m
	}
	return nil
}

// Measure returns the measure named "model.measure", or nil when there is none the caller can
// see: the measures of a model the caller can see.
func (a *Access) Measure(name string) *Measure {
	if m := a.cat.Measure(name); m != nil && a.CanReadModel(m.Model) {
		return m
	}
	return nil
}

// Domain returns the named domain, or nil when there is none the caller can see.
func (a *Access) Domain(name string) *Domain {
	if d := a.cat.Domain(name); d != nil && a.CanReadDomain(d) {
		return d
	}
	return nil
}

// FindMetric returns the named metric, or an ErrNotFound error that suggests a near name. A
// metric the caller may not see gets exactly the error of one that does not exist, suggestions
// drawn only from what it may see.
func (a *Access) FindMetric(name string) (*Metric, error) {
	if m := a.Metric(name); m != nil {
		return m, nil
	}
	if v, ok := a.cat.retiredMetric(name); ok && (a.grants == nil || a.grants.Allowed(retiredObject(v), authz.Read)) {
		msg := fmt.Sprintf("metric %s is retired", name)
		if d := v.Deprecation; d != nil && d.Replacement != "" {
			msg += "; use " + d.Replacement + " instead"
		}
		return nil, notFound("%s", msg)
	}
	return nil, notFound("unknown metric %q.%s", name, didYouMean(name, names(a.Metrics(), func(m *Metric) string { return m.Name })))
}

// FindModel returns the named data model, or an ErrNotFound error that suggests a near name.
func (a *Access) FindModel(name string) (*DataModel, error) {
	if m := a.Model(name); m != nil {
		return m, nil
	}
	return nil, notFound("unknown data model %q.%s", name, didYouMean(name, names(a.Models(), func(m *DataModel) string { return m.Name })))
}

// FindDomain returns the named business domain, or an ErrNotFound error that lists the domains.
func (a *Access) FindDomain(name string) (*Domain, error) {
	if d := a.Domain(name); d != nil {
		return d, nil
	}
	all := names(a.Domains(), func(d *Domain) string { return d.Name })
	list := "none"
	if len(all) > 0 {
		list = strings.Join(all, ", ")
	}
	return nil, notFound("unknown domain %q.%s The domains are %s.", name, didYouMean(name, all), list)
}

// FindDimension returns the dimension named "model.dimension", or an ErrNotFound error that
// suggests a near name.
func (a *Access) FindDimension(name string) (*Dimension, error) {
	if d := a.Dimension(name); d != nil {
		return d, nil
	}
	all := names(a.Dimensions(), (*Dimension).QualifiedName)
	if _, _, ok := cutQualified(name); !ok {
		return nil, notFound("unknown dimension %q; name dimensions as model.dimension, e.g. orders.region.%s", name, didYouMean(name, all))
	}
	return nil, notFound("unknown dimension %q.%s", name, didYouMean(name, all))
}

// queryableMetric returns the named metric if the caller may query it.
func (a *Access) queryableMetric(name string) (*Metric, error) {
	m, err := a.FindMetric(name)
	if err != nil {
		return nil, err
	}
	if a.metricFlags(m)&canQuery == 0 {
		return nil, a.forbidden("metric " + name)
	}
	return m, nil
}

// queryableDimension returns the named dimension if the caller may group and filter by it, with
// its values masked when the caller sees them masked.
func (a *Access) queryableDimension(name string) (*Dimension, error) {
	d, err := a.FindDimension(name)
	if err != nil {
		return nil, err
	}
	if a.dimensionFlags(d)&canQuery == 0 {
		return nil, a.forbidden("dimension " + name)
	}
	kind := a.Mask(d)
	if kind == "" {
		return d, nil
	}
	mk, err := plan.ParseMaskKind(string(kind))
	if err != nil {
		return nil, err
	}
	e, err := plan.NewMask(d.Expr, mk)
	if err != nil {
		return nil, fmt.Errorf("mask %s: %w", name, err)
	}
	masked := *d
	masked.Expr = e
	return &masked, nil
}

func (a *Access) forbidden(what string) error {
	return &QueryError{Class: ErrForbidden, Msg: fmt.Sprintf("%s may see %s but not query it; an admin of tenant %s can grant the query permission",
		a.who.Subject, what, a.who.Tenant)}
}

// rowFilter returns the predicate on a model's rows that the caller may see, over the model's
// columns as a scan of it names them, or nil when it sees every row. Several row filters
// combine with OR. A filter that cannot be bound to the caller — an attribute it lacks or whose
// value has the wrong type — keeps no row: a missing attribute never widens access.
func (a *Access) rowFilter(m *DataModel) (plan.Expr, error) {
	if a.grants == nil {
		return nil, nil
	}
	texts := a.grants.RowFilters(m.Name)
	if len(texts) == 0 {
		return nil, nil
	}
	var out plan.Expr
	for _, text := range texts {
		p, err := a.bindRowFilter(m, text)
		if err != nil {
			if p, err = plan.NewLiteral(false, plan.Boolean); err != nil {
				return nil, err
			}
		}
		if out == nil {
			out = p
		} else if out, err = plan.NewBinary(plan.Or, out, p); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// bindRowFilter binds one row filter to the caller's attributes and the model's columns.
func (a *Access) bindRowFilter(m *DataModel, text string) (plan.Expr, error) {
	a.memo.mu.Lock()
	pf, ok := a.memo.filters[text]
	a.memo.mu.Unlock()
	if !ok {
		pf.node, pf.err = sqlexpr.Parse(text)
		a.memo.mu.Lock()
		a.memo.filters[text] = pf
		a.memo.mu.Unlock()
	}
	if pf.err != nil {
		return nil, pf.err
	}
	n, err := sqlexpr.ReplaceAttributes(pf.node, func(at *sqlexpr.Attribute) ([]sqlexpr.Node, error) {
		typ, ok := a.grants.AttributeType(at.Name)
		if !ok {
			return nil, fmt.Errorf("attribute %s is not declared", at.Name)
		}
		v, ok := a.who.Attribute(at.Name)
		if !ok {
			return nil, fmt.Errorf("%s has no attribute %s", a.who, at.Name)
		}
		return attributeConstants(at, typ, v)
	})
	if err != nil {
		return nil, err
	}
	return bindPredicate(a.cat, m, n)
}

// bindPredicate binds a row filter of model m, its attributes replaced, to the columns of m and
// of the models each row of m relates to at most once, and checks that it is a condition.
func bindPredicate(cat *Catalog, m *DataModel, n sqlexpr.Node) (plan.Expr, error) {
	b := binder{model: m, related: func(name string) (*DataModel, error) {
		other := cat.Model(name)
		if other == nil {
			return nil, fmt.Errorf("there is no data model %s", name)
		}
		path, err := cat.JoinPath(m, other)
		if err != nil {
			return nil, err
		}
		if FansOut(path) {
			return nil, fmt.Errorf("%s is reached from %s through a one-to-many relationship; a row filter reads only models each row relates to at most once", name, m.Name)
		}
		return other, nil
	}}
	p, err := b.bind(n)
	if err != nil {
		return nil, err
	}
	if !plan.IsBoolean(p.DataType()) {
		return nil, fmt.Errorf("the row filter %s is %s, not a condition", n, article(plan.TypeName(p.DataType())))
	}
	return p, nil
}

// attributeConstants turns an attribute's value into the constants that replace its placeholder,
// checking it against the declared type: a string or number for the single types, a list of
// them for the list types. JSON numbers arrive as float64.
func attributeConstants(at *sqlexpr.Attribute, typ authz.AttributeType, v any) ([]sqlexpr.Node, error) {
	var elem func(x any, number bool) (sqlexpr.Node, error)
	elem = func(x any, number bool) (sqlexpr.Node, error) {
		switch x := x.(type) {
		case string:
			if !number {
				return &sqlexpr.String{Offset: at.Offset, Value: x}, nil
			}
		case float64:
			if number {
				text := strconv.FormatFloat(x, 'f', -1, 64)
				if x < 0 {
					return &sqlexpr.Unary{Offset: at.Offset, Op: sqlexpr.Neg, X: &sqlexpr.Number{Offset: at.Offset, Text: text[1:]}}, nil
				}
				return &sqlexpr.Number{Offset: at.Offset, Text: text}, nil
			}
		case int:
			return elem(float64(x), number)
		case int64:
			return elem(float64(x), number)
		}
		return nil, fmt.Errorf("attribute %s is %T, not the declared %s", at.Name, x, typ)
	}
	number := typ == authz.AttrNumber || typ == authz.AttrNumbers
	if !typ.IsList() {
		n, err := elem(v, number)
		if err != nil {
			return nil, err
		}
		return []sqlexpr.Node{n}, nil
	}
	var items []any
	switch v := v.(type) {
	case []any:
		items = v
	case []string:
		for _, s := range v {
			items = append(items, s)
		}
	default:
		return nil, fmt.Errorf("attribute %s is %T, not a list", at.Name, v)
	}
	out := make([]sqlexpr.Node, len(items))
	for i, x := range items {
		n, err := elem(x, number)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}
