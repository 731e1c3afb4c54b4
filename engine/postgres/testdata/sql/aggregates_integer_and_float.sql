WITH q0 AS (
  SELECT
    t."item_id" AS "order_items.item_id",
    t."product_id" AS "order_items.product_id",
    t."quantity" AS "order_items.quantity",
    t."price" AS "order_items.price"
  FROM "order_items" AS t
),
q1 AS (
  SELECT
    "order_items.quantity",
    sum("order_items.quantity")::bigint AS "items",
    sum("order_items.item_id")::bigint AS "id_total",
    (sum("order_items.item_id") FILTER (WHERE ("order_items.product_id" > $1::bigint)))::bigint AS "big_id_total",
    sum(("order_items.price"::float8 / NULLIF("order_items.quantity"::float8, 0))) AS "share_total",
    avg(("order_items.price"::float8 / NULLIF("order_items.quantity"::float8, 0)))::float8 AS "share_average",
    avg("order_items.quantity")::float8 AS "quantity_average",
    max("order_items.quantity") AS "largest_quantity"
  FROM q0
  GROUP BY 1
)
SELECT
  "order_items.quantity",
  "items",
  "id_total",
  "big_id_total",
  "share_total",
  "share_average",
  "quantity_average",
  "largest_quantity"
FROM q1
-- $1 = 10 (bigint)
