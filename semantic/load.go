package semantic

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"go.yaml.in/yaml/v3"
)

// SchemaResolver reports the schema of a model's source table; the server backs it with the demo
// dataset and files (and later warehouses).
//
// The loaders call TableSchema once for each model, one call at a time, while they load. An error
// is shown to the author at the model's source; return an *UnknownTableError for a table the
// connection does not have, so that the loader can suggest the nearest name.
type SchemaResolver interface {
	TableSchema(ctx context.Context, src Source) (*arrow.Schema, error)
}

// UnknownTableError is the error a SchemaResolver returns for a source naming a table that its
// connection does not have.
type UnknownTableError struct {
	Connection string
	Table      string
	// Tables lists the tables the connection does have; the loader suggests one of them.
	Tables []string
}

func (e *UnknownTableError) Error() string {
	return fmt.Sprintf("connection %s has no table %s", e.Connection, e.Table)
}

// LoadDir loads and validates the definitions in every *.yaml and *.yml file under dir. Positions
// in problems name files as filepath.Join(dir, name), and a model's relative file source is
// resolved against dir.
//
// When anything is wrong it returns a nil Catalog and a Problems error listing every problem
// found; any other error means the definitions could not be read at all.
func LoadDir(ctx context.Context, dir string, r SchemaResolver) (*Catalog, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("load definitions: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("load definitions: %s is not a directory", dir)
	}
	l := &loader{ctx: ctx, resolver: r, fileBase: dir,
		display: func(name string) string { return filepath.Join(dir, filepath.FromSlash(name)) }}
	return l.load(os.DirFS(dir))
}

// LoadFS loads and validates the definitions in every *.yaml and *.yml file of fsys, recursively,
// in lexical order of their paths. Positions in problems name files by their path in fsys, and a
// model's relative file source is left relative to the root of fsys.
//
// When anything is wrong it returns a nil Catalog and a Problems error listing every problem
// found; any other error means the definitions could not be read at all.
func LoadFS(ctx context.Context, fsys fs.FS, r SchemaResolver) (*Catalog, error) {
	l := &loader{ctx: ctx, resolver: r, display: func(name string) string { return name }}
	return l.load(fsys)
}

// LoadDefinitions loads and validates definitions kept one by one (see SplitDefinitions), as
// LoadDir loads files: problems name each definition as the file "metrics/gmv_paid.yaml", and a
// model's relative file source is resolved against fileBase (left as written when "").
func LoadDefinitions(ctx context.Context, defs []Definition, r SchemaResolver, fileBase string) (*Catalog, error) {
	return loadDefinitions(ctx, defs, r, fileBase, nil)
}

// loader holds the state of one load: the definitions read so far, with the YAML nodes they came
// from, and the problems found.
type loader struct {
	ctx      context.Context
	resolver SchemaResolver
	// fileBase is the directory relative file sources are joined to; "" leaves them as written.
	fileBase string
	display  func(name string) string

	problems Problems
	// incomplete is set when a file could not be parsed; references to names it might have
	// defined are then not reported, since they would most likely be false alarms.
	incomplete bool
	// graphIncomplete is set when a relationship could not be resolved; whether filters can
	// reach their dimensions is then not checked, since the join graph lacks an edge.
	graphIncomplete bool

	connections []*connectionDef
	domains     []*domainDef
	models      []*modelDef
	metrics     []*metricDef

	// quality holds the quality rules the models and metrics declare, in the order read.
	quality []*qualityDef

	connectionByName map[string]*connectionDef
	domainByName     map[string]*domainDef
	modelByName      map[string]*modelDef
	metricByName     map[string]*metricDef
}

func (l *loader) report(p Pos, hint, format string, args ...any) {
	l.problems = append(l.problems, Problem{Pos: p, Message: fmt.Sprintf(format, args...), Hint: hint})
}

func (l *loader) load(fsys fs.FS) (*Catalog, error) {
	if l.resolver == nil {
		return nil, errors.New("load definitions: no schema resolver")
	}
	names, err := DefinitionFileNames(fsys)
	if err != nil {
		return nil, fmt.Errorf("load definitions: %w", err)
	}
	for _, name := range names {
		if err := l.ctx.Err(); err != nil {
			return nil, fmt.Errorf("load definitions: %w", err)
		}
		l.readFile(fsys, name)
	}
	return l.check()
}

