-- orders by city for cities containing "AN", ignoring case
WITH q0 AS (
  SELECT t."customer_id" AS "orders.customer_id"
  FROM "orders" AS t
),
q1 AS (
  SELECT t."city" AS "customers.city", t."customer_id" AS "customers.customer_id"
  FROM "customers" AS t
),
q2 AS (
  SELECT l."orders.customer_id", r."customers.city", r."customers.customer_id"
  FROM q0 AS l
  LEFT JOIN q1 AS r ON l."orders.customer_id" = r."customers.customer_id"
),
q3 AS (
  SELECT *
  FROM q2
  WHERE (strpos(lower("customers.city"), lower($1::text)) > 0)
),
q4 AS (
  SELECT "customers.city", count(*) AS "order_count"
  FROM q3
  GROUP BY 1
)
SELECT "customers.city", "order_count"
FROM q4
ORDER BY "order_count" DESC NULLS LAST, "customers.city" COLLATE "C" ASC NULLS LAST
-- $1 = 'AN' (text)
