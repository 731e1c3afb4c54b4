-- paid GMV by fiscal quarter of a fiscal year from February, against the fiscal year before
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
    ((date_trunc('quarter', ("orders.created_at" AT TIME ZONE $6::text + interval '-1 months')) + interval '1 months') AT TIME ZONE $6::text) AS "orders.created_at.fiscal_quarter",
    sum("orders.amount") AS "gmv_paid"
  FROM q0
  GROUP BY 1
),
q2 AS (
  SELECT l."orders.created_at.fiscal_quarter", l."gmv_paid", r."gmv_paid" AS "#c0:gmv_paid"
  FROM q1 AS l
  LEFT JOIN q1 AS r ON coalesce(((date_trunc('quarter', (((l."orders.created_at.fiscal_quarter" AT TIME ZONE $6::text + interval '-12 months') AT TIME ZONE $6::text) AT TIME ZONE $6::text + interval '-1 months')) + interval '1 months') AT TIME ZONE $6::text)::text, '') = coalesce(r."orders.created_at.fiscal_quarter"::text, '') AND (((date_trunc('quarter', (((l."orders.created_at.fiscal_quarter" AT TIME ZONE $6::text + interval '-12 months') AT TIME ZONE $6::text) AT TIME ZONE $6::text + interval '-1 months')) + interval '1 months') AT TIME ZONE $6::text) IS NULL) = (r."orders.created_at.fiscal_quarter" IS NULL)
),
q3 AS (
  SELECT *
  FROM q2
  WHERE (("orders.created_at.fiscal_quarter" >= $7::timestamptz) AND ("orders.created_at.fiscal_quarter" < $2::timestamptz))
),
q4 AS (
  SELECT
    "orders.created_at.fiscal_quarter",
    "gmv_paid",
    "#c0:gmv_paid" AS "gmv_paid.previous_fiscal_year",
    ("gmv_paid" - "#c0:gmv_paid") AS "gmv_paid.difference_fiscal_year",
    (("gmv_paid" - "#c0:gmv_paid")::float8 / NULLIF("#c0:gmv_paid"::float8, 0)) AS "gmv_paid.growth_fiscal_year"
  FROM q3
)
SELECT
  "orders.created_at.fiscal_quarter",
  "gmv_paid",
  "gmv_paid.previous_fiscal_year",
  "gmv_paid.difference_fiscal_year",
  "gmv_paid.growth_fiscal_year"
FROM q4
ORDER BY "orders.created_at.fiscal_quarter" ASC NULLS LAST, "gmv_paid" DESC NULLS LAST
-- $1 = TIMESTAMP '2023-01-31 16:00:00Z' (timestamptz)
-- $2 = TIMESTAMP '2025-01-31 16:00:00Z' (timestamptz)
-- $3 = 'paid' (text)
-- $4 = 'shipped' (text)
-- $5 = 'completed' (text)
-- $6 = 'Asia/Shanghai' (text)
-- $7 = TIMESTAMP '2024-01-31 16:00:00Z' (timestamptz)
