package postgres

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5"

	"github.com/koujing/koujing/engine/plan"
)

// ErrNotExpressible is wrapped by every error of BuildSQL: the plan holds a node, expression or
// type that has no faithful PostgreSQL form, and the engine must run that part itself.
var ErrNotExpressible = errors.New("no PostgreSQL equivalent")

// BuildSQL writes the plan rooted at n as one PostgreSQL statement that returns the rows n yields:
// n.Schema()'s columns, in order, named as the plan names them.
//
// The statement is a WITH chain of one common table expression per plan node (q0, q1, …, children
// before their parents), each selecting its node's output columns under their plan names; the
// final SELECT reads the root's. Every CTE is referenced once, so PostgreSQL inlines them all and
// plans the statement as a whole — but for the input of a Lookup, which is read twice and so
// materialized (it holds aggregated rows). A Sort adds no CTE of its own: its order is applied by the
// final SELECT, or by the LIMIT above it, since SQL keeps no order across a CTE boundary.
//
// Every constant of the plan becomes a bind parameter ($1, $2, … in Statement.Params, numbered in
// order of first appearance; a constant the plan repeats is sent once), and so do time zone
// names. The text holds only quoted identifiers, keywords, the date_trunc unit, integers (LIMIT and
// OFFSET counts, the lengths of intervals a plan shifts times by, and the settings of calendars),
// and fixed constants (zero, the empty string, the zone UTC, a mask's '*' and counts).
//
// Expressions compute in the plan's types — integers as bigint, decimals as exact numeric,
// division in float8 with NULL for a zero divisor — and strings compare and sort by their bytes
// (COLLATE "C"), as the engine does.
//
// Scans name their table as Scan.Table says ("table" or "schema.table"), whatever Scan.Source is:
// the caller decides that every scanned table lives in the one database the statement runs on.
// The statement is deterministic: the same plan always gives the same text and parameters.
func BuildSQL(n plan.Node) (*Statement, error) {
	b := &sqlBuilder{numbers: map[string]int{}, ctePrefix: sqlCTEPrefix(n)}
	rel, err := b.node(n)
	if err != nil {
		return nil, fmt.Errorf("build SQL: %w", err)
	}
	var sql strings.Builder
	for i, cte := range b.ctes {
		switch i {
		case 0:
			sql.WriteString("WITH ")
		default:
			sql.WriteString(",\n")
		}
		sql.WriteString(cte)
	}
	if len(b.ctes) > 0 {
		sql.WriteString("\n")
	}
	cols := make([]string, n.Schema().NumFields())
	for i, f := range n.Schema().Fields() {
		cols[i] = sqlColumnName(f.Name)
	}
	fmt.Fprintf(&sql, "%s\nFROM %s", sqlSelect(cols), rel.name)
	if len(rel.order) > 0 {
		order, err := b.orderBy(rel.order, sqlInputColumns)
		if err != nil {
			return nil, fmt.Errorf("build SQL: %s: %w", n, err)
		}
		sql.WriteString("\nORDER BY " + order)
	}
	return &Statement{SQL: sql.String(), Params: b.params, Schema: n.Schema()}, nil
}

// sqlLineWidth is how long a select list may be before it is written one item a line.
const sqlLineWidth = 100

// sqlSelect is the SELECT clause of the items, on one line when it is short and one item a line
// otherwise. PostgreSQL allows a select list of none.
func sqlSelect(items []string) string {
	if len(items) == 0 {
		return "SELECT"
	}
	if line := "SELECT " + strings.Join(items, ", "); len(line) <= sqlLineWidth {
		return line
	}
	return "SELECT\n  " + strings.Join(items, ",\n  ")
}

// sqlBuilder accumulates the CTEs and parameters of one statement.
type sqlBuilder struct {
	ctes   []string
	params []*plan.Literal
	// numbers maps each constant sent (its type and value) to its parameter number, so that a
	// constant the plan repeats, such as a filter on several scans, is sent once.
	numbers   map[string]int
	ctePrefix string
}

