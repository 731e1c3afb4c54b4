-- paid GMV by month in Shanghai
WITH q0 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."created_at" AS "orders.created_at",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (t."status" IN ($1::text, $2::text, $3::text))
),
q1 AS (
  SELECT
    (date_trunc('month', "orders.created_at" AT TIME ZONE $4::text) AT TIME ZONE $4::text) AS "orders.created_at.month",
    sum("orders.amount") AS "gmv_paid"
  FROM q0
  GROUP BY 1
)
SELECT "orders.created_at.month", "gmv_paid"
FROM q1
ORDER BY "orders.created_at.month" ASC NULLS LAST, "gmv_paid" DESC NULLS LAST
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
-- $4 = 'Asia/Shanghai' (text)
