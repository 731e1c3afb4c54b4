package pgwire

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// evaluator answers SELECTs over the catalog — pg_catalog and information_schema as the
// connection's principal sees them — and SELECTs without FROM, such as version() or SELECT 1.
// It interprets PostgreSQL's parse tree directly over rows in memory: the catalog has a few
// hundred rows, so nested loops and materialised intermediate results cost nothing, and
// interpreting the tree rather than translating it keeps every construct the tools send
// (joins, correlated subqueries, UNION, CASE, regular expressions, casts to regclass) in one
// place. Values are nil (NULL), bool, int64 (integers, OIDs, reg* types), float64, string, or
// []any (arrays); each expression's type is derived from the tree, not from the values, so a
// result has the same columns whether or not it has rows.
type evaluator struct {
	c      *conn
	rel    *relations
	params *params
	// tables caches the rows of each catalog table for one statement.
	tables map[*relDef][][]any
	// ctes are the common table expressions of the WITH clauses being evaluated, innermost
	// first.
	ctes *cteScope
}

// cteScope is one WITH clause's named results, and the scope of the clause it is nested in.
type cteScope struct {
	byName map[string]*resultSet
	outer  *cteScope
}

// lookup finds a WITH query by name, the innermost first.
func (s *cteScope) lookup(name string) *resultSet {
	for ; s != nil; s = s.outer {
		if r := s.byName[name]; r != nil {
			return r
		}
	}
	return nil
}

func newEvaluator(c *conn, rel *relations, p *params) *evaluator {
	return &evaluator{c: c, rel: rel, params: p, tables: map[*relDef][][]any{}}
}

// resultSet is a relation: named, typed columns and rows.
type resultSet struct {
	cols []colDef
	rows [][]any
}

// scopeItem is one FROM item: its name and its columns at an offset of the joined row.
type scopeItem struct {
	alias  string
	schema string
	cols   []colDef
	offset int
}

// scope is the FROM items an expression can name, and the scopes of the queries around it.
type scope struct {
	items []scopeItem
	width int
	outer *scope
}

// env is a row being evaluated in its scope, and, when aggregating, the rows of its group.
type env struct {
	sc    *scope
	row   []any
	group [][]any
	outer *env
}

func (e *env) scope() *scope {
	if e == nil {
		return nil
	}
	return e.sc
}

// query evaluates a SELECT, with outer as the row of the query it is nested in (or nil).
func (ev *evaluator) query(sel *pg.SelectStmt, outer *env) (*resultSet, error) {
	if sel.WithClause != nil {
		restore, err := ev.with(sel.WithClause, outer)
		if err != nil {
			return nil, err
		}
		defer restore()
	}
	if isSetOp(sel) {
		return ev.setOperation(sel, outer)
	}
	if len(sel.ValuesLists) > 0 {
		return ev.values(sel, outer)
	}
	sc, rows, err := ev.fromList(sel, outer)
	if err != nil {
		return nil, err
	}
	targets, err := ev.expandTargets(sel.TargetList, sc)
	if err != nil {
		return nil, err
	}
	out := &resultSet{}
	for _, t := range targets {
		typ, typmod := ev.typeOf(t.expr, sc)
		out.cols = append(out.cols, colDef{name: t.name, typ: typ, typmod: typmod})
	}
	// Each output row, with the environment its ORDER BY keys are evaluated in.
	var envs []*env
	if len(sel.GroupClause) > 0 || hasAggregate(sel.TargetList) || hasAggregate([]*pg.Node{sel.HavingClause}) {
		groups, err := ev.group(sel, targets, rows, sc, outer)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			e := &env{sc: sc, row: make([]any, sc.width), group: g, outer: outer}
			if len(g) > 0 {
				e.row = g[0]
			}
			if sel.HavingClause != nil {
				ok, err := ev.truth(sel.HavingClause, e)
				if err != nil {
					return nil, err
				}
				if !ok {
					continue
				}
			}
			envs = append(envs, e)
		}
	} else {
		for _, row := range rows {
			envs = append(envs, &env{sc: sc, row: row, outer: outer})
		}
	}
	numbers, err := ev.rowNumbers(targets, envs)
	if err != nil {
		return nil, err
	}
	for k, e := range envs {
		row := make([]any, len(targets))
		for i, t := range targets {
			if numbers[i] != nil {
				row[i] = numbers[i][k]
				continue
			}
			v, err := ev.eval(t.expr, e)
			if err != nil {
				return nil, err
			}
			row[i] = v
		}
		out.rows = append(out.rows, row)
	}
	if err := ev.sortRows(out, sel.SortClause, envs); err != nil {
		return nil, err
	}
	if len(sel.DistinctClause) > 0 {
		out.rows = distinctRows(out.rows)
	}
	return ev.limit(out, sel)
}

