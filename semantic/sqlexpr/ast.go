// Package sqlexpr parses the small SQL expression language that definitions are written in: the
// expressions of dimensions and measures ("amount - coalesce(coupon_amount, 0)") and the formulas
// of composite metrics ("gmv_paid / paid_order_count").
//
// The parser only builds a syntax tree; it knows nothing of columns or types. Every node carries
// the byte offset in the source where it starts, so that whoever binds the tree to a model can
// point at the exact place of a mistake.
package sqlexpr

import (
	"strings"

	"github.com/koujing/koujing/engine/plan"
)

// Node is a node of an expression's syntax tree.
//
// String prints the node back as an expression that parses to the same tree, with every operation
// parenthesised.
type Node interface {
	// Pos returns the byte offset in the source where the node starts.
	Pos() int
	String() string
	node()
}

var (
	_ Node = (*Ident)(nil)
	_ Node = (*Number)(nil)
	_ Node = (*String)(nil)
	_ Node = (*Bool)(nil)
	_ Node = (*Null)(nil)
	_ Node = (*Unary)(nil)
	_ Node = (*Binary)(nil)
	_ Node = (*IsNull)(nil)
	_ Node = (*In)(nil)
	_ Node = (*Between)(nil)
	_ Node = (*Call)(nil)
	_ Node = (*Case)(nil)
	_ Node = (*Attribute)(nil)
)

// Ident is a column or metric name, optionally qualified: region, orders.region, "Order Date".
type Ident struct {
	Offset int
	// Qualifier is the part before the dot of a qualified name, empty otherwise.
	Qualifier string
	Name      string
	// NameOffset is the byte offset of Name (after the dot when the name is qualified).
	NameOffset int
}

// Number is a numeric constant as written: 42, 0.9, .5.
type Number struct {
	Offset int
	Text   string
}

// IsInteger reports whether the number has no fraction part.
func (n *Number) IsInteger() bool { return !strings.Contains(n.Text, ".") }

// String is a quoted string constant; Value has the quotes removed and each doubled quote read
// as one.
type String struct {
	Offset int
	Value  string
}

// Bool is TRUE or FALSE.
type Bool struct {
	Offset int
	Value  bool
}

// Null is the NULL constant.
type Null struct {
	Offset int
}

// UnaryOp is a prefix operator.
type UnaryOp int

// The prefix operators.
const (
	// Neg is unary minus.
	Neg UnaryOp = iota
	// Not is logical negation.
	Not
)

// Unary applies a prefix operator: -x or NOT x.
type Unary struct {
	Offset int
	Op     UnaryOp
	X      Node
}

// Binary applies an arithmetic, comparison or logical operator. Offset is where the left operand
// starts; OpOffset is where the operator is, which is where type errors are best reported.
type Binary struct {
	Offset      int
	Op          plan.BinaryOp
	OpOffset    int
	Left, Right Node
}

// IsNull is x IS NULL, or x IS NOT NULL when Not is set.
type IsNull struct {
	Offset int
	X      Node
	Not    bool
}

// In is x IN (list), or x NOT IN (list) when Not is set.
type In struct {
	Offset int
	X      Node
	List   []Node
	Not    bool
}

// Between is x BETWEEN Low AND High (inclusive), or its negation when Not is set.
type Between struct {
	Offset    int
	X         Node
	Low, High Node
	Not       bool
}

// Call is a function call. Name is lower-cased; only the functions in Functions parse.
type Call struct {
	Offset int
	Name   string
	Args   []Node
}

// When is one WHEN … THEN … branch of a Case.
type When struct {
	Cond, Then Node
}

// Attribute is a placeholder for an attribute of the user asking, {user.NAME}, which row filters
// are written with. Whoever binds the expression replaces it by the attribute's value, as a
// constant; in an IN list, a list attribute stands for all of its values. Definitions of
// dimensions and measures may not use it.
type Attribute struct {
	Offset int
	Name   string
}

// Case is CASE WHEN c THEN v … [ELSE v] END; Else is nil when there is no ELSE.
type Case struct {
	Offset int
	Whens  []When
	Else   Node
}

