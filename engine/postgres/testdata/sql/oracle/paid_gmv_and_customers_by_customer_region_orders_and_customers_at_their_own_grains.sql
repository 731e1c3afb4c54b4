-- paid GMV and customers by customer region (orders and customers at their own grains)
WITH q0 AS (
  SELECT
    t."amount" AS "orders.amount",
    t."customer_id" AS "orders.customer_id",
    t."status" AS "orders.status"
  FROM "orders" AS t
  WHERE (t."status" IN ($1::text, $2::text, $3::text))
),
q1 AS (
  SELECT t."customer_id" AS "customers.customer_id", t."region" AS "customers.region"
  FROM "customers" AS t
),
q2 AS (
  SELECT
    l."orders.amount",
    l."orders.customer_id",
    l."orders.status",
    r."customers.customer_id",
    r."customers.region"
  FROM q0 AS l
  LEFT JOIN q1 AS r ON l."orders.customer_id" = r."customers.customer_id"
),
q3 AS (
  SELECT "customers.region", sum("orders.amount") AS "gmv_paid"
  FROM q2
  GROUP BY 1
),
q4 AS (
  SELECT t."region" AS "customers.region"
  FROM "customers" AS t
),
q5 AS (
  SELECT "customers.region", count(*) AS "customer_count"
  FROM q4
  GROUP BY 1
),
q6 AS (
  SELECT "customers.region" AS "#1:customers.region", "customer_count"
  FROM q5
),
q7 AS (
  SELECT l."customers.region", l."gmv_paid", r."#1:customers.region", r."customer_count"
  FROM q3 AS l
  FULL JOIN q6 AS r ON coalesce(l."customers.region", '') = coalesce(r."#1:customers.region", '') AND (l."customers.region" IS NULL) = (r."#1:customers.region" IS NULL)
),
q8 AS (
  SELECT
    coalesce("customers.region", "#1:customers.region") AS "customers.region",
    "gmv_paid",
    "customer_count"
  FROM q7
)
SELECT "customers.region", "gmv_paid", "customer_count"
FROM q8
ORDER BY "gmv_paid" DESC NULLS LAST, "customers.region" COLLATE "C" ASC NULLS LAST
-- $1 = 'paid' (text)
-- $2 = 'shipped' (text)
-- $3 = 'completed' (text)