// rowNumbers computes row_number() OVER (PARTITION BY … ORDER BY …), the one window function
// catalog queries use (pgjdbc numbers a table's columns with it): for each target that calls
// it, the number of each row, and nil for the other targets.
func (ev *evaluator) rowNumbers(targets []target, envs []*env) ([][]any, error) {
	out := make([][]any, len(targets))
	for i, t := range targets {
		f := t.expr.GetFuncCall()
		if f == nil || f.Over == nil {
			continue
		}
		if funcName(f) != "row_number" {
			return nil, unsupported("window function "+funcName(f)+" in catalog queries", "use row_number()")
		}
		keys := make([][]any, len(envs))
		for k, e := range envs {
			for _, n := range f.Over.PartitionClause {
				v, err := ev.eval(n, e)
				if err != nil {
					return nil, err
				}
				keys[k] = append(keys[k], v)
			}
		}
		order := make([][]any, len(envs))
		for k, e := range envs {
			for _, n := range f.Over.OrderClause {
				v, err := ev.eval(n.GetSortBy().Node, e)
				if err != nil {
					return nil, err
				}
				order[k] = append(order[k], v)
			}
		}
		idx := make([]int, len(envs))
		for k := range idx {
			idx[k] = k
		}
		sort.SliceStable(idx, func(a, b int) bool {
			if c := strings.Compare(rowKey(keys[idx[a]]), rowKey(keys[idx[b]])); c != 0 {
				return c < 0
			}
			for j := range order[idx[a]] {
				c, _ := compareValues(order[idx[a]][j], order[idx[b]][j])
				if order[idx[a]][j] != nil && c != 0 {
					return (c < 0) != (f.Over.OrderClause[j].GetSortBy().SortbyDir == pg.SortByDir_SORTBY_DESC)
				}
			}
			return false
		})
		out[i] = make([]any, len(envs))
		n, last := int64(0), ""
		for _, k := range idx {
			if key := rowKey(keys[k]); key != last || n == 0 {
				n, last = 0, key
			}
			n++
			out[i][k] = n
		}
	}
	return out, nil
}

func widthOf(items []scopeItem) int {
	w := 0
	for _, it := range items {
		w += len(it.cols)
	}
	return w
}

// target is one output column: its name and expression.
type target struct {
	name string
	expr *pg.Node
}

// expandTargets expands * and alias.* and names each output column as PostgreSQL does.
func (ev *evaluator) expandTargets(list []*pg.Node, sc *scope) ([]target, error) {
	var out []target
	for _, n := range list {
		rt := n.GetResTarget()
		if ref := rt.Val.GetColumnRef(); ref != nil && isStar(ref) {
			parts := stringList(ref.Fields)
			found := false
			for _, it := range sc.items {
				if len(parts) > 1 && parts[len(parts)-2] != it.alias {
					continue
				}
				found = true
				for _, c := range it.cols {
					fields := []*pg.Node{pg.MakeStrNode(it.alias), pg.MakeStrNode(c.name)}
					out = append(out, target{name: c.name, expr: &pg.Node{Node: &pg.Node_ColumnRef{ColumnRef: &pg.ColumnRef{Fields: fields, Location: -1}}}})
				}
			}
			if !found {
				return nil, errorf(codeUndefinedTable, "missing FROM-clause entry for table %q", parts[0]).at(ref.Location)
			}
			continue
		}
		name := rt.Name
		if name == "" {
			name = outputName(rt.Val)
		}
		out = append(out, target{name: name, expr: rt.Val})
	}
	return out, nil
}

