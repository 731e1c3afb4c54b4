package pgwire

import (
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	pg "github.com/pganalyze/pg_query_go/v6"
)

// sqlFunc is a scalar function of the catalog evaluator.
type sqlFunc struct {
	// ret returns the result type for the argument types; nil means the first argument's.
	ret func(args []uint32) uint32
	// call computes the result; with strict, a NULL argument makes the result NULL without a call.
	call   func(ev *evaluator, args []any) (any, error)
	strict bool
}

func returns(oid uint32) func([]uint32) uint32 { return func([]uint32) uint32 { return oid } }

func constant(v any) func(*evaluator, []any) (any, error) {
	return func(*evaluator, []any) (any, error) { return v, nil }
}

// functions are the scalar functions catalog queries call, by name without pg_catalog.
var functions map[string]sqlFunc

func init() {
	yes := sqlFunc{ret: returns(oidBool), call: constant(true)}
	null := func(oid uint32) sqlFunc { return sqlFunc{ret: returns(oid), call: constant(nil)} }
	functions = map[string]sqlFunc{
		"version":          {ret: returns(oidText), call: constant(fmt.Sprintf("PostgreSQL %s (Koujing semantic layer) on %s-%s, compiled by Go", serverVersion, runtime.GOARCH, runtime.GOOS))},
		"current_database": {ret: returns(oidName), call: func(ev *evaluator, _ []any) (any, error) { return ev.c.sess.database, nil }},
		"current_schema":   {ret: returns(oidName), call: func(ev *evaluator, _ []any) (any, error) { return ev.currentSchema(), nil }},
		"current_schemas": {ret: returns(1003), call: func(ev *evaluator, args []any) (any, error) {
			var out []any
			if b, _ := toBool(args[0]); b {
				out = append(out, "pg_catalog")
			}
			for _, s := range ev.c.sess.searchPath {
				if ev.rel.byName[s] != nil {
					out = append(out, s)
				}
			}
			return out, nil
		}},
		"current_user":    {ret: returns(oidName), call: func(ev *evaluator, _ []any) (any, error) { return ev.c.sess.user, nil }},
		"session_user":    {ret: returns(oidName), call: func(ev *evaluator, _ []any) (any, error) { return ev.c.sess.user, nil }},
		"pg_backend_pid":  {ret: returns(oidInt4), call: func(ev *evaluator, _ []any) (any, error) { return int64(ev.c.pid), nil }},
		"current_setting": {ret: returns(oidText), strict: true, call: func(ev *evaluator, args []any) (any, error) { return ev.setting(textOf(args[0])) }},
		"set_config": {ret: returns(oidText), call: func(ev *evaluator, args []any) (any, error) {
			// Evaluated while planning, so it cannot change the session; it reports the value.
			return args[1], nil
		}},
		"pg_get_userbyid": {ret: returns(oidName), strict: true, call: func(ev *evaluator, _ []any) (any, error) { return ev.c.sess.user, nil }},
		"pg_table_is_visible": {ret: returns(oidBool), strict: true, call: func(ev *evaluator, args []any) (any, error) {
			oid, _ := toInt(args[0])
			for _, s := range ev.rel.schemas {
				for _, t := range s.tables {
					if int64(t.oid) == oid {
						return ev.rel.visible(t, ev.c.sess.searchPath), nil
					}
				}
			}
			r := loadStatic().relByOID[uint32(oid)]
			return r != nil && r.schema == "pg_catalog", nil
		}},
		"pg_type_is_visible":       yes,
		"pg_function_is_visible":   yes,
		"has_table_privilege":      yes,
		"has_schema_privilege":     yes,
		"has_database_privilege":   yes,
		"has_column_privilege":     yes,
		"has_any_column_privilege": yes,
		"has_function_privilege":   yes,
		"pg_has_role":              yes,
		"format_type": {ret: returns(oidText), call: func(ev *evaluator, args []any) (any, error) {
			if args[0] == nil {
				return nil, nil
			}
			oid, _ := toInt(args[0])
			mod := int64(-1)
			if len(args) > 1 && args[1] != nil {
				mod, _ = toInt(args[1])
			}
			return formatType(uint32(oid), int32(mod)), nil
		}},
		"obj_description": {ret: returns(oidText), strict: true, call: func(ev *evaluator, args []any) (any, error) {
			return ev.description(args[0], 0, args[1:])
		}},
		"col_description": {ret: returns(oidText), strict: true, call: func(ev *evaluator, args []any) (any, error) {
			return ev.description(args[0], args[1], nil)
		}},
		"shobj_description":                  null(oidText),
		"pg_get_expr":                        null(oidText),
		"pg_get_indexdef":                    null(oidText),
		"pg_get_constraintdef":               null(oidText),
		"pg_get_triggerdef":                  null(oidText),
		"pg_get_viewdef":                     null(oidText),
		"pg_get_ruledef":                     null(oidText),
		"pg_get_partkeydef":                  null(oidText),
		"pg_get_function_result":             null(oidText),
		"pg_get_function_arguments":          null(oidText),
		"pg_get_function_identity_arguments": null(oidText),
		"pg_get_serial_sequence":             null(oidText),
		"pg_get_statisticsobjdef_columns":    null(oidText),
		"pg_relation_is_publishable":         {ret: returns(oidBool), call: constant(false)},
		"pg_is_in_recovery":                  {ret: returns(oidBool), call: constant(false)},
		"pg_tablespace_location":             {ret: returns(oidText), call: constant("")},
		"pg_encoding_to_char":                {ret: returns(oidName), call: constant("UTF8")},
		"pg_char_to_encoding":                {ret: returns(oidInt4), call: constant(int64(6))},
		"pg_total_relation_size":             {ret: returns(oidInt8), call: constant(int64(0))},
		"pg_relation_size":                   {ret: returns(oidInt8), call: constant(int64(0))},
		"pg_table_size":                      {ret: returns(oidInt8), call: constant(int64(0))},
		"pg_indexes_size":                    {ret: returns(oidInt8), call: constant(int64(0))},
		"pg_database_size":                   {ret: returns(oidInt8), call: constant(int64(0))},
		"pg_size_pretty":                     {ret: returns(oidText), strict: true, call: func(_ *evaluator, args []any) (any, error) { return textOf(args[0]) + " bytes", nil }},
		"txid_current":                       {ret: returns(oidInt8), call: constant(int64(1))},
		"pg_postmaster_start_time":           {ret: returns(oidTimestamptz), call: func(*evaluator, []any) (any, error) { return startTime, nil }},
		"now":                                {ret: returns(oidTimestamptz), call: func(ev *evaluator, _ []any) (any, error) { return ev.now(), nil }},
		"inet_server_addr":                   null(oidText),
		"inet_server_port":                   null(oidInt4),
		"to_regclass": {ret: returns(oidRegclass), strict: true, call: func(ev *evaluator, args []any) (any, error) {
			oid, err := ev.relationOID(textOf(args[0]))
			if err != nil {
				return nil, nil
			}
			return oid, nil
		}},
		"array_to_string": {ret: returns(oidText), call: func(ev *evaluator, args []any) (any, error) {
			if args[0] == nil || args[1] == nil {
				return nil, nil
			}
			arr, _ := asArray(args[0])
			var parts []string
			for _, v := range arr {
				switch {
				case v != nil:
					parts = append(parts, textOf(v))
				case len(args) > 2 && args[2] != nil:
					parts = append(parts, textOf(args[2]))
				}
			}
			return strings.Join(parts, textOf(args[1])), nil
		}},
		// The arrays here are one-dimensional and start at 1: the upper bound is the length.
		"array_upper":  {ret: returns(oidInt4), strict: true, call: arrayLength},
		"array_length": {ret: returns(oidInt4), strict: true, call: arrayLength},
		"cardinality": {ret: returns(oidInt4), strict: true, call: func(_ *evaluator, args []any) (any, error) {
			arr, _ := asArray(args[0])
			return int64(len(arr)), nil
		}},
		"array_position": {ret: returns(oidInt4), call: func(_ *evaluator, args []any) (any, error) {
			arr, _ := asArray(args[0])
			for i, v := range arr {
				if c, _ := compareValues(v, args[1]); v != nil && args[1] != nil && c == 0 {
					return int64(i + 1), nil
				}
			}
			return nil, nil
		}},
		"lower":       {ret: returns(oidText), strict: true, call: func(_ *evaluator, a []any) (any, error) { return strings.ToLower(textOf(a[0])), nil }},
		"upper":       {ret: returns(oidText), strict: true, call: func(_ *evaluator, a []any) (any, error) { return strings.ToUpper(textOf(a[0])), nil }},
		"length":      {ret: returns(oidInt4), strict: true, call: func(_ *evaluator, a []any) (any, error) { return int64(len([]rune(textOf(a[0])))), nil }},
		"char_length": {ret: returns(oidInt4), strict: true, call: func(_ *evaluator, a []any) (any, error) { return int64(len([]rune(textOf(a[0])))), nil }},
		"btrim":       {ret: returns(oidText), strict: true, call: func(_ *evaluator, a []any) (any, error) { return strings.TrimSpace(textOf(a[0])), nil }},
		"quote_ident": {ret: returns(oidText), strict: true, call: func(_ *evaluator, a []any) (any, error) { return quoteIdent(textOf(a[0])), nil }},
		"concat": {ret: returns(oidText), call: func(_ *evaluator, a []any) (any, error) {
			var b strings.Builder
			for _, v := range a {
				b.WriteString(textOf(v))
			}
			return b.String(), nil
		}},
		"replace": {ret: returns(oidText), strict: true, call: func(_ *evaluator, a []any) (any, error) {
			return strings.ReplaceAll(textOf(a[0]), textOf(a[1]), textOf(a[2])), nil
		}},
		"substring": {ret: returns(oidText), strict: true, call: func(_ *evaluator, a []any) (any, error) {
			r := []rune(textOf(a[0]))
			from, _ := toInt(a[1])
			start := max(int(from)-1, 0)
			end := len(r)
			if len(a) > 2 {
				n, _ := toInt(a[2])
				end = min(int(from)-1+int(n), len(r))
			}
			if start >= end {
				return "", nil
			}
			return string(r[start:end]), nil
		}},
	}
	functions["string_to_array"] = sqlFunc{ret: returns(oidTextArray), strict: true, call: func(_ *evaluator, a []any) (any, error) {
		var out []any
		for _, p := range strings.Split(textOf(a[0]), textOf(a[1])) {
			out = append(out, p)
		}
		return out, nil
	}}
	functions["array_lower"] = sqlFunc{ret: returns(oidInt4), strict: true, call: func(_ *evaluator, a []any) (any, error) {
		if arr, _ := asArray(a[0]); len(arr) > 0 {
			return int64(1), nil
		}
		return nil, nil
	}}
	functions["trim"] = functions["btrim"]
	functions["parse_ident"] = sqlFunc{ret: returns(oidTextArray), strict: true, call: func(_ *evaluator, a []any) (any, error) {
		var out []any
		for _, p := range strings.Split(textOf(a[0]), ".") {
			out = append(out, unquoteIdent(p))
		}
		return out, nil
	}}
	functions["format"] = sqlFunc{ret: returns(oidText), call: func(_ *evaluator, a []any) (any, error) {
		if len(a) == 0 || a[0] == nil {
			return nil, nil
		}
		return formatText(textOf(a[0]), a[1:])
	}}
	functions["user"] = functions["current_user"]
	functions["pg_get_keywords"] = null(oidText)
}

