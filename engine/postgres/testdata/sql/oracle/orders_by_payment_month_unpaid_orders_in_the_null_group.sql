-- orders by payment month, unpaid orders in the NULL group
WITH q0 AS (
  SELECT t."paid_at" AS "orders.paid_at"
  FROM "orders" AS t
),
q1 AS (
  SELECT
    (date_trunc('month', "orders.paid_at" AT TIME ZONE $1::text) AT TIME ZONE $1::text) AS "orders.paid_at.month",
    count(*) AS "order_count"
  FROM q0
  GROUP BY 1
)
SELECT "orders.paid_at.month", "order_count"
FROM q1
ORDER BY "orders.paid_at.month" ASC NULLS LAST, "order_count" DESC NULLS LAST
-- $1 = 'UTC' (text)
