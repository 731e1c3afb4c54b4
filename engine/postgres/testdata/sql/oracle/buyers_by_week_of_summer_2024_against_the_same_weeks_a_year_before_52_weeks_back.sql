-- buyers by week of summer 2024 against the same weeks a year before (52 weeks back)
WITH q0 AS (
  SELECT
    t."created_at" AS "orders.created_at",
    t."customer_id" AS "orders.customer_id",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE ((((t."created_at" >= $1::timestamptz) AND (t."created_at" < $2::timestamptz)) OR ((t."created_at" >= $3::timestamptz) AND (t."created_at" < $4::timestamptz))) AND (t."status" IN ($5::text, $6::text, $7::text)))
),
q1 AS (
  SELECT
    "orders.customer_id",
    (date_trunc('week', "orders.created_at" AT TIME ZONE $8::text) AT TIME ZONE $8::text) AS "#d:orders.created_at.week"
  FROM q0
  GROUP BY 1, 2
),
q2 AS (
  SELECT
    "#d:orders.created_at.week" AS "orders.created_at.week",
    count("orders.customer_id") AS "buyers"
  FROM q1
  GROUP BY 1
),
q3 AS (
  SELECT l."orders.created_at.week", l."buyers", r."buyers" AS "#c0:buyers"
  FROM q2 AS l
  LEFT JOIN q2 AS r ON coalesce((date_trunc('week', ((l."orders.created_at.week" AT TIME ZONE $8::text + interval '-364 days') AT TIME ZONE $8::text) AT TIME ZONE $8::text) AT TIME ZONE $8::text)::text, '') = coalesce(r."orders.created_at.week"::text, '') AND ((date_trunc('week', ((l."orders.created_at.week" AT TIME ZONE $8::text + interval '-364 days') AT TIME ZONE $8::text) AT TIME ZONE $8::text) AT TIME ZONE $8::text) IS NULL) = (r."orders.created_at.week" IS NULL)
),
q4 AS (
  SELECT *
  FROM q3
  WHERE (("orders.created_at.week" >= $3::timestamptz) AND ("orders.created_at.week" < $4::timestamptz))
),
q5 AS (
  SELECT
    "orders.created_at.week",
    "buyers",
    "#c0:buyers" AS "buyers.previous_year",
    (("buyers" - "#c0:buyers")::float8 / NULLIF("#c0:buyers"::float8, 0)) AS "buyers.growth_year"
  FROM q4
)
SELECT "orders.created_at.week", "buyers", "buyers.previous_year", "buyers.growth_year"
FROM q5
ORDER BY "orders.created_at.week" ASC NULLS LAST, "buyers" DESC NULLS LAST
-- $1 = TIMESTAMP '2023-06-04 16:00:00Z' (timestamptz)
-- $2 = TIMESTAMP '2023-09-03 16:00:00Z' (timestamptz)
-- $3 = TIMESTAMP '2024-06-02 16:00:00Z' (timestamptz)
-- $4 = TIMESTAMP '2024-09-01 16:00:00Z' (timestamptz)
-- $5 = 'paid' (text)
-- $6 = 'shipped' (text)
-- $7 = 'completed' (text)
-- $8 = 'Asia/Shanghai' (text)