// sqlRelation is a node's rows: the CTE holding them and, when they are ordered, the order (its
// keys read the CTE's columns). SQL forgets a CTE's order, so whoever reads the rows and must
// keep them ordered says ORDER BY again.
type sqlRelation struct {
	name  string
	order []plan.SortKey
}

// sqlColumns maps a plan column name to the SQL that reads it within one query block.
type sqlColumns func(name string) (string, bool)

// sqlInputColumns reads columns of a CTE, whose columns are named as the plan names them.
func sqlInputColumns(name string) (string, bool) { return sqlColumnName(name), true }

// sqlNotExpressible returns an error wrapping ErrNotExpressible.
func sqlNotExpressible(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrNotExpressible)
}

// addCTE appends a CTE with the given body lines and returns its name.
func (b *sqlBuilder) addCTE(lines ...string) string {
	name := b.ctePrefix + strconv.Itoa(len(b.ctes))
	body := strings.ReplaceAll(strings.Join(lines, "\n"), "\n", "\n  ")
	b.ctes = append(b.ctes, name+" AS (\n  "+body+"\n)")
	return name
}

func (b *sqlBuilder) node(n plan.Node) (sqlRelation, error) {
	switch x := n.(type) {
	case *plan.Scan:
		return b.scan(x)
	case *plan.Filter:
		in, err := b.node(x.Input)
		if err != nil {
			return sqlRelation{}, err
		}
		where, err := b.expr(x.Predicate, sqlInputColumns)
		if err != nil {
			return sqlRelation{}, fmt.Errorf("%s: %w", x, err)
		}
		return sqlRelation{name: b.addCTE("SELECT *", "FROM "+in.name, "WHERE "+where), order: in.order}, nil
	case *plan.Project:
		return b.project(x)
	case *plan.Join:
		return b.join(x)
	case *plan.Aggregate:
		return b.aggregate(x)
	case *plan.Lookup:
		return b.lookup(x)
	case *plan.Densify:
		return b.densify(x)
	case *plan.TimeWindows:
		return b.timeWindows(x)
	case *plan.Sort:
		in, err := b.node(x.Input)
		if err != nil {
			return sqlRelation{}, err
		}
		// The sort's keys are checked here, where its node is at hand for the message, though
		// they are written by whoever reads the rows.
		if _, err := b.dryOrderBy(x.Keys); err != nil {
			return sqlRelation{}, fmt.Errorf("%s: %w", x, err)
		}
		return sqlRelation{name: in.name, order: x.Keys}, nil
	case *plan.Limit:
		in, err := b.node(x.Input)
		if err != nil {
			return sqlRelation{}, err
		}
		if x.Count < 0 && x.Offset == 0 {
			return in, nil
		}
		lines := []string{"SELECT *", "FROM " + in.name}
		if len(in.order) > 0 {
			order, err := b.orderBy(in.order, sqlInputColumns)
			if err != nil {
				return sqlRelation{}, fmt.Errorf("%s: %w", x, err)
			}
			lines = append(lines, "ORDER BY "+order)
		}
		if x.Count >= 0 {
			lines = append(lines, "LIMIT "+strconv.FormatInt(x.Count, 10))
		}
		if x.Offset > 0 {
			lines = append(lines, "OFFSET "+strconv.FormatInt(x.Offset, 10))
		}
		return sqlRelation{name: b.addCTE(lines...), order: in.order}, nil
	}
	return sqlRelation{}, sqlNotExpressible("plan node %T (%s)", n, n)
}

// scan selects the scanned columns under their qualified names, filtered by the scan's predicate.
func (b *sqlBuilder) scan(s *plan.Scan) (sqlRelation, error) {
	table, err := sqlTableName(s.Table)
	if err != nil {
		return sqlRelation{}, fmt.Errorf("%s: %w", s, err)
	}
	refs := make(map[string]string, len(s.Columns))
	items := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		name := s.Schema().Field(i).Name
		ref := "t." + pgx.Identifier{c}.Sanitize()
		refs[name] = ref
		items[i] = ref + " AS " + sqlColumnName(name)
	}
	lines := []string{sqlSelect(items), "FROM " + table + " AS t"}
	if s.Filter != nil {
		where, err := b.expr(s.Filter, func(name string) (string, bool) { ref, ok := refs[name]; return ref, ok })
		if err != nil {
			return sqlRelation{}, fmt.Errorf("%s: %w", s, err)
		}
		lines = append(lines, "WHERE "+where)
	}
	return sqlRelation{name: b.addCTE(lines...)}, nil
}

