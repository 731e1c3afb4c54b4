-- paid GMV by product category counts each order once per category (fan-out)
WITH q0 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."order_id" AS "orders.order_id",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (t."status" IN ($1::text, $2::text, $3::text))
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
  SELECT "order_items.order_id" AS "#b0.k0", "products.category" AS "#b0:products.category"
  FROM q3
  GROUP BY 1, 2
),
q5 AS (
  SELECT
    l."orders.amount",
    l."orders.order_id",
    l."orders.status",
    r."#b0.k0",
    r."#b0:products.category"
  FROM q0 AS l
  LEFT JOIN q4 AS r ON l."orders.order_id" = r."#b0.k0"
),
q6 AS (
  SELECT "#b0:products.category" AS "products.category", sum("orders.amount") AS "gmv_paid"
  FROM q5
  GROUP BY 1
)
SELECT "products.category", "gmv_paid"
FROM q6
ORDER BY "gmv_paid" DESC NULLS LAST, "products.category" COLLATE "C" ASC NULLS LAST
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
