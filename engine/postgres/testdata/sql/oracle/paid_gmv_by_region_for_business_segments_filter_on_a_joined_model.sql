-- paid GMV by region for business segments (filter on a joined model)
WITH q0 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."customer_id" AS "orders.customer_id",
    t."region" AS "orders.region",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (t."status" IN ($1::text, $2::text, $3::text))
),
q1 AS (
  SELECT t."customer_id" AS "customers.customer_id", t."segment" AS "customers.segment"
  FROM "customers" AS t
),
q2 AS (
  SELECT
    l."orders.amount",
    l."orders.customer_id",
    l."orders.region",
    l."orders.status",
    r."customers.customer_id",
    r."customers.segment"
  FROM q0 AS l
  LEFT JOIN q1 AS r ON l."orders.customer_id" = r."customers.customer_id"
),
q3 AS (
  SELECT *
  FROM q2
  WHERE ("customers.segment" IN ($4::text, $5::text))
),
q4 AS (
  SELECT "orders.region", sum("orders.amount") AS "gmv_paid"
  FROM q3
  GROUP BY 1
)
SELECT "orders.region", "gmv_paid"
FROM q4
ORDER BY "gmv_paid" DESC NULLS LAST, "orders.region" COLLATE "C" ASC NULLS LAST
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
-- $4 = 'corporate' (text)
-- $5 = 'home_office' (text)
