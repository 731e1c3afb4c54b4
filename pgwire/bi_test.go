package pgwire

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// biQueries are catalog queries BI tools send when they connect and list tables and columns,
// as their drivers write them: Grafana's PostgreSQL data source, pgjdbc's DatabaseMetaData (which
// DBeaver and Metabase use), SQLAlchemy's PostgreSQL dialect (Superset) and DBeaver's own
// navigator. Each must run and return what the case says.
var biQueries = []struct {
	name string
	sql  string
	// want are cells, "column=value", that some row must have (a prefix of the value will do);
	// rows is the least row count.
	want []string
	rows int
}{
	{"grafana tables", `SELECT quote_ident(table_name) AS "table" FROM information_schema.tables
WHERE quote_ident(table_schema) NOT IN ('information_schema', 'pg_catalog', '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_internal', '_timescaledb_config', 'timescaledb_information', 'timescaledb_experimental')
  AND table_type = 'BASE TABLE' AND quote_ident(table_schema) IN (
    SELECT CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
    FROM generate_series(array_lower(string_to_array(current_setting('search_path'), ','), 1),
                         array_upper(string_to_array(current_setting('search_path'), ','), 1)) AS i,
         string_to_array(current_setting('search_path'), ',') s)`, []string{"table=orders", "table=order_items", "table=customers"}, 3},
	{"grafana columns", `SELECT quote_ident(column_name) AS "column", data_type AS "type" FROM information_schema.columns
WHERE CASE WHEN array_length(parse_ident('sales.orders'), 1) = 2 THEN quote_ident(table_schema) = (parse_ident('sales.orders'))[1]
  AND quote_ident(table_name) = (parse_ident('sales.orders'))[2] ELSE quote_ident(table_name) = 'sales.orders' AND table_schema = ANY(current_schemas(false)) END`,
		[]string{`column=region`, `type=timestamp with time zone`, `column="customers.segment"`}, 20},
	{"pgjdbc getTables", `SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM, c.relname AS TABLE_NAME,
 CASE n.nspname ~ '^pg_' OR n.nspname = 'information_schema' WHEN true THEN CASE WHEN n.nspname = 'pg_catalog' OR n.nspname = 'information_schema' THEN CASE c.relkind WHEN 'r' THEN 'SYSTEM TABLE' WHEN 'v' THEN 'SYSTEM VIEW' WHEN 'i' THEN 'SYSTEM INDEX' ELSE NULL END WHEN n.nspname = 'pg_toast' THEN CASE c.relkind WHEN 'r' THEN 'SYSTEM TOAST TABLE' WHEN 'i' THEN 'SYSTEM TOAST INDEX' ELSE NULL END ELSE CASE c.relkind WHEN 'r' THEN 'TEMPORARY TABLE' WHEN 'p' THEN 'TEMPORARY TABLE' WHEN 'i' THEN 'TEMPORARY INDEX' WHEN 'S' THEN 'TEMPORARY SEQUENCE' WHEN 'v' THEN 'TEMPORARY VIEW' ELSE NULL END END WHEN false THEN CASE c.relkind WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'i' THEN 'INDEX' WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'c' THEN 'TYPE' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END ELSE NULL END AS TABLE_TYPE,
 d.description AS REMARKS, '' as TYPE_CAT, '' as TYPE_SCHEM, '' as TYPE_NAME, '' AS SELF_REFERENCING_COL_NAME, '' AS REF_GENERATION
FROM pg_catalog.pg_namespace n, pg_catalog.pg_class c
LEFT JOIN pg_catalog.pg_description d ON (c.oid = d.objoid AND d.objsubid = 0 and d.classoid = 'pg_class'::regclass)
WHERE c.relnamespace = n.oid AND c.relname LIKE '%' AND (false OR ( c.relkind IN ('r','p') AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' ))
ORDER BY TABLE_TYPE,TABLE_SCHEM,TABLE_NAME`, []string{"table_schem=finance", "table_name=orders", "table_type=TABLE", "remarks=Orders: One row per order"}, 5},
	{"pgjdbc getColumns", `SELECT * FROM (SELECT n.nspname,c.relname,a.attname,a.atttypid,a.attnotnull OR (t.typtype = 'd' AND t.typnotnull) AS attnotnull,a.atttypmod,a.attlen,t.typtypmod,
 row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS attnum, nullif(a.attidentity, '') as attidentity,nullif(a.attgenerated, '') as attgenerated,
 pg_catalog.pg_get_expr(def.adbin, def.adrelid) AS adsrc,dsc.description,t.typbasetype,t.typtype
FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_class c ON (c.relnamespace = n.oid) JOIN pg_catalog.pg_attribute a ON (a.attrelid=c.oid)
JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid) LEFT JOIN pg_catalog.pg_attrdef def ON (a.attrelid=def.adrelid AND a.attnum = def.adnum)
LEFT JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)
LEFT JOIN pg_catalog.pg_class dc ON (dc.oid=dsc.classoid AND dc.relname='pg_class') LEFT JOIN pg_catalog.pg_namespace dn ON (dc.relnamespace=dn.oid AND dn.nspname='pg_catalog')
WHERE c.relkind in ('r','p','v','f','m') and a.attnum > 0 AND NOT a.attisdropped AND n.nspname LIKE 'sales' AND c.relname LIKE 'orders') c
WHERE true ORDER BY nspname,c.relname,attnum`, []string{"attname=region", "attnum=1", "attname=gmv_paid", "atttypid=1700", "description=GMV (paid): Gross merchandise value of paid orders (status paid, shipped or completed), before coupons."}, 20},
	{"sqlalchemy connect", `select pg_catalog.version()`, []string{"version=PostgreSQL 15.0"}, 1},
	{"sqlalchemy current schema", `select current_schema()`, []string{"current_schema=finance"}, 1},
	{"sqlalchemy table names", `SELECT pg_catalog.pg_class.relname FROM pg_catalog.pg_class JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace
WHERE pg_catalog.pg_class.relkind = ANY (ARRAY['r', 'p']) AND pg_catalog.pg_class.relpersistence != 't' AND pg_catalog.pg_namespace.nspname = 'sales'`, []string{"relname=orders", "relname=customers"}, 3},
	{"dbeaver databases", `SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datname='koujing'`, []string{"datname=koujing", "datallowconn=t"}, 1},
	{"dbeaver schemas", `SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 AND d.classoid='pg_namespace'::regclass ORDER BY nspname`,
		[]string{"nspname=sales", "description=销售 Sales: 销售域：订单、下单GMV、客单价与买家。Orders, GMV as placed, order value and buyers."}, 5},
	{"dbeaver tables", `SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr, pg_catalog.pg_get_partkeydef(c.oid) as partition_key
FROM pg_catalog.pg_class c LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_class'::regclass
WHERE c.relnamespace=(SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'sales') AND c.relkind not in ('i','I','c')`, []string{"relname=order_items", "relkind=r"}, 3},
	{"dbeaver settings", `select * from pg_catalog.pg_settings where name='standard_conforming_strings'`, []string{"setting=on"}, 1},
	{"show", `SHOW TimeZone`, []string{"timezone=UTC"}, 1},
}

