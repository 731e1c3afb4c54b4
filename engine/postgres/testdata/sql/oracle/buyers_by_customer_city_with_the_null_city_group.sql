-- buyers by customer city, with the NULL city group
WITH q0 AS (
  SELECT t."customer_id" AS "orders.customer_id", t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (t."status" IN ($1::text, $2::text, $3::text))
),
q1 AS (
  SELECT "orders.customer_id"
  FROM q0
  GROUP BY 1
),
q2 AS (
  SELECT t."city" AS "customers.city", t."customer_id" AS "customers.customer_id"
  FROM "customers" AS t
),
q3 AS (
  SELECT l."orders.customer_id", r."customers.city", r."customers.customer_id"
  FROM q1 AS l
  LEFT JOIN q2 AS r ON l."orders.customer_id" = r."customers.customer_id"
),
q4 AS (
  SELECT "customers.city", count("orders.customer_id") AS "buyers"
  FROM q3
  GROUP BY 1
)
SELECT "customers.city", "buyers"
FROM q4
ORDER BY "buyers" DESC NULLS LAST, "customers.city" COLLATE "C" ASC NULLS LAST
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
