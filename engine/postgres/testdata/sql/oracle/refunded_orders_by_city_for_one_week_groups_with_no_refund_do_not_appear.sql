-- refunded orders by city for one week (groups with no refund do not appear)
WITH q0 AS (
  SELECT
    t."coupon_amount" AS "orders.coupon_amount",
    t."created_at" AS "orders.created_at",
    t."customer_id" AS "orders.customer_id",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE ((t."created_at" >= $1::timestamptz) AND (t."created_at" < $2::timestamptz))
),
q1 AS (
  SELECT t."city" AS "customers.city", t."customer_id" AS "customers.customer_id"
  FROM "customers" AS t
),
q2 AS (
  SELECT
    l."orders.coupon_amount",
    l."orders.created_at",
    l."orders.customer_id",
    l."orders.status",
    r."customers.city",
    r."customers.customer_id"
  FROM q0 AS l
  LEFT JOIN q1 AS r ON l."orders.customer_id" = r."customers.customer_id"
),
q3 AS (
  SELECT
    "customers.city",
    count(*) FILTER (WHERE ("orders.status" = $3::text)) AS "refunded_order_count",
    sum("orders.coupon_amount") FILTER (WHERE ("orders.status" IN ($4::text, $5::text, $6::text))) AS "coupon_spend",
    count(*) FILTER (WHERE ("orders.status" IN ($4::text, $5::text, $6::text))) AS "#rows1"
  FROM q2
  GROUP BY 1
),
q4 AS (
  SELECT *
  FROM q3
  WHERE (("#rows1" > $7::bigint) OR ("refunded_order_count" > $7::bigint))
),
q5 AS (
  SELECT
    "customers.city",
    CASE WHEN ("refunded_order_count" > $7::bigint) THEN "refunded_order_count" END AS "refunded_order_count",
    "coupon_spend"
  FROM q4
)
SELECT "customers.city", "refunded_order_count", "coupon_spend"
FROM q5
ORDER BY "refunded_order_count" DESC NULLS LAST, "customers.city" COLLATE "C" ASC NULLS LAST
-- $1 = TIMESTAMP '2024-06-01 00:00:00Z' (timestamptz)
-- $2 = TIMESTAMP '2024-06-08 00:00:00Z' (timestamptz)
-- $3 = 'refunded' (text)
-- $4 = 'paid' (text)
-- $5 = 'shipped' (text)
-- $6 = 'completed' (text)
-- $7 = 0 (bigint)
