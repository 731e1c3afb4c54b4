-- stock on hand by warehouse and month of 2024, each warehouse's last count of the month
WITH q0 AS (
  SELECT
    t."snapshot_date" AS "inventory.snapshot_date",
    t."units_on_hand" AS "inventory.units_on_hand",
    t."warehouse" AS "inventory.warehouse"
  FROM "inventory" AS t
  WHERE ((t."snapshot_date" >= $1::date) AND (t."snapshot_date" < $2::date))
),
q1 AS (
  SELECT
    "inventory.warehouse",
    date_trunc('month', "inventory.snapshot_date"::timestamp)::date AS "inventory.snapshot_date.month",
    "inventory.snapshot_date" AS "#at",
    sum("inventory.units_on_hand")::bigint AS "stock_on_hand"
  FROM q0
  GROUP BY 1, 2, 3
),
q2 AS (
  SELECT
    t."snapshot_date" AS "inventory.snapshot_date",
    t."units_on_hand" AS "inventory.units_on_hand",
    t."warehouse" AS "inventory.warehouse"
  FROM "inventory" AS t
  WHERE ((t."snapshot_date" >= $1::date) AND (t."snapshot_date" < $2::date))
),
q3 AS (
  SELECT
    "inventory.warehouse",
    date_trunc('month', "inventory.snapshot_date"::timestamp)::date AS "inventory.snapshot_date.month",
    "inventory.snapshot_date" AS "#at",
    sum("inventory.units_on_hand")::bigint AS "stock_on_hand"
  FROM q2
  GROUP BY 1, 2, 3
),
q4 AS (
  SELECT
    "inventory.warehouse" AS "#b:inventory.warehouse",
    "inventory.snapshot_date.month" AS "#b:inventory.snapshot_date.month",
    max("#at") AS "#b:#at"
  FROM q3
  GROUP BY 1, 2
),
q5 AS (
  SELECT
    l."inventory.warehouse",
    l."inventory.snapshot_date.month",
    l."#at",
    l."stock_on_hand",
    r."#b:inventory.warehouse",
    r."#b:inventory.snapshot_date.month",
    r."#b:#at"
  FROM q1 AS l
  INNER JOIN q4 AS r ON l."inventory.warehouse" IS NOT DISTINCT FROM r."#b:inventory.warehouse" AND l."inventory.snapshot_date.month" IS NOT DISTINCT FROM r."#b:inventory.snapshot_date.month" AND l."#at" IS NOT DISTINCT FROM r."#b:#at"
),
q6 AS (
  SELECT "inventory.warehouse", "inventory.snapshot_date.month", "stock_on_hand"
  FROM q5
)
SELECT "inventory.warehouse", "inventory.snapshot_date.month", "stock_on_hand"
FROM q6
ORDER BY "inventory.snapshot_date.month" ASC NULLS LAST, "stock_on_hand" DESC NULLS LAST, "inventory.warehouse" COLLATE "C" ASC NULLS LAST
-- $1 = DATE '2024-01-01' (date)
-- $2 = DATE '2025-01-01' (date)
