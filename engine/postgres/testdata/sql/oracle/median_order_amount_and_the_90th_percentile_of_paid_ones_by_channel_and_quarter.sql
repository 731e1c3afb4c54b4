-- median order amount and the 90th percentile of paid ones by channel and quarter
WITH q0 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."channel" AS "orders.channel",
    t."created_at" AS "orders.created_at",
    t."status" AS "orders.status"
  FROM "orders" AS t
),
q1 AS (
  SELECT
    "orders.channel",
    (date_trunc('quarter', "orders.created_at" AT TIME ZONE $1::text) AT TIME ZONE $1::text) AS "orders.created_at.quarter",
    percentile_cont($2::float8) WITHIN GROUP (ORDER BY "orders.amount"::float8) AS "order_amount_median",
    percentile_cont($3::float8) WITHIN GROUP (ORDER BY "orders.amount"::float8) FILTER (WHERE ("orders.status" IN ($4::text, $5::text, $6::text))) AS "paid_order_amount_p90",
    count(*) FILTER (WHERE ("orders.status" IN ($4::text, $5::text, $6::text))) AS "#rows0"
  FROM q0
  GROUP BY 1, 2
),
q2 AS (
  SELECT "orders.channel", "orders.created_at.quarter", "order_amount_median", "paid_order_amount_p90"
  FROM q1
)
SELECT "orders.channel", "orders.created_at.quarter", "order_amount_median", "paid_order_amount_p90"
FROM q2
ORDER BY "orders.created_at.quarter" ASC NULLS LAST, "order_amount_median" DESC NULLS LAST, "orders.channel" COLLATE "C" ASC NULLS LAST
-- $1 = 'Asia/Shanghai' (text)
-- $2 = 0.5 (float8)
-- $3 = 0.9 (float8)
-- $4 = 'paid' (text)
-- $5 = 'shipped' (text)
-- $6 = 'completed' (text)
