-- net GMV by region and channel
WITH q0 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."channel" AS "orders.channel",
    t."coupon_amount" AS "orders.coupon_amount",
    t."region" AS "orders.region",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (t."status" IN ($1::text, $2::text, $3::text))
),
q1 AS (
  SELECT
    "orders.region",
    "orders.channel",
    sum(("orders.amount" - coalesce("orders.coupon_amount", $4::bigint::numeric))) AS "gmv_net"
  FROM q0
  GROUP BY 1, 2
)
SELECT "orders.region", "orders.channel", "gmv_net"
FROM q1
ORDER BY "gmv_net" DESC NULLS LAST, "orders.region" COLLATE "C" ASC NULLS LAST, "orders.channel" COLLATE "C" ASC NULLS LAST
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
-- $4 = 0 (bigint)
