WITH q0 AS (
  SELECT t."order_id" AS "orders.order_id"
  FROM "orders" AS t
),
q1 AS (
  SELECT *
  FROM q0
  LIMIT 7
)
SELECT "orders.order_id"
FROM q1
