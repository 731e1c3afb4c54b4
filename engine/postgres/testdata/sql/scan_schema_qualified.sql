WITH q0 AS (
  SELECT t."order_id" AS "o.order_id", t."amount" AS "o.amount"
  FROM "sales"."orders" AS t
)
SELECT "o.order_id", "o.amount"
FROM q0
