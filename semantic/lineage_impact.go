package semantic

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/koujing/koujing/engine/plan"
)

// ColumnChange is a change to a source column whose impact is asked for.
type ColumnChange string

// The column changes impact analysis knows.
const (
	// ColumnDropped: the column is removed (or renamed) in the warehouse.
	ColumnDropped ColumnChange = "dropped"
	// ColumnTypeChanged: the column keeps its name but gets another type.
	ColumnTypeChanged ColumnChange = "type_changed"
)

// ImpactQuery asks what a change to a source column affects.
type ImpactQuery struct {
	// Column names the column: "shop.orders.amount" (the table as the definitions name it and
	// the column), "warehouse:shop.orders.amount" to choose among connections, or a data
	// model's column, "orders.amount".
	Column string
	Change ColumnChange
	AsOf   LineageAsOf
}

// Impact is what a change to a source column affects, as the caller may see it.
type Impact struct {
	Column *LineageNode
	Change ColumnChange
	// Definitions are the dimensions, measures, data models and metrics affected, the nearest
	// first; Consumers are who queried an affected metric.
	Definitions []*ImpactItem
	Consumers   []*ImpactItem
}

// ImpactItem is one affected definition or consumer.
type ImpactItem struct {
	Node *LineageNode
	// Owners are who to tell: the node's owners (see LineageNode.Owners).
	Owners []string
	// Reason says why the change affects it, in a sentence.
	Reason string
	// Via is the affected node it is affected through, nil for what reads the column itself;
	// Depth counts the steps from the column (1 for what reads it).
	Via   *LineageNode
	Depth int
}

// Impact lists every definition and consumer a change to a source column affects, through any
// depth of metrics built on metrics, with owners and reasons. A column the caller may not see is
// ErrNotFound, exactly as one that does not exist; what the caller may not see is neither listed
// nor followed.
func (l *Lineage) Impact(ctx context.Context, acc *Access, q ImpactQuery) (*Impact, error) {
	if q.Change != ColumnDropped && q.Change != ColumnTypeChanged {
		return nil, invalid("%q is not a column change; it is %s or %s", q.Change, ColumnDropped, ColumnTypeChanged)
	}
	v, err := l.view(ctx, acc, q.AsOf)
	if err != nil {
		return nil, err
	}
	col, err := v.findColumn(q.Column)
	if err != nil {
		return nil, err
	}
	imp := &Impact{Column: v.column(col), Change: q.Change}
	a := impactWalk{v: v, imp: imp, change: q.Change, seen: map[*LineageNode]bool{}}
	a.column(col)
	for i := 0; i < len(a.queue); i++ {
		a.follow(a.queue[i])
	}
	a.consumers()
	if v.err != nil {
		return nil, fmt.Errorf("read the consumers from the audit log: %w", v.err)
	}
	return imp, nil
}

// findColumn returns the column a name means, among those the caller may see.
func (v *lineageView) findColumn(name string) (*lineageColumn, error) {
	var found []*lineageColumn
	add := func(c *lineageColumn) {
		if c != nil && v.columnVisible(c) && !slices.Contains(found, c) {
			found = append(found, c)
		}
	}
	add(v.idx.columns[name])
	tables := v.idx.sortedTables
	for _, t := range tables {
		if rest, ok := cutFoldPrefix(name, t.info.Table+"."); ok {
			for _, c := range t.columns {
				if strings.EqualFold(c.info.Name, rest) {
					add(c)
				}
			}
		}
	}
	if len(found) == 0 {
		if model, column, ok := cutQualified(name); ok {
			if m := v.acc.Model(model); m != nil {
				add(v.idx.columns[v.idx.modelTable[m].key+"."+column])
			}
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		var names []string
		for _, t := range tables {
			for _, c := range t.columns {
				if v.columnVisible(c) {
					names = append(names, t.info.Table+"."+c.info.Name)
				}
			}
		}
		return nil, notFound("unknown column %q.%s", name, columnHint(name, names))
	}
	keys := make([]string, len(found))
	for i, c := range found {
		keys[i] = c.key
	}
	return nil, invalid("%q names columns of several connections: %s; name one as connection:table.column", name, strings.Join(keys, ", "))
}

// columnHint suggests the nearest column to a mistyped name, or says how columns are named.
func columnHint(name string, names []string) string {
	if s := didYouMean(name, names); s != "" {
		return s
	}
	if len(names) == 0 {
		return ""
	}
	return " Name a column as table.column, such as " + names[0] + "."
}

func cutFoldPrefix(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", false
	}
	return s[len(prefix):], true
}

// impactWalk follows a column change downstream, breadth first.
type impactWalk struct {
	v      *lineageView
	imp    *Impact
	change ColumnChange
	seen   map[*LineageNode]bool
	queue  []*ImpactItem
}

// affect lists n as affected, unless it is hidden or listed already.
func (a *impactWalk) affect(n *LineageNode, via *ImpactItem, reason string) {
	if n == nil || a.seen[n] {
		return
	}
	a.seen[n] = true
	it := &ImpactItem{Node: n, Owners: n.Owners, Reason: reason, Depth: 1}
	if via != nil {
		it.Via, it.Depth = via.Node, via.Depth+1
	}
	a.imp.Definitions = append(a.imp.Definitions, it)
	a.queue = append(a.queue, it)
}

