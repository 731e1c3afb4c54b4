WITH q0 AS (
  SELECT
    t."order_id" AS "orders.order_id",
    t."status" AS "orders.status",
    t."channel" AS "orders.channel",
    t."amount" AS "orders.amount",
    t."coupon_amount" AS "orders.coupon_amount",
    t."created_at" AS "orders.created_at",
    t."paid_at" AS "orders.paid_at"
  FROM "orders" AS t
),
q1 AS (
  SELECT
    "orders.order_id" AS "id",
    ("orders.status" = $1::text) AS "eq",
    ("orders.channel" <> $2::text) AS "ne",
    ("orders.status" COLLATE "C" < $1::text) AS "lt_string",
    ("orders.amount" <= $3::numeric) AS "le",
    ("orders.amount" > $4::bigint::numeric) AS "gt_mixed",
    ("orders.created_at" >= $5::timestamptz) AS "ge_time",
    ("orders.created_at" < "orders.paid_at") AS "columns"
  FROM q0
)
SELECT "id", "eq", "ne", "lt_string", "le", "gt_mixed", "ge_time", "columns"
FROM q1
-- $1 = 'paid' (text)
-- $2 = 'app' (text)
-- $3 = 250.50 (numeric)
-- $4 = 100 (bigint)
-- $5 = TIMESTAMP '2025-03-01 00:00:00Z' (timestamptz)
