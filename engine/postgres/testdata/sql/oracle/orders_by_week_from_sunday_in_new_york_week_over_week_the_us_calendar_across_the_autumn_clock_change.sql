-- orders by week from Sunday in New York, week over week (the us calendar, across the autumn clock change)
WITH q0 AS (
  SELECT t."created_at" AS "orders.created_at"
  FROM "orders" AS t
  WHERE ((t."created_at" >= $1::timestamptz) AND (t."created_at" < $2::timestamptz))
),
q1 AS (
  SELECT
    ((date_trunc('week', ("orders.created_at" AT TIME ZONE $3::text + interval '1 days')) + interval '-1 days') AT TIME ZONE $3::text) AS "orders.created_at.week",
    count(*) AS "order_count"
  FROM q0
  GROUP BY 1
),
q2 AS (
  SELECT l."orders.created_at.week", l."order_count", r."order_count" AS "#c0:order_count"
  FROM q1 AS l
  LEFT JOIN q1 AS r ON coalesce(((date_trunc('week', (((l."orders.created_at.week" AT TIME ZONE $3::text + interval '-7 days') AT TIME ZONE $3::text) AT TIME ZONE $3::text + interval '1 days')) + interval '-1 days') AT TIME ZONE $3::text)::text, '') = coalesce(r."orders.created_at.week"::text, '') AND (((date_trunc('week', (((l."orders.created_at.week" AT TIME ZONE $3::text + interval '-7 days') AT TIME ZONE $3::text) AT TIME ZONE $3::text + interval '1 days')) + interval '-1 days') AT TIME ZONE $3::text) IS NULL) = (r."orders.created_at.week" IS NULL)
),
q3 AS (
  SELECT *
  FROM q2
  WHERE (("orders.created_at.week" >= $4::timestamptz) AND ("orders.created_at.week" < $2::timestamptz))
),
q4 AS (
  SELECT "orders.created_at.week", "order_count", "#c0:order_count" AS "order_count.previous_week"
  FROM q3
)
SELECT "orders.created_at.week", "order_count", "order_count.previous_week"
FROM q4
ORDER BY "orders.created_at.week" ASC NULLS LAST, "order_count" DESC NULLS LAST
-- $1 = TIMESTAMP '2024-09-29 04:00:00Z' (timestamptz)
-- $2 = TIMESTAMP '2024-12-01 05:00:00Z' (timestamptz)
-- $3 = 'America/New_York' (text)
-- $4 = TIMESTAMP '2024-10-06 04:00:00Z' (timestamptz)
