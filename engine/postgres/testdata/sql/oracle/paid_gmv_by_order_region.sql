-- paid GMV by order region
WITH q0 AS (
  SELECT t."amount" AS "orders.amount", t."region" AS "orders.region", t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (t."status" IN ($1::text, $2::text, $3::text))
),
q1 AS (
  SELECT "orders.region", sum("orders.amount") AS "gmv_paid"
  FROM q0
  GROUP BY 1
)
SELECT "orders.region", "gmv_paid"
FROM q1
ORDER BY "gmv_paid" DESC NULLS LAST, "orders.region" COLLATE "C" ASC NULLS LAST
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
