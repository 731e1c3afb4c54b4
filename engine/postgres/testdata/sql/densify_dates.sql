WITH q0 AS (
  SELECT t."signup_date" AS "customers.signup_date", t."segment" AS "customers.segment"
  FROM "customers" AS t
  WHERE (t."segment" = $1::text)
),
q1 AS (
  SELECT
    (date_trunc('week', ("customers.signup_date"::timestamp + interval '1 days')) + interval '-1 days')::date AS "t",
    count(*) AS "n"
  FROM q0
  GROUP BY 1
),
q2 AS (
  SELECT DISTINCT (date_trunc('week', (g."d" + interval '1 days')) + interval '-1 days')::date AS "t"
  FROM generate_series((SELECT min("t") FROM q1)::timestamp, ($2::date::timestamp - interval '1 microsecond'), interval '1 day') AS g("d")
),
q3 AS (
  SELECT p."t", a."n"
  FROM q2 AS p
  LEFT JOIN q1 AS a ON a."t" = p."t"
  UNION ALL
  SELECT "t", "n"
  FROM q1
  WHERE "t" IS NULL
)
SELECT "t", "n"
FROM q3
-- $1 = 'home_office' (text)
-- $2 = DATE '2024-01-07' (date)
