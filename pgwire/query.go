package pgwire

import (
	"context"
	"fmt"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/semantic"
)

// relations returns the catalog as the connection's principal sees it under the current
// policy, laid out again when the policy has changed.
func (c *conn) relations() (*relations, error) {
	acc, err := c.srv.svc.Access(c.who)
	if err != nil {
		return nil, err
	}
	svc := c.srv.svc
	// The layout depends on the policy and on the definitions; either may change while the
	// connection lives.
	key := relationsKey{catalog: svc.Catalog()}
	if a := svc.Authorizer(); a != nil {
		key.policy = a.Policy()
	}
	if c.rel != nil && c.relKey == key {
		return c.rel, nil
	}
	typeOf := func(m *semantic.Metric) (uint32, int32) {
		cq, err := svc.Compile(acc, semantic.MetricQuery{Metrics: []string{m.Name}})
		if err != nil || len(cq.Columns) != 1 {
			return oidNumeric, -1
		}
		return pgTypeOf(cq.Columns[0].Type)
	}
	c.rel, c.relKey = newRelations(acc, svc.Catalog(), typeOf), key
	return c.rel, nil
}

// relationsKey is what a connection's layout of the catalog was made from.
type relationsKey struct {
	catalog *semantic.Catalog
	policy  *authz.Policy
}

// planSelect plans a SELECT: over a semantic table it becomes a metric query; over the catalog,
// or over nothing, the evaluator answers it.
func (c *conn) planSelect(sel *pg.SelectStmt, p *params) (*planned, error) {
	rel, err := c.relations()
	if err != nil {
		return nil, err
	}
	if !isSetOp(sel) && len(sel.FromClause) == 1 {
		if rv := sel.FromClause[0].GetRangeVar(); rv != nil {
			if t := c.semanticTable(rv, rel); t != nil {
				ms, err := c.translate(sel, rv, t, rel, p)
				if err != nil {
					return nil, err
				}
				return c.metricPlan(ms, t), nil
			}
		}
	}
	if rv := c.findSemanticTable(sel, rel); rv != nil {
		return nil, unsupported("joins, subqueries and set operations over semantic tables",
			"select from one table and name the dimensions of related models as columns, such as customers.segment; the semantic layer joins them").at(rv.Location)
	}
	declareParams(sel, p)
	ev := newEvaluator(c, rel, p)
	res, err := ev.query(sel, nil)
	if err != nil {
		return nil, err
	}
	fields := make([]field, len(res.cols))
	for i, col := range res.cols {
		fields[i] = field{name: col.name, oid: col.typ, typmod: col.typmod}
	}
	return c.valuesPlan(fields, res.rows, "SELECT"), nil
}

// translate translates a SELECT from the semantic table t, which rv names, in the session.
func (c *conn) translate(sel *pg.SelectStmt, rv *pg.RangeVar, t *sqlTable, rel *relations, p *params) (*metricSelect, error) {
	alias := ""
	if rv.Alias != nil {
		alias = rv.Alias.Aliasname
	}
	return translateSelect(sel, rel, c.sess, p, t, alias)
}

// semanticTable returns the semantic table a FROM item names, or nil when it names a catalog
// table (pg_catalog comes first on every search path, as in PostgreSQL) or nothing.
func (c *conn) semanticTable(rv *pg.RangeVar, rel *relations) *sqlTable {
	if rv.Schemaname == "" {
		if loadStatic().relByName["pg_catalog."+rv.Relname] != nil {
			return nil
		}
	}
	return rel.lookup(rv.Schemaname, rv.Relname, c.sess.searchPath)
}

// findSemanticTable returns a semantic table named anywhere in a statement's FROM clauses.
func (c *conn) findSemanticTable(sel *pg.SelectStmt, rel *relations) *pg.RangeVar {
	var found *pg.RangeVar
	var walkFrom func(n *pg.Node)
	var walkSelect func(s *pg.SelectStmt)
	walkFrom = func(n *pg.Node) {
		if n == nil || found != nil {
			return
		}
		switch x := n.Node.(type) {
		case *pg.Node_RangeVar:
			if c.semanticTable(x.RangeVar, rel) != nil {
				found = x.RangeVar
			}
		case *pg.Node_JoinExpr:
			walkFrom(x.JoinExpr.Larg)
			walkFrom(x.JoinExpr.Rarg)
		case *pg.Node_RangeSubselect:
			walkFrom(x.RangeSubselect.Subquery)
		case *pg.Node_SelectStmt:
			walkSelect(x.SelectStmt)
		}
	}
	walkSelect = func(s *pg.SelectStmt) {
		if s == nil {
			return
		}
		for _, f := range s.FromClause {
			walkFrom(f)
		}
		walkSelect(s.Larg)
		walkSelect(s.Rarg)
		if s.WithClause != nil {
			for _, cte := range s.WithClause.Ctes {
				if q := cte.GetCommonTableExpr(); q != nil {
					walkFrom(q.Ctequery)
				}
			}
		}
	}
	walkSelect(sel)
	return found
}

