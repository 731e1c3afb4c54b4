package plan

import "fmt"

// Rule is one named rewrite of logical plans. Apply is called on every node, children first; it
// returns the node it was given when it changes nothing. Rules preserve results: they only
// change how a plan computes them.
type Rule struct {
	Name  string
	Apply func(Node) (Node, error)
}

// DefaultRules are the rewrites Optimize runs, in order.
var DefaultRules = []Rule{
	{"push filters below joins", pushFilterBelowJoin},
	{"push filters into scans", pushFilterIntoScan},
	{"merge projections", mergeProjects},
	{"drop identity projections", dropIdentityProject},
}

// maxPasses bounds how often one rule is re-run over the tree before the optimizer gives up on
// reaching a fixed point.
const maxPasses = 16

// Optimize runs each rule over the whole plan, repeating a rule until it changes nothing.
func Optimize(n Node, rules []Rule) (Node, error) {
	for _, r := range rules {
		for pass := 0; ; pass++ {
			if pass == maxPasses {
				return nil, fmt.Errorf("optimizer rule %q did not settle after %d passes", r.Name, maxPasses)
			}
			out, err := transformUp(n, r.Apply)
			if err != nil {
				return nil, fmt.Errorf("optimizer rule %q: %w", r.Name, err)
			}
			if out == n {
				break
			}
			n = out
		}
	}
	return n, nil
}

// transformUp rewrites the children of n first, then n itself.
func transformUp(n Node, fn func(Node) (Node, error)) (Node, error) {
	kids := n.Children()
	changed := false
	newKids := make([]Node, len(kids))
	for i, k := range kids {
		nk, err := transformUp(k, fn)
		if err != nil {
			return nil, err
		}
		newKids[i] = nk
		changed = changed || nk != k
	}
	if changed {
		var err error
		if n, err = n.WithChildren(newKids...); err != nil {
			return nil, err
		}
	}
	return fn(n)
}

// Conjuncts splits a predicate into the terms of its top-level ANDs.
func Conjuncts(e Expr) []Expr {
	if b, ok := e.(*Binary); ok && b.Op == And {
		return append(Conjuncts(b.Left), Conjuncts(b.Right)...)
	}
	return []Expr{e}
}

// AndAll is the conjunction of terms, or nil for none.
func AndAll(terms []Expr) (Expr, error) {
	var out Expr
	for _, t := range terms {
		if out == nil {
			out = t
			continue
		}
		var err error
		if out, err = NewBinary(And, out, t); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readsOnlyFrom reports whether every column e reads is a field of s.
func readsOnlyFrom(e Expr, s interface{ FieldIndices(string) []int }) bool {
	for _, c := range ColumnsOf(e) {
		if len(s.FieldIndices(c)) != 1 {
			return false
		}
	}
	return true
}

// pushFilterBelowJoin moves the terms of a filter over a join that read one side only onto that
// side: either side of an inner join, the preserved (left) side of a left join. Terms on the
// right of a left join stay above it, where they also drop the rows the join kept unmatched.
func pushFilterBelowJoin(n Node) (Node, error) {
	f, ok := n.(*Filter)
	if !ok {
		return n, nil
	}
	j, ok := f.Input.(*Join)
	if !ok || j.Kind == FullJoin {
		return n, nil
	}
	var left, right, keep []Expr
	for _, t := range Conjuncts(f.Predicate) {
		switch {
		case readsOnlyFrom(t, j.Left.Schema()):
			left = append(left, t)
		case j.Kind == InnerJoin && readsOnlyFrom(t, j.Right.Schema()):
			right = append(right, t)
		default:
			keep = append(keep, t)
		}
	}
	if len(left) == 0 && len(right) == 0 {
		return n, nil
	}
	l, r := j.Left, j.Right
	var err error
	if l, err = filtered(l, left); err != nil {
		return nil, err
	}
	if r, err = filtered(r, right); err != nil {
		return nil, err
	}
	out, err := j.WithChildren(l, r)
	if err != nil {
		return nil, err
	}
	return filtered(out, keep)
}

// filtered is n under a filter of the terms, or n itself when there are none.
func filtered(n Node, terms []Expr) (Node, error) {
	p, err := AndAll(terms)
	if err != nil || p == nil {
		return n, err
	}
	return NewFilter(n, p)
}

// pushFilterIntoScan makes a filter directly over a scan the scan's own predicate, which a
// source may evaluate as it reads.
func pushFilterIntoScan(n Node) (Node, error) {
	f, ok := n.(*Filter)
	if !ok {
		return n, nil
	}
	s, ok := f.Input.(*Scan)
	if !ok {
		return n, nil
	}
	terms := Conjuncts(f.Predicate)
	if s.Filter != nil {
		terms = append(Conjuncts(s.Filter), terms...)
	}
	p, err := AndAll(terms)
	if err != nil {
		return nil, err
	}
	return s.WithFilter(p)
}

// mergeProjects folds a projection over another into one, substituting the inner expressions,
// unless that would compute an expression more than once.
func mergeProjects(n Node) (Node, error) {
	outer, ok := n.(*Project)
	if !ok {
		return n, nil
	}
	inner, ok := outer.Input.(*Project)
	if !ok {
		return n, nil
	}
	defs := make(map[string]Expr, len(inner.Exprs))
	for _, e := range inner.Exprs {
		defs[e.Name] = e.Expr
	}
	uses := map[string]int{}
	for _, e := range outer.Exprs {
		Walk(e.Expr, func(x Expr) bool {
			if c, ok := x.(*Column); ok {
				uses[c.Name]++
			}
			return true
		})
	}
	for name, count := range uses {
		switch defs[name].(type) {
		case *Column, *Literal:
		default:
			if count > 1 {
				return n, nil
			}
		}
	}
	exprs := make([]Named, len(outer.Exprs))
	for i, e := range outer.Exprs {
		sub, err := substitute(e.Expr, defs)
		if err != nil {
			return nil, err
		}
		exprs[i] = Named{Name: e.Name, Expr: sub}
	}
	return NewProject(inner.Input, exprs)
}

// substitute replaces every column reference in e by its definition.
func substitute(e Expr, defs map[string]Expr) (Expr, error) {
	if c, ok := e.(*Column); ok {
		if d, ok := defs[c.Name]; ok {
			return d, nil
		}
		return nil, fmt.Errorf("column %s has no definition", c.Name)
	}
	kids := e.Children()
	if len(kids) == 0 {
		return e, nil
	}
	out := make([]Expr, len(kids))
	for i, k := range kids {
		var err error
		if out[i], err = substitute(k, defs); err != nil {
			return nil, err
		}
	}
	return e.WithChildren(out...)
}

// dropIdentityProject removes a projection that passes its input through unchanged.
func dropIdentityProject(n Node) (Node, error) {
	p, ok := n.(*Project)
	if !ok {
		return n, nil
	}
	in := p.Input.Schema()
	if len(p.Exprs) != in.NumFields() {
		return n, nil
	}
	for i, e := range p.Exprs {
		c, ok := e.Expr.(*Column)
		if !ok || c.Name != e.Name || in.Field(i).Name != e.Name {
			return n, nil
		}
	}
	return p.Input, nil
}
