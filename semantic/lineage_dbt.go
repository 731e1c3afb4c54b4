package semantic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A dbt manifest (target/manifest.json, written by every dbt command that parses a project)
// holds the project's nodes — models, seeds, snapshots, tests — and its sources, each with the
// relation it builds or reads (database.schema.alias), its columns, what it depends on and its
// meta. Koujing reads it so that lineage continues upstream of the warehouse's tables into the
// dbt jobs (加工任务) that build them: a model whose source is the table "shop.orders" of a
// connection is built by the dbt node whose relation is shop.orders, in the connection's
// database.

// The dbt manifest versions Koujing reads: v4 (dbt 1.0) to v12 (dbt 1.8 to 1.11), and v20, the
// dbt Fusion engine's, which is v12's format.
const (
	minDBTManifestVersion = 4
	maxDBTManifestVersion = 12
	fusionManifestVersion = 20
)

// DBTManifest is a dbt project's manifest, as lineage uses it. It is immutable.
type DBTManifest struct {
	// Version is the manifest's schema version (12 for dbt 1.8 and later); Project is the dbt
	// project's name, when the manifest says it.
	Version     int
	Project     string
	GeneratedAt time.Time
	// Nodes are the models, seeds, snapshots and sources, sorted by unique_id.
	Nodes []*DBTNode

	byID       map[string]*DBTNode
	byRelation map[string][]*DBTNode
}

// DBTNode is a dbt model, seed, snapshot or source.
type DBTNode struct {
	// UniqueID is dbt's key of the node: "model.shop.stg_orders", "source.shop.raw.orders".
	UniqueID string
	// ResourceType is "model", "seed", "snapshot" or "source".
	ResourceType string
	Name         string
	// SourceName is a source's source (the group of tables it belongs to).
	SourceName string
	Package    string
	// Database, Schema and Alias are the relation the node builds (or, for a source, reads);
	// Relation is it written database.schema.alias.
	Database, Schema, Alias string
	Relation                string
	Description             string
	// Owner is meta.owner (or config.meta.owner), or else the owner of the node's group.
	Owner        string
	Materialized string
	// Path is the file that defines the node, relative to the project.
	Path    string
	Tags    []string
	Columns []DBTColumn

	dependsOn []*DBTNode
	children  []*DBTNode
}

// DBTColumn is a column a dbt node documents.
type DBTColumn struct {
	Name        string
	Type        string
	Description string
}

// node returns the node of that unique_id, or nil; a nil manifest has none.
func (m *DBTManifest) node(id string) *DBTNode {
	if m == nil {
		return nil
	}
	return m.byID[id]
}

// relations returns the nodes whose relation is schema.table (lower case), in any database.
func (m *DBTManifest) relations(schema, table string) []*DBTNode {
	if m == nil {
		return nil
	}
	return m.byRelation[schema+"."+table]
}

// The parts of a manifest Koujing reads.
type dbtManifestFile struct {
	Metadata struct {
		SchemaVersion string `json:"dbt_schema_version"`
		ProjectName   string `json:"project_name"`
		GeneratedAt   string `json:"generated_at"`
	} `json:"metadata"`
	Nodes   map[string]dbtNodeJSON `json:"nodes"`
	Sources map[string]dbtNodeJSON `json:"sources"`
	Groups  map[string]struct {
		Name  string          `json:"name"`
		Owner json.RawMessage `json:"owner"`
	} `json:"groups"`
}

