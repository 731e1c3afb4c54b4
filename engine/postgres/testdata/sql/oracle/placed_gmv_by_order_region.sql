-- placed GMV by order region
WITH q0 AS (
  SELECT t."amount" AS "orders.amount", t."region" AS "orders.region"
  FROM "orders" AS t
),
q1 AS (
  SELECT "orders.region", sum("orders.amount") AS "gmv_placed"
  FROM q0
  GROUP BY 1
)
SELECT "orders.region", "gmv_placed"
FROM q1
ORDER BY "gmv_placed" DESC NULLS LAST, "orders.region" COLLATE "C" ASC NULLS LAST
