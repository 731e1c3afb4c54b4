-- buyers who signed up in 2021, by segment (between on a date)
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
  SELECT
    t."customer_id" AS "customers.customer_id",
    t."segment" AS "customers.segment",
    t."signup_date" AS "customers.signup_date"
  FROM "customers" AS t
),
q3 AS (
  SELECT
    l."orders.customer_id",
    r."customers.customer_id",
    r."customers.segment",
    r."customers.signup_date"
  FROM q1 AS l
  LEFT JOIN q2 AS r ON l."orders.customer_id" = r."customers.customer_id"
),
q4 AS (
  SELECT *
  FROM q3
  WHERE (("customers.signup_date" >= $4::date) AND ("customers.signup_date" <= $5::date))
),
q5 AS (
  SELECT "customers.segment", count("orders.customer_id") AS "buyers"
  FROM q4
  GROUP BY 1
)
SELECT "customers.segment", "buyers"
FROM q5
ORDER BY "buyers" DESC NULLS LAST, "customers.segment" COLLATE "C" ASC NULLS LAST
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
-- $4 = DATE '2021-01-01' (date)
-- $5 = DATE '2021-12-31' (date)
