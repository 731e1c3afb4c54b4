-- average order value by region and quarter, quarter over quarter (a ratio compared as itself)
WITH q0 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."created_at" AS "orders.created_at",
    t."region" AS "orders.region",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (t."status" IN ($1::text, $2::text, $3::text))
),
q1 AS (
  SELECT
    "orders.region",
    (date_trunc('quarter', "orders.created_at" AT TIME ZONE $4::text) AT TIME ZONE $4::text) AS "orders.created_at.quarter",
    sum("orders.amount") AS "gmv_paid",
    count(*) AS "paid_order_count"
  FROM q0
  GROUP BY 1, 2
),
q2 AS (
  SELECT
    "orders.region",
    "orders.created_at.quarter",
    ("gmv_paid"::float8 / NULLIF("paid_order_count"::float8, 0)) AS "aov",
    "paid_order_count"
  FROM q1
),
q3 AS (
  SELECT
    l."orders.region",
    l."orders.created_at.quarter",
    l."aov",
    l."paid_order_count",
    r."aov" AS "#c0:aov"
  FROM q2 AS l
  LEFT JOIN q2 AS r ON coalesce(l."orders.region", '') = coalesce(r."orders.region", '') AND (l."orders.region" IS NULL) = (r."orders.region" IS NULL) AND coalesce((date_trunc('quarter', ((l."orders.created_at.quarter" AT TIME ZONE $4::text + interval '-3 months') AT TIME ZONE $4::text) AT TIME ZONE $4::text) AT TIME ZONE $4::text)::text, '') = coalesce(r."orders.created_at.quarter"::text, '') AND ((date_trunc('quarter', ((l."orders.created_at.quarter" AT TIME ZONE $4::text + interval '-3 months') AT TIME ZONE $4::text) AT TIME ZONE $4::text) AT TIME ZONE $4::text) IS NULL) = (r."orders.created_at.quarter" IS NULL)
),
q4 AS (
  SELECT
    "orders.region",
    "orders.created_at.quarter",
    "aov",
    "paid_order_count",
    CASE WHEN ("orders.created_at.quarter" IS NOT NULL) THEN "#c0:aov" END AS "aov.previous_quarter",
    (("aov" - CASE WHEN ("orders.created_at.quarter" IS NOT NULL) THEN "#c0:aov" END) / NULLIF(CASE WHEN ("orders.created_at.quarter" IS NOT NULL) THEN "#c0:aov" END, 0)) AS "aov.growth_quarter"
  FROM q3
)
SELECT
  "orders.region",
  "orders.created_at.quarter",
  "aov",
  "paid_order_count",
  "aov.previous_quarter",
  "aov.growth_quarter"
FROM q4
ORDER BY "orders.created_at.quarter" ASC NULLS LAST, "aov" DESC NULLS LAST, "orders.region" COLLATE "C" ASC NULLS LAST
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
-- $4 = 'UTC' (text)