// metricPlan runs a translated SELECT as a metric query, as the connection's principal.
func (c *conn) metricPlan(ms *metricSelect, t *sqlTable) *planned {
	fields := make([]field, len(ms.columns))
	for i, col := range ms.columns {
		f := field{name: col.name, oid: col.oid, typmod: col.typmod}
		if tc := t.byName[strings.TrimPrefix(col.key, t.name+".")]; tc != nil && col.kind != semantic.TimeColumn {
			f.table, f.attnum = t.oid, tc.num
		}
		fields[i] = f
	}
	return &planned{fields: fields, run: func(ctx context.Context) (rowIter, string, error) {
		acc, err := c.srv.svc.Access(c.who)
		if err != nil {
			return nil, "", err
		}
		// The session's application_name, from the startup packet or SET, is the client that
		// the audit log and lineage show: "Metabase v0.50.3", "DBeaver 24.1.0", "psql".
		res, err := c.srv.svc.Query(semantic.WithClient(ctx, c.sess.show("application_name")), acc, ms.query)
		if err != nil {
			return nil, "", err
		}
		c.warnAbout(ctx, acc, ms.query.Metrics, res.Warnings)
		cols := make([]arrowColumn, len(fields))
		for i, f := range fields {
			cols[i] = arrowColumn{oid: f.oid, loc: c.sess.location, m: c.types}
		}
		return &resultRows{res: res, cols: cols, sel: ms.columns}, "SELECT", nil
	}}
}

// resultRows yields the rows of a metric query's result in the select list's order.
type resultRows struct {
	res   *semantic.Result
	cols  []arrowColumn
	sel   []selectColumn
	batch int
	row   int
}

func (r *resultRows) next(formats []int16) ([][]byte, bool, error) {
	for r.res != nil && r.batch < len(r.res.Batches) && r.row >= int(r.res.Batches[r.batch].NumRows()) {
		r.batch++
		r.row = 0
	}
	if r.res == nil || r.batch >= len(r.res.Batches) {
		return nil, false, nil
	}
	b := r.res.Batches[r.batch]
	out := make([][]byte, len(r.sel))
	for i, sc := range r.sel {
		v, isNull, err := r.cols[i].appendValue(nil, b.Column(sc.source), r.row, formats[i])
		if err != nil {
			return nil, false, err
		}
		if !isNull {
			if v == nil {
				v = []byte{}
			}
			out[i] = v
		}
	}
	r.row++
	return out, true, nil
}

func (r *resultRows) close() {
	if r.res != nil {
		r.res.Release()
		r.res = nil
	}
}

// planExplain answers EXPLAIN of a SELECT over a semantic table with the semantic layer's plan.
func (c *conn) planExplain(ex *pg.ExplainStmt, p *params) (*planned, error) {
	sel := ex.Query.GetSelectStmt()
	if sel == nil || len(sel.FromClause) != 1 || sel.FromClause[0].GetRangeVar() == nil {
		return nil, unsupported("EXPLAIN of this statement", "EXPLAIN a SELECT over one semantic table")
	}
	rel, err := c.relations()
	if err != nil {
		return nil, err
	}
	rv := sel.FromClause[0].GetRangeVar()
	t := c.semanticTable(rv, rel)
	if t == nil {
		return nil, unsupported("EXPLAIN of catalog queries", "EXPLAIN a SELECT over one semantic table")
	}
	ms, err := c.translate(sel, rv, t, rel, p)
	if err != nil {
		return nil, err
	}
	fields := []field{{name: "QUERY PLAN", oid: oidText, typmod: -1}}
	return &planned{fields: fields, run: func(context.Context) (rowIter, string, error) {
		acc, err := c.srv.svc.Access(c.who)
		if err != nil {
			return nil, "", err
		}
		x, err := c.srv.svc.Explain(acc, ms.query)
		if err != nil {
			return nil, "", err
		}
		var rows [][]any
		add := func(text string) {
			for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
				rows = append(rows, []any{line})
			}
		}
		add(x.Physical)
		for i, st := range x.Statements {
			add(fmt.Sprintf("Statement %d, on %s:", i+1, st.Connection))
			add(st.SQL)
			for j, p := range st.Params {
				add(fmt.Sprintf("  $%d = %s", j+1, p))
			}
		}
		return &valueRows{c: c, fields: fields, rows: rows}, "EXPLAIN", nil
	}}, nil
}