// outputName names an unaliased output column as PostgreSQL does.
func outputName(n *pg.Node) string {
	switch x := n.Node.(type) {
	case *pg.Node_ColumnRef:
		parts := stringList(x.ColumnRef.Fields)
		return parts[len(parts)-1]
	case *pg.Node_FuncCall:
		return funcName(x.FuncCall)
	case *pg.Node_TypeCast:
		if name := outputName(x.TypeCast.Arg); name != "?column?" {
			return name
		}
		return strings.TrimSuffix(typeName(x.TypeCast.TypeName), "[]")
	case *pg.Node_SqlvalueFunction:
		return sqlValueFunctionName(x.SqlvalueFunction.Op)
	case *pg.Node_CaseExpr:
		return "case"
	case *pg.Node_CoalesceExpr:
		return "coalesce"
	case *pg.Node_SubLink:
		switch x.SubLink.SubLinkType {
		case pg.SubLinkType_EXISTS_SUBLINK:
			return "exists"
		case pg.SubLinkType_ARRAY_SUBLINK:
			return "array"
		case pg.SubLinkType_EXPR_SUBLINK:
			if sel := x.SubLink.Subselect.GetSelectStmt(); sel != nil && len(sel.TargetList) == 1 {
				rt := sel.TargetList[0].GetResTarget()
				if rt.Name != "" {
					return rt.Name
				}
				return outputName(rt.Val)
			}
		}
	case *pg.Node_AArrayExpr:
		return "array"
	case *pg.Node_MinMaxExpr:
		if x.MinMaxExpr.Op == pg.MinMaxOp_IS_GREATEST {
			return "greatest"
		}
		return "least"
	case *pg.Node_AIndirection:
		return outputName(x.AIndirection.Arg)
	}
	return "?column?"
}

// fromItem evaluates one FROM item into its scope items and rows.
func (ev *evaluator) fromItem(n *pg.Node, outer *env) ([]scopeItem, [][]any, error) {
	switch x := n.Node.(type) {
	case *pg.Node_RangeVar:
		rv := x.RangeVar
		if res := ev.ctes.lookup(rv.Relname); res != nil && rv.Schemaname == "" {
			alias, cols := rv.Relname, res.cols
			if rv.Alias != nil {
				alias = rv.Alias.Aliasname
				cols = renameColumns(cols, rv.Alias.Colnames)
			}
			return []scopeItem{{alias: alias, cols: cols}}, res.rows, nil
		}
		def, err := ev.catalogTable(rv)
		if err != nil {
			return nil, nil, err
		}
		rows, ok := ev.tables[def]
		if !ok {
			rows = ev.catalogRows(def)
			ev.tables[def] = rows
		}
		alias := rv.Relname
		cols := def.cols
		if rv.Alias != nil {
			alias = rv.Alias.Aliasname
			cols = renameColumns(cols, rv.Alias.Colnames)
		}
		return []scopeItem{{alias: alias, schema: def.schema, cols: cols}}, rows, nil
	case *pg.Node_RangeSubselect:
		sub := x.RangeSubselect
		if sub.Lateral {
			return nil, nil, unsupported("LATERAL in catalog queries", "write a correlated subquery in the select list")
		}
		res, err := ev.query(sub.Subquery.GetSelectStmt(), outer)
		if err != nil {
			return nil, nil, err
		}
		alias, cols := "", res.cols
		if sub.Alias != nil {
			alias = sub.Alias.Aliasname
			cols = renameColumns(cols, sub.Alias.Colnames)
		}
		return []scopeItem{{alias: alias, cols: cols}}, res.rows, nil
	case *pg.Node_RangeFunction:
		return ev.tableFunction(x.RangeFunction, outer)
	case *pg.Node_JoinExpr:
		return ev.join(x.JoinExpr, outer)
	}
	return nil, nil, unsupported("this FROM item in catalog queries", "select from catalog tables, subqueries and joins")
}

func renameColumns(cols []colDef, names []*pg.Node) []colDef {
	if len(names) == 0 {
		return cols
	}
	out := append([]colDef(nil), cols...)
	for i, n := range stringList(names) {
		if i < len(out) {
			out[i].name = n
		}
	}
	return out
}

