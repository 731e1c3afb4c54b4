package semantic

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/koujing/koujing/authz"
)

// lineageView is the lineage of one catalog as one caller sees it, for one request: it makes
// each node once and decides what the caller may see.
//
// What the caller may see follows its access to the catalog: metrics, dimensions and models as
// Access decides them; a measure with its model; a source table when the caller may see a model
// over it; a column of a visible table unless a dimension the caller may not read (on a model it
// may read) reads it and nothing it may see does — customers.name is as secret as the pii
// dimension over it; a dbt node when it builds, directly or through other dbt nodes, a table the
// caller may see; a consumer of a metric when the caller may read the tenant's audit log (the
// admin action on policy:TENANT) or review the metric (its stewards), as who queried what is
// the audit log's.
type lineageView struct {
	acc   *Access
	cat   *Catalog
	idx   *lineageIndex
	dbt   *DBTManifest
	nodes map[lineageNodeKey]*LineageNode

	// consumers returns the consumers of a metric in the caller's tenant, by consumer key (see
	// consumerKey); nil when the service keeps no audit log.
	consumers  func(metric string) map[string]consumerSeen
	apiKeyName func(subject string) string
	// err is a failure to read the audit log for consumers.
	err error

	// dbtVisible holds the dbt nodes the caller may see, once worked out; tableDBT the dbt nodes
	// that build or declare each table.
	dbtVisible map[string]bool
	tableDBT   map[*lineageTable][]*DBTNode
	dbtTables  map[string][]*lineageTable
	// ownersOf holds each model's owners, once worked out.
	ownersOf map[*DataModel][]string
	// mayAudit is whether the caller may read the audit log, once decided (0 unknown, 1 no,
	// 2 yes).
	mayAudit int
}

type lineageNodeKey struct {
	kind LineageNodeKind
	key  string
}

// find returns the node of that kind and key, or ErrNotFound when there is none the caller may
// see.
func (v *lineageView) find(kind LineageNodeKind, key string) (*LineageNode, error) {
	var n *LineageNode
	switch kind {
	case LineageMetric:
		m, err := v.acc.FindMetric(key)
		if err != nil {
			return nil, err
		}
		n = v.metric(m)
	case LineageDimension:
		d, err := v.acc.FindDimension(key)
		if err != nil {
			return nil, err
		}
		n = v.dimension(d)
	case LineageDataModel:
		m, err := v.acc.FindModel(key)
		if err != nil {
			return nil, err
		}
		n = v.model(m)
	case LineageMeasure:
		x := v.acc.Measure(key)
		if x == nil {
			return nil, notFound("unknown measure %q", key)
		}
		n = v.measure(x)
	case LineageSourceTable:
		if t := v.idx.tables[key]; t != nil && v.tableVisible(t) {
			n = v.table(t)
		}
	case LineageColumn:
		if c := v.idx.columns[key]; c != nil && v.columnVisible(c) {
			n = v.column(c)
		}
	case LineageDBTNode:
		if d := v.dbt.node(key); d != nil && v.dbtNodeVisible(d) {
			n = v.dbtNode(d)
		}
	case LineageConsumer:
		n = v.consumerNode(key)
	default:
		return nil, invalid("%q is not a kind of lineage node", kind)
	}
	if n == nil {
		return nil, notFound("unknown %s %q", strings.ReplaceAll(string(kind), "_", " "), key)
	}
	return n, nil
}

// upstream returns the edges into n that the caller may see.
func (v *lineageView) upstream(n *LineageNode) []*LineageEdge {
	var out []*LineageEdge
	add := func(from *LineageNode, kind LineageEdgeKind, detail string) {
		if from != nil {
			out = append(out, &LineageEdge{From: from, To: n, Kind: kind, Detail: detail})
		}
	}
	switch n.Kind {
	case LineageMetric:
		m := n.Metric
		switch m.Kind {
		case Atomic:
			add(v.measure(m.Measure), LineageAggregates, m.Measure.AggregateText())
		case Derived:
			add(v.metric(m.Base), LineageDerives, lineageDerivation(m))
			for _, f := range m.Filters {
				if d := v.cat.Dimension(f.Dimension); d != nil {
					add(v.dimension(d), LineageFiltersOn, f.Condition())
				}
			}
		case Composite:
			for _, dep := range m.DependsOn() {
				add(v.metric(dep), LineageCombines, m.SQL)
			}
		}
	case LineageMeasure:
		x := n.Measure
		add(v.model(x.Model), LineageDefines, "")
		for _, c := range v.readColumns(x.Model, x.Expr != nil, func(col *lineageColumn) bool { return slices.Contains(col.measures, x) }) {
			add(c, LineageReads, x.AggregateText())
		}
		if sa := x.SemiAdditive; sa != nil && sa.Over != nil {
			add(v.dimension(sa.Over), LineageSemiAdditiveOver, x.AggregateText())
		}
	case LineageDimension:
		d := n.Dimension
		add(v.model(d.Model), LineageDefines, "")
		for _, c := range v.readColumns(d.Model, true, func(col *lineageColumn) bool { return slices.Contains(col.dims, d) }) {
			add(c, LineageReads, d.SQL)
		}
	case LineageDataModel:
		add(v.table(v.idx.modelTable[n.Model]), LineageBuiltOn, "")
	case LineageColumn:
		c := v.idx.columns[n.Key]
		add(v.table(c.table), LineageHasColumn, "")
		for _, j := range c.joinsFrom {
			add(v.column(j.other), LineageJoins, lineageJoinText(j.rel))
		}
	case LineageSourceTable:
		for _, d := range v.dbtOfTable(v.idx.tables[n.Key]) {
			kind := LineageBuilds
			if d.ResourceType == "source" {
				kind = LineageDescribes
			}
			add(v.dbtNode(d), kind, d.Relation)
		}
	case LineageDBTNode:
		for _, p := range n.DBT.dependsOn {
			add(v.dbtNode(p), LineageFeeds, "")
		}
	case LineageConsumer:
		for _, e := range v.consumerMetrics(n) {
			out = append(out, e)
		}
	}
	return out
}

