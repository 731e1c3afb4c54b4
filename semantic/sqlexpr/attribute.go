package sqlexpr

import "fmt"

// Attributes returns the attribute placeholders of n, in source order.
func Attributes(n Node) []*Attribute {
	var out []*Attribute
	Walk(n, func(x Node) bool {
		if a, ok := x.(*Attribute); ok {
			out = append(out, a)
		}
		return true
	})
	return out
}

// ListAttributeOutsideIn returns the first placeholder for which isList is true that is not an
// item of an IN list, where alone a list of values can stand; nil when there is none.
func ListAttributeOutsideIn(n Node, isList func(name string) bool) *Attribute {
	var bad *Attribute
	var walk func(x Node, inList bool)
	walk = func(x Node, inList bool) {
		if bad != nil || x == nil {
			return
		}
		switch x := x.(type) {
		case *Attribute:
			if !inList && isList(x.Name) {
				bad = x
			}
		case *In:
			walk(x.X, false)
			for _, item := range x.List {
				walk(item, true)
			}
		default:
			Walk(x, func(y Node) bool {
				if y == x {
					return true
				}
				walk(y, false)
				return false
			})
		}
	}
	walk(n, false)
	return bad
}

// ReplaceAttributes returns a copy of n with each attribute placeholder replaced by the constants
// values gives for it, leaving n as it was. A placeholder that is an item of an IN list may stand
// for any number of constants; elsewhere it must be exactly one. An IN list left empty becomes
// FALSE (NOT IN: TRUE), as "no values" means.
func ReplaceAttributes(n Node, values func(*Attribute) ([]Node, error)) (Node, error) {
	// replace replaces, in the copy being built, the nodes the pointers point to.
	replace := func(out Node, nodes ...*Node) (Node, error) {
		for _, p := range nodes {
			if *p == nil {
				continue
			}
			x, err := ReplaceAttributes(*p, values)
			if err != nil {
				return nil, err
			}
			*p = x
		}
		return out, nil
	}
	switch n := n.(type) {
	case *Attribute:
		v, err := values(n)
		if err != nil {
			return nil, err
		}
		if len(v) != 1 {
			return nil, fmt.Errorf("%s has %d values; only an IN list takes several", n, len(v))
		}
		return v[0], nil
	case *Unary:
		c := *n
		return replace(&c, &c.X)
	case *Binary:
		c := *n
		return replace(&c, &c.Left, &c.Right)
	case *IsNull:
		c := *n
		return replace(&c, &c.X)
	case *Between:
		c := *n
		return replace(&c, &c.X, &c.Low, &c.High)
	case *Call:
		c := *n
		c.Args = append([]Node(nil), n.Args...)
		ptrs := make([]*Node, len(c.Args))
		for i := range c.Args {
			ptrs[i] = &c.Args[i]
		}
		return replace(&c, ptrs...)
	case *Case:
		c := *n
		c.Whens = append([]When(nil), n.Whens...)
		ptrs := []*Node{&c.Else}
		for i := range c.Whens {
			ptrs = append(ptrs, &c.Whens[i].Cond, &c.Whens[i].Then)
		}
		return replace(&c, ptrs...)
	case *In:
		c := *n
		if _, err := replace(&c, &c.X); err != nil {
			return nil, err
		}
		c.List = nil
		for _, item := range n.List {
			if a, ok := item.(*Attribute); ok {
				v, err := values(a)
				if err != nil {
					return nil, err
				}
				c.List = append(c.List, v...)
				continue
			}
			y, err := ReplaceAttributes(item, values)
			if err != nil {
				return nil, err
			}
			c.List = append(c.List, y)
		}
		if len(c.List) == 0 {
			return &Bool{Offset: n.Offset, Value: n.Not}, nil
		}
		return &c, nil
	}
	return n, nil
}
