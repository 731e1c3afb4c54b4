WITH q0 AS (
  SELECT
    t."order_id" AS "orders.order_id",
    t."customer_id" AS "orders.customer_id",
    t."amount" AS "orders.amount"
  FROM "orders" AS t
),
q1 AS (
  SELECT
    t."customer_id" AS "customers.customer_id",
    t."segment" AS "customers.segment",
    t."city" AS "customers.city"
  FROM "customers" AS t
),
q2 AS (
  SELECT
    l."orders.order_id",
    l."orders.customer_id",
    l."orders.amount",
    r."customers.customer_id",
    r."customers.segment",
    r."customers.city"
  FROM q0 AS l
  LEFT JOIN q1 AS r ON l."orders.customer_id" = r."customers.customer_id"
),
q3 AS (
  SELECT *
  FROM q2
  WHERE (strpos(lower("customers.city"), lower($1::text)) > 0)
)
SELECT
  "orders.order_id",
  "orders.customer_id",
  "orders.amount",
  "customers.customer_id",
  "customers.segment",
  "customers.city"
FROM q3
-- $1 = 'an' (text)
