package semantic

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/koujing/koujing/engine/plan"
)

// modelTree is a join tree rooted at one model: the models reached along many-to-one edges
// (or any edges, inside a bridge), in the order they are joined, and the columns read from each.
type modelTree struct {
	root    *DataModel
	edges   []*Edge // in join order; edges[i].To is joined onto the tree containing edges[i].From
	reached map[*DataModel]bool
	columns map[*DataModel]map[string]bool
	scan    func(*DataModel, map[string]bool) (plan.Node, error)
}

func (cc *compiler) newModelTree(root *DataModel) *modelTree {
	return &modelTree{root: root, reached: map[*DataModel]bool{root: true}, columns: map[*DataModel]map[string]bool{}, scan: cc.scan}
}

// follow adds the models along path (from the tree's root or a model already in it).
func (t *modelTree) follow(path []*Edge) {
	for _, e := range path {
		if t.reached[e.To] {
			continue
		}
		t.reached[e.To] = true
		t.edges = append(t.edges, e)
		t.use(e.From, e.FromColumns...)
		t.use(e.To, e.ToColumns...)
	}
}

// use records that columns of m are read.
func (t *modelTree) use(m *DataModel, columns ...string) {
	if t.columns[m] == nil {
		t.columns[m] = map[string]bool{}
	}
	for _, c := range columns {
		t.columns[m][c] = true
	}
}

// useExpr records the source columns an expression bound to models' columns reads.
func (t *modelTree) useExpr(e plan.Expr) {
	if e == nil {
		return
	}
	for _, qualified := range plan.ColumnsOf(e) {
		model, col, _ := cutQualified(qualified)
		for m := range t.reached {
			if m.Name == model {
				t.use(m, col)
			}
		}
	}
}

// plan builds the tree: a scan of the root and a left join per edge, so that every row of the
// root survives whether or not it has a match.
func (t *modelTree) plan() (plan.Node, error) {
	root, err := t.scan(t.root, t.columns[t.root])
	if err != nil {
		return nil, err
	}
	return t.joinOnto(root)
}

// joinOnto left-joins the tree's models, edge by edge, onto node, which stands for the root: it
// has the root's columns that the edges join on.
func (t *modelTree) joinOnto(node plan.Node) (plan.Node, error) {
	for _, e := range t.edges {
		right, err := t.scan(e.To, t.columns[e.To])
		if err != nil {
			return nil, err
		}
		lk, err := modelColumns(e.From, e.FromColumns)
		if err != nil {
			return nil, err
		}
		rk, err := modelColumns(e.To, e.ToColumns)
		if err != nil {
			return nil, err
		}
		if node, err = plan.NewJoin(plan.LeftJoin, node, right, lk, rk, false); err != nil {
			return nil, fmt.Errorf("join %s to %s: %w", e.From.Name, e.To.Name, err)
		}
	}
	return node, nil
}

