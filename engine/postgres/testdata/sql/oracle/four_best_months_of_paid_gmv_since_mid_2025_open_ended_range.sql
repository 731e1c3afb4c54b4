-- four best months of paid GMV since mid-2025 (open-ended range)
WITH q0 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."created_at" AS "orders.created_at",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE ((t."created_at" >= $1::timestamptz) AND (t."status" IN ($2::text, $3::text, $4::text)))
),
q1 AS (
  SELECT
    (date_trunc('month', "orders.created_at" AT TIME ZONE $5::text) AT TIME ZONE $5::text) AS "orders.created_at.month",
    sum("orders.amount") AS "gmv_paid"
  FROM q0
  GROUP BY 1
),
q2 AS (
  SELECT *
  FROM q1
  ORDER BY "gmv_paid" DESC NULLS LAST, "orders.created_at.month" ASC NULLS LAST
  LIMIT 4
)
SELECT "orders.created_at.month", "gmv_paid"
FROM q2
ORDER BY "gmv_paid" DESC NULLS LAST, "orders.created_at.month" ASC NULLS LAST
-- $1 = TIMESTAMP '2025-06-30 16:00:00Z' (timestamptz)
-- $2 = 'paid' (text)
-- $3 = 'shipped' (text)
-- $4 = 'completed' (text)
-- $5 = 'Asia/Shanghai' (text)
