package semantic

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"go.yaml.in/yaml/v3"

	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/semantic/sqlexpr"
)

var (
	domainKeys       = []string{"name", "label", "description", "owner", "review", "steward", "categories"}
	reviewKeys       = []string{"approvals", "sla", "reviewers", "subscribers", "webhooks"}
	modelKeys        = []string{"name", "label", "description", "source", "primary_key", "dimensions", "measures", "relationships", "quality"}
	sourceKeys       = []string{"connection", "table", "file"}
	dimensionKeys    = []string{"name", "label", "description", "synonyms", "tags", "type", "expr", "granularities", "category", "owner", "steward"}
	measureKeys      = []string{"name", "label", "description", "agg", "expr", "percentile", "semi_additive"}
	semiAdditiveKeys = []string{"over", "take"}
	relationshipKeys = []string{"to", "type", "keys"}
	keyPairKeys      = []string{"from", "to"}

	dimensionTypes = []string{string(DimensionString), string(DimensionNumber), string(DimensionBoolean), string(DimensionTime)}
	timeUnits      = []string{"day", "week", "month", "quarter", "year", "fiscal_month", "fiscal_quarter", "fiscal_year"}
	aggFuncs       = []string{"sum", "count", "count_distinct", "avg", "min", "max", "percentile", "median"}
	cardinalities  = []string{string(ManyToOne), string(OneToMany), string(OneToOne)}
)

type domainDef struct {
	f        *defFile
	d        *Domain
	nameNode *yaml.Node
}

type modelDef struct {
	f        *defFile
	m        *DataModel
	what     string
	nameNode *yaml.Node
	// sourceOK is set when the source is well formed, and so worth asking the resolver about;
	// hasSchema once the resolver answered.
	sourceOK  bool
	hasSchema bool
	tableNode *yaml.Node
	connNode  *yaml.Node
	pkNodes   []*yaml.Node
	dims      []*dimensionDef
	measures  []*measureDef
	rels      []*relationshipDef
}

type dimensionDef struct {
	f        *defFile
	d        *Dimension
	what     string
	nameNode *yaml.Node
	// exprNode is nil when the dimension reads the column of its name.
	exprNode *yaml.Node
	// ast is nil when the expression does not parse.
	ast      sqlexpr.Node
	declared DimensionType
	typeNode *yaml.Node
	granNode *yaml.Node
	grans    []plan.TimeUnit
}

type measureDef struct {
	f        *defFile
	x        *Measure
	what     string
	nameNode *yaml.Node
	aggOK    bool
	exprNode *yaml.Node
	ast      sqlexpr.Node
	// overName is the time dimension a semi-additive measure takes the last value of.
	overName string
	overNode *yaml.Node
}

type relationshipDef struct {
	f        *defFile
	node     *yaml.Node
	what     string
	to       string
	toNode   *yaml.Node
	card     Cardinality
	keysNode *yaml.Node
	keys     []keyPair
}

// keyPair is one join key; fromNode and toNode are the same scalar when the key is written as
// one column name.
type keyPair struct {
	from, to         string
	fromNode, toNode *yaml.Node
}

// memberWhat names a dimension or measure of the model in messages.
func (md *modelDef) memberWhat(n *yaml.Node, kind string) string {
	if md.m.Name == "" {
		return named(n, "name", kind+" ", "a "+kind) + " of " + md.what
	}
	return named(n, "name", kind+" "+md.m.Name+".", "a "+kind+" of "+md.what)
}

func (l *loader) readDomain(f *defFile, n *yaml.Node) {
	m := l.object(f, n, named(n, "name", "domain ", "a domain"), "a mapping", domainKeys)
	if m == nil {
		return
	}
	d := &domainDef{f: f, d: &Domain{Pos: f.pos(m.node)}}
	d.d.Name, d.nameNode = l.requireName(m, "domain")
	if d.d.Name != "" {
		m.what = "domain " + d.d.Name
	}
	d.d.Label, _ = l.str(m, "label")
	d.d.Description, _ = l.str(m, "description")
	d.d.Owner, _ = l.str(m, "owner")
	d.d.Steward, _ = l.str(m, "steward")
	d.d.Categories = l.readCategories(f, m)
	d.d.Review = l.readReview(f, m)
	l.domains = append(l.domains, d)
}