// sqlTableName quotes "table" or "schema.table", read as the catalog reads it (ParseTableName).
func sqlTableName(table string) (string, error) {
	schema, name, err := ParseTableName(table)
	if err != nil {
		return "", sqlNotExpressible("table name %q: %v", table, err)
	}
	return tableIdentifier(schema, name).Sanitize(), nil
}

func (b *sqlBuilder) project(p *plan.Project) (sqlRelation, error) {
	in, err := b.node(p.Input)
	if err != nil {
		return sqlRelation{}, err
	}
	items := make([]string, len(p.Exprs))
	for i, e := range p.Exprs {
		if items[i], err = b.namedExpr(e, sqlInputColumns); err != nil {
			return sqlRelation{}, fmt.Errorf("%s: %w", p, err)
		}
	}
	order, err := sqlOrderThroughProject(in.order, p)
	if err != nil {
		return sqlRelation{}, fmt.Errorf("%s: %w", p, err)
	}
	return sqlRelation{name: b.addCTE(sqlSelect(items), "FROM "+in.name), order: order}, nil
}

// namedExpr renders e AS name, or just the column when e reads a column of that name.
func (b *sqlBuilder) namedExpr(e plan.Named, cols sqlColumns) (string, error) {
	s, err := b.expr(e.Expr, cols)
	if err != nil {
		return "", fmt.Errorf("%s: %w", e.Name, err)
	}
	if c, ok := e.Expr.(*plan.Column); ok && c.Name == e.Name && s == sqlColumnName(e.Name) {
		return s, nil
	}
	return s + " AS " + sqlColumnName(e.Name), nil
}

// sqlOrderThroughProject rewrites the order of a projection's input over its output: each
// column the keys read must pass through the projection, under its name or another.
func sqlOrderThroughProject(order []plan.SortKey, p *plan.Project) ([]plan.SortKey, error) {
	if len(order) == 0 {
		return nil, nil
	}
	renames := map[string]string{}
	for _, e := range p.Exprs {
		if c, ok := e.Expr.(*plan.Column); ok {
			if _, seen := renames[c.Name]; !seen || e.Name == c.Name {
				renames[c.Name] = e.Name
			}
		}
	}
	out := make([]plan.SortKey, len(order))
	for i, k := range order {
		e, err := sqlRenameColumns(k.Expr, renames)
		if err != nil {
			return nil, fmt.Errorf("keep the order of the sort below: %w", err)
		}
		out[i] = plan.SortKey{Expr: e, Desc: k.Desc, NullsFirst: k.NullsFirst}
	}
	return out, nil
}

// sqlRenameColumns returns e reading each column under its new name.
func sqlRenameColumns(e plan.Expr, renames map[string]string) (plan.Expr, error) {
	if c, ok := e.(*plan.Column); ok {
		to, ok := renames[c.Name]
		if !ok {
			return nil, sqlNotExpressible("sort key column %s is not an output column", c.Name)
		}
		return plan.NewColumn(to, c.Type), nil
	}
	kids := e.Children()
	if len(kids) == 0 {
		return e, nil
	}
	out := make([]plan.Expr, len(kids))
	for i, k := range kids {
		var err error
		if out[i], err = sqlRenameColumns(k, renames); err != nil {
			return nil, err
		}
	}
	renamed, err := e.WithChildren(out...)
	if err != nil {
		return nil, sqlNotExpressible("sort key %s over renamed columns: %v", e, err)
	}
	return renamed, nil
}

