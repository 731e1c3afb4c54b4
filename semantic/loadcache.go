package semantic

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/koujing/koujing/semantic/store"
)

// parsedDefinitions remembers definitions parsed from their YAML, so that loading a catalog
// again — after every publication, for each gray release and pinned version, and to check a
// request before it publishes — parses only the definitions that changed: with 10,000 metrics,
// parsing is most of a load. Loads only read what is parsed, so one parse serves loads running
// at once. It is safe for concurrent use.
type parsedDefinitions struct {
	mu sync.Mutex
	// entries holds each name's parses, one per text a recent load used.
	entries map[parsedKey][]*parsedEntry
	// loads counts the loads; an entry no load has used in the last keepLoads is forgotten.
	loads int
}

// parsedKey names a definition. Its texts are told apart by comparing them, which is quick for
// the same text loaded again: the strings are the same.
type parsedKey struct {
	kind store.Kind
	name string
}

type parsedEntry struct {
	yaml     string
	file     *parsedFile
	lastLoad int

	// read holds the file's metrics as read, for a file that holds only metrics: reading
	// 10,000 metrics field by field is most of a load once they are parsed. Each load takes
	// copies, which its checks then complete.
	readOnce sync.Once
	read     *metricsRead
}

// metricsRead is what reading a file of metrics gave: the metrics, and the problems reported.
type metricsRead struct {
	metrics    []*metricDef
	quality    []*qualityDef
	problems   []Problem
	incomplete bool
}

// readMetrics reads the entry's file once; nil when the file holds anything but metrics.
func (e *parsedEntry) readMetrics() *metricsRead {
	e.readOnce.Do(func() {
		l := &loader{display: func(name string) string { return name }}
		l.readParsed(e.file)
		if len(l.connections)+len(l.domains)+len(l.models) == 0 {
			e.read = &metricsRead{metrics: l.metrics, quality: l.quality, problems: l.problems, incomplete: l.incomplete}
			// The metrics keep the nodes they report problems at; the rest of the document
			// would only cost every garbage collection a walk through it.
			// Loads read e.file only when e.read is nil, after readOnce.
			e.file = nil
		}
	})
	return e.read
}

// clone copies a metric as read, before any check completed it: what the checks set (what it is
// built from, its dependencies, its filters' dimensions) starts empty. Filters are never
// changed once read, and are shared.
func (md *metricDef) clone() *metricDef {
	c := *md
	m := *md.m
	c.m = &m
	c.deps = nil
	if len(md.filters) > 0 {
		c.filters = make([]*filterDef, len(md.filters))
		for i, fd := range md.filters {
			f := *fd
			f.dim = nil
			c.filters[i] = &f
		}
	}
	return &c
}

// keepLoads is how many loads an unused parse is kept for: enough for the catalogs built around
// one publication (the check, the reload, a few variants).
const keepLoads = 8

func newParsedDefinitions() *parsedDefinitions {
	return &parsedDefinitions{entries: map[parsedKey][]*parsedEntry{}}
}

// entry returns the entry of a definition, parsing its file if no recent load did.
func (c *parsedDefinitions) entry(d Definition, load int) *parsedEntry {
	key := parsedKey{d.Kind, d.Name}
	find := func() *parsedEntry {
		for _, e := range c.entries[key] {
			if e.yaml == d.YAML {
				e.lastLoad = load
				return e
			}
		}
		return nil
	}
	c.mu.Lock()
	e := find()
	c.mu.Unlock()
	if e != nil {
		return e
	}
	name, text := definitionFile(d)
	parsed := &parsedEntry{yaml: d.YAML, file: parseFile(name, []byte(text)), lastLoad: load}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := find(); e != nil {
		return e
	}
	c.entries[key] = append(c.entries[key], parsed)
	return parsed
}

// startLoad numbers a new load and forgets the parses no recent load used.
func (c *parsedDefinitions) startLoad() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loads++
	if c.loads%keepLoads == 0 {
		for k, es := range c.entries {
			es = slices.DeleteFunc(es, func(e *parsedEntry) bool { return c.loads-e.lastLoad > keepLoads })
			if len(es) == 0 {
				delete(c.entries, k)
			} else {
				c.entries[k] = es
			}
		}
	}
	return c.loads
}

// loadDefinitions is LoadDefinitions, parsing through cache when it is not nil. Definitions are
// read in the order of their files' paths, as LoadFS reads DefinitionFiles(defs).
func loadDefinitions(ctx context.Context, defs []Definition, r SchemaResolver, fileBase string, cache *parsedDefinitions) (*Catalog, error) {
	l := &loader{ctx: ctx, resolver: r, fileBase: fileBase, display: func(name string) string { return name }}
	if r == nil {
		return nil, fmt.Errorf("load definitions: no schema resolver")
	}
	defs = inFileOrder(defs)
	load := 0
	if cache != nil {
		load = cache.startLoad()
	}
	for i, d := range defs {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("load definitions: %w", err)
			}
		}
		if cache == nil {
			name, text := definitionFile(d)
			l.readParsed(parseFile(name, []byte(text)))
			continue
		}
		e := cache.entry(d, load)
		if d.Kind != store.KindMetric {
			l.readParsed(e.file)
			continue
		}
		r := e.readMetrics()
		if r == nil {
			l.readParsed(e.file)
			continue
		}
		clones := make(map[*metricDef]*metricDef, len(r.metrics))
		for _, md := range r.metrics {
			clones[md] = md.clone()
			l.metrics = append(l.metrics, clones[md])
		}
		for _, qd := range r.quality {
			l.quality = append(l.quality, qd.clone(clones[qd.metric]))
		}
		l.problems = append(l.problems, r.problems...)
		l.incomplete = l.incomplete || r.incomplete
	}
	return l.check()
}

// inFileOrder returns the definitions in the order of their files' paths, as LoadFS reads
// DefinitionFiles(defs); as there, a later definition of a name replaces an earlier one.
func inFileOrder(defs []Definition) []Definition {
	type key struct {
		folder, name string
		i            int
	}
	keys := make([]key, len(defs))
	for i, d := range defs {
		keys[i] = key{folderOf(d.Kind), d.Name, i}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := strings.Compare(a.folder, b.folder); c != 0 {
			return c
		}
		// Names hold only a-z, 0-9 and _, which sort after the "." of ".yaml": as their paths.
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return a.i - b.i
	})
	out := make([]Definition, 0, len(defs))
	for j, k := range keys {
		if j+1 < len(keys) && keys[j+1].folder == k.folder && keys[j+1].name == k.name {
			continue
		}
		out = append(out, defs[k.i])
	}
	return out
}

// folderOf is the folder of a kind's files, as DefinitionFiles lays them out.
func folderOf(k store.Kind) string {
	for _, lk := range listKeys {
		if lk.kind == k {
			return lk.key
		}
	}
	return ""
}
