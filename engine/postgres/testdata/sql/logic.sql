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
    ((("orders.channel" = $1::text) AND ("orders.amount" > $2::numeric)) OR (NOT ("orders.status" = $3::text))) AS "and_or",
    ("orders.coupon_amount" IS NULL) AS "is_null",
    ("orders.paid_at" IS NOT NULL) AS "is_not_null",
    ("orders.status" IN ($4::text, $5::text)) AS "in",
    ("orders.channel" NOT IN ($6::text, $7::text)) AS "not_in_with_null",
    coalesce("orders.coupon_amount", $8::bigint::numeric) AS "coalesced",
    ($9::boolean AND ("orders.paid_at" IS NULL)) AS "boolean_constant"
  FROM q0
)
SELECT
  "id",
  "and_or",
  "is_null",
  "is_not_null",
  "in",
  "not_in_with_null",
  "coalesced",
  "boolean_constant"
FROM q1
-- $1 = 'web' (text)
-- $2 = 500.00 (numeric)
-- $3 = 'placed' (text)
-- $4 = 'paid' (text)
-- $5 = 'shipped' (text)
-- $6 = 'app' (text)
-- $7 = NULL (text)
-- $8 = 0 (bigint)
-- $9 = true (boolean)
