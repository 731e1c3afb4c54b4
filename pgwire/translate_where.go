package pgwire

import (
	"fmt"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/koujing/koujing/engine/plan"
	"github.com/koujing/koujing/semantic"
)

func mustTimeUnit(s string) plan.TimeUnit {
	u, err := plan.ParseTimeUnit(s)
	if err != nil {
		return plan.TimeUnit(-1)
	}
	return u
}

func granularities(d *semantic.Dimension) string {
	var out []string
	for _, g := range d.Granularities {
		out = append(out, quoteLiteral(g.String()))
	}
	return strings.Join(out, ", ")
}

// where turns a WHERE clause — conditions on dimensions joined by AND — into the query's
// filters, and range conditions on a time dimension into its time range.
func (t *translator) where(n *pg.Node) error {
	switch x := n.Node.(type) {
	case *pg.Node_BoolExpr:
		switch x.BoolExpr.Boolop {
		case pg.BoolExprType_AND_EXPR:
			for _, arg := range x.BoolExpr.Args {
				if err := t.where(arg); err != nil {
					return err
				}
			}
			return nil
		case pg.BoolExprType_OR_EXPR:
			return t.orOfEquals(x.BoolExpr)
		case pg.BoolExprType_NOT_EXPR:
			return t.not(x.BoolExpr.Args[0])
		}
	case *pg.Node_AExpr:
		return t.comparison(x.AExpr, false)
	case *pg.Node_NullTest:
		d, err := t.dimension(x.NullTest.Arg)
		if err != nil {
			return err
		}
		op := semantic.IsNullOp
		if x.NullTest.Nulltesttype == pg.NullTestType_IS_NOT_NULL {
			op = semantic.IsNotNullOp
		}
		t.filter(d, op)
		return nil
	case *pg.Node_BooleanTest:
		d, err := t.dimension(x.BooleanTest.Arg)
		if err != nil {
			return err
		}
		switch x.BooleanTest.Booltesttype {
		case pg.BoolTestType_IS_TRUE:
			t.filter(d, semantic.Equals, "true")
		case pg.BoolTestType_IS_FALSE:
			t.filter(d, semantic.Equals, "false")
		default:
			return unsupported("IS [NOT] UNKNOWN and IS NOT TRUE/FALSE", "write = true, = false or IS NULL").at(x.BooleanTest.Location)
		}
		return nil
	case *pg.Node_ColumnRef:
		d, err := t.dimension(n)
		if err != nil {
			return err
		}
		t.filter(d, semantic.Equals, "true")
		return nil
	case *pg.Node_AConst:
		if v, ok := x.AConst.Val.(*pg.A_Const_Boolval); ok && v.Boolval.Boolval {
			return nil // WHERE true, as tools write to append conditions
		}
	case *pg.Node_SubLink:
		return unsupported("subqueries in WHERE", "filter dimensions by values: region IN ('east', 'west')").at(x.SubLink.Location)
	}
	return unsupported("this condition", "filter dimensions with =, <>, IN, NOT IN, <, <=, >, >=, BETWEEN, IS [NOT] NULL, LIKE '%text%' or ILIKE, joined by AND").at(nodeLocation(n))
}

// not handles NOT over a condition that has a negative form.
func (t *translator) not(n *pg.Node) error {
	if e := n.GetAExpr(); e != nil {
		return t.comparison(e, true)
	}
	if nt := n.GetNullTest(); nt != nil {
		d, err := t.dimension(nt.Arg)
		if err != nil {
			return err
		}
		op := semantic.IsNotNullOp
		if nt.Nulltesttype == pg.NullTestType_IS_NOT_NULL {
			op = semantic.IsNullOp
		}
		t.filter(d, op)
		return nil
	}
	if n.GetColumnRef() != nil {
		d, err := t.dimension(n)
		if err != nil {
			return err
		}
		t.filter(d, semantic.Equals, "false")
		return nil
	}
	return unsupported("NOT over this condition", "write the negative operator: <>, NOT IN, NOT LIKE, IS NOT NULL").at(nodeLocation(n))
}

