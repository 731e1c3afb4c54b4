package sqlexpr

import (
	"fmt"
	"strings"

	"github.com/koujing/koujing/engine/plan"
)

// SyntaxError is an expression that does not parse. Offset is the byte offset in the source of
// the token where parsing stopped; Msg says what was expected there.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("syntax error at offset %d: %s", e.Offset, e.Msg)
}

// Functions lists the functions expressions may call, by lower-case name.
var Functions = []string{"coalesce"}

// maxDepth bounds nesting so that a hostile expression cannot exhaust the stack.
const maxDepth = 200

// Parse parses src as one expression. Keywords are case-insensitive. An error is always a
// *SyntaxError.
//
// The grammar, loosest binding first: OR; AND; NOT; the predicates = <> != < <= > >=,
// IS [NOT] NULL, [NOT] IN (list) and [NOT] BETWEEN a AND b; + and -; * and /; unary minus; and
// the primaries: numbers, 'strings', TRUE, FALSE, NULL, names (plain, "double quoted", or
// qualified as model.column), function calls, parenthesised expressions and
// CASE WHEN c THEN v … [ELSE v] END. Row filters may also use user attribute placeholders,
// {user.NAME}, as constants and as IN's list: region IN {user.regions}.
func Parse(src string) (Node, error) {
	p := &parser{toks: lex(src)}
	if p.peek().kind == tokEOF {
		return nil, &SyntaxError{Offset: p.peek().off, Msg: "empty expression"}
	}
	n, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		if t.kind == tokError {
			return nil, &SyntaxError{Offset: t.off, Msg: t.text}
		}
		return nil, &SyntaxError{Offset: t.off, Msg: fmt.Sprintf("unexpected %s after %s; expected an operator or the end of the expression",
			describe(t), describe(p.prev()))}
	}
	return n, nil
}

type parser struct {
	toks  []token
	pos   int
	depth int
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) prev() token {
	if p.pos == 0 {
		return token{kind: tokEOF}
	}
	return p.toks[p.pos-1]
}

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF && t.kind != tokError {
		p.pos++
	}
	return t
}

func (p *parser) isKeyword(kw string) bool {
	t := p.peek()
	return t.kind == tokKeyword && t.text == kw
}

func (p *parser) isPunct(s string) bool {
	t := p.peek()
	return t.kind == tokPunct && t.text == s
}

// unexpected reports the current token where an operand or keyword was needed.
func (p *parser) unexpected() error {
	t := p.peek()
	if t.kind == tokError {
		return &SyntaxError{Offset: t.off, Msg: t.text}
	}
	if p.pos == 0 {
		return &SyntaxError{Offset: t.off, Msg: fmt.Sprintf("unexpected %s at the start of the expression", describe(t))}
	}
	return &SyntaxError{Offset: t.off, Msg: fmt.Sprintf("unexpected %s after %s", describe(t), describe(p.prev()))}
}

// expected reports that what is needed (a keyword or punctuation) is not the current token.
func (p *parser) expected(what string) error {
	t := p.peek()
	if t.kind == tokError {
		return &SyntaxError{Offset: t.off, Msg: t.text}
	}
	return &SyntaxError{Offset: t.off, Msg: fmt.Sprintf("%s, found %s", what, describe(t))}
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return &SyntaxError{Offset: p.peek().off, Msg: fmt.Sprintf("expression nested more than %d levels deep", maxDepth)}
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) parseExpr() (Node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	return p.parseOr()
}

