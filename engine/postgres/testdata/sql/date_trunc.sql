WITH q0 AS (
  SELECT t."customer_id" AS "customers.customer_id", t."signup_date" AS "customers.signup_date"
  FROM "customers" AS t
),
q1 AS (
  SELECT
    "customers.customer_id" AS "id",
    date_trunc('week', "customers.signup_date"::timestamp)::date AS "week",
    date_trunc('month', "customers.signup_date"::timestamp)::date AS "month",
    (("customers.signup_date" >= $1::date) AND ("customers.signup_date" < $2::date)) AS "in_2021"
  FROM q0
)
SELECT "id", "week", "month", "in_2021"
FROM q1
-- $1 = DATE '2021-01-01' (date)
-- $2 = DATE '2022-01-01' (date)
