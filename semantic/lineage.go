package semantic

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"
)

// Lineage (血缘) is the graph from where a number's data comes from to who reads it: the dbt jobs
// (加工任务) that build the warehouse's tables, the tables and their columns, the data models
// over them, their dimensions and measures, the atomic, derived and composite metrics built on
// those, and the consumers seen querying the metrics. It is computed from the definitions (each
// expression parsed down to the columns it reads), the dbt manifest given to the server, and the
// audit log; never stored.
//
// Edges point downstream, from what is read to what reads it. A graph is always the one a caller
// may see: a node the caller may not see is left out with every edge that touches it, so that a
// metric whose model is hidden has no upstream at all rather than a hint of one.

// LineageNodeKind is what a node of the lineage graph is.
type LineageNodeKind string

// The kinds of lineage nodes, from upstream to downstream.
const (
	// LineageDBTNode is a dbt model, seed, snapshot or source of the dbt manifest.
	LineageDBTNode LineageNodeKind = "dbt_node"
	// LineageSourceTable is a table of a warehouse connection (the demo's built-in tables
	// included), or a CSV or Parquet file, that data models read.
	LineageSourceTable LineageNodeKind = "source_table"
	// LineageColumn is a column of a source table.
	LineageColumn LineageNodeKind = "column"
	// LineageDataModel is a data model.
	LineageDataModel LineageNodeKind = "data_model"
	// LineageDimension and LineageMeasure are a data model's dimension and measure.
	LineageDimension LineageNodeKind = "dimension"
	LineageMeasure   LineageNodeKind = "measure"
	// LineageMetric is a metric of any kind.
	LineageMetric LineageNodeKind = "metric"
	// LineageConsumer is a user, an API key, or a client (a dashboard, BI tool or saved
	// operation) as one of them ran it, that the audit log shows querying metrics.
	LineageConsumer LineageNodeKind = "consumer"
)

// lineageKindOrder ranks the kinds from upstream to downstream, for sorting and layout.
var lineageKindOrder = map[LineageNodeKind]int{
	LineageDBTNode: 0, LineageSourceTable: 1, LineageColumn: 2, LineageDataModel: 3,
	LineageDimension: 4, LineageMeasure: 4, LineageMetric: 5, LineageConsumer: 6,
}

// LineageEdgeKind says how the downstream end of an edge depends on its upstream end.
type LineageEdgeKind string

// The kinds of lineage edges, each from its upstream node (From) to its downstream one (To).
const (
	// LineageFeeds: a dbt node (To) is built from another (From), by ref or source.
	LineageFeeds LineageEdgeKind = "feeds"
	// LineageBuilds: a dbt model, seed or snapshot (From) builds the table (To).
	LineageBuilds LineageEdgeKind = "builds"
	// LineageDescribes: a dbt source (From) declares the table (To), which something outside
	// dbt loads.
	LineageDescribes LineageEdgeKind = "describes"
	// LineageHasColumn: the column (To) is a column of the table (From).
	LineageHasColumn LineageEdgeKind = "has_column"
	// LineageBuiltOn: the data model (To) reads its rows from the table (From).
	LineageBuiltOn LineageEdgeKind = "built_on"
	// LineageDefines: the data model (From) defines the dimension or measure (To).
	LineageDefines LineageEdgeKind = "defines"
	// LineageReads: the dimension or measure (To) reads the column (From) in its expression.
	LineageReads LineageEdgeKind = "reads"
	// LineageJoins: a relationship joins a model on the column (From) to its related model's
	// key column (To).
	LineageJoins LineageEdgeKind = "joins"
	// LineageSemiAdditiveOver: the balance measure (To) takes its last or first value over the
	// time dimension (From).
	LineageSemiAdditiveOver LineageEdgeKind = "semi_additive_over"
	// LineageAggregates: the atomic metric (To) aggregates the measure (From).
	LineageAggregates LineageEdgeKind = "aggregates"
	// LineageDerives: the derived metric (To) restricts, windows or offsets its base (From).
	LineageDerives LineageEdgeKind = "derives"
	// LineageFiltersOn: the derived metric (To) counts only rows where a condition on the
	// dimension (From) holds.
	LineageFiltersOn LineageEdgeKind = "filters_on"
	// LineageCombines: the composite metric (To) is computed from the metric (From).
	LineageCombines LineageEdgeKind = "combines"
	// LineageQueriedBy: the consumer (To) queried the metric (From).
	LineageQueriedBy LineageEdgeKind = "queried_by"
)

