-- paid GMV running total by quarter, from the first order
WITH q0 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."created_at" AS "orders.created_at",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (t."status" IN ($1::text, $2::text, $3::text))
),
q1 AS (
  SELECT
    (date_trunc('quarter', "orders.created_at" AT TIME ZONE $4::text) AT TIME ZONE $4::text) AS "orders.created_at.quarter",
    sum("orders.amount") AS "gmv_paid_running"
  FROM q0
  GROUP BY 1
),
q2 AS (
  SELECT
    i."orders.created_at.quarter",
    i."gmv_paid_running",
    (p."p" AT TIME ZONE $4::text) AS "#period"
  FROM q1 AS i
  CROSS JOIN LATERAL (SELECT g."p" FROM generate_series(date_trunc('quarter', i."orders.created_at.quarter" AT TIME ZONE $4::text), (SELECT max("orders.created_at.quarter") FROM q1) AT TIME ZONE $4::text, interval '3 months') AS g("p")) AS p
),
q3 AS (
  SELECT "#period" AS "orders.created_at.quarter", sum("gmv_paid_running") AS "gmv_paid_running"
  FROM q2
  GROUP BY 1
)
SELECT "orders.created_at.quarter", "gmv_paid_running"
FROM q3
ORDER BY "orders.created_at.quarter" ASC NULLS LAST, "gmv_paid_running" DESC NULLS LAST
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
-- $4 = 'UTC' (text)
