package semantic

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"reflect"
	"sort"
	"strings"
	"testing/fstest"

	"go.yaml.in/yaml/v3"

	"github.com/koujing/koujing/semantic/store"
)

// Definition is one definition on its own — a domain, a data model with its dimensions and
// measures, a metric, or a connection — as the metadata store keeps it: the YAML mapping users
// write as an item of the list of its kind.
type Definition struct {
	Kind store.Kind
	Name string
	YAML string
}

// Key names the definition within all definitions: "metric:gmv_paid".
func (d Definition) Key() string { return string(d.Kind) + ":" + d.Name }

// Hash is the SHA-256, in hex, of the definition's canonical form: its values with keys sorted,
// as JSON. Formatting, comments and the order of keys do not change it; any value does.
func (d Definition) Hash() (string, error) {
	c, err := canonical(d.YAML)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(c)
	return hex.EncodeToString(sum[:]), nil
}

// listKeys maps each top-level key of a definitions file to the kind of its items, in the order
// files list them.
var listKeys = []struct {
	key  string
	kind store.Kind
}{
	{"connections", store.KindConnection},
	{"domains", store.KindDomain},
	{"models", store.KindModel},
	{"metrics", store.KindMetric},
}

// SplitDefinitions reads every *.yaml and *.yml file of fsys, as LoadFS does, and returns each
// definition on its own, sorted by kind and name. It does not validate them (LoadFS does); it
// fails only on files it cannot read as definitions at all: YAML that does not parse, a list
// item without a name, a name defined twice.
func SplitDefinitions(fsys fs.FS) ([]Definition, error) {
	names, err := DefinitionFileNames(fsys)
	if err != nil {
		return nil, fmt.Errorf("read definitions: %w", err)
	}
	var out []Definition
	seen := map[string]string{}
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read definitions: %w", err)
		}
		defs, err := splitFile(data)
		if err != nil {
			return nil, fmt.Errorf("read definitions: %s: %w", name, err)
		}
		for _, def := range defs {
			if first, dup := seen[def.Key()]; dup {
				return nil, fmt.Errorf("read definitions: %s: %s %s is also defined in %s", name, def.Kind, def.Name, first)
			}
			seen[def.Key()] = name
			out = append(out, def)
		}
	}
	sortDefinitions(out)
	return out, nil
}

// DefinitionFileNames returns the paths of the definitions files of fsys, in lexical order:
// every *.yaml and *.yml file, recursively, but for hidden files and folders (.git, editor
// backups), which hold no definitions, and the naming rules (NamingRulesFile) at the root.
func DefinitionFileNames(fsys fs.FS) ([]string, error) {
	var names []string
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name != "." && strings.HasPrefix(path.Base(name), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		ext := strings.ToLower(path.Ext(name))
		if !d.IsDir() && (ext == ".yaml" || ext == ".yml") && name != NamingRulesFile {
			names = append(names, name)
		}
		return nil
	})
	sort.Strings(names)
	return names, err
}

func sortDefinitions(defs []Definition) {
	sort.Slice(defs, func(i, j int) bool {
		if defs[i].Kind != defs[j].Kind {
			return kindOrder(defs[i].Kind) < kindOrder(defs[j].Kind)
		}
		return defs[i].Name < defs[j].Name
	})
}

func kindOrder(k store.Kind) int {
	for i, lk := range listKeys {
		if lk.kind == k {
			return i
		}
	}
	return len(listKeys)
}

// splitFile returns the definitions of one file's documents.
func splitFile(data []byte) ([]Definition, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []Definition
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
			continue
		}
		top := resolve(doc.Content[0])
		if isNull(top) {
			continue
		}
		if top.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("line %d: a definitions file is a mapping with connections, domains, models and metrics", top.Line)
		}
		for i := 0; i+1 < len(top.Content); i += 2 {
			key, list := top.Content[i].Value, resolve(top.Content[i+1])
			kind, ok := kindOfList(key)
			if !ok {
				return nil, fmt.Errorf("line %d: unknown key %q; a definitions file holds connections, domains, models and metrics", top.Content[i].Line, key)
			}
			if isNull(list) {
				continue
			}
			if list.Kind != yaml.SequenceNode {
				return nil, fmt.Errorf("line %d: %s is a list", list.Line, key)
			}
			for _, item := range list.Content {
				def, err := itemDefinition(kind, expandAliases(item))
				if err != nil {
					return nil, err
				}
				out = append(out, def)
			}
		}
	}
}

func kindOfList(key string) (store.Kind, bool) {
	for _, lk := range listKeys {
		if lk.key == key {
			return lk.kind, true
		}
	}
	return "", false
}

func itemDefinition(kind store.Kind, item *yaml.Node) (Definition, error) {
	if item.Kind != yaml.MappingNode {
		return Definition{}, fmt.Errorf("line %d: a %s is a mapping", item.Line, kind)
	}
	name := ""
	for i := 0; i+1 < len(item.Content); i += 2 {
		if item.Content[i].Value == "name" {
			name = item.Content[i+1].Value
		}
	}
	if name == "" {
		return Definition{}, fmt.Errorf("line %d: a %s without a name", item.Line, kind)
	}
	// Written as people write definitions, indented by two.
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(item); err != nil {
		return Definition{}, fmt.Errorf("line %d: %w", item.Line, err)
	}
	if err := enc.Close(); err != nil {
		return Definition{}, err
	}
	return Definition{Kind: kind, Name: name, YAML: b.String()}, nil
}