func (n *Ident) Pos() int     { return n.Offset }
func (n *Number) Pos() int    { return n.Offset }
func (n *String) Pos() int    { return n.Offset }
func (n *Bool) Pos() int      { return n.Offset }
func (n *Null) Pos() int      { return n.Offset }
func (n *Unary) Pos() int     { return n.Offset }
func (n *Binary) Pos() int    { return n.Offset }
func (n *IsNull) Pos() int    { return n.Offset }
func (n *In) Pos() int        { return n.Offset }
func (n *Between) Pos() int   { return n.Offset }
func (n *Call) Pos() int      { return n.Offset }
func (n *Case) Pos() int      { return n.Offset }
func (n *Attribute) Pos() int { return n.Offset }

func (*Ident) node()     {}
func (*Number) node()    {}
func (*String) node()    {}
func (*Bool) node()      {}
func (*Null) node()      {}
func (*Unary) node()     {}
func (*Binary) node()    {}
func (*IsNull) node()    {}
func (*In) node()        {}
func (*Between) node()   {}
func (*Call) node()      {}
func (*Case) node()      {}
func (*Attribute) node() {}

func (n *Ident) String() string {
	if n.Qualifier != "" {
		return quoteIdent(n.Qualifier) + "." + quoteIdent(n.Name)
	}
	return quoteIdent(n.Name)
}

func (n *Number) String() string { return n.Text }

func (n *String) String() string { return "'" + strings.ReplaceAll(n.Value, "'", "''") + "'" }

func (n *Bool) String() string {
	if n.Value {
		return "TRUE"
	}
	return "FALSE"
}

func (n *Null) String() string { return "NULL" }

func (n *Attribute) String() string { return "{" + AttributeNamespace + "." + n.Name + "}" }

func (n *Unary) String() string {
	if n.Op == Not {
		return "(NOT " + n.X.String() + ")"
	}
	return "(-" + n.X.String() + ")"
}

func (n *Binary) String() string {
	return "(" + n.Left.String() + " " + n.Op.String() + " " + n.Right.String() + ")"
}

func (n *IsNull) String() string {
	if n.Not {
		return "(" + n.X.String() + " IS NOT NULL)"
	}
	return "(" + n.X.String() + " IS NULL)"
}

func (n *In) String() string {
	var b strings.Builder
	b.WriteString("(")
	b.WriteString(n.X.String())
	if n.Not {
		b.WriteString(" NOT")
	}
	b.WriteString(" IN (")
	writeList(&b, n.List)
	b.WriteString("))")
	return b.String()
}

func (n *Between) String() string {
	not := ""
	if n.Not {
		not = " NOT"
	}
	return "(" + n.X.String() + not + " BETWEEN " + n.Low.String() + " AND " + n.High.String() + ")"
}

func (n *Call) String() string {
	var b strings.Builder
	b.WriteString(n.Name)
	b.WriteString("(")
	writeList(&b, n.Args)
	b.WriteString(")")
	return b.String()
}

func (n *Case) String() string {
	var b strings.Builder
	b.WriteString("CASE")
	for _, w := range n.Whens {
		b.WriteString(" WHEN ")
		b.WriteString(w.Cond.String())
		b.WriteString(" THEN ")
		b.WriteString(w.Then.String())
	}
	if n.Else != nil {
		b.WriteString(" ELSE ")
		b.WriteString(n.Else.String())
	}
	b.WriteString(" END")
	return b.String()
}

func writeList(b *strings.Builder, nodes []Node) {
	for i, n := range nodes {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(n.String())
	}
}

// quoteIdent returns name as written in an expression: bare when it is a plain identifier that is
// not a keyword, double-quoted otherwise.
func quoteIdent(name string) string {
	if isPlainIdent(name) && !isKeyword(name) {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

func isPlainIdent(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentPart(s[i]) {
			return false
		}
	}
	return true
}

// Walk calls fn for n and, while fn returns true, for each node below it, depth first, in source
// order.
func Walk(n Node, fn func(Node) bool) {
	if n == nil || !fn(n) {
		return
	}
	switch n := n.(type) {
	case *Unary:
		Walk(n.X, fn)
	case *Binary:
		Walk(n.Left, fn)
		Walk(n.Right, fn)
	case *IsNull:
		Walk(n.X, fn)
	case *In:
		Walk(n.X, fn)
		for _, x := range n.List {
			Walk(x, fn)
		}
	case *Between:
		Walk(n.X, fn)
		Walk(n.Low, fn)
		Walk(n.High, fn)
	case *Call:
		for _, x := range n.Args {
			Walk(x, fn)
		}
	case *Case:
		for _, w := range n.Whens {
			Walk(w.Cond, fn)
			Walk(w.Then, fn)
		}
		Walk(n.Else, fn)
	}
}