// orOfEquals turns a = 1 OR a = 2 into a IN (1, 2); OR across dimensions has no metric-query form.
func (t *translator) orOfEquals(b *pg.BoolExpr) error {
	var dim *semantic.Dimension
	var values []string
	for _, arg := range b.Args {
		e := arg.GetAExpr()
		if e == nil || !(e.Kind == pg.A_Expr_Kind_AEXPR_OP && operatorName(e.Name) == "=" || e.Kind == pg.A_Expr_Kind_AEXPR_IN && operatorName(e.Name) == "=") {
			return unsupported("OR of these conditions", "OR works between values of one dimension (region = 'east' OR region = 'west', or IN); ask separate queries for other alternatives").at(b.Location)
		}
		d, vals, err := t.operands(e)
		if err != nil {
			return err
		}
		if dim != nil && d != dim {
			return unsupported("OR across dimensions", "OR works between values of one dimension (region = 'east' OR region = 'west', or IN); ask separate queries for other alternatives").at(b.Location)
		}
		dim = d
		values = append(values, vals...)
	}
	t.filter(dim, semantic.InList, values...)
	return nil
}

// operands returns the dimension of a comparison and the values it is compared with; the
// dimension may stand on either side of a binary operator.
func (t *translator) operands(e *pg.A_Expr) (*semantic.Dimension, []string, error) {
	left, right := e.Lexpr, e.Rexpr
	if e.Kind == pg.A_Expr_Kind_AEXPR_OP && left != nil && left.GetColumnRef() == nil && right != nil && right.GetColumnRef() != nil {
		left, right = right, left
	}
	d, err := t.dimension(left)
	if err != nil {
		return nil, nil, err
	}
	oid, _ := pgTypeOf(d.Expr.DataType())
	var nodes []*pg.Node
	if l := right.GetList(); l != nil {
		nodes = l.Items
	} else {
		nodes = []*pg.Node{right}
	}
	values := make([]string, 0, len(nodes))
	for _, n := range nodes {
		v, isNull, err := t.value(n, oid)
		if err != nil {
			return nil, nil, err
		}
		if isNull {
			return nil, nil, errorf(codeFeatureNotSupported, "a comparison with NULL is never true").at(nodeLocation(n)).
				withHint("write %s IS NULL or IS NOT NULL", d.Name)
		}
		if d.Type == semantic.DimensionTime {
			v = normalizeTime(v)
		}
		values = append(values, v)
	}
	return d, values, nil
}

// flipped gives the operator with its operands swapped: 5 < x is x > 5.
var flipped = map[string]string{"<": ">", ">": "<", "<=": ">=", ">=": "<=", "=": "=", "<>": "<>", "!=": "!="}

// comparison translates =, <>, <, <=, >, >=, IN, BETWEEN, LIKE and ILIKE, negated by NOT when
// negate is set.
func (t *translator) comparison(e *pg.A_Expr, negate bool) error {
	op := operatorName(e.Name)
	switch e.Kind {
	case pg.A_Expr_Kind_AEXPR_OP:
		if e.Lexpr == nil {
			break
		}
		swapped := e.Lexpr.GetColumnRef() == nil && e.Rexpr.GetColumnRef() != nil
		d, values, err := t.operands(e)
		if err != nil {
			return err
		}
		if swapped {
			op = flipped[op]
		}
		if negate {
			op = map[string]string{"=": "<>", "<>": "=", "!=": "=", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}[op]
		}
		switch op {
		case "=":
			t.filter(d, semantic.Equals, values...)
		case "<>", "!=":
			t.filter(d, semantic.NotEquals, values...)
		case ">=":
			t.rangeOrFilter(d, semantic.Gte, values[0])
		case "<":
			t.rangeOrFilter(d, semantic.Lt, values[0])
		case ">":
			t.filter(d, semantic.Gt, values...)
		case "<=":
			t.filter(d, semantic.Lte, values...)
		case "~~", "~~*", "!~~", "!~~*":
			return t.like(e, d, values[0], strings.HasPrefix(op, "!") != negate)
		default:
			return unsupported("operator "+op, "compare dimensions with =, <>, <, <=, >, >=").at(e.Location)
		}
		return nil
	case pg.A_Expr_Kind_AEXPR_IN:
		d, values, err := t.operands(e)
		if err != nil {
			return err
		}
		if (op == "<>") != negate {
			t.filter(d, semantic.NotInList, values...)
		} else {
			t.filter(d, semantic.InList, values...)
		}
		return nil
	case pg.A_Expr_Kind_AEXPR_BETWEEN:
		if negate {
			break
		}
		d, values, err := t.operands(e)
		if err != nil {
			return err
		}
		t.filter(d, semantic.Between, values...)
		return nil
	case pg.A_Expr_Kind_AEXPR_LIKE, pg.A_Expr_Kind_AEXPR_ILIKE:
		d, values, err := t.operands(e)
		if err != nil {
			return err
		}
		return t.like(e, d, values[0], strings.HasPrefix(op, "!") != negate)
	}
	return unsupported("this condition", "filter dimensions with =, <>, IN, NOT IN, <, <=, >, >=, BETWEEN, IS [NOT] NULL, LIKE '%text%' or ILIKE, joined by AND").at(e.Location)
}