// formatText is PostgreSQL's format(): %s inserts a value as text, %I as an identifier, %L as
// a literal, %% a percent sign; Metabase names tables with format('%I.%I', …). Widths and
// positions (%1$s) are not taken.
func formatText(f string, args []any) (any, error) {
	var b strings.Builder
	next := 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		if i++; i == len(f) {
			return nil, errorf(codeInvalidParameter, "unterminated format() type specifier")
		}
		if f[i] == '%' {
			b.WriteByte('%')
			continue
		}
		if next >= len(args) {
			return nil, errorf(codeInvalidParameter, "too few arguments for format()")
		}
		v := args[next]
		next++
		switch f[i] {
		case 's':
			if v != nil {
				b.WriteString(textOf(v))
			}
		case 'I':
			if v == nil {
				return nil, errorf(codeNullNotAllowed, "null values cannot be formatted as an SQL identifier")
			}
			b.WriteString(quoteIdent(textOf(v)))
		case 'L':
			if v == nil {
				b.WriteString("NULL")
			} else {
				b.WriteString(quoteLiteral(textOf(v)))
			}
		default:
			return nil, errorf(codeInvalidParameter, "unrecognized format() type specifier %q", f[i]).
				withHint("format() here takes %%s, %%I, %%L and %%%%")
		}
	}
	return b.String(), nil
}

