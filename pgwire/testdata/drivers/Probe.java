// Probe connects with pgjdbc as DBeaver and Metabase do, walks the catalog with the
// DatabaseMetaData calls they make, runs the statements Metabase's sync sends, and asks a
// grouped question with a prepared statement. It prints one tab-separated line per fact for
// the Go test to read; any error ends it with a stack trace and exit status 1.
//
// Usage: java -cp postgresql.jar Probe.java URL USER PASSWORD CHANNEL
import java.math.BigDecimal;
import java.sql.*;
import java.util.*;

public class Probe {
    static void out(Object... cells) {
        StringBuilder b = new StringBuilder();
        for (Object c : cells) {
            if (b.length() > 0) b.append('\t');
            b.append(c);
        }
        System.out.println(b);
    }

    // count runs a metadata result to its end and prints how many rows it had.
    static int count(String what, ResultSet rs) throws SQLException {
        int n = 0;
        try (rs) {
            ResultSetMetaData m = rs.getMetaData();
            while (rs.next()) {
                for (int i = 1; i <= m.getColumnCount(); i++) rs.getObject(i);
                n++;
            }
        }
        out("count", what, n);
        return n;
    }

    static final String METABASE_TABLES = "SELECT \"n\".\"nspname\" AS \"schema\", \"c\".\"relname\" AS \"name\", CASE \"c\".\"relkind\" WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS \"type\", \"d\".\"description\" AS \"description\", \"stat\".\"n_live_tup\" AS \"estimated_row_count\" FROM \"pg_catalog\".\"pg_class\" AS \"c\" INNER JOIN \"pg_catalog\".\"pg_namespace\" AS \"n\" ON \"c\".\"relnamespace\" = \"n\".\"oid\" LEFT JOIN \"pg_catalog\".\"pg_description\" AS \"d\" ON (\"c\".\"oid\" = \"d\".\"objoid\") AND (\"d\".\"objsubid\" = 0) AND (\"d\".\"classoid\" = 'pg_class'::regclass) LEFT JOIN \"pg_stat_user_tables\" AS \"stat\" ON (\"n\".\"nspname\" = \"stat\".\"schemaname\") AND (\"c\".\"relname\" = \"stat\".\"relname\") WHERE (\"c\".\"relnamespace\" = \"n\".\"oid\") AND (\"n\".\"nspname\" !~ '^pg_') AND (\"n\".\"nspname\" <> 'information_schema') AND c.relkind in ('r', 'p', 'v', 'f', 'm') AND (\"n\".\"nspname\" IN (?, ?)) ORDER BY \"type\" ASC, \"schema\" ASC, \"name\" ASC";

    static final String METABASE_PRIVILEGES = "with table_privileges as ( select NULL as role, t.schemaname as schema, t.objectname as table, "
        + "pg_catalog.has_any_column_privilege(current_user, '\"' || replace(t.schemaname, '\"', '\"\"') || '\"' || '.' || '\"' || replace(t.objectname, '\"', '\"\"') || '\"', 'update') as update, "
        + "pg_catalog.has_any_column_privilege(current_user, '\"' || replace(t.schemaname, '\"', '\"\"') || '\"' || '.' || '\"' || replace(t.objectname, '\"', '\"\"') || '\"', 'select') as select, "
        + "pg_catalog.has_any_column_privilege(current_user, '\"' || replace(t.schemaname, '\"', '\"\"') || '\"' || '.' || '\"' || replace(t.objectname, '\"', '\"\"') || '\"', 'insert') as insert, "
        + "pg_catalog.has_table_privilege(current_user, '\"' || replace(t.schemaname, '\"', '\"\"') || '\"' || '.' || '\"' || replace(t.objectname, '\"', '\"\"') || '\"', 'delete') as delete "
        + "from ( select schemaname, tablename as objectname from pg_catalog.pg_tables union select schemaname, viewname as objectname from pg_catalog.pg_views "
        + "union select schemaname, matviewname as objectname from pg_catalog.pg_matviews ) t "
        + "where t.schemaname !~ '^pg_' and t.schemaname <> 'information_schema' and pg_catalog.has_schema_privilege(current_user, t.schemaname, 'usage') ) "
        + "select t.* from table_privileges t";