// LineageDirection says which way a lineage graph is followed from its root.
type LineageDirection string

// The lineage directions.
const (
	// Upstream follows edges back, to where the root's data comes from.
	Upstream LineageDirection = "upstream"
	// Downstream follows edges forward, to what reads the root.
	Downstream LineageDirection = "downstream"
	// BothDirections is the upstream and the downstream graph together (not every node
	// connected to the root: a metric's siblings on the same measure are not in it).
	BothDirections LineageDirection = "both"
)

// LineageNode is a node of a lineage graph. Exactly one of the object fields is set, as Kind
// says.
type LineageNode struct {
	Kind LineageNodeKind
	// Key identifies the node among those of its kind: a metric's or model's name, a
	// dimension's or measure's qualified name, a table's "connection:table" (or "file:path"),
	// a column's table key and column name ("demo:orders.amount"), a dbt node's unique_id, a
	// consumer's subject@tenant, or for a client its name and the principal that ran it
	// ("Metabase v0.50.3 (ann@demo)").
	Key string
	// Name is how people name it: "gmv_paid", "orders.region", "koujing_demo.orders",
	// "koujing_demo.orders.amount", "stg_orders", "bob@demo".
	Name string
	// Label is the name to show; Description says more, when the definitions do.
	Label       string
	Description string
	// Owners are who is accountable for it, where known: a metric's owner (or its domain's);
	// for a data model, its dimensions and measures, the owners of the metrics the caller may
	// see that are built on the model; a dbt node's owner in the manifest.
	Owners []string
	// Version is a metric's or data model's version in the catalog (0 for definitions read
	// from files).
	Version int

	Metric    *Metric
	Dimension *Dimension
	Measure   *Measure
	Model     *DataModel
	Table     *LineageTable
	Column    *LineageColumnInfo
	DBT       *DBTNode
	Consumer  *Consumer
}

// LineageTable is a source table as lineage shows it.
type LineageTable struct {
	// Connection names the connection the table is read through ("demo" for the built-in
	// tables); empty for a file.
	Connection string
	// Table is the table as the definitions name it ("koujing_demo.orders"), or the file's path.
	Table string
	// File reports whether the table is a CSV or Parquet file.
	File bool
	// Database is the connection's database, when its URL names one; Namespace is the
	// connection's data source as OpenLineage names it, postgres://host:port (never with
	// credentials), or "" for the demo's tables and files.
	Database  string
	Namespace string
}

// LineageColumnInfo is a column of a source table as lineage shows it.
type LineageColumnInfo struct {
	Table *LineageTable
	Name  string
	// Type is the column's type as Koujing reads it: "decimal(12, 2)", "string", "timestamp".
	Type string
}

// Consumer is someone the audit log shows querying metrics: a user or an API key, or a client —
// a dashboard, BI tool, notebook or saved GraphQL operation — as one of them ran it.
type Consumer struct {
	// Actor is subject@tenant, as the audit log records it: who ran the queries.
	Actor   string
	Subject string
	// APIKey reports whether the actor is an API key (an application) rather than a person.
	APIKey bool
	// Client names the client the queries came through (see WithClient); "" for queries whose
	// client is not known, which the consumer that is the actor alone stands for.
	Client string
}

// ConsumerUsage is how often and when a consumer queried a metric.
type ConsumerUsage struct {
	Queries int64
	First   time.Time
	Last    time.Time
}

// LineageEdge is an edge of a lineage graph, from the upstream node to the downstream one.
type LineageEdge struct {
	From, To *LineageNode
	Kind     LineageEdgeKind
	// Detail says more where there is more to say: a filter's condition, a window, a join's
	// keys, a measure's aggregate.
	Detail string
	// Usage is set on QueriedBy edges.
	Usage *ConsumerUsage
}

