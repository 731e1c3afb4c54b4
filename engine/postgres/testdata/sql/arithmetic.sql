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
    ("order_items.quantity"::bigint + $1::bigint) AS "sum",
    ("order_items.item_id" - "order_items.order_id") AS "difference",
    ("order_items.quantity"::numeric * "order_items.price") AS "line_total",
    ("order_items.price" + $2::numeric) AS "price_plus_one",
    ("order_items.price"::float8 / NULLIF("order_items.quantity"::float8, 0)) AS "unit_share",
    ("order_items.quantity"::float8 / NULLIF($3::bigint::float8, 0)) AS "by_zero",
    ("order_items.price"::float8 * $4::float8) AS "float_product",
    (-"order_items.quantity"::bigint) AS "negated"
  FROM q0
)
SELECT
  "id",
  "sum",
  "difference",
  "line_total",
  "price_plus_one",
  "unit_share",
  "by_zero",
  "float_product",
  "negated"
FROM q1
-- $1 = 1 (bigint)
-- $2 = 1.00 (numeric)
-- $3 = 0 (bigint)
-- $4 = 0.5 (float8)
