-- rarefy negative sampling (optA, clickhouse): kept rows with pi, offset = -ln(pi), weight = 1/keep probability
-- uniforms: a hash of event_id and seed 42
SELECT
  scored.*,
  0e0 - log(scored."pi") AS "offset",
  CASE WHEN scored."clicked" = 1 THEN 1e0 ELSE 1e0 / scored."pi" END AS "weight"
FROM (
  SELECT
    src.*,
    least(1e0, greatest(0.000001e0, 3.3300000000000005e0 * ((1e0 / (1e0 + exp(-greatest((-5.912345678901234e0) + src."age" * 0.4e0 - src."price" * 0.123456789e0 + src."position" * 1.5e-8, (-700e0))))) * sqrt((1e0 - (1e0 / (1e0 + exp(-greatest((-5.912345678901234e0) + src."age" * 0.4e0 - src."price" * 0.123456789e0 + src."position" * 1.5e-8, (-700e0)))))) * ((4.038873605350878e0 + src."age" * 0.8588409390688649e0 - src."price" * 0.35591606483934946e0 - src."position" * 0.030949223029508647e0) * (4.038873605350878e0 + src."age" * 0.8588409390688649e0 - src."price" * 0.35591606483934946e0 - src."position" * 0.030949223029508647e0) + (src."age" * 2.9219885765312825e0 + src."price" * 0.2654614373192152e0 - src."position" * 0.14063009812231747e0) * (src."age" * 2.9219885765312825e0 + src."price" * 0.2654614373192152e0 - src."position" * 0.14063009812231747e0) + (src."price" * 1.992731537384223e0 + src."position" * 0.5714851804886234e0) * (src."price" * 1.992731537384223e0 + src."position" * 0.5714851804886234e0) + (src."position" * 1.6778468373417945e0) * (src."position" * 1.6778468373417945e0)))) + 0.0012345000000000001e0)) AS "pi"
  FROM "analytics"."events" AS src
) AS scored
WHERE
  CASE
    WHEN scored."age" IS NULL THEN CAST(0 AS UInt8)
    WHEN scored."price" IS NULL THEN CAST(0 AS UInt8)
    WHEN scored."position" IS NULL THEN CAST(0 AS UInt8)
    WHEN scored."clicked" = 1 THEN 1
    WHEN scored."clicked" = 0 THEN toFloat64(bitAnd(sipHash64(scored."event_id", toUInt64(42)), toUInt64(9007199254740991))) * 1.1102230246251565e-16 <= scored."pi"
    ELSE CAST(0 AS UInt8)
  END