// readReview reads how a domain reviews changes to its definitions; what a domain does not say
// takes the defaults.
func (l *loader) readReview(f *defFile, domain *fields) ReviewSettings {
	r := ReviewSettings{Approvals: DefaultApprovals, SLA: DefaultReviewSLA}
	n := domain.get("review")
	if n == nil {
		return r
	}
	m := l.object(f, n, "review of "+domain.what, "a mapping", reviewKeys)
	if m == nil {
		return r
	}
	if s, n := l.str(m, "approvals"); n != nil {
		k, err := strconv.Atoi(s)
		if err != nil || k < 1 || k > 10 {
			l.report(f.pos(n), "", "approvals of %s must be a whole number from 1 to 10, not %q", m.what, s)
		} else {
			r.Approvals = k
		}
	}
	if s, n := l.str(m, "sla"); n != nil {
		d, err := parseDays(s)
		if err != nil || d <= 0 {
			l.report(f.pos(n), "write it as 48h, 90m or 3d", "sla of %s is not a duration: %q", m.what, s)
		} else {
			r.SLA = d
		}
	}
	r.Reviewers, _ = l.strList(m, "reviewers", false)
	r.Subscribers, _ = l.strList(m, "subscribers", false)
	webhooks, nodes := l.strList(m, "webhooks", false)
	for i, w := range webhooks {
		if u, err := url.Parse(w); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			l.report(f.pos(nodes[i]), "", "webhook %q of %s is not an http(s) URL", w, m.what)
			continue
		}
		r.Webhooks = append(r.Webhooks, w)
	}
	return r
}