// LineageGraph is the lineage around one node as one caller may see it.
type LineageGraph struct {
	Root *LineageNode
	// Nodes are sorted from upstream to downstream (by kind, then name); Edges by their ends.
	Nodes []*LineageNode
	Edges []*LineageEdge
	// Truncated reports that the depth limit left out nodes beyond it.
	Truncated bool
	// Depth is the bound the graph was followed to: the one asked for, or MaxLineageDepth when
	// none or a larger one was asked for. Warnings say when it was lowered.
	Depth    int
	Warnings []string
}

// MaxLineageDepth bounds how many edges from its root a lineage graph reaches. The longest chain
// of definitions — dbt jobs, table, column, measure, metrics built on metrics, consumer — is far
// shorter in any catalog seen so far; the bound keeps a request's work finite in any case.
const MaxLineageDepth = 32

// LineageQuery asks for the lineage around one node.
type LineageQuery struct {
	// Kind and Key name the root (see LineageNode). For metrics, Key may pin a version:
	// "gmv_paid@2".
	Kind LineageNodeKind
	Key  string
	// Direction defaults to BothDirections.
	Direction LineageDirection
	// Depth bounds how many edges away from the root the graph reaches; 0 means
	// MaxLineageDepth, as does a larger one (with a warning). A negative depth is an error.
	Depth int
	// AsOf picks the definitions the graph is computed from; the zero value is the caller's
	// current ones.
	AsOf LineageAsOf
}

// LineageAsOf picks past definitions: metrics pinned at versions (and every metric built on a
// pinned one using it, as a query pinning them does), or the definitions published at a time.
type LineageAsOf struct {
	// Versions pins metrics: name → version number.
	Versions map[string]int
	// At, when not zero, takes every definition as it was published at that time.
	At time.Time
}

// LineageOptions configure a Lineage. The zero value of each field picks its default.
type LineageOptions struct {
	// DBT returns the dbt manifest whose jobs build the warehouse's tables, or nil for none.
	// It is called for every graph, so that a manifest read again from its file applies at
	// once.
	DBT func() *DBTManifest
	// Now is the clock, for the time of exported events; default time.Now.
	Now func() time.Time
}

// Lineage computes lineage graphs and impact analyses over a service's definitions, for every
// surface. It is safe for concurrent use.
type Lineage struct {
	svc       *Service
	opts      LineageOptions
	consumers consumerIndex
	history   historyCache
}