// join joins the two inputs' CTEs, aliased l and r, on the key pairs.
func (b *sqlBuilder) join(j *plan.Join) (sqlRelation, error) {
	left, err := b.node(j.Left)
	if err != nil {
		return sqlRelation{}, err
	}
	right, err := b.node(j.Right)
	if err != nil {
		return sqlRelation{}, err
	}
	var kind string
	switch j.Kind {
	case plan.InnerJoin:
		kind = "INNER JOIN"
	case plan.LeftJoin:
		kind = "LEFT JOIN"
	case plan.FullJoin:
		kind = "FULL JOIN"
	default:
		return sqlRelation{}, sqlNotExpressible("%s: join kind %d", j, j.Kind)
	}
	lcols, rcols := sqlSideColumns("l", j.Left.Schema()), sqlSideColumns("r", j.Right.Schema())
	conds, err := b.keyConditions(j.LeftKeys, j.RightKeys, lcols, rcols, j.NullSafe, j.Kind == plan.FullJoin)
	if err != nil {
		return sqlRelation{}, fmt.Errorf("%s: %w", j, err)
	}
	items := make([]string, 0, j.Schema().NumFields())
	for _, f := range j.Left.Schema().Fields() {
		items = append(items, "l."+sqlColumnName(f.Name))
	}
	for _, f := range j.Right.Schema().Fields() {
		items = append(items, "r."+sqlColumnName(f.Name))
	}
	return sqlRelation{name: b.addCTE(
		sqlSelect(items),
		"FROM "+left.name+" AS l",
		kind+" "+right.name+" AS r ON "+strings.Join(conds, " AND "),
	)}, nil
}

// keyConditions renders the equalities of a join's key pairs. Null-safe keys that must be
// hashable — a FULL JOIN runs only on conditions PostgreSQL can hash or merge, which IS NOT
// DISTINCT FROM is not — compare equal stand-ins for NULL plus equal NULL-ness, the same test
// made of two equalities it can hash.
func (b *sqlBuilder) keyConditions(lkeys, rkeys []plan.Expr, lcols, rcols sqlColumns, nullSafe, hashable bool) ([]string, error) {
	conds := make([]string, len(lkeys))
	for i := range lkeys {
		l, err := b.expr(lkeys[i], lcols)
		if err != nil {
			return nil, err
		}
		r, err := b.expr(rkeys[i], rcols)
		if err != nil {
			return nil, err
		}
		switch {
		case !nullSafe:
			conds[i] = l + " = " + r
		case !hashable:
			conds[i] = l + " IS NOT DISTINCT FROM " + r
		default:
			lc, rc := sqlNullStandIn(l, lkeys[i].DataType()), sqlNullStandIn(r, rkeys[i].DataType())
			conds[i] = fmt.Sprintf("%s = %s AND (%s IS NULL) = (%s IS NULL)", lc, rc, l, r)
		}
	}
	return conds, nil
}

// lookup joins the input's CTE to itself, aliased l and r: each row l finds the row r whose keys
// equal l's probe. The CTE is read twice, so PostgreSQL materializes it: the rows a lookup reads
// are aggregated, and few. The keys compare as hashable equalities, which lets PostgreSQL hash
// the join rather than compare every pair.
func (b *sqlBuilder) lookup(x *plan.Lookup) (sqlRelation, error) {
	in, err := b.node(x.Input)
	if err != nil {
		return sqlRelation{}, err
	}
	schema := x.Input.Schema()
	lcols, rcols := sqlSideColumns("l", schema), sqlSideColumns("r", schema)
	conds, err := b.keyConditions(x.Probe, x.Keys, lcols, rcols, true, true)
	if err != nil {
		return sqlRelation{}, fmt.Errorf("%s: %w", x, err)
	}
	items := make([]string, 0, x.Schema().NumFields())
	for _, f := range schema.Fields() {
		items = append(items, "l."+sqlColumnName(f.Name))
	}
	for _, v := range x.Values {
		e, err := b.expr(v.Expr, rcols)
		if err != nil {
			return sqlRelation{}, fmt.Errorf("%s: %s: %w", x, v.Name, err)
		}
		items = append(items, e+" AS "+sqlColumnName(v.Name))
	}
	return sqlRelation{name: b.addCTE(
		sqlSelect(items),
		"FROM "+in.name+" AS l",
		"LEFT JOIN "+in.name+" AS r ON "+strings.Join(conds, " AND "),
	), order: in.order}, nil
}

