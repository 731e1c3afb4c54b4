WITH q0 AS (
  SELECT t."customer_id" AS "customers.customer_id", t."signup_date" AS "customers.signup_date"
  FROM "customers" AS t
),
q1 AS (
  SELECT i."customers.customer_id", i."customers.signup_date", p."p"::date AS "period"
  FROM q0 AS i
  CROSS JOIN LATERAL (SELECT g."p" FROM generate_series((date_trunc('week', (i."customers.signup_date"::timestamp + interval '1 days')) + interval '-1 days'), least((i."customers.signup_date"::timestamp + interval '28 days'), ($1::date::timestamp - interval '1 microsecond')), interval '7 days') AS g("p")) AS p
  WHERE ((p."p" + interval '7 days') + interval '-28 days')::date <= i."customers.signup_date" AND p."p"::date >= $2::date
),
q2 AS (
  SELECT "period", count(*) AS "signups"
  FROM q1
  GROUP BY 1
)
SELECT "period", "signups"
FROM q2
-- $1 = DATE '2024-01-07' (date)
-- $2 = DATE '2023-01-01' (date)
