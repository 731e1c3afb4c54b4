-- refunded and paid orders by day (each metric over its own rows; NULL where it has none)
WITH q0 AS (
  SELECT t."created_at" AS "orders.created_at", t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE ((t."created_at" >= $1::timestamptz) AND (t."created_at" < $2::timestamptz))
),
q1 AS (
  SELECT
    (date_trunc('day', "orders.created_at" AT TIME ZONE $3::text) AT TIME ZONE $3::text) AS "orders.created_at.day",
    count(*) FILTER (WHERE ("orders.status" = $4::text)) AS "refunded_order_count",
    count(*) FILTER (WHERE ("orders.status" IN ($5::text, $6::text, $7::text))) AS "paid_order_count"
  FROM q0
  GROUP BY 1
),
q2 AS (
  SELECT *
  FROM q1
  WHERE (("paid_order_count" > $8::bigint) OR ("refunded_order_count" > $8::bigint))
),
q3 AS (
  SELECT
    "orders.created_at.day",
    CASE WHEN ("refunded_order_count" > $8::bigint) THEN "refunded_order_count" END AS "refunded_order_count",
    CASE WHEN ("paid_order_count" > $8::bigint) THEN "paid_order_count" END AS "paid_order_count"
  FROM q2
)
SELECT "orders.created_at.day", "refunded_order_count", "paid_order_count"
FROM q3
ORDER BY "orders.created_at.day" ASC NULLS LAST, "refunded_order_count" DESC NULLS LAST
-- $1 = TIMESTAMP '2024-03-01 00:00:00Z' (timestamptz)
-- $2 = TIMESTAMP '2024-04-01 00:00:00Z' (timestamptz)
-- $3 = 'UTC' (text)
-- $4 = 'refunded' (text)
-- $5 = 'paid' (text)
-- $6 = 'shipped' (text)
-- $7 = 'completed' (text)
-- $8 = 0 (bigint)