// downstream returns the edges out of n that the caller may see.
func (v *lineageView) downstream(n *LineageNode) []*LineageEdge {
	var out []*LineageEdge
	add := func(to *LineageNode, kind LineageEdgeKind, detail string) {
		if to != nil {
			out = append(out, &LineageEdge{From: n, To: to, Kind: kind, Detail: detail})
		}
	}
	switch n.Kind {
	case LineageDBTNode:
		for _, c := range n.DBT.children {
			add(v.dbtNode(c), LineageFeeds, "")
		}
		v.dbtIndex()
		for _, t := range v.dbtTables[n.DBT.UniqueID] {
			kind := LineageBuilds
			if n.DBT.ResourceType == "source" {
				kind = LineageDescribes
			}
			add(v.table(t), kind, n.DBT.Relation)
		}
	case LineageSourceTable:
		t := v.idx.tables[n.Key]
		for _, c := range t.columns {
			add(v.column(c), LineageHasColumn, "")
		}
		for _, m := range t.models {
			add(v.model(m), LineageBuiltOn, "")
		}
	case LineageColumn:
		c := v.idx.columns[n.Key]
		for _, d := range c.dims {
			add(v.dimension(d), LineageReads, d.SQL)
		}
		for _, x := range c.measures {
			add(v.measure(x), LineageReads, x.AggregateText())
		}
		for _, j := range c.joinsTo {
			add(v.column(j.other), LineageJoins, lineageJoinText(j.rel))
		}
	case LineageDataModel:
		for _, d := range n.Model.Dimensions {
			add(v.dimension(d), LineageDefines, "")
		}
		for _, x := range n.Model.Measures {
			add(v.measure(x), LineageDefines, "")
		}
	case LineageDimension:
		for _, m := range v.idx.filterUsers[n.Dimension] {
			for _, f := range m.Filters {
				if f.Dimension == n.Dimension.QualifiedName() {
					add(v.metric(m), LineageFiltersOn, f.Condition())
					break
				}
			}
		}
		for _, x := range v.idx.balanceUsers[n.Dimension] {
			add(v.measure(x), LineageSemiAdditiveOver, x.AggregateText())
		}
	case LineageMeasure:
		for _, m := range v.idx.measureUsers[n.Measure] {
			add(v.metric(m), LineageAggregates, n.Measure.AggregateText())
		}
	case LineageMetric:
		for _, m := range v.idx.dependents[n.Metric] {
			if m.Kind == Derived {
				add(v.metric(m), LineageDerives, lineageDerivation(m))
			} else {
				add(v.metric(m), LineageCombines, m.SQL)
			}
		}
		out = append(out, v.metricConsumers(n)...)
	}
	return out
}

