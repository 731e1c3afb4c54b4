package pgwire

import (
	"context"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/engine/pgtest"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/oracletest"
)

func demoPrincipal() *authz.Principal {
	return &authz.Principal{Subject: "demo", Tenant: "demo", Roles: []string{"analyst"}}
}

// sqlToQuery translates one SELECT over a semantic table as the demo user asks it.
func sqlToQuery(t testing.TB, sql string) semantic.MetricQuery {
	t.Helper()
	acc, err := fixture.svc.Access(demoPrincipal())
	if err != nil {
		t.Fatal(err)
	}
	rel := newRelations(acc, fixture.svc.Catalog(), func(*semantic.Metric) (uint32, int32) { return oidNumeric, -1 })
	stmts, err := parseSQL(sql)
	if err != nil {
		t.Fatal(err)
	}
	sel := stmts[0].Stmt.GetSelectStmt()
	rv := sel.FromClause[0].GetRangeVar()
	sess := &session{timezone: "UTC"}
	sess.defaultSearchPath(rel)
	table := rel.lookup(rv.Schemaname, rv.Relname, sess.searchPath)
	if table == nil {
		t.Fatalf("no table %s.%s", rv.Schemaname, rv.Relname)
	}
	alias := ""
	if rv.Alias != nil {
		alias = rv.Alias.Aliasname
	}
	ms, err := translateSelect(sel, rel, sess, &params{}, table, alias)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return ms.query
}

// caseSQL writes a metric query as SQL over the table of its first metric's model: own
// dimensions qualified by the table, related ones as model.dimension, metrics bare or in
// MEASURE(), filters and the time range in WHERE, and ordering by position.
func caseSQL(q semantic.MetricQuery, measure bool) string {
	cat := fixture.svc.Catalog()
	m := cat.Metric(q.Metrics[0])
	model := m.MeasureModels()[0]
	col := func(dim string) string {
		mod, name, _ := strings.Cut(dim, ".")
		if mod == model.Name {
			return model.Name + "." + name
		}
		return dim
	}
	var sel, group []string
	pos := map[string]int{}
	for _, d := range q.Dimensions {
		sel = append(sel, col(d))
		pos[d] = len(sel)
		group = append(group, strconv.Itoa(len(sel)))
	}
	if td := q.TimeDimension; td != nil {
		sel = append(sel, fmt.Sprintf("date_trunc('%s', %s) AS t", td.Granularity, col(td.Dimension)))
		pos[td.Dimension] = len(sel)
		pos[td.Dimension+"."+td.Granularity] = len(sel)
		group = append(group, strconv.Itoa(len(sel)))
	}
	for _, name := range q.Metrics {
		if measure {
			sel = append(sel, "MEASURE("+name+")")
		} else {
			sel = append(sel, name)
		}
		pos[name] = len(sel)
	}
	var where []string
	for _, f := range q.Filters {
		vals := make([]string, len(f.Values))
		for i, v := range f.Values {
			vals[i] = quoteLiteral(v)
		}
		c := col(f.Dimension)
		switch f.Op {
		case semantic.Equals:
			where = append(where, c+" = "+vals[0])
		case semantic.NotEquals:
			where = append(where, c+" <> "+vals[0])
		case semantic.InList:
			where = append(where, c+" IN ("+strings.Join(vals, ", ")+")")
		case semantic.NotInList:
			where = append(where, c+" NOT IN ("+strings.Join(vals, ", ")+")")
		case semantic.Gt, semantic.Gte, semantic.Lt, semantic.Lte:
			op := map[semantic.FilterOp]string{semantic.Gt: ">", semantic.Gte: ">=", semantic.Lt: "<", semantic.Lte: "<="}[f.Op]
			where = append(where, c+" "+op+" "+vals[0])
		case semantic.Between:
			where = append(where, c+" BETWEEN "+vals[0]+" AND "+vals[1])
		case semantic.IsNullOp:
			where = append(where, c+" IS NULL")
		case semantic.IsNotNullOp:
			where = append(where, c+" IS NOT NULL")
		case semantic.ContainsOp:
			where = append(where, c+" ILIKE "+quoteLiteral("%"+f.Values[0]+"%"))
		case semantic.NotContains:
			where = append(where, c+" NOT ILIKE "+quoteLiteral("%"+f.Values[0]+"%"))
		}
	}
	if tr := q.TimeRange; tr != nil {
		dim := tr.Dimension
		if dim == "" {
			dim = q.TimeDimension.Dimension
		}
		if tr.From != "" {
			where = append(where, col(dim)+" >= "+quoteLiteral(tr.From))
		}
		if tr.To != "" {
			where = append(where, col(dim)+" < "+quoteLiteral(tr.To))
		}
	}
	schema := m.Domain
	sql := "SELECT " + strings.Join(sel, ", ") + " FROM " + schema + "." + model.Name
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	if len(group) > 0 {
		sql += " GROUP BY " + strings.Join(group, ", ")
	}
	var order []string
	for _, o := range q.OrderBy {
		s := strconv.Itoa(pos[o.Field])
		if o.Desc {
			s += " DESC"
		}
		order = append(order, s)
	}
	if len(order) > 0 {
		sql += " ORDER BY " + strings.Join(order, ", ")
	}
	if q.Limit != nil {
		sql += fmt.Sprintf(" LIMIT %d", *q.Limit)
	}
	if q.Offset > 0 {
		sql += fmt.Sprintf(" OFFSET %d", q.Offset)
	}
	return sql
}

