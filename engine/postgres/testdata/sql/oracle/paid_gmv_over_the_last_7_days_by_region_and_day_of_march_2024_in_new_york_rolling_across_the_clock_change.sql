-- paid GMV over the last 7 days by region and day of March 2024 in New York (rolling, across the clock change)
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
  SELECT
    "orders.region",
    (date_trunc('day', "orders.created_at" AT TIME ZONE $6::text) AT TIME ZONE $6::text) AS "orders.created_at.day",
    sum("orders.amount") AS "gmv_paid_7d"
  FROM q0
  GROUP BY 1, 2
),
q2 AS (
  SELECT
    i."orders.region",
    i."orders.created_at.day",
    i."gmv_paid_7d",
    (p."p" AT TIME ZONE $6::text) AS "#period"
  FROM q1 AS i
  CROSS JOIN LATERAL (SELECT g."p" FROM generate_series(date_trunc('day', i."orders.created_at.day" AT TIME ZONE $6::text), least((i."orders.created_at.day" AT TIME ZONE $6::text + interval '7 days'), ($2::timestamptz AT TIME ZONE $6::text - interval '1 microsecond')), interval '1 day') AS g("p")) AS p
  WHERE (((p."p" + interval '1 day') + interval '-7 days') AT TIME ZONE $6::text) <= i."orders.created_at.day" AND (p."p" AT TIME ZONE $6::text) >= $7::timestamptz
),
q3 AS (
  SELECT "orders.region", "#period" AS "orders.created_at.day", sum("gmv_paid_7d") AS "gmv_paid_7d"
  FROM q2
  GROUP BY 1, 2
)
SELECT "orders.region", "orders.created_at.day", "gmv_paid_7d"
FROM q3
ORDER BY "orders.created_at.day" ASC NULLS LAST, "gmv_paid_7d" DESC NULLS LAST, "orders.region" COLLATE "C" ASC NULLS LAST
-- $1 = TIMESTAMP '2024-02-24 05:00:00Z' (timestamptz)
-- $2 = TIMESTAMP '2024-04-01 04:00:00Z' (timestamptz)
-- $3 = 'paid' (text)
-- $4 = 'shipped' (text)
-- $5 = 'completed' (text)
-- $6 = 'America/New_York' (text)
-- $7 = TIMESTAMP '2024-03-01 05:00:00Z' (timestamptz)
