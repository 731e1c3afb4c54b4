package pgwire

import (
	"strings"
)

// ownerOID is the role every object belongs to: the connection's user, as pg_roles shows it.
const ownerOID int64 = 10

// databaseOID is the OID of the one database the SQL API shows.
const databaseOID int64 = 16384

// pg_class is the catalog of relations; its OID is what pg_description's classoid names.
const (
	pgClassOID     int64 = 1259
	pgNamespaceOID int64 = 2615
)

// catalogRows returns the rows of a catalog table or view as the connection sees it: the
// semantic tables its principal may see, and PostgreSQL's own data for built-in types and
// settings. A table the SQL API has nothing for is empty, with all its columns. The rows are
// shared and read-only.
func (ev *evaluator) catalogRows(def *relDef) [][]any {
	if rows, ok := ev.rel.layoutRows(def); ok {
		return rows
	}
	var out [][]any
	add := func(values map[string]any) { out = append(out, rowOf(def, values)) }
	st := loadStatic()
	rel := ev.rel
	sess := ev.c.sess
	switch def.schema + "." + def.name {
	case "pg_catalog.pg_type", "pg_catalog.pg_am", "pg_catalog.pg_range":
		return st.rows[def.name]
	case "pg_catalog.pg_settings":
		for _, r := range st.settingRel {
			row := append([]any(nil), r...)
			row[1] = sess.show(r[0].(string))
			out = append(out, row)
		}
	case "pg_catalog.pg_database":
		add(map[string]any{"oid": databaseOID, "datname": sess.database, "datdba": ownerOID, "encoding": int64(6), "datlocprovider": "c",
			"datistemplate": false, "datallowconn": true, "datconnlimit": int64(-1), "dattablespace": int64(1663),
			"datcollate": "C.UTF-8", "datctype": "C.UTF-8", "datfrozenxid": int64(0), "datminmxid": int64(1)})
	case "pg_catalog.pg_roles", "pg_catalog.pg_authid", "pg_catalog.pg_user", "pg_catalog.pg_shadow":
		add(map[string]any{"oid": ownerOID, "rolname": sess.user, "usename": sess.user, "usesysid": ownerOID, "rolsuper": false, "usesuper": false,
			"rolinherit": true, "rolcreaterole": false, "rolcreatedb": false, "usecreatedb": false, "rolcanlogin": true, "rolreplication": false,
			"userepl": false, "rolconnlimit": int64(-1), "rolpassword": "********", "passwd": "********", "rolbypassrls": false, "usebypassrls": false})
	case "pg_catalog.pg_tablespace":
		add(map[string]any{"oid": int64(1663), "spcname": "pg_default", "spcowner": ownerOID})
	case "pg_catalog.pg_tables":
		for _, s := range rel.schemas {
			for _, t := range s.tables {
				add(map[string]any{"schemaname": s.name, "tablename": t.name, "tableowner": sess.user, "hasindexes": false,
					"hasrules": false, "hastriggers": false, "rowsecurity": false})
			}
		}
	case "information_schema.schemata":
		for _, s := range rel.schemas {
			add(map[string]any{"catalog_name": sess.database, "schema_name": s.name, "schema_owner": sess.user})
		}
	case "information_schema.tables":
		for _, s := range rel.schemas {
			for _, t := range s.tables {
				add(map[string]any{"table_catalog": sess.database, "table_schema": s.name, "table_name": t.name, "table_type": "BASE TABLE",
					"is_insertable_into": "NO", "is_typed": "NO"})
			}
		}
	case "information_schema.columns":
		for _, s := range rel.schemas {
			for _, t := range s.tables {
				for _, c := range t.columns {
					add(informationColumn(sess.database, s.name, t.name, c))
				}
			}
		}
	}
	return out
}