// column lists what reads the column itself.
func (a *impactWalk) column(c *lineageColumn) {
	name := c.table.info.Table + "." + c.info.Name
	for _, d := range c.dims {
		if a.change == ColumnTypeChanged && onlyTestsForNull(d.Expr, d.Model.Name+"."+c.info.Name) {
			continue
		}
		what := "its expression " + d.SQL + " reads " + name
		if d.SQL == c.info.Name {
			what = "it is the column " + name
		}
		a.affect(a.v.dimension(d), nil, what+a.consequence(d.Type == DimensionTime, "a time dimension needs a date or time"))
	}
	for _, x := range c.measures {
		if a.change == ColumnTypeChanged && (x.Agg == plan.Count || x.Agg == plan.CountDistinct) && x.SQL == c.info.Name {
			continue
		}
		numeric := x.Agg != plan.Min && x.Agg != plan.Max && x.Agg != plan.Count && x.Agg != plan.CountDistinct
		a.affect(a.v.measure(x), nil, "it aggregates "+x.AggregateText()+", which reads "+name+a.consequence(numeric, x.Agg.String()+" needs a number"))
	}
	for _, j := range append(append([]lineageJoin(nil), c.joinsTo...), c.joinsFrom...) {
		r := j.rel
		reason := "its relationship " + lineageJoinText(r) + " joins on " + name + "; without it, its metrics cannot be grouped by the dimensions of " + r.To.Name
		if a.change == ColumnTypeChanged {
			reason = "its relationship " + lineageJoinText(r) + " joins on " + name + ", and join keys must keep comparable types"
		}
		a.affect(a.v.model(r.From), nil, reason)
	}
	if a.change == ColumnDropped {
		for _, m := range c.keyOf {
			a.affect(a.v.model(m), nil, "its primary key "+strings.Join(m.PrimaryKey, ", ")+" holds "+name)
		}
	}
}

// consequence finishes a reason with what the change does to it.
func (a *impactWalk) consequence(typed bool, need string) string {
	if a.change == ColumnDropped {
		return "; it no longer loads"
	}
	if typed {
		return "; it stops loading unless the new type still fits (" + need + ")"
	}
	return "; its values change type"
}

// follow lists what depends on an affected definition.
func (a *impactWalk) follow(it *ImpactItem) {
	n := it.Node
	switch n.Kind {
	case LineageDimension:
		for _, m := range a.v.idx.filterUsers[n.Dimension] {
			for _, f := range m.Filters {
				if f.Dimension == n.Key {
					a.affect(a.v.metric(m), it, "it counts only rows where "+f.Condition())
					break
				}
			}
		}
		for _, x := range a.v.idx.balanceUsers[n.Dimension] {
			a.affect(a.v.measure(x), it, "it takes its value at the last or first "+n.Key)
		}
	case LineageMeasure:
		for _, m := range a.v.idx.measureUsers[n.Measure] {
			a.affect(a.v.metric(m), it, "it aggregates "+n.Key)
		}
	case LineageMetric:
		for _, m := range a.v.idx.dependents[n.Metric] {
			if m.Kind == Derived {
				a.affect(a.v.metric(m), it, "it is built on "+n.Key+" ("+m.Expression()+")")
			} else {
				a.affect(a.v.metric(m), it, "it is computed from "+n.Key+" ("+m.SQL+")")
			}
		}
	}
}

// consumers lists who queried an affected metric, with what and how often; a client's owner is
// the principal who ran it.
func (a *impactWalk) consumers() {
	type seenBy struct {
		node    *LineageNode
		metrics []string
		via     *LineageNode
		depth   int
	}
	byKey := map[string]*seenBy{}
	for _, it := range a.imp.Definitions {
		if it.Node.Kind != LineageMetric {
			continue
		}
		for _, e := range a.v.metricConsumers(it.Node) {
			s := byKey[e.To.Key]
			if s == nil {
				s = &seenBy{node: e.To, via: it.Node, depth: it.Depth + 1}
				byKey[e.To.Key] = s
			}
			s.metrics = append(s.metrics, fmt.Sprintf("%s (%s, last on %s)", it.Node.Key, queriesText(e.Usage.Queries), e.Usage.Last.UTC().Format(time.DateOnly)))
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := byKey[k]
		a.imp.Consumers = append(a.imp.Consumers, &ImpactItem{Node: s.node, Owners: s.node.Owners, Via: s.via, Depth: s.depth,
			Reason: "it queried " + strings.Join(s.metrics, ", ")})
	}
}

// onlyTestsForNull reports whether an expression reads a column only to test it for NULL, which
// a change of its type does not change.
func onlyTestsForNull(e plan.Expr, column string) bool {
	if e == nil {
		return false
	}
	other := false
	plan.Walk(e, func(x plan.Expr) bool {
		switch x := x.(type) {
		case *plan.IsNull:
			if c, ok := x.X.(*plan.Column); ok && c.Name == column {
				return false
			}
		case *plan.Column:
			other = other || x.Name == column
		}
		return true
	})
	return !other
}

func queriesText(n int64) string {
	if n == 1 {
		return "1 query"
	}
	return fmt.Sprintf("%d queries", n)
}
