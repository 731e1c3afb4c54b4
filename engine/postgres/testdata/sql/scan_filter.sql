WITH q0 AS (
  SELECT
    t."order_id" AS "orders.order_id",
    t."status" AS "orders.status",
    t."amount" AS "orders.amount"
  FROM "orders" AS t
  WHERE ((t."status" = $1::text) AND (t."amount" >= $2::numeric))
)
SELECT "orders.order_id", "orders.status", "orders.amount"
FROM q0
-- $1 = 'paid' (text)
-- $2 = 100.00 (numeric)
