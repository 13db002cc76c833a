-- rarefy negative sampling (uniform, duckdb): kept rows with pi, offset = -ln(pi), weight = 1/keep probability
-- uniforms: a hash of event_id and seed 42
SELECT
  scored.*,
  0e0 - ln(scored."pi") AS "offset",
  CASE WHEN scored."clicked" = 1 THEN 1e0 ELSE 1e0 / scored."pi" END AS "weight"
FROM (
  SELECT
    src.*,
    0.0123e0 AS "pi"
  FROM "analytics"."events" AS src
) AS scored
WHERE
  CASE
    WHEN scored."clicked" = 1 THEN TRUE
    WHEN scored."clicked" = 0 THEN CAST(hash(xor(hash(scored."event_id"), CAST(42 AS UBIGINT))) & CAST(9007199254740991 AS UBIGINT) AS DOUBLE) * 1.1102230246251565e-16 <= scored."pi"
    ELSE CAST(error('rarefy: label clicked is not 0 or 1 (or is NULL) in a row, map the label to 0/1') AS BOOLEAN)
  END
