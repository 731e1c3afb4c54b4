-- placed GMV of orders with an electronics item, by region (filter through a fan-out)
WITH q0 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."order_id" AS "orders.order_id",
    t."region" AS "orders.region"
  FROM "orders" AS t
),
q1 AS (
  SELECT t."order_id" AS "order_items.order_id", t."product_id" AS "order_items.product_id"
  FROM "order_items" AS t
),
q2 AS (
  SELECT t."category" AS "products.category", t."product_id" AS "products.product_id"
  FROM "products" AS t
),
q3 AS (
  SELECT
    l."order_items.order_id",
    l."order_items.product_id",
    r."products.category",
    r."products.product_id"
  FROM q1 AS l
  LEFT JOIN q2 AS r ON l."order_items.product_id" = r."products.product_id"
),
q4 AS (
  SELECT *
  FROM q3
  WHERE ("products.category" = $1::text)
),
q5 AS (
  SELECT "order_items.order_id" AS "#b0.k0"
  FROM q4
  GROUP BY 1
),
q6 AS (
  SELECT l."orders.amount", l."orders.order_id", l."orders.region", r."#b0.k0"
  FROM q0 AS l
  INNER JOIN q5 AS r ON l."orders.order_id" = r."#b0.k0"
),
q7 AS (
  SELECT "orders.region", sum("orders.amount") AS "gmv_placed"
  FROM q6
  GROUP BY 1
)
SELECT "orders.region", "gmv_placed"
FROM q7
ORDER BY "gmv_placed" DESC NULLS LAST, "orders.region" COLLATE "C" ASC NULLS LAST
-- $1 = 'electronics' (text)
