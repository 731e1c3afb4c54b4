-- paid GMV by customer city and year, year over year, the NULL city against itself
WITH q0 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."created_at" AS "orders.created_at",
    t."customer_id" AS "orders.customer_id",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (t."status" IN ($1::text, $2::text, $3::text))
),
q1 AS (
  SELECT t."city" AS "customers.city", t."customer_id" AS "customers.customer_id"
  FROM "customers" AS t
),
q2 AS (
  SELECT
    l."orders.amount",
    l."orders.created_at",
    l."orders.customer_id",
    l."orders.status",
    r."customers.city",
    r."customers.customer_id"
  FROM q0 AS l
  LEFT JOIN q1 AS r ON l."orders.customer_id" = r."customers.customer_id"
),
q3 AS (
  SELECT
    "customers.city",
    (date_trunc('year', "orders.created_at" AT TIME ZONE $4::text) AT TIME ZONE $4::text) AS "orders.created_at.year",
    sum("orders.amount") AS "gmv_paid"
  FROM q2
  GROUP BY 1, 2
),
q4 AS (
  SELECT l."customers.city", l."orders.created_at.year", l."gmv_paid", r."gmv_paid" AS "#c0:gmv_paid"
  FROM q3 AS l
  LEFT JOIN q3 AS r ON coalesce(l."customers.city", '') = coalesce(r."customers.city", '') AND (l."customers.city" IS NULL) = (r."customers.city" IS NULL) AND coalesce((date_trunc('year', ((l."orders.created_at.year" AT TIME ZONE $4::text + interval '-12 months') AT TIME ZONE $4::text) AT TIME ZONE $4::text) AT TIME ZONE $4::text)::text, '') = coalesce(r."orders.created_at.year"::text, '') AND ((date_trunc('year', ((l."orders.created_at.year" AT TIME ZONE $4::text + interval '-12 months') AT TIME ZONE $4::text) AT TIME ZONE $4::text) AT TIME ZONE $4::text) IS NULL) = (r."orders.created_at.year" IS NULL)
),
q5 AS (
  SELECT
    "customers.city",
    "orders.created_at.year",
    "gmv_paid",
    CASE WHEN ("orders.created_at.year" IS NOT NULL) THEN "#c0:gmv_paid" END AS "gmv_paid.previous_year"
  FROM q4
)
SELECT "customers.city", "orders.created_at.year", "gmv_paid", "gmv_paid.previous_year"
FROM q5
ORDER BY "orders.created_at.year" ASC NULLS LAST, "gmv_paid" DESC NULLS LAST, "customers.city" COLLATE "C" ASC NULLS LAST
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
-- $4 = 'UTC' (text)
