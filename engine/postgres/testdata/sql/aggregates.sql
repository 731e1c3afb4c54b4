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
    "orders.region",
    sum("orders.amount") AS "gmv",
    count(*) AS "orders",
    count("orders.coupon_amount") AS "with_coupon",
    count(DISTINCT "orders.customer_id") AS "buyers",
    avg("orders.amount")::float8 AS "average",
    min("orders.amount") AS "smallest",
    max("orders.created_at") AS "latest",
    min("orders.channel" COLLATE "C") AS "first_channel",
    max("orders.status" COLLATE "C") AS "last_status"
  FROM q0
  GROUP BY 1
)
SELECT
  "orders.region",
  "gmv",
  "orders",
  "with_coupon",
  "buyers",
  "average",
  "smallest",
  "latest",
  "first_channel",
  "last_status"
FROM q1
