-- top three regions by average order value
WITH q0 AS (
  SELECT t."amount" AS "orders.amount", t."region" AS "orders.region", t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (t."status" IN ($1::text, $2::text, $3::text))
),
q1 AS (
  SELECT "orders.region", sum("orders.amount") AS "gmv_paid", count(*) AS "paid_order_count"
  FROM q0
  GROUP BY 1
),
q2 AS (
  SELECT
    "orders.region",
    ("gmv_paid"::float8 / NULLIF("paid_order_count"::float8, 0)) AS "aov",
    "gmv_paid",
    "paid_order_count"
  FROM q1
),
q3 AS (
  SELECT *
  FROM q2
  ORDER BY "aov" DESC NULLS LAST, "orders.region" COLLATE "C" ASC NULLS LAST
  LIMIT 3
)
SELECT "orders.region", "aov", "gmv_paid", "paid_order_count"
FROM q3
ORDER BY "aov" DESC NULLS LAST, "orders.region" COLLATE "C" ASC NULLS LAST
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
