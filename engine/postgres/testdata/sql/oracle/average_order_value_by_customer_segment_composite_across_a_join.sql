-- average order value by customer segment (composite across a join)
WITH q0 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."customer_id" AS "orders.customer_id",
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
    l."orders.status",
    r."customers.customer_id",
    r."customers.segment"
  FROM q0 AS l
  LEFT JOIN q1 AS r ON l."orders.customer_id" = r."customers.customer_id"
),
q3 AS (
  SELECT "customers.segment", sum("orders.amount") AS "gmv_paid", count(*) AS "paid_order_count"
  FROM q2
  GROUP BY 1
),
q4 AS (
  SELECT "customers.segment", ("gmv_paid"::float8 / NULLIF("paid_order_count"::float8, 0)) AS "aov"
  FROM q3
)
SELECT "customers.segment", "aov"
FROM q4
ORDER BY "aov" DESC NULLS LAST, "customers.segment" COLLATE "C" ASC NULLS LAST
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
