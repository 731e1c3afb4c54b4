WITH qq0 AS (
  SELECT t."order_id" AS "q0.order_id"
  FROM "q0" AS t
)
SELECT "q0.order_id"
FROM qq0
