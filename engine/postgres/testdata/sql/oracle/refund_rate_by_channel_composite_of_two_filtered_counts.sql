-- refund rate by channel (composite of two filtered counts)
WITH q0 AS (
  SELECT t."channel" AS "orders.channel", t."status" AS "orders.status"
  FROM "orders" AS t
),
q1 AS (
  SELECT
    "orders.channel",
    count(*) FILTER (WHERE ("orders.status" = $1::text)) AS "refunded_order_count",
    count(*) FILTER (WHERE ("orders.status" IN ($2::text, $3::text, $4::text, $1::text))) AS "settled_order_count"
  FROM q0
  GROUP BY 1
),
q2 AS (
  SELECT *
  FROM q1
  WHERE (("refunded_order_count" > $5::bigint) OR ("settled_order_count" > $5::bigint))
),
q3 AS (
  SELECT
    "orders.channel",
    (CASE WHEN ("refunded_order_count" > $5::bigint) THEN "refunded_order_count" END::float8 / NULLIF(CASE WHEN ("settled_order_count" > $5::bigint) THEN "settled_order_count" END::float8, 0)) AS "refund_rate"
  FROM q2
)
SELECT "orders.channel", "refund_rate"
FROM q3
ORDER BY "refund_rate" DESC NULLS LAST, "orders.channel" COLLATE "C" ASC NULLS LAST
-- $1 = 'refunded' (text)
-- $2 = 'paid' (text)
-- $3 = 'shipped' (text)
-- $4 = 'completed' (text)
-- $5 = 0 (bigint)
