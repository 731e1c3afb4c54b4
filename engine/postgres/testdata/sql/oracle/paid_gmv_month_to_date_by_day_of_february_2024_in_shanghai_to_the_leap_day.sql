-- paid GMV month to date by day of February 2024 in Shanghai (to the leap day)
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
  SELECT
    t."amount" AS "orders.amount",
    t."created_at" AS "orders.created_at",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (((t."created_at" >= $7::timestamptz) AND (t."created_at" < $2::timestamptz)) AND (t."status" IN ($3::text, $4::text, $5::text)))
),
q3 AS (
  SELECT
    (date_trunc('day', "orders.created_at" AT TIME ZONE $6::text) AT TIME ZONE $6::text) AS "orders.created_at.day",
    sum("orders.amount") AS "gmv_paid_mtd"
  FROM q2
  GROUP BY 1
),
q4 AS (
  SELECT i."orders.created_at.day", i."gmv_paid_mtd", (p."p" AT TIME ZONE $6::text) AS "#period"
  FROM q3 AS i
  CROSS JOIN LATERAL (SELECT g."p" FROM generate_series(date_trunc('day', i."orders.created_at.day" AT TIME ZONE $6::text), least(((date_trunc('month', i."orders.created_at.day" AT TIME ZONE $6::text) + interval '12 months') + interval '7 days'), ($2::timestamptz AT TIME ZONE $6::text - interval '1 microsecond')), interval '1 day') AS g("p")) AS p
  WHERE (date_trunc('month', p."p") AT TIME ZONE $6::text) <= i."orders.created_at.day" AND (p."p" AT TIME ZONE $6::text) >= $1::timestamptz
),
q5 AS (
  SELECT "#period" AS "orders.created_at.day", sum("gmv_paid_mtd") AS "gmv_paid_mtd"
  FROM q4
  GROUP BY 1
),
q6 AS (
  SELECT "orders.created_at.day" AS "#1:orders.created_at.day", "gmv_paid_mtd"
  FROM q5
),
q7 AS (
  SELECT l."orders.created_at.day", l."gmv_paid", r."#1:orders.created_at.day", r."gmv_paid_mtd"
  FROM q1 AS l
  FULL JOIN q6 AS r ON coalesce(l."orders.created_at.day"::text, '') = coalesce(r."#1:orders.created_at.day"::text, '') AND (l."orders.created_at.day" IS NULL) = (r."#1:orders.created_at.day" IS NULL)
),
q8 AS (
  SELECT
    coalesce("orders.created_at.day", "#1:orders.created_at.day") AS "orders.created_at.day",
    "gmv_paid_mtd",
    "gmv_paid"
  FROM q7
)
SELECT "orders.created_at.day", "gmv_paid_mtd", "gmv_paid"
FROM q8
ORDER BY "orders.created_at.day" ASC NULLS LAST, "gmv_paid_mtd" DESC NULLS LAST
-- $1 = TIMESTAMP '2024-02-19 16:00:00Z' (timestamptz)
-- $2 = TIMESTAMP '2024-03-02 16:00:00Z' (timestamptz)
-- $3 = 'paid' (text)
-- $4 = 'shipped' (text)
-- $5 = 'completed' (text)
-- $6 = 'Asia/Shanghai' (text)
-- $7 = TIMESTAMP '2024-01-31 16:00:00Z' (timestamptz)