// layoutRows returns the rows of the catalog tables that follow from the layout alone —
// pg_namespace, pg_class, pg_attribute and pg_description — and whether def is one of them.
// They are built when first read and kept as long as the layout: pg_attribute alone has
// thousands of rows, and obj_description looks in pg_description once per row of a query.
func (r *relations) layoutRows(def *relDef) ([][]any, bool) {
	if rows, ok := r.catalog[def]; ok {
		return rows, true
	}
	var out [][]any
	add := func(values map[string]any) { out = append(out, rowOf(def, values)) }
	st := loadStatic()
	switch def.schema + "." + def.name {
	case "pg_catalog.pg_namespace":
		add(map[string]any{"oid": int64(pgCatalogOID), "nspname": "pg_catalog", "nspowner": ownerOID})
		add(map[string]any{"oid": int64(informationSchemaOID), "nspname": "information_schema", "nspowner": ownerOID})
		for _, s := range r.schemas {
			add(map[string]any{"oid": int64(s.oid), "nspname": s.name, "nspowner": ownerOID})
		}
	case "pg_catalog.pg_class":
		for _, s := range r.schemas {
			for _, t := range s.tables {
				add(classRow(int64(t.oid), t.name, int64(s.oid), "r", len(t.columns)))
			}
		}
		for _, rd := range st.rels {
			ns := int64(pgCatalogOID)
			if rd.schema == "information_schema" {
				ns = int64(informationSchemaOID)
			}
			add(classRow(int64(rd.oid), rd.name, ns, rd.kind, len(rd.cols)))
		}
	case "pg_catalog.pg_attribute":
		for _, s := range r.schemas {
			for _, t := range s.tables {
				for _, c := range t.columns {
					add(attributeRow(int64(t.oid), c.name, c.typ, c.typmod, c.num))
				}
			}
		}
		for _, rd := range st.rels {
			for i, c := range rd.cols {
				add(attributeRow(int64(rd.oid), c.name, c.typ, c.typmod, int16(i+1)))
			}
		}
	case "pg_catalog.pg_description":
		for _, s := range r.schemas {
			if d := joinNonEmpty(s.domain.Label, s.domain.Description); d != "" {
				add(map[string]any{"objoid": int64(s.oid), "classoid": pgNamespaceOID, "objsubid": int64(0), "description": d})
			}
			for _, t := range s.tables {
				if d := joinNonEmpty(t.model.Label, t.model.Description); d != "" {
					add(map[string]any{"objoid": int64(t.oid), "classoid": pgClassOID, "objsubid": int64(0), "description": d})
				}
				for _, c := range t.columns {
					if d := c.description(); d != "" {
						add(map[string]any{"objoid": int64(t.oid), "classoid": pgClassOID, "objsubid": int64(c.num), "description": d})
					}
				}
			}
		}
	default:
		return nil, false
	}
	if r.catalog == nil {
		r.catalog = map[*relDef][][]any{}
	}
	r.catalog[def] = out
	return out, true
}

// rowOf lays out a row of def from its values by column name; a column not named is NULL.
func rowOf(def *relDef, values map[string]any) []any {
	row := make([]any, len(def.cols))
	for i, c := range def.cols {
		row[i] = values[c.name]
	}
	return row
}

func classRow(oid int64, name string, ns int64, kind string, natts int) map[string]any {
	am := int64(0)
	if kind == "r" {
		am = 2 // heap
	}
	return map[string]any{"oid": oid, "relname": name, "relnamespace": ns, "reltype": int64(0), "reloftype": int64(0), "relowner": ownerOID,
		"relam": am, "relfilenode": int64(0), "reltablespace": int64(0), "relpages": int64(0), "reltuples": float64(-1), "relallvisible": int64(0),
		"reltoastrelid": int64(0), "relhasindex": false, "relisshared": false, "relpersistence": "p", "relkind": kind, "relnatts": int64(natts),
		"relchecks": int64(0), "relhasrules": false, "relhastriggers": false, "relhassubclass": false, "relrowsecurity": false,
		"relforcerowsecurity": false, "relispopulated": true, "relreplident": "d", "relispartition": false, "relrewrite": int64(0),
		"relfrozenxid": int64(0), "relminmxid": int64(0)}
}

func attributeRow(rel int64, name string, typ uint32, typmod int32, num int16) map[string]any {
	collation := int64(0)
	if kindOf(typ) == kindText && typ != oidDate && typ != oidTimestamptz && typ != oidNumeric {
		collation = 100
	}
	return map[string]any{"attrelid": rel, "attname": name, "atttypid": int64(typ), "attstattarget": int64(-1), "attlen": int64(typeSize(typ)),
		"attnum": int64(num), "attndims": int64(0), "attcacheoff": int64(-1), "atttypmod": int64(typmod), "attbyval": typeSize(typ) > 0 && typeSize(typ) <= 8,
		"attalign": "i", "attstorage": "p", "attcompression": "", "attnotnull": false, "atthasdef": false, "atthasmissing": false,
		"attidentity": "", "attgenerated": "", "attisdropped": false, "attislocal": true, "attinhcount": int64(0), "attcollation": collation}
}

