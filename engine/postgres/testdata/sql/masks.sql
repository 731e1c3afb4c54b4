WITH q0 AS (
  SELECT
    t."customer_id" AS "customers.customer_id",
    t."name" AS "customers.name",
    t."city" AS "customers.city",
    t."signup_date" AS "customers.signup_date"
  FROM "customers" AS t
),
q1 AS (
  SELECT
    "customers.customer_id" AS "id",
    md5("customers.name") AS "name_hash",
    CASE WHEN char_length("customers.name") > 2 THEN (left("customers.name", 1) || repeat('*', char_length("customers.name") - 2) || right("customers.name", 1)) ELSE repeat('*', char_length("customers.name")) END AS "name_partial",
    md5("customers.city") AS "city_hash",
    CASE WHEN char_length("customers.city") > 2 THEN (left("customers.city", 1) || repeat('*', char_length("customers.city") - 2) || right("customers.city", 1)) ELSE repeat('*', char_length("customers.city")) END AS "city_partial"
  FROM q0
)
SELECT "id", "name_hash", "name_partial", "city_hash", "city_partial"
FROM q1