// readColumns returns the nodes of the columns of m's table that reads says a dimension or
// measure reads.
func (v *lineageView) readColumns(m *DataModel, any bool, reads func(*lineageColumn) bool) []*LineageNode {
	if !any {
		return nil
	}
	var out []*LineageNode
	for _, c := range v.idx.modelTable[m].columns {
		if reads(c) {
			if n := v.column(c); n != nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// lineageDerivation describes how a derived metric reads its base, besides its filters: its window or
// offset.
func lineageDerivation(m *Metric) string {
	switch {
	case m.Window != nil:
		return "window " + m.Window.Text
	case m.Offset != nil:
		return "offset " + m.Offset.Text
	}
	return ""
}

func lineageJoinText(r *Relationship) string {
	pairs := make([]string, len(r.FromColumns))
	for i := range r.FromColumns {
		pairs[i] = r.From.Name + "." + r.FromColumns[i] + " = " + r.To.Name + "." + r.ToColumns[i]
	}
	return fmt.Sprintf("%s %s %s on %s", r.From.Name, r.Cardinality, r.To.Name, strings.Join(pairs, " and "))
}

// cached returns the node of that kind and key made before, or makes it with make (which
// returns nil for one the caller may not see) and keeps it.
func (v *lineageView) cached(kind LineageNodeKind, key string, make func() *LineageNode) *LineageNode {
	k := lineageNodeKey{kind, key}
	if n, ok := v.nodes[k]; ok {
		return n
	}
	n := make()
	v.nodes[k] = n
	return n
}

func (v *lineageView) metric(m *Metric) *LineageNode {
	return v.cached(LineageMetric, m.Name, func() *LineageNode {
		if !v.acc.CanReadMetric(m) {
			return nil
		}
		return &LineageNode{Kind: LineageMetric, Key: m.Name, Name: m.Name, Label: labelOrName(m.Label, m.Name), Description: m.Description,
			Owners: lineageOwnersOf(metricOwner(v.cat, m)), Version: m.Version, Metric: m}
	})
}

func (v *lineageView) model(m *DataModel) *LineageNode {
	return v.cached(LineageDataModel, m.Name, func() *LineageNode {
		if !v.acc.CanReadModel(m) {
			return nil
		}
		return &LineageNode{Kind: LineageDataModel, Key: m.Name, Name: m.Name, Label: labelOrName(m.Label, m.Name), Description: m.Description,
			Owners: v.modelOwners(m), Version: m.Version, Model: m}
	})
}

func (v *lineageView) dimension(d *Dimension) *LineageNode {
	return v.cached(LineageDimension, d.QualifiedName(), func() *LineageNode {
		if !v.acc.CanReadDimension(d) {
			return nil
		}
		return &LineageNode{Kind: LineageDimension, Key: d.QualifiedName(), Name: d.QualifiedName(), Label: labelOrName(d.Label, d.Name),
			Description: d.Description, Owners: v.modelOwners(d.Model), Version: d.Model.Version, Dimension: d}
	})
}

func (v *lineageView) measure(x *Measure) *LineageNode {
	return v.cached(LineageMeasure, x.QualifiedName(), func() *LineageNode {
		if !v.acc.CanReadModel(x.Model) {
			return nil
		}
		return &LineageNode{Kind: LineageMeasure, Key: x.QualifiedName(), Name: x.QualifiedName(), Label: labelOrName(x.Label, x.Name),
			Description: x.Description, Owners: v.modelOwners(x.Model), Version: x.Model.Version, Measure: x}
	})
}

func (v *lineageView) table(t *lineageTable) *LineageNode {
	if t == nil {
		return nil
	}
	return v.cached(LineageSourceTable, t.key, func() *LineageNode {
		if !v.tableVisible(t) {
			return nil
		}
		label := t.info.Table
		if t.info.Connection != "" {
			label += " (" + t.info.Connection + ")"
		}
		var owners []string
		for _, d := range v.dbtOfTable(t) {
			if d.Owner != "" && !slices.Contains(owners, d.Owner) {
				owners = append(owners, d.Owner)
			}
		}
		return &LineageNode{Kind: LineageSourceTable, Key: t.key, Name: t.info.Table, Label: label, Owners: owners, Table: t.info}
	})
}

func (v *lineageView) column(c *lineageColumn) *LineageNode {
	return v.cached(LineageColumn, c.key, func() *LineageNode {
		if !v.columnVisible(c) {
			return nil
		}
		desc := ""
		for _, d := range v.dbtOfTable(c.table) {
			for _, dc := range d.Columns {
				if strings.EqualFold(dc.Name, c.info.Name) && desc == "" {
					desc = dc.Description
				}
			}
		}
		return &LineageNode{Kind: LineageColumn, Key: c.key, Name: c.table.info.Table + "." + c.info.Name, Label: c.info.Name,
			Description: desc, Column: c.info}
	})
}

func (v *lineageView) dbtNode(d *DBTNode) *LineageNode {
	return v.cached(LineageDBTNode, d.UniqueID, func() *LineageNode {
		if !v.dbtNodeVisible(d) {
			return nil
		}
		label := d.Name
		if d.ResourceType == "source" && d.SourceName != "" {
			label = d.SourceName + "." + d.Name
		}
		return &LineageNode{Kind: LineageDBTNode, Key: d.UniqueID, Name: d.Name, Label: label, Description: d.Description,
			Owners: lineageOwnersOf(d.Owner), DBT: d}
	})
}

// tableVisible reports whether the caller may see a model over the table.
func (v *lineageView) tableVisible(t *lineageTable) bool {
	for _, m := range t.models {
		if v.acc.CanReadModel(m) {
			return true
		}
	}
	return false
}

// columnVisible reports whether the caller may see a column: its table, and no dimension hidden
// from it alone reads the column, unless something it may see reads the column too.
func (v *lineageView) columnVisible(c *lineageColumn) bool {
	if !v.tableVisible(c.table) {
		return false
	}
	hidden := false
	for _, d := range c.dims {
		if v.acc.CanReadDimension(d) {
			return true
		}
		hidden = hidden || v.acc.CanReadModel(d.Model)
	}
	for _, x := range c.measures {
		if v.acc.CanReadModel(x.Model) {
			return true
		}
	}
	return !hidden
}

// modelOwners returns the owners of the metrics on a model that the caller may see, sorted.
func (v *lineageView) modelOwners(m *DataModel) []string {
	if out, ok := v.ownersOf[m]; ok {
		return out
	}
	var out []string
	for _, o := range v.idx.modelOwners[m] {
		if slices.ContainsFunc(o.metrics, v.acc.CanReadMetric) {
			out = append(out, o.name)
		}
	}
	if v.ownersOf == nil {
		v.ownersOf = map[*DataModel][]string{}
	}
	v.ownersOf[m] = out
	return out
}

func lineageOwnersOf(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// mayReadConsumers reports whether the caller may see who queried metric m: as the tenant's
// admin, who reads the audit log, or as someone who may review m.
func (v *lineageView) mayReadConsumers(m *Metric) bool {
	if v.consumers == nil {
		return false
	}
	if v.mayAudit == 0 {
		v.mayAudit = 1
		if v.acc.may(authz.Object{Kind: authz.PolicyObject, Name: v.acc.who.Tenant}, authz.Admin) {
			v.mayAudit = 2
		}
	}
	return v.mayAudit == 2 || v.acc.may(m.AccessObject(), authz.Review)
}

// metricConsumers returns the QueriedBy edges from a metric's node.
func (v *lineageView) metricConsumers(n *LineageNode) []*LineageEdge {
	if !v.mayReadConsumers(n.Metric) {
		return nil
	}
	seen := v.consumers(n.Metric.Name)
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*LineageEdge, 0, len(keys))
	for _, k := range keys {
		c := seen[k]
		out = append(out, &LineageEdge{From: n, To: v.consumer(c), Kind: LineageQueriedBy, Usage: &c.usage})
	}
	return out
}

// consumerMetrics returns the QueriedBy edges into a consumer's node: the metrics the caller may
// see it queried, whose consumers the caller may see.
func (v *lineageView) consumerMetrics(n *LineageNode) []*LineageEdge {
	var out []*LineageEdge
	for _, m := range v.acc.Metrics() {
		if !v.mayReadConsumers(m) {
			continue
		}
		if c, ok := v.consumers(m.Name)[n.Key]; ok {
			out = append(out, &LineageEdge{From: v.metric(m), To: n, Kind: LineageQueriedBy, Usage: &c.usage})
		}
	}
	return out
}

// consumerNode returns the node of a consumer the caller may see: one that queried a metric
// whose consumers the caller may see.
func (v *lineageView) consumerNode(key string) *LineageNode {
	if v.consumers == nil {
		return nil
	}
	for _, m := range v.acc.Metrics() {
		if !v.mayReadConsumers(m) {
			continue
		}
		if c, ok := v.consumers(m.Name)[key]; ok {
			return v.consumer(c)
		}
	}
	return nil
}

// consumer returns the node of a consumer. A principal alone is named by its subject@tenant and
// labelled as a person or an API key; a client is named and labelled by the client's name, and
// owned by the principal that ran it, who is whom to ask about the dashboard or tool.
func (v *lineageView) consumer(seen consumerSeen) *LineageNode {
	key := consumerKey(seen.actor, seen.client)
	return v.cached(LineageConsumer, key, func() *LineageNode {
		subject, _, _ := strings.Cut(seen.actor, "@")
		c := &Consumer{Actor: seen.actor, Subject: subject, APIKey: strings.HasPrefix(subject, "api_key:"), Client: seen.client}
		if c.Client != "" {
			return &LineageNode{Kind: LineageConsumer, Key: key, Name: c.Client, Label: c.Client, Owners: []string{seen.actor}, Consumer: c}
		}
		label := subject
		if c.APIKey {
			label = "API key " + strings.TrimPrefix(subject, "api_key:")
			if name := v.apiKeyName(subject); name != "" {
				label = name + " (API key)"
			}
		}
		return &LineageNode{Kind: LineageConsumer, Key: key, Name: seen.actor, Label: label, Consumer: c}
	})
}
