package pgwire

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"strconv"
	"strings"
)

// pgcatalogFS holds PostgreSQL 15's own catalog data, written by pgcatalog/generate.sh: every
// table and view of pg_catalog and information_schema with its columns, and the rows of the
// built-in types, access methods, ranges and settings.
//
//go:embed pgcatalog/*.tsv
var pgcatalogFS embed.FS

// relDef is a catalog table or view: its schema, name, OID, kind and columns.
type relDef struct {
	schema string
	name   string
	oid    uint32
	kind   string
	cols   []colDef
}

// colDef is a column: its name and type.
type colDef struct {
	name   string
	typ    uint32
	typmod int32
}

// typeInfo is a built-in type, as pg_type lists it.
type typeInfo struct {
	oid      uint32
	name     string
	category byte
	elem     uint32
	base     uint32 // a domain's base type
	size     int16
}

// staticCatalog is the catalog data read from pgcatalogFS.
type staticCatalog struct {
	rels       []*relDef
	relByName  map[string]*relDef // "schema.name"
	relByOID   map[uint32]*relDef
	types      map[uint32]*typeInfo
	typeByName map[string]*typeInfo
	rows       map[string][][]any // the rows of pg_type, pg_am and pg_range, by table name
	settings   map[string]settingRow
	settingRel [][]any
}

// settingRow is one row of pg_settings.
type settingRow struct {
	setting string
	row     []any
}

// catalogSchemaOIDs are the OIDs of the schemas holding the catalog.
const (
	pgCatalogOID         uint32 = 11
	informationSchemaOID uint32 = 13224 // information_schema's OID in PostgreSQL 15's initdb
)

// static is the catalog data, read once when the package is initialised.
var static *staticCatalog

func init() {
	if _, err := readStatic(); err != nil {
		panic(fmt.Sprintf("pgwire: the embedded catalog data is broken: %v", err))
	}
}

func loadStatic() *staticCatalog { return static }

func staticSettings() map[string]settingRow { return loadStatic().settings }

func readStatic() (*staticCatalog, error) {
	sc := &staticCatalog{relByName: map[string]*relDef{}, relByOID: map[uint32]*relDef{}, types: map[uint32]*typeInfo{},
		typeByName: map[string]*typeInfo{}, rows: map[string][][]any{}, settings: map[string]settingRow{}}
	static = sc
	data, err := pgcatalogFS.ReadFile("pgcatalog/relations.tsv")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 5 {
			return nil, fmt.Errorf("relations.tsv: %q", line)
		}
		oid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			return nil, err
		}
		r := &relDef{schema: f[0], name: f[1], oid: uint32(oid), kind: f[3]}
		for _, c := range strings.Fields(f[4]) {
			name, typ, _ := strings.Cut(c, ":")
			t, err := strconv.ParseUint(typ, 10, 32)
			if err != nil {
				return nil, err
			}
			r.cols = append(r.cols, colDef{name: name, typ: uint32(t), typmod: -1})
		}
		sc.rels = append(sc.rels, r)
		sc.relByName[r.schema+"."+r.name] = r
		sc.relByOID[r.oid] = r
	}
	// pg_type first: the other tables' values are read by their columns' types.
	typeRows, err := sc.readRows("pg_type", nil)
	if err != nil {
		return nil, err
	}
	for _, row := range typeRows {
		get := func(col string) any { return row[sc.colIndex("pg_catalog.pg_type", col)] }
		t := &typeInfo{oid: uint32(get("oid").(int64)), name: get("typname").(string), elem: uint32(get("typelem").(int64)),
			base: uint32(get("typbasetype").(int64)), size: int16(get("typlen").(int64))}
		if c, ok := get("typcategory").(string); ok && c != "" {
			t.category = c[0]
		}
		sc.types[t.oid] = t
		sc.typeByName[t.name] = t
	}
	sc.rows["pg_type"] = typeRows
	for _, name := range []string{"pg_am", "pg_range"} {
		if sc.rows[name], err = sc.readRows(name, nil); err != nil {
			return nil, err
		}
	}
	settingRows, err := sc.readRows("pg_settings", nil)
	if err != nil {
		return nil, err
	}
	for _, row := range settingRows {
		name := row[0].(string)
		setting, _ := row[1].(string)
		sc.settings[strings.ToLower(name)] = settingRow{setting: setting, row: row}
	}
	sc.settingRel = settingRows
	return sc, nil
}

func (sc *staticCatalog) colIndex(rel, col string) int {
	for i, c := range sc.relByName[rel].cols {
		if c.name == col {
			return i
		}
	}
	panic("pgwire: no column " + col + " in " + rel)
}

