package sqlexpr

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		src  string
		want string
	}{
		{"amount", "amount"},
		{"orders.amount", "orders.amount"},
		{`"Order Date"`, `"Order Date"`},
		{`"say ""hi"""`, `"say ""hi"""`},
		{`"end"`, `"end"`},
		{"42", "42"},
		{"0.9", "0.9"},
		{".5", ".5"},
		{"'it''s'", "'it''s'"},
		{"true", "TRUE"},
		{"False", "FALSE"},
		{"null", "NULL"},
		{"amount - coalesce(coupon_amount, 0)", "(amount - coalesce(coupon_amount, 0))"},
		{"region = {user.region}", "(region = {user.region})"},
		{"region = { user.region }", "(region = {user.region})"},
		{"region IN {user.regions}", "(region IN ({user.regions}))"},
		{"region NOT IN ({user.region}, 'east')", "(region NOT IN ({user.region}, 'east'))"},
		{"COALESCE(a, b, 1)", "coalesce(a, b, 1)"},
		{"a + b * c", "(a + (b * c))"},
		{"a * b + c", "((a * b) + c)"},
		{"a - b - c", "((a - b) - c)"},
		{"a / b / c", "((a / b) / c)"},
		{"(a + b) * c", "((a + b) * c)"},
		{"-a * b", "((-a) * b)"},
		{"- -1", "(-(-1))"},
		{"a = 1 or b = 2 and c = 3", "((a = 1) OR ((b = 2) AND (c = 3)))"},
		{"not a = 1 and b", "((NOT (a = 1)) AND b)"},
		{"not not a", "(NOT (NOT a))"},
		{"a <> 1", "(a <> 1)"},
		{"a != 1", "(a <> 1)"},
		{"a<=b", "(a <= b)"},
		{"a >= b + 1", "(a >= (b + 1))"},
		{"a < b", "(a < b)"},
		{"a > b", "(a > b)"},
		{"paid_at IS NULL", "(paid_at IS NULL)"},
		{"paid_at is not null", "(paid_at IS NOT NULL)"},
		{"status IN ('paid', 'shipped')", "(status IN ('paid', 'shipped'))"},
		{"status not in ('x')", "(status NOT IN ('x'))"},
		{"x BETWEEN 1 AND 2 AND y", "((x BETWEEN 1 AND 2) AND y)"},
		{"x not between a + 1 and b", "(x NOT BETWEEN (a + 1) AND b)"},
		{"CASE WHEN a > 1 THEN 'big' WHEN a > 0 THEN 'small' ELSE 'none' END", "CASE WHEN (a > 1) THEN 'big' WHEN (a > 0) THEN 'small' ELSE 'none' END"},
		{"case when a then 1 end", "CASE WHEN a THEN 1 END"},
		{"  amount\n\t* 2 ", "(amount * 2)"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			n, err := Parse(tt.src)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.src, err)
			}
			if got := n.String(); got != tt.want {
				t.Errorf("Parse(%q) = %s, want %s", tt.src, got, tt.want)
			}
			again, err := Parse(n.String())
			if err != nil {
				t.Fatalf("Parse(%q) (the printed tree): %v", n.String(), err)
			}
			if again.String() != n.String() {
				t.Errorf("printed tree %s parses to %s", n, again)
			}
		})
	}
}

