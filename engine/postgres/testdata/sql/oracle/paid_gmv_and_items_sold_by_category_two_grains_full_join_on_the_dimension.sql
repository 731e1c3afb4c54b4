-- paid GMV and items sold by category (two grains, full join on the dimension)
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
),
q7 AS (
  SELECT t."product_id" AS "order_items.product_id", t."quantity" AS "order_items.quantity"
  FROM "order_items" AS t
),
q8 AS (
  SELECT t."category" AS "products.category", t."product_id" AS "products.product_id"
  FROM "products" AS t
),
q9 AS (
  SELECT
    l."order_items.product_id",
    l."order_items.quantity",
    r."products.category",
    r."products.product_id"
  FROM q7 AS l
  LEFT JOIN q8 AS r ON l."order_items.product_id" = r."products.product_id"
),
q10 AS (
  SELECT "products.category", sum("order_items.quantity")::bigint AS "items_sold"
  FROM q9
  GROUP BY 1
),
q11 AS (
  SELECT "products.category" AS "#1:products.category", "items_sold"
  FROM q10
),
q12 AS (
  SELECT l."products.category", l."gmv_paid", r."#1:products.category", r."items_sold"
  FROM q6 AS l
  FULL JOIN q11 AS r ON coalesce(l."products.category", '') = coalesce(r."#1:products.category", '') AND (l."products.category" IS NULL) = (r."#1:products.category" IS NULL)
),
q13 AS (
  SELECT
    coalesce("products.category", "#1:products.category") AS "products.category",
    "gmv_paid",
    "items_sold"
  FROM q12
)
SELECT "products.category", "gmv_paid", "items_sold"
FROM q13
ORDER BY "gmv_paid" DESC NULLS LAST, "products.category" COLLATE "C" ASC NULLS LAST
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
