WITH q0 AS (
  SELECT
    t."region" AS "orders.region",
    t."amount" AS "orders.amount",
    t."created_at" AS "orders.created_at",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (t."status" IN ($1::text, $2::text, $3::text))
),
q1 AS (
  SELECT
    "orders.region",
    (date_trunc('day', "orders.created_at" AT TIME ZONE $4::text) AT TIME ZONE $4::text) AS "day",
    sum("orders.amount") AS "gmv",
    count(*) AS "n"
  FROM q0
  GROUP BY 1, 2
),
q2 AS (
  SELECT i."orders.region", i."day", i."gmv", i."n", (p."p" AT TIME ZONE $4::text) AS "period"
  FROM q1 AS i
  CROSS JOIN LATERAL (SELECT g."p" FROM generate_series(date_trunc('week', i."day" AT TIME ZONE $4::text), least((i."day" AT TIME ZONE $4::text + interval '1 months'), (SELECT max("day") FROM q1) AT TIME ZONE $4::text), interval '7 days') AS g("p")) AS p
  WHERE (((p."p" + interval '7 days') + interval '-1 months') AT TIME ZONE $4::text) <= i."day"
),
q3 AS (
  SELECT "period", sum("gmv") AS "gmv"
  FROM q2
  GROUP BY 1
)
SELECT "period", "gmv"
FROM q3
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
-- $4 = 'America/New_York' (text)
