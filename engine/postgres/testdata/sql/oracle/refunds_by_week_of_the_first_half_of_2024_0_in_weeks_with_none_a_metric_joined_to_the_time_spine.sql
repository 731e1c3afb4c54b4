-- refunds by week of the first half of 2024, 0 in weeks with none (a metric joined to the time spine)
WITH q0 AS (
  SELECT
    t."channel" AS "orders.channel",
    t."created_at" AS "orders.created_at",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE ((((t."channel" = $1::text) AND (t."created_at" >= $2::timestamptz)) AND (t."created_at" < $3::timestamptz)) AND (t."status" = $4::text))
),
q1 AS (
  SELECT
    (date_trunc('week', "orders.created_at" AT TIME ZONE $5::text) AT TIME ZONE $5::text) AS "orders.created_at.week",
    count(*) AS "refund_count"
  FROM q0
  GROUP BY 1
),
q2 AS (
  SELECT DISTINCT (date_trunc('week', g."d") AT TIME ZONE $5::text) AS "orders.created_at.week"
  FROM generate_series(($2::timestamptz AT TIME ZONE $5::text), (($3::timestamptz AT TIME ZONE $5::text) - interval '1 microsecond'), interval '1 day') AS g("d")
),
q3 AS (
  SELECT p."orders.created_at.week", a."refund_count"
  FROM q2 AS p
  LEFT JOIN q1 AS a ON a."orders.created_at.week" = p."orders.created_at.week"
  UNION ALL
  SELECT "orders.created_at.week", "refund_count"
  FROM q1
  WHERE "orders.created_at.week" IS NULL
),
q4 AS (
  SELECT "orders.created_at.week", coalesce("refund_count", $6::bigint) AS "refund_count"
  FROM q3
)
SELECT "orders.created_at.week", "refund_count"
FROM q4
ORDER BY "orders.created_at.week" ASC NULLS LAST, "refund_count" DESC NULLS LAST
-- $1 = 'store' (text)
-- $2 = TIMESTAMP '2024-01-01 00:00:00Z' (timestamptz)
-- $3 = TIMESTAMP '2024-07-01 00:00:00Z' (timestamptz)
-- $4 = 'refunded' (text)
-- $5 = 'UTC' (text)
-- $6 = 0 (bigint)