// with evaluates a WITH clause's queries in order, each seeing those before it, and makes
// them the innermost names of FROM items; restore takes them away again. Metabase asks for
// table privileges with one. WITH RECURSIVE is refused.
func (ev *evaluator) with(w *pg.WithClause, outer *env) (restore func(), err error) {
	if w.Recursive {
		return nil, unsupported("WITH RECURSIVE in catalog queries", "write the query without recursion")
	}
	saved := ev.ctes
	ev.ctes = &cteScope{byName: map[string]*resultSet{}, outer: saved}
	for _, n := range w.Ctes {
		cte := n.GetCommonTableExpr()
		sel := cte.GetCtequery().GetSelectStmt()
		if sel == nil {
			ev.ctes = saved
			return nil, unsupported("WITH queries other than SELECT", "select from the catalog").at(cte.Location)
		}
		res, err := ev.query(sel, outer)
		if err != nil {
			ev.ctes = saved
			return nil, err
		}
		ev.ctes.byName[cte.Ctename] = &resultSet{cols: renameColumns(res.cols, cte.Aliascolnames), rows: res.rows}
	}
	return func() { ev.ctes = saved }, nil
}

// catalogTable finds a catalog table: pg_catalog's by bare name, others by schema.
func (ev *evaluator) catalogTable(rv *pg.RangeVar) (*relDef, error) {
	st := loadStatic()
	if rv.Schemaname == "" {
		if def := st.relByName["pg_catalog."+rv.Relname]; def != nil {
			return def, nil
		}
		for _, s := range ev.c.sess.searchPath {
			if def := st.relByName[s+"."+rv.Relname]; def != nil {
				return def, nil
			}
		}
	} else if def := st.relByName[rv.Schemaname+"."+rv.Relname]; def != nil {
		return def, nil
	}
	name := rv.Relname
	if rv.Schemaname != "" {
		name = rv.Schemaname + "." + name
	}
	e := errorf(codeUndefinedTable, "relation %q does not exist", name).at(rv.Location)
	if rv.Schemaname == "" || ev.rel.byName[rv.Schemaname] != nil || rv.Schemaname == "public" {
		e.withHint("the tables are %s", ev.rel.tableNames())
	}
	return nil, e
}

// join evaluates a JOIN with nested loops: inner, left, right and full, ON or USING.
func (ev *evaluator) join(j *pg.JoinExpr, outer *env) ([]scopeItem, [][]any, error) {
	litems, lrows, err := ev.fromItem(j.Larg, outer)
	if err != nil {
		return nil, nil, err
	}
	ritems, rrows, err := ev.fromItem(j.Rarg, outer)
	if err != nil {
		return nil, nil, err
	}
	lw := widthOf(litems)
	items := append([]scopeItem(nil), litems...)
	for _, it := range ritems {
		it.offset += lw
		items = append(items, it)
	}
	sc := &scope{items: items, width: lw + widthOf(ritems), outer: outer.scope()}
	quals := j.Quals
	if len(j.UsingClause) > 0 {
		var conds []*pg.Node
		for _, name := range stringList(j.UsingClause) {
			l := columnRefNode(litems[len(litems)-1].alias, name)
			r := columnRefNode(ritems[0].alias, name)
			conds = append(conds, pg.MakeAExprNode(pg.A_Expr_Kind_AEXPR_OP, []*pg.Node{pg.MakeStrNode("=")}, l, r, -1))
		}
		quals = pg.MakeBoolExprNode(pg.BoolExprType_AND_EXPR, conds, -1)
	}
	if j.IsNatural {
		return nil, nil, unsupported("NATURAL JOIN in catalog queries", "join with ON or USING")
	}
	var out [][]any
	rightMatched := make([]bool, len(rrows))
	// An equality between a column of each side finds the candidate rows by hash rather than by
	// trying every pair; the whole condition is still evaluated on each candidate.
	lkey, rkey, kind := ev.equiJoinKeys(quals, litems, ritems)
	var index *rowIndex
	if lkey >= 0 {
		index = newRowIndex(kind)
		for ri, r := range rrows {
			index.add(ri, r[rkey])
		}
	}
	all := allRows(len(rrows))
	for _, l := range lrows {
		matched := false
		candidates := all
		if index != nil {
			candidates = index.candidates(l[lkey])
		}
		for _, ri := range candidates {
			r := rrows[ri]
			row := append(append(make([]any, 0, sc.width), l...), r...)
			ok := true
			if quals != nil {
				if ok, err = ev.truth(quals, &env{sc: sc, row: row, outer: outer}); err != nil {
					return nil, nil, err
				}
			}
			if ok {
				if err := checkSize(len(out)+1, sc.width); err != nil {
					return nil, nil, err
				}
				matched = true
				rightMatched[ri] = true
				out = append(out, row)
			}
		}
		if !matched && (j.Jointype == pg.JoinType_JOIN_LEFT || j.Jointype == pg.JoinType_JOIN_FULL) {
			out = append(out, append(append(make([]any, 0, sc.width), l...), make([]any, sc.width-lw)...))
		}
	}
	if j.Jointype == pg.JoinType_JOIN_RIGHT || j.Jointype == pg.JoinType_JOIN_FULL {
		for ri, r := range rrows {
			if !rightMatched[ri] {
				out = append(out, append(make([]any, lw, sc.width), r...))
			}
		}
	}
	if j.Alias != nil {
		var cols []colDef
		for _, it := range items {
			cols = append(cols, it.cols...)
		}
		return []scopeItem{{alias: j.Alias.Aliasname, cols: renameColumns(cols, j.Alias.Colnames)}}, out, nil
	}
	return items, out, nil
}

