package semantic

import (
	"net/url"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"weak"

	"github.com/koujing/koujing/engine/plan"
)

// lineageIndex is what a catalog's lineage needs to follow edges downstream: for each metric,
// measure, dimension and column, what reads it. It is built once per catalog, when its lineage
// is first asked for, and holds no reference to the catalog itself, so that the catalog can be
// collected (and its index with it) once nothing else uses it.
type lineageIndex struct {
	tables map[string]*lineageTable
	// sortedTables are the tables sorted by key, for walks whose order shows.
	sortedTables []*lineageTable
	modelTable   map[*DataModel]*lineageTable
	columns      map[string]*lineageColumn

	dependents   map[*Metric][]*Metric
	filterUsers  map[*Dimension][]*Metric
	measureUsers map[*Measure][]*Metric
	balanceUsers map[*Dimension][]*Measure
	// modelOwners are, for each model, the owners of the metrics that aggregate its measures
	// (directly or not), sorted, each with those metrics: a request shows an owner once it finds
	// one of the owner's metrics the caller may see, which is at once in the usual catalog.
	modelOwners map[*DataModel][]lineageOwner
}

// lineageOwner is an owner with the metrics it owns on one model.
type lineageOwner struct {
	name    string
	metrics []*Metric
}

// lineageTable is a source table with the models over it and its columns.
type lineageTable struct {
	key     string
	info    *LineageTable
	models  []*DataModel
	columns []*lineageColumn
}

// lineageColumn is a column of a source table with what reads it.
type lineageColumn struct {
	key      string
	table    *lineageTable
	info     *LineageColumnInfo
	dims     []*Dimension
	measures []*Measure
	// joinsTo are the key columns of related models that relationships join this one to.
	joinsTo   []lineageJoin
	joinsFrom []lineageJoin
	// keyOf are the models whose primary key holds the column.
	keyOf []*DataModel
}

// lineageJoin is one pair of key columns of a relationship.
type lineageJoin struct {
	rel   *Relationship
	other *lineageColumn
}

// lineageIndexes caches each catalog's index, keyed weakly so that it does not keep the catalog
// alive; a cleanup drops the entry once the catalog is collected.
var lineageIndexes sync.Map // weak.Pointer[Catalog] → *lineageIndex

// lineageIndexOf returns the lineage index of a catalog, building it the first time.
func lineageIndexOf(cat *Catalog) *lineageIndex {
	key := weak.Make(cat)
	if v, ok := lineageIndexes.Load(key); ok {
		return v.(*lineageIndex)
	}
	idx := buildLineageIndex(cat)
	if v, loaded := lineageIndexes.LoadOrStore(key, idx); loaded {
		return v.(*lineageIndex)
	}
	runtime.AddCleanup(cat, func(k weak.Pointer[Catalog]) { lineageIndexes.Delete(k) }, key)
	return idx
}

