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
  CROSS JOIN LATERAL (SELECT g."p" FROM generate_series(date_trunc('day', i."day" AT TIME ZONE $4::text), least((i."day" AT TIME ZONE $4::text + interval '7 days'), ($5::timestamptz AT TIME ZONE $4::text - interval '1 microsecond')), interval '1 day') AS g("p")) AS p
  WHERE (((p."p" + interval '1 day') + interval '-7 days') AT TIME ZONE $4::text) <= i."day" AND (p."p" AT TIME ZONE $4::text) >= $6::timestamptz
),
q3 AS (
  SELECT "period", "orders.region", sum("gmv") AS "gmv", sum("n")::bigint AS "n"
  FROM q2
  GROUP BY 1, 2
)
SELECT "period", "orders.region", "gmv", "n"
FROM q3
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
-- $4 = 'America/New_York' (text)
-- $5 = TIMESTAMP '2024-04-15 04:00:00Z' (timestamptz)
-- $6 = TIMESTAMP '2024-03-01 05:00:00Z' (timestamptz)
