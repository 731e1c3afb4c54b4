-- buyers by segment on the app channel
WITH q0 AS (
  SELECT
    t."channel" AS "orders.channel",
    t."customer_id" AS "orders.customer_id",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE ((t."channel" = $1::text) AND (t."status" IN ($2::text, $3::text, $4::text)))
),
q1 AS (
  SELECT "orders.customer_id"
  FROM q0
  GROUP BY 1
),
q2 AS (
  SELECT t."customer_id" AS "customers.customer_id", t."segment" AS "customers.segment"
  FROM "customers" AS t
),
q3 AS (
  SELECT l."orders.customer_id", r."customers.customer_id", r."customers.segment"
  FROM q1 AS l
  LEFT JOIN q2 AS r ON l."orders.customer_id" = r."customers.customer_id"
),
q4 AS (
  SELECT "customers.segment", count("orders.customer_id") AS "buyers"
  FROM q3
  GROUP BY 1
)
SELECT "customers.segment", "buyers"
FROM q4
ORDER BY "buyers" DESC NULLS LAST, "customers.segment" COLLATE "C" ASC NULLS LAST
-- $1 = 'app' (text)
-- $2 = 'paid' (text)
-- $3 = 'shipped' (text)
-- $4 = 'completed' (text)
