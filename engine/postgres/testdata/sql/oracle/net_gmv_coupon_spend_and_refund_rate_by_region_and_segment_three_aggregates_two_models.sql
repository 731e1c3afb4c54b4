-- net GMV, coupon spend and refund rate by region and segment (three aggregates, two models)
WITH q0 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."coupon_amount" AS "orders.coupon_amount",
    t."customer_id" AS "orders.customer_id",
    t."region" AS "orders.region",
    t."status" AS "orders.status"
  FROM "orders" AS t
),
q1 AS (
  SELECT t."customer_id" AS "customers.customer_id", t."segment" AS "customers.segment"
  FROM "customers" AS t
),
q2 AS (
  SELECT
    l."orders.amount",
    l."orders.coupon_amount",
    l."orders.customer_id",
    l."orders.region",
    l."orders.status",
    r."customers.customer_id",
    r."customers.segment"
  FROM q0 AS l
  LEFT JOIN q1 AS r ON l."orders.customer_id" = r."customers.customer_id"
),
q3 AS (
  SELECT
    "orders.region",
    "customers.segment",
    sum(("orders.amount" - coalesce("orders.coupon_amount", $1::bigint::numeric))) FILTER (WHERE ("orders.status" IN ($2::text, $3::text, $4::text))) AS "gmv_net",
    sum("orders.coupon_amount") FILTER (WHERE ("orders.status" IN ($2::text, $3::text, $4::text))) AS "coupon_spend",
    count(*) FILTER (WHERE ("orders.status" = $5::text)) AS "refunded_order_count",
    count(*) FILTER (WHERE ("orders.status" IN ($2::text, $3::text, $4::text, $5::text))) AS "settled_order_count",
    count(*) FILTER (WHERE ("orders.status" IN ($2::text, $3::text, $4::text))) AS "#rows2"
  FROM q2
  GROUP BY 1, 2
),
q4 AS (
  SELECT *
  FROM q3
  WHERE ((("#rows2" > $1::bigint) OR ("refunded_order_count" > $1::bigint)) OR ("settled_order_count" > $1::bigint))
),
q5 AS (
  SELECT
    "orders.region",
    "customers.segment",
    "gmv_net",
    "coupon_spend",
    (CASE WHEN ("refunded_order_count" > $1::bigint) THEN "refunded_order_count" END::float8 / NULLIF(CASE WHEN ("settled_order_count" > $1::bigint) THEN "settled_order_count" END::float8, 0)) AS "refund_rate"
  FROM q4
)
SELECT "orders.region", "customers.segment", "gmv_net", "coupon_spend", "refund_rate"
FROM q5
ORDER BY "gmv_net" DESC NULLS LAST, "orders.region" COLLATE "C" ASC NULLS LAST, "customers.segment" COLLATE "C" ASC NULLS LAST
-- $1 = 0 (bigint)
-- $2 = 'paid' (text)
-- $3 = 'shipped' (text)
-- $4 = 'completed' (text)
-- $5 = 'refunded' (text)