type dbtNodeJSON struct {
	UniqueID     string                     `json:"unique_id"`
	ResourceType string                     `json:"resource_type"`
	Name         string                     `json:"name"`
	SourceName   string                     `json:"source_name"`
	PackageName  string                     `json:"package_name"`
	Database     *string                    `json:"database"`
	Schema       string                     `json:"schema"`
	Alias        string                     `json:"alias"`
	Identifier   string                     `json:"identifier"`
	RelationName *string                    `json:"relation_name"`
	Description  string                     `json:"description"`
	Meta         map[string]json.RawMessage `json:"meta"`
	SourceMeta   map[string]json.RawMessage `json:"source_meta"`
	Group        *string                    `json:"group"`
	Config       struct {
		Meta         map[string]json.RawMessage `json:"meta"`
		Materialized string                     `json:"materialized"`
		Group        *string                    `json:"group"`
	} `json:"config"`
	OriginalFilePath string   `json:"original_file_path"`
	Tags             []string `json:"tags"`
	Columns          map[string]struct {
		Name        string  `json:"name"`
		DataType    *string `json:"data_type"`
		Description string  `json:"description"`
	} `json:"columns"`
	DependsOn struct {
		Nodes []string `json:"nodes"`
	} `json:"depends_on"`
}

// dbtResourceTypes are the nodes lineage follows; tests, analyses and operations build nothing.
var dbtResourceTypes = map[string]bool{"model": true, "seed": true, "snapshot": true, "source": true}

var dbtSchemaVersion = regexp.MustCompile(`^https://schemas\.getdbt\.com/dbt/manifest/v(\d+)\.json$`)

// ParseDBTManifest reads a dbt manifest.json. A document that is not JSON, is not a manifest, or
// is a version Koujing does not read is refused with an error saying which.
func ParseDBTManifest(data []byte) (*DBTManifest, error) {
	var f dbtManifestFile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("not a dbt manifest: %s", dbtJSONProblem(data, err))
	}
	sv := f.Metadata.SchemaVersion
	if sv == "" {
		return nil, errors.New("not a dbt manifest: it has no metadata.dbt_schema_version; give the target/manifest.json that dbt writes")
	}
	match := dbtSchemaVersion.FindStringSubmatch(sv)
	if match == nil {
		return nil, fmt.Errorf("not a dbt manifest: metadata.dbt_schema_version is %q, not https://schemas.getdbt.com/dbt/manifest/vN.json", sv)
	}
	version, _ := strconv.Atoi(match[1])
	if (version < minDBTManifestVersion || version > maxDBTManifestVersion) && version != fusionManifestVersion {
		return nil, fmt.Errorf("dbt manifest version v%d is not one Koujing reads: it reads v%d (dbt 1.0) to v%d (dbt 1.8 to 1.11) and v%d (dbt Fusion); regenerate it with a supported dbt",
			version, minDBTManifestVersion, maxDBTManifestVersion, fusionManifestVersion)
	}
	m := &DBTManifest{Version: version, Project: f.Metadata.ProjectName, byID: map[string]*DBTNode{}, byRelation: map[string][]*DBTNode{}}
	if t, err := time.Parse(time.RFC3339Nano, f.Metadata.GeneratedAt); err == nil {
		m.GeneratedAt = t
	}
	groupOwner := map[string]string{}
	for id, g := range f.Groups {
		groupOwner[g.Name] = dbtOwnerText(g.Owner)
		groupOwner[id] = groupOwner[g.Name]
	}
	deps := map[*DBTNode][]string{}
	for _, part := range []struct {
		what  string
		nodes map[string]dbtNodeJSON
	}{{"nodes", f.Nodes}, {"sources", f.Sources}} {
		for id, n := range part.nodes {
			if !dbtResourceTypes[n.ResourceType] {
				continue
			}
			d, err := dbtNode(id, n, groupOwner)
			if err != nil {
				return nil, fmt.Errorf("dbt manifest %s[%q]: %w", part.what, id, err)
			}
			m.byID[id] = d
			m.Nodes = append(m.Nodes, d)
			deps[d] = n.DependsOn.Nodes
		}
	}
	sort.Slice(m.Nodes, func(i, j int) bool { return m.Nodes[i].UniqueID < m.Nodes[j].UniqueID })
	for _, d := range m.Nodes {
		for _, id := range deps[d] {
			// References to tests, macros and disabled nodes lead nowhere lineage goes.
			if p := m.byID[id]; p != nil && p != d {
				d.dependsOn = append(d.dependsOn, p)
				p.children = append(p.children, d)
			}
		}
		key := strings.ToLower(d.Schema + "." + d.Alias)
		m.byRelation[key] = append(m.byRelation[key], d)
	}
	for _, d := range m.Nodes {
		sort.Slice(d.dependsOn, func(i, j int) bool { return d.dependsOn[i].UniqueID < d.dependsOn[j].UniqueID })
		sort.Slice(d.children, func(i, j int) bool { return d.children[i].UniqueID < d.children[j].UniqueID })
	}
	return m, nil
}

