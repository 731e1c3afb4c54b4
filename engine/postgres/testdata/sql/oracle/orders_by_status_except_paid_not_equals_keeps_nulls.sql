-- orders by status except paid (not_equals keeps NULLs)
WITH q0 AS (
  SELECT t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE ((t."status" <> $1::text) OR (t."status" IS NULL))
),
q1 AS (
  SELECT "orders.status", count(*) AS "order_count"
  FROM q0
  GROUP BY 1
)
SELECT "orders.status", "order_count"
FROM q1
ORDER BY "order_count" DESC NULLS LAST, "orders.status" COLLATE "C" ASC NULLS LAST
-- $1 = 'paid' (text)
