-- buyers over the last 30 days by week of summer 2024 (a rolling distinct count, not a sum of daily counts)
WITH q0 AS (
  SELECT
    t."created_at" AS "orders.created_at",
    t."customer_id" AS "orders.customer_id",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (((t."created_at" >= $1::timestamptz) AND (t."created_at" < $2::timestamptz)) AND (t."status" IN ($3::text, $4::text, $5::text)))
),
q1 AS (
  SELECT
    (date_trunc('day', "orders.created_at" AT TIME ZONE $6::text) AT TIME ZONE $6::text) AS "orders.created_at.week",
    "orders.customer_id" AS "#k"
  FROM q0
  GROUP BY 1, 2
),
q2 AS (
  SELECT i."orders.created_at.week", i."#k", (p."p" AT TIME ZONE $6::text) AS "#period"
  FROM q1 AS i
  CROSS JOIN LATERAL (SELECT g."p" FROM generate_series(date_trunc('week', i."orders.created_at.week" AT TIME ZONE $6::text), least((i."orders.created_at.week" AT TIME ZONE $6::text + interval '30 days'), ($2::timestamptz AT TIME ZONE $6::text - interval '1 microsecond')), interval '7 days') AS g("p")) AS p
  WHERE (((p."p" + interval '7 days') + interval '-30 days') AT TIME ZONE $6::text) <= i."orders.created_at.week" AND (p."p" AT TIME ZONE $6::text) >= $7::timestamptz
),
q3 AS (
  SELECT "#period" AS "orders.created_at.week", count(DISTINCT "#k") AS "buyers_30d"
  FROM q2
  GROUP BY 1
)
SELECT "orders.created_at.week", "buyers_30d"
FROM q3
ORDER BY "orders.created_at.week" ASC NULLS LAST, "buyers_30d" DESC NULLS LAST
-- $1 = TIMESTAMP '2024-06-08 00:00:00Z' (timestamptz)
-- $2 = TIMESTAMP '2024-09-30 00:00:00Z' (timestamptz)
-- $3 = 'paid' (text)
-- $4 = 'shipped' (text)
-- $5 = 'completed' (text)
-- $6 = 'UTC' (text)
-- $7 = TIMESTAMP '2024-07-01 00:00:00Z' (timestamptz)
