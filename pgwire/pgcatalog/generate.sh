#!/bin/sh
# Regenerates the catalog data the SQL API serves from a PostgreSQL 15 server, so that the
# tables and columns of pg_catalog and information_schema, and the rows of the built-in types,
# access methods and settings, are PostgreSQL's own rather than typed by hand:
#
#   sh pgwire/pgcatalog/generate.sh postgres://postgres@127.0.0.1:5432/test
#
# relations.tsv: schema, name, oid, kind, then name:typeoid of each column in order.
# TABLE.tsv: the rows of TABLE in COPY's text format, columns in the order relations.tsv lists.
set -eu
url=${1:-postgres://postgres@127.0.0.1:5432/test}
dir=$(dirname "$0")
psql "$url" -XAt -F '	' -c "
SELECT n.nspname, c.relname, c.oid, c.relkind,
       string_agg(a.attname || ':' || a.atttypid, ' ' ORDER BY a.attnum)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname IN ('pg_catalog', 'information_schema') AND c.relkind IN ('r', 'v')
GROUP BY 1, 2, 3, 4 ORDER BY 1, 2" > "$dir/relations.tsv"
psql "$url" -X -c "COPY (SELECT * FROM pg_type WHERE (typnamespace = 11 AND typtype IN ('b', 'p', 'r', 'm')) OR (typnamespace = 'information_schema'::regnamespace AND typtype = 'd') ORDER BY oid) TO STDOUT" > "$dir/pg_type.tsv"
psql "$url" -X -c "COPY (SELECT * FROM pg_am ORDER BY oid) TO STDOUT" > "$dir/pg_am.tsv"
psql "$url" -X -c "COPY (SELECT * FROM pg_range ORDER BY rngtypid) TO STDOUT" > "$dir/pg_range.tsv"
psql "$url" -X -c "COPY (SELECT name, setting, unit, category, short_desc, extra_desc, context, vartype,
  'default'::text AS source, min_val, max_val, enumvals, boot_val, boot_val AS reset_val, NULL::text AS sourcefile,
  NULL::int AS sourceline, false AS pending_restart
  FROM pg_settings WHERE context IN ('user', 'superuser', 'internal') ORDER BY name) TO STDOUT" > "$dir/pg_settings.tsv"
