package pgwire

import (
	"fmt"
	"strings"
	"time"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/koujing/koujing/semantic"
)

// defaultMaxLimit is the largest limit the semantic layer takes by default
// (semantic.CompileOptions.MaxLimit). A larger SQL LIMIT cuts nothing the server would return,
// so it is left out, and the server's row cap (--max-rows) applies as to a query without one.
const defaultMaxLimit = 1_000_000

// params are a statement's parameters: the types the client declared or the translation
// inferred, and, when bound, their values.
type params struct {
	types []uint32
	// value returns parameter n (from 1) as text; nil while a statement is only described.
	value func(n int) (text string, isNull bool, err error)
}

// need records that parameter n holds a value of type oid, unless the client declared its type.
func (p *params) need(n int, oid uint32) {
	for len(p.types) < n {
		p.types = append(p.types, 0)
	}
	if p.types[n-1] == 0 || p.types[n-1] == oidUnknown {
		p.types[n-1] = oid
	}
}

// metricSelect is a SELECT over a semantic table, translated: the metric query it asks and how
// the query's output columns become the select list's.
type metricSelect struct {
	query   semantic.MetricQuery
	columns []selectColumn
}

// selectColumn is one column of the select list: its name, type, and which output column of
// the metric query it shows.
type selectColumn struct {
	name   string
	oid    uint32
	typmod int32
	source int
	kind   semantic.ColumnKind
	key    string // the dimension's qualified name, the metric's name, or the time column's name
}

// translator turns one SELECT over a semantic table into a metric query.
type translator struct {
	rel    *relations
	sess   *session
	params *params
	table  *sqlTable
	alias  string
	q      semantic.MetricQuery
	cols   []selectColumn
	// grouped holds the keys the GROUP BY names, when there is one.
	grouped map[string]bool
	// timeRange collects range conditions on the time dimension, merged into one TimeRange.
	timeRange *semantic.TimeRange
}

// translateSelect translates a SELECT whose FROM names table.
func translateSelect(sel *pg.SelectStmt, rel *relations, sess *session, p *params, table *sqlTable, alias string) (*metricSelect, error) {
	t := &translator{rel: rel, sess: sess, params: p, table: table, alias: alias}
	if err := t.checkShape(sel); err != nil {
		return nil, err
	}
	if err := t.selectList(sel.TargetList); err != nil {
		return nil, err
	}
	if err := t.groupBy(sel.GroupClause); err != nil {
		return nil, err
	}
	if sel.WhereClause != nil {
		if err := t.where(sel.WhereClause); err != nil {
			return nil, err
		}
	}
	if t.timeRange != nil {
		t.q.TimeRange = t.timeRange
	}
	if err := t.orderBy(sel.SortClause); err != nil {
		return nil, err
	}
	if err := t.limits(sel); err != nil {
		return nil, err
	}
	t.q.Timezone = sess.timezone
	if len(t.q.Metrics) == 0 {
		// A list of dimension values, as tools ask for filter choices: group by a metric of the
		// table that counts its own rows, and leave that metric out of the result.
		m := t.anyMetric()
		if m == nil {
			return nil, errorf(codeFeatureNotSupported, "table %s has no metric to group its dimensions by", table.name).
				withHint("select at least one metric column, such as %s", t.metricNames())
		}
		t.q.Metrics = []string{m.Name}
	}
	return &metricSelect{query: t.q, columns: t.finish()}, nil
}

// checkShape refuses what a semantic table cannot answer before looking at the names.
func (t *translator) checkShape(sel *pg.SelectStmt) error {
	switch {
	case sel.WithClause != nil:
		return unsupported("WITH over a semantic table", "ask for the metrics and dimensions in one SELECT; the semantic layer joins and aggregates")
	case len(sel.DistinctClause) > 0:
		return unsupported("DISTINCT over a semantic table", "leave DISTINCT out: each row is already one group of the selected dimensions")
	case sel.HavingClause != nil:
		return unsupported("HAVING", "filter metric values in your tool after the query; WHERE filters dimensions")
	case len(sel.WindowClause) > 0:
		return unsupported("window functions", "compute running totals and rankings in your tool, or define a cumulative metric")
	case sel.LockingClause != nil:
		return unsupported("FOR UPDATE/SHARE", "leave the locking clause out; the semantic layer is read-only")
	case sel.IntoClause != nil:
		return unsupported("SELECT INTO", "the semantic layer is read-only")
	}
	return nil
}

