WITH q0 AS (
  SELECT
  FROM "orders" AS t
),
q1 AS (
  SELECT count(*) AS "order_count"
  FROM q0
)
SELECT "order_count"
FROM q1
