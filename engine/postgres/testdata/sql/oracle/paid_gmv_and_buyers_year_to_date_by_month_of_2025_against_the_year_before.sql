-- paid GMV and buyers year to date by month of 2025, against the year before
WITH q0 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."created_at" AS "orders.created_at",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (((t."created_at" >= $1::timestamptz) AND (t."created_at" < $2::timestamptz)) AND (t."status" IN ($3::text, $4::text, $5::text)))
),
q1 AS (
  SELECT
    (date_trunc('month', "orders.created_at" AT TIME ZONE $6::text) AT TIME ZONE $6::text) AS "orders.created_at.month",
    sum("orders.amount") AS "gmv_paid_ytd"
  FROM q0
  GROUP BY 1
),
q2 AS (
  SELECT i."orders.created_at.month", i."gmv_paid_ytd", (p."p" AT TIME ZONE $6::text) AS "#period"
  FROM q1 AS i
  CROSS JOIN LATERAL (SELECT g."p" FROM generate_series(date_trunc('month', i."orders.created_at.month" AT TIME ZONE $6::text), least(((date_trunc('year', i."orders.created_at.month" AT TIME ZONE $6::text) + interval '12 months') + interval '7 days'), ($2::timestamptz AT TIME ZONE $6::text - interval '1 microsecond')), interval '1 month') AS g("p")) AS p
  WHERE (date_trunc('year', p."p") AT TIME ZONE $6::text) <= i."orders.created_at.month" AND (p."p" AT TIME ZONE $6::text) >= $1::timestamptz
),
q3 AS (
  SELECT "#period" AS "orders.created_at.month", sum("gmv_paid_ytd") AS "gmv_paid_ytd"
  FROM q2
  GROUP BY 1
),
q4 AS (
  SELECT
    t."created_at" AS "orders.created_at",
    t."customer_id" AS "orders.customer_id",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (((t."created_at" >= $1::timestamptz) AND (t."created_at" < $2::timestamptz)) AND (t."status" IN ($3::text, $4::text, $5::text)))
),
q5 AS (
  SELECT
    (date_trunc('year', (date_trunc('month', "orders.created_at" AT TIME ZONE $6::text) AT TIME ZONE $6::text) AT TIME ZONE $6::text) AT TIME ZONE $6::text) AS "#grain",
    "orders.customer_id" AS "#k",
    min((date_trunc('month', "orders.created_at" AT TIME ZONE $6::text) AT TIME ZONE $6::text)) AS "orders.created_at.month"
  FROM q4
  GROUP BY 1, 2
),
q6 AS (
  SELECT i."#grain", i."#k", i."orders.created_at.month", (p."p" AT TIME ZONE $6::text) AS "#period"
  FROM q5 AS i
  CROSS JOIN LATERAL (SELECT g."p" FROM generate_series(date_trunc('month', i."orders.created_at.month" AT TIME ZONE $6::text), least(((date_trunc('year', i."orders.created_at.month" AT TIME ZONE $6::text) + interval '12 months') + interval '7 days'), ($2::timestamptz AT TIME ZONE $6::text - interval '1 microsecond')), interval '1 month') AS g("p")) AS p
  WHERE (date_trunc('year', p."p") AT TIME ZONE $6::text) <= i."orders.created_at.month" AND (p."p" AT TIME ZONE $6::text) >= $1::timestamptz
),
q7 AS (
  SELECT "#period" AS "orders.created_at.month", count("#k") AS "buyers_ytd"
  FROM q6
  GROUP BY 1
),
q8 AS (
  SELECT "orders.created_at.month" AS "#1:orders.created_at.month", "buyers_ytd"
  FROM q7
),
q9 AS (
  SELECT l."orders.created_at.month", l."gmv_paid_ytd", r."#1:orders.created_at.month", r."buyers_ytd"
  FROM q3 AS l
  FULL JOIN q8 AS r ON coalesce(l."orders.created_at.month"::text, '') = coalesce(r."#1:orders.created_at.month"::text, '') AND (l."orders.created_at.month" IS NULL) = (r."#1:orders.created_at.month" IS NULL)
),
q10 AS (
  SELECT
    coalesce("orders.created_at.month", "#1:orders.created_at.month") AS "orders.created_at.month",
    "gmv_paid_ytd",
    "buyers_ytd"
  FROM q9
),
q11 AS (
  SELECT
    l."orders.created_at.month",
    l."gmv_paid_ytd",
    l."buyers_ytd",
    r."gmv_paid_ytd" AS "#c0:gmv_paid_ytd",
    r."buyers_ytd" AS "#c0:buyers_ytd"
  FROM q10 AS l
  LEFT JOIN q10 AS r ON coalesce((date_trunc('month', ((l."orders.created_at.month" AT TIME ZONE $6::text + interval '-12 months') AT TIME ZONE $6::text) AT TIME ZONE $6::text) AT TIME ZONE $6::text)::text, '') = coalesce(r."orders.created_at.month"::text, '') AND ((date_trunc('month', ((l."orders.created_at.month" AT TIME ZONE $6::text + interval '-12 months') AT TIME ZONE $6::text) AT TIME ZONE $6::text) AT TIME ZONE $6::text) IS NULL) = (r."orders.created_at.month" IS NULL)
),
q12 AS (
  SELECT *
  FROM q11
  WHERE (("orders.created_at.month" >= $7::timestamptz) AND ("orders.created_at.month" < $2::timestamptz))
),
q13 AS (
  SELECT
    "orders.created_at.month",
    "gmv_paid_ytd",
    "buyers_ytd",
    "#c0:gmv_paid_ytd" AS "gmv_paid_ytd.previous_year",
    (("gmv_paid_ytd" - "#c0:gmv_paid_ytd")::float8 / NULLIF("#c0:gmv_paid_ytd"::float8, 0)) AS "gmv_paid_ytd.growth_year",
    "#c0:buyers_ytd" AS "buyers_ytd.previous_year",
    (("buyers_ytd" - "#c0:buyers_ytd")::float8 / NULLIF("#c0:buyers_ytd"::float8, 0)) AS "buyers_ytd.growth_year"
  FROM q12
)
SELECT
  "orders.created_at.month",
  "gmv_paid_ytd",
  "buyers_ytd",
  "gmv_paid_ytd.previous_year",
  "gmv_paid_ytd.growth_year",
  "buyers_ytd.previous_year",
  "buyers_ytd.growth_year"
FROM q13
ORDER BY "orders.created_at.month" ASC NULLS LAST, "gmv_paid_ytd" DESC NULLS LAST
-- $1 = TIMESTAMP '2024-01-01 00:00:00Z' (timestamptz)
-- $2 = TIMESTAMP '2026-01-01 00:00:00Z' (timestamptz)
-- $3 = 'paid' (text)
-- $4 = 'shipped' (text)
-- $5 = 'completed' (text)
-- $6 = 'UTC' (text)
-- $7 = TIMESTAMP '2025-01-01 00:00:00Z' (timestamptz)
