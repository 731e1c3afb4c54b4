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
  SELECT *
  FROM q3
  ORDER BY "order_count" DESC NULLS LAST, "customers.city" COLLATE "C" DESC NULLS LAST
  LIMIT 4
)
SELECT "customers.city", "order_count"
FROM q4
ORDER BY "customers.city" COLLATE "C" ASC NULLS LAST
