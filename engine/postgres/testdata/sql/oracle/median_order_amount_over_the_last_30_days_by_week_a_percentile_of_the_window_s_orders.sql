-- median order amount over the last 30 days by week (a percentile of the window's orders)
WITH q0 AS (
  SELECT t."amount" AS "orders.amount", t."created_at" AS "orders.created_at"
  FROM "orders" AS t
  WHERE ((t."created_at" >= $1::timestamptz) AND (t."created_at" < $2::timestamptz))
),
q1 AS (
  SELECT
    (date_trunc('day', "orders.created_at" AT TIME ZONE $3::text) AT TIME ZONE $3::text) AS "orders.created_at.week",
    "orders.amount" AS "#x"
  FROM q0
),
q2 AS (
  SELECT i."orders.created_at.week", i."#x", (p."p" AT TIME ZONE $3::text) AS "#period"
  FROM q1 AS i
  CROSS JOIN LATERAL (SELECT g."p" FROM generate_series(date_trunc('week', i."orders.created_at.week" AT TIME ZONE $3::text), least((i."orders.created_at.week" AT TIME ZONE $3::text + interval '30 days'), ($2::timestamptz AT TIME ZONE $3::text - interval '1 microsecond')), interval '7 days') AS g("p")) AS p
  WHERE (((p."p" + interval '7 days') + interval '-30 days') AT TIME ZONE $3::text) <= i."orders.created_at.week" AND (p."p" AT TIME ZONE $3::text) >= $4::timestamptz
),
q3 AS (
  SELECT
    "#period" AS "orders.created_at.week",
    percentile_cont($5::float8) WITHIN GROUP (ORDER BY "#x"::float8) AS "order_amount_median_30d"
  FROM q2
  GROUP BY 1
)
SELECT "orders.created_at.week", "order_amount_median_30d"
FROM q3
ORDER BY "orders.created_at.week" ASC NULLS LAST, "order_amount_median_30d" DESC NULLS LAST
-- $1 = TIMESTAMP '2024-12-14 00:00:00Z' (timestamptz)
-- $2 = TIMESTAMP '2025-03-03 00:00:00Z' (timestamptz)
-- $3 = 'UTC' (text)
-- $4 = TIMESTAMP '2025-01-06 00:00:00Z' (timestamptz)
-- $5 = 0.5 (float8)
