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
    (strpos(lower("customers.city"), lower($1::text)) > 0) AS "has_an",
    (NOT (strpos(lower("customers.city"), lower($2::text)) > 0)) AS "lacks_zh",
    coalesce("customers.city", $3::text) AS "city_or_none",
    ("customers.name" COLLATE "C" < $4::text) AS "before_m"
  FROM q0
)
SELECT "id", "has_an", "lacks_zh", "city_or_none", "before_m"
FROM q1
-- $1 = 'AN' (text)
-- $2 = 'zh' (text)
-- $3 = '(none)' (text)
-- $4 = 'M' (text)
