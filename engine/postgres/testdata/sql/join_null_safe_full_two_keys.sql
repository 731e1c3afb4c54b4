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
  SELECT t."region" AS "customers.region"
  FROM "customers" AS t
),
q3 AS (
  SELECT "customers.region" AS "#1:orders.region", count(*) AS "customers"
  FROM q2
  GROUP BY 1
),
q4 AS (
  SELECT l."orders.region", l."gmv", l."orders", r."#1:orders.region", r."customers"
  FROM q1 AS l
  FULL JOIN q3 AS r ON coalesce(l."orders.region", '') = coalesce(r."#1:orders.region", '') AND (l."orders.region" IS NULL) = (r."#1:orders.region" IS NULL) AND coalesce(l."orders", 0) = coalesce(r."customers", 0) AND (l."orders" IS NULL) = (r."customers" IS NULL)
)
SELECT "orders.region", "gmv", "orders", "#1:orders.region", "customers"
FROM q4
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