// sqlSideColumns reads the columns of one side of a join, through its alias.
func sqlSideColumns(alias string, s *arrow.Schema) sqlColumns {
	return func(name string) (string, bool) {
		if len(s.FieldIndices(name)) != 1 {
			return "", false
		}
		return alias + "." + sqlColumnName(name), true
	}
}

// sqlNullStandIn is key with NULL replaced by a value of its type: numbers by 0, strings by the
// empty string, anything else compared as text. Numbers are not compared as text because
// numeric text keeps the scale (1.0 and 1.00 are equal numbers but different text).
func sqlNullStandIn(key string, t arrow.DataType) string {
	switch {
	case plan.IsNumeric(t):
		return "coalesce(" + key + ", 0)"
	case plan.IsString(t):
		return "coalesce(" + key + ", '')"
	}
	return "coalesce(" + key + "::text, '')"
}

// aggregate groups by the group expressions, by position, and computes the aggregates.
func (b *sqlBuilder) aggregate(a *plan.Aggregate) (sqlRelation, error) {
	in, err := b.node(a.Input)
	if err != nil {
		return sqlRelation{}, err
	}
	items := make([]string, 0, len(a.GroupBy)+len(a.Aggs))
	positions := make([]string, len(a.GroupBy))
	for i, g := range a.GroupBy {
		s, err := b.namedExpr(g, sqlInputColumns)
		if err != nil {
			return sqlRelation{}, fmt.Errorf("%s: %w", a, err)
		}
		items = append(items, s)
		// By position: an expression holding parameters would otherwise differ from its copy in
		// the select list ($1 is not $2), and PostgreSQL would reject the grouping.
		positions[i] = strconv.Itoa(i + 1)
	}
	for _, x := range a.Aggs {
		s, err := b.aggExpr(x)
		if err != nil {
			return sqlRelation{}, fmt.Errorf("%s: %s: %w", a, x.Name, err)
		}
		items = append(items, s+" AS "+sqlColumnName(x.Name))
	}
	lines := []string{sqlSelect(items), "FROM " + in.name}
	switch {
	case len(a.GroupBy) > 0:
		lines = append(lines, "GROUP BY "+strings.Join(positions, ", "))
	case len(a.Aggs) == 0:
		// One row of no columns, as the engine yields; without GROUP BY, SELECT would yield a
		// row per input row.
		lines = append(lines, "GROUP BY ()")
	}
	return sqlRelation{name: b.addCTE(lines...)}, nil
}

// aggExpr renders one aggregate so that it yields the plan's type for it.
func (b *sqlBuilder) aggExpr(a plan.AggExpr) (string, error) {
	var arg string
	var argType arrow.DataType
	if a.Arg != nil {
		var err error
		if arg, err = b.expr(a.Arg, sqlInputColumns); err != nil {
			return "", err
		}
		argType = a.Arg.DataType()
	} else if a.Func != plan.Count {
		return "", sqlNotExpressible("%s without an argument", a.Func)
	}
	var call, cast string
	switch a.Func {
	case plan.Count:
		if a.Arg == nil {
			call = "count(*)"
		} else {
			call = "count(" + arg + ")"
		}
	case plan.CountDistinct:
		call = "count(DISTINCT " + arg + ")"
	case plan.Sum:
		switch {
		case plan.IsInteger(argType):
			// PostgreSQL sums bigints into numeric, smaller integers into bigint.
			call, cast = "sum("+arg+")", "bigint"
		case argType.ID() == arrow.FLOAT32:
			call = "sum(" + arg + "::float8)"
		case plan.IsFloat(argType), plan.IsDecimal(argType):
			call = "sum(" + arg + ")"
		default:
			return "", sqlNotExpressible("sum of %s", plan.TypeName(argType))
		}
	case plan.Avg:
		if !plan.IsNumeric(argType) {
			return "", sqlNotExpressible("avg of %s", plan.TypeName(argType))
		}
		call, cast = "avg("+arg+")", "float8"
	case plan.Min, plan.Max:
		if plan.IsString(argType) {
			arg += ` COLLATE "C"`
		}
		call = a.Func.String() + "(" + arg + ")"
	case plan.Percentile, plan.Median:
		if !plan.IsNumeric(argType) {
			return "", sqlNotExpressible("percentile of %s", plan.TypeName(argType))
		}
		fraction, err := b.param(&plan.Literal{Value: a.Quantile(), Type: plan.Float64})
		if err != nil {
			return "", err
		}
		call = "percentile_cont(" + fraction + ") WITHIN GROUP (ORDER BY " + arg + "::float8)"
	default:
		return "", sqlNotExpressible("aggregate function %s", a.Func)
	}
	if a.Filter != nil {
		where, err := b.expr(a.Filter, sqlInputColumns)
		if err != nil {
			return "", fmt.Errorf("filter: %w", err)
		}
		call += " FILTER (WHERE " + where + ")"
		if cast != "" {
			call = "(" + call + ")"
		}
	}
	if cast != "" {
		call += "::" + cast
	}
	return call, nil
}