func TestParseOffsets(t *testing.T) {
	n, err := Parse("x + orders.amount * 2")
	if err != nil {
		t.Fatal(err)
	}
	add := n.(*Binary)
	mul := add.Right.(*Binary)
	id := mul.Left.(*Ident)
	tests := []struct {
		name      string
		got, want int
	}{
		{"add", add.Offset, 0},
		{"add operator", add.OpOffset, 2},
		{"mul", mul.Offset, 4},
		{"mul operator", mul.OpOffset, 18},
		{"qualified name", id.Offset, 4},
		{"name after the dot", id.NameOffset, 11},
		{"number", mul.Right.Pos(), 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("offset %d, want %d", tt.got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		src    string
		offset int
		msg    string
	}{
		{"", 0, "empty expression"},
		{"   ", 3, "empty expression"},
		{"a +", 3, "unexpected end of expression after +"},
		{"coalesce(a", 10, "expected , or ) to close the coalesce list opened at offset 8"},
		{"(a + b", 6, "expected ) to close ( at offset 0"},
		{"a * (b + c", 10, "expected ) to close ( at offset 4"},
		{"(a + b c", 7, "expected ) to close ( at offset 0, found c"},
		{")", 0, "unexpected ) at the start of the expression"},
		{"a + )", 4, "unexpected ) after +"},
		{"a b", 2, "unexpected b after a; expected an operator or the end of the expression"},
		{"a = 1 = 2", 6, "unexpected = after 1; expected an operator or the end of the expression"},
		{"sum(amount)", 0, "unknown function sum; the supported functions are: coalesce"},
		{"coalesce()", 9, "coalesce needs at least one argument"},
		{"'abc", 0, "unterminated string: add the closing '"},
		{`"abc`, 0, `unterminated quoted name: add the closing "`},
		{`""`, 0, `empty quoted name ""`},
		{"a # b", 2, "unexpected character '#'"},
		{"a;", 1, "unexpected character ';'; an expression is not a statement and needs no ;"},
		{"a + 1x", 4, "malformed number 1x"},
		{"1.2.3", 0, "malformed number 1.2.3"},
		{"a.b.c", 3, "a name has at most two parts (model.column); a.b is followed by another ."},
		{"a.", 2, "expected a column name after a., found end of expression"},
		{"a IS 1", 5, "expected NULL or NOT NULL after IS, found 1"},
		{"a IS NOT 1", 9, "expected NULL after IS NOT, found 1"},
		{"a NOT LIKE 'x'", 6, "expected IN or BETWEEN after NOT, found LIKE"},
		{"a IN 1", 5, "expected ( after IN, found 1"},
		{"region = {region}", 9, "placeholder {region} is not a user attribute; write {user.NAME}, such as {user.region}"},
		{"region = {usr.region}", 9, "placeholder {usr.region} is not a user attribute; write {user.NAME}, such as {user.region}"},
		{"region = {user.}", 9, "placeholder {user.} is not a user attribute; write {user.NAME}, such as {user.region}"},
		{"region = {user.a-b}", 9, "placeholder {user.a-b} is not a user attribute; write {user.NAME}, such as {user.region}"},
		{"region = {user.region", 9, "unterminated placeholder: write a user attribute as {user.NAME}, such as {user.region}"},
		{"a IN ()", 6, "an IN list needs at least one value"},
		{"a IN (1 2)", 8, "expected , or ) to close the IN list opened at offset 5, found 2"},
		{"a BETWEEN 1 OR 2", 12, "expected AND between the bounds of BETWEEN, found OR"},
		{"CASE a WHEN 1 THEN 2 END", 5, "expected WHEN after CASE (only the CASE WHEN condition THEN value form is supported), found a"},
		{"CASE WHEN a 1 END", 12, "expected THEN after the WHEN condition, found 1"},
		{"CASE WHEN a THEN 1", 18, "expected END to close CASE at offset 0"},
		{"CASE WHEN a THEN 1 2", 19, "expected WHEN, ELSE or END to continue the CASE at offset 0, found 2"},
		{"a AND", 5, "unexpected end of expression after AND"},
		{"NOT", 3, "unexpected end of expression after NOT"},
		{"select", 0, ""},
		{"'a very long string that goes on' +", 35, "unexpected end of expression after +"},
		{"1 + 'a very long string that goes on' x", 38, "unexpected x after 'a very long string …; expected an operator or the end of the expression"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			n, err := Parse(tt.src)
			if tt.msg == "" {
				// Not an error: the case documents that unknown words are names.
				if err != nil {
					t.Fatalf("Parse(%q): %v", tt.src, err)
				}
				return
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) = %v, %v; want a *SyntaxError", tt.src, n, err)
			}
			if se.Offset != tt.offset || se.Msg != tt.msg {
				t.Errorf("Parse(%q) error at %d: %q\nwant at %d: %q", tt.src, se.Offset, se.Msg, tt.offset, tt.msg)
			}
		})
	}
}

func TestParseDepthLimit(t *testing.T) {
	src := ""
	for range maxDepth + 10 {
		src += "("
	}
	src += "1"
	_, err := Parse(src)
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("Parse of %d nested parentheses = %v, want a *SyntaxError", maxDepth+10, err)
	}
}

func TestWalk(t *testing.T) {
	n, err := Parse("CASE WHEN a IN (b, 1) THEN coalesce(c, d) ELSE -e END BETWEEN f AND g")
	if err != nil {
		t.Fatal(err)
	}
	var names string
	Walk(n, func(x Node) bool {
		if id, ok := x.(*Ident); ok {
			names += id.Name
		}
		return true
	})
	if names != "abcdefg" {
		t.Errorf("Walk visited names %q, want abcdefg", names)
	}
}

// FuzzParse checks that Parse never panics, that errors point inside the source, and that a tree
// prints as an expression that parses back to the same tree.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"amount - coalesce(coupon_amount, 0)",
		"a = 1 or b in ('x', 'y') and not c between 1 and 2",
		"CASE WHEN a IS NOT NULL THEN \"Q\".b ELSE -1.5 END",
		"(((a)))",
		"'it''s' <> x",
		"a.b.c",
		"1.2.3",
		"coalesce(",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		n, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %v is not a *SyntaxError", src, err)
			}
			if se.Offset < 0 || se.Offset > len(src) {
				t.Fatalf("Parse(%q) error offset %d is outside the source", src, se.Offset)
			}
			return
		}
		Walk(n, func(x Node) bool {
			if x.Pos() < 0 || x.Pos() >= len(src) {
				t.Fatalf("Parse(%q): node %s at offset %d is outside the source", src, x, x.Pos())
			}
			return true
		})
		printed := n.String()
		again, err := Parse(printed)
		if err != nil {
			// Printing adds parentheses, which can push a tree past the depth limit.
			var se *SyntaxError
			if errors.As(err, &se) && se.Msg == "expression nested more than 200 levels deep" {
				return
			}
			t.Fatalf("Parse(%q) printed as %q, which does not parse: %v", src, printed, err)
		}
		if again.String() != printed {
			t.Fatalf("Parse(%q) printed as %q, which parses to %q", src, printed, again.String())
		}
	})
}