// equiJoinKeys finds, among the ANDed conditions of a join, an equality of a column of the left
// items with a column of the right ones, both held as the same kind of value, and returns their
// positions in each side's rows and that kind, or -1.
func (ev *evaluator) equiJoinKeys(quals *pg.Node, left, right []scopeItem) (int, int, valueKind) {
	side := func(n *pg.Node, items []scopeItem) (int, valueKind) {
		ref := n.GetColumnRef()
		if ref == nil {
			return -1, 0
		}
		_, i, c, err := ev.columnAt(ref, &scope{items: items, width: widthOf(items)})
		if err != nil {
			return -1, 0
		}
		return i, kindOf(c.typ)
	}
	for _, c := range conjuncts(quals) {
		e := c.GetAExpr()
		if e == nil || e.Kind != pg.A_Expr_Kind_AEXPR_OP || operatorName(e.Name) != "=" || e.Lexpr == nil {
			continue
		}
		for _, pair := range [][2]*pg.Node{{e.Lexpr, e.Rexpr}, {e.Rexpr, e.Lexpr}} {
			l, lk := side(pair[0], left)
			r, rk := side(pair[1], right)
			if other, _ := side(pair[0], right); l >= 0 && r >= 0 && other < 0 && lk == rk && lk != kindArray {
				return l, r, lk
			}
		}
	}
	return -1, -1, 0
}

func columnRefNode(alias, name string) *pg.Node {
	fields := []*pg.Node{pg.MakeStrNode(name)}
	if alias != "" {
		fields = []*pg.Node{pg.MakeStrNode(alias), pg.MakeStrNode(name)}
	}
	return &pg.Node{Node: &pg.Node_ColumnRef{ColumnRef: &pg.ColumnRef{Fields: fields, Location: -1}}}
}

// tableFunction evaluates generate_series, unnest and the empty pg_get_keywords in FROM.
func (ev *evaluator) tableFunction(rf *pg.RangeFunction, outer *env) ([]scopeItem, [][]any, error) {
	if len(rf.Functions) != 1 {
		return nil, nil, unsupported("ROWS FROM with several functions", "call one function in FROM")
	}
	pair := rf.Functions[0].GetList()
	f := pair.Items[0].GetFuncCall()
	if f == nil {
		return nil, nil, unsupported("this FROM function", "use generate_series or unnest")
	}
	name := funcName(f)
	args := make([]any, len(f.Args))
	for i, a := range f.Args {
		v, err := ev.eval(a, &env{sc: &scope{outer: outer.scope()}, outer: outer})
		if err != nil {
			return nil, nil, err
		}
		args[i] = v
	}
	var cols []colDef
	var rows [][]any
	switch name {
	case "generate_series":
		if len(args) < 2 || args[0] == nil || args[1] == nil {
			return nil, nil, unsupported("generate_series with these arguments", "generate_series(start, stop[, step]) over integers")
		}
		from, _ := toInt(args[0])
		to, _ := toInt(args[1])
		step := int64(1)
		if len(args) > 2 {
			step, _ = toInt(args[2])
		}
		if step == 0 {
			return nil, nil, errorf(codeInvalidParameter, "step size cannot equal zero")
		}
		for v := from; step > 0 && v <= to || step < 0 && v >= to; v += step {
			rows = append(rows, []any{v})
		}
		cols = []colDef{{name: name, typ: oidInt4, typmod: -1}}
	case "unnest":
		arr, _ := args[0].([]any)
		for _, v := range arr {
			rows = append(rows, []any{v})
		}
		t, _ := ev.typeOf(f.Args[0], &scope{outer: outer.scope()})
		cols = []colDef{{name: name, typ: elemType(t), typmod: -1}}
		if rf.Ordinality {
			for i := range rows {
				rows[i] = append(rows[i], int64(i+1))
			}
			cols = append(cols, colDef{name: "ordinality", typ: oidInt8, typmod: -1})
		}
	case "pg_get_keywords":
		cols = []colDef{{name: "word", typ: oidText, typmod: -1}, {name: "catcode", typ: oidChar, typmod: -1},
			{name: "barelabel", typ: oidBool, typmod: -1}, {name: "catdesc", typ: oidText, typmod: -1}, {name: "baredesc", typ: oidText, typmod: -1}}
		for _, k := range pgKeywords {
			rows = append(rows, []any{k.word, k.catcode, true, k.catdesc, "can be bare label"})
		}
	default:
		fn, ok := functions[name]
		if !ok {
			return nil, nil, errorf(codeUndefinedFunction, "function %s does not exist", name).at(f.Location)
		}
		// A scalar function in FROM is a table of one row.
		v, err := fn.call(ev, args)
		if err != nil {
			return nil, nil, err
		}
		rows = [][]any{{v}}
		cols = []colDef{{name: name, typ: ev.funcType(f, &scope{outer: outer.scope()}), typmod: -1}}
	}
	alias := name
	if rf.Alias != nil {
		alias = rf.Alias.Aliasname
		cols = renameColumns(cols, rf.Alias.Colnames)
		if len(rf.Alias.Colnames) == 0 && len(cols) == 1 {
			cols[0].name = alias
		}
	}
	return []scopeItem{{alias: alias, cols: cols}}, rows, nil
}

