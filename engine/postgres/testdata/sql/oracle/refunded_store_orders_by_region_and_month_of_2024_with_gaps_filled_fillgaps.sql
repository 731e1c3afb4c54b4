-- refunded store orders by region and month of 2024 with gaps filled (fillGaps)
WITH q0 AS (
  SELECT
    t."channel" AS "orders.channel",
    t."created_at" AS "orders.created_at",
    t."region" AS "orders.region",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE ((((t."channel" = $1::text) AND (t."created_at" >= $2::timestamptz)) AND (t."created_at" < $3::timestamptz)) AND (t."status" = $4::text))
),
q1 AS (
  SELECT
    "orders.region",
    (date_trunc('month', "orders.created_at" AT TIME ZONE $5::text) AT TIME ZONE $5::text) AS "orders.created_at.month",
    count(*) AS "refunded_order_count"
  FROM q0
  GROUP BY 1, 2
),
q2 AS (
  SELECT DISTINCT (date_trunc('month', g."d") AT TIME ZONE $5::text) AS "orders.created_at.month"
  FROM generate_series(($2::timestamptz AT TIME ZONE $5::text), (($3::timestamptz AT TIME ZONE $5::text) - interval '1 microsecond'), interval '1 day') AS g("d")
),
q3 AS (
  SELECT DISTINCT "orders.region"
  FROM q1
),
q4 AS (
  SELECT k."orders.region", p."orders.created_at.month", a."refunded_order_count"
  FROM q3 AS k CROSS JOIN q2 AS p
  LEFT JOIN q1 AS a ON coalesce(k."orders.region", '') = coalesce(a."orders.region", '') AND (k."orders.region" IS NULL) = (a."orders.region" IS NULL) AND a."orders.created_at.month" = p."orders.created_at.month"
  UNION ALL
  SELECT "orders.region", "orders.created_at.month", "refunded_order_count"
  FROM q1
  WHERE "orders.created_at.month" IS NULL
)
SELECT "orders.region", "orders.created_at.month", "refunded_order_count"
FROM q4
ORDER BY "orders.created_at.month" ASC NULLS LAST, "refunded_order_count" DESC NULLS LAST, "orders.region" COLLATE "C" ASC NULLS LAST
-- $1 = 'store' (text)
-- $2 = TIMESTAMP '2023-12-31 16:00:00Z' (timestamptz)
-- $3 = TIMESTAMP '2024-12-31 16:00:00Z' (timestamptz)
-- $4 = 'refunded' (text)
-- $5 = 'Asia/Shanghai' (text)
