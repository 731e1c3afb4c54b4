WITH q0 AS (
  SELECT t."order_id" AS "orders.order_id", t."created_at" AS "orders.created_at"
  FROM "orders" AS t
),
q1 AS (
  SELECT
    "orders.order_id" AS "id",
    (date_trunc('day', "orders.created_at" AT TIME ZONE $1::text) AT TIME ZONE $1::text) AS "day_new_york",
    (date_trunc('week', "orders.created_at" AT TIME ZONE $2::text) AT TIME ZONE $2::text) AS "week_utc",
    (date_trunc('month', "orders.created_at" AT TIME ZONE $3::text) AT TIME ZONE $3::text) AS "month_shanghai",
    (date_trunc('quarter', "orders.created_at" AT TIME ZONE $1::text) AT TIME ZONE $1::text) AS "quarter_new_york",
    (date_trunc('year', "orders.created_at" AT TIME ZONE $3::text) AT TIME ZONE $3::text) AS "year_shanghai"
  FROM q0
)
SELECT "id", "day_new_york", "week_utc", "month_shanghai", "quarter_new_york", "year_shanghai"
FROM q1
-- $1 = 'America/New_York' (text)
-- $2 = 'UTC' (text)
-- $3 = 'Asia/Shanghai' (text)
