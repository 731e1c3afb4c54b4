WITH q0 AS (
  SELECT t."amount" AS "orders.amount", t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (t."status" = $1::text)
),
q1 AS (
  SELECT
    count(*) AS "orders",
    sum("orders.amount") AS "gmv",
    avg("orders.amount")::float8 AS "average"
  FROM q0
)
SELECT "orders", "gmv", "average"
FROM q1
-- $1 = 'no such status' (text)