// dbtNode reads one node of the manifest.
func dbtNode(id string, n dbtNodeJSON, groupOwner map[string]string) (*DBTNode, error) {
	switch {
	case n.UniqueID != "" && n.UniqueID != id:
		return nil, fmt.Errorf("its unique_id is %q", n.UniqueID)
	case n.Name == "":
		return nil, errors.New("it has no name")
	case n.Schema == "":
		return nil, errors.New("it has no schema, so the relation it builds is unknown")
	}
	d := &DBTNode{UniqueID: id, ResourceType: n.ResourceType, Name: n.Name, SourceName: n.SourceName, Package: n.PackageName,
		Schema: n.Schema, Alias: n.Alias, Description: n.Description, Materialized: n.Config.Materialized,
		Path: n.OriginalFilePath, Tags: n.Tags}
	if n.Database != nil {
		d.Database = *n.Database
	}
	if n.ResourceType == "source" {
		d.Alias = n.Identifier
	}
	if d.Alias == "" {
		d.Alias = n.Name
	}
	d.Relation = d.Schema + "." + d.Alias
	if d.Database != "" {
		d.Relation = d.Database + "." + d.Relation
	}
	for _, meta := range []map[string]json.RawMessage{n.Meta, n.Config.Meta, n.SourceMeta} {
		if d.Owner == "" {
			d.Owner = dbtOwnerText(meta["owner"])
		}
	}
	for _, g := range []*string{n.Group, n.Config.Group} {
		if d.Owner == "" && g != nil {
			d.Owner = groupOwner[*g]
		}
	}
	names := make([]string, 0, len(n.Columns))
	for k := range n.Columns {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		c := n.Columns[k]
		col := DBTColumn{Name: c.Name, Description: c.Description}
		if col.Name == "" {
			col.Name = k
		}
		if c.DataType != nil {
			col.Type = *c.DataType
		}
		d.Columns = append(d.Columns, col)
	}
	return d, nil
}

// dbtOwnerText reads an owner as meta or a group gives it: a name, a list of names, or an object
// with a name or an email.
func dbtOwnerText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return strings.Join(list, ", ")
	}
	var o struct{ Name, Email string }
	if json.Unmarshal(raw, &o) == nil {
		if o.Name != "" {
			return o.Name
		}
		return o.Email
	}
	return ""
}

// dbtJSONProblem says where a JSON document went wrong: the line and column of a syntax error, or
// the field of a value of the wrong type.
func dbtJSONProblem(data []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := dbtLineCol(data, syn.Offset)
		return fmt.Sprintf("invalid JSON at line %d, column %d: %v", line, col, syn)
	case errors.As(err, &typ):
		line, col := dbtLineCol(data, typ.Offset)
		return fmt.Sprintf("%s at line %d, column %d is a JSON %s, not a %s", typ.Field, line, col, typ.Value, typ.Type)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends early; the file may have been cut short"
	case errors.Is(err, io.EOF):
		return "the file is empty"
	}
	return err.Error()
}

func dbtLineCol(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	return line, int(off) - bytes.LastIndexByte(before, '\n')
}

// DBTManifestFile is a dbt manifest read from a file and read again when the file changes.
// It is safe for concurrent use.
type DBTManifestFile struct {
	path  string
	cur   atomic.Pointer[DBTManifest]
	mu    sync.Mutex
	stamp fileStampOf
}