// readRows reads TABLE.tsv, in COPY's text format, as values of the table's column types.
func (sc *staticCatalog) readRows(table string, _ []colDef) ([][]any, error) {
	data, err := pgcatalogFS.ReadFile("pgcatalog/" + table + ".tsv")
	if err != nil {
		return nil, err
	}
	rel := sc.relByName["pg_catalog."+table]
	var out [][]any
	s := bufio.NewScanner(bytes.NewReader(data))
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		fields := strings.Split(s.Text(), "\t")
		if len(fields) != len(rel.cols) {
			return nil, fmt.Errorf("%s.tsv: %d fields, want %d", table, len(fields), len(rel.cols))
		}
		row := make([]any, len(fields))
		for i, f := range fields {
			if f == `\N` {
				continue
			}
			v, err := sc.parseValue(unescapeCopy(f), rel.cols[i].typ)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", table, rel.cols[i].name, err)
			}
			row[i] = v
		}
		out = append(out, row)
	}
	return out, s.Err()
}

// unescapeCopy undoes COPY's text-format escapes.
func unescapeCopy(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i == len(s)-1 {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// valueKind is how the evaluator holds values of a type.
type valueKind uint8

const (
	kindText valueKind = iota
	kindBool
	kindInt
	kindFloat
	kindArray
)

// kindOf returns how values of a type are held: bool, int64 (integers, OIDs and reg* types),
// float64, []any (arrays), or string (everything else).
func kindOf(oid uint32) valueKind {
	switch oid {
	case oidBool:
		return kindBool
	case oidInt2, oidInt4, oidInt8, oidOid, oidRegclass, oidRegtype, oidRegnspace, 2203, 2204, 4096, 3734, 3769, 28, 29, 5069:
		return kindInt
	case oidFloat4, oidFloat8:
		return kindFloat
	case 22, 30: // int2vector, oidvector
		return kindArray
	}
	if _, ok := builtinArrays[oid]; ok {
		return kindArray
	}
	st := loadStatic()
	if t := st.types[oid]; t != nil {
		if t.base != 0 {
			return kindOf(t.base)
		}
		if t.category == 'A' {
			return kindArray
		}
	}
	return kindText
}

// elemType returns an array type's element type.
func elemType(oid uint32) uint32 {
	switch oid {
	case 22:
		return oidInt2
	case 30:
		return oidOid
	}
	if e, ok := builtinArrays[oid]; ok {
		return e
	}
	if t := loadStatic().types[oid]; t != nil && t.elem != 0 {
		return t.elem
	}
	return oidText
}

// builtinArrays are the array types of the columns of pg_type itself, known before pg_type is
// read: each with its element type.
var builtinArrays = map[uint32]uint32{1034: 1033, oidTextArray: oidText, oidInt2Array: oidInt2, 1007: oidInt4, 1016: oidInt8,
	oidOidArray: oidOid, 1000: oidBool, 1002: oidChar, 1003: oidName, 1021: oidFloat4, 1022: oidFloat8}

// arrayOf returns the array type of an element type, or text[].
func arrayOf(elem uint32) uint32 {
	for _, t := range loadStatic().types {
		if t.elem == elem && t.category == 'A' {
			return t.oid
		}
	}
	return oidTextArray
}

// wireType returns the type a column is sent as: a domain as its base type.
func wireType(oid uint32) uint32 {
	if t := loadStatic().types[oid]; t != nil && t.base != 0 {
		return wireType(t.base)
	}
	return oid
}

// parseValue reads a value of a type from PostgreSQL's text form.
func (sc *staticCatalog) parseValue(s string, typ uint32) (any, error) {
	switch kindOf(typ) {
	case kindBool:
		return s == "t" || s == "true", nil
	case kindInt:
		return strconv.ParseInt(s, 10, 64)
	case kindFloat:
		return strconv.ParseFloat(s, 64)
	case kindArray:
		return parseArray(s, elemType(typ), typ == 22 || typ == 30)
	}
	return s, nil
}

// parseArray reads an array literal, {a,"b c"}, or a vector, "1 2 3".
func parseArray(s string, elem uint32, vector bool) ([]any, error) {
	var items []string
	if vector {
		items = strings.Fields(s)
	} else {
		s = strings.TrimSpace(s)
		if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
			return nil, fmt.Errorf("malformed array literal: %q", s)
		}
		body := s[1 : len(s)-1]
		var cur strings.Builder
		quoted, inQuotes, any := false, false, false
		flush := func() {
			v := cur.String()
			if !quoted && strings.EqualFold(v, "NULL") {
				items = append(items, "\x00")
			} else {
				items = append(items, v)
			}
			cur.Reset()
			quoted = false
		}
		for i := 0; i < len(body); i++ {
			ch := body[i]
			any = true
			switch {
			case inQuotes && ch == '\\' && i+1 < len(body):
				i++
				cur.WriteByte(body[i])
			case ch == '"':
				inQuotes = !inQuotes
				quoted = true
			case ch == ',' && !inQuotes:
				flush()
			default:
				cur.WriteByte(ch)
			}
		}
		if any {
			flush()
		}
	}
	out := make([]any, len(items))
	for i, it := range items {
		if it == "\x00" {
			continue
		}
		v, err := static.parseValue(it, elem)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}
