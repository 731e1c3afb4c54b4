-- orders by channel and segment since June 2025
WITH q0 AS (
  SELECT
    t."channel" AS "orders.channel",
    t."created_at" AS "orders.created_at",
    t."customer_id" AS "orders.customer_id"
  FROM "orders" AS t
  WHERE (t."created_at" >= $1::timestamptz)
),
q1 AS (
  SELECT t."customer_id" AS "customers.customer_id", t."segment" AS "customers.segment"
  FROM "customers" AS t
),
q2 AS (
  SELECT
    l."orders.channel",
    l."orders.created_at",
    l."orders.customer_id",
    r."customers.customer_id",
    r."customers.segment"
  FROM q0 AS l
  LEFT JOIN q1 AS r ON l."orders.customer_id" = r."customers.customer_id"
),
q3 AS (
  SELECT "orders.channel", "customers.segment", count(*) AS "order_count"
  FROM q2
  GROUP BY 1, 2
)
SELECT "orders.channel", "customers.segment", "order_count"
FROM q3
ORDER BY "order_count" DESC NULLS LAST, "orders.channel" COLLATE "C" ASC NULLS LAST, "customers.segment" COLLATE "C" ASC NULLS LAST
-- $1 = TIMESTAMP '2025-06-01 00:00:00Z' (timestamptz)
