-- orders by day around 2024-02-29, year over year (the leap day against 2023-02-28)
WITH q0 AS (
  SELECT t."created_at" AS "orders.created_at"
  FROM "orders" AS t
  WHERE (((t."created_at" >= $1::timestamptz) AND (t."created_at" < $2::timestamptz)) OR ((t."created_at" >= $3::timestamptz) AND (t."created_at" < $4::timestamptz)))
),
q1 AS (
  SELECT
    (date_trunc('day', "orders.created_at" AT TIME ZONE $5::text) AT TIME ZONE $5::text) AS "orders.created_at.day",
    count(*) AS "order_count"
  FROM q0
  GROUP BY 1
),
q2 AS (
  SELECT l."orders.created_at.day", l."order_count", r."order_count" AS "#c0:order_count"
  FROM q1 AS l
  LEFT JOIN q1 AS r ON coalesce((date_trunc('day', ((l."orders.created_at.day" AT TIME ZONE $5::text + interval '-12 months') AT TIME ZONE $5::text) AT TIME ZONE $5::text) AT TIME ZONE $5::text)::text, '') = coalesce(r."orders.created_at.day"::text, '') AND ((date_trunc('day', ((l."orders.created_at.day" AT TIME ZONE $5::text + interval '-12 months') AT TIME ZONE $5::text) AT TIME ZONE $5::text) AT TIME ZONE $5::text) IS NULL) = (r."orders.created_at.day" IS NULL)
),
q3 AS (
  SELECT *
  FROM q2
  WHERE (("orders.created_at.day" >= $3::timestamptz) AND ("orders.created_at.day" < $4::timestamptz))
),
q4 AS (
  SELECT
    "orders.created_at.day",
    "order_count",
    "#c0:order_count" AS "order_count.previous_year",
    ("order_count" - "#c0:order_count") AS "order_count.difference_year",
    (("order_count" - "#c0:order_count")::float8 / NULLIF("#c0:order_count"::float8, 0)) AS "order_count.growth_year"
  FROM q3
)
SELECT
  "orders.created_at.day",
  "order_count",
  "order_count.previous_year",
  "order_count.difference_year",
  "order_count.growth_year"
FROM q4
ORDER BY "orders.created_at.day" ASC NULLS LAST, "order_count" DESC NULLS LAST
-- $1 = TIMESTAMP '2023-02-27 00:00:00Z' (timestamptz)
-- $2 = TIMESTAMP '2023-03-02 00:00:00Z' (timestamptz)
-- $3 = TIMESTAMP '2024-02-27 00:00:00Z' (timestamptz)
-- $4 = TIMESTAMP '2024-03-02 00:00:00Z' (timestamptz)
-- $5 = 'UTC' (text)
