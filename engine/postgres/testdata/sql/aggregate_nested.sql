WITH q0 AS (
  SELECT t."region" AS "orders.region", t."amount" AS "orders.amount", t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (t."status" IN ($1::text, $2::text, $3::text))
),
q1 AS (
  SELECT "orders.region", sum("orders.amount") AS "gmv", count(*) AS "orders"
  FROM q0
  GROUP BY 1
),
q2 AS (
  SELECT
    count(*) AS "regions",
    max("gmv") AS "top_gmv",
    sum("gmv") AS "gmv",
    count(*) FILTER (WHERE ("orders" > $4::bigint)) AS "big_regions"
  FROM q1
)
SELECT "regions", "top_gmv", "gmv", "big_regions"
FROM q2
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
-- $4 = 1000 (bigint)
