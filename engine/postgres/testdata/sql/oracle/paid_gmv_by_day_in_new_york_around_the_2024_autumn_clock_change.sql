-- paid GMV by day in New York around the 2024 autumn clock change
WITH q0 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."created_at" AS "orders.created_at",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE ((t."created_at" >= $1::timestamptz) AND (t."created_at" < $2::timestamptz))
),
q1 AS (
  SELECT
    (date_trunc('day', "orders.created_at" AT TIME ZONE $3::text) AT TIME ZONE $3::text) AS "orders.created_at.day",
    sum("orders.amount") FILTER (WHERE ("orders.status" IN ($4::text, $5::text, $6::text))) AS "gmv_paid",
    count(*) AS "order_count",
    count(*) FILTER (WHERE ("orders.status" IN ($4::text, $5::text, $6::text))) AS "#rows0"
  FROM q0
  GROUP BY 1
),
q2 AS (
  SELECT "orders.created_at.day", "gmv_paid", "order_count"
  FROM q1
)
SELECT "orders.created_at.day", "gmv_paid", "order_count"
FROM q2
ORDER BY "orders.created_at.day" ASC NULLS LAST, "gmv_paid" DESC NULLS LAST
-- $1 = TIMESTAMP '2024-11-01 04:00:00Z' (timestamptz)
-- $2 = TIMESTAMP '2024-11-06 05:00:00Z' (timestamptz)
-- $3 = 'America/New_York' (text)
-- $4 = 'paid' (text)
-- $5 = 'shipped' (text)
-- $6 = 'completed' (text)
