-- month-to-date paid GMV by channel against the same days of the month before (a range ending mid-month)
WITH q0 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."channel" AS "orders.channel",
    t."created_at" AS "orders.created_at",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (((t."created_at" >= $1::timestamptz) AND (t."created_at" < $2::timestamptz)) AND (t."status" IN ($3::text, $4::text, $5::text)))
),
q1 AS (
  SELECT
    "orders.channel",
    (date_trunc('month', "orders.created_at" AT TIME ZONE $6::text) AT TIME ZONE $6::text) AS "orders.created_at.month",
    sum("orders.amount") AS "gmv_paid"
  FROM q0
  GROUP BY 1, 2
),
q2 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."channel" AS "orders.channel",
    t."created_at" AS "orders.created_at",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (((t."created_at" >= $7::timestamptz) AND (t."created_at" < $8::timestamptz)) AND (t."status" IN ($3::text, $4::text, $5::text)))
),
q3 AS (
  SELECT
    "orders.channel",
    (date_trunc('month', "orders.created_at" AT TIME ZONE $6::text) AT TIME ZONE $6::text) AS "orders.created_at.month",
    sum("orders.amount") AS "gmv_paid"
  FROM q2
  GROUP BY 1, 2
),
q4 AS (
  SELECT
    "orders.channel" AS "#p0:orders.channel",
    "orders.created_at.month" AS "#p0:orders.created_at.month",
    "gmv_paid" AS "#c0:gmv_paid"
  FROM q3
),
q5 AS (
  SELECT
    l."orders.channel",
    l."orders.created_at.month",
    l."gmv_paid",
    r."#p0:orders.channel",
    r."#p0:orders.created_at.month",
    r."#c0:gmv_paid"
  FROM q1 AS l
  LEFT JOIN q4 AS r ON l."orders.channel" IS NOT DISTINCT FROM r."#p0:orders.channel" AND (date_trunc('month', ((l."orders.created_at.month" AT TIME ZONE $6::text + interval '-1 months') AT TIME ZONE $6::text) AT TIME ZONE $6::text) AT TIME ZONE $6::text) IS NOT DISTINCT FROM r."#p0:orders.created_at.month"
),
q6 AS (
  SELECT
    "orders.channel",
    "orders.created_at.month",
    "gmv_paid",
    "#c0:gmv_paid" AS "gmv_paid.previous_month",
    ("gmv_paid" - "#c0:gmv_paid") AS "gmv_paid.difference_month",
    (("gmv_paid" - "#c0:gmv_paid")::float8 / NULLIF("#c0:gmv_paid"::float8, 0)) AS "gmv_paid.growth_month"
  FROM q5
)
SELECT
  "orders.channel",
  "orders.created_at.month",
  "gmv_paid",
  "gmv_paid.previous_month",
  "gmv_paid.difference_month",
  "gmv_paid.growth_month"
FROM q6
ORDER BY "orders.created_at.month" ASC NULLS LAST, "gmv_paid" DESC NULLS LAST, "orders.channel" COLLATE "C" ASC NULLS LAST
-- $1 = TIMESTAMP '2025-06-01 00:00:00Z' (timestamptz)
-- $2 = TIMESTAMP '2025-06-17 00:00:00Z' (timestamptz)
-- $3 = 'paid' (text)
-- $4 = 'shipped' (text)
-- $5 = 'completed' (text)
-- $6 = 'UTC' (text)
-- $7 = TIMESTAMP '2025-05-01 00:00:00Z' (timestamptz)
-- $8 = TIMESTAMP '2025-05-17 00:00:00Z' (timestamptz)