// pgKeywords are the keywords of PostgreSQL's grammar that SQL:2003 does not have, which
// pgjdbc's getSQLKeywords reports (DBeaver highlights them): not every keyword
// pg_get_keywords() lists, but those a SQL editor should know beyond the standard's.
var pgKeywords = func() []struct{ word, catcode, catdesc string } {
	var out []struct{ word, catcode, catdesc string }
	for code, words := range map[string]string{
		"R": "analyse analyze concurrently do ilike limit offset placing returning variadic",
		"T": "freeze isnull notnull verbose",
		"U": "abort access aggregate also backward cache checkpoint class cluster comment configuration conversion " +
			"copy csv database delimiter delimiters dictionary disable discard enable encoding encrypted enum " +
			"explain family force forward functions handler header if immutable implicit inherit inherits instead " +
			"label listen load location lock mode move notify nowait off oids operator owned owner parser password " +
			"prepared procedural program reassign recheck refresh reindex rename replace replica reset rule share " +
			"show stable statistics stdin stdout storage strict sysid tablespace temp template text truncate trusted " +
			"unencrypted unlisten unlogged until vacuum valid validate validator version volatile",
	} {
		desc := map[string]string{"R": "reserved", "T": "reserved (can be function or type name)", "U": "unreserved"}[code]
		for _, w := range strings.Fields(words) {
			out = append(out, struct{ word, catcode, catdesc string }{w, code, desc})
		}
	}
	slices.SortFunc(out, func(a, b struct{ word, catcode, catdesc string }) int { return strings.Compare(a.word, b.word) })
	return out
}()

// values evaluates VALUES lists.
func (ev *evaluator) values(sel *pg.SelectStmt, outer *env) (*resultSet, error) {
	out := &resultSet{}
	sc := &scope{outer: outer.scope()}
	for i, l := range sel.ValuesLists {
		items := l.GetList().Items
		row := make([]any, len(items))
		for j, n := range items {
			v, err := ev.eval(n, &env{sc: sc, outer: outer})
			if err != nil {
				return nil, err
			}
			row[j] = v
			if i == 0 {
				typ, typmod := ev.typeOf(n, sc)
				out.cols = append(out.cols, colDef{name: fmt.Sprintf("column%d", j+1), typ: typ, typmod: typmod})
			}
		}
		out.rows = append(out.rows, row)
	}
	if err := ev.sortRows(out, sel.SortClause, nil); err != nil {
		return nil, err
	}
	return ev.limit(out, sel)
}

