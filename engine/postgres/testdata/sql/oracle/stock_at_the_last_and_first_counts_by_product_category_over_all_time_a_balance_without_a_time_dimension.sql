-- stock at the last and first counts by product category, over all time (a balance without a time dimension)
WITH q0 AS (
  SELECT
    t."product_id" AS "inventory.product_id",
    t."snapshot_date" AS "inventory.snapshot_date",
    t."units_on_hand" AS "inventory.units_on_hand"
  FROM "inventory" AS t
),
q1 AS (
  SELECT t."category" AS "products.category", t."product_id" AS "products.product_id"
  FROM "products" AS t
),
q2 AS (
  SELECT
    l."inventory.product_id",
    l."inventory.snapshot_date",
    l."inventory.units_on_hand",
    r."products.category",
    r."products.product_id"
  FROM q0 AS l
  LEFT JOIN q1 AS r ON l."inventory.product_id" = r."products.product_id"
),
q3 AS (
  SELECT
    "products.category",
    "inventory.snapshot_date" AS "#at",
    sum("inventory.units_on_hand")::bigint AS "stock_on_hand"
  FROM q2
  GROUP BY 1, 2
),
q4 AS (
  SELECT
    t."product_id" AS "inventory.product_id",
    t."snapshot_date" AS "inventory.snapshot_date",
    t."units_on_hand" AS "inventory.units_on_hand"
  FROM "inventory" AS t
),
q5 AS (
  SELECT t."category" AS "products.category", t."product_id" AS "products.product_id"
  FROM "products" AS t
),
q6 AS (
  SELECT
    l."inventory.product_id",
    l."inventory.snapshot_date",
    l."inventory.units_on_hand",
    r."products.category",
    r."products.product_id"
  FROM q4 AS l
  LEFT JOIN q5 AS r ON l."inventory.product_id" = r."products.product_id"
),
q7 AS (
  SELECT
    "products.category",
    "inventory.snapshot_date" AS "#at",
    sum("inventory.units_on_hand")::bigint AS "stock_on_hand"
  FROM q6
  GROUP BY 1, 2
),
q8 AS (
  SELECT "products.category" AS "#b:products.category", max("#at") AS "#b:#at"
  FROM q7
  GROUP BY 1
),
q9 AS (
  SELECT l."products.category", l."#at", l."stock_on_hand", r."#b:products.category", r."#b:#at"
  FROM q3 AS l
  INNER JOIN q8 AS r ON l."products.category" IS NOT DISTINCT FROM r."#b:products.category" AND l."#at" IS NOT DISTINCT FROM r."#b:#at"
),
q10 AS (
  SELECT "products.category", "stock_on_hand"
  FROM q9
),
q11 AS (
  SELECT
    t."product_id" AS "inventory.product_id",
    t."snapshot_date" AS "inventory.snapshot_date",
    t."units_on_hand" AS "inventory.units_on_hand"
  FROM "inventory" AS t
),
q12 AS (
  SELECT t."category" AS "products.category", t."product_id" AS "products.product_id"
  FROM "products" AS t
),
q13 AS (
  SELECT
    l."inventory.product_id",
    l."inventory.snapshot_date",
    l."inventory.units_on_hand",
    r."products.category",
    r."products.product_id"
  FROM q11 AS l
  LEFT JOIN q12 AS r ON l."inventory.product_id" = r."products.product_id"
),
q14 AS (
  SELECT
    "products.category",
    "inventory.snapshot_date" AS "#at",
    sum("inventory.units_on_hand")::bigint AS "opening_stock"
  FROM q13
  GROUP BY 1, 2
),
q15 AS (
  SELECT
    t."product_id" AS "inventory.product_id",
    t."snapshot_date" AS "inventory.snapshot_date",
    t."units_on_hand" AS "inventory.units_on_hand"
  FROM "inventory" AS t
),
q16 AS (
  SELECT t."category" AS "products.category", t."product_id" AS "products.product_id"
  FROM "products" AS t
),
q17 AS (
  SELECT
    l."inventory.product_id",
    l."inventory.snapshot_date",
    l."inventory.units_on_hand",
    r."products.category",
    r."products.product_id"
  FROM q15 AS l
  LEFT JOIN q16 AS r ON l."inventory.product_id" = r."products.product_id"
),
q18 AS (
  SELECT
    "products.category",
    "inventory.snapshot_date" AS "#at",
    sum("inventory.units_on_hand")::bigint AS "opening_stock"
  FROM q17
  GROUP BY 1, 2
),
q19 AS (
  SELECT "products.category" AS "#b:products.category", min("#at") AS "#b:#at"
  FROM q18
  GROUP BY 1
),
q20 AS (
  SELECT l."products.category", l."#at", l."opening_stock", r."#b:products.category", r."#b:#at"
  FROM q14 AS l
  INNER JOIN q19 AS r ON l."products.category" IS NOT DISTINCT FROM r."#b:products.category" AND l."#at" IS NOT DISTINCT FROM r."#b:#at"
),
q21 AS (
  SELECT "products.category" AS "#1:products.category", "opening_stock"
  FROM q20
),
q22 AS (
  SELECT l."products.category", l."stock_on_hand", r."#1:products.category", r."opening_stock"
  FROM q10 AS l
  FULL JOIN q21 AS r ON coalesce(l."products.category", '') = coalesce(r."#1:products.category", '') AND (l."products.category" IS NULL) = (r."#1:products.category" IS NULL)
),
q23 AS (
  SELECT
    coalesce("products.category", "#1:products.category") AS "products.category",
    "stock_on_hand",
    "opening_stock"
  FROM q22
)
SELECT "products.category", "stock_on_hand", "opening_stock"
FROM q23
ORDER BY "stock_on_hand" DESC NULLS LAST, "products.category" COLLATE "C" ASC NULLS LAST