// expandAliases returns a copy of n in which every alias is replaced by a copy of what it names,
// so that a definition split from its file stands on its own. Folded text of several lines is
// written back literally: yaml.v3 writes a folded scalar with a more-indented line (an
// expression laid out over lines) with a blank line added, which reads back as another value,
// so the definition would change each time it is written and read.
func expandAliases(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.AliasNode {
		return expandAliases(n.Alias)
	}
	c := *n
	c.Anchor = ""
	if c.Kind == yaml.ScalarNode && c.Style&yaml.FoldedStyle != 0 && strings.Contains(c.Value, "\n") {
		c.Style = c.Style&^yaml.FoldedStyle | yaml.LiteralStyle
	}
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = expandAliases(k)
	}
	return &c
}

// DefinitionFiles lays definitions out as files LoadFS reads: one file per definition, under a
// folder per kind ("metrics/gmv_paid.yaml"), so that a problem the loader finds names the
// definition it is in.
func DefinitionFiles(defs []Definition) fs.FS {
	files := fstest.MapFS{}
	for _, d := range defs {
		name, text := definitionFile(d)
		files[name] = &fstest.MapFile{Data: []byte(text)}
	}
	return files
}

// definitionFile returns the path and text of a definition's file, as DefinitionFiles lays it
// out.
func definitionFile(d Definition) (name, text string) {
	key := ""
	for _, lk := range listKeys {
		if lk.kind == d.Kind {
			key = lk.key
		}
	}
	var b strings.Builder
	b.Grow(len(key) + 2 + len(d.YAML) + 4*strings.Count(d.YAML, "\n") + 4)
	b.WriteString(key + ":\n")
	for _, line := range strings.SplitAfter(strings.TrimRight(d.YAML, "\n")+"\n", "\n") {
		if line == "" {
			continue
		}
		// A blank line stays blank: indented, it would be part of a block scalar's text.
		if line == "\n" {
			b.WriteString(line)
			continue
		}
		if b.Len() == len(key)+2 {
			b.WriteString("  - " + line)
		} else {
			b.WriteString("    " + line)
		}
	}
	return key + "/" + d.Name + ".yaml", b.String()
}

// canonical returns a YAML mapping's values as JSON with keys sorted.
func canonical(text string) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		return nil, err
	}
	return json.Marshal(jsonable(v))
}

// jsonable turns what yaml decodes into values encoding/json takes: maps with string keys.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonable(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = jsonable(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonable(e)
		}
		return out
	}
	return v
}

// FieldChange is one field that differs between two versions of a definition. Path names the
// field: "label", "filters[0].values", "dimensions[region].synonyms" (items of lists of named
// mappings are named, others numbered).
type FieldChange struct {
	Path string
	// Old and New are the field's values as JSON; "" where the field is absent.
	Old, New string
}

// DiffDefinitions returns the fields that differ between two versions of a definition, sorted by
// path. Either may be "" (the definition did not exist).
func DiffDefinitions(oldYAML, newYAML string) ([]FieldChange, error) {
	var a, b any
	if oldYAML != "" {
		if err := yaml.Unmarshal([]byte(oldYAML), &a); err != nil {
			return nil, err
		}
	}
	if newYAML != "" {
		if err := yaml.Unmarshal([]byte(newYAML), &b); err != nil {
			return nil, err
		}
	}
	var out []FieldChange
	diffValues("", jsonable(a), jsonable(b), &out)
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func diffValues(p string, a, b any, out *[]FieldChange) {
	am, aMap := a.(map[string]any)
	bm, bMap := b.(map[string]any)
	// A whole definition created or removed is listed field by field; a part of one, whole.
	if aMap && bMap || p == "" && (a == nil && bMap || aMap && b == nil) {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		for k := range keys {
			diffValues(joinPath(p, k), am[k], bm[k], out)
		}
		return
	}
	al, aList := a.([]any)
	bl, bList := b.([]any)
	if aList && bList {
		if ak, bk, ok := namedItems(al, bl); ok {
			names := map[string]bool{}
			for k := range ak {
				names[k] = true
			}
			for k := range bk {
				names[k] = true
			}
			for k := range names {
				diffValues(p+"["+k+"]", ak[k], bk[k], out)
			}
			return
		}
		if len(al) == len(bl) {
			for i := range al {
				diffValues(fmt.Sprintf("%s[%d]", p, i), al[i], bl[i], out)
			}
			return
		}
	}
	if reflect.DeepEqual(a, b) {
		return
	}
	*out = append(*out, FieldChange{Path: p, Old: jsonText(a), New: jsonText(b)})
}

// namedItems indexes two lists by the names of their items when every item is a mapping with a
// name.
func namedItems(a, b []any) (map[string]any, map[string]any, bool) {
	index := func(l []any) (map[string]any, bool) {
		out := map[string]any{}
		for _, x := range l {
			m, ok := x.(map[string]any)
			name, named := m["name"].(string)
			if !ok || !named {
				return nil, false
			}
			out[name] = m
		}
		return out, true
	}
	ai, ok1 := index(a)
	bi, ok2 := index(b)
	return ai, bi, ok1 && ok2 && len(a)+len(b) > 0
}

func joinPath(p, k string) string {
	if p == "" {
		return k
	}
	return p + "." + k
}

func jsonText(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
