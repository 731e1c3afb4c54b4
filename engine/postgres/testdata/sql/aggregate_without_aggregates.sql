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
  SELECT "orders.region", "orders.channel"
  FROM q0
  GROUP BY 1, 2
)
SELECT "orders.region", "orders.channel"
FROM q1
