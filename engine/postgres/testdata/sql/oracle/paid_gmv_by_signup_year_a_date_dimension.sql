-- paid GMV by signup year (a date dimension)
WITH q0 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."customer_id" AS "orders.customer_id",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (t."status" IN ($1::text, $2::text, $3::text))
),
q1 AS (
  SELECT t."customer_id" AS "customers.customer_id", t."signup_date" AS "customers.signup_date"
  FROM "customers" AS t
),
q2 AS (
  SELECT
    l."orders.amount",
    l."orders.customer_id",
    l."orders.status",
    r."customers.customer_id",
    r."customers.signup_date"
  FROM q0 AS l
  LEFT JOIN q1 AS r ON l."orders.customer_id" = r."customers.customer_id"
),
q3 AS (
  SELECT
    date_trunc('year', "customers.signup_date"::timestamp)::date AS "customers.signup_date.year",
    sum("orders.amount") AS "gmv_paid"
  FROM q2
  GROUP BY 1
)
SELECT "customers.signup_date.year", "gmv_paid"
FROM q3
ORDER BY "customers.signup_date.year" ASC NULLS LAST, "gmv_paid" DESC NULLS LAST
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
