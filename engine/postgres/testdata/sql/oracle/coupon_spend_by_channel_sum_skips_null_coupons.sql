-- coupon spend by channel (sum skips NULL coupons)
WITH q0 AS (
  SELECT
    t."channel" AS "orders.channel",
    t."coupon_amount" AS "orders.coupon_amount",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (t."status" IN ($1::text, $2::text, $3::text))
),
q1 AS (
  SELECT "orders.channel", sum("orders.coupon_amount") AS "coupon_spend"
  FROM q0
  GROUP BY 1
)
SELECT "orders.channel", "coupon_spend"
FROM q1
ORDER BY "coupon_spend" DESC NULLS LAST, "orders.channel" COLLATE "C" ASC NULLS LAST
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
