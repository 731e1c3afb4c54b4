package sqlexpr

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokNumber
	tokString
	tokIdent
	tokQuotedIdent
	tokKeyword
	tokPunct
	// tokAttribute is a user attribute placeholder, {user.NAME}; value is NAME.
	tokAttribute
	// tokError holds a lexical error; its text is the message.
	tokError
)

type token struct {
	kind tokenKind
	// text is the token as written; for keywords, upper-cased; for errors, the message.
	text string
	// value is the unquoted value of a string or quoted identifier.
	value string
	off   int
}

var keywords = map[string]bool{
	"AND": true, "OR": true, "NOT": true, "IS": true, "NULL": true, "IN": true, "BETWEEN": true,
	"TRUE": true, "FALSE": true, "CASE": true, "WHEN": true, "THEN": true, "ELSE": true, "END": true,
}

func isKeyword(s string) bool { return keywords[strings.ToUpper(s)] }

func isIdentStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) }
func isDigit(c byte) bool      { return '0' <= c && c <= '9' }

// lex splits src into tokens, ending with tokEOF, or with tokError at the first character that
// starts no token.
func lex(src string) []token {
	var toks []token
	i := 0
	for {
		for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r') {
			i++
		}
		if i == len(src) {
			return append(toks, token{kind: tokEOF, off: i})
		}
		t, next := lexOne(src, i)
		toks = append(toks, t)
		if t.kind == tokError {
			return toks
		}
		i = next
	}
}

func lexOne(src string, i int) (token, int) {
	c := src[i]
	switch {
	case isDigit(c) || c == '.' && i+1 < len(src) && isDigit(src[i+1]):
		j := i
		for j < len(src) && isDigit(src[j]) {
			j++
		}
		if j < len(src) && src[j] == '.' {
			j++
			for j < len(src) && isDigit(src[j]) {
				j++
			}
		}
		if j < len(src) && (isIdentPart(src[j]) || src[j] == '.') {
			k := j
			for k < len(src) && (isIdentPart(src[k]) || src[k] == '.') {
				k++
			}
			return token{kind: tokError, off: i, text: fmt.Sprintf("malformed number %s", src[i:k])}, k
		}
		return token{kind: tokNumber, text: src[i:j], off: i}, j
	case isIdentStart(c):
		j := i + 1
		for j < len(src) && isIdentPart(src[j]) {
			j++
		}
		word := src[i:j]
		if isKeyword(word) {
			return token{kind: tokKeyword, text: strings.ToUpper(word), off: i}, j
		}
		return token{kind: tokIdent, text: word, value: word, off: i}, j
	case c == '\'' || c == '"':
		value, end, ok := lexQuoted(src, i)
		if !ok {
			what := "string"
			if c == '"' {
				what = "quoted name"
			}
			return token{kind: tokError, off: i, text: fmt.Sprintf("unterminated %s: add the closing %c", what, c)}, len(src)
		}
		kind := tokString
		if c == '"' {
			kind = tokQuotedIdent
			if value == "" {
				return token{kind: tokError, off: i, text: `empty quoted name ""`}, end
			}
		}
		return token{kind: kind, text: src[i:end], value: value, off: i}, end
	}
	if c == '{' {
		return lexAttribute(src, i)
	}
	for _, op := range []string{"<=", ">=", "<>", "!="} {
		if strings.HasPrefix(src[i:], op) {
			return token{kind: tokPunct, text: op, off: i}, i + 2
		}
	}
	if strings.IndexByte("+-*/(),.=<>", c) >= 0 {
		return token{kind: tokPunct, text: string(c), off: i}, i + 1
	}
	r := []rune(src[i:min(len(src), i+4)])[0]
	msg := fmt.Sprintf("unexpected character %q", r)
	switch c {
	case ';':
		msg += "; an expression is not a statement and needs no ;"
	case '`':
		msg += `; quote names with " as in "Order Date"`
	case '|', '%', '^', '&', '[', ']', '}', '?', ':':
		msg += "; supported operators are + - * / = <> != < <= > >= AND OR NOT"
	}
	return token{kind: tokError, off: i, text: msg}, i + 1
}

// AttributeNamespace is the prefix of a user attribute placeholder: {user.region}.
const AttributeNamespace = "user"

// lexAttribute reads a placeholder {user.NAME} starting at src[i], spaces allowed inside the
// braces.
func lexAttribute(src string, i int) (token, int) {
	end := strings.IndexByte(src[i:], '}')
	if end < 0 {
		return token{kind: tokError, off: i, text: "unterminated placeholder: write a user attribute as {user.NAME}, such as {user.region}"}, len(src)
	}
	end += i + 1
	inner := strings.TrimSpace(src[i+1 : end-1])
	ns, name, ok := strings.Cut(inner, ".")
	if !ok || ns != AttributeNamespace || name == "" || !isPlainIdent(name) {
		return token{kind: tokError, off: i, text: fmt.Sprintf("placeholder %s is not a user attribute; write {user.NAME}, such as {user.region}", src[i:end])}, end
	}
	return token{kind: tokAttribute, text: src[i:end], value: name, off: i}, end
}

// lexQuoted reads a string or quoted name starting at src[i], where a doubled quote stands for one.
func lexQuoted(src string, i int) (value string, end int, ok bool) {
	q := src[i]
	var b strings.Builder
	for j := i + 1; j < len(src); j++ {
		if src[j] != q {
			b.WriteByte(src[j])
			continue
		}
		if j+1 < len(src) && src[j+1] == q {
			b.WriteByte(q)
			j++
			continue
		}
		return b.String(), j + 1, true
	}
	return "", len(src), false
}

// describe names a token in an error message.
func describe(t token) string {
	if t.kind == tokEOF {
		return "end of expression"
	}
	const limit = 20
	if utf8.RuneCountInString(t.text) <= limit {
		return t.text
	}
	return string([]rune(t.text)[:limit]) + "…"
}
