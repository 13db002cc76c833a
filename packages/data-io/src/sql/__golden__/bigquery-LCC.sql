-- rarefy negative sampling (LCC, bigquery): kept rows with pi, offset = ln(a1/a0), weight = 1/keep probability
-- uniforms: a hash of event_id and seed 42
SELECT
  scored.*,
  LN(LEAST(1e0, GREATEST(0.000001e0, 3.3300000000000005e0 * ((1e0 - (1e0 / (1e0 + EXP(-GREATEST((-5.912345678901234e0) + scored.`age` * 0.4e0 - scored.`price` * 0.123456789e0 + scored.`position` * 1.5e-8, (-700e0))))))) + 0.0012345000000000001e0)) / scored.`pi`) AS `offset`,
  1e0 / CASE WHEN scored.`clicked` = 1 THEN LEAST(1e0, GREATEST(0.000001e0, 3.3300000000000005e0 * ((1e0 - (1e0 / (1e0 + EXP(-GREATEST((-5.912345678901234e0) + scored.`age` * 0.4e0 - scored.`price` * 0.123456789e0 + scored.`position` * 1.5e-8, (-700e0))))))) + 0.0012345000000000001e0)) ELSE scored.`pi` END AS `weight`
FROM (
  SELECT
    src.*,
    LEAST(1e0, GREATEST(0.000001e0, 3.3300000000000005e0 * ((1e0 / (1e0 + EXP(-GREATEST((-5.912345678901234e0) + src.`age` * 0.4e0 - src.`price` * 0.123456789e0 + src.`position` * 1.5e-8, (-700e0)))))) + 0.0012345000000000001e0)) AS `pi`
  FROM `my-project`.`analytics`.`events` AS src
) AS scored
WHERE
  CASE
    WHEN scored.`age` IS NULL THEN CAST(ERROR('rarefy: feature age is NULL in a row, impute or filter NULLs before sampling') AS BOOL)
    WHEN scored.`price` IS NULL THEN CAST(ERROR('rarefy: feature price is NULL in a row, impute or filter NULLs before sampling') AS BOOL)
    WHEN scored.`position` IS NULL THEN CAST(ERROR('rarefy: feature position is NULL in a row, impute or filter NULLs before sampling') AS BOOL)
    WHEN scored.`clicked` = 1 THEN CAST(FARM_FINGERPRINT(CONCAT(CAST(scored.`event_id` AS STRING), ':42')) & 9007199254740991 AS FLOAT64) * 1.1102230246251565e-16 <= LEAST(1e0, GREATEST(0.000001e0, 3.3300000000000005e0 * ((1e0 - (1e0 / (1e0 + EXP(-GREATEST((-5.912345678901234e0) + scored.`age` * 0.4e0 - scored.`price` * 0.123456789e0 + scored.`position` * 1.5e-8, (-700e0))))))) + 0.0012345000000000001e0))
    WHEN scored.`clicked` = 0 THEN CAST(FARM_FINGERPRINT(CONCAT(CAST(scored.`event_id` AS STRING), ':42')) & 9007199254740991 AS FLOAT64) * 1.1102230246251565e-16 <= scored.`pi`
    ELSE CAST(ERROR('rarefy: label clicked is not 0 or 1 (or is NULL) in a row, map the label to 0/1') AS BOOL)
  END
