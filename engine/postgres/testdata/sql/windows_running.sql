WITH q0 AS (
  SELECT t."amount" AS "orders.amount", t."created_at" AS "orders.created_at"
  FROM "orders" AS t
),
q1 AS (
  SELECT
    (date_trunc('month', "orders.created_at" AT TIME ZONE $1::text) AT TIME ZONE $1::text) AS "month",
    sum("orders.amount") AS "gmv"
  FROM q0
  GROUP BY 1
),
q2 AS (
  SELECT i."month", i."gmv", (p."p" AT TIME ZONE $1::text) AS "period"
  FROM q1 AS i
  CROSS JOIN LATERAL (SELECT g."p" FROM generate_series(date_trunc('month', i."month" AT TIME ZONE $1::text), (SELECT max("month") FROM q1) AT TIME ZONE $1::text, interval '1 month') AS g("p")) AS p
),
q3 AS (
  SELECT "period", sum("gmv") AS "gmv"
  FROM q2
  GROUP BY 1
)
SELECT "period", "gmv"
FROM q3
-- $1 = 'Asia/Shanghai' (text)