// TestOracleThroughSQL asks every oracle case as SQL through the SQL API, with pgx, and
// compares the rows with PostgreSQL's answer to the case's plain SQL over the same data. It
// also checks that the SQL translates to the case's own metric query.
func TestOracleThroughSQL(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Connect(t)
	schema := pgtest.LoadDemo(t, pool, fixture.ds)
	addr := testServer(t, Options{})
	conn := connect(t, addr, "demo", "demo")
	for i, c := range oracletest.Cases(t) {
		t.Run(c.Name, func(t *testing.T) {
			q := c.Query.MetricQuery()
			if len(q.Compare) > 0 || q.TimeDimension != nil && q.TimeDimension.FillGaps || q.Calendar != "" {
				t.Skip("the SQL API has no form for comparisons, filled gaps or calendars yet")
			}
			sql := caseSQL(q, i%2 == 1)
			checkSameQuery(t, sql, q)
			tz := q.Timezone
			if tz == "" {
				tz = "UTC"
			}
			if _, err := conn.Exec(ctx, "SET TIME ZONE "+quoteLiteral(tz)); err != nil {
				t.Fatal(err)
			}
			loc, _ := time.LoadLocation(tz)
			got := sqlRows(t, conn, sql, loc)
			want := oracletest.SQLRows(t, pool, schema, c.SQL)
			oracletest.Compare(t, got, want, c.Query.Ordered())
			if t.Failed() {
				t.Logf("SQL: %s", sql)
			}
		})
	}
}

// checkSameQuery checks that the SQL translates to the case's metric query. A time range the
// case writes as filters >= and < on the time dimension comes back as the query's time range,
// which means the same.
func checkSameQuery(t *testing.T, sql string, want semantic.MetricQuery) {
	t.Helper()
	got := sqlToQuery(t, sql)
	got.Timezone = want.Timezone
	if want.TimeRange != nil && want.TimeRange.Dimension == "" {
		w := *want.TimeRange
		w.Dimension = want.TimeDimension.Dimension
		want.TimeRange = &w
	}
	if want.TimeRange == nil && got.TimeRange != nil {
		// The case filtered with >= (or <): the SQL's range says the same.
		var filters []semantic.QueryFilter
		for _, f := range want.Filters {
			if f.Dimension == got.TimeRange.Dimension && (f.Op == semantic.Gte || f.Op == semantic.Lt) {
				continue
			}
			filters = append(filters, f)
		}
		want.Filters = filters
		got.TimeRange = nil
	}
	for i, o := range want.OrderBy {
		if td := want.TimeDimension; td != nil && o.Field == td.Dimension {
			want.OrderBy[i].Field = td.Dimension + "." + td.Granularity // the same column
		}
	}
	if g, w := fmt.Sprintf("%+v", flatten(got)), fmt.Sprintf("%+v", flatten(want)); g != w {
		t.Errorf("%s\ntranslates to %s\n        want %s", sql, g, w)
	}
}

func flatten(q semantic.MetricQuery) string {
	s := fmt.Sprintf("metrics=%v dims=%v filters=%v order=%v offset=%d tz=%s", q.Metrics, q.Dimensions, q.Filters, q.OrderBy, q.Offset, q.Timezone)
	if q.TimeDimension != nil {
		s += fmt.Sprintf(" time=%+v", *q.TimeDimension)
	}
	if q.TimeRange != nil {
		s += fmt.Sprintf(" range=%+v", *q.TimeRange)
	}
	if q.Limit != nil {
		s += fmt.Sprintf(" limit=%d", *q.Limit)
	}
	return s
}

// sqlRows runs a query and returns its rows as the oracle compares them; times are read as
// wall-clock times in loc, the session's zone.
func sqlRows(t *testing.T, conn *pgx.Conn, sql string, loc *time.Location) [][]oracletest.Value {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	var out [][]oracletest.Value
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		row := make([]oracletest.Value, len(vals))
		for i, v := range vals {
			row[i] = oracleValue(t, v, loc)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func oracleValue(t *testing.T, v any, loc *time.Location) oracletest.Value {
	switch x := v.(type) {
	case nil:
		return oracletest.Value{Null: true}
	case int64:
		return oracletest.Value{Exact: new(big.Rat).SetInt64(x)}
	case float64:
		return oracletest.Value{Float: &x}
	case pgtype.Numeric:
		r, ok := new(big.Rat).SetString(numericText(x))
		if !ok {
			t.Fatalf("numeric %v", x)
		}
		return oracletest.Value{Exact: r}
	case string:
		return oracletest.Value{Text: x}
	case bool:
		return oracletest.Value{Text: strconv.FormatBool(x)}
	case time.Time:
		if x.Location() == time.UTC && x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 {
			return oracletest.Value{Text: x.Format("2006-01-02 15:04:05.999999")} // a date
		}
		return oracletest.Value{Text: x.In(loc).Format("2006-01-02 15:04:05.999999")}
	}
	t.Fatalf("cannot compare %v (%T)", v, v)
	return oracletest.Value{}
}
