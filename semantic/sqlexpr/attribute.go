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
	one := func(x Node) (Node, error) { return ReplaceAttributes(x, values) }
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
		x, err := one(n.X)
		if err != nil {
			return nil, err
		}
		c := *n
		c.X = x
		return &c, nil
	case *Binary:
		l, err := one(n.Left)
		if err != nil {
			return nil, err
		}
		r, err := one(n.Right)
		if err != nil {
			return nil, err
		}
		c := *n
		c.Left, c.Right = l, r
		return &c, nil
	case *IsNull:
		x, err := one(n.X)
		if err != nil {
			return nil, err
		}
		c := *n
		c.X = x
		return &c, nil
	case *In:
		x, err := one(n.X)
		if err != nil {
			return nil, err
		}
		var list []Node
		for _, item := range n.List {
			if a, ok := item.(*Attribute); ok {
				v, err := values(a)
				if err != nil {
					return nil, err
				}
				list = append(list, v...)
				continue
			}
			y, err := one(item)
			if err != nil {
				return nil, err
			}
			list = append(list, y)
		}
		if len(list) == 0 {
			return &Bool{Offset: n.Offset, Value: n.Not}, nil
		}
		c := *n
		c.X, c.List = x, list
		return &c, nil
	case *Between:
		x, err := one(n.X)
		if err != nil {
			return nil, err
		}
		lo, err := one(n.Low)
		if err != nil {
			return nil, err
		}
		hi, err := one(n.High)
		if err != nil {
			return nil, err
		}
		c := *n
		c.X, c.Low, c.High = x, lo, hi
		return &c, nil
	case *Call:
		args := make([]Node, len(n.Args))
		for i, a := range n.Args {
			var err error
			if args[i], err = one(a); err != nil {
				return nil, err
			}
		}
		c := *n
		c.Args = args
		return &c, nil
	case *Case:
		c := *n
		c.Whens = make([]When, len(n.Whens))
		for i, w := range n.Whens {
			cond, err := one(w.Cond)
			if err != nil {
				return nil, err
			}
			then, err := one(w.Then)
			if err != nil {
				return nil, err
			}
			c.Whens[i] = When{Cond: cond, Then: then}
		}
		if n.Else != nil {
			els, err := one(n.Else)
			if err != nil {
				return nil, err
			}
			c.Else = els
		}
		return &c, nil
	}
	return n, nil
}