    static final String METABASE_FIELDS = "SELECT \"c\".\"column_name\" AS \"name\", CASE WHEN \"c\".\"udt_schema\" IN ('public', 'pg_catalog') THEN FORMAT('%s', \"c\".\"udt_name\") ELSE FORMAT('\"%s\".\"%s\"', \"c\".\"udt_schema\", \"c\".\"udt_name\") END AS \"database-type\", \"c\".\"ordinal_position\" - 1 AS \"database-position\", \"c\".\"table_schema\" AS \"table-schema\", \"c\".\"table_name\" AS \"table-name\", \"pk\".\"column_name\" IS NOT NULL AS \"pk?\", COL_DESCRIPTION(CAST(CAST(FORMAT('%I.%I', CAST(\"c\".\"table_schema\" AS TEXT), CAST(\"c\".\"table_name\" AS TEXT)) AS REGCLASS) AS OID), \"c\".\"ordinal_position\") AS \"field-comment\", ((\"column_default\" IS NULL) OR (LOWER(\"column_default\") = 'null')) AND (\"is_nullable\" = 'NO') AND NOT (((\"column_default\" IS NOT NULL) AND (\"column_default\" LIKE '%nextval(%')) OR (\"is_identity\" <> 'NO')) AS \"database-required\", ((\"column_default\" IS NOT NULL) AND (\"column_default\" LIKE '%nextval(%')) OR (\"is_identity\" <> 'NO') AS \"database-is-auto-increment\" FROM \"information_schema\".\"columns\" AS \"c\" LEFT JOIN (SELECT \"tc\".\"table_schema\", \"tc\".\"table_name\", \"kc\".\"column_name\" FROM \"information_schema\".\"table_constraints\" AS \"tc\" INNER JOIN \"information_schema\".\"key_column_usage\" AS \"kc\" ON (\"tc\".\"constraint_name\" = \"kc\".\"constraint_name\") AND (\"tc\".\"table_schema\" = \"kc\".\"table_schema\") AND (\"tc\".\"table_name\" = \"kc\".\"table_name\") WHERE \"tc\".\"constraint_type\" = 'PRIMARY KEY') AS \"pk\" ON (\"c\".\"table_schema\" = \"pk\".\"table_schema\") AND (\"c\".\"table_name\" = \"pk\".\"table_name\") AND (\"c\".\"column_name\" = \"pk\".\"column_name\") WHERE c.table_schema !~ '^information_schema|catalog_history|pg_' AND (\"c\".\"table_schema\" IN (?)) AND (\"c\".\"table_name\" IN (?)) "
        + "UNION ALL SELECT \"pa\".\"attname\" AS \"name\", CASE WHEN \"ptn\".\"nspname\" IN ('public', 'pg_catalog') THEN FORMAT('%s', \"pt\".\"typname\") ELSE FORMAT('\"%s\".\"%s\"', \"ptn\".\"nspname\", \"pt\".\"typname\") END AS \"database-type\", \"pa\".\"attnum\" - 1 AS \"database-position\", \"pn\".\"nspname\" AS \"table-schema\", \"pc\".\"relname\" AS \"table-name\", FALSE AS \"pk?\", NULL AS \"field-comment\", FALSE AS \"database-required\", FALSE AS \"database-is-auto-increment\" FROM \"pg_catalog\".\"pg_class\" AS \"pc\" INNER JOIN \"pg_catalog\".\"pg_namespace\" AS \"pn\" ON \"pn\".\"oid\" = \"pc\".\"relnamespace\" INNER JOIN \"pg_catalog\".\"pg_attribute\" AS \"pa\" ON \"pa\".\"attrelid\" = \"pc\".\"oid\" INNER JOIN \"pg_catalog\".\"pg_type\" AS \"pt\" ON \"pt\".\"oid\" = \"pa\".\"atttypid\" INNER JOIN \"pg_catalog\".\"pg_namespace\" AS \"ptn\" ON \"ptn\".\"oid\" = \"pt\".\"typnamespace\" WHERE (\"pc\".\"relkind\" = 'm') AND (\"pa\".\"attnum\" >= 1) AND (\"pn\".\"nspname\" IN (?)) AND (\"pc\".\"relname\" IN (?)) "
        + "ORDER BY \"table-schema\" ASC, \"table-name\" ASC, \"database-position\" ASC";

    static final String METABASE_FKS = "SELECT \"fk_ns\".\"nspname\" AS \"fk-table-schema\", \"fk_table\".\"relname\" AS \"fk-table-name\", \"fk_column\".\"attname\" AS \"fk-column-name\", \"pk_ns\".\"nspname\" AS \"pk-table-schema\", \"pk_table\".\"relname\" AS \"pk-table-name\", \"pk_column\".\"attname\" AS \"pk-column-name\" FROM \"pg_constraint\" AS \"c\" INNER JOIN \"pg_class\" AS \"fk_table\" ON \"c\".\"conrelid\" = \"fk_table\".\"oid\" INNER JOIN \"pg_namespace\" AS \"fk_ns\" ON \"c\".\"connamespace\" = \"fk_ns\".\"oid\" INNER JOIN \"pg_attribute\" AS \"fk_column\" ON \"c\".\"conrelid\" = \"fk_column\".\"attrelid\" INNER JOIN \"pg_class\" AS \"pk_table\" ON \"c\".\"confrelid\" = \"pk_table\".\"oid\" INNER JOIN \"pg_namespace\" AS \"pk_ns\" ON \"pk_table\".\"relnamespace\" = \"pk_ns\".\"oid\" INNER JOIN \"pg_attribute\" AS \"pk_column\" ON \"c\".\"confrelid\" = \"pk_column\".\"attrelid\" WHERE fk_ns.nspname !~ '^information_schema|catalog_history|pg_' AND (\"c\".\"contype\" = 'f'::char) AND (\"fk_column\".\"attnum\" = ANY(c.conkey)) AND (\"pk_column\".\"attnum\" = ANY(c.confkey)) AND (\"fk_ns\".\"nspname\" IN (?)) ORDER BY \"fk-table-schema\" ASC, \"fk-table-name\" ASC";

