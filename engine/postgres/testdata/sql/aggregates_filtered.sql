WITH q0 AS (
  SELECT
    t."region" AS "orders.region",
    t."customer_id" AS "orders.customer_id",
    t."channel" AS "orders.channel",
    t."status" AS "orders.status",
    t."amount" AS "orders.amount",
    t."coupon_amount" AS "orders.coupon_amount",
    t."created_at" AS "orders.created_at"
  FROM "orders" AS t
),
q1 AS (
  SELECT
    "orders.region",
    sum("orders.amount") FILTER (WHERE ("orders.status" IN ($1::text, $2::text, $3::text))) AS "gmv_paid",
    count(*) FILTER (WHERE ("orders.status" IN ($1::text, $2::text, $3::text))) AS "paid_orders",
    count("orders.coupon_amount") FILTER (WHERE ("orders.status" IN ($1::text, $2::text, $3::text))) AS "paid_with_coupon",
    count(DISTINCT "orders.customer_id") FILTER (WHERE ("orders.status" IN ($1::text, $2::text, $3::text))) AS "paid_buyers",
    (avg("orders.amount") FILTER (WHERE ("orders.status" IN ($1::text, $2::text, $3::text))))::float8 AS "paid_average",
    min("orders.amount") FILTER (WHERE ("orders.status" IN ($1::text, $2::text, $3::text))) AS "paid_smallest",
    max("orders.created_at") FILTER (WHERE ("orders.status" IN ($1::text, $2::text, $3::text))) AS "paid_latest",
    min("orders.status" COLLATE "C") FILTER (WHERE ("orders.channel" = $4::text)) AS "app_first_status"
  FROM q0
  GROUP BY 1
)
SELECT
  "orders.region",
  "gmv_paid",
  "paid_orders",
  "paid_with_coupon",
  "paid_buyers",
  "paid_average",
  "paid_smallest",
  "paid_latest",
  "app_first_status"
FROM q1
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
-- $4 = 'app' (text)
