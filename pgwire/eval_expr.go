package pgwire

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// truth evaluates a condition: NULL is not true.
func (ev *evaluator) truth(n *pg.Node, e *env) (bool, error) {
	v, err := ev.eval(n, e)
	if err != nil {
		return false, err
	}
	b, _ := toBool(v)
	return b, nil
}

// columnAt finds a column reference in the scope chain: how many scopes out, and its index in
// that scope's row.
func (ev *evaluator) columnAt(ref *pg.ColumnRef, sc *scope) (depth, index int, col colDef, err error) {
	parts := stringList(ref.Fields)
	name := parts[len(parts)-1]
	var qualifier, schema string
	if len(parts) >= 2 {
		qualifier = parts[len(parts)-2]
	}
	if len(parts) >= 3 {
		schema = parts[len(parts)-3]
	}
	for d, s := 0, sc; s != nil; d, s = d+1, s.outer {
		for _, it := range s.items {
			if qualifier != "" && it.alias != qualifier {
				continue
			}
			if schema != "" && it.schema != "" && it.schema != schema {
				continue
			}
			for i, c := range it.cols {
				if c.name == name {
					return d, it.offset + i, c, nil
				}
			}
		}
	}
	return 0, 0, colDef{}, errorf(codeUndefinedColumn, "column %s does not exist", quoteIdent(strings.Join(parts, "."))).at(ref.Location)
}