// startTime is when the server started, as pg_postmaster_start_time reports it.
var startTime = time.Now()

func (ev *evaluator) now() string {
	return string(appendTimestamptz(nil, time.Now().In(ev.c.sess.location)))
}

// currentSchema is the first schema of the search path that exists, as current_schema() says.
func (ev *evaluator) currentSchema() any {
	for _, s := range ev.c.sess.searchPath {
		if ev.rel.byName[s] != nil || s == "pg_catalog" || s == "information_schema" {
			return s
		}
	}
	return nil
}

func (ev *evaluator) setting(name string) (any, error) {
	if !ev.c.sess.known(name) {
		return nil, errorf(codeUndefinedObject, "unrecognized configuration parameter %q", name)
	}
	return ev.c.sess.show(name), nil
}

// description looks up pg_description for an object (and a column of it, when sub is set).
func (ev *evaluator) description(oid, sub any, catalog []any) (any, error) {
	o, _ := toInt(oid)
	s, _ := toInt(sub)
	want := int64(-1)
	if len(catalog) > 0 && catalog[0] != nil {
		if c, err := ev.relationOID(textOf(catalog[0])); err == nil {
			want = c
		}
	}
	for _, row := range ev.catalogRows(loadStatic().relByName["pg_catalog.pg_description"]) {
		if row[0] == o && row[2] == s && (want < 0 || row[1] == want) {
			return row[3], nil
		}
	}
	return nil, nil
}

