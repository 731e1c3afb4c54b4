-- average order value over the last 7 days by day (a ratio of the window's totals)
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
  SELECT i."orders.created_at.day", i."gmv_paid", (p."p" AT TIME ZONE $6::text) AS "#period"
  FROM q1 AS i
  CROSS JOIN LATERAL (SELECT g."p" FROM generate_series(date_trunc('day', i."orders.created_at.day" AT TIME ZONE $6::text), least((i."orders.created_at.day" AT TIME ZONE $6::text + interval '7 days'), ($2::timestamptz AT TIME ZONE $6::text - interval '1 microsecond')), interval '1 day') AS g("p")) AS p
  WHERE (((p."p" + interval '1 day') + interval '-7 days') AT TIME ZONE $6::text) <= i."orders.created_at.day" AND (p."p" AT TIME ZONE $6::text) >= $7::timestamptz
),
q3 AS (
  SELECT "#period" AS "orders.created_at.day", sum("gmv_paid") AS "gmv_paid"
  FROM q2
  GROUP BY 1
),
q4 AS (
  SELECT t."created_at" AS "orders.created_at", t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (((t."created_at" >= $1::timestamptz) AND (t."created_at" < $2::timestamptz)) AND (t."status" IN ($3::text, $4::text, $5::text)))
),
q5 AS (
  SELECT
    (date_trunc('day', "orders.created_at" AT TIME ZONE $6::text) AT TIME ZONE $6::text) AS "orders.created_at.day",
    count(*) AS "paid_order_count"
  FROM q4
  GROUP BY 1
),
q6 AS (
  SELECT i."orders.created_at.day", i."paid_order_count", (p."p" AT TIME ZONE $6::text) AS "#period"
  FROM q5 AS i
  CROSS JOIN LATERAL (SELECT g."p" FROM generate_series(date_trunc('day', i."orders.created_at.day" AT TIME ZONE $6::text), least((i."orders.created_at.day" AT TIME ZONE $6::text + interval '7 days'), ($2::timestamptz AT TIME ZONE $6::text - interval '1 microsecond')), interval '1 day') AS g("p")) AS p
  WHERE (((p."p" + interval '1 day') + interval '-7 days') AT TIME ZONE $6::text) <= i."orders.created_at.day" AND (p."p" AT TIME ZONE $6::text) >= $7::timestamptz
),
q7 AS (
  SELECT "#period" AS "orders.created_at.day", sum("paid_order_count")::bigint AS "paid_order_count"
  FROM q6
  GROUP BY 1
),
q8 AS (
  SELECT "orders.created_at.day" AS "#1:orders.created_at.day", "paid_order_count"
  FROM q7
),
q9 AS (
  SELECT l."orders.created_at.day", l."gmv_paid", r."#1:orders.created_at.day", r."paid_order_count"
  FROM q3 AS l
  FULL JOIN q8 AS r ON coalesce(l."orders.created_at.day"::text, '') = coalesce(r."#1:orders.created_at.day"::text, '') AND (l."orders.created_at.day" IS NULL) = (r."#1:orders.created_at.day" IS NULL)
),
q10 AS (
  SELECT
    coalesce("orders.created_at.day", "#1:orders.created_at.day") AS "orders.created_at.day",
    ("gmv_paid"::float8 / NULLIF("paid_order_count"::float8, 0)) AS "aov_7d"
  FROM q9
)
SELECT "orders.created_at.day", "aov_7d"
FROM q10
ORDER BY "orders.created_at.day" ASC NULLS LAST, "aov_7d" DESC NULLS LAST
-- $1 = TIMESTAMP '2025-02-23 00:00:00Z' (timestamptz)
-- $2 = TIMESTAMP '2025-03-15 00:00:00Z' (timestamptz)
-- $3 = 'paid' (text)
-- $4 = 'shipped' (text)
-- $5 = 'completed' (text)
-- $6 = 'UTC' (text)
-- $7 = TIMESTAMP '2025-03-01 00:00:00Z' (timestamptz)