// parseDays reads a duration as time.ParseDuration does, and also whole days: "3d".
func parseDays(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil {
			return 0, err
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

func (l *loader) readModel(f *defFile, n *yaml.Node) {
	fm := l.object(f, n, named(n, "name", "model ", "a model"), "a mapping", modelKeys)
	if fm == nil {
		return
	}
	md := &modelDef{f: f, m: &DataModel{Pos: f.pos(fm.node)}, what: "a model"}
	md.m.Name, md.nameNode = l.requireName(fm, "model")
	if md.m.Name != "" {
		md.what = "model " + md.m.Name
		fm.what = md.what
	}
	md.m.Label, _ = l.str(fm, "label")
	md.m.Description, _ = l.str(fm, "description")
	l.readSource(md, fm)

	pk, pkNodes := l.strList(fm, "primary_key", true)
	switch n := fm.get("primary_key"); {
	case n == nil && fm.misspelt:
	case n == nil:
		l.report(f.pos(fm.node), "primary_key names the column, or list of columns, that identifies a row", "%s has no primary_key", md.what)
	case n.Kind == yaml.SequenceNode && len(n.Content) == 0:
		l.report(f.pos(n), "primary_key names the column, or list of columns, that identifies a row", "primary_key of %s is empty", md.what)
	}
	md.m.PrimaryKey, md.pkNodes = pk, pkNodes

	for _, n := range l.list(f, fm.get("dimensions"), "dimensions of "+md.what) {
		l.readDimension(md, n)
	}
	for _, n := range l.list(f, fm.get("measures"), "measures of "+md.what) {
		l.readMeasure(md, n)
	}
	for _, n := range l.list(f, fm.get("relationships"), "relationships of "+md.what) {
		l.readRelationship(md, n)
	}
	l.readQuality(f, fm, md, nil)
	l.models = append(l.models, md)
}

const sourceHint = "write source: {connection: demo, table: orders} or source: {file: data/orders.csv}"

func (l *loader) readSource(md *modelDef, fm *fields) {
	f := md.f
	n := fm.get("source")
	if n == nil {
		if fm.missing("source") {
			l.report(f.pos(fm.node), sourceHint, "%s has no source", md.what)
		}
		return
	}
	sm := l.object(f, n, "the source of "+md.what, "a mapping with connection and table, or with file", sourceKeys)
	if sm == nil {
		return
	}
	conn, connNode := l.str(sm, "connection")
	table, tableNode := l.str(sm, "table")
	file, fileNode := l.str(sm, "file")
	src := Source{Connection: conn, Table: table, File: file, Path: file, Pos: f.pos(sm.node)}
	switch {
	case sm.misspelt && (fileNode == nil && (connNode == nil || tableNode == nil)):
		return
	case fileNode != nil && (connNode != nil || tableNode != nil):
		l.report(f.pos(fileNode), sourceHint, "the source of %s has both file and connection or table; give one", md.what)
		return
	case fileNode != nil:
		if file == "" {
			l.report(f.pos(fileNode), sourceHint, "the file of the source of %s is empty", md.what)
			return
		}
		if l.fileBase != "" && !filepath.IsAbs(file) {
			src.File = filepath.Join(l.fileBase, filepath.FromSlash(file))
		}
	case connNode == nil && tableNode == nil:
		l.report(f.pos(sm.node), sourceHint, "the source of %s names no table or file", md.what)
		return
	case connNode == nil:
		l.report(f.pos(sm.node), "the built-in demo tables are under connection: "+DemoConnection, "the source of %s has no connection", md.what)
		return
	case tableNode == nil:
		l.report(f.pos(sm.node), sourceHint, "the source of %s has no table", md.what)
		return
	}
	md.m.Source, md.tableNode, md.connNode, md.sourceOK = src, tableNode, connNode, true
}

func (l *loader) readDimension(md *modelDef, n *yaml.Node) {
	f := md.f
	m := l.object(f, n, md.memberWhat(n, "dimension"), "a mapping", dimensionKeys)
	if m == nil {
		return
	}
	dd := &dimensionDef{f: f, d: &Dimension{Model: md.m, Pos: f.pos(m.node)}, what: m.what}
	dd.d.Name, dd.nameNode = l.requireName(m, "dimension")
	if dd.d.Name != "" {
		dd.what = "dimension " + md.m.Name + "." + dd.d.Name
		m.what = dd.what
	}
	dd.d.Label, _ = l.str(m, "label")
	dd.d.Description, _ = l.str(m, "description")
	dd.d.Synonyms, _ = l.strList(m, "synonyms", false)
	dd.d.Tags, _ = l.strList(m, "tags", false)
	dd.d.Category, _ = l.str(m, "category")
	dd.d.Owner, _ = l.str(m, "owner")
	dd.d.Steward, _ = l.str(m, "steward")

	if t, tn := l.str(m, "type"); tn != nil {
		dd.typeNode = tn
		if i := indexOf(dimensionTypes, t); i >= 0 {
			dd.declared = DimensionType(t)
		} else {
			l.report(f.pos(tn), suggestion(t, dimensionTypes, "the types are"), "unknown type %q for %s", t, dd.what)
		}
	}

	if e, en := l.str(m, "expr"); en != nil {
		dd.d.SQL, dd.exprNode = e, en
		dd.ast = l.parseExpr(f, en, dd.what)
	} else if dd.d.Name != "" && m.get("expr") == nil && !m.misspelt {
		dd.d.SQL = dd.d.Name
		dd.ast = &sqlexpr.Ident{Name: dd.d.Name}
	}

	if gn := m.get("granularities"); gn != nil {
		dd.granNode = gn
		vals, nodes := l.strList(m, "granularities", false)
		if dd.declared != "" && dd.declared != DimensionTime {
			l.report(f.pos(gn), "remove granularities, or declare type: time", "granularities apply only to time dimensions, and %s is declared %s", dd.what, dd.declared)
		}
		seen := map[plan.TimeUnit]bool{}
		for i, v := range vals {
			u, err := plan.ParseTimeUnit(v)
			if err != nil || v != strings.ToLower(v) {
				l.report(f.pos(nodes[i]), suggestion(v, timeUnits, "the granularities are"), "unknown granularity %q for %s", v, dd.what)
				continue
			}
			if !seen[u] {
				seen[u] = true
				dd.grans = append(dd.grans, u)
			}
		}
		if len(vals) == 0 && gn.Kind == yaml.SequenceNode {
			l.report(f.pos(gn), "leave granularities out to allow every one", "granularities of %s is empty", dd.what)
		}
		sort.Slice(dd.grans, func(i, j int) bool { return dd.grans[i] < dd.grans[j] })
	}
	md.dims = append(md.dims, dd)
}

func (l *loader) readMeasure(md *modelDef, n *yaml.Node) {
	f := md.f
	m := l.object(f, n, md.memberWhat(n, "measure"), "a mapping", measureKeys)
	if m == nil {
		return
	}
	xd := &measureDef{f: f, x: &Measure{Model: md.m, Pos: f.pos(m.node)}, what: m.what}
	xd.x.Name, xd.nameNode = l.requireName(m, "measure")
	if xd.x.Name != "" {
		xd.what = "measure " + md.m.Name + "." + xd.x.Name
		m.what = xd.what
	}
	xd.x.Label, _ = l.str(m, "label")
	xd.x.Description, _ = l.str(m, "description")

	const aggHint = "agg is one of sum, count, count_distinct, avg, min, max, percentile, median"
	agg, aggNode := l.str(m, "agg")
	switch {
	case aggNode != nil:
		fn, err := plan.ParseAggFunc(agg)
		if err != nil {
			l.report(f.pos(aggNode), suggestion(agg, aggFuncs, "the aggregations are"), "unknown aggregation %q for %s", agg, xd.what)
			break
		}
		xd.x.Agg, xd.aggOK = fn, true
	case m.missing("agg"):
		l.report(f.pos(m.node), aggHint, "%s has no agg", xd.what)
	}

	if e, en := l.str(m, "expr"); en != nil {
		xd.x.SQL, xd.exprNode = e, en
		xd.ast = l.parseExpr(f, en, xd.what)
	} else if m.missing("expr") && xd.aggOK && xd.x.Agg != plan.Count {
		l.report(f.pos(m.node), "only count may leave expr out, to count rows", "%s has no expr for %s to aggregate", xd.what, xd.x.Agg)
	}
	p, pn := l.str(m, "percentile")
	switch {
	case pn != nil && xd.aggOK && xd.x.Agg != plan.Percentile:
		l.report(f.pos(pn), "use agg: percentile, or leave percentile out", "percentile applies to agg: percentile, and %s is %s", xd.what, xd.x.Agg)
	case pn != nil:
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || !(v >= 0 && v <= 1) {
			l.report(f.pos(pn), "write a fraction from 0 to 1: 0.9 for the 90th percentile", "percentile of %s is not from 0 to 1: %q", xd.what, p)
		}
		xd.x.Fraction = v
	case xd.aggOK && xd.x.Agg == plan.Percentile && m.missing("percentile"):
		l.report(f.pos(m.node), "percentile: 0.9 computes the 90th percentile; agg: median the 50th", "%s has no percentile", xd.what)
	}
	if sn := m.get("semi_additive"); sn != nil {
		if sa := l.object(f, sn, "semi_additive of "+xd.what, "a mapping with over and take", semiAdditiveKeys); sa != nil {
			xd.overName, xd.overNode = l.str(sa, "over")
			if sa.missing("over") {
				l.report(f.pos(sa.node), "over names the measure's time dimension, such as snapshot_date", "semi_additive of %s has no over", xd.what)
			}
			xd.x.SemiAdditive = &SemiAdditive{Pos: f.pos(sa.node)}
			if take, tn := l.str(sa, "take"); tn != nil {
				switch take {
				case "last":
				case "first":
					xd.x.SemiAdditive.First = true
				default:
					l.report(f.pos(tn), "take is last or first", "unknown take %q in semi_additive of %s", take, xd.what)
				}
			}
		}
	}
	md.measures = append(md.measures, xd)
}

func (l *loader) readRelationship(md *modelDef, n *yaml.Node) {
	f := md.f
	m := l.object(f, n, named(n, "to", "the relationship of "+md.m.Name+" to ", "a relationship of "+md.what), "a mapping", relationshipKeys)
	if m == nil {
		return
	}
	rd := &relationshipDef{f: f, node: m.node, what: m.what}
	rd.to, rd.toNode = l.str(m, "to")
	if m.missing("to") {
		l.report(f.pos(m.node), "to names the model the relationship joins to", "%s has no to", rd.what)
	}
	if rd.to != "" {
		rd.what = "the relationship of " + md.m.Name + " to " + rd.to
		m.what = rd.what
	}
	const cardHint = "type is many_to_one, one_to_many or one_to_one, seen from this model"
	card, cardNode := l.str(m, "type")
	switch {
	case cardNode != nil:
		if indexOf(cardinalities, card) < 0 {
			l.report(f.pos(cardNode), suggestion(card, cardinalities, "the types are"), "unknown relationship type %q for %s", card, rd.what)
		} else {
			rd.card = Cardinality(card)
		}
	case m.missing("type"):
		l.report(f.pos(m.node), cardHint, "%s has no type", rd.what)
	}

	rd.keysNode = m.get("keys")
	if m.missing("keys") {
		l.report(f.pos(m.node), "keys lists the join columns: [customer_id], or [{from: customer_id, to: id}]", "%s has no keys", rd.what)
	}
	for _, k := range l.list(f, rd.keysNode, "keys of "+rd.what) {
		switch {
		case k.Kind == yaml.ScalarNode && !isNull(k):
			rd.keys = append(rd.keys, keyPair{from: k.Value, to: k.Value, fromNode: k, toNode: k})
		default:
			km := l.object(f, k, "a key of "+rd.what, "a column name or a mapping with from and to", keyPairKeys)
			if km == nil {
				continue
			}
			from, fromNode := l.str(km, "from")
			to, toNode := l.str(km, "to")
			if fromNode == nil || toNode == nil {
				if km.missing("from") || km.missing("to") {
					l.report(f.pos(km.node), "write {from: column of this model, to: column of the other}", "a key of %s needs both from and to", rd.what)
				}
				continue
			}
			rd.keys = append(rd.keys, keyPair{from: from, to: to, fromNode: fromNode, toNode: toNode})
		}
	}
	if rd.keysNode != nil && rd.keysNode.Kind == yaml.SequenceNode && len(rd.keysNode.Content) == 0 {
		l.report(f.pos(rd.keysNode), "", "keys of %s is empty", rd.what)
	}
	md.rels = append(md.rels, rd)
}

// parseExpr parses the expression in scalar n, reporting a syntax error at its place in the file.
func (l *loader) parseExpr(f *defFile, n *yaml.Node, what string) sqlexpr.Node {
	ast, err := sqlexpr.Parse(n.Value)
	if err != nil {
		var se *sqlexpr.SyntaxError
		if errors.As(err, &se) {
			l.report(f.offsetPos(n, se.Offset), "", "syntax error in the expression of %s: %s", what, se.Msg)
		} else {
			l.report(f.pos(n), "", "expression of %s: %v", what, err)
		}
		return nil
	}
	return ast
}

// checkModels asks the resolver for each model's schema and binds dimensions and measures to it.
// Only a cancelled context stops it early.
func (l *loader) checkModels() error {
	for _, md := range l.models {
		if md.sourceOK && !l.connectionUsable(md) {
			md.sourceOK = false
		}
		if md.sourceOK {
			schema, err := l.resolver.TableSchema(l.ctx, md.m.Source)
			if cerr := l.ctx.Err(); cerr != nil {
				return fmt.Errorf("load definitions: %w", cerr)
			}
			switch {
			case err != nil:
				l.reportSourceError(md, err)
			case schema == nil:
				l.report(md.m.Source.Pos, "", "the source %s of %s has no schema", md.m.Source, md.what)
			default:
				md.m.Schema, md.hasSchema = schema, true
			}
		}
		l.checkMembers(md)
	}
	return nil
}

// connectionUsable reports whether a model's source names the demo, a file, or a connection that
// was declared and opened; it reports an undeclared one.
func (l *loader) connectionUsable(md *modelDef) bool {
	name := md.m.Source.Connection
	if md.m.Source.File != "" || name == DemoConnection {
		return true
	}
	cd, ok := l.connectionByName[name]
	if !ok {
		if !l.incomplete {
			names := []string{DemoConnection}
			for _, c := range l.connections {
				names = append(names, c.c.Name)
			}
			l.report(md.f.pos(md.connNode), suggestion(name, names, "the connections are"),
				"%s reads connection %s, which is not declared; declare it under connections:", md.what, name)
		}
		return false
	}
	return cd.opened
}

func (l *loader) reportSourceError(md *modelDef, err error) {
	var ute *UnknownTableError
	if errors.As(err, &ute) && md.tableNode != nil {
		l.report(md.f.pos(md.tableNode), suggestion(ute.Table, ute.Tables, "the "+ute.Connection+" tables are"), "%v", err)
		return
	}
	l.report(md.m.Source.Pos, "", "source of %s: %v", md.what, err)
}

func columnNames(s *arrow.Schema) []string {
	names := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		names[i] = f.Name
	}
	return names
}

// checkColumn reports a column that the model's source does not have.
func (l *loader) checkColumn(md *modelDef, name string, n *yaml.Node) bool {
	if md.m.Schema.FieldIndices(name) != nil {
		return true
	}
	l.report(md.f.pos(n), suggestion(name, columnNames(md.m.Schema), "the columns of "+md.m.Name+" are"), "model %s has no column %s", md.m.Name, name)
	return false
}

// checkMembers checks a model's primary key, dimensions and measures, and binds the expressions
// of dimensions and measures when the model's schema is known.
func (l *loader) checkMembers(md *modelDef) {
	f := md.f
	type member struct {
		kind string
		node *yaml.Node
	}
	seen := map[string]member{}
	unique := func(kind, name string, n *yaml.Node) bool {
		if name == "" {
			return false
		}
		if first, dup := seen[name]; dup {
			l.report(f.pos(n), "dimensions and measures of a model share one set of names",
				"model %s already has a %s named %s, at %s", md.m.Name, first.kind, name, f.pos(first.node))
			return false
		}
		seen[name] = member{kind, n}
		return true
	}
	var dims []*dimensionDef
	for _, dd := range md.dims {
		if unique("dimension", dd.d.Name, dd.nameNode) {
			dims = append(dims, dd)
		}
	}
	var measures []*measureDef
	for _, xd := range md.measures {
		if unique("measure", xd.x.Name, xd.nameNode) {
			measures = append(measures, xd)
		}
	}
	md.dims, md.measures = dims, measures

	if md.hasSchema {
		for i, c := range md.m.PrimaryKey {
			l.checkColumn(md, c, md.pkNodes[i])
		}
	}
	for _, dd := range md.dims {
		l.checkDimension(md, dd)
		md.m.Dimensions = append(md.m.Dimensions, dd.d)
	}
	for _, xd := range md.measures {
		l.checkMeasure(md, xd)
		md.m.Measures = append(md.m.Measures, xd.x)
	}
}

// dimensionTypeOf returns the dimension type of values of type t, or "" when none holds them.
func dimensionTypeOf(t arrow.DataType) DimensionType {
	switch {
	case plan.IsString(t):
		return DimensionString
	case plan.IsNumeric(t):
		return DimensionNumber
	case plan.IsBoolean(t):
		return DimensionBoolean
	case plan.IsTemporal(t):
		return DimensionTime
	}
	return ""
}

// article returns "a" or "an" for a type name.
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an " + word
	}
	return "a " + word
}