    static final String METABASE_ENUMS = "SELECT nspname, typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid IN (SELECT DISTINCT enumtypid FROM pg_enum e)";

    // prepared runs a statement with text parameters and prints its row count under a name.
    static int prepared(Connection c, String what, String sql, String... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) ps.setString(i + 1, params[i]);
            return count(what, ps.executeQuery());
        }
    }

    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.setProperty("user", args[1]);
        props.setProperty("password", args[2]);
        props.setProperty("ApplicationName", "koujing driver probe");
        String channel = args[3];
        try (Connection c = DriverManager.getConnection(args[0], props)) {
            DatabaseMetaData md = c.getMetaData();
            out("product", md.getDatabaseProductName(), md.getDatabaseProductVersion());
            // DBeaver's connection: keywords, catalogs, schemas, table types, type info.
            out("keywords", md.getSQLKeywords() == null ? "null" : "some");
            count("catalogs", md.getCatalogs());
            try (ResultSet rs = md.getSchemas()) {
                while (rs.next()) out("schema", rs.getString("TABLE_SCHEM"));
            }
            count("schemas like sales", md.getSchemas(null, "sales"));
            count("table types", md.getTableTypes());
            count("type info", md.getTypeInfo());
            try (ResultSet rs = md.getTables(null, "sales", "%", new String[] {"TABLE", "VIEW"})) {
                while (rs.next()) out("table", rs.getString("TABLE_SCHEM"), rs.getString("TABLE_NAME"), rs.getString("TABLE_TYPE"), rs.getString("REMARKS"));
            }
            try (ResultSet rs = md.getColumns(null, "sales", "orders", "%")) {
                while (rs.next()) out("column", rs.getString("COLUMN_NAME"), rs.getString("TYPE_NAME"), rs.getInt("DATA_TYPE"), rs.getInt("ORDINAL_POSITION"));
            }
            count("primary keys", md.getPrimaryKeys(null, "sales", "orders"));
            count("imported keys", md.getImportedKeys(null, "sales", "orders"));
            count("exported keys", md.getExportedKeys(null, "sales", "orders"));
            count("index info", md.getIndexInfo(null, "sales", "orders", false, true));
            count("table privileges", md.getTablePrivileges(null, "sales", "orders"));
            count("procedures", md.getProcedures(null, "sales", "%"));
            count("functions", md.getFunctions(null, "sales", "%"));
            count("udts", md.getUDTs(null, "sales", "%", null));

            // Metabase's sync: time zone, tables, privileges, fields, foreign keys, enums.
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("show timezone;")) {
                rs.next();
                out("timezone", rs.getString(1));
            }
            prepared(c, "metabase tables", METABASE_TABLES, "sales", "finance");
            try (Statement s = c.createStatement()) {
                count("metabase privileges", s.executeQuery(METABASE_PRIVILEGES));
                count("metabase enums", s.executeQuery(METABASE_ENUMS));
            }
            prepared(c, "metabase fields", METABASE_FIELDS, "sales", "orders", "sales", "orders");
            prepared(c, "metabase fks", METABASE_FKS, "sales");

            // The grouped question, six times over: pgjdbc names the statement on the server from
            // its fifth run on, so both the unnamed and the named path answer.
            String sql = "SELECT region, gmv_paid FROM sales.orders WHERE channel = ? GROUP BY 1 ORDER BY 2 DESC";
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                for (int run = 1; run <= 6; run++) {
                    ps.setString(1, channel);
                    try (ResultSet rs = ps.executeQuery()) {
                        ResultSetMetaData m = rs.getMetaData();
                        if (run == 1) out("result columns", m.getColumnName(1), m.getColumnTypeName(1), m.getColumnName(2), m.getColumnTypeName(2));
                        while (rs.next()) {
                            BigDecimal gmv = rs.getBigDecimal(2);
                            out("row", run, rs.getString(1), gmv == null ? "NULL" : gmv.toPlainString());
                        }
                    }
                }
            }
        }
        out("done");
    }
}
