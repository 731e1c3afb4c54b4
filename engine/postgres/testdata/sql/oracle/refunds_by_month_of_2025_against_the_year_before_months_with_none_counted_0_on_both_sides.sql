-- refunds by month of 2025 against the year before, months with none counted 0 on both sides
WITH q0 AS (
  SELECT
    t."channel" AS "orders.channel",
    t."created_at" AS "orders.created_at",
    t."region" AS "orders.region",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (((((t."channel" = $1::text) AND (t."region" = $2::text)) AND (t."created_at" >= $3::timestamptz)) AND (t."created_at" < $4::timestamptz)) AND (t."status" = $5::text))
),
q1 AS (
  SELECT
    (date_trunc('month', "orders.created_at" AT TIME ZONE $6::text) AT TIME ZONE $6::text) AS "orders.created_at.month",
    count(*) AS "refund_count"
  FROM q0
  GROUP BY 1
),
q2 AS (
  SELECT DISTINCT (date_trunc('month', g."d") AT TIME ZONE $6::text) AS "orders.created_at.month"
  FROM generate_series(($3::timestamptz AT TIME ZONE $6::text), (($4::timestamptz AT TIME ZONE $6::text) - interval '1 microsecond'), interval '1 day') AS g("d")
),
q3 AS (
  SELECT p."orders.created_at.month", a."refund_count"
  FROM q2 AS p
  LEFT JOIN q1 AS a ON a."orders.created_at.month" = p."orders.created_at.month"
  UNION ALL
  SELECT "orders.created_at.month", "refund_count"
  FROM q1
  WHERE "orders.created_at.month" IS NULL
),
q4 AS (
  SELECT "orders.created_at.month", coalesce("refund_count", $7::bigint) AS "refund_count"
  FROM q3
),
q5 AS (
  SELECT l."orders.created_at.month", l."refund_count", r."refund_count" AS "#c0:refund_count"
  FROM q4 AS l
  LEFT JOIN q4 AS r ON coalesce((date_trunc('month', ((l."orders.created_at.month" AT TIME ZONE $6::text + interval '-12 months') AT TIME ZONE $6::text) AT TIME ZONE $6::text) AT TIME ZONE $6::text)::text, '') = coalesce(r."orders.created_at.month"::text, '') AND ((date_trunc('month', ((l."orders.created_at.month" AT TIME ZONE $6::text + interval '-12 months') AT TIME ZONE $6::text) AT TIME ZONE $6::text) AT TIME ZONE $6::text) IS NULL) = (r."orders.created_at.month" IS NULL)
),
q6 AS (
  SELECT *
  FROM q5
  WHERE (("orders.created_at.month" >= $8::timestamptz) AND ("orders.created_at.month" < $4::timestamptz))
),
q7 AS (
  SELECT
    "orders.created_at.month",
    "refund_count",
    "#c0:refund_count" AS "refund_count.previous_year",
    ("refund_count" - "#c0:refund_count") AS "refund_count.difference_year"
  FROM q6
)
SELECT
  "orders.created_at.month",
  "refund_count",
  "refund_count.previous_year",
  "refund_count.difference_year"
FROM q7
ORDER BY "orders.created_at.month" ASC NULLS LAST, "refund_count" DESC NULLS LAST
-- $1 = 'store' (text)
-- $2 = 'central' (text)
-- $3 = TIMESTAMP '2024-01-01 00:00:00Z' (timestamptz)
-- $4 = TIMESTAMP '2026-01-01 00:00:00Z' (timestamptz)
-- $5 = 'refunded' (text)
-- $6 = 'UTC' (text)
-- $7 = 0 (bigint)
-- $8 = TIMESTAMP '2025-01-01 00:00:00Z' (timestamptz)