// eval evaluates an expression in an environment.
func (ev *evaluator) eval(n *pg.Node, e *env) (any, error) {
	if n == nil {
		return nil, nil
	}
	switch x := n.Node.(type) {
	case *pg.Node_ColumnRef:
		d, i, _, err := ev.columnAt(x.ColumnRef, e.scope())
		if err != nil {
			return nil, err
		}
		for ; d > 0; d-- {
			e = e.outer
		}
		if i >= len(e.row) {
			return nil, nil
		}
		return e.row[i], nil
	case *pg.Node_AConst:
		return constValue(x.AConst), nil
	case *pg.Node_ParamRef:
		num := int(x.ParamRef.Number)
		ev.params.need(num, oidText)
		if ev.params.value == nil {
			return nil, nil
		}
		text, isNull, err := ev.params.value(num)
		if err != nil || isNull {
			return nil, err
		}
		return text, nil
	case *pg.Node_TypeCast:
		v, err := ev.eval(x.TypeCast.Arg, e)
		if err != nil {
			return nil, err
		}
		from, _ := ev.typeOf(x.TypeCast.Arg, e.scope())
		to := ev.castType(x.TypeCast.TypeName)
		return ev.cast(v, from, to)
	case *pg.Node_CollateClause:
		return ev.eval(x.CollateClause.Arg, e)
	case *pg.Node_AExpr:
		return ev.evalAExpr(x.AExpr, e)
	case *pg.Node_BoolExpr:
		return ev.evalBool(x.BoolExpr, e)
	case *pg.Node_NullTest:
		v, err := ev.eval(x.NullTest.Arg, e)
		if err != nil {
			return nil, err
		}
		return (v == nil) == (x.NullTest.Nulltesttype == pg.NullTestType_IS_NULL), nil
	case *pg.Node_BooleanTest:
		v, err := ev.eval(x.BooleanTest.Arg, e)
		if err != nil {
			return nil, err
		}
		b, isBool := v.(bool)
		switch x.BooleanTest.Booltesttype {
		case pg.BoolTestType_IS_TRUE:
			return isBool && b, nil
		case pg.BoolTestType_IS_NOT_TRUE:
			return !(isBool && b), nil
		case pg.BoolTestType_IS_FALSE:
			return isBool && !b, nil
		case pg.BoolTestType_IS_NOT_FALSE:
			return !(isBool && !b), nil
		case pg.BoolTestType_IS_UNKNOWN:
			return v == nil, nil
		}
		return v != nil, nil
	case *pg.Node_CaseExpr:
		return ev.evalCase(x.CaseExpr, e)
	case *pg.Node_CoalesceExpr:
		for _, a := range x.CoalesceExpr.Args {
			v, err := ev.eval(a, e)
			if err != nil || v != nil {
				return v, err
			}
		}
		return nil, nil
	case *pg.Node_MinMaxExpr:
		var best any
		for _, a := range x.MinMaxExpr.Args {
			v, err := ev.eval(a, e)
			if err != nil {
				return nil, err
			}
			if v == nil {
				continue
			}
			c, _ := compareValues(v, best)
			if best == nil || (c > 0) == (x.MinMaxExpr.Op == pg.MinMaxOp_IS_GREATEST) && c != 0 {
				best = v
			}
		}
		return best, nil
	case *pg.Node_FuncCall:
		return ev.evalFunc(x.FuncCall, e)
	case *pg.Node_SqlvalueFunction:
		return ev.sqlValueFunction(x.SqlvalueFunction.Op), nil
	case *pg.Node_SubLink:
		return ev.evalSubLink(x.SubLink, e)
	case *pg.Node_AArrayExpr:
		out := make([]any, len(x.AArrayExpr.Elements))
		for i, el := range x.AArrayExpr.Elements {
			v, err := ev.eval(el, e)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case *pg.Node_AIndirection:
		v, err := ev.eval(x.AIndirection.Arg, e)
		if err != nil || v == nil {
			return nil, err
		}
		for _, ind := range x.AIndirection.Indirection {
			idx := ind.GetAIndices()
			if idx == nil || idx.IsSlice {
				return nil, unsupported("this subscript", "index arrays with one integer, as a[1]")
			}
			iv, err := ev.eval(idx.Uidx, e)
			if err != nil {
				return nil, err
			}
			arr, _ := v.([]any)
			i, ok := toInt(iv)
			if !ok || i < 1 || int(i) > len(arr) {
				return nil, nil
			}
			v = arr[i-1]
		}
		return v, nil
	case *pg.Node_RowExpr:
		return nil, unsupported("row constructors in catalog queries", "compare columns one by one")
	}
	return nil, unsupported(fmt.Sprintf("expression %T in catalog queries", n.Node), "simplify the query")
}

func constValue(c *pg.A_Const) any {
	if c.Isnull {
		return nil
	}
	switch v := c.Val.(type) {
	case *pg.A_Const_Ival:
		return int64(v.Ival.Ival)
	case *pg.A_Const_Fval:
		if i, err := strconv.ParseInt(v.Fval.Fval, 10, 64); err == nil {
			return i
		}
		f, _ := strconv.ParseFloat(v.Fval.Fval, 64)
		return f
	case *pg.A_Const_Sval:
		return v.Sval.Sval
	case *pg.A_Const_Boolval:
		return v.Boolval.Boolval
	case *pg.A_Const_Bsval:
		return v.Bsval.Bsval
	}
	return nil
}

func (ev *evaluator) evalBool(b *pg.BoolExpr, e *env) (any, error) {
	switch b.Boolop {
	case pg.BoolExprType_NOT_EXPR:
		v, err := ev.eval(b.Args[0], e)
		if err != nil || v == nil {
			return nil, err
		}
		t, _ := toBool(v)
		return !t, nil
	}
	// AND stops at the first false, OR at the first true; otherwise a NULL makes the result NULL.
	and := b.Boolop == pg.BoolExprType_AND_EXPR
	sawNull := false
	for _, a := range b.Args {
		v, err := ev.eval(a, e)
		if err != nil {
			return nil, err
		}
		if v == nil {
			sawNull = true
			continue
		}
		if t, _ := toBool(v); t != and {
			return t, nil
		}
	}
	if sawNull {
		return nil, nil
	}
	return and, nil
}

func (ev *evaluator) evalCase(c *pg.CaseExpr, e *env) (any, error) {
	var subject any
	if c.Arg != nil {
		var err error
		if subject, err = ev.eval(c.Arg, e); err != nil {
			return nil, err
		}
	}
	for _, w := range c.Args {
		cw := w.GetCaseWhen()
		var ok bool
		if c.Arg != nil {
			v, err := ev.eval(cw.Expr, e)
			if err != nil {
				return nil, err
			}
			if subject != nil && v != nil {
				cmp, _ := compareValues(subject, v)
				ok = cmp == 0
			}
		} else {
			var err error
			if ok, err = ev.truth(cw.Expr, e); err != nil {
				return nil, err
			}
		}
		if ok {
			return ev.eval(cw.Result, e)
		}
	}
	return ev.eval(c.Defresult, e)
}

func (ev *evaluator) evalSubLink(s *pg.SubLink, e *env) (any, error) {
	res, err := ev.query(s.Subselect.GetSelectStmt(), e)
	if err != nil {
		return nil, err
	}
	switch s.SubLinkType {
	case pg.SubLinkType_EXISTS_SUBLINK:
		return len(res.rows) > 0, nil
	case pg.SubLinkType_EXPR_SUBLINK:
		if len(res.rows) == 0 {
			return nil, nil
		}
		if len(res.rows) > 1 {
			return nil, errorf(codeCardinality, "more than one row returned by a subquery used as an expression")
		}
		return res.rows[0][0], nil
	case pg.SubLinkType_ARRAY_SUBLINK:
		out := make([]any, len(res.rows))
		for i, r := range res.rows {
			out[i] = r[0]
		}
		return out, nil
	case pg.SubLinkType_ANY_SUBLINK, pg.SubLinkType_ALL_SUBLINK:
		left, err := ev.eval(s.Testexpr, e)
		if err != nil {
			return nil, err
		}
		op := "="
		if len(s.OperName) > 0 {
			op = operatorName(s.OperName)
		}
		list := make([]any, len(res.rows))
		for i, r := range res.rows {
			list[i] = r[0]
		}
		return quantified(left, op, list, s.SubLinkType == pg.SubLinkType_ALL_SUBLINK)
	}
	return nil, unsupported("this subquery", "use EXISTS, IN, ANY or a scalar subquery")
}

// quantified evaluates left op ANY (list) or, with all, left op ALL (list), with SQL's NULLs.
func quantified(left any, op string, list []any, all bool) (any, error) {
	if left == nil {
		if len(list) == 0 {
			return all, nil
		}
		return nil, nil
	}
	sawNull := false
	for _, v := range list {
		r, err := binaryOp(op, left, v)
		if err != nil {
			return nil, err
		}
		if r == nil {
			sawNull = true
			continue
		}
		if b, _ := toBool(r); b != all {
			return !all, nil
		}
	}
	if sawNull {
		return nil, nil
	}
	return all, nil
}

// evalSides evaluates both operands of a binary operator, left first.
func (ev *evaluator) evalSides(a *pg.A_Expr, e *env) (left, right any, err error) {
	if left, err = ev.eval(a.Lexpr, e); err != nil {
		return nil, nil, err
	}
	right, err = ev.eval(a.Rexpr, e)
	return left, right, err
}

func (ev *evaluator) evalAExpr(a *pg.A_Expr, e *env) (any, error) {
	op := operatorName(a.Name)
	switch a.Kind {
	case pg.A_Expr_Kind_AEXPR_OP:
		right, err := ev.eval(a.Rexpr, e)
		if err != nil {
			return nil, err
		}
		if a.Lexpr == nil {
			return unaryOp(op, right)
		}
		left, err := ev.eval(a.Lexpr, e)
		if err != nil {
			return nil, err
		}
		return binaryOp(op, left, right)
	case pg.A_Expr_Kind_AEXPR_OP_ANY, pg.A_Expr_Kind_AEXPR_OP_ALL:
		left, right, err := ev.evalSides(a, e)
		if err != nil {
			return nil, err
		}
		list, err := asArray(right)
		if err != nil || right == nil {
			return nil, err
		}
		return quantified(left, op, list, a.Kind == pg.A_Expr_Kind_AEXPR_OP_ALL)
	case pg.A_Expr_Kind_AEXPR_IN:
		left, err := ev.eval(a.Lexpr, e)
		if err != nil {
			return nil, err
		}
		var list []any
		for _, n := range a.Rexpr.GetList().GetItems() {
			v, err := ev.eval(n, e)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		r, err := quantified(left, "=", list, false)
		if err != nil || r == nil || op == "=" {
			return r, err
		}
		return !r.(bool), nil
	case pg.A_Expr_Kind_AEXPR_LIKE, pg.A_Expr_Kind_AEXPR_ILIKE:
		left, right, err := ev.evalSides(a, e)
		if err != nil {
			return nil, err
		}
		return binaryOp(op, left, right)
	case pg.A_Expr_Kind_AEXPR_BETWEEN, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN:
		v, err := ev.eval(a.Lexpr, e)
		if err != nil {
			return nil, err
		}
		bounds := a.Rexpr.GetList().GetItems()
		lo, err := ev.eval(bounds[0], e)
		if err != nil {
			return nil, err
		}
		hi, err := ev.eval(bounds[1], e)
		if err != nil {
			return nil, err
		}
		if v == nil || lo == nil || hi == nil {
			return nil, nil
		}
		c1, _ := compareValues(v, lo)
		c2, _ := compareValues(v, hi)
		in := c1 >= 0 && c2 <= 0
		return in == (a.Kind == pg.A_Expr_Kind_AEXPR_BETWEEN), nil
	case pg.A_Expr_Kind_AEXPR_DISTINCT, pg.A_Expr_Kind_AEXPR_NOT_DISTINCT:
		left, right, err := ev.evalSides(a, e)
		if err != nil {
			return nil, err
		}
		same := left == nil && right == nil
		if left != nil && right != nil {
			c, _ := compareValues(left, right)
			same = c == 0
		}
		return same == (a.Kind == pg.A_Expr_Kind_AEXPR_NOT_DISTINCT), nil
	case pg.A_Expr_Kind_AEXPR_NULLIF:
		left, right, err := ev.evalSides(a, e)
		if err != nil {
			return nil, err
		}
		if left != nil && right != nil {
			if c, _ := compareValues(left, right); c == 0 {
				return nil, nil
			}
		}
		return left, nil
	}
	return nil, unsupported("this operator in catalog queries", "simplify the query").at(a.Location)
}

func unaryOp(op string, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch op {
	case "-":
		switch x := v.(type) {
		case int64:
			return -x, nil
		case float64:
			return -x, nil
		}
	case "+":
		return v, nil
	}
	return nil, errorf(codeUndefinedFunction, "operator does not exist: %s %T", op, v)
}

// binaryOp applies a binary operator with SQL's NULL semantics.
func binaryOp(op string, l, r any) (any, error) {
	if l == nil || r == nil {
		return nil, nil
	}
	switch op {
	case "=", "<>", "!=", "<", "<=", ">", ">=":
		c, ok := compareValues(l, r)
		if !ok {
			return nil, errorf(codeDatatypeMismatch, "cannot compare %v with %v", l, r)
		}
		switch op {
		case "=":
			return c == 0, nil
		case "<>", "!=":
			return c != 0, nil
		case "<":
			return c < 0, nil
		case "<=":
			return c <= 0, nil
		case ">":
			return c > 0, nil
		}
		return c >= 0, nil
	case "||":
		if la, ok := l.([]any); ok {
			if ra, ok := r.([]any); ok {
				return append(append([]any(nil), la...), ra...), nil
			}
			return append(append([]any(nil), la...), r), nil
		}
		return textOf(l) + textOf(r), nil
	case "~", "!~", "~*", "!~*":
		pattern := textOf(r)
		if strings.Contains(op, "*") {
			pattern = "(?i)" + pattern
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return nil, errorf("2201B", "invalid regular expression: %v", err)
		}
		return re.MatchString(textOf(l)) != strings.HasPrefix(op, "!"), nil
	case "~~", "!~~", "~~*", "!~~*":
		re, err := likeRegexp(textOf(r), strings.HasSuffix(op, "*"))
		if err != nil {
			return nil, err
		}
		return re.MatchString(textOf(l)) != strings.HasPrefix(op, "!"), nil
	case "+", "-", "*", "/", "%":
		return arithmetic(op, l, r)
	case "@>", "<@", "&&":
		la, _ := asArray(l)
		ra, _ := asArray(r)
		has := func(list []any, v any) bool {
			for _, x := range list {
				if c, _ := compareValues(x, v); x != nil && c == 0 {
					return true
				}
			}
			return false
		}
		switch op {
		case "@>":
			for _, v := range ra {
				if !has(la, v) {
					return false, nil
				}
			}
			return true, nil
		case "<@":
			for _, v := range la {
				if !has(ra, v) {
					return false, nil
				}
			}
			return true, nil
		}
		for _, v := range la {
			if has(ra, v) {
				return true, nil
			}
		}
		return false, nil
	}
	return nil, errorf(codeUndefinedFunction, "operator does not exist: %s", op)
}

// likeRegexp compiles a LIKE pattern: % any run, _ one character, \ escapes.
func likeRegexp(pattern string, fold bool) (*regexp.Regexp, error) {
	var b strings.Builder
	if fold {
		b.WriteString("(?i)")
	}
	b.WriteString("(?s)^")
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		case '\\':
			if i+1 < len(pattern) {
				i++
				b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

func arithmetic(op string, l, r any) (any, error) {
	li, lInt := l.(int64)
	ri, rInt := r.(int64)
	if s, ok := l.(string); ok {
		li, lInt = parseIntText(s)
	}
	if s, ok := r.(string); ok {
		ri, rInt = parseIntText(s)
	}
	if lInt && rInt {
		switch op {
		case "+":
			return li + ri, nil
		case "-":
			return li - ri, nil
		case "*":
			return li * ri, nil
		case "/", "%":
			if ri == 0 {
				return nil, errorf(codeDivisionByZero, "division by zero")
			}
			if op == "/" {
				return li / ri, nil
			}
			return li % ri, nil
		}
	}
	lf, ok1 := toFloat(l)
	rf, ok2 := toFloat(r)
	if !ok1 || !ok2 {
		return nil, errorf(codeUndefinedFunction, "operator does not exist: %T %s %T", l, op, r)
	}
	switch op {
	case "+":
		return lf + rf, nil
	case "-":
		return lf - rf, nil
	case "*":
		return lf * rf, nil
	case "/":
		if rf == 0 {
			return nil, errorf(codeDivisionByZero, "division by zero")
		}
		return lf / rf, nil
	}
	return math.Mod(lf, rf), nil
}

func parseIntText(s string) (int64, bool) {
	i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return i, err == nil
}

// compareValues orders two non-NULL values; an unknown-typed literal (a string) compared with a
// number or a boolean is read as one, as PostgreSQL reads 'x' by the other side's type.
func compareValues(a, b any) (int, bool) {
	if b == nil {
		return 1, true
	}
	switch x := a.(type) {
	case int64:
		switch y := b.(type) {
		case int64:
			return cmpOrdered(x, y), true
		case float64:
			return cmpOrdered(float64(x), y), true
		case string:
			if i, ok := parseIntText(y); ok {
				return cmpOrdered(x, i), true
			}
			if f, err := strconv.ParseFloat(y, 64); err == nil {
				return cmpOrdered(float64(x), f), true
			}
			return strings.Compare(textOf(x), y), true
		case bool:
			return cmpOrdered(x, boolInt(y)), true
		}
	case float64:
		if f, ok := toFloat(b); ok {
			return cmpOrdered(x, f), true
		}
	case string:
		switch y := b.(type) {
		case string:
			return strings.Compare(x, y), true
		case int64, float64, bool:
			c, ok := compareValues(b, a)
			return -c, ok
		case []any:
			return strings.Compare(x, textOf(y)), true
		}
	case bool:
		if y, ok := toBool(b); ok {
			return cmpOrdered(boolInt(x), boolInt(y)), true
		}
	case []any:
		if y, ok := b.([]any); ok {
			for i := 0; i < len(x) && i < len(y); i++ {
				if x[i] == nil || y[i] == nil {
					if x[i] == nil && y[i] == nil {
						continue
					}
					if x[i] == nil {
						return 1, true
					}
					return -1, true
				}
				if c, ok := compareValues(x[i], y[i]); !ok || c != 0 {
					return c, ok
				}
			}
			return cmpOrdered(len(x), len(y)), true
		}
		if y, ok := b.(string); ok {
			return strings.Compare(textOf(x), y), true
		}
	}
	return strings.Compare(textOf(a), textOf(b)), false
}

func cmpOrdered[T int | int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func toBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case int64:
		return x != 0, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "t", "true", "yes", "y", "on", "1":
			return true, true
		case "f", "false", "no", "n", "off", "0":
			return false, true
		}
	}
	return false, false
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		return int64(math.Round(x)), true
	case string:
		return parseIntText(x)
	case bool:
		return boolInt(x), true
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

func asArray(v any) ([]any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []any:
		return x, nil
	case string:
		return parseArray(x, oidText, false)
	}
	return []any{v}, nil
}

// textOf returns a value as text, as the text output of its natural type prints it.
func textOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return string(appendFloatText(nil, x))
	case bool:
		if x {
			return "true"
		}
		return "false"
	case []any:
		return formatArray(x, func(v any) string { return textOf(v) })
	}
	return fmt.Sprint(v)
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

// formatArray prints an array literal, quoting elements that need it.
func formatArray(arr []any, elem func(any) string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range arr {
		if i > 0 {
			b.WriteByte(',')
		}
		if v == nil {
			b.WriteString("NULL")
			continue
		}
		s := elem(v)
		if s == "" || strings.ContainsAny(s, `{},"\ `) || strings.EqualFold(s, "null") {
			s = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
		}
		b.WriteString(s)
	}
	b.WriteByte('}')
	return b.String()
}

// castType returns the type a cast names; an unknown name is text.
func (ev *evaluator) castType(t *pg.TypeName) uint32 {
	name := typeName(t)
	array := strings.HasSuffix(name, "[]")
	name = strings.TrimSuffix(name, "[]")
	aliases := map[string]string{"integer": "int4", "int": "int4", "bigint": "int8", "smallint": "int2", "boolean": "bool",
		"real": "float4", "double precision": "float8", "float": "float8", "varchar": "varchar", "character varying": "varchar",
		"decimal": "numeric", "timestamp with time zone": "timestamptz", "character": "bpchar", "char": "bpchar"}
	if a, ok := aliases[name]; ok {
		name = a
	}
	if len(stringList(t.Names)) > 1 && name == "bpchar" && stringList(t.Names)[0] == "pg_catalog" {
		name = "char" // pg_catalog."char" is the one-byte type; the grammar's char(n) is bpchar
	}
	ti := loadStatic().typeByName[name]
	if ti == nil {
		return oidText
	}
	if array {
		return arrayOf(ti.oid)
	}
	return ti.oid
}

// cast converts a value to a type: text of reg* types is the name they stand for, and a name
// cast to regclass, regtype or regnamespace is looked up.
func (ev *evaluator) cast(v any, from, to uint32) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch kindOf(to) {
	case kindText:
		if s, ok := v.(string); ok && to == oidChar && len(s) > 1 {
			return s[:1], nil
		}
		return ev.textOut(v, from), nil
	case kindBool:
		b, ok := toBool(v)
		if !ok {
			return nil, errorf(codeInvalidText, "invalid input syntax for type boolean: %q", textOf(v))
		}
		return b, nil
	case kindFloat:
		f, ok := toFloat(v)
		if !ok {
			return nil, errorf(codeInvalidText, "invalid input syntax for type double precision: %q", textOf(v))
		}
		return f, nil
	case kindArray:
		if s, ok := v.(string); ok {
			return parseArray(s, elemType(to), to == 22 || to == 30)
		}
		return v, nil
	}
	if s, ok := v.(string); ok {
		if i, ok := parseIntText(s); ok {
			return i, nil
		}
		switch to {
		case oidRegclass:
			return ev.relationOID(s)
		case oidRegtype:
			if t := loadStatic().typeByName[strings.TrimPrefix(strings.ToLower(s), "pg_catalog.")]; t != nil {
				return int64(t.oid), nil
			}
			return nil, errorf(codeUndefinedObject, "type %q does not exist", s)
		case oidRegnspace:
			for _, n := range ev.catalogRows(loadStatic().relByName["pg_catalog.pg_namespace"]) {
				if n[1] == unquoteIdent(s) {
					return n[0], nil
				}
			}
			return nil, errorf(codeUndefinedObject, "schema %q does not exist", s)
		case oidRegproc, 2202:
			return nil, errorf(codeUndefinedFunction, "function %q does not exist", s)
		}
		return nil, errorf(codeInvalidText, "invalid input syntax for type %s: %q", typeNameOf(to), s)
	}
	i, ok := toInt(v)
	if !ok {
		return nil, errorf(codeDatatypeMismatch, "cannot cast %v to %s", v, typeNameOf(to))
	}
	return i, nil
}

// textOut prints a value of a type as PostgreSQL's text output does.
func (ev *evaluator) textOut(v any, typ uint32) string {
	switch x := v.(type) {
	case int64:
		switch typ {
		case oidRegclass:
			return ev.relationName(x)
		case oidRegtype:
			return formatType(uint32(x), -1)
		case oidRegnspace:
			for _, n := range ev.catalogRows(loadStatic().relByName["pg_catalog.pg_namespace"]) {
				if n[0] == x {
					return n[1].(string)
				}
			}
		case oidRegproc, 2202:
			if x == 0 {
				return "-"
			}
		}
	case bool:
		if typ == oidBool || typ == 0 {
			if x {
				return "t"
			}
			return "f"
		}
	case []any:
		el := elemType(typ)
		if typ == 22 || typ == 30 {
			parts := make([]string, len(x))
			for i, e := range x {
				parts[i] = textOf(e)
			}
			return strings.Join(parts, " ")
		}
		return formatArray(x, func(e any) string { return ev.textOut(e, el) })
	}
	return textOf(v)
}
