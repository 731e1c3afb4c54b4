-- paid GMV a year before by region and day around the leap day (an offset by day)
WITH q0 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."created_at" AS "orders.created_at",
    t."region" AS "orders.region",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE ((((t."created_at" >= $1::timestamptz) AND (t."created_at" < $2::timestamptz)) OR ((t."created_at" >= $3::timestamptz) AND (t."created_at" < $4::timestamptz))) AND (t."status" IN ($5::text, $6::text, $7::text)))
),
q1 AS (
  SELECT
    "orders.region",
    (date_trunc('day', "orders.created_at" AT TIME ZONE $8::text) AT TIME ZONE $8::text) AS "orders.created_at.day",
    sum("orders.amount") AS "gmv_paid_last_year"
  FROM q0
  GROUP BY 1, 2
),
q2 AS (
  SELECT
    l."orders.region",
    l."orders.created_at.day",
    l."gmv_paid_last_year",
    r."gmv_paid_last_year" AS "#o0:gmv_paid_last_year"
  FROM q1 AS l
  LEFT JOIN q1 AS r ON coalesce(l."orders.region", '') = coalesce(r."orders.region", '') AND (l."orders.region" IS NULL) = (r."orders.region" IS NULL) AND coalesce((date_trunc('day', ((l."orders.created_at.day" AT TIME ZONE $8::text + interval '-12 months') AT TIME ZONE $8::text) AT TIME ZONE $8::text) AT TIME ZONE $8::text)::text, '') = coalesce(r."orders.created_at.day"::text, '') AND ((date_trunc('day', ((l."orders.created_at.day" AT TIME ZONE $8::text + interval '-12 months') AT TIME ZONE $8::text) AT TIME ZONE $8::text) AT TIME ZONE $8::text) IS NULL) = (r."orders.created_at.day" IS NULL)
),
q3 AS (
  SELECT *
  FROM q2
  WHERE (("orders.created_at.day" >= $3::timestamptz) AND ("orders.created_at.day" < $4::timestamptz))
),
q4 AS (
  SELECT
    "orders.region",
    "orders.created_at.day",
    CASE WHEN ("orders.created_at.day" IS NOT NULL) THEN "#o0:gmv_paid_last_year" END AS "gmv_paid_last_year"
  FROM q3
)
SELECT "orders.region", "orders.created_at.day", "gmv_paid_last_year"
FROM q4
ORDER BY "orders.created_at.day" ASC NULLS LAST, "gmv_paid_last_year" DESC NULLS LAST, "orders.region" COLLATE "C" ASC NULLS LAST
-- $1 = TIMESTAMP '2024-02-25 00:00:00Z' (timestamptz)
-- $2 = TIMESTAMP '2024-03-03 00:00:00Z' (timestamptz)
-- $3 = TIMESTAMP '2025-02-25 00:00:00Z' (timestamptz)
-- $4 = TIMESTAMP '2025-03-03 00:00:00Z' (timestamptz)
-- $5 = 'paid' (text)
-- $6 = 'shipped' (text)
-- $7 = 'completed' (text)
-- $8 = 'UTC' (text)