// check checks the definitions read, as a whole, and returns their catalog, or every problem.
func (l *loader) check() (*Catalog, error) {
	l.registerNames()
	if err := l.openConnections(); err != nil {
		return nil, err
	}
	if err := l.checkModels(); err != nil {
		return nil, err
	}
	l.checkRelationships()
	l.checkMetrics()
	l.checkQuality()

	if len(l.problems) > 0 {
		sortProblems(l.problems)
		return nil, l.problems
	}
	cat := l.catalog()
	if l.checkQualityChecks(cat); len(l.problems) > 0 {
		sortProblems(l.problems)
		return nil, l.problems
	}
	return cat, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (l *loader) readFile(fsys fs.FS, name string) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		l.report(Pos{File: l.display(name)}, "", "cannot read the file: %v", err)
		l.incomplete = true
		return
	}
	l.readParsed(parseFile(l.display(name), data))
}

// parsedFile is a definitions file parsed: its documents, and the problem that stopped the
// parse, if one did. Loaders only read it, so one parse may serve many loads.
type parsedFile struct {
	file *defFile
	docs []*yaml.Node
	// problem, when not nil, is the invalid YAML that ended the file after docs.
	problem *Problem
}

// parseFile parses a definitions file's documents.
func parseFile(name string, data []byte) *parsedFile {
	f := &defFile{name: name}
	f.lines = strings.Split(string(data), "\n")
	for i, s := range f.lines {
		f.lines[i] = strings.TrimSuffix(s, "\r")
	}
	pf := &parsedFile{file: f}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		doc := &yaml.Node{}
		err := dec.Decode(doc)
		if errors.Is(err, io.EOF) {
			return pf
		}
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "yaml: ")
			p := Pos{File: f.name}
			if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
				// yaml reports a line but no column; point at the line's first character.
				line, _ := strconv.Atoi(m[1])
				p.Line, p.Col, msg = line, 1, m[2]
				if line >= 1 && line <= len(f.lines) {
					text := f.lines[line-1]
					p.Col += utf8.RuneCountInString(text) - utf8.RuneCountInString(strings.TrimLeft(text, " \t"))
				}
			}
			pf.problem = &Problem{Pos: p, Message: "invalid YAML: " + msg}
			return pf
		}
		pf.docs = append(pf.docs, doc)
	}
}

// readParsed reads the definitions of a parsed file.
func (l *loader) readParsed(pf *parsedFile) {
	for _, doc := range pf.docs {
		l.readDocument(pf.file, doc)
	}
	if pf.problem != nil {
		l.incomplete = true
		l.problems = append(l.problems, *pf.problem)
	}
}

var topKeys = []string{"connections", "domains", "models", "metrics"}

func (l *loader) readDocument(f *defFile, doc *yaml.Node) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || isNull(resolve(doc.Content[0])) {
		return
	}
	top := l.object(f, doc.Content[0], "a definitions file", "a mapping with connections, domains, models and metrics", topKeys)
	if top == nil {
		return
	}
	for _, n := range l.list(f, top.get("connections"), "connections") {
		l.readConnection(f, n)
	}
	for _, n := range l.list(f, top.get("domains"), "domains") {
		l.readDomain(f, n)
	}
	for _, n := range l.list(f, top.get("models"), "models") {
		l.readModel(f, n)
	}
	for _, n := range l.list(f, top.get("metrics"), "metrics") {
		l.readMetric(f, n)
	}
}

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// checkName reports a name that is not snake_case. The name is still used, so that references to
// it do not also fail.
func (l *loader) checkName(f *defFile, n *yaml.Node, kind, name string) {
	if namePattern.MatchString(name) {
		return
	}
	hint := "names start with a lowercase letter and hold only a-z, 0-9 and _"
	if s := snakeCase(name); s != "" && namePattern.MatchString(s) {
		hint += ": " + s
	}
	l.report(f.pos(n), hint, "%s name %q is not snake_case", kind, name)
}

