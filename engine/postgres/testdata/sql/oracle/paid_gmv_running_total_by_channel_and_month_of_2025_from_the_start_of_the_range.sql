-- paid GMV running total by channel and month of 2025, from the start of the range
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
    sum("orders.amount") AS "gmv_paid_running"
  FROM q0
  GROUP BY 1, 2
),
q2 AS (
  SELECT
    i."orders.channel",
    i."orders.created_at.month",
    i."gmv_paid_running",
    (p."p" AT TIME ZONE $6::text) AS "#period"
  FROM q1 AS i
  CROSS JOIN LATERAL (SELECT g."p" FROM generate_series(date_trunc('month', i."orders.created_at.month" AT TIME ZONE $6::text), ($2::timestamptz AT TIME ZONE $6::text - interval '1 microsecond'), interval '1 month') AS g("p")) AS p
  WHERE (p."p" AT TIME ZONE $6::text) >= $1::timestamptz
),
q3 AS (
  SELECT
    "orders.channel",
    "#period" AS "orders.created_at.month",
    sum("gmv_paid_running") AS "gmv_paid_running"
  FROM q2
  GROUP BY 1, 2
)
SELECT "orders.channel", "orders.created_at.month", "gmv_paid_running"
FROM q3
ORDER BY "orders.created_at.month" ASC NULLS LAST, "gmv_paid_running" DESC NULLS LAST, "orders.channel" COLLATE "C" ASC NULLS LAST
-- $1 = TIMESTAMP '2025-03-31 16:00:00Z' (timestamptz)
-- $2 = TIMESTAMP '2025-09-30 16:00:00Z' (timestamptz)
-- $3 = 'paid' (text)
-- $4 = 'shipped' (text)
-- $5 = 'completed' (text)
-- $6 = 'Asia/Shanghai' (text)
