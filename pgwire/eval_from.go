package pgwire

import (
	"slices"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// maxEvalCells bounds the values one intermediate result of a catalog query holds, rows times
// columns. The catalog is a few thousand rows and the tools' queries join it on its keys; a query
// that crosses its tables instead would otherwise take the server's memory.
const maxEvalCells = 4_000_000

// checkSize fails a catalog query whose intermediate result would pass maxEvalCells.
func checkSize(rows, width int) error {
	if rows*max(width, 1) > maxEvalCells {
		return errorf(codeProgramLimit, "catalog query too large: an intermediate result holds more than %d values", maxEvalCells).
			withHint("join the catalog tables on their keys, such as c.relnamespace = n.oid, rather than crossing them")
	}
	return nil
}

// fromPart is one item of a FROM list: where its columns sit in the scope's rows, and its rows.
type fromPart struct {
	offset, width int
	rows          [][]any
}

// condition is one ANDed term of a WHERE clause, with the FROM parts it names as a bit set.
type condition struct {
	expr  *pg.Node
	parts uint64
	// opaque is set for a term the parts of which cannot be told (a subquery, which may name
	// any of them); it is checked on the whole joined rows.
	opaque bool
	done   bool
}

// fromList evaluates a SELECT's FROM list and WHERE clause into the rows that pass, laid out
// as the scope lists the items. A condition on one item filters its rows before any join; the
// items are then joined one at a time, starting with the smallest, each next one the smallest
// that an equality ties to those already joined — found by hashing its rows on its side of the
// equality — and each condition is checked as soon as the items it names are joined. So comma
// joins such as pgjdbc's getImportedKeys, nine catalog tables in one FROM list, never build
// their cross product. The rows come out in the order nested loops over the FROM list give.
func (ev *evaluator) fromList(sel *pg.SelectStmt, outer *env) (*scope, [][]any, error) {
	sc := &scope{outer: outer.scope()}
	var parts []fromPart
	for _, item := range sel.FromClause {
		items, rows, err := ev.fromItem(item, outer)
		if err != nil {
			return nil, nil, err
		}
		p := fromPart{offset: sc.width, width: widthOf(items), rows: rows}
		for _, it := range items {
			it.offset += sc.width
			sc.items = append(sc.items, it)
		}
		sc.width += p.width
		parts = append(parts, p)
	}
	if len(parts) > 64 {
		return nil, nil, unsupported("more than 64 items in one FROM list", "join fewer tables at once")
	}
	var conds []*condition
	for _, n := range conjuncts(sel.WhereClause) {
		mask, opaque := ev.partsOf(n, sc, parts)
		conds = append(conds, &condition{expr: n, parts: mask, opaque: opaque})
	}
	// check tells whether a row passes the conditions that joined, the parts joined so far, lets
	// be checked, and not yet checked.
	check := func(row []any, joined uint64) (bool, error) {
		for _, c := range conds {
			if c.done || c.opaque || c.parts&^joined != 0 {
				continue
			}
			ok, err := ev.truth(c.expr, &env{sc: sc, row: row, outer: outer})
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	}
	markDone := func(joined uint64) {
		for _, c := range conds {
			if !c.opaque && c.parts&^joined == 0 {
				c.done = true
			}
		}
	}
	// Conditions that name no part (constants, the outer query's columns) are checked once.
	scratch := make([]any, sc.width)
	if ok, err := check(scratch, 0); err != nil || !ok {
		return sc, nil, err
	}
	markDone(0)
	// Conditions that name one part filter its rows.
	for i := range parts {
		p := &parts[i]
		kept := p.rows[:0:0]
		for _, r := range p.rows {
			clear(scratch)
			copy(scratch[p.offset:], r)
			ok, err := check(scratch, 1<<i)
			if err != nil {
				return nil, nil, err
			}
			if ok {
				kept = append(kept, r)
			}
		}
		p.rows = kept
	}
	for i := range parts {
		markDone(1 << i)
	}
	var rows [][]any
	var origins [][]int32 // each row's index in each part's rows, in FROM order
	var joined uint64
	if len(parts) == 0 {
		rows, origins = [][]any{{}}, [][]int32{{}}
	}
	for range parts {
		next, key := ev.nextPart(parts, conds, joined, sc)
		p := parts[next]
		var index *rowIndex
		if key != nil {
			index = newRowIndex(key.kind)
			for j, r := range p.rows {
				clear(scratch)
				copy(scratch[p.offset:], r)
				v, err := ev.eval(key.inner, &env{sc: sc, row: scratch, outer: outer})
				if err != nil {
					return nil, nil, err
				}
				index.add(j, v)
			}
		}
		var out [][]any
		var outOrigins [][]int32
		if joined == 0 {
			rows, origins = [][]any{make([]any, sc.width)}, [][]int32{make([]int32, len(parts))}
		}
		all := allRows(len(p.rows))
		for k, r := range rows {
			candidates := all
			if index != nil {
				v, err := ev.eval(key.outer, &env{sc: sc, row: r, outer: outer})
				if err != nil {
					return nil, nil, err
				}
				candidates = index.candidates(v)
			}
			for _, j := range candidates {
				row := slices.Clone(r)
				copy(row[p.offset:], p.rows[j])
				ok, err := check(row, joined|1<<next)
				if err != nil {
					return nil, nil, err
				}
				if !ok {
					continue
				}
				if err := checkSize(len(out)+1, sc.width); err != nil {
					return nil, nil, err
				}
				o := slices.Clone(origins[k])
				o[next] = int32(j)
				out, outOrigins = append(out, row), append(outOrigins, o)
			}
		}
		rows, origins = out, outOrigins
		joined |= 1 << next
		markDone(joined)
	}
	if len(parts) > 1 {
		order := make([]int, len(rows))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return slices.Compare(origins[a], origins[b]) })
		sorted := make([][]any, len(rows))
		for i, j := range order {
			sorted[i] = rows[j]
		}
		rows = sorted
	}
	// What is left names what cannot be told apart: subqueries, checked on the whole rows.
	kept := rows[:0:0]
	for _, row := range rows {
		ok := true
		for _, c := range conds {
			if c.done {
				continue
			}
			var err error
			if ok, err = ev.truth(c.expr, &env{sc: sc, row: row, outer: outer}); err != nil {
				return nil, nil, err
			}
			if !ok {
				break
			}
		}
		if ok {
			kept = append(kept, row)
		}
	}
	return sc, kept, nil
}

