WITH q0 AS (
  SELECT
    t."region" AS "orders.region",
    t."amount" AS "orders.amount",
    t."created_at" AS "orders.created_at"
  FROM "orders" AS t
),
q1 AS (
  SELECT
    "orders.region",
    (date_trunc('month', "orders.created_at" AT TIME ZONE $1::text) AT TIME ZONE $1::text) AS "month",
    sum("orders.amount") AS "gmv"
  FROM q0
  GROUP BY 1, 2
),
q2 AS (
  SELECT
    l."orders.region",
    l."month",
    l."gmv",
    r."gmv" AS "gmv.previous",
    r."month" AS "month.previous"
  FROM q1 AS l
  LEFT JOIN q1 AS r ON coalesce(l."orders.region", '') = coalesce(r."orders.region", '') AND (l."orders.region" IS NULL) = (r."orders.region" IS NULL) AND coalesce((date_trunc('month', ((l."month" AT TIME ZONE $1::text + interval '-1 months') AT TIME ZONE $1::text) AT TIME ZONE $1::text) AT TIME ZONE $1::text)::text, '') = coalesce(r."month"::text, '') AND ((date_trunc('month', ((l."month" AT TIME ZONE $1::text + interval '-1 months') AT TIME ZONE $1::text) AT TIME ZONE $1::text) AT TIME ZONE $1::text) IS NULL) = (r."month" IS NULL)
)
SELECT "orders.region", "month", "gmv", "gmv.previous", "month.previous"
FROM q2
-- $1 = 'America/New_York' (text)
