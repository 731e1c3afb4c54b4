-- paid GMV by quarter of 2024 in Shanghai (time range read in the query's zone)
WITH q0 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."created_at" AS "orders.created_at",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (((t."created_at" >= $1::timestamptz) AND (t."created_at" < $2::timestamptz)) AND (t."status" IN ($3::text, $4::text, $5::text)))
),
q1 AS (
  SELECT
    (date_trunc('quarter', "orders.created_at" AT TIME ZONE $6::text) AT TIME ZONE $6::text) AS "orders.created_at.quarter",
    sum("orders.amount") AS "gmv_paid"
  FROM q0
  GROUP BY 1
)
SELECT "orders.created_at.quarter", "gmv_paid"
FROM q1
ORDER BY "orders.created_at.quarter" ASC NULLS LAST, "gmv_paid" DESC NULLS LAST
-- $1 = TIMESTAMP '2023-12-31 16:00:00Z' (timestamptz)
-- $2 = TIMESTAMP '2024-12-31 16:00:00Z' (timestamptz)
-- $3 = 'paid' (text)
-- $4 = 'shipped' (text)
-- $5 = 'completed' (text)
-- $6 = 'Asia/Shanghai' (text)