func (l *loader) checkDimension(md *modelDef, dd *dimensionDef) {
	f := md.f
	d := dd.d
	d.Type = dd.declared
	if md.hasSchema && dd.ast != nil {
		expr, err := bindExpr(md.m, dd.ast)
		var ee *exprError
		switch {
		case errors.As(err, &ee) && dd.exprNode == nil:
			l.report(f.pos(dd.nameNode), suggestion(d.Name, columnNames(md.m.Schema), "add expr: to compute it; the columns of "+md.m.Name+" are"),
				"%s has no expr, and model %s has no column %s to read", dd.what, md.m.Name, d.Name)
		case errors.As(err, &ee):
			l.report(f.offsetPos(dd.exprNode, ee.off), ee.hint, "%s: %s", dd.what, ee.msg)
		case err != nil:
			l.report(f.pos(dd.exprNode), "", "%s: %v", dd.what, err)
		default:
			d.Expr = expr
			at := f.pos(dd.exprNode)
			if dd.exprNode == nil {
				at = f.pos(dd.nameNode)
			}
			inferred := dimensionTypeOf(expr.DataType())
			switch {
			case expr.DataType().ID() == arrow.NULL:
				l.report(at, "a dimension reads a column or computes from columns", "the expression of %s is always NULL", dd.what)
			case inferred == "":
				l.report(at, "a dimension holds strings, numbers, booleans or times", "the expression of %s is %s, which no dimension type holds",
					dd.what, article(plan.TypeName(expr.DataType())))
			case dd.declared != "" && dd.declared != inferred:
				l.report(f.pos(dd.typeNode), "remove type: to take the expression's type, or change the expression",
					"%s is declared %s, but its expression is %s", dd.what, dd.declared, article(plan.TypeName(expr.DataType())))
			default:
				d.Type = inferred
			}
		}
	}
	switch {
	case d.Type == DimensionTime && dd.granNode == nil:
		d.Granularities = []plan.TimeUnit{plan.Day, plan.Week, plan.Month, plan.Quarter, plan.Year}
	case d.Type == DimensionTime:
		d.Granularities = dd.grans
	case dd.granNode != nil && dd.declared == "" && d.Type != "":
		l.report(f.pos(dd.granNode), "remove granularities; they apply only to time dimensions",
			"%s has granularities, but it is a %s dimension, not a time", dd.what, d.Type)
	}
}

