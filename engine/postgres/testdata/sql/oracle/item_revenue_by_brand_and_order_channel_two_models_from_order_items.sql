-- item revenue by brand and order channel (two models from order items)
WITH q0 AS (
  SELECT
    t."order_id" AS "order_items.order_id",
    t."price" AS "order_items.price",
    t."product_id" AS "order_items.product_id",
    t."quantity" AS "order_items.quantity"
  FROM "order_items" AS t
),
q1 AS (
  SELECT t."brand" AS "products.brand", t."product_id" AS "products.product_id"
  FROM "products" AS t
),
q2 AS (
  SELECT
    l."order_items.order_id",
    l."order_items.price",
    l."order_items.product_id",
    l."order_items.quantity",
    r."products.brand",
    r."products.product_id"
  FROM q0 AS l
  LEFT JOIN q1 AS r ON l."order_items.product_id" = r."products.product_id"
),
q3 AS (
  SELECT t."channel" AS "orders.channel", t."order_id" AS "orders.order_id"
  FROM "orders" AS t
),
q4 AS (
  SELECT
    l."order_items.order_id",
    l."order_items.price",
    l."order_items.product_id",
    l."order_items.quantity",
    l."products.brand",
    l."products.product_id",
    r."orders.channel",
    r."orders.order_id"
  FROM q2 AS l
  LEFT JOIN q3 AS r ON l."order_items.order_id" = r."orders.order_id"
),
q5 AS (
  SELECT
    "products.brand",
    "orders.channel",
    sum(("order_items.quantity"::numeric * "order_items.price")) AS "item_revenue"
  FROM q4
  GROUP BY 1, 2
)
SELECT "products.brand", "orders.channel", "item_revenue"
FROM q5
ORDER BY "item_revenue" DESC NULLS LAST, "products.brand" COLLATE "C" ASC NULLS LAST, "orders.channel" COLLATE "C" ASC NULLS LAST