// orderBy renders sort keys over the given columns. Strings sort by their bytes, as the engine
// sorts them, whatever the database's collation.
func (b *sqlBuilder) orderBy(keys []plan.SortKey, cols sqlColumns) (string, error) {
	parts := make([]string, len(keys))
	for i, k := range keys {
		s, err := b.expr(k.Expr, cols)
		if err != nil {
			return "", fmt.Errorf("sort key %s: %w", k.Expr, err)
		}
		if plan.IsString(k.Expr.DataType()) {
			s += ` COLLATE "C"`
		}
		if k.Desc {
			s += " DESC"
		} else {
			s += " ASC"
		}
		if k.NullsFirst {
			s += " NULLS FIRST"
		} else {
			s += " NULLS LAST"
		}
		parts[i] = s
	}
	return strings.Join(parts, ", "), nil
}

// dryOrderBy renders sort keys with a throwaway builder, to check that they can be written.
func (b *sqlBuilder) dryOrderBy(keys []plan.SortKey) (string, error) {
	dry := &sqlBuilder{numbers: map[string]int{}}
	return dry.orderBy(keys, sqlInputColumns)
}

// param adds l as a parameter and returns its reference, cast to l's type so that PostgreSQL
// knows the type wherever the parameter appears. Equal constants of one type share a parameter.
func (b *sqlBuilder) param(l *plan.Literal) (string, error) {
	if l.Type == nil {
		return "", sqlNotExpressible("constant %s has no type", l)
	}
	if l.Type.ID() == arrow.NULL {
		// An untyped NULL takes its type from where it appears, as in the plan; shared, it
		// would have to take one type from every place.
		b.params = append(b.params, l)
		return "$" + strconv.Itoa(len(b.params)), nil
	}
	t, err := sqlTypeOf(l.Type)
	if err != nil {
		return "", fmt.Errorf("constant %s: %w", l, err)
	}
	key := t + " " + l.String()
	n, ok := b.numbers[key]
	if !ok {
		b.params = append(b.params, l)
		n = len(b.params)
		b.numbers[key] = n
	}
	return "$" + strconv.Itoa(n) + "::" + t, nil
}

// zone adds the name of loc as a text parameter and returns its reference.
func (b *sqlBuilder) zone(loc *time.Location) (string, error) {
	if loc == nil {
		return "", sqlNotExpressible("time truncation without a time zone")
	}
	name := loc.String()
	if name == "Local" || name == "" {
		// The process's local zone has no name PostgreSQL would know.
		return "", sqlNotExpressible("time zone %q is not an IANA zone name", name)
	}
	return b.param(&plan.Literal{Value: name, Type: plan.String})
}

// sqlTypeOf returns the PostgreSQL type that holds values of t as the plan computes them.
func sqlTypeOf(t arrow.DataType) (string, error) {
	switch t.ID() {
	case arrow.INT8, arrow.INT16:
		return "smallint", nil
	case arrow.INT32:
		return "integer", nil
	case arrow.INT64:
		return "bigint", nil
	case arrow.FLOAT32:
		return "real", nil
	case arrow.FLOAT64:
		return "float8", nil
	case arrow.DECIMAL128:
		return "numeric", nil
	case arrow.STRING, arrow.LARGE_STRING:
		return "text", nil
	case arrow.BOOL:
		return "boolean", nil
	case arrow.DATE32:
		return "date", nil
	case arrow.TIMESTAMP:
		if t.(*arrow.TimestampType).TimeZone == "" {
			return "timestamp", nil
		}
		return "timestamptz", nil
	case arrow.DICTIONARY:
		if plan.IsString(t) {
			return "text", nil
		}
	}
	return "", sqlNotExpressible("type %s", t)
}