// joinKey is an equality that joins a part to the parts already joined: inner is its side
// that names only the part, outer the side that names only joined parts.
type joinKey struct {
	inner, outer *pg.Node
	kind         valueKind
}

// nextPart chooses the part to join next: among those an equality ties to the parts joined,
// the one with the fewest rows, else the one with the fewest rows; and the equality, if any.
// The first part is the smallest.
func (ev *evaluator) nextPart(parts []fromPart, conds []*condition, joined uint64, sc *scope) (int, *joinKey) {
	best, bestKey := -1, (*joinKey)(nil)
	for i, p := range parts {
		if joined&(1<<i) != 0 {
			continue
		}
		var key *joinKey
		if joined != 0 {
			key = ev.equiKey(conds, parts, joined, i, sc)
		}
		switch {
		case best < 0,
			key != nil && bestKey == nil,
			(key != nil) == (bestKey != nil) && len(p.rows) < len(parts[best].rows):
			best, bestKey = i, key
		}
	}
	return best, bestKey
}

// equiKey finds a condition a = b that part i's rows can be hashed by: one side names part i
// alone, the other only parts already joined, and both are held as the same kind of value.
func (ev *evaluator) equiKey(conds []*condition, parts []fromPart, joined uint64, i int, sc *scope) *joinKey {
	for _, c := range conds {
		if c.done || c.opaque || c.parts&(1<<i) == 0 || c.parts&joined == 0 || c.parts&^(joined|1<<i) != 0 {
			continue
		}
		e := c.expr.GetAExpr()
		if e == nil || e.Kind != pg.A_Expr_Kind_AEXPR_OP || operatorName(e.Name) != "=" || e.Lexpr == nil {
			continue
		}
		l, _ := ev.partsOf(e.Lexpr, sc, parts)
		r, _ := ev.partsOf(e.Rexpr, sc, parts)
		inner, outer := e.Lexpr, e.Rexpr
		switch {
		case l == 1<<i && r != 0 && r&^joined == 0:
		case r == 1<<i && l != 0 && l&^joined == 0:
			inner, outer = outer, inner
		default:
			continue
		}
		ti, _ := ev.typeOf(inner, sc)
		to, _ := ev.typeOf(outer, sc)
		if k := kindOf(ti); k == kindOf(to) && k != kindArray {
			return &joinKey{inner: inner, outer: outer, kind: k}
		}
	}
	return nil
}

// conjuncts splits a condition into its ANDed terms.
func conjuncts(n *pg.Node) []*pg.Node {
	if n == nil {
		return nil
	}
	if b := n.GetBoolExpr(); b != nil && b.Boolop == pg.BoolExprType_AND_EXPR {
		var out []*pg.Node
		for _, a := range b.Args {
			out = append(out, conjuncts(a)...)
		}
		return out
	}
	return []*pg.Node{n}
}

