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
    "orders.channel",
    percentile_cont($1::float8) WITHIN GROUP (ORDER BY "orders.amount"::float8) AS "median_amount",
    percentile_cont($2::float8) WITHIN GROUP (ORDER BY "orders.amount"::float8) AS "p90_amount",
    percentile_cont($3::float8) WITHIN GROUP (ORDER BY "orders.coupon_amount"::float8) AS "p0_coupon",
    percentile_cont($4::float8) WITHIN GROUP (ORDER BY "orders.amount"::float8) FILTER (WHERE ("orders.status" IN ($5::text, $6::text, $7::text))) AS "p100_paid",
    percentile_cont($8::float8) WITHIN GROUP (ORDER BY "orders.customer_id"::float8) AS "p37_customer",
    percentile_cont($9::float8) WITHIN GROUP (ORDER BY "orders.coupon_amount"::float8) FILTER (WHERE ("orders.status" = $10::text)) AS "p99_none"
  FROM q0
  GROUP BY 1
)
SELECT
  "orders.channel",
  "median_amount",
  "p90_amount",
  "p0_coupon",
  "p100_paid",
  "p37_customer",
  "p99_none"
FROM q1
-- $1 = 0.5 (float8)
-- $2 = 0.9 (float8)
-- $3 = 0 (float8)
-- $4 = 1 (float8)
-- $5 = 'paid' (text)
-- $6 = 'shipped' (text)
-- $7 = 'completed' (text)
-- $8 = 0.37 (float8)
-- $9 = 0.99 (float8)
-- $10 = 'no such status' (text)
