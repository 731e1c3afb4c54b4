-- paid GMV over the last 7 days of a range and its running total, by region, without a time dimension
WITH q0 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."created_at" AS "orders.created_at",
    t."region" AS "orders.region",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (((t."created_at" >= $1::timestamptz) AND (t."created_at" < $2::timestamptz)) AND (t."status" IN ($3::text, $4::text, $5::text)))
),
q1 AS (
  SELECT "orders.region", sum("orders.amount") AS "gmv_paid"
  FROM q0
  GROUP BY 1
),
q2 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."created_at" AS "orders.created_at",
    t."region" AS "orders.region",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (((t."created_at" >= $6::timestamptz) AND (t."created_at" < $2::timestamptz)) AND (t."status" IN ($3::text, $4::text, $5::text)))
),
q3 AS (
  SELECT "orders.region", sum("orders.amount") AS "gmv_paid_7d"
  FROM q2
  GROUP BY 1
),
q4 AS (
  SELECT "orders.region" AS "#1:orders.region", "gmv_paid_7d"
  FROM q3
),
q5 AS (
  SELECT l."orders.region", l."gmv_paid", r."#1:orders.region", r."gmv_paid_7d"
  FROM q1 AS l
  FULL JOIN q4 AS r ON coalesce(l."orders.region", '') = coalesce(r."#1:orders.region", '') AND (l."orders.region" IS NULL) = (r."#1:orders.region" IS NULL)
),
q6 AS (
  SELECT coalesce("orders.region", "#1:orders.region") AS "orders.region", "gmv_paid", "gmv_paid_7d"
  FROM q5
),
q7 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."created_at" AS "orders.created_at",
    t."region" AS "orders.region",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (((t."created_at" >= $1::timestamptz) AND (t."created_at" < $2::timestamptz)) AND (t."status" IN ($3::text, $4::text, $5::text)))
),
q8 AS (
  SELECT "orders.region", sum("orders.amount") AS "gmv_paid_running"
  FROM q7
  GROUP BY 1
),
q9 AS (
  SELECT "orders.region" AS "#2:orders.region", "gmv_paid_running"
  FROM q8
),
q10 AS (
  SELECT l."orders.region", l."gmv_paid", l."gmv_paid_7d", r."#2:orders.region", r."gmv_paid_running"
  FROM q6 AS l
  FULL JOIN q9 AS r ON coalesce(l."orders.region", '') = coalesce(r."#2:orders.region", '') AND (l."orders.region" IS NULL) = (r."#2:orders.region" IS NULL)
),
q11 AS (
  SELECT
    coalesce("orders.region", "#2:orders.region") AS "orders.region",
    "gmv_paid_7d",
    "gmv_paid_running",
    "gmv_paid"
  FROM q10
)
SELECT "orders.region", "gmv_paid_7d", "gmv_paid_running", "gmv_paid"
FROM q11
ORDER BY "gmv_paid_7d" DESC NULLS LAST, "orders.region" COLLATE "C" ASC NULLS LAST
-- $1 = TIMESTAMP '2024-03-01 00:00:00Z' (timestamptz)
-- $2 = TIMESTAMP '2024-03-15 00:00:00Z' (timestamptz)
-- $3 = 'paid' (text)
-- $4 = 'shipped' (text)
-- $5 = 'completed' (text)
-- $6 = TIMESTAMP '2024-03-08 00:00:00Z' (timestamptz)
