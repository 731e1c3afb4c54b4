-- orders by month in UTC
WITH q0 AS (
  SELECT t."created_at" AS "orders.created_at"
  FROM "orders" AS t
),
q1 AS (
  SELECT
    (date_trunc('month', "orders.created_at" AT TIME ZONE $1::text) AT TIME ZONE $1::text) AS "orders.created_at.month",
    count(*) AS "order_count"
  FROM q0
  GROUP BY 1
)
SELECT "orders.created_at.month", "order_count"
FROM q1
ORDER BY "orders.created_at.month" ASC NULLS LAST, "order_count" DESC NULLS LAST
-- $1 = 'UTC' (text)
