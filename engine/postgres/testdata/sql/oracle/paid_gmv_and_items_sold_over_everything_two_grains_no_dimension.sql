-- paid GMV and items sold over everything (two grains, no dimension)
WITH q0 AS (
  SELECT t."amount" AS "orders.amount", t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (t."status" IN ($1::text, $2::text, $3::text))
),
q1 AS (
  SELECT sum("orders.amount") AS "gmv_paid"
  FROM q0
),
q2 AS (
  SELECT $4::bigint AS "#left", "gmv_paid"
  FROM q1
),
q3 AS (
  SELECT t."quantity" AS "order_items.quantity"
  FROM "order_items" AS t
),
q4 AS (
  SELECT sum("order_items.quantity")::bigint AS "items_sold"
  FROM q3
),
q5 AS (
  SELECT $4::bigint AS "#right", "items_sold"
  FROM q4
),
q6 AS (
  SELECT l."#left", l."gmv_paid", r."#right", r."items_sold"
  FROM q2 AS l
  FULL JOIN q5 AS r ON coalesce(l."#left", 0) = coalesce(r."#right", 0) AND (l."#left" IS NULL) = (r."#right" IS NULL)
),
q7 AS (
  SELECT "gmv_paid", "items_sold"
  FROM q6
)
SELECT "gmv_paid", "items_sold"
FROM q7
ORDER BY "gmv_paid" DESC NULLS LAST
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
-- $4 = 1 (bigint)
