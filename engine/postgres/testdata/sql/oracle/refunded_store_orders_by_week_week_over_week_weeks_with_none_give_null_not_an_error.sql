-- refunded store orders by week, week over week (weeks with none give NULL, not an error)
WITH q0 AS (
  SELECT
    t."channel" AS "orders.channel",
    t."created_at" AS "orders.created_at",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE ((t."channel" = $1::text) AND (t."status" = $2::text))
),
q1 AS (
  SELECT
    (date_trunc('week', "orders.created_at" AT TIME ZONE $3::text) AT TIME ZONE $3::text) AS "orders.created_at.week",
    count(*) AS "refunded_order_count"
  FROM q0
  GROUP BY 1
),
q2 AS (
  SELECT
    l."orders.created_at.week",
    l."refunded_order_count",
    r."refunded_order_count" AS "#c0:refunded_order_count"
  FROM q1 AS l
  LEFT JOIN q1 AS r ON coalesce((date_trunc('week', ((l."orders.created_at.week" AT TIME ZONE $3::text + interval '-7 days') AT TIME ZONE $3::text) AT TIME ZONE $3::text) AT TIME ZONE $3::text)::text, '') = coalesce(r."orders.created_at.week"::text, '') AND ((date_trunc('week', ((l."orders.created_at.week" AT TIME ZONE $3::text + interval '-7 days') AT TIME ZONE $3::text) AT TIME ZONE $3::text) AT TIME ZONE $3::text) IS NULL) = (r."orders.created_at.week" IS NULL)
),
q3 AS (
  SELECT
    "orders.created_at.week",
    "refunded_order_count",
    CASE WHEN ("orders.created_at.week" IS NOT NULL) THEN "#c0:refunded_order_count" END AS "refunded_order_count.previous_week",
    ("refunded_order_count" - CASE WHEN ("orders.created_at.week" IS NOT NULL) THEN "#c0:refunded_order_count" END) AS "refunded_order_count.difference_week",
    (("refunded_order_count" - CASE WHEN ("orders.created_at.week" IS NOT NULL) THEN "#c0:refunded_order_count" END)::float8 / NULLIF(CASE WHEN ("orders.created_at.week" IS NOT NULL) THEN "#c0:refunded_order_count" END::float8, 0)) AS "refunded_order_count.growth_week"
  FROM q2
)
SELECT
  "orders.created_at.week",
  "refunded_order_count",
  "refunded_order_count.previous_week",
  "refunded_order_count.difference_week",
  "refunded_order_count.growth_week"
FROM q3
ORDER BY "orders.created_at.week" ASC NULLS LAST, "refunded_order_count" DESC NULLS LAST
-- $1 = 'store' (text)
-- $2 = 'refunded' (text)
-- $3 = 'UTC' (text)