// setOperation evaluates UNION, INTERSECT and EXCEPT, with or without ALL.
func (ev *evaluator) setOperation(sel *pg.SelectStmt, outer *env) (*resultSet, error) {
	l, err := ev.query(sel.Larg, outer)
	if err != nil {
		return nil, err
	}
	r, err := ev.query(sel.Rarg, outer)
	if err != nil {
		return nil, err
	}
	if len(l.cols) != len(r.cols) {
		return nil, errorf(codeSyntaxError, "each %s query must have the same number of columns", strings.ToUpper(strings.TrimPrefix(sel.Op.String(), "SETOP_")))
	}
	out := &resultSet{cols: l.cols}
	for i := range out.cols {
		if out.cols[i].typ == oidText && r.cols[i].typ != oidText {
			out.cols[i].typ = r.cols[i].typ // a NULL or text literal on the left takes the right's type
		}
	}
	switch sel.Op {
	case pg.SetOperation_SETOP_UNION:
		out.rows = append(append(out.rows, l.rows...), r.rows...)
		if !sel.All {
			out.rows = distinctRows(out.rows)
		}
	case pg.SetOperation_SETOP_INTERSECT, pg.SetOperation_SETOP_EXCEPT:
		inRight := map[string]bool{}
		for _, row := range r.rows {
			inRight[rowKey(row)] = true
		}
		for _, row := range l.rows {
			if inRight[rowKey(row)] == (sel.Op == pg.SetOperation_SETOP_INTERSECT) {
				out.rows = append(out.rows, row)
			}
		}
		if !sel.All {
			out.rows = distinctRows(out.rows)
		}
	}
	if err := ev.sortRows(out, sel.SortClause, nil); err != nil {
		return nil, err
	}
	return ev.limit(out, sel)
}

func rowKey(row []any) string {
	var b strings.Builder
	for _, v := range row {
		fmt.Fprintf(&b, "%T:%v\x00", v, v)
	}
	return b.String()
}

func distinctRows(rows [][]any) [][]any {
	seen := map[string]bool{}
	out := rows[:0:0]
	for _, r := range rows {
		k := rowKey(r)
		if !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}

// group splits rows into the groups of GROUP BY; without GROUP BY, all rows are one group,
// even none.
func (ev *evaluator) group(sel *pg.SelectStmt, targets []target, rows [][]any, sc *scope, outer *env) ([][][]any, error) {
	if len(sel.GroupClause) == 0 {
		// Without GROUP BY there is one group, even of no rows: count(*) is then 0.
		if rows == nil {
			rows = [][]any{}
		}
		return [][][]any{rows}, nil
	}
	exprs := make([]*pg.Node, len(sel.GroupClause))
	for i, n := range sel.GroupClause {
		exprs[i] = ev.outputExpr(n, targets)
	}
	var order []string
	groups := map[string][][]any{}
	for _, row := range rows {
		e := &env{sc: sc, row: row, outer: outer}
		key := make([]any, len(exprs))
		for i, x := range exprs {
			v, err := ev.eval(x, e)
			if err != nil {
				return nil, err
			}
			key[i] = v
		}
		k := rowKey(key)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], row)
	}
	out := make([][][]any, len(order))
	for i, k := range order {
		out[i] = groups[k]
	}
	return out, nil
}

// outputExpr resolves a GROUP BY or ORDER BY item that names an output column by position or
// name to that column's expression.
func (ev *evaluator) outputExpr(n *pg.Node, targets []target) *pg.Node {
	if i, ok := intConst(n); ok && i >= 1 && int(i) <= len(targets) {
		return targets[i-1].expr
	}
	return n
}

