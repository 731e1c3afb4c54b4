WITH q0 AS (
  SELECT t."product_id" AS "products.product_id", t."unit_price" AS "products.unit_price"
  FROM "products" AS t
),
q1 AS (
  SELECT
    "products.product_id" AS "id",
    CASE WHEN ("products.unit_price" < $1::bigint::numeric) THEN $2::text WHEN ("products.unit_price" < $3::bigint::numeric) THEN $4::text ELSE $5::text END AS "band",
    CASE WHEN ("products.unit_price" > $6::bigint::numeric) THEN $7::bigint END AS "discount",
    CASE WHEN ("products.unit_price" < $8::bigint::numeric) THEN $9 ELSE $10::text END AS "untyped_null"
  FROM q0
)
SELECT "id", "band", "discount", "untyped_null"
FROM q1
-- $1 = 100 (bigint)
-- $2 = 'under 100' (text)
-- $3 = 500 (bigint)
-- $4 = '100 to 500' (text)
-- $5 = '500 and over' (text)
-- $6 = 1000 (bigint)
-- $7 = 50 (bigint)
-- $8 = 10 (bigint)
-- $9 = NULL (unknown)
-- $10 = 'not cheap' (text)
