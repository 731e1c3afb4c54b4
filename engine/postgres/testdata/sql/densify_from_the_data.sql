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
    "orders.region",
    (date_trunc('week', "orders.created_at" AT TIME ZONE $3::text) AT TIME ZONE $3::text) AS "t",
    count(*) AS "n"
  FROM q0
  GROUP BY 1, 2
),
q2 AS (
  SELECT DISTINCT (date_trunc('week', g."d") AT TIME ZONE $3::text) AS "t"
  FROM generate_series(((SELECT min("t") FROM q1) AT TIME ZONE $3::text), ((SELECT max("t") FROM q1) AT TIME ZONE $3::text), interval '1 day') AS g("d")
),
q3 AS (
  SELECT DISTINCT "orders.region"
  FROM q1
),
q4 AS (
  SELECT k."orders.region", p."t", a."n"
  FROM q3 AS k CROSS JOIN q2 AS p
  LEFT JOIN q1 AS a ON coalesce(k."orders.region", '') = coalesce(a."orders.region", '') AND (k."orders.region" IS NULL) = (a."orders.region" IS NULL) AND a."t" = p."t"
  UNION ALL
  SELECT "orders.region", "t", "n"
  FROM q1
  WHERE "t" IS NULL
)
SELECT "orders.region", "t", "n"
FROM q4
-- $1 = 'refunded' (text)
-- $2 = 'store' (text)
-- $3 = 'America/New_York' (text)