// partsOf returns the FROM parts an expression's columns belong to, as a bit set, and whether
// the expression holds something whose columns cannot be told (a subquery, an aggregate, a
// column that does not resolve and will fail when evaluated).
func (ev *evaluator) partsOf(n *pg.Node, sc *scope, parts []fromPart) (mask uint64, opaque bool) {
	var walk func(n *pg.Node)
	walk = func(n *pg.Node) {
		if n == nil || opaque {
			return
		}
		switch x := n.Node.(type) {
		case *pg.Node_ColumnRef:
			d, i, _, err := ev.columnAt(x.ColumnRef, sc)
			if err != nil || isStar(x.ColumnRef) {
				opaque = true
				return
			}
			if d > 0 {
				return // a column of an outer query: a constant here
			}
			for k, p := range parts {
				if i >= p.offset && i < p.offset+p.width {
					mask |= 1 << k
				}
			}
			return
		case *pg.Node_FuncCall:
			if aggregates[funcName(x.FuncCall)] || x.FuncCall.Over != nil {
				opaque = true
				return
			}
		}
		children, known := exprChildren(n)
		if !known {
			opaque = true
			return
		}
		for _, c := range children {
			walk(c)
		}
	}
	walk(n)
	return mask, opaque
}

// exprChildren returns the expressions an expression is made of, and whether that is all it
// is made of: false for a subquery or a construct this list does not know.
func exprChildren(n *pg.Node) ([]*pg.Node, bool) {
	switch x := n.Node.(type) {
	case *pg.Node_ColumnRef, *pg.Node_AConst, *pg.Node_ParamRef, *pg.Node_SqlvalueFunction, *pg.Node_String_, *pg.Node_AStar:
		return nil, true
	case *pg.Node_ResTarget:
		return []*pg.Node{x.ResTarget.Val}, true
	case *pg.Node_TypeCast:
		return []*pg.Node{x.TypeCast.Arg}, true
	case *pg.Node_CollateClause:
		return []*pg.Node{x.CollateClause.Arg}, true
	case *pg.Node_AExpr:
		return []*pg.Node{x.AExpr.Lexpr, x.AExpr.Rexpr}, true
	case *pg.Node_List:
		return x.List.Items, true
	case *pg.Node_BoolExpr:
		return x.BoolExpr.Args, true
	case *pg.Node_NullTest:
		return []*pg.Node{x.NullTest.Arg}, true
	case *pg.Node_BooleanTest:
		return []*pg.Node{x.BooleanTest.Arg}, true
	case *pg.Node_FuncCall:
		return append(slices.Clone(x.FuncCall.Args), x.FuncCall.AggFilter), x.FuncCall.Over == nil
	case *pg.Node_CaseExpr:
		return append([]*pg.Node{x.CaseExpr.Arg, x.CaseExpr.Defresult}, x.CaseExpr.Args...), true
	case *pg.Node_CaseWhen:
		return []*pg.Node{x.CaseWhen.Expr, x.CaseWhen.Result}, true
	case *pg.Node_CoalesceExpr:
		return x.CoalesceExpr.Args, true
	case *pg.Node_MinMaxExpr:
		return x.MinMaxExpr.Args, true
	case *pg.Node_AArrayExpr:
		return x.AArrayExpr.Elements, true
	case *pg.Node_AIndirection:
		return append([]*pg.Node{x.AIndirection.Arg}, x.AIndirection.Indirection...), true
	case *pg.Node_AIndices:
		return []*pg.Node{x.AIndices.Lidx, x.AIndices.Uidx}, true
	case *pg.Node_SubLink:
		return []*pg.Node{x.SubLink.Testexpr}, false
	}
	return nil, false
}

// rowIndex finds the rows whose key may equal a value. A key held as the Go type its SQL type
// is held as is hashed; any other (a parameter's text, say) is a candidate for every value, so
// that no row compareValues finds equal is missed. Candidates come in row order.
type rowIndex struct {
	kind   valueKind
	byKey  map[any][]int
	others []int
}

func newRowIndex(kind valueKind) *rowIndex { return &rowIndex{kind: kind, byKey: map[any][]int{}} }

// hashable reports whether v is held as the Go type of the index's kind.
func (x *rowIndex) hashable(v any) bool {
	switch v.(type) {
	case int64:
		return x.kind == kindInt
	case string:
		return x.kind == kindText
	case bool:
		return x.kind == kindBool
	case float64:
		return x.kind == kindFloat
	}
	return false
}

// add adds row i with key v; a NULL key equals nothing.
func (x *rowIndex) add(i int, v any) {
	switch {
	case v == nil:
	case x.hashable(v):
		x.byKey[v] = append(x.byKey[v], i)
	default:
		x.others = append(x.others, i)
	}
}

// candidates returns the rows whose key may equal v, in row order.
func (x *rowIndex) candidates(v any) []int {
	switch {
	case v == nil:
		return nil
	case !x.hashable(v):
		var all []int
		for _, rows := range x.byKey {
			all = append(all, rows...)
		}
		all = append(all, x.others...)
		slices.Sort(all)
		return all
	case len(x.others) == 0:
		return x.byKey[v]
	}
	out := append(slices.Clone(x.byKey[v]), x.others...)
	slices.Sort(out)
	return out
}

// allRows returns the indices 0 … n-1.
func allRows(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