// like translates LIKE '%text%' and ILIKE '%text%' into contains, which ignores case.
func (t *translator) like(e *pg.A_Expr, d *semantic.Dimension, pattern string, negate bool) error {
	inner := strings.TrimSuffix(strings.TrimPrefix(pattern, "%"), "%")
	if len(pattern) < 2 || !strings.HasPrefix(pattern, "%") || !strings.HasSuffix(pattern, "%") || strings.ContainsAny(inner, "%_\\") {
		return unsupported("LIKE patterns other than '%text%'", "write LIKE '%text%' (contains, ignoring case), or = for an exact value").at(e.Location)
	}
	if negate {
		t.filter(d, semantic.NotContains, inner)
	} else {
		t.filter(d, semantic.ContainsOp, inner)
	}
	return nil
}

// rangeOrFilter adds >= and < on the grouped time dimension (or the first time dimension
// constrained) to the query's half-open time range, and other comparisons as filters.
func (t *translator) rangeOrFilter(d *semantic.Dimension, op semantic.FilterOp, value string) {
	if d.Type == semantic.DimensionTime && t.rangeDimension(d) {
		if t.timeRange == nil {
			t.timeRange = &semantic.TimeRange{Dimension: d.QualifiedName()}
		}
		if op == semantic.Gte && t.timeRange.From == "" {
			t.timeRange.From = value
			return
		}
		if op == semantic.Lt && t.timeRange.To == "" {
			t.timeRange.To = value
			return
		}
	}
	t.filter(d, op, value)
}

// rangeDimension reports whether conditions on d go into the time range: d is the grouped time
// dimension, or no time dimension is grouped and no other has a range yet.
func (t *translator) rangeDimension(d *semantic.Dimension) bool {
	if t.timeRange != nil {
		return t.timeRange.Dimension == d.QualifiedName()
	}
	if td := t.q.TimeDimension; td != nil {
		return td.Dimension == d.QualifiedName()
	}
	return true
}

func (t *translator) filter(d *semantic.Dimension, op semantic.FilterOp, values ...string) {
	t.q.Filters = append(t.q.Filters, semantic.QueryFilter{Dimension: d.QualifiedName(), Op: op, Values: values})
}

// dimension resolves a condition's column to a dimension.
func (t *translator) dimension(n *pg.Node) (*semantic.Dimension, error) {
	if n == nil {
		return nil, unsupported("this condition", "compare a dimension with values")
	}
	if tc := n.GetTypeCast(); tc != nil && tc.Arg.GetColumnRef() != nil {
		n = tc.Arg // region::text = 'east': the cast changes nothing the semantic layer compares
	}
	if cc := n.GetCollateClause(); cc != nil {
		n = cc.Arg
	}
	ref := n.GetColumnRef()
	if ref == nil {
		return nil, unsupported("conditions on expressions", "compare a dimension column itself with values").at(nodeLocation(n))
	}
	c, err := t.column(ref)
	if err != nil {
		return nil, err
	}
	if c.metric != nil {
		return nil, unsupported(fmt.Sprintf("a condition on metric %s", c.name), "filter dimensions in WHERE; filter metric values in your tool after the query").at(ref.Location)
	}
	return c.dim, nil
}

// value reads a constant or a bound parameter as text; typeOID is the type a parameter's value
// is expected to have, which Describe reports to the client.
func (t *translator) value(n *pg.Node, typeOID uint32) (string, bool, error) {
	switch x := n.Node.(type) {
	case *pg.Node_AConst:
		text, isNull := constText(x.AConst)
		return text, isNull, nil
	case *pg.Node_TypeCast:
		return t.value(x.TypeCast.Arg, typeOID)
	case *pg.Node_ParamRef:
		num := int(x.ParamRef.Number)
		t.params.need(num, typeOID)
		if t.params.value == nil {
			return "", false, nil
		}
		return t.params.value(num)
	case *pg.Node_AExpr:
		if e := x.AExpr; e.Lexpr == nil && operatorName(e.Name) == "-" {
			v, isNull, err := t.value(e.Rexpr, typeOID)
			if err != nil || isNull {
				return v, isNull, err
			}
			return "-" + v, false, nil
		}
	}
	return "", false, unsupported("this value", "compare with constants or parameters ($1)").at(nodeLocation(n))
}