func (p *parser) parseOr() (Node, error) {
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("OR") {
		op := p.next()
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		left = &Binary{Offset: left.Pos(), Op: plan.Or, OpOffset: op.off, Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) parseAnd() (Node, error) {
	left, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("AND") {
		op := p.next()
		right, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		left = &Binary{Offset: left.Pos(), Op: plan.And, OpOffset: op.off, Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) parseNot() (Node, error) {
	if !p.isKeyword("NOT") {
		return p.parsePredicate()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	op := p.next()
	x, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	return &Unary{Offset: op.off, Op: Not, X: x}, nil
}

var comparisons = map[string]plan.BinaryOp{
	"=": plan.Eq, "<>": plan.NotEq, "!=": plan.NotEq, "<": plan.Lt, "<=": plan.LtEq, ">": plan.Gt, ">=": plan.GtEq,
}

func (p *parser) parsePredicate() (Node, error) {
	x, err := p.parseAdditive()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	if op, ok := comparisons[t.text]; ok && t.kind == tokPunct {
		p.next()
		right, err := p.parseAdditive()
		if err != nil {
			return nil, err
		}
		return &Binary{Offset: x.Pos(), Op: op, OpOffset: t.off, Left: x, Right: right}, nil
	}
	if t.kind != tokKeyword {
		return x, nil
	}
	switch t.text {
	case "IS":
		p.next()
		not := false
		if p.isKeyword("NOT") {
			p.next()
			not = true
		}
		if !p.isKeyword("NULL") {
			if not {
				return nil, p.expected("expected NULL after IS NOT")
			}
			return nil, p.expected("expected NULL or NOT NULL after IS")
		}
		p.next()
		return &IsNull{Offset: x.Pos(), X: x, Not: not}, nil
	case "NOT":
		p.next()
		if !p.isKeyword("IN") && !p.isKeyword("BETWEEN") {
			return nil, p.expected("expected IN or BETWEEN after NOT")
		}
		return p.parseInOrBetween(x, true)
	case "IN", "BETWEEN":
		return p.parseInOrBetween(x, false)
	}
	return x, nil
}

func (p *parser) parseInOrBetween(x Node, not bool) (Node, error) {
	if p.next().text == "BETWEEN" {
		low, err := p.parseAdditive()
		if err != nil {
			return nil, err
		}
		if !p.isKeyword("AND") {
			return nil, p.expected("expected AND between the bounds of BETWEEN")
		}
		p.next()
		high, err := p.parseAdditive()
		if err != nil {
			return nil, err
		}
		return &Between{Offset: x.Pos(), X: x, Low: low, High: high, Not: not}, nil
	}
	if t := p.peek(); t.kind == tokAttribute {
		// x IN {user.regions}: the list attribute is the list.
		p.next()
		return &In{Offset: x.Pos(), X: x, List: []Node{&Attribute{Offset: t.off, Name: t.value}}, Not: not}, nil
	}
	if !p.isPunct("(") {
		return nil, p.expected("expected ( after IN")
	}
	list, err := p.parseList("IN")
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, &SyntaxError{Offset: p.prev().off, Msg: "an IN list needs at least one value"}
	}
	return &In{Offset: x.Pos(), X: x, List: list, Not: not}, nil
}

// parseList reads a parenthesised, comma-separated list of expressions, starting at its "(".
func (p *parser) parseList(what string) ([]Node, error) {
	open := p.next()
	var list []Node
	if p.isPunct(")") {
		p.next()
		return nil, nil
	}
	for {
		x, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		list = append(list, x)
		switch {
		case p.isPunct(","):
			p.next()
		case p.isPunct(")"):
			p.next()
			return list, nil
		default:
			return nil, p.closeParen(open, fmt.Sprintf("expected , or ) to close the %s list opened at offset %d", what, open.off))
		}
	}
}

// closeParen reports a missing ")", mentioning where the "(" was.
func (p *parser) closeParen(open token, msg string) error {
	t := p.peek()
	if t.kind == tokError {
		return &SyntaxError{Offset: t.off, Msg: t.text}
	}
	if t.kind == tokEOF {
		return &SyntaxError{Offset: t.off, Msg: msg}
	}
	return &SyntaxError{Offset: t.off, Msg: fmt.Sprintf("%s, found %s", msg, describe(t))}
}

func (p *parser) parseAdditive() (Node, error) {
	left, err := p.parseMultiplicative()
	if err != nil {
		return nil, err
	}
	for p.isPunct("+") || p.isPunct("-") {
		op := p.next()
		right, err := p.parseMultiplicative()
		if err != nil {
			return nil, err
		}
		o := plan.Add
		if op.text == "-" {
			o = plan.Sub
		}
		left = &Binary{Offset: left.Pos(), Op: o, OpOffset: op.off, Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) parseMultiplicative() (Node, error) {
	left, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for p.isPunct("*") || p.isPunct("/") {
		op := p.next()
		right, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		o := plan.Mul
		if op.text == "/" {
			o = plan.Div
		}
		left = &Binary{Offset: left.Pos(), Op: o, OpOffset: op.off, Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) parseUnary() (Node, error) {
	if !p.isPunct("-") {
		return p.parsePrimary()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	op := p.next()
	x, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	return &Unary{Offset: op.off, Op: Neg, X: x}, nil
}

func (p *parser) parsePrimary() (Node, error) {
	t := p.peek()
	switch t.kind {
	case tokNumber:
		p.next()
		return &Number{Offset: t.off, Text: t.text}, nil
	case tokString:
		p.next()
		return &String{Offset: t.off, Value: t.value}, nil
	case tokIdent, tokQuotedIdent:
		return p.parseName()
	case tokAttribute:
		p.next()
		return &Attribute{Offset: t.off, Name: t.value}, nil
	case tokKeyword:
		switch t.text {
		case "TRUE", "FALSE":
			p.next()
			return &Bool{Offset: t.off, Value: t.text == "TRUE"}, nil
		case "NULL":
			p.next()
			return &Null{Offset: t.off}, nil
		case "CASE":
			return p.parseCase()
		}
	case tokPunct:
		if t.text == "(" {
			open := p.next()
			x, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			if !p.isPunct(")") {
				return nil, p.closeParen(open, fmt.Sprintf("expected ) to close ( at offset %d", open.off))
			}
			p.next()
			return x, nil
		}
	}
	return nil, p.unexpected()
}

func (p *parser) parseName() (Node, error) {
	first := p.next()
	if first.kind == tokIdent && p.isPunct("(") {
		return p.parseCall(first)
	}
	id := &Ident{Offset: first.off, Name: first.value, NameOffset: first.off}
	if !p.isPunct(".") {
		return id, nil
	}
	p.next()
	second := p.peek()
	if second.kind != tokIdent && second.kind != tokQuotedIdent {
		return nil, p.expected(fmt.Sprintf("expected a column name after %s.", first.text))
	}
	p.next()
	id.Qualifier, id.Name, id.NameOffset = id.Name, second.value, second.off
	if p.isPunct(".") {
		return nil, &SyntaxError{Offset: p.peek().off, Msg: fmt.Sprintf("a name has at most two parts (model.column); %s.%s is followed by another .", first.text, second.text)}
	}
	return id, nil
}

func (p *parser) parseCall(name token) (Node, error) {
	fn := strings.ToLower(name.text)
	known := false
	for _, f := range Functions {
		known = known || f == fn
	}
	if !known {
		return nil, &SyntaxError{Offset: name.off, Msg: fmt.Sprintf("unknown function %s; the supported functions are: %s", name.text, strings.Join(Functions, ", "))}
	}
	args, err := p.parseList(fn)
	if err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return nil, &SyntaxError{Offset: p.prev().off, Msg: fn + " needs at least one argument"}
	}
	return &Call{Offset: name.off, Name: fn, Args: args}, nil
}

func (p *parser) parseCase() (Node, error) {
	start := p.next()
	c := &Case{Offset: start.off}
	if !p.isKeyword("WHEN") {
		return nil, p.expected("expected WHEN after CASE (only the CASE WHEN condition THEN value form is supported)")
	}
	for p.isKeyword("WHEN") {
		p.next()
		cond, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if !p.isKeyword("THEN") {
			return nil, p.expected("expected THEN after the WHEN condition")
		}
		p.next()
		then, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		c.Whens = append(c.Whens, When{Cond: cond, Then: then})
	}
	if p.isKeyword("ELSE") {
		p.next()
		els, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		c.Else = els
	}
	if !p.isKeyword("END") {
		if p.peek().kind == tokEOF {
			return nil, &SyntaxError{Offset: p.peek().off, Msg: fmt.Sprintf("expected END to close CASE at offset %d", start.off)}
		}
		return nil, p.expected(fmt.Sprintf("expected WHEN, ELSE or END to continue the CASE at offset %d", start.off))
	}
	p.next()
	return c, nil
}