// column resolves a column reference to a column of the table: region, orders.region,
// sales.orders.region, "customers.segment", customers.segment or orders."customers.segment".
func (t *translator) column(ref *pg.ColumnRef) (*sqlColumn, error) {
	parts := stringList(ref.Fields)
	name := parts[len(parts)-1]
	var c *sqlColumn
	switch len(parts) {
	case 1:
		c = t.table.byName[name]
	case 2:
		if parts[0] == t.alias || parts[0] == t.table.name && t.alias == "" {
			c = t.table.byName[name]
		} else {
			// model.dimension: a dimension of a related model, or the table's own by its qualified name.
			c = t.table.byName[parts[0]+"."+name]
			if c == nil && parts[0] == t.table.name {
				c = t.table.byName[name]
			}
		}
	case 3:
		if parts[0] == t.table.schema.name && parts[1] == t.table.name {
			c = t.table.byName[name]
		}
	}
	if c == nil && len(parts) == 1 && strings.Contains(name, ".") {
		// "orders.region": the table's own dimension by its qualified name.
		if model, dim, ok := strings.Cut(name, "."); ok && model == t.table.name {
			c = t.table.byName[dim]
		}
	}
	if c == nil && len(parts) == 1 {
		// A metric of another model: the semantic layer joins metrics of different models on
		// the dimensions, so any metric the caller can see may be named from any table.
		if m := t.rel.metric(name); m != nil {
			oid, mod := t.rel.metricType(m)
			c = &sqlColumn{name: name, typ: oid, typmod: mod, metric: m}
		}
	}
	if c == nil {
		full := strings.Join(parts, ".")
		e := errorf(codeUndefinedColumn, "column %s does not exist", quoteIdent(full)).at(ref.Location)
		if near := closestColumn(name, t.table); near != "" {
			e.withHint("table %s.%s has column %s; name related dimensions as model.dimension, such as customers.segment", t.table.schema.name, t.table.name, quoteIdent(near))
		} else {
			e.withHint("see the columns of %s.%s with \\d %s.%s", t.table.schema.name, t.table.name, t.table.schema.name, t.table.name)
		}
		return nil, e
	}
	return c, nil
}

