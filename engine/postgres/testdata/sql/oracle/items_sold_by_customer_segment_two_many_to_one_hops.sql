-- items sold by customer segment (two many-to-one hops)
WITH q0 AS (
  SELECT t."order_id" AS "order_items.order_id", t."quantity" AS "order_items.quantity"
  FROM "order_items" AS t
),
q1 AS (
  SELECT t."customer_id" AS "orders.customer_id", t."order_id" AS "orders.order_id"
  FROM "orders" AS t
),
q2 AS (
  SELECT
    l."order_items.order_id",
    l."order_items.quantity",
    r."orders.customer_id",
    r."orders.order_id"
  FROM q0 AS l
  LEFT JOIN q1 AS r ON l."order_items.order_id" = r."orders.order_id"
),
q3 AS (
  SELECT t."customer_id" AS "customers.customer_id", t."segment" AS "customers.segment"
  FROM "customers" AS t
),
q4 AS (
  SELECT
    l."order_items.order_id",
    l."order_items.quantity",
    l."orders.customer_id",
    l."orders.order_id",
    r."customers.customer_id",
    r."customers.segment"
  FROM q2 AS l
  LEFT JOIN q3 AS r ON l."orders.customer_id" = r."customers.customer_id"
),
q5 AS (
  SELECT "customers.segment", sum("order_items.quantity")::bigint AS "items_sold"
  FROM q4
  GROUP BY 1
)
SELECT "customers.segment", "items_sold"
FROM q5
ORDER BY "items_sold" DESC NULLS LAST, "customers.segment" COLLATE "C" ASC NULLS LAST