// expr renders e. The result is an identifier, a parameter, a function call, a CASE, or
// parenthesised, so that it can stand as an operand anywhere, casts included.
func (b *sqlBuilder) expr(e plan.Expr, cols sqlColumns) (string, error) {
	switch x := e.(type) {
	case *plan.Column:
		ref, ok := cols(x.Name)
		if !ok {
			return "", sqlNotExpressible("column %s is not in the input", x.Name)
		}
		return ref, nil
	case *plan.Literal:
		return b.param(x)
	case *plan.Cast:
		in, err := b.expr(x.X, cols)
		if err != nil {
			return "", err
		}
		if plan.IsDecimal(x.X.DataType()) && plan.IsDecimal(x.To) {
			// A numeric holds any scale exactly: a larger scale changes nothing.
			return in, nil
		}
		t, err := sqlTypeOf(x.To)
		if err != nil {
			return "", fmt.Errorf("%s: %w", x, err)
		}
		return in + "::" + t, nil
	case *plan.Binary:
		return b.binary(x, cols)
	case *plan.Not:
		in, err := b.expr(x.X, cols)
		if err != nil {
			return "", err
		}
		return "(NOT " + in + ")", nil
	case *plan.Negate:
		in, err := b.expr(x.X, cols)
		if err != nil {
			return "", err
		}
		// in never starts with "-" (see expr), so this never writes "--", a comment.
		return "(-" + in + ")", nil
	case *plan.IsNull:
		in, err := b.expr(x.X, cols)
		if err != nil {
			return "", err
		}
		if x.Not {
			return "(" + in + " IS NOT NULL)", nil
		}
		return "(" + in + " IS NULL)", nil
	case *plan.In:
		in, err := b.expr(x.X, cols)
		if err != nil {
			return "", err
		}
		list := make([]string, len(x.List))
		for i, l := range x.List {
			if list[i], err = b.param(l); err != nil {
				return "", err
			}
		}
		op := " IN ("
		if x.Not {
			op = " NOT IN ("
		}
		return "(" + in + op + strings.Join(list, ", ") + "))", nil
	case *plan.Coalesce:
		args := make([]string, len(x.Args))
		for i, a := range x.Args {
			var err error
			if args[i], err = b.expr(a, cols); err != nil {
				return "", err
			}
		}
		return "coalesce(" + strings.Join(args, ", ") + ")", nil
	case *plan.Contains:
		in, err := b.expr(x.X, cols)
		if err != nil {
			return "", err
		}
		sub, err := b.param(&plan.Literal{Value: x.Substr, Type: plan.String})
		if err != nil {
			return "", err
		}
		s := "(strpos(lower(" + in + "), lower(" + sub + ")) > 0)"
		if x.Not {
			s = "(NOT " + s + ")"
		}
		return s, nil
	case *plan.Mask:
		return b.mask(x, cols)
	case *plan.TimeTrunc:
		return b.timeTrunc(x, cols)
	case *plan.TimeShift:
		return b.timeShift(x, cols)
	case *plan.Case:
		var s strings.Builder
		s.WriteString("CASE")
		for _, w := range x.Whens {
			cond, err := b.expr(w.Cond, cols)
			if err != nil {
				return "", err
			}
			then, err := b.expr(w.Then, cols)
			if err != nil {
				return "", err
			}
			s.WriteString(" WHEN " + cond + " THEN " + then)
		}
		if x.Else != nil {
			els, err := b.expr(x.Else, cols)
			if err != nil {
				return "", err
			}
			s.WriteString(" ELSE " + els)
		}
		s.WriteString(" END")
		return s.String(), nil
	case nil:
		return "", sqlNotExpressible("missing expression")
	}
	return "", sqlNotExpressible("expression %T (%s)", e, e)
}

