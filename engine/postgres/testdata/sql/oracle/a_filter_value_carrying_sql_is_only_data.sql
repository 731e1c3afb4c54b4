-- a filter value carrying SQL is only data
WITH q0 AS (
  SELECT t."amount" AS "orders.amount", t."region" AS "orders.region", t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE ((t."region" = $1::text) AND (t."status" IN ($2::text, $3::text, $4::text)))
),
q1 AS (
  SELECT "orders.region", sum("orders.amount") AS "gmv_paid"
  FROM q0
  GROUP BY 1
)
SELECT "orders.region", "gmv_paid"
FROM q1
ORDER BY "gmv_paid" DESC NULLS LAST, "orders.region" COLLATE "C" ASC NULLS LAST
-- $1 = 'x''); drop table orders; --' (text)
-- $2 = 'paid' (text)
-- $3 = 'shipped' (text)
-- $4 = 'completed' (text)