// closestColumn returns the visible column whose name is nearest to name, or "".
func closestColumn(name string, t *sqlTable) string {
	best, bestDist := "", 3
	for _, c := range t.columns {
		short := c.name
		if i := strings.LastIndexByte(short, '.'); i >= 0 && !strings.Contains(name, ".") {
			short = short[i+1:]
		}
		if d := editDistance(strings.ToLower(name), strings.ToLower(short)); d < bestDist {
			best, bestDist = c.name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// item is one select-list or GROUP BY expression resolved: a dimension, a time dimension at a
// granularity, or a metric.
type item struct {
	kind   semantic.ColumnKind
	col    *sqlColumn
	unit   string
	name   string // the column name PostgreSQL would give it
	oid    uint32
	typmod int32
}

func (it item) key() string {
	switch it.kind {
	case semantic.TimeColumn:
		return it.col.dim.QualifiedName() + "." + it.unit
	case semantic.MetricColumn:
		return it.col.metric.Name
	}
	return it.col.dim.QualifiedName()
}

// resolve resolves a select-list or GROUP BY expression.
func (t *translator) resolve(n *pg.Node) (item, error) {
	switch x := n.Node.(type) {
	case *pg.Node_ColumnRef:
		c, err := t.column(x.ColumnRef)
		if err != nil {
			return item{}, err
		}
		parts := stringList(x.ColumnRef.Fields)
		it := item{col: c, name: parts[len(parts)-1], oid: c.typ, typmod: c.typmod, kind: semantic.DimensionColumn}
		if c.metric != nil {
			it.kind = semantic.MetricColumn
		}
		return it, nil
	case *pg.Node_FuncCall:
		return t.function(x.FuncCall)
	case *pg.Node_TypeCast:
		return item{}, unsupported("a cast in the select list of a semantic table", "select the column as it is; cast it in your tool").at(x.TypeCast.Location)
	}
	return item{}, unsupported("this expression over a semantic table",
		"select dimensions, metrics, MEASURE(metric) or date_trunc('month', time_dimension); compute other expressions in your tool").at(nodeLocation(n))
}

// function resolves MEASURE(metric), an aggregate of a metric, or date_trunc of a time dimension.
func (t *translator) function(f *pg.FuncCall) (item, error) {
	name := funcName(f)
	if f.Over != nil {
		return item{}, unsupported("window functions", "compute running totals and rankings in your tool, or define a cumulative metric").at(f.Location)
	}
	switch name {
	case "measure", "sum", "min", "max", "avg", "any_value":
		if len(f.Args) != 1 || f.AggDistinct || f.AggStar || f.AggFilter != nil || len(f.AggOrder) > 0 {
			return item{}, unsupported(name+" with these arguments", "write MEASURE(metric) with one metric column").at(f.Location)
		}
		ref := f.Args[0].GetColumnRef()
		if ref == nil {
			return item{}, unsupported(name+" of an expression", "aggregate a metric column, as MEASURE(gmv_paid); metrics are defined in the semantic layer").at(f.Location)
		}
		c, err := t.column(ref)
		if err != nil {
			return item{}, err
		}
		if c.metric == nil {
			return item{}, unsupported(fmt.Sprintf("%s(%s) of a dimension", name, c.name),
				fmt.Sprintf("aggregate metric columns only; the metrics of %s are %s", t.table.name, t.metricNames())).at(f.Location)
		}
		// Each row is one group of the selected dimensions, and the metric is computed for it:
		// every aggregate of the metric over its group is the metric itself.
		return item{kind: semantic.MetricColumn, col: c, name: c.name, oid: c.typ, typmod: c.typmod}, nil
	case "count":
		return item{}, unsupported("count over a semantic table", "select a counting metric instead, such as "+t.metricNames()).at(f.Location)
	case "date_trunc":
		if len(f.Args) != 2 {
			return item{}, unsupported("date_trunc with a time zone argument", "set the session's zone with SET TIME ZONE 'Asia/Shanghai' instead").at(f.Location)
		}
		unitConst := f.Args[0].GetAConst()
		ref := f.Args[1].GetColumnRef()
		if unitConst == nil || ref == nil {
			return item{}, unsupported("date_trunc of an expression", "write date_trunc('month', time_dimension)").at(f.Location)
		}
		unit, _ := constText(unitConst)
		unit = strings.ToLower(unit)
		c, err := t.column(ref)
		if err != nil {
			return item{}, err
		}
		if c.dim == nil || c.dim.Type != semantic.DimensionTime {
			return item{}, errorf(codeDatatypeMismatch, "date_trunc needs a time dimension; %s is not one", c.name).at(f.Location)
		}
		if !c.dim.SupportsGranularity(mustTimeUnit(unit)) {
			return item{}, errorf(codeInvalidParameter, "%s cannot be truncated to %q", c.name, unit).at(unitConst.Location).
				withHint("use one of %s", granularities(c.dim))
		}
		return item{kind: semantic.TimeColumn, col: c, unit: unit, name: "date_trunc", oid: c.typ, typmod: c.typmod}, nil
	}
	return item{}, unsupported("function "+name+" over a semantic table",
		"select dimensions, metrics, MEASURE(metric) or date_trunc('month', time_dimension); compute other expressions in your tool").at(f.Location)
}

// selectList resolves the select list into the metric query's dimensions, time dimension and
// metrics, remembering which select column shows which.
func (t *translator) selectList(targets []*pg.Node) error {
	for _, n := range targets {
		rt := n.GetResTarget()
		if ref := rt.Val.GetColumnRef(); ref != nil && isStar(ref) {
			for _, c := range t.table.columns {
				if c.related {
					continue
				}
				it := item{kind: semantic.DimensionColumn, col: c, name: c.name, oid: c.typ, typmod: c.typmod}
				if c.metric != nil {
					it.kind = semantic.MetricColumn
				}
				t.add(it, "")
			}
			continue
		}
		it, err := t.resolve(rt.Val)
		if err != nil {
			return err
		}
		if err := t.add(it, rt.Name); err != nil {
			return err
		}
	}
	return nil
}

func isStar(ref *pg.ColumnRef) bool {
	parts := stringList(ref.Fields)
	return len(parts) > 0 && parts[len(parts)-1] == "*"
}

// add adds an item to the query, once, and a select column showing it.
func (t *translator) add(it item, alias string) error {
	name := it.name
	if alias != "" {
		name = alias
	}
	switch it.kind {
	case semantic.DimensionColumn:
		q := it.col.dim.QualifiedName()
		if !contains(t.q.Dimensions, q) {
			t.q.Dimensions = append(t.q.Dimensions, q)
		}
	case semantic.TimeColumn:
		td := &semantic.TimeGrouping{Dimension: it.col.dim.QualifiedName(), Granularity: it.unit}
		if t.q.TimeDimension != nil && *t.q.TimeDimension != *td {
			return unsupported("a second date_trunc", "group by one truncated time dimension per query")
		}
		t.q.TimeDimension = td
	case semantic.MetricColumn:
		if !contains(t.q.Metrics, it.col.metric.Name) {
			t.q.Metrics = append(t.q.Metrics, it.col.metric.Name)
		}
	}
	t.cols = append(t.cols, selectColumn{name: name, oid: it.oid, typmod: it.typmod, kind: it.kind, key: it.key()})
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// groupBy checks the GROUP BY against the select list: every dimension selected is grouped by,
// as PostgreSQL requires, and every grouping is selected, as the semantic layer returns the
// groups it is asked for.
func (t *translator) groupBy(clause []*pg.Node) error {
	if len(clause) == 0 {
		return nil
	}
	t.grouped = map[string]bool{}
	for _, n := range clause {
		if ord, ok := intConst(n); ok {
			if ord < 1 || int(ord) > len(t.cols) {
				return errorf(codeInvalidColumnRef(), "GROUP BY position %d is not in select list", ord).at(nodeLocation(n))
			}
			t.grouped[t.cols[ord-1].key] = true
			continue
		}
		if ref := n.GetColumnRef(); ref != nil {
			if k, ok := t.aliasKey(ref); ok {
				t.grouped[k] = true
				continue
			}
		}
		it, err := t.resolve(n)
		if err != nil {
			return err
		}
		if it.kind == semantic.MetricColumn {
			return unsupported("GROUP BY a metric", "group by dimensions; metrics are computed for each group").at(nodeLocation(n))
		}
		if !t.selected(it.key()) {
			return unsupported("GROUP BY a column that is not selected", fmt.Sprintf("add %s to the select list", it.name)).at(nodeLocation(n))
		}
		t.grouped[it.key()] = true
	}
	for _, c := range t.cols {
		if c.kind != semantic.MetricColumn && !t.grouped[c.key] {
			return errorf(codeGroupingError, "column %s must appear in the GROUP BY clause or be used in an aggregate function", quoteIdent(c.name)).
				withHint("group by every dimension you select")
		}
	}
	return nil
}

func codeInvalidColumnRef() string { return "42P10" }

func (t *translator) selected(key string) bool {
	for _, c := range t.cols {
		if c.key == key {
			return true
		}
	}
	return false
}

// aliasKey finds a select column by its output name (an alias, or a column's own name).
func (t *translator) aliasKey(ref *pg.ColumnRef) (string, bool) {
	parts := stringList(ref.Fields)
	if len(parts) != 1 {
		return "", false
	}
	for _, c := range t.cols {
		if c.name == parts[0] {
			if _, err := t.column(ref); err == nil && c.kind != semantic.TimeColumn {
				return "", false // the column itself, resolved as one
			}
			return c.key, true
		}
	}
	return "", false
}

// orderBy orders by select-list positions, output names, or the expressions themselves.
func (t *translator) orderBy(clause []*pg.Node) error {
	for _, n := range clause {
		sb := n.GetSortBy()
		if sb.SortbyNulls != pg.SortByNulls_SORTBY_NULLS_DEFAULT {
			return unsupported("NULLS FIRST/LAST", "leave it out; the semantic layer sorts NULLs last").at(sb.Location)
		}
		if sb.SortbyDir == pg.SortByDir_SORTBY_USING {
			return unsupported("ORDER BY … USING", "order ASC or DESC").at(sb.Location)
		}
		desc := sb.SortbyDir == pg.SortByDir_SORTBY_DESC
		var key string
		if ord, ok := intConst(sb.Node); ok {
			if ord < 1 || int(ord) > len(t.cols) {
				return errorf(codeInvalidColumnRef(), "ORDER BY position %d is not in select list", ord).at(nodeLocation(sb.Node))
			}
			key = t.cols[ord-1].key
		} else if ref := sb.Node.GetColumnRef(); ref != nil {
			if k, ok := t.aliasKey(ref); ok {
				key = k
			}
		}
		if key == "" {
			it, err := t.resolve(sb.Node)
			if err != nil {
				return err
			}
			if !t.selected(it.key()) {
				return unsupported("ORDER BY a column that is not selected", fmt.Sprintf("add %s to the select list", it.name)).at(nodeLocation(sb.Node))
			}
			key = it.key()
		}
		t.q.OrderBy = append(t.q.OrderBy, semantic.OrderBy{Field: key, Desc: desc})
	}
	return nil
}

// limits reads LIMIT and OFFSET, constants or parameters.
func (t *translator) limits(sel *pg.SelectStmt) error {
	if sel.LimitOption == pg.LimitOption_LIMIT_OPTION_WITH_TIES {
		return unsupported("FETCH … WITH TIES", "use LIMIT")
	}
	read := func(n *pg.Node, what string) (int64, bool, error) {
		if n == nil {
			return 0, false, nil
		}
		if c := n.GetAConst(); c != nil && c.Isnull {
			return 0, false, nil
		}
		text, isNull, err := t.value(n, oidInt8)
		if err != nil || isNull {
			return 0, false, err
		}
		if text == "" && t.params.value == nil {
			return 0, false, nil // a parameter, while only describing
		}
		var v int64
		if _, err := fmt.Sscan(text, &v); err != nil {
			return 0, false, errorf(codeInvalidText, "invalid input syntax for type bigint: %s", quoteLiteral(text)).at(nodeLocation(n))
		}
		if v < 0 {
			return 0, false, errorf("2201W", "%s must not be negative", what).at(nodeLocation(n))
		}
		return v, true, nil
	}
	limit, ok, err := read(sel.LimitCount, "LIMIT")
	if err != nil {
		return err
	}
	if ok && limit <= t.sess.maxLimit() {
		t.q.Limit = &limit
	}
	offset, _, err := read(sel.LimitOffset, "OFFSET")
	if err != nil {
		return err
	}
	t.q.Offset = offset
	return nil
}

// anyMetric returns a metric of the table to group by when only dimensions are selected:
// preferably one that counts every row of the table's model.
func (t *translator) anyMetric() *semantic.Metric {
	var first *semantic.Metric
	for _, c := range t.table.columns {
		if c.metric == nil {
			continue
		}
		if c.metric.Kind == semantic.Atomic && c.metric.Measure != nil && c.metric.Measure.Model == t.table.model && c.metric.Measure.Agg.String() == "count" {
			return c.metric
		}
		if first == nil && c.metric.Kind == semantic.Atomic {
			first = c.metric
		}
	}
	return first
}

func (t *translator) metricNames() string {
	var names []string
	for _, c := range t.table.columns {
		if c.metric != nil {
			names = append(names, c.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// finish numbers each select column by the metric query's output column it shows: dimensions,
// then the time column, then metrics.
func (t *translator) finish() []selectColumn {
	timeCols := 0
	if t.q.TimeDimension != nil {
		timeCols = 1
	}
	for i := range t.cols {
		c := &t.cols[i]
		switch c.kind {
		case semantic.DimensionColumn:
			c.source = indexOf(t.q.Dimensions, c.key)
		case semantic.TimeColumn:
			c.source = len(t.q.Dimensions)
		case semantic.MetricColumn:
			c.source = len(t.q.Dimensions) + timeCols + indexOf(t.q.Metrics, c.key)
		}
	}
	return t.cols
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// normalizeTime rewrites a time written as PostgreSQL prints it with an offset
// ("2024-03-01 00:00:00+08") as RFC 3339, which the semantic layer reads; other text is kept.
func normalizeTime(s string) string {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02 15:04:05.999999999Z07", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02T15:04:05.999999999Z07", "2006-01-02 15:04:05.999999999Z0700", "2006-01-02Z07:00"} {
		if tm, err := time.Parse(layout, s); err == nil {
			return tm.Format(time.RFC3339Nano)
		}
	}
	return s
}