// mask renders a mask as PostgreSQL computes it: md5 hashes the text's UTF-8 bytes (the
// database encoding must be UTF8), and char_length, left and right count characters as the
// engine's runes. NULL gives NULL: char_length(NULL) > 2 is not true, and repeat('*', NULL) is
// NULL.
func (b *sqlBuilder) mask(x *plan.Mask, cols sqlColumns) (string, error) {
	in, err := b.expr(x.X, cols)
	if err != nil {
		return "", err
	}
	switch x.Kind {
	case plan.MaskHash:
		return "md5(" + in + ")", nil
	case plan.MaskPartial:
		n := "char_length(" + in + ")"
		return "CASE WHEN " + n + " > 2 THEN (left(" + in + ", 1) || repeat('*', " + n + " - 2) || right(" + in + ", 1))" +
			" ELSE repeat('*', " + n + ") END", nil
	}
	return "", sqlNotExpressible("mask kind %d", int(x.Kind))
}

func (b *sqlBuilder) binary(x *plan.Binary, cols sqlColumns) (string, error) {
	l, err := b.expr(x.Left, cols)
	if err != nil {
		return "", err
	}
	r, err := b.expr(x.Right, cols)
	if err != nil {
		return "", err
	}
	switch x.Op {
	case plan.Add, plan.Sub, plan.Mul, plan.And, plan.Or:
		return "(" + l + " " + x.Op.String() + " " + r + ")", nil
	case plan.Div:
		// The plan divides in float64 and yields NULL for a zero divisor, where PostgreSQL
		// would raise an error.
		if x.Left.DataType().ID() != arrow.FLOAT64 {
			l += "::float8"
		}
		if x.Right.DataType().ID() != arrow.FLOAT64 {
			r += "::float8"
		}
		return "(" + l + " / NULLIF(" + r + ", 0))", nil
	case plan.Eq, plan.NotEq:
		return "(" + l + " " + x.Op.String() + " " + r + ")", nil
	case plan.Lt, plan.LtEq, plan.Gt, plan.GtEq:
		// Strings order by their bytes in the engine; equality needs no collation, since
		// PostgreSQL's deterministic collations compare equal only identical strings.
		switch {
		case plan.IsString(x.Left.DataType()):
			l += ` COLLATE "C"`
		case plan.IsString(x.Right.DataType()):
			r += ` COLLATE "C"`
		}
		return "(" + l + " " + x.Op.String() + " " + r + ")", nil
	}
	return "", sqlNotExpressible("operator %d in %s", x.Op, x)
}

// sqlMaxIdentifier is the longest identifier PostgreSQL keeps, in bytes; it cuts longer ones.
const sqlMaxIdentifier = 63

// sqlColumnName quotes a plan column name as an identifier. A name too long for PostgreSQL is cut
// and given a hash of the whole, so that two long names with a common start stay apart.
func sqlColumnName(name string) string {
	if len(name) > sqlMaxIdentifier {
		h := fnv.New32a()
		h.Write([]byte(name))
		suffix := fmt.Sprintf("~%08x", h.Sum32())
		cut := sqlMaxIdentifier - len(suffix)
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut] + suffix
	}
	return pgx.Identifier{name}.Sanitize()
}

// sqlCTEPrefix picks the prefix of CTE names: "q", unless a table the plan scans without a schema
// is itself named q<digits>, which a CTE of that name would hide.
func sqlCTEPrefix(n plan.Node) string {
	tables := map[string]bool{}
	var walk func(plan.Node)
	walk = func(n plan.Node) {
		if s, ok := n.(*plan.Scan); ok && !strings.Contains(s.Table, ".") {
			tables[strings.ToLower(s.Table)] = true
		}
		for _, c := range n.Children() {
			walk(c)
		}
	}
	walk(n)
	prefix := "q"
	for {
		clash := false
		for t := range tables {
			if digits, ok := strings.CutPrefix(t, prefix); ok && digits != "" && strings.Trim(digits, "0123456789") == "" {
				clash = true
				break
			}
		}
		if !clash {
			return prefix
		}
		prefix += "q"
	}
}
