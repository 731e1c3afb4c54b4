WITH q0 AS (
  SELECT
    t."customer_id" AS "orders.customer_id",
    t."created_at" AS "orders.created_at",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (t."status" IN ($1::text, $2::text, $3::text))
),
q1 AS (
  SELECT
    "orders.customer_id",
    (date_trunc('day', "orders.created_at" AT TIME ZONE $4::text) AT TIME ZONE $4::text) AS "day"
  FROM q0
  GROUP BY 1, 2
),
q2 AS (
  SELECT i."orders.customer_id", i."day", (p."p" AT TIME ZONE $4::text) AS "period"
  FROM q1 AS i
  CROSS JOIN LATERAL (SELECT g."p" FROM generate_series(date_trunc('day', i."day" AT TIME ZONE $4::text), least(((date_trunc('month', i."day" AT TIME ZONE $4::text) + interval '12 months') + interval '7 days'), ($5::timestamptz AT TIME ZONE $4::text - interval '1 microsecond')), interval '1 day') AS g("p")) AS p
  WHERE (date_trunc('month', p."p") AT TIME ZONE $4::text) <= i."day" AND (p."p" AT TIME ZONE $4::text) >= $6::timestamptz
),
q3 AS (
  SELECT "period", count(DISTINCT "orders.customer_id") AS "buyers"
  FROM q2
  GROUP BY 1
)
SELECT "period", "buyers"
FROM q3
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
-- $4 = 'UTC' (text)
-- $5 = TIMESTAMP '2025-03-01 00:00:00Z' (timestamptz)
-- $6 = TIMESTAMP '2025-01-01 00:00:00Z' (timestamptz)
