-- paid GMV by a boolean dimension
WITH q0 AS (
  SELECT t."amount" AS "orders.amount", t."paid_at" AS "orders.paid_at"
  FROM "orders" AS t
),
q1 AS (
  SELECT
    ("orders.paid_at" IS NOT NULL) AS "orders.is_paid",
    sum("orders.amount") AS "gmv_placed",
    count(*) AS "order_count"
  FROM q0
  GROUP BY 1
)
SELECT "orders.is_paid", "gmv_placed", "order_count"
FROM q1
ORDER BY "gmv_placed" DESC NULLS LAST, "orders.is_paid" ASC NULLS LAST
