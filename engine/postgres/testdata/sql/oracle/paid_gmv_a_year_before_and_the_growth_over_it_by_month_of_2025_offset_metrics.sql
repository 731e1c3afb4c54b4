-- paid GMV a year before and the growth over it, by month of 2025 (offset metrics)
WITH q0 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."created_at" AS "orders.created_at",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (((t."created_at" >= $1::timestamptz) AND (t."created_at" < $2::timestamptz)) AND (t."status" IN ($3::text, $4::text, $5::text)))
),
q1 AS (
  SELECT
    (date_trunc('month', "orders.created_at" AT TIME ZONE $6::text) AT TIME ZONE $6::text) AS "orders.created_at.month",
    sum("orders.amount") AS "gmv_paid"
  FROM q0
  GROUP BY 1
),
q2 AS (
  SELECT l."orders.created_at.month", l."gmv_paid", r."gmv_paid" AS "#o0:gmv_paid_last_year"
  FROM q1 AS l
  LEFT JOIN q1 AS r ON coalesce((date_trunc('month', ((l."orders.created_at.month" AT TIME ZONE $6::text + interval '-12 months') AT TIME ZONE $6::text) AT TIME ZONE $6::text) AT TIME ZONE $6::text)::text, '') = coalesce(r."orders.created_at.month"::text, '') AND ((date_trunc('month', ((l."orders.created_at.month" AT TIME ZONE $6::text + interval '-12 months') AT TIME ZONE $6::text) AT TIME ZONE $6::text) AT TIME ZONE $6::text) IS NULL) = (r."orders.created_at.month" IS NULL)
),
q3 AS (
  SELECT *
  FROM q2
  WHERE (("orders.created_at.month" >= $7::timestamptz) AND ("orders.created_at.month" < $2::timestamptz))
),
q4 AS (
  SELECT
    "orders.created_at.month",
    "gmv_paid",
    CASE WHEN ("orders.created_at.month" IS NOT NULL) THEN "#o0:gmv_paid_last_year" END AS "gmv_paid_last_year",
    (("gmv_paid"::float8 / NULLIF(CASE WHEN ("orders.created_at.month" IS NOT NULL) THEN "#o0:gmv_paid_last_year" END::float8, 0)) - $8::bigint::float8) AS "gmv_paid_yoy"
  FROM q3
)
SELECT "orders.created_at.month", "gmv_paid", "gmv_paid_last_year", "gmv_paid_yoy"
FROM q4
ORDER BY "orders.created_at.month" ASC NULLS LAST, "gmv_paid" DESC NULLS LAST
-- $1 = TIMESTAMP '2023-12-31 16:00:00Z' (timestamptz)
-- $2 = TIMESTAMP '2025-12-31 16:00:00Z' (timestamptz)
-- $3 = 'paid' (text)
-- $4 = 'shipped' (text)
-- $5 = 'completed' (text)
-- $6 = 'Asia/Shanghai' (text)
-- $7 = TIMESTAMP '2024-12-31 16:00:00Z' (timestamptz)
-- $8 = 1 (bigint)
