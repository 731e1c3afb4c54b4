-- stock on hand by week of the first quarter of 2025 against the week before
WITH q0 AS (
  SELECT
    t."snapshot_date" AS "inventory.snapshot_date",
    t."units_on_hand" AS "inventory.units_on_hand"
  FROM "inventory" AS t
  WHERE ((t."snapshot_date" >= $1::date) AND (t."snapshot_date" < $2::date))
),
q1 AS (
  SELECT
    date_trunc('week', "inventory.snapshot_date"::timestamp)::date AS "inventory.snapshot_date.week",
    "inventory.snapshot_date" AS "#at",
    sum("inventory.units_on_hand")::bigint AS "stock_on_hand"
  FROM q0
  GROUP BY 1, 2
),
q2 AS (
  SELECT
    t."snapshot_date" AS "inventory.snapshot_date",
    t."units_on_hand" AS "inventory.units_on_hand"
  FROM "inventory" AS t
  WHERE ((t."snapshot_date" >= $1::date) AND (t."snapshot_date" < $2::date))
),
q3 AS (
  SELECT
    date_trunc('week', "inventory.snapshot_date"::timestamp)::date AS "inventory.snapshot_date.week",
    "inventory.snapshot_date" AS "#at",
    sum("inventory.units_on_hand")::bigint AS "stock_on_hand"
  FROM q2
  GROUP BY 1, 2
),
q4 AS (
  SELECT "inventory.snapshot_date.week" AS "#b:inventory.snapshot_date.week", max("#at") AS "#b:#at"
  FROM q3
  GROUP BY 1
),
q5 AS (
  SELECT
    l."inventory.snapshot_date.week",
    l."#at",
    l."stock_on_hand",
    r."#b:inventory.snapshot_date.week",
    r."#b:#at"
  FROM q1 AS l
  INNER JOIN q4 AS r ON l."inventory.snapshot_date.week" IS NOT DISTINCT FROM r."#b:inventory.snapshot_date.week" AND l."#at" IS NOT DISTINCT FROM r."#b:#at"
),
q6 AS (
  SELECT "inventory.snapshot_date.week", "stock_on_hand"
  FROM q5
),
q7 AS (
  SELECT l."inventory.snapshot_date.week", l."stock_on_hand", r."stock_on_hand" AS "#c0:stock_on_hand"
  FROM q6 AS l
  LEFT JOIN q6 AS r ON coalesce(date_trunc('week', (l."inventory.snapshot_date.week"::timestamp + interval '-7 days')::date::timestamp)::date::text, '') = coalesce(r."inventory.snapshot_date.week"::text, '') AND (date_trunc('week', (l."inventory.snapshot_date.week"::timestamp + interval '-7 days')::date::timestamp)::date IS NULL) = (r."inventory.snapshot_date.week" IS NULL)
),
q8 AS (
  SELECT *
  FROM q7
  WHERE (("inventory.snapshot_date.week" >= $3::date) AND ("inventory.snapshot_date.week" < $2::date))
),
q9 AS (
  SELECT
    "inventory.snapshot_date.week",
    "stock_on_hand",
    "#c0:stock_on_hand" AS "stock_on_hand.previous_week",
    ("stock_on_hand" - "#c0:stock_on_hand") AS "stock_on_hand.difference_week"
  FROM q8
)
SELECT
  "inventory.snapshot_date.week",
  "stock_on_hand",
  "stock_on_hand.previous_week",
  "stock_on_hand.difference_week"
FROM q9
ORDER BY "inventory.snapshot_date.week" ASC NULLS LAST, "stock_on_hand" DESC NULLS LAST
-- $1 = DATE '2024-12-23' (date)
-- $2 = DATE '2025-03-31' (date)
-- $3 = DATE '2024-12-30' (date)
