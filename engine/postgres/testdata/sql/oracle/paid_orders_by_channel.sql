-- paid orders by channel
WITH q0 AS (
  SELECT t."channel" AS "orders.channel", t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (t."status" IN ($1::text, $2::text, $3::text))
),
q1 AS (
  SELECT "orders.channel", count(*) AS "paid_order_count"
  FROM q0
  GROUP BY 1
)
SELECT "orders.channel", "paid_order_count"
FROM q1
ORDER BY "paid_order_count" DESC NULLS LAST, "orders.channel" COLLATE "C" ASC NULLS LAST
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