// NewLineage returns the lineage of svc's definitions.
func NewLineage(svc *Service, opts LineageOptions) *Lineage {
	if opts.DBT == nil {
		opts.DBT = func() *DBTManifest { return nil }
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Lineage{svc: svc, opts: opts}
}

// Graph returns the lineage around the node q names, as acc's principal may see it. A node it
// may not see is ErrNotFound, exactly as one that does not exist.
func (l *Lineage) Graph(ctx context.Context, acc *Access, q LineageQuery) (*LineageGraph, error) {
	kind, key := q.Kind, q.Key
	asOf := q.AsOf
	depth, warnings, err := lineageDepth(q.Depth)
	if err != nil {
		return nil, err
	}
	if kind == LineageMetric && strings.Contains(key, "@") {
		pins, err := versionPins([]string{key})
		if err != nil {
			return nil, err
		}
		key, _ = splitVersion(key)
		asOf.Versions = maps.Clone(asOf.Versions)
		if asOf.Versions == nil {
			asOf.Versions = map[string]int{}
		}
		asOf.Versions[key] = pins[key]
	}
	v, err := l.view(ctx, acc, asOf)
	if err != nil {
		return nil, err
	}
	root, err := v.find(kind, key)
	if err != nil {
		return nil, err
	}
	dir := q.Direction
	if dir == "" {
		dir = BothDirections
	}
	g := &LineageGraph{Root: root, Depth: depth, Warnings: warnings}
	nodes := map[*LineageNode]bool{root: true}
	edges := map[lineageEdgeKey]*LineageEdge{}
	walk := func(up bool) {
		frontier := []*LineageNode{root}
		seen := map[*LineageNode]bool{root: true}
		for level := 0; len(frontier) > 0; level++ {
			var next []*LineageNode
			for _, n := range frontier {
				var es []*LineageEdge
				if up {
					es = v.upstream(n)
				} else {
					es = v.downstream(n)
				}
				if len(es) > 0 && level >= depth {
					g.Truncated = true
					continue
				}
				for _, e := range es {
					edges[lineageEdgeKey{e.From, e.To, e.Kind}] = e
					other := e.To
					if up {
						other = e.From
					}
					nodes[other] = true
					if !seen[other] {
						seen[other] = true
						next = append(next, other)
					}
				}
			}
			frontier = next
		}
	}
	if dir == Upstream || dir == BothDirections {
		walk(true)
	}
	if dir == Downstream || dir == BothDirections {
		walk(false)
	}
	for n := range nodes {
		g.Nodes = append(g.Nodes, n)
	}
	for _, e := range edges {
		g.Edges = append(g.Edges, e)
	}
	if v.err != nil {
		return nil, fmt.Errorf("read the consumers from the audit log: %w", v.err)
	}
	sortLineage(g)
	return g, nil
}

// lineageDepth returns the depth a graph is followed to for the one asked for, and a warning
// when it is lowered.
func lineageDepth(asked int) (int, []string, error) {
	switch {
	case asked < 0:
		return 0, nil, invalid("depth %d is negative; ask for a depth from 1 to %d, or none for %d", asked, MaxLineageDepth, MaxLineageDepth)
	case asked == 0:
		return MaxLineageDepth, nil, nil
	case asked > MaxLineageDepth:
		return MaxLineageDepth, []string{fmt.Sprintf("lineage depth %d is more than the most, %d; the graph reaches %d edges from its root", asked, MaxLineageDepth, MaxLineageDepth)}, nil
	}
	return asked, nil, nil
}

type lineageEdgeKey struct {
	from, to *LineageNode
	kind     LineageEdgeKind
}

// sortLineage orders a graph's nodes from upstream to downstream and its edges by their ends.
func sortLineage(g *LineageGraph) {
	sort.Slice(g.Nodes, func(i, j int) bool { return lessNode(g.Nodes[i], g.Nodes[j]) })
	sort.Slice(g.Edges, func(i, j int) bool {
		a, b := g.Edges[i], g.Edges[j]
		if a.From != b.From {
			return lessNode(a.From, b.From)
		}
		if a.To != b.To {
			return lessNode(a.To, b.To)
		}
		return a.Kind < b.Kind
	})
}

func lessNode(a, b *LineageNode) bool {
	if ka, kb := lineageKindOrder[a.Kind], lineageKindOrder[b.Kind]; ka != kb {
		return ka < kb
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	return a.Key < b.Key
}

// view returns the lineage as acc's principal sees it over the definitions asOf picks.
func (l *Lineage) view(ctx context.Context, acc *Access, asOf LineageAsOf) (*lineageView, error) {
	acc, err := l.accessAsOf(ctx, acc, asOf)
	if err != nil {
		return nil, err
	}
	v := &lineageView{acc: acc, cat: acc.cat, idx: lineageIndexOf(acc.cat), dbt: l.opts.DBT(), nodes: map[lineageNodeKey]*LineageNode{}}
	if gov := l.svc.Governance(); gov != nil {
		v.consumers = l.consumersFor(ctx, gov, acc.who.Tenant, &v.err)
		v.apiKeyName = l.apiKeyName
	}
	return v, nil
}

// apiKeyName returns the name of the API key of a subject "api_key:ID", or "".
func (l *Lineage) apiKeyName(subject string) string {
	a := l.svc.Authorizer()
	id, ok := strings.CutPrefix(subject, "api_key:")
	if a == nil || !ok {
		return ""
	}
	if k, ok := a.LookupKey(id); ok {
		return k.Name
	}
	return ""
}

// Lineage returns the lineage of the service's definitions, the one every surface asks: it keeps
// the consumers read from the audit log between requests.
func (s *Service) Lineage() *Lineage {
	s.lineageOnce.Do(func() { s.lineage = NewLineage(s, LineageOptions{DBT: s.opts.DBTManifest}) })
	return s.lineage
}
