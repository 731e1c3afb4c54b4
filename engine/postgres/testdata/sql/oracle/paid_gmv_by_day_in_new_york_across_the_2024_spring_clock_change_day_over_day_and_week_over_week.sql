-- paid GMV by day in New York across the 2024 spring clock change, day over day and week over week
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
    (date_trunc('day', "orders.created_at" AT TIME ZONE $6::text) AT TIME ZONE $6::text) AS "orders.created_at.day",
    sum("orders.amount") AS "gmv_paid"
  FROM q0
  GROUP BY 1
),
q2 AS (
  SELECT l."orders.created_at.day", l."gmv_paid", r."gmv_paid" AS "#c0:gmv_paid"
  FROM q1 AS l
  LEFT JOIN q1 AS r ON coalesce((date_trunc('day', ((l."orders.created_at.day" AT TIME ZONE $6::text + interval '-1 days') AT TIME ZONE $6::text) AT TIME ZONE $6::text) AT TIME ZONE $6::text)::text, '') = coalesce(r."orders.created_at.day"::text, '') AND ((date_trunc('day', ((l."orders.created_at.day" AT TIME ZONE $6::text + interval '-1 days') AT TIME ZONE $6::text) AT TIME ZONE $6::text) AT TIME ZONE $6::text) IS NULL) = (r."orders.created_at.day" IS NULL)
),
q3 AS (
  SELECT l."orders.created_at.day", l."gmv_paid", l."#c0:gmv_paid", r."gmv_paid" AS "#c1:gmv_paid"
  FROM q2 AS l
  LEFT JOIN q2 AS r ON coalesce((date_trunc('day', ((l."orders.created_at.day" AT TIME ZONE $6::text + interval '-7 days') AT TIME ZONE $6::text) AT TIME ZONE $6::text) AT TIME ZONE $6::text)::text, '') = coalesce(r."orders.created_at.day"::text, '') AND ((date_trunc('day', ((l."orders.created_at.day" AT TIME ZONE $6::text + interval '-7 days') AT TIME ZONE $6::text) AT TIME ZONE $6::text) AT TIME ZONE $6::text) IS NULL) = (r."orders.created_at.day" IS NULL)
),
q4 AS (
  SELECT *
  FROM q3
  WHERE (("orders.created_at.day" >= $7::timestamptz) AND ("orders.created_at.day" < $2::timestamptz))
),
q5 AS (
  SELECT
    "orders.created_at.day",
    "gmv_paid",
    "#c0:gmv_paid" AS "gmv_paid.previous_day",
    "#c1:gmv_paid" AS "gmv_paid.previous_week",
    ("gmv_paid" - "#c1:gmv_paid") AS "gmv_paid.difference_week"
  FROM q4
)
SELECT
  "orders.created_at.day",
  "gmv_paid",
  "gmv_paid.previous_day",
  "gmv_paid.previous_week",
  "gmv_paid.difference_week"
FROM q5
ORDER BY "orders.created_at.day" ASC NULLS LAST, "gmv_paid" DESC NULLS LAST
-- $1 = TIMESTAMP '2024-03-01 05:00:00Z' (timestamptz)
-- $2 = TIMESTAMP '2024-03-14 04:00:00Z' (timestamptz)
-- $3 = 'paid' (text)
-- $4 = 'shipped' (text)
-- $5 = 'completed' (text)
-- $6 = 'America/New_York' (text)
-- $7 = TIMESTAMP '2024-03-08 05:00:00Z' (timestamptz)