// informationColumn is a column as information_schema.columns shows it.
func informationColumn(database, schema, table string, c *sqlColumn) map[string]any {
	row := map[string]any{"table_catalog": database, "table_schema": schema, "table_name": table, "column_name": c.name,
		"ordinal_position": int64(c.num), "is_nullable": "YES", "data_type": formatType(c.typ, -1), "udt_catalog": database,
		"udt_schema": "pg_catalog", "udt_name": typeNameOf(c.typ), "dtd_identifier": itoa(int64(c.num)), "is_self_referencing": "NO",
		"is_identity": "NO", "is_generated": "NEVER", "is_updatable": "NO"}
	switch c.typ {
	case oidNumeric:
		if c.typmod >= 4 {
			row["numeric_precision"] = int64((c.typmod - 4) >> 16)
			row["numeric_scale"] = int64((c.typmod - 4) & 0xffff)
		}
		row["numeric_precision_radix"] = int64(10)
	case oidInt8:
		row["numeric_precision"], row["numeric_precision_radix"], row["numeric_scale"] = int64(64), int64(2), int64(0)
	case oidFloat8:
		row["numeric_precision"], row["numeric_precision_radix"] = int64(53), int64(2)
	case oidTimestamptz:
		row["datetime_precision"] = int64(6)
	case oidDate:
		row["datetime_precision"] = int64(0)
	}
	return row
}

// typeNameOf returns pg_type's name of a type.
func typeNameOf(oid uint32) string {
	if t := loadStatic().types[oid]; t != nil {
		return t.name
	}
	return "unknown"
}

// formatType returns a type's name as format_type prints it: "timestamp with time zone",
// "numeric(18,2)", "character varying(20)", "text[]".
func formatType(oid uint32, typmod int32) string {
	names := map[uint32]string{oidBool: "boolean", oidInt2: "smallint", oidInt4: "integer", oidInt8: "bigint", oidFloat4: "real",
		oidFloat8: "double precision", oidVarchar: "character varying", oidTimestamptz: "timestamp with time zone",
		oidTimestamp: "timestamp without time zone", oidNumeric: "numeric", 1042: "character", oidChar: `"char"`,
		1083: "time without time zone", 1266: "time with time zone", 1186: "interval", 1560: "bit", 1562: "bit varying"}
	name, ok := names[oid]
	if !ok {
		t := loadStatic().types[oid]
		switch {
		case t == nil:
			return "???"
		case t.category == 'A' && t.elem != 0:
			return formatType(t.elem, typmod) + "[]"
		}
		name = t.name
	}
	switch {
	case oid == oidNumeric && typmod >= 4:
		return name + "(" + itoa(int64((typmod-4)>>16)) + "," + itoa(int64((typmod-4)&0xffff)) + ")"
	case (oid == oidVarchar || oid == 1042) && typmod >= 4:
		return name + "(" + itoa(int64(typmod-4)) + ")"
	}
	return name
}

// relationName returns a relation's name as regclass prints it: qualified unless the search
// path finds it.
func (ev *evaluator) relationName(oid int64) string {
	for _, s := range ev.rel.schemas {
		for _, t := range s.tables {
			if int64(t.oid) == oid {
				if ev.rel.visible(t, ev.c.sess.searchPath) {
					return quoteIdent(t.name)
				}
				return quoteIdent(s.name) + "." + quoteIdent(t.name)
			}
		}
	}
	if r := loadStatic().relByOID[uint32(oid)]; r != nil {
		if r.schema == "pg_catalog" {
			return r.name
		}
		return r.schema + "." + r.name
	}
	return itoa(oid)
}

// relationOID returns the OID of a relation named as regclass reads it ("sales.orders",
// "pg_class"), or an error.
func (ev *evaluator) relationOID(name string) (int64, error) {
	schema, rel := "", name
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		schema, rel = unquoteIdent(name[:i]), name[i+1:]
	}
	rel = unquoteIdent(rel)
	st := loadStatic()
	if schema == "" || schema == "pg_catalog" || schema == "information_schema" {
		s := schema
		if s == "" {
			s = "pg_catalog"
		}
		if r := st.relByName[s+"."+rel]; r != nil {
			return int64(r.oid), nil
		}
	}
	if t := ev.rel.lookup(schema, rel, ev.c.sess.searchPath); t != nil {
		return int64(t.oid), nil
	}
	return 0, errorf(codeUndefinedTable, "relation %q does not exist", name)
}

func unquoteIdent(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return strings.ToLower(s)
}