// fileStampOf is what tells that a file changed: its size and modification time.
type fileStampOf struct {
	size int64
	mod  time.Time
}

// dbtPollInterval is how often a watched manifest file is looked at.
const dbtPollInterval = time.Second

// OpenDBTManifest reads the dbt manifest at path. A file that cannot be read or is not a
// manifest Koujing reads is an error that names the file and what is wrong with it.
func OpenDBTManifest(path string) (*DBTManifestFile, error) {
	f := &DBTManifestFile{path: path}
	if _, err := f.reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// Manifest returns the manifest as last read.
func (f *DBTManifestFile) Manifest() *DBTManifest { return f.cur.Load() }

// reload reads the file again if it changed since it was last read; changed reports whether it
// did and was read. A file that no longer reads as a manifest leaves the previous one in place.
func (f *DBTManifestFile) reload() (changed bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, err := os.Stat(f.path)
	if err != nil {
		return false, fmt.Errorf("dbt manifest: %w", err)
	}
	stamp := fileStampOf{size: st.Size(), mod: st.ModTime()}
	if f.cur.Load() != nil && stamp == f.stamp {
		return false, nil
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		return false, fmt.Errorf("dbt manifest: %w", err)
	}
	m, err := ParseDBTManifest(data)
	if err != nil {
		return false, fmt.Errorf("%s: %w", f.path, err)
	}
	f.stamp = stamp
	f.cur.Store(m)
	return true, nil
}

// Watch reads the file again whenever it changes, until ctx ends; a change that does not read
// as a manifest is logged and the previous manifest stays. It returns at once.
func (f *DBTManifestFile) Watch(ctx context.Context, log *slog.Logger) {
	log = log.With("component", "dbt", "file", f.path)
	go func() {
		tick := time.NewTicker(dbtPollInterval)
		defer tick.Stop()
		failing := ""
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			changed, err := f.reload()
			switch {
			case err != nil && err.Error() != failing:
				failing = err.Error()
				log.Error("the dbt manifest changed but cannot be read; the previous one stays", "err", err)
			case changed:
				failing = ""
				m := f.Manifest()
				log.Info("dbt manifest read again", "nodes", len(m.Nodes), "version", m.Version)
			}
		}
	}()
}

// dbtIndex matches the catalog's tables with the manifest's relations, once per view.
func (v *lineageView) dbtIndex() {
	if v.tableDBT != nil {
		return
	}
	v.tableDBT, v.dbtTables = map[*lineageTable][]*DBTNode{}, map[string][]*lineageTable{}
	if v.dbt == nil {
		return
	}
	for _, t := range v.idx.sortedTables {
		if t.info.File {
			continue
		}
		schema, table := t.info.schemaAndTable()
		for _, d := range v.dbt.relations(schema, table) {
			if t.info.Database != "" && d.Database != "" && !strings.EqualFold(t.info.Database, d.Database) {
				continue
			}
			v.tableDBT[t] = append(v.tableDBT[t], d)
			v.dbtTables[d.UniqueID] = append(v.dbtTables[d.UniqueID], t)
		}
	}
}

// dbtOfTable returns the dbt nodes that build or declare a table.
func (v *lineageView) dbtOfTable(t *lineageTable) []*DBTNode {
	v.dbtIndex()
	return v.tableDBT[t]
}

// dbtNodeVisible reports whether a dbt node builds, directly or through others, a table the
// caller may see.
func (v *lineageView) dbtNodeVisible(d *DBTNode) bool {
	if v.dbtVisible == nil {
		v.dbtIndex()
		v.dbtVisible = map[string]bool{}
		var stack []*DBTNode
		for t, nodes := range v.tableDBT {
			if v.tableVisible(t) {
				stack = append(stack, nodes...)
			}
		}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if v.dbtVisible[n.UniqueID] {
				continue
			}
			v.dbtVisible[n.UniqueID] = true
			stack = append(stack, n.dependsOn...)
		}
	}
	return v.dbtVisible[d.UniqueID]
}
