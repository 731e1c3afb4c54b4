-- refunded store orders by day in New York since November 2025, to the last day with rows (an open end)
WITH q0 AS (
  SELECT
    t."channel" AS "orders.channel",
    t."created_at" AS "orders.created_at",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (((t."channel" = $1::text) AND (t."created_at" >= $2::timestamptz)) AND (t."status" = $3::text))
),
q1 AS (
  SELECT
    (date_trunc('day', "orders.created_at" AT TIME ZONE $4::text) AT TIME ZONE $4::text) AS "orders.created_at.day",
    count(*) AS "refunded_order_count"
  FROM q0
  GROUP BY 1
),
q2 AS (
  SELECT DISTINCT (date_trunc('day', g."d") AT TIME ZONE $4::text) AS "orders.created_at.day"
  FROM generate_series(($2::timestamptz AT TIME ZONE $4::text), ((SELECT max("orders.created_at.day") FROM q1) AT TIME ZONE $4::text), interval '1 day') AS g("d")
),
q3 AS (
  SELECT p."orders.created_at.day", a."refunded_order_count"
  FROM q2 AS p
  LEFT JOIN q1 AS a ON a."orders.created_at.day" = p."orders.created_at.day"
  UNION ALL
  SELECT "orders.created_at.day", "refunded_order_count"
  FROM q1
  WHERE "orders.created_at.day" IS NULL
)
SELECT "orders.created_at.day", "refunded_order_count"
FROM q3
ORDER BY "orders.created_at.day" ASC NULLS LAST, "refunded_order_count" DESC NULLS LAST
-- $1 = 'store' (text)
-- $2 = TIMESTAMP '2025-11-01 04:00:00Z' (timestamptz)
-- $3 = 'refunded' (text)
-- $4 = 'America/New_York' (text)