// TestBIToolQueries runs the catalog queries of BI tools through pgx and checks their answers.
func TestBIToolQueries(t *testing.T) {
	ctx := context.Background()
	conn := connect(t, testServer(t, Options{}), "demo", "demo")
	for _, q := range biQueries {
		t.Run(q.name, func(t *testing.T) {
			rows, err := conn.Query(ctx, q.sql)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			seen := map[string]bool{}
			n := 0
			for rows.Next() {
				vals, err := rows.Values()
				if err != nil {
					t.Fatal(err)
				}
				for i, f := range rows.FieldDescriptions() {
					v := vals[i]
					switch x := v.(type) {
					case bool:
						v = map[bool]string{true: "t", false: "f"}[x]
					case uint8: // pgx reads "char" as a byte or a rune
						v = string(rune(x))
					case int32:
						if f.DataTypeOID == oidChar {
							v = string(rune(x))
						}
					}
					seen[f.Name+"="+fmt.Sprint(v)] = true
				}
				n++
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if n < q.rows {
				t.Errorf("%d rows, want at least %d", n, q.rows)
			}
			for _, w := range q.want {
				found := false
				for k := range seen {
					found = found || strings.HasPrefix(k, w)
				}
				if !found {
					var some []string
					for k := range seen {
						if strings.HasPrefix(k, strings.SplitN(w, "=", 2)[0]+"=") && len(some) < 8 {
							some = append(some, k)
						}
					}
					t.Errorf("no row has %s; some have %v", w, some)
				}
			}
		})
	}
}
