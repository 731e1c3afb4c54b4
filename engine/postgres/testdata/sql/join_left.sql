WITH q0 AS (
  SELECT t."item_id" AS "order_items.item_id", t."product_id" AS "order_items.product_id"
  FROM "order_items" AS t
),
q1 AS (
  SELECT t."product_id" AS "products.product_id", t."category" AS "products.category"
  FROM "products" AS t
),
q2 AS (
  SELECT
    l."order_items.item_id",
    l."order_items.product_id",
    r."products.product_id",
    r."products.category"
  FROM q0 AS l
  LEFT JOIN q1 AS r ON l."order_items.product_id" = r."products.product_id"
)
SELECT "order_items.item_id", "order_items.product_id", "products.product_id", "products.category"
FROM q2
