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
    (date_trunc('month', "orders.created_at" AT TIME ZONE $1::text) AT TIME ZONE $1::text) AS "orders.created_at.month",
    CASE WHEN ("orders.amount" < $2::bigint::numeric) THEN $3::text ELSE $4::text END AS "size",
    sum("orders.amount") AS "gmv"
  FROM q0
  GROUP BY 1, 2
)
SELECT "orders.created_at.month", "size", "gmv"
FROM q1
-- $1 = 'Asia/Shanghai' (text)
-- $2 = 100 (bigint)
-- $3 = 'small' (text)
-- $4 = 'large' (text)
