WITH q0 AS (
  SELECT t."customer_id" AS "orders.customer_id"
  FROM "orders" AS t
),
q1 AS (
  SELECT t."customer_id" AS "customers.customer_id", t."city" AS "customers.city"
  FROM "customers" AS t
),
q2 AS (
  SELECT l."orders.customer_id", r."customers.customer_id", r."customers.city"
  FROM q0 AS l
  LEFT JOIN q1 AS r ON l."orders.customer_id" = r."customers.customer_id"
),
q3 AS (
  SELECT "customers.city", count(*) AS "order_count"
  FROM q2
  GROUP BY 1
),
q4 AS (
  SELECT t."city" AS "customers.city"
  FROM "customers" AS t
),
q5 AS (
  SELECT "customers.city" AS "#1:customers.city", count(*) AS "customer_count"
  FROM q4
  GROUP BY 1
),
q6 AS (
  SELECT l."customers.city", l."order_count", r."#1:customers.city", r."customer_count"
  FROM q3 AS l
  LEFT JOIN q5 AS r ON l."customers.city" IS NOT DISTINCT FROM r."#1:customers.city"
)
SELECT "customers.city", "order_count", "#1:customers.city", "customer_count"
FROM q6
