"""Connect with SQLAlchemy and psycopg2 as Superset does, inspect the catalog with the calls
Superset makes, and ask a grouped question with a bound parameter. Prints one tab-separated
line per fact for the Go test to read; any error ends it with a traceback and exit status 1.

Usage: python3 probe.py URL CHANNEL
"""
import sys

from sqlalchemy import create_engine, inspect, text


def out(*cells):
    print("\t".join(str(c) for c in cells), flush=True)


def main(url, channel):
    engine = create_engine(url)
    try:
        insp = inspect(engine)
        for s in insp.get_schema_names():
            out("schema", s)
        out("default schema", insp.default_schema_name)
        for t in insp.get_table_names(schema="sales"):
            out("table", t)
        out("views", len(insp.get_view_names(schema="sales")))
        out("has table", insp.has_table("orders", schema="sales"))
        for c in insp.get_columns("orders", schema="sales"):
            out("column", c["name"], c["type"], c["nullable"], c.get("comment") or "")
        out("pk", insp.get_pk_constraint("orders", schema="sales"))
        out("fks", len(insp.get_foreign_keys("orders", schema="sales")))
        out("indexes", len(insp.get_indexes("orders", schema="sales")))
        out("unique", len(insp.get_unique_constraints("orders", schema="sales")))
        out("checks", len(insp.get_check_constraints("orders", schema="sales")))
        out("comment", insp.get_table_comment("orders", schema="sales")["text"])
        with engine.connect() as conn:
            q = text("SELECT orders.region, gmv_paid FROM sales.orders WHERE channel = :channel GROUP BY 1 ORDER BY 2 DESC")
            res = conn.execute(q, {"channel": channel})
            out("result columns", *res.keys())
            for region, gmv in res:
                out("row", 1, region, "NULL" if gmv is None else gmv)
    finally:
        engine.dispose()
    out("done")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
