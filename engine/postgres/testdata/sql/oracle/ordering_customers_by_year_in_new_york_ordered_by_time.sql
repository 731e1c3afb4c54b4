-- ordering customers by year in New York, ordered by time
WITH q0 AS (
  SELECT t."created_at" AS "orders.created_at", t."customer_id" AS "orders.customer_id"
  FROM "orders" AS t
),
q1 AS (
  SELECT
    "orders.customer_id",
    (date_trunc('year', "orders.created_at" AT TIME ZONE $1::text) AT TIME ZONE $1::text) AS "#d:orders.created_at.year"
  FROM q0
  GROUP BY 1, 2
),
q2 AS (
  SELECT
    "#d:orders.created_at.year" AS "orders.created_at.year",
    count("orders.customer_id") AS "ordering_customers"
  FROM q1
  GROUP BY 1
)
SELECT "orders.created_at.year", "ordering_customers"
FROM q2
ORDER BY "orders.created_at.year" ASC NULLS LAST
-- $1 = 'America/New_York' (text)