func (l *loader) checkMeasure(md *modelDef, xd *measureDef) {
	f := md.f
	x := xd.x
	if sa := x.SemiAdditive; sa != nil && xd.overNode != nil && xd.overName != "" {
		switch d := md.m.Dimension(xd.overName); {
		case d == nil:
			var names []string
			for _, dd := range md.dims {
				names = append(names, dd.d.Name)
			}
			l.report(f.pos(xd.overNode), suggestion(xd.overName, names, "the dimensions of "+md.m.Name+" are"),
				"semi_additive of %s: model %s has no dimension %s", xd.what, md.m.Name, xd.overName)
		case d.Type != DimensionTime && d.Type != "":
			l.report(f.pos(xd.overNode), "a balance is taken at its last time: name a time dimension",
				"semi_additive of %s: %s is a %s dimension, not a time", xd.what, d.QualifiedName(), d.Type)
		default:
			sa.Over = d
		}
	}
	if !md.hasSchema || xd.ast == nil {
		return
	}
	expr, err := bindExpr(md.m, xd.ast)
	var ee *exprError
	switch {
	case errors.As(err, &ee):
		l.report(f.offsetPos(xd.exprNode, ee.off), ee.hint, "%s: %s", xd.what, ee.msg)
		return
	case err != nil:
		l.report(f.pos(xd.exprNode), "", "%s: %v", xd.what, err)
		return
	}
	x.Expr = expr
	if !xd.aggOK {
		return
	}
	t := expr.DataType()
	switch {
	case (x.Agg == plan.Sum || x.Agg == plan.Avg || x.Agg == plan.Percentile || x.Agg == plan.Median) && !plan.IsNumeric(t):
		l.report(f.pos(xd.exprNode), "count, count_distinct, min and max work on any column; sum, avg and percentiles need numbers",
			"%s: cannot %s %s, which is %s; %s needs a number", xd.what, x.Agg, x.SQL, article(plan.TypeName(t)), x.Agg)
		return
	case (x.Agg == plan.Min || x.Agg == plan.Max) && !plan.IsNumeric(t) && !plan.IsString(t) && !plan.IsTemporal(t):
		l.report(f.pos(xd.exprNode), "", "%s: cannot take the %s of %s, which is %s", xd.what, x.Agg, x.SQL, article(plan.TypeName(t)))
		return
	}
	if _, err := plan.NewAggExpr(x.Name, x.Agg, expr, nil); err != nil {
		l.report(f.pos(xd.exprNode), "", "%s: %v", xd.what, err)
	}
}