// sortRows orders the output rows by the ORDER BY keys: output positions or names, or
// expressions evaluated in each row's environment. NULLs sort last ascending, first
// descending, as in PostgreSQL.
func (ev *evaluator) sortRows(out *resultSet, clause []*pg.Node, envs []*env) error {
	if len(clause) == 0 {
		return nil
	}
	keys := make([][]any, len(out.rows))
	for i := range keys {
		keys[i] = make([]any, len(clause))
	}
	desc := make([]bool, len(clause))
	nullsFirst := make([]bool, len(clause))
	for k, n := range clause {
		sb := n.GetSortBy()
		desc[k] = sb.SortbyDir == pg.SortByDir_SORTBY_DESC
		nullsFirst[k] = desc[k]
		switch sb.SortbyNulls {
		case pg.SortByNulls_SORTBY_NULLS_FIRST:
			nullsFirst[k] = true
		case pg.SortByNulls_SORTBY_NULLS_LAST:
			nullsFirst[k] = false
		}
		col := -1
		if i, ok := intConst(sb.Node); ok {
			if i < 1 || int(i) > len(out.cols) {
				return errorf("42P10", "ORDER BY position %d is not in select list", i)
			}
			col = int(i - 1)
		} else if ref := sb.Node.GetColumnRef(); ref != nil {
			if parts := stringList(ref.Fields); len(parts) == 1 {
				for j, c := range out.cols {
					if c.name == parts[0] {
						col = j
						break
					}
				}
			}
		}
		for i := range out.rows {
			if col >= 0 {
				keys[i][k] = out.rows[i][col]
				continue
			}
			if envs == nil {
				return unsupported("ORDER BY an expression of a set operation", "order by an output column's name or position")
			}
			v, err := ev.eval(sb.Node, envs[i])
			if err != nil {
				return err
			}
			keys[i][k] = v
		}
	}
	idx := make([]int, len(out.rows))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		for k := range clause {
			x, y := keys[idx[a]][k], keys[idx[b]][k]
			switch {
			case x == nil && y == nil:
				continue
			case x == nil:
				return nullsFirst[k]
			case y == nil:
				return !nullsFirst[k]
			}
			c, _ := compareValues(x, y)
			if c == 0 {
				continue
			}
			return (c < 0) != desc[k]
		}
		return false
	})
	rows := make([][]any, len(out.rows))
	for i, j := range idx {
		rows[i] = out.rows[j]
	}
	out.rows = rows
	return nil
}

// limit applies OFFSET and LIMIT.
func (ev *evaluator) limit(out *resultSet, sel *pg.SelectStmt) (*resultSet, error) {
	read := func(n *pg.Node) (int64, bool, error) {
		if n == nil {
			return 0, false, nil
		}
		v, err := ev.eval(n, &env{sc: &scope{}})
		if err != nil || v == nil {
			return 0, false, err
		}
		i, ok := toInt(v)
		if !ok || i < 0 {
			return 0, false, errorf("2201W", "LIMIT and OFFSET must be non-negative integers")
		}
		return i, true, nil
	}
	if off, ok, err := read(sel.LimitOffset); err != nil {
		return nil, err
	} else if ok {
		out.rows = out.rows[min(int(off), len(out.rows)):]
	}
	if lim, ok, err := read(sel.LimitCount); err != nil {
		return nil, err
	} else if ok && int(lim) < len(out.rows) {
		out.rows = out.rows[:lim]
	}
	return out, nil
}

// aggregates are the aggregate functions the evaluator computes over a group.
var aggregates = map[string]bool{"count": true, "sum": true, "min": true, "max": true, "avg": true, "string_agg": true,
	"array_agg": true, "bool_and": true, "bool_or": true, "every": true}

// hasAggregate reports whether the expressions call an aggregate outside subqueries.
func hasAggregate(nodes []*pg.Node) bool {
	var walk func(n *pg.Node) bool
	walk = func(n *pg.Node) bool {
		if n == nil {
			return false
		}
		if f := n.GetFuncCall(); f != nil && aggregates[funcName(f)] && f.Over == nil {
			return true
		}
		children, _ := exprChildren(n)
		return slices.ContainsFunc(children, walk)
	}
	return slices.ContainsFunc(nodes, walk)
}

// declareParams records every parameter a statement names as text, the type the evaluator
// takes parameters as. The evaluator learns of a parameter when it evaluates it, and a
// statement that is only being described runs over NULL parameters, where a WHERE term that
// fails spares the rest; without this, a client would be told of fewer parameters than the
// statement has (pgx then refuses to bind them).
func declareParams(m proto.Message, p *params) {
	var walk func(m protoreflect.Message)
	walk = func(m protoreflect.Message) {
		if ref, ok := m.Interface().(*pg.ParamRef); ok {
			if ref.Number >= 1 {
				p.need(int(ref.Number), oidText)
			}
			return
		}
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.Kind() != protoreflect.MessageKind:
			case fd.IsList():
				for i, l := 0, v.List(); i < l.Len(); i++ {
					walk(l.Get(i).Message())
				}
			case !fd.IsMap():
				walk(v.Message())
			}
			return true
		})
	}
	walk(m.ProtoReflect())
}
