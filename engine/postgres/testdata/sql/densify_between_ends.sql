WITH q0 AS (
  SELECT
    t."region" AS "orders.region",
    t."created_at" AS "orders.created_at",
    t."status" AS "orders.status",
    t."channel" AS "orders.channel"
  FROM "orders" AS t
  WHERE ((t."status" = $1::text) AND (t."channel" = $2::text))
),
q1 AS (
  SELECT
    (date_trunc('month', "orders.created_at" AT TIME ZONE $3::text) AT TIME ZONE $3::text) AS "t",
    count(*) AS "n"
  FROM q0
  GROUP BY 1
),
q2 AS (
  SELECT DISTINCT (date_trunc('month', g."d") AT TIME ZONE $3::text) AS "t"
  FROM generate_series(($4::timestamptz AT TIME ZONE $3::text), (($5::timestamptz AT TIME ZONE $3::text) - interval '1 microsecond'), interval '1 day') AS g("d")
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
-- $1 = 'refunded' (text)
-- $2 = 'store' (text)
-- $3 = 'America/New_York' (text)
-- $4 = TIMESTAMP '2022-11-01 04:00:00Z' (timestamptz)
-- $5 = TIMESTAMP '2024-03-01 05:00:00Z' (timestamptz)
