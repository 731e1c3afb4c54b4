-- paid GMV of customers with no city
WITH q0 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."customer_id" AS "orders.customer_id",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (t."status" IN ($1::text, $2::text, $3::text))
),
q1 AS (
  SELECT t."city" AS "customers.city", t."customer_id" AS "customers.customer_id"
  FROM "customers" AS t
),
q2 AS (
  SELECT
    l."orders.amount",
    l."orders.customer_id",
    l."orders.status",
    r."customers.city",
    r."customers.customer_id"
  FROM q0 AS l
  LEFT JOIN q1 AS r ON l."orders.customer_id" = r."customers.customer_id"
),
q3 AS (
  SELECT *
  FROM q2
  WHERE ("customers.city" IS NULL)
),
q4 AS (
  SELECT "customers.city", sum("orders.amount") AS "gmv_paid"
  FROM q3
  GROUP BY 1
)
SELECT "customers.city", "gmv_paid"
FROM q4
ORDER BY "gmv_paid" DESC NULLS LAST, "customers.city" COLLATE "C" ASC NULLS LAST
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
