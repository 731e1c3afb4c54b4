package pgwire

import (
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// nodeLocation returns the byte offset of a node in the statement, or -1.
func nodeLocation(n *pg.Node) int32 {
	if n == nil {
		return -1
	}
	switch x := n.Node.(type) {
	case *pg.Node_ColumnRef:
		return x.ColumnRef.Location
	case *pg.Node_AConst:
		return x.AConst.Location
	case *pg.Node_FuncCall:
		return x.FuncCall.Location
	case *pg.Node_AExpr:
		return x.AExpr.Location
	case *pg.Node_TypeCast:
		return x.TypeCast.Location
	case *pg.Node_ParamRef:
		return x.ParamRef.Location
	case *pg.Node_BoolExpr:
		return x.BoolExpr.Location
	case *pg.Node_NullTest:
		return x.NullTest.Location
	case *pg.Node_SubLink:
		return x.SubLink.Location
	case *pg.Node_RangeVar:
		return x.RangeVar.Location
	case *pg.Node_ResTarget:
		return x.ResTarget.Location
	case *pg.Node_CaseExpr:
		return x.CaseExpr.Location
	case *pg.Node_SortBy:
		return x.SortBy.Location
	}
	return -1
}

// stringList returns the strings of a list of String nodes, such as a function's or a type's
// qualified name; a star becomes "*".
func stringList(nodes []*pg.Node) []string {
	out := make([]string, 0, len(nodes))
	for _, n := range nodes {
		switch x := n.Node.(type) {
		case *pg.Node_String_:
			out = append(out, x.String_.Sval)
		case *pg.Node_AStar:
			out = append(out, "*")
		}
	}
	return out
}

// funcName returns a function call's name without a pg_catalog qualifier, lower case.
func funcName(f *pg.FuncCall) string {
	parts := stringList(f.Funcname)
	if len(parts) == 0 {
		return ""
	}
	return strings.ToLower(parts[len(parts)-1])
}

// typeName returns a type's name without a pg_catalog qualifier, with [] for arrays.
func typeName(t *pg.TypeName) string {
	parts := stringList(t.Names)
	if len(parts) == 0 {
		return ""
	}
	name := strings.ToLower(parts[len(parts)-1])
	if len(t.ArrayBounds) > 0 {
		name += "[]"
	}
	return name
}

// operatorName returns an operator's symbol, without OPERATOR(pg_catalog.…).
func operatorName(names []*pg.Node) string {
	parts := stringList(names)
	if len(parts) == 0 {
		return ""
	}
	return parts[len(parts)-1]
}

// constText returns a constant's value as text and whether it is one; a NULL constant is
// reported with isNull.
func constText(c *pg.A_Const) (text string, isNull bool) {
	if c.Isnull {
		return "", true
	}
	switch v := c.Val.(type) {
	case *pg.A_Const_Ival:
		return strconv.FormatInt(int64(v.Ival.Ival), 10), false
	case *pg.A_Const_Fval:
		return v.Fval.Fval, false
	case *pg.A_Const_Sval:
		return v.Sval.Sval, false
	case *pg.A_Const_Boolval:
		return strconv.FormatBool(v.Boolval.Boolval), false
	case *pg.A_Const_Bsval:
		return v.Bsval.Bsval, false
	}
	return "", true
}

// intConst returns the value of an integer constant node.
func intConst(n *pg.Node) (int64, bool) {
	c := n.GetAConst()
	if c == nil {
		return 0, false
	}
	if v, ok := c.Val.(*pg.A_Const_Ival); ok {
		return int64(v.Ival.Ival), true
	}
	if v, ok := c.Val.(*pg.A_Const_Fval); ok {
		i, err := strconv.ParseInt(v.Fval.Fval, 10, 64)
		return i, err == nil
	}
	return 0, false
}

// quoteIdent quotes an identifier when PostgreSQL would need it quoted.
func quoteIdent(s string) string {
	plain := s != ""
	for i, c := range s {
		if !(c >= 'a' && c <= 'z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// quoteLiteral quotes a string constant.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// isSetOp reports whether a SELECT is a UNION, INTERSECT or EXCEPT.
func isSetOp(sel *pg.SelectStmt) bool {
	return sel.Op == pg.SetOperation_SETOP_UNION || sel.Op == pg.SetOperation_SETOP_INTERSECT || sel.Op == pg.SetOperation_SETOP_EXCEPT
}
