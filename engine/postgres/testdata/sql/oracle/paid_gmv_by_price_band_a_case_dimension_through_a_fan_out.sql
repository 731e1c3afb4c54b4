-- paid GMV by price band (a CASE dimension through a fan-out)
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
  SELECT t."product_id" AS "products.product_id", t."unit_price" AS "products.unit_price"
  FROM "products" AS t
),
q3 AS (
  SELECT
    l."order_items.order_id",
    l."order_items.product_id",
    r."products.product_id",
    r."products.unit_price"
  FROM q1 AS l
  LEFT JOIN q2 AS r ON l."order_items.product_id" = r."products.product_id"
),
q4 AS (
  SELECT
    "order_items.order_id" AS "#b0.k0",
    CASE WHEN ("products.unit_price" < $4::bigint::numeric) THEN $5::text WHEN ("products.unit_price" < $6::bigint::numeric) THEN $7::text WHEN ("products.unit_price" < $8::bigint::numeric) THEN $9::text ELSE $10::text END AS "#b0:products.price_band"
  FROM q3
  GROUP BY 1, 2
),
q5 AS (
  SELECT
    l."orders.amount",
    l."orders.order_id",
    l."orders.status",
    r."#b0.k0",
    r."#b0:products.price_band"
  FROM q0 AS l
  LEFT JOIN q4 AS r ON l."orders.order_id" = r."#b0.k0"
),
q6 AS (
  SELECT "#b0:products.price_band" AS "products.price_band", sum("orders.amount") AS "gmv_paid"
  FROM q5
  GROUP BY 1
)
SELECT "products.price_band", "gmv_paid"
FROM q6
ORDER BY "gmv_paid" DESC NULLS LAST, "products.price_band" COLLATE "C" ASC NULLS LAST
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
-- $4 = 100 (bigint)
-- $5 = 'under 100' (text)
-- $6 = 500 (bigint)
-- $7 = '100 to 500' (text)
-- $8 = 2000 (bigint)
-- $9 = '500 to 2000' (text)
-- $10 = '2000 and over' (text)