// checkRelationships resolves each relationship's target and checks its keys on both sides.
func (l *loader) checkRelationships() {
	for _, md := range l.models {
		for _, rd := range md.rels {
			l.checkRelationship(md, rd)
		}
	}
}

func keyTypesMatch(a, b arrow.DataType) bool {
	return plan.IsInteger(a) && plan.IsInteger(b) || plan.SameType(plan.ValueType(a), plan.ValueType(b))
}

func (l *loader) checkRelationship(md *modelDef, rd *relationshipDef) {
	f := md.f
	if rd.toNode == nil || rd.to == "" {
		l.graphIncomplete = true
		return
	}
	target := l.modelByName[rd.to]
	switch {
	case target == nil:
		l.graphIncomplete = true
		if !l.incomplete {
			l.report(f.pos(rd.toNode), suggestion(rd.to, l.modelNames(), "the models are"), "%s: unknown model %s", rd.what, rd.to)
		}
		return
	case target == md:
		l.report(f.pos(rd.toNode), "", "%s: a model cannot be related to itself", rd.what)
		return
	}
	var from, to []string
	for _, k := range rd.keys {
		fromOK := !md.hasSchema || l.checkColumn(md, k.from, k.fromNode)
		toOK := !target.hasSchema || l.checkColumn(target, k.to, k.toNode)
		from, to = append(from, k.from), append(to, k.to)
		if !md.hasSchema || !target.hasSchema || !fromOK || !toOK {
			continue
		}
		ft := md.m.Schema.Field(md.m.Schema.FieldIndices(k.from)[0]).Type
		tt := target.m.Schema.Field(target.m.Schema.FieldIndices(k.to)[0]).Type
		if !keyTypesMatch(ft, tt) {
			l.report(f.pos(k.fromNode), "join keys must hold the same type of values",
				"%s: key %s.%s is %s, but %s.%s is %s", rd.what, md.m.Name, k.from, article(plan.TypeName(ft)), target.m.Name, k.to, article(plan.TypeName(tt)))
		}
	}
	if rd.card == "" {
		l.graphIncomplete = true
		return
	}
	// The "one" side of a relationship is one row per key value only when the keys are its whole
	// primary key; a different number of columns cannot be.
	one := target
	if rd.card == OneToMany {
		one = md
	}
	if rd.card != OneToOne && len(rd.keys) > 0 && len(one.m.PrimaryKey) > 0 && len(rd.keys) != len(one.m.PrimaryKey) {
		l.report(f.pos(rd.keysNode), fmt.Sprintf("a %s relationship joins on the whole primary key of %s", rd.card, one.m.Name),
			"%s joins on %d %s, but the primary key of %s has %d (%s)", rd.what, len(rd.keys), plural(len(rd.keys), "column"),
			one.m.Name, len(one.m.PrimaryKey), strings.Join(one.m.PrimaryKey, ", "))
	}
	md.m.Relationships = append(md.m.Relationships, &Relationship{From: md.m, To: target.m, Cardinality: rd.card,
		FromColumns: from, ToColumns: to, Pos: f.pos(rd.node)})
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
