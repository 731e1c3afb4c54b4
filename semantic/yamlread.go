package semantic

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// defFile is one definitions file: its name as reported in positions and its lines, kept to
// place errors inside expressions.
type defFile struct {
	name  string
	lines []string
}

func (f *defFile) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: f.name}
	}
	return Pos{File: f.name, Line: n.Line, Col: n.Column}
}

// offsetPos returns the position of the byte at offset off of scalar n's value. It is exact for
// scalars written on one line, plain or quoted without escapes; for anything else (block scalars,
// escapes, values folded over lines) it falls back to the scalar's start.
func (f *defFile) offsetPos(n *yaml.Node, off int) Pos {
	p := f.pos(n)
	if n.Kind != yaml.ScalarNode || n.Line < 1 || n.Line > len(f.lines) || off < 0 || off > len(n.Value) {
		return p
	}
	line := []rune(f.lines[n.Line-1])
	if n.Column < 1 || n.Column-1 > len(line) {
		return p
	}
	rest := string(line[n.Column-1:])
	var written, before string
	switch n.Style {
	case 0:
		written, before = n.Value, n.Value[:off]
	case yaml.SingleQuotedStyle:
		written = "'" + strings.ReplaceAll(n.Value, "'", "''") + "'"
		before = "'" + strings.ReplaceAll(n.Value[:off], "'", "''")
	case yaml.DoubleQuotedStyle:
		if strings.ContainsAny(n.Value, "\"\\\t") {
			return p
		}
		written, before = `"`+n.Value+`"`, `"`+n.Value[:off]
	default:
		return p
	}
	if !strings.HasPrefix(rest, written) {
		return p
	}
	p.Col += utf8.RuneCountInString(before)
	return p
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// kindName describes a node's kind in a message.
func kindName(n *yaml.Node) string {
	switch {
	case isNull(n):
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("the value %q", n.Value)
}

// fields is a mapping node read as an object with known keys.
type fields struct {
	f    *defFile
	node *yaml.Node
	// what names the object in messages: "model orders", "a dimension of model orders".
	what string
	vals map[string]*yaml.Node
	// misspelt is set when the mapping has an unknown key. A required key that is then missing is
	// not reported: it is most likely the misspelt one.
	misspelt bool
}

// missing reports whether a required key is absent (or null) and should be reported so.
func (m *fields) missing(key string) bool {
	return m.get(key) == nil && !m.misspelt
}

// get returns the value of key, or nil when the key is absent or null.
func (m *fields) get(key string) *yaml.Node {
	if m == nil {
		return nil
	}
	n := m.vals[key]
	if isNull(n) {
		return nil
	}
	return n
}

// object reads n as a mapping with the allowed keys, reporting a node of another kind, unknown
// keys and keys given twice. It returns nil when n is not a mapping.
func (l *loader) object(f *defFile, n *yaml.Node, what, expected string, allowed []string) *fields {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		l.report(f.pos(n), "", "%s must be %s, not %s", what, expected, kindName(n))
		return nil
	}
	m := &fields{f: f, node: n, what: what, vals: map[string]*yaml.Node{}}
	keyPos := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			l.report(f.pos(k), "", "a key of %s must be a name, not %s", what, kindName(k))
			continue
		}
		known := false
		for _, a := range allowed {
			known = known || a == k.Value
		}
		if !known {
			l.report(f.pos(k), suggestion(k.Value, allowed, "the keys are"), "unknown key %s in %s", k.Value, what)
			m.misspelt = true
			continue
		}
		if first, dup := keyPos[k.Value]; dup {
			l.report(f.pos(k), "", "key %s is given twice in %s; the first is at %s", k.Value, what, f.pos(first))
			continue
		}
		keyPos[k.Value] = k
		m.vals[k.Value] = v
	}
	return m
}

// peek returns the text of key in a mapping node, or "", so that problems found while reading the
// mapping can name it.
func peek(n *yaml.Node, key string) string {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind == yaml.ScalarNode && k.Value == key && v.Kind == yaml.ScalarNode && !isNull(v) {
			return v.Value
		}
	}
	return ""
}

// named returns prefix followed by the text of key in n, or unnamed when n has none.
func named(n *yaml.Node, key, prefix, unnamed string) string {
	if s := peek(n, key); s != "" {
		return prefix + s
	}
	return unnamed
}

// list returns the items of a sequence node, reporting a node of another kind.
func (l *loader) list(f *defFile, n *yaml.Node, what string) []*yaml.Node {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		l.report(f.pos(n), "write one item a line, each starting with \"- \"", "%s must be a list, not %s", what, kindName(n))
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = resolve(c)
	}
	return out
}

// str returns the text of key, "" when it is absent; a value that is not a scalar is reported.
func (l *loader) str(m *fields, key string) (string, *yaml.Node) {
	n := m.get(key)
	if n == nil {
		return "", nil
	}
	if n.Kind != yaml.ScalarNode {
		l.report(m.f.pos(n), "", "%s of %s must be text, not %s", key, m.what, kindName(n))
		return "", nil
	}
	return n.Value, n
}

// strList returns the texts of key, a list of scalars; with one set, a single scalar is read as a
// list of one.
func (l *loader) strList(m *fields, key string, one bool) ([]string, []*yaml.Node) {
	n := m.get(key)
	if n == nil {
		return nil, nil
	}
	if one && n.Kind == yaml.ScalarNode {
		return []string{n.Value}, []*yaml.Node{n}
	}
	if n.Kind != yaml.SequenceNode {
		if one {
			l.report(m.f.pos(n), "", "%s of %s must be a name or a list of names, not %s", key, m.what, kindName(n))
		} else {
			l.report(m.f.pos(n), "", "%s of %s must be a list, not %s", key, m.what, kindName(n))
		}
		return nil, nil
	}
	var vals []string
	var nodes []*yaml.Node
	for _, c := range n.Content {
		c = resolve(c)
		if c.Kind != yaml.ScalarNode || isNull(c) {
			l.report(m.f.pos(c), "", "each item of %s of %s must be text, not %s", key, m.what, kindName(c))
			continue
		}
		vals = append(vals, c.Value)
		nodes = append(nodes, c)
	}
	return vals, nodes
}

// sortedKeys returns the keys of a set, sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