func buildLineageIndex(cat *Catalog) *lineageIndex {
	idx := &lineageIndex{
		tables: map[string]*lineageTable{}, modelTable: map[*DataModel]*lineageTable{}, columns: map[string]*lineageColumn{},
		dependents: map[*Metric][]*Metric{}, filterUsers: map[*Dimension][]*Metric{}, measureUsers: map[*Measure][]*Metric{},
		balanceUsers: map[*Dimension][]*Measure{}, modelOwners: map[*DataModel][]lineageOwner{},
	}
	connections := map[string]*LineageTable{}
	for _, c := range cat.connections {
		connections[c.Name] = &LineageTable{Database: databaseOf(c.URL), Namespace: openLineageNamespace(c.URL)}
	}
	for _, m := range cat.models {
		t := idx.table(m.Source, connections)
		t.models = append(t.models, m)
		idx.modelTable[m] = t
		if m.Schema != nil {
			for _, f := range m.Schema.Fields() {
				idx.column(t, f.Name, plan.TypeName(f.Type))
			}
		}
	}
	colOf := func(m *DataModel, qualified string) *lineageColumn {
		return idx.columns[idx.modelTable[m].key+"."+strings.TrimPrefix(qualified, m.Name+".")]
	}
	for _, m := range cat.models {
		for _, d := range m.Dimensions {
			if d.Expr == nil {
				continue
			}
			for _, c := range plan.ColumnsOf(d.Expr) {
				if col := colOf(m, c); col != nil {
					col.dims = append(col.dims, d)
				}
			}
		}
		for _, x := range m.Measures {
			if x.Expr != nil {
				for _, c := range plan.ColumnsOf(x.Expr) {
					if col := colOf(m, c); col != nil {
						col.measures = append(col.measures, x)
					}
				}
			}
			if sa := x.SemiAdditive; sa != nil && sa.Over != nil {
				idx.balanceUsers[sa.Over] = append(idx.balanceUsers[sa.Over], x)
			}
		}
		for _, k := range m.PrimaryKey {
			if col := colOf(m, k); col != nil {
				col.keyOf = append(col.keyOf, m)
			}
		}
		for _, r := range m.Relationships {
			for i := range r.FromColumns {
				from, to := colOf(r.From, r.FromColumns[i]), colOf(r.To, r.ToColumns[i])
				if from == nil || to == nil || from.joins(to) {
					continue
				}
				from.joinsTo = append(from.joinsTo, lineageJoin{rel: r, other: to})
				to.joinsFrom = append(to.joinsFrom, lineageJoin{rel: r, other: from})
			}
		}
	}
	for _, t := range idx.tables {
		idx.sortedTables = append(idx.sortedTables, t)
	}
	sort.Slice(idx.sortedTables, func(i, j int) bool { return idx.sortedTables[i].key < idx.sortedTables[j].key })
	for _, m := range cat.metrics {
		switch m.Kind {
		case Atomic:
			idx.measureUsers[m.Measure] = append(idx.measureUsers[m.Measure], m)
		case Derived:
			idx.dependents[m.Base] = append(idx.dependents[m.Base], m)
			for _, f := range m.Filters {
				if d := cat.Dimension(f.Dimension); d != nil && !slices.Contains(idx.filterUsers[d], m) {
					idx.filterUsers[d] = append(idx.filterUsers[d], m)
				}
			}
		case Composite:
			for _, dep := range m.DependsOn() {
				idx.dependents[dep] = append(idx.dependents[dep], m)
			}
		}
		owner := metricOwner(cat, m)
		if owner == "" {
			continue
		}
		for _, dm := range m.MeasureModels() {
			owners := idx.modelOwners[dm]
			i := sort.Search(len(owners), func(i int) bool { return owners[i].name >= owner })
			if i == len(owners) || owners[i].name != owner {
				owners = slices.Insert(owners, i, lineageOwner{name: owner})
				idx.modelOwners[dm] = owners
			}
			owners[i].metrics = append(owners[i].metrics, m)
		}
	}
	return idx
}

// metricOwner returns a metric's owner, or its domain's when it names none.
func metricOwner(cat *Catalog, m *Metric) string {
	if m.Owner != "" {
		return m.Owner
	}
	if d := cat.Domain(m.Domain); d != nil {
		return d.Owner
	}
	return ""
}

// joins reports whether a relationship already joins c and other, declared from either side.
func (c *lineageColumn) joins(other *lineageColumn) bool {
	for _, j := range c.joinsTo {
		if j.other == other {
			return true
		}
	}
	for _, j := range c.joinsFrom {
		if j.other == other {
			return true
		}
	}
	return false
}

// table returns the index's table for a model's source, adding it the first time.
func (idx *lineageIndex) table(s Source, connections map[string]*LineageTable) *lineageTable {
	info := &LineageTable{Connection: s.Connection, Table: s.Table}
	if c := connections[s.Connection]; c != nil {
		info.Database, info.Namespace = c.Database, c.Namespace
	}
	key := s.Connection + ":" + s.Table
	if s.File != "" {
		info = &LineageTable{Table: s.Path, File: true}
		key = "file:" + s.Path
	}
	if t, ok := idx.tables[key]; ok {
		return t
	}
	t := &lineageTable{key: key, info: info}
	idx.tables[key] = t
	return t
}

// column returns the index's column of a table, adding it the first time.
func (idx *lineageIndex) column(t *lineageTable, name, typ string) *lineageColumn {
	key := t.key + "." + name
	if c, ok := idx.columns[key]; ok {
		return c
	}
	c := &lineageColumn{key: key, table: t, info: &LineageColumnInfo{Table: t.info, Name: name, Type: typ}}
	idx.columns[key] = c
	t.columns = append(t.columns, c)
	return c
}

// databaseOf returns the database a PostgreSQL connection string names — the path of a URL, or
// the dbname of a key=value string — or "" when it names none.
func databaseOf(conn string) string {
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		u, err := url.Parse(conn)
		if err != nil {
			return ""
		}
		return strings.TrimPrefix(u.Path, "/")
	}
	for _, f := range strings.Fields(conn) {
		if v, ok := strings.CutPrefix(f, "dbname="); ok {
			return strings.Trim(v, "'")
		}
	}
	return ""
}

// schemaAndTable splits a table's name into its schema ("public" when it names none) and table,
// lower-cased as PostgreSQL folds identifiers.
func (t *LineageTable) schemaAndTable() (string, string) {
	schema, table, ok := strings.Cut(strings.ToLower(t.Table), ".")
	if !ok {
		return "public", schema
	}
	return schema, table
}
