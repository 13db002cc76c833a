import { INTERCEPT_NAME, RarefyError, requireArgument } from '@rarefy/sampling-core';

/** A linear model's coefficient list split into its intercept (bias) and its slopes. */
export interface LinearTerms {
  /** Feature names, one per slope (the intercept excluded). */
  readonly features: readonly string[];
  /** One slope per feature. */
  readonly slopes: Float64Array;
  /** The intercept, or null for a model without one. */
  readonly intercept: number | null;
  /** The coefficient names: `(Intercept)` first when there is one, then the features. */
  readonly names: readonly string[];
  /** The coefficients in `names` order. */
  readonly coefficients: Float64Array;
}

/**
 * Reads `names` and `coefficients` the way a fit reports them. The intercept is `coefficients[0]`
 * when `intercept` is true; left unset, it is inferred: true when `names[0]` is `(Intercept)` or
 * when there is one more coefficient than names. `names` may list the intercept or not.
 *
 * @internal
 */
export function linearTerms(
  names: readonly string[],
  coefficients: ArrayLike<number>,
  intercept: boolean | undefined,
  input: string,
): LinearTerms {
  const namesHaveIntercept = names[0] === INTERCEPT_NAME;
  const hasIntercept = intercept ?? (namesHaveIntercept || coefficients.length === names.length + 1);
  const features = hasIntercept && namesHaveIntercept ? names.slice(1) : [...names];
  const expected = features.length + (hasIntercept ? 1 : 0);
  if (coefficients.length !== expected) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `${input}: ${coefficients.length} coefficients for ${features.length} features${hasIntercept ? ' and an intercept' : ''} (expected ${expected})`,
      'pass one coefficient per feature, the intercept first when the model has one (as fitLogistic and fitRareEvents report them)',
      { input, coefficients: coefficients.length, features: features.length },
    );
  }
  const seen = new Set<string>();
  for (const name of features) {
    requireArgument(
      name !== INTERCEPT_NAME && name.length > 0 && !seen.has(name),
      `${input}.names`,
      name.length === 0
        ? 'a feature name is empty'
        : name === INTERCEPT_NAME
          ? `"${INTERCEPT_NAME}" may only come first`
          : `"${name}" appears twice`,
      'give every feature a distinct, non-empty name',
    );
    seen.add(name);
  }
  const all = Float64Array.from(coefficients);
  for (let j = 0; j < all.length; j++) {
    requireArgument(
      Number.isFinite(all[j] as number),
      `${input}.coefficients`,
      `coefficient ${j} is ${all[j]}`,
      'pass finite coefficients (a diverged fit cannot be used as a model)',
    );
  }
  return {
    features,
    slopes: hasIntercept ? all.slice(1) : all,
    intercept: hasIntercept ? (all[0] as number) : null,
    names: hasIntercept ? [INTERCEPT_NAME, ...features] : features,
    coefficients: all,
  };
}
