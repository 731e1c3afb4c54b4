package pgwire

import (
	"hash/fnv"
	"sort"
	"strings"

	"github.com/koujing/koujing/semantic"
)

// relations is the catalog as SQL shows it to one caller: each business domain a schema, and in
// it each data model that a metric of the domain aggregates, as a table. A table's columns are
// the model's own dimensions (region), the metrics that aggregate the model, whatever their
// domain (gmv_paid), and the dimensions of the models it reaches through relationships, named
// model.dimension ("customers.segment"). A metric that spans models is a column of each model it
// aggregates. Only what the caller's Access can see is there, so a hidden dimension or metric is
// no column and a model with no visible metric is no table.
type relations struct {
	schemas []*sqlSchema
	byName  map[string]*sqlSchema
	metrics map[string]*semantic.Metric
	typeOf  metricTyper
	// catalog holds the catalog rows that follow from this layout alone, by table, built when
	// first read (see layoutRows). A relations belongs to one connection, so no lock guards it.
	catalog map[*relDef][][]any
}

// metric returns a metric the caller can see, or nil.
func (r *relations) metric(name string) *semantic.Metric { return r.metrics[name] }

// metricType returns a metric's column type.
func (r *relations) metricType(m *semantic.Metric) (uint32, int32) { return r.typeOf(m) }

// sqlSchema is a business domain as a schema.
type sqlSchema struct {
	name   string
	oid    uint32
	domain *semantic.Domain
	tables []*sqlTable
}

// sqlTable is a data model as a table of one schema.
type sqlTable struct {
	schema  *sqlSchema
	name    string
	oid     uint32
	model   *semantic.DataModel
	columns []*sqlColumn
	byName  map[string]*sqlColumn
}

// sqlColumn is a dimension or a metric as a column.
type sqlColumn struct {
	name   string
	num    int16 // attnum, from 1
	typ    uint32
	typmod int32
	dim    *semantic.Dimension
	metric *semantic.Metric
	// related is set for the dimensions of other models ("customers.segment").
	related bool
}

// description is what pg_description and information_schema say of the column.
func (c *sqlColumn) description() string {
	switch {
	case c.metric != nil:
		return joinNonEmpty(c.metric.Label, c.metric.Description)
	case c.dim != nil:
		return joinNonEmpty(c.dim.Label, c.dim.Description)
	}
	return ""
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + ": " + b
}

// stableOID returns an OID for a named object that is the same on every connection and server,
// above PostgreSQL's built-in range, and reveals nothing of objects the caller cannot see.
func stableOID(kind, name string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return h.Sum32()&0x3fffffff | 0x40000000
}

// metricTyper returns a metric's result type as the engine computes it.
type metricTyper func(m *semantic.Metric) (oid uint32, typmod int32)

// newRelations lays out what acc can see as schemas, tables and columns.
func newRelations(acc *semantic.Access, cat *semantic.Catalog, typeOf metricTyper) *relations {
	r := &relations{byName: map[string]*sqlSchema{}, metrics: map[string]*semantic.Metric{}, typeOf: typeOf}
	metricsOf := map[*semantic.DataModel][]*semantic.Metric{}
	domainsOf := map[*semantic.DataModel]map[string]bool{}
	for _, m := range acc.Metrics() {
		r.metrics[m.Name] = m
		for _, model := range acc.MeasureModels(m) {
			metricsOf[model] = append(metricsOf[model], m)
			if domainsOf[model] == nil {
				domainsOf[model] = map[string]bool{}
			}
			domainsOf[model][m.Domain] = true
		}
	}
	models := acc.Models()
	for _, d := range acc.Domains() {
		s := &sqlSchema{name: d.Name, oid: stableOID("schema", d.Name), domain: d}
		for _, model := range models {
			if domainsOf[model][d.Name] {
				s.tables = append(s.tables, newTable(s, model, metricsOf[model], models, acc, cat, typeOf))
			}
		}
		r.schemas = append(r.schemas, s)
		r.byName[s.name] = s
	}
	return r
}

func newTable(s *sqlSchema, model *semantic.DataModel, metrics []*semantic.Metric, models []*semantic.DataModel,
	acc *semantic.Access, cat *semantic.Catalog, typeOf metricTyper) *sqlTable {
	t := &sqlTable{schema: s, name: model.Name, oid: stableOID("table", s.name+"."+model.Name), model: model, byName: map[string]*sqlColumn{}}
	add := func(c *sqlColumn) {
		c.num = int16(len(t.columns) + 1)
		t.columns = append(t.columns, c)
		t.byName[c.name] = c
	}
	for _, d := range acc.ModelDimensions(model) {
		oid, mod := pgTypeOf(d.Expr.DataType())
		add(&sqlColumn{name: d.Name, typ: oid, typmod: mod, dim: d})
	}
	sorted := append([]*semantic.Metric(nil), metrics...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, m := range sorted {
		if t.byName[m.Name] != nil {
			continue // a dimension of the same name keeps the bare name
		}
		oid, mod := typeOf(m)
		add(&sqlColumn{name: m.Name, typ: oid, typmod: mod, metric: m})
	}
	var related []*semantic.Dimension
	for _, other := range models {
		if other == model {
			continue
		}
		if _, err := cat.JoinPath(model, other); err != nil {
			continue
		}
		related = append(related, acc.ModelDimensions(other)...)
	}
	sort.Slice(related, func(i, j int) bool { return related[i].QualifiedName() < related[j].QualifiedName() })
	for _, d := range related {
		oid, mod := pgTypeOf(d.Expr.DataType())
		add(&sqlColumn{name: d.QualifiedName(), typ: oid, typmod: mod, dim: d, related: true})
	}
	return t
}

// table returns the table of that name in the schema, or nil.
func (s *sqlSchema) table(name string) *sqlTable {
	for _, t := range s.tables {
		if t.name == name {
			return t
		}
	}
	return nil
}

// lookup finds a table by schema and name; an empty schema searches the search path in order.
func (r *relations) lookup(schema, name string, searchPath []string) *sqlTable {
	if schema != "" {
		if s := r.byName[schema]; s != nil {
			return s.table(name)
		}
		return nil
	}
	for _, sn := range searchPath {
		if s := r.byName[sn]; s != nil {
			if t := s.table(name); t != nil {
				return t
			}
		}
	}
	return nil
}

// visible reports whether a table is the one its bare name finds on the search path, as
// pg_table_is_visible does.
func (r *relations) visible(t *sqlTable, searchPath []string) bool {
	return r.lookup("", t.name, searchPath) == t
}

// tableNames lists the tables, schema-qualified, for messages.
func (r *relations) tableNames() string {
	var names []string
	for _, s := range r.schemas {
		for _, t := range s.tables {
			names = append(names, s.name+"."+t.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
