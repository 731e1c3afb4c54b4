-- order count over everything
WITH q0 AS (
  SELECT t."order_id" AS "orders.order_id"
  FROM "orders" AS t
),
q1 AS (
  SELECT count(*) AS "order_count"
  FROM q0
)
SELECT "order_count"
FROM q1
ORDER BY "order_count" DESC NULLS LAST