func sqlValueFunctionName(op pg.SQLValueFunctionOp) string {
	switch op {
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_USER, pg.SQLValueFunctionOp_SVFOP_CURRENT_ROLE:
		return "current_user"
	case pg.SQLValueFunctionOp_SVFOP_USER:
		return "user"
	case pg.SQLValueFunctionOp_SVFOP_SESSION_USER:
		return "session_user"
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_CATALOG:
		return "current_catalog"
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA:
		return "current_schema"
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_DATE:
		return "current_date"
	}
	return "current_timestamp"
}

func (ev *evaluator) sqlValueFunction(op pg.SQLValueFunctionOp) any {
	switch sqlValueFunctionName(op) {
	case "current_user", "user", "session_user":
		return ev.c.sess.user
	case "current_catalog":
		return ev.c.sess.database
	case "current_schema":
		return ev.currentSchema()
	case "current_date":
		return ev.now()[:10]
	}
	return ev.now()
}

func sqlValueFunctionType(op pg.SQLValueFunctionOp) uint32 {
	switch sqlValueFunctionName(op) {
	case "current_date":
		return oidDate
	case "current_timestamp":
		return oidTimestamptz
	}
	return oidName
}

// evalFunc calls an aggregate over the group, or a scalar function.
func (ev *evaluator) evalFunc(f *pg.FuncCall, e *env) (any, error) {
	name := funcName(f)
	if f.Over != nil {
		return nil, unsupported("window functions in catalog queries", "simplify the query")
	}
	if aggregates[name] {
		if e.group == nil {
			return nil, errorf(codeGroupingError, "aggregate function calls are not allowed here").at(f.Location)
		}
		return ev.aggregate(f, name, e)
	}
	fn, ok := functions[name]
	if !ok {
		return nil, errorf(codeUndefinedFunction, "function %s does not exist", name).at(f.Location).
			withHint("the SQL API answers the catalog queries of psql and common BI tools; this one calls a function it does not know")
	}
	args := make([]any, len(f.Args))
	for i, a := range f.Args {
		v, err := ev.eval(a, e)
		if err != nil {
			return nil, err
		}
		if v == nil && fn.strict {
			return nil, nil
		}
		args[i] = v
	}
	return fn.call(ev, args)
}