// snakeCase suggests a snake_case spelling of name.
func snakeCase(name string) string {
	var b strings.Builder
	prevUnderscore := true
	for i, r := range name {
		switch {
		case r >= 'A' && r <= 'Z':
			if i > 0 && !prevUnderscore {
				b.WriteByte('_')
			}
			b.WriteRune(r + 'a' - 'A')
			prevUnderscore = false
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			prevUnderscore = false
		default:
			if !prevUnderscore {
				b.WriteByte('_')
				prevUnderscore = true
			}
		}
	}
	return strings.TrimRight(b.String(), "_")
}

// requireName reads the name of a definition, reporting it missing or badly formed.
func (l *loader) requireName(m *fields, kind string) (string, *yaml.Node) {
	name, n := l.str(m, "name")
	if n == nil {
		if m.missing("name") {
			l.report(m.f.pos(m.node), "", "%s has no name", m.what)
		}
		return "", nil
	}
	l.checkName(m.f, n, kind, name)
	return name, n
}

// registerNames indexes domains, models and metrics by name, reporting duplicates. The first of
// two definitions with one name wins; the second is dropped so that it causes no further
// problems.
func (l *loader) registerNames() {
	l.connectionByName = map[string]*connectionDef{}
	l.connections = registerUnique(l, l.connections, "connection", l.connectionByName,
		func(c *connectionDef) (string, Pos) { return c.c.Name, c.f.pos(c.nameNode) })
	l.domainByName = map[string]*domainDef{}
	l.modelByName = map[string]*modelDef{}
	l.metricByName = map[string]*metricDef{}
	l.domains = registerUnique(l, l.domains, "domain", l.domainByName,
		func(d *domainDef) (string, Pos) { return d.d.Name, d.f.pos(d.nameNode) })
	l.models = registerUnique(l, l.models, "model", l.modelByName,
		func(m *modelDef) (string, Pos) { return m.m.Name, m.f.pos(m.nameNode) })
	l.metrics = registerUnique(l, l.metrics, "metric", l.metricByName,
		func(m *metricDef) (string, Pos) { return m.m.Name, m.f.pos(m.nameNode) })
}

// registerUnique keeps the first definition of each name in byName, reports every later one as a
// duplicate of it, and returns the kept definitions in order. Definitions without a name were
// reported already and are dropped.
func registerUnique[T any](l *loader, defs []T, kind string, byName map[string]T, name func(T) (string, Pos)) []T {
	var kept []T
	for _, d := range defs {
		n, pos := name(d)
		if n == "" {
			continue
		}
		if first, dup := byName[n]; dup {
			_, firstPos := name(first)
			l.report(pos, "", "duplicate %s %s; the first is at %s", kind, n, firstPos)
			continue
		}
		byName[n] = d
		kept = append(kept, d)
	}
	return kept
}

func (l *loader) modelNames() []string  { return sortedKeys(l.modelByName) }
func (l *loader) metricNames() []string { return sortedKeys(l.metricByName) }

// catalog assembles the loaded definitions; it is called only when there is no problem.
func (l *loader) catalog() *Catalog {
	c := &Catalog{
		modelByName:  map[string]*DataModel{},
		metricByName: map[string]*Metric{},
		domainByName: map[string]*Domain{},
	}
	for _, d := range l.domains {
		c.domains = append(c.domains, d.d)
		c.domainByName[d.d.Name] = d.d
	}
	for _, cd := range l.connections {
		c.connections = append(c.connections, cd.c)
	}
	sort.Slice(c.connections, func(i, j int) bool { return c.connections[i].Name < c.connections[j].Name })
	for _, m := range l.models {
		c.models = append(c.models, m.m)
		c.modelByName[m.m.Name] = m.m
	}
	for _, m := range l.metrics {
		c.metrics = append(c.metrics, m.m)
		c.metricByName[m.m.Name] = m.m
	}
	sort.Slice(c.domains, func(i, j int) bool { return c.domains[i].Name < c.domains[j].Name })
	sort.Slice(c.models, func(i, j int) bool { return c.models[i].Name < c.models[j].Name })
	sort.Slice(c.metrics, func(i, j int) bool { return c.metrics[i].Name < c.metrics[j].Name })
	c.edges = buildEdges(c.models)
	c.quality, c.qualityByName = l.qualityRules()
	return c
}