func modelColumns(m *DataModel, names []string) ([]plan.Expr, error) {
	out := make([]plan.Expr, len(names))
	for i, n := range names {
		c, err := m.Column(n)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// scan scans the given columns of a model's source, qualified by the model's name, keeping only
// the rows the caller may see. It is the one place the compiler scans a model, so every scan —
// of the measure's model, of a model joined in, of a bridge — carries the caller's row filter.
//
// A row filter may read the models each row relates to along many-to-one relationships ("the
// items of the orders of my region": orders.region = {user.region} on order_items); those are
// joined in, each through a scan of its own that carries its own row filter, the filter applied,
// and the model's columns kept, so the result looks like a scan of the model alone.
func (cc *compiler) scan(m *DataModel, columns map[string]bool) (plan.Node, error) {
	filter, ok := cc.rowFilters[m]
	if !ok {
		var err error
		if filter, err = cc.acc.rowFilter(m); err != nil {
			return nil, fmt.Errorf("row filter of %s: %w", m.Name, err)
		}
		cc.rowFilters[m] = filter
	}
	var related []*DataModel
	if filter != nil {
		for _, q := range plan.ColumnsOf(filter) {
			if name, _, _ := cutQualified(q); name != m.Name {
				if other := cc.cat.Model(name); !slices.Contains(related, other) {
					related = append(related, other)
				}
			}
		}
	}
	if len(related) == 0 {
		return scanColumns(m, columns, filter)
	}
	if cc.scanning[m] {
		return nil, invalid("the row filters of %s read each other's models in a cycle; an admin must change them", m.Name)
	}
	cc.scanning[m] = true
	defer delete(cc.scanning, m)
	tree := cc.newModelTree(m)
	for c := range columns {
		tree.use(m, c)
	}
	for _, other := range related {
		path, err := cc.cat.JoinPath(m, other)
		if err != nil {
			return nil, fmt.Errorf("row filter of %s: %w", m.Name, err)
		}
		tree.follow(path)
	}
	tree.useExpr(filter)
	root, err := scanColumns(m, tree.columns[m], nil)
	if err != nil {
		return nil, err
	}
	node, err := tree.joinOnto(root)
	if err != nil {
		return nil, err
	}
	if node, err = plan.NewFilter(node, filter); err != nil {
		return nil, err
	}
	keep := make([]plan.Named, root.Schema().NumFields())
	for i, f := range root.Schema().Fields() {
		keep[i] = plan.Named{Name: f.Name, Expr: plan.NewColumn(f.Name, f.Type)}
	}
	return plan.NewProject(node, keep)
}

// scanColumns scans the columns of a model's source, and those its filter reads, keeping the rows
// where the filter holds (all of them without one).
func scanColumns(m *DataModel, columns map[string]bool, filter plan.Expr) (*plan.Scan, error) {
	cols := make([]string, 0, len(columns))
	for c := range columns {
		cols = append(cols, c)
	}
	if filter != nil {
		for _, q := range plan.ColumnsOf(filter) {
			if _, c, _ := cutQualified(q); !columns[c] && !slices.Contains(cols, c) {
				cols = append(cols, c)
			}
		}
	}
	sort.Strings(cols)
	if len(cols) == 0 && len(m.PrimaryKey) > 0 {
		// Counting rows reads no column; scan the key so batches still carry their length.
		cols = append(cols, m.PrimaryKey[0])
	}
	src, table := m.Source.Connection, m.Source.Table
	if m.Source.File != "" {
		src, table = "file", m.Source.File
	}
	return plan.NewScan(src, table, m.Name, m.Schema, cols, filter)
}

// bridge reduces a one-to-many path to distinct (key, value) pairs: for every row of the model the
// path leaves, each distinct combination of the dimension values reached through it, once.
// Joining the bridge then repeats a measure row once per value — never once per child row.
type bridge struct {
	id      int
	edge    *Edge // the first edge that fans out; edge.From is in the main tree
	tree    *modelTree
	dims    []groupDim // grouping columns computed inside the bridge
	filters []rowFilter
}

func (b *bridge) keyName(i int) string      { return fmt.Sprintf("#b%d.k%d", b.id, i) }
func (b *bridge) dimName(d groupDim) string { return fmt.Sprintf("#b%d:%s", b.id, d.name) }

// groupPlan aggregates every leaf of one model, grouped by the query's dimensions.
func (cc *compiler) groupPlan(g *measureGroup) (plan.Node, error) {
	return cc.groupRows(g, cc.dims, true, func(node plan.Node, groupBy []plan.Named, leafFilters []plan.Expr) (plan.Node, error) {
		return cc.aggregateLeaves(node, groupBy, g.leaves, leafFilters)
	})
}

// groupRows builds the rows the leaves of one model aggregate — the model's rows with what the
// dimensions and filters need joined in, filtered — and hands them to aggregate with the
// grouping columns of dims and each leaf's own filter (nil where the rows' filter covers it).
// With shortcut set, distinct counts may take a shorter way, aggregating themselves.
func (cc *compiler) groupRows(g *measureGroup, dims []groupDim, shortcut bool,
	aggregate func(node plan.Node, groupBy []plan.Named, leafFilters []plan.Expr) (plan.Node, error)) (plan.Node, error) {
	base := g.model
	main := cc.newModelTree(base)
	var bridges []*bridge
	bridgeOf := map[*Edge]*bridge{}
	// route adds what dimension d needs and says where its value will be computed.
	route := func(d *Dimension, why string) (*bridge, error) {
		path, err := cc.cat.JoinPath(base, d.Model)
		if err != nil {
			return nil, invalid("dimension %s cannot be used with %s: %v", d.QualifiedName(), cc.metricsOf(g), err)
		}
		k := 0
		for k < len(path) && !path[k].Cardinality.FansOut() {
			k++
		}
		main.follow(path[:k])
		if k == len(path) {
			main.useExpr(d.Expr)
			return nil, nil
		}
		if why == "metric filter" {
			return nil, invalid("%s filters on %s, which is reached from %s through a one-to-many relationship; a metric filter must not fan out",
				cc.metricsOf(g), d.QualifiedName(), base.Name)
		}
		e := path[k]
		b := bridgeOf[e]
		if b == nil {
			b = &bridge{id: len(bridges), edge: e, tree: cc.newModelTree(e.To)}
			b.tree.use(e.To, e.ToColumns...)
			main.use(e.From, e.FromColumns...)
			bridgeOf[e] = b
			bridges = append(bridges, b)
		}
		b.tree.follow(path[k+1:])
		b.tree.useExpr(d.Expr)
		return b, nil
	}
	// Measures and metric filters read the base model's own rows.
	for _, l := range g.leaves {
		main.use(base)
		main.useExpr(l.measure.Expr)
		for _, f := range l.filters {
			d := cc.cat.Dimension(f.Dimension)
			if d == nil {
				return nil, fmt.Errorf("metric filter on unknown dimension %s", f.Dimension)
			}
			if _, err := route(d, "metric filter"); err != nil {
				return nil, err
			}
		}
	}
	dimBridge := make([]*bridge, len(dims))
	for i, d := range dims {
		b, err := route(d.dim, "dimension")
		if err != nil {
			return nil, err
		}
		dimBridge[i] = b
		if b != nil {
			b.dims = append(b.dims, d)
		}
	}
	var mainFilters []plan.Expr
	for _, f := range cc.queryFilters() {
		b, err := route(f.dim, "filter")
		if err != nil {
			return nil, err
		}
		if b != nil {
			b.filters = append(b.filters, f)
			continue
		}
		p, err := f.pred(f.dim.Expr)
		if err != nil {
			return nil, invalid("filter %s: %v", f.text, err)
		}
		mainFilters = append(mainFilters, p)
	}

	leafFilters, err := cc.leafFilters(g)
	if err != nil {
		return nil, err
	}
	// A filter every aggregate shares is a filter of the rows: it then decides which groups
	// exist, exactly as when each metric is computed over its own rows.
	shared := leafFilters[0] != nil
	for _, f := range leafFilters[1:] {
		shared = shared && f != nil && f.String() == leafFilters[0].String()
	}
	if shared {
		mainFilters = append(mainFilters, leafFilters[0])
		clear(leafFilters)
	}

	if len(bridges) == 0 && shortcut {
		if k := distinctKey(g, main, leafFilters); k != nil {
			return cc.distinctFirstPlan(g, main, k, mainFilters)
		}
	}

	node, err := main.plan()
	if err != nil {
		return nil, err
	}
	for _, b := range bridges {
		right, err := cc.bridgePlan(b)
		if err != nil {
			return nil, err
		}
		lk, err := modelColumns(b.edge.From, b.edge.FromColumns)
		if err != nil {
			return nil, err
		}
		rk := make([]plan.Expr, len(b.edge.ToColumns))
		for i := range rk {
			if rk[i], err = plan.ColumnOf(right.Schema(), b.keyName(i)); err != nil {
				return nil, err
			}
		}
		// A filter inside the bridge must also drop the rows it has no pair for.
		kind := plan.LeftJoin
		if len(b.filters) > 0 {
			kind = plan.InnerJoin
		}
		if node, err = plan.NewJoin(kind, node, right, lk, rk, false); err != nil {
			return nil, err
		}
	}
	if node, err = filtered(node, mainFilters); err != nil {
		return nil, err
	}

	groupBy := make([]plan.Named, len(dims))
	for i, d := range dims {
		var value plan.Expr
		if b := dimBridge[i]; b != nil {
			c, err := plan.ColumnOf(node.Schema(), b.dimName(d))
			if err != nil {
				return nil, err
			}
			value = c
		} else if value, err = cc.truncated(d, d.dim.Expr); err != nil {
			return nil, err
		}
		groupBy[i] = plan.Named{Name: d.name, Expr: value}
	}
	return aggregate(node, groupBy, leafFilters)
}

// distinctKey returns the column k when every leaf counts the distinct values of k, a column of
// the base model with no filter of its own, and every join out of the base model is on k alone:
// then every dimension of a joined model is a function of k. Otherwise it returns nil.
func distinctKey(g *measureGroup, main *modelTree, leafFilters []plan.Expr) *plan.Column {
	var k *plan.Column
	for i, l := range g.leaves {
		c, ok := l.measure.Expr.(*plan.Column)
		if l.measure.Agg != plan.CountDistinct || !ok || leafFilters[i] != nil || (k != nil && c.Name != k.Name) {
			return nil
		}
		k = c
	}
	for _, e := range main.edges {
		if e.From == g.model && !(len(e.FromColumns) == 1 && g.model.Name+"."+e.FromColumns[0] == k.Name) {
			return nil
		}
	}
	return k
}

// distinctFirstPlan counts distinct values of k by reducing the base model's rows to their
// distinct (k, base dimensions) first and joining only those: "buyers by city" joins each buyer
// once instead of each of their orders. Filters on the base model run before the reduction;
// filters on joined models are functions of k and run after the join. Counting the non-NULL k of
// the distinct tuples then counts distinct values per group, and a group whose rows all have a
// NULL k still appears, with 0.
func (cc *compiler) distinctFirstPlan(g *measureGroup, main *modelTree, k *plan.Column, filters []plan.Expr) (plan.Node, error) {
	base := g.model
	var baseFilters, joinedFilters []plan.Expr
	for _, f := range filters {
		if readsOnlyModel(f, base) {
			baseFilters = append(baseFilters, f)
		} else {
			joinedFilters = append(joinedFilters, f)
		}
	}
	var node plan.Node
	node, err := cc.scan(base, main.columns[base])
	if err != nil {
		return nil, err
	}
	if node, err = filtered(node, baseFilters); err != nil {
		return nil, err
	}
	distinct := []plan.Named{{Name: k.Name, Expr: k}}
	for _, d := range cc.dims {
		if d.dim.Model == base {
			v, err := cc.truncated(d, d.dim.Expr)
			if err != nil {
				return nil, err
			}
			distinct = append(distinct, plan.Named{Name: "#d:" + d.name, Expr: v})
		}
	}
	if node, err = plan.NewAggregate(node, distinct, nil); err != nil {
		return nil, err
	}
	// The distinct rows keep k under its own name, which is all the joins out of base read.
	if node, err = main.joinOnto(node); err != nil {
		return nil, err
	}
	if node, err = filtered(node, joinedFilters); err != nil {
		return nil, err
	}
	groupBy := make([]plan.Named, len(cc.dims))
	for i, d := range cc.dims {
		var value plan.Expr
		if d.dim.Model == base {
			if value, err = plan.ColumnOf(node.Schema(), "#d:"+d.name); err != nil {
				return nil, err
			}
		} else if value, err = cc.truncated(d, d.dim.Expr); err != nil {
			return nil, err
		}
		groupBy[i] = plan.Named{Name: d.name, Expr: value}
	}
	aggs := make([]plan.AggExpr, len(g.leaves))
	for i, l := range g.leaves {
		if aggs[i], err = plan.NewAggExpr(l.name, plan.Count, k, nil); err != nil {
			return nil, err
		}
	}
	return plan.NewAggregate(node, groupBy, aggs)
}

// filtered is n under a filter of the conjunction of terms, or n when there are none.
func filtered(n plan.Node, terms []plan.Expr) (plan.Node, error) {
	p, err := plan.AndAll(terms)
	if err != nil || p == nil {
		return n, err
	}
	return plan.NewFilter(n, p)
}

// readsOnlyModel reports whether e reads columns of model m alone.
func readsOnlyModel(e plan.Expr, m *DataModel) bool {
	for _, c := range plan.ColumnsOf(e) {
		if !strings.HasPrefix(c, m.Name+".") {
			return false
		}
	}
	return true
}

// leafFilters returns each leaf's metric filters as one predicate over its model's rows (nil for
// a leaf without filters).
func (cc *compiler) leafFilters(g *measureGroup) ([]plan.Expr, error) {
	out := make([]plan.Expr, len(g.leaves))
	for i, l := range g.leaves {
		var conds []plan.Expr
		for _, f := range l.filters {
			d := cc.cat.Dimension(f.Dimension)
			pred, err := filterPredicate(d, f.Op, f.Values, cc.loc)
			if err != nil {
				return nil, invalid("metric filter %s: %v", f, err)
			}
			p, err := pred(d.Expr)
			if err != nil {
				return nil, invalid("metric filter %s: %v", f, err)
			}
			conds = append(conds, p)
		}
		p, err := plan.AndAll(conds)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// aggregateLeaves aggregates the leaves, each over the rows its own filter keeps (nil: all).
//
// Each metric is defined over its own rows: where a metric has no rows in a group its value is
// NULL — also for counts — and a group exists only where some metric has rows. Computing leaves
// with different filters in one pass therefore counts, per distinct filter, the rows that pass
// it: a count leaf whose filter passed no row becomes NULL, and groups where every filter passed
// nothing are dropped.
func (cc *compiler) aggregateLeaves(in plan.Node, groupBy []plan.Named, leaves []*leaf, filters []plan.Expr) (plan.Node, error) {
	aggs := make([]plan.AggExpr, 0, len(leaves))
	for i, l := range leaves {
		a, err := measureAgg(l.name, l.measure, l.measure.Expr, filters[i])
		if err != nil {
			return nil, fmt.Errorf("measure %s: %w", l.measure.QualifiedName(), err)
		}
		aggs = append(aggs, a)
	}
	rowsOf := map[string]string{} // filter text -> name of the count of rows passing it
	everyLeafFiltered := true
	for i, f := range filters {
		// A count of rows under a filter is that filter's row count already.
		if f != nil && leaves[i].measure.Agg == plan.Count && leaves[i].measure.Expr == nil {
			if _, ok := rowsOf[f.String()]; !ok {
				rowsOf[f.String()] = leaves[i].name
			}
		}
	}
	for _, f := range filters {
		if f == nil {
			everyLeafFiltered = false
			continue
		}
		if _, ok := rowsOf[f.String()]; ok {
			continue
		}
		name := fmt.Sprintf("#rows%d", len(rowsOf))
		rowsOf[f.String()] = name
		a, err := plan.NewAggExpr(name, plan.Count, nil, f)
		if err != nil {
			return nil, err
		}
		aggs = append(aggs, a)
	}
	agg, err := plan.NewAggregate(in, groupBy, aggs)
	if err != nil || len(rowsOf) == 0 {
		return agg, err
	}
	var node plan.Node = agg
	zero, err := plan.NewLiteral(int64(0), plan.Int64)
	if err != nil {
		return nil, err
	}
	hasRows := func(name string) (plan.Expr, error) {
		return plan.NewBinary(plan.Gt, plan.NewColumn(name, plan.Int64), zero)
	}
	if everyLeafFiltered && len(groupBy) > 0 {
		var some plan.Expr
		for _, name := range sortedValues(rowsOf) {
			c, err := hasRows(name)
			if err != nil {
				return nil, err
			}
			if some == nil {
				some = c
			} else if some, err = plan.NewBinary(plan.Or, some, c); err != nil {
				return nil, err
			}
		}
		if node, err = plan.NewFilter(node, some); err != nil {
			return nil, err
		}
	}
	exprs := make([]plan.Named, 0, len(groupBy)+len(leaves))
	for _, g := range groupBy {
		exprs = append(exprs, plan.Named{Name: g.Name, Expr: plan.NewColumn(g.Name, node.Schema().Field(len(exprs)).Type)})
	}
	for i, l := range leaves {
		value := plan.Expr(plan.NewColumn(l.name, aggs[i].DataType()))
		if filters[i] != nil && (l.measure.Agg == plan.Count || l.measure.Agg == plan.CountDistinct) {
			cond, err := hasRows(rowsOf[filters[i].String()])
			if err != nil {
				return nil, err
			}
			if value, err = plan.NewCase([]plan.When{{Cond: cond, Then: value}}, nil); err != nil {
				return nil, err
			}
		}
		exprs = append(exprs, plan.Named{Name: l.name, Expr: value})
	}
	return plan.NewProject(node, exprs)
}

func sortedValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// bridgePlan builds a bridge: its models joined, its filters applied, then reduced to distinct
// keys and grouping values.
func (cc *compiler) bridgePlan(b *bridge) (plan.Node, error) {
	node, err := b.tree.plan()
	if err != nil {
		return nil, err
	}
	var conds []plan.Expr
	for _, f := range b.filters {
		p, err := f.pred(f.dim.Expr)
		if err != nil {
			return nil, invalid("filter %s: %v", f.text, err)
		}
		conds = append(conds, p)
	}
	if f, err := plan.AndAll(conds); err != nil {
		return nil, err
	} else if f != nil {
		if node, err = plan.NewFilter(node, f); err != nil {
			return nil, err
		}
	}
	keys, err := modelColumns(b.edge.To, b.edge.ToColumns)
	if err != nil {
		return nil, err
	}
	var group []plan.Named
	for i, k := range keys {
		group = append(group, plan.Named{Name: b.keyName(i), Expr: k})
	}
	for _, d := range b.dims {
		v, err := cc.truncated(d, d.dim.Expr)
		if err != nil {
			return nil, err
		}
		group = append(group, plan.Named{Name: b.dimName(d), Expr: v})
	}
	return plan.NewAggregate(node, group, nil)
}

// truncated is a grouping column's value: the dimension, truncated to its unit if it has one,
// in the query's zone and calendar.
func (cc *compiler) truncated(d groupDim, value plan.Expr) (plan.Expr, error) {
	if d.unit == nil {
		return value, nil
	}
	return plan.NewCalendarTrunc(value, *d.unit, cc.loc, cc.cal)
}

// metricsOf names the requested metrics whose measures are on the group's model, for errors.
func (cc *compiler) metricsOf(g *measureGroup) string {
	var names []string
	for _, m := range cc.metrics {
		for _, l := range g.leaves {
			if cc.usesLeaf(m, l) {
				names = append(names, m.Name)
				break
			}
		}
	}
	if len(names) == 1 {
		return "metric " + names[0]
	}
	return "metrics " + strings.Join(names, ", ")
}

func (cc *compiler) usesLeaf(m *Metric, l *leaf) bool { return cc.usesLeafIn(m, scope{}, l) }

// usesLeafIn reports whether m, within scope sc, aggregates l.
func (cc *compiler) usesLeafIn(m *Metric, sc scope, l *leaf) bool {
	switch m.Kind {
	case Atomic:
		return cc.leafByKey[leafKey(m.Measure, sc)] == l
	case Derived:
		return cc.usesLeafIn(m.Base, sc.derived(m), l)
	}
	for _, d := range m.DependsOn() {
		if cc.usesLeafIn(d, scope{window: sc.window}, l) {
			return true
		}
	}
	return false
}

// measureAgg is the aggregate of measure m over arg (its expression, or a column holding it),
// named name, over the rows filter keeps: the measure's function, with its percentile.
func measureAgg(name string, m *Measure, arg, filter plan.Expr) (plan.AggExpr, error) {
	a, err := plan.NewAggExpr(name, m.Agg, arg, filter)
	a.Fraction = m.Fraction
	return a, err
}
