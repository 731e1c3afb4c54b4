WITH q0 AS (
  SELECT
    t."item_id" AS "order_items.item_id",
    t."order_id" AS "order_items.order_id",
    t."quantity" AS "order_items.quantity",
    t."price" AS "order_items.price"
  FROM "order_items" AS t
),
q1 AS (
  SELECT
    "order_items.item_id" AS "id",
    "order_items.quantity"::float8 AS "quantity_float",
    "order_items.price"::float8 AS "price_float",
    "order_items.quantity"::numeric AS "quantity_decimal",
    "order_items.price" AS "price_wider"
  FROM q0
)
SELECT "id", "quantity_float", "price_float", "quantity_decimal", "price_wider"
FROM q1