// aggregate computes an aggregate over the rows of the environment's group.
func (ev *evaluator) aggregate(f *pg.FuncCall, name string, e *env) (any, error) {
	var values []any
	for _, row := range e.group {
		re := &env{sc: e.sc, row: row, outer: e.outer}
		if f.AggFilter != nil {
			ok, err := ev.truth(f.AggFilter, re)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		if f.AggStar {
			values = append(values, true)
			continue
		}
		if len(f.Args) == 0 {
			continue
		}
		v, err := ev.eval(f.Args[0], re)
		if err != nil {
			return nil, err
		}
		if v == nil && name != "array_agg" {
			continue
		}
		if name == "string_agg" && len(f.Args) > 1 {
			sep, err := ev.eval(f.Args[1], re)
			if err != nil {
				return nil, err
			}
			values = append(values, []any{v, sep})
			continue
		}
		values = append(values, v)
	}
	if f.AggDistinct {
		rows := make([][]any, len(values))
		for i, v := range values {
			rows[i] = []any{v}
		}
		rows = distinctRows(rows)
		values = values[:0]
		for _, r := range rows {
			values = append(values, r[0])
		}
	}
	switch name {
	case "count":
		return int64(len(values)), nil
	case "array_agg":
		if len(values) == 0 {
			return nil, nil
		}
		return values, nil
	}
	if len(values) == 0 {
		return nil, nil
	}
	switch name {
	case "sum", "avg":
		total := values[0]
		for _, v := range values[1:] {
			var err error
			if total, err = arithmetic("+", total, v); err != nil {
				return nil, err
			}
		}
		if name == "avg" {
			t, _ := toFloat(total)
			return t / float64(len(values)), nil
		}
		return total, nil
	case "min", "max":
		best := values[0]
		for _, v := range values[1:] {
			if c, _ := compareValues(v, best); (c < 0) == (name == "min") && c != 0 {
				best = v
			}
		}
		return best, nil
	case "string_agg":
		var b strings.Builder
		for i, v := range values {
			pair := v.([]any)
			if i > 0 {
				b.WriteString(textOf(pair[1]))
			}
			b.WriteString(textOf(pair[0]))
		}
		return b.String(), nil
	case "bool_and", "every", "bool_or":
		and := name != "bool_or"
		for _, v := range values {
			if b, _ := toBool(v); b != and {
				return !and, nil
			}
		}
		return and, nil
	}
	return nil, errorf(codeUndefinedFunction, "aggregate %s does not exist", name)
}

// typeOf returns an expression's type and type modifier, from the tree alone. What it cannot
// tell is text, which is how such values are sent.
func (ev *evaluator) typeOf(n *pg.Node, sc *scope) (uint32, int32) {
	if n == nil {
		return oidText, -1
	}
	switch x := n.Node.(type) {
	case *pg.Node_ColumnRef:
		if _, _, c, err := ev.columnAt(x.ColumnRef, sc); err == nil {
			return c.typ, c.typmod
		}
	case *pg.Node_AConst:
		switch x.AConst.Val.(type) {
		case *pg.A_Const_Ival:
			return oidInt4, -1
		case *pg.A_Const_Fval:
			return oidNumeric, -1
		case *pg.A_Const_Boolval:
			return oidBool, -1
		}
	case *pg.Node_TypeCast:
		return ev.castType(x.TypeCast.TypeName), -1
	case *pg.Node_CollateClause:
		return ev.typeOf(x.CollateClause.Arg, sc)
	case *pg.Node_ParamRef:
		if n := int(x.ParamRef.Number); n >= 1 && n <= len(ev.params.types) && ev.params.types[n-1] != 0 {
			return ev.params.types[n-1], -1
		}
	case *pg.Node_AExpr:
		switch x.AExpr.Kind {
		case pg.A_Expr_Kind_AEXPR_OP:
			switch op := operatorName(x.AExpr.Name); op {
			case "+", "-", "*", "/", "%":
				if x.AExpr.Lexpr == nil {
					return ev.typeOf(x.AExpr.Rexpr, sc)
				}
				l, _ := ev.typeOf(x.AExpr.Lexpr, sc)
				r, _ := ev.typeOf(x.AExpr.Rexpr, sc)
				if kindOf(l) == kindFloat || kindOf(r) == kindFloat {
					return oidFloat8, -1
				}
				if l == oidInt8 || r == oidInt8 {
					return oidInt8, -1
				}
				return l, -1
			case "||":
				if l, _ := ev.typeOf(x.AExpr.Lexpr, sc); kindOf(l) == kindArray {
					return l, -1
				}
				return oidText, -1
			}
			return oidBool, -1
		case pg.A_Expr_Kind_AEXPR_NULLIF:
			return ev.typeOf(x.AExpr.Lexpr, sc)
		}
		return oidBool, -1
	case *pg.Node_BoolExpr, *pg.Node_NullTest, *pg.Node_BooleanTest:
		return oidBool, -1
	case *pg.Node_CaseExpr:
		for _, w := range x.CaseExpr.Args {
			if r := w.GetCaseWhen().Result; r.GetAConst() == nil || !r.GetAConst().Isnull {
				return ev.typeOf(r, sc)
			}
		}
		return ev.typeOf(x.CaseExpr.Defresult, sc)
	case *pg.Node_CoalesceExpr:
		return ev.typeOf(x.CoalesceExpr.Args[0], sc)
	case *pg.Node_MinMaxExpr:
		return ev.typeOf(x.MinMaxExpr.Args[0], sc)
	case *pg.Node_SqlvalueFunction:
		return sqlValueFunctionType(x.SqlvalueFunction.Op), -1
	case *pg.Node_AArrayExpr:
		if len(x.AArrayExpr.Elements) > 0 {
			t, _ := ev.typeOf(x.AArrayExpr.Elements[0], sc)
			return arrayOf(t), -1
		}
		return oidTextArray, -1
	case *pg.Node_AIndirection:
		t, _ := ev.typeOf(x.AIndirection.Arg, sc)
		return elemType(t), -1
	case *pg.Node_SubLink:
		switch x.SubLink.SubLinkType {
		case pg.SubLinkType_EXPR_SUBLINK, pg.SubLinkType_ARRAY_SUBLINK:
			t := ev.subqueryType(x.SubLink.Subselect.GetSelectStmt(), sc)
			if x.SubLink.SubLinkType == pg.SubLinkType_ARRAY_SUBLINK {
				return arrayOf(t), -1
			}
			return t, -1
		}
		return oidBool, -1
	case *pg.Node_FuncCall:
		return ev.funcType(x.FuncCall, sc), -1
	}
	return oidText, -1
}

// subqueryType returns the type of a subquery's first column, from its FROM items' columns.
func (ev *evaluator) subqueryType(sel *pg.SelectStmt, outer *scope) uint32 {
	for sel != nil && isSetOp(sel) {
		sel = sel.Larg
	}
	if sel == nil || len(sel.TargetList) == 0 {
		return oidText
	}
	sc := &scope{outer: outer}
	for _, item := range sel.FromClause {
		for _, it := range ev.scopeOf(item, outer) {
			it.offset += sc.width
			sc.items = append(sc.items, it)
			sc.width += len(it.cols)
		}
	}
	t, _ := ev.typeOf(sel.TargetList[0].GetResTarget().Val, sc)
	return t
}

// scopeOf returns the columns a FROM item brings, without evaluating it.
func (ev *evaluator) scopeOf(n *pg.Node, outer *scope) []scopeItem {
	switch x := n.Node.(type) {
	case *pg.Node_RangeVar:
		def, err := ev.catalogTable(x.RangeVar)
		if err != nil {
			return nil
		}
		alias := x.RangeVar.Relname
		if x.RangeVar.Alias != nil {
			alias = x.RangeVar.Alias.Aliasname
		}
		return []scopeItem{{alias: alias, schema: def.schema, cols: def.cols}}
	case *pg.Node_JoinExpr:
		return append(ev.scopeOf(x.JoinExpr.Larg, outer), ev.scopeOf(x.JoinExpr.Rarg, outer)...)
	case *pg.Node_RangeFunction:
		if x.RangeFunction.Alias != nil {
			return []scopeItem{{alias: x.RangeFunction.Alias.Aliasname, cols: []colDef{{name: x.RangeFunction.Alias.Aliasname, typ: oidInt4}}}}
		}
	}
	return nil
}

// funcType returns a function call's result type.
func (ev *evaluator) funcType(f *pg.FuncCall, sc *scope) uint32 {
	name := funcName(f)
	argType := func(i int) uint32 {
		if i >= len(f.Args) {
			return oidText
		}
		t, _ := ev.typeOf(f.Args[i], sc)
		return t
	}
	switch name {
	case "count":
		return oidInt8
	case "sum":
		if t := argType(0); kindOf(t) == kindInt {
			return oidInt8
		}
		return oidFloat8
	case "avg":
		return oidFloat8
	case "min", "max":
		return argType(0)
	case "string_agg":
		return oidText
	case "array_agg":
		return arrayOf(argType(0))
	case "bool_and", "bool_or", "every":
		return oidBool
	}
	if fn, ok := functions[name]; ok {
		if fn.ret == nil {
			return argType(0)
		}
		return fn.ret(nil)
	}
	return oidText
}

// encodeValue encodes an evaluator value of a type in a format (0 text, 1 binary).
func (c *conn) encodeValue(v any, oid uint32, format int16) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	ev := newEvaluator(c, c.rel, &params{})
	text := ev.textOut(v, oid)
	if format == 0 {
		return []byte(text), nil
	}
	// Binary: have pgtype read the text form and write the binary one.
	wt := wireType(oid)
	var decoded any
	if err := c.types.Scan(wt, pgtype.TextFormatCode, []byte(text), &decoded); err != nil {
		return nil, fmt.Errorf("encode %q as type %d: %w", text, wt, err)
	}
	return c.types.Encode(wt, pgtype.BinaryFormatCode, decoded, nil)
}

// arrayLength is array_length(a, 1) of a one-dimensional array: null for an empty one, as in
// PostgreSQL.
func arrayLength(_ *evaluator, args []any) (any, error) {
	arr, _ := asArray(args[0])
	if len(arr) == 0 {
		return nil, nil
	}
	return int64(len(arr)), nil
}
