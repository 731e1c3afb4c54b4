-- items sold by product category
WITH q0 AS (
  SELECT t."product_id" AS "order_items.product_id", t."quantity" AS "order_items.quantity"
  FROM "order_items" AS t
),
q1 AS (
  SELECT t."category" AS "products.category", t."product_id" AS "products.product_id"
  FROM "products" AS t
),
q2 AS (
  SELECT
    l."order_items.product_id",
    l."order_items.quantity",
    r."products.category",
    r."products.product_id"
  FROM q0 AS l
  LEFT JOIN q1 AS r ON l."order_items.product_id" = r."products.product_id"
),
q3 AS (
  SELECT "products.category", sum("order_items.quantity")::bigint AS "items_sold"
  FROM q2
  GROUP BY 1
)
SELECT "products.category", "items_sold"
FROM q3
ORDER BY "items_sold" DESC NULLS LAST, "products.category" COLLATE "C" ASC NULLS LAST
