import { RarefyInputError } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import { ConcurrencyLimiter } from './concurrency.js';
import { fieldName, isRarefyServerError, requestInputError, validationError } from './errors.js';

describe('fieldName', () => {
  it('turns JSON pointers into the field names the server reports', () => {
    expect(fieldName('body', '')).toBe('body');
    expect(fieldName('body', '/rows/3/1')).toBe('body.rows[3][1]');
    expect(fieldName('body', '/userFeatures/home~1town')).toBe('body.userFeatures["home/town"]');
    expect(fieldName('querystring', '/k')).toBe('querystring.k');
  });
});

describe('validationError', () => {
  it('names the missing or unknown property, and the field of any other violation', () => {
    const missing = validationError('body', [
      { keyword: 'required', instancePath: '', params: { missingProperty: 'rows' }, message: 'x' },
    ]);
    expect(missing).toMatchObject({ statusCode: 400, code: 'RAREFY_BAD_REQUEST', input: 'body.rows' });
    expect(missing.message).toMatch(/^body\.rows is missing\. Fix: /);
    const unknown = validationError('body', [
      { keyword: 'additionalProperties', instancePath: '', params: { additionalProperty: 'kk' } },
    ]);
    expect(unknown).toMatchObject({ input: 'body.kk' });
    const range = validationError('body', [
      { keyword: 'maximum', instancePath: '/k', params: { limit: 1000 }, message: 'must be <= 1000' },
    ]);
    expect(range.problem).toBe('body.k must be <= 1000');
  });

  it('keeps a package error’s code and input as a 400', () => {
    const error = requestInputError(
      new RarefyInputError('RAREFY_NON_FINITE', 'x: NaN', 'pass numbers', { input: 'x' }),
    );
    expect(isRarefyServerError(error, 'RAREFY_NON_FINITE')).toBe(true);
    expect(error).toMatchObject({ statusCode: 400, input: 'x', fix: 'pass numbers' });
  });
});

describe('ConcurrencyLimiter', () => {
  it('refuses above the limit with 503 and Retry-After, and gives each slot back once', () => {
    const limiter = new ConcurrencyLimiter(2, 5);
    const first = limiter.acquire();
    limiter.acquire();
    expect(() => limiter.acquire()).toThrowError(
      expect.objectContaining({
        code: 'RAREFY_OVERLOADED',
        statusCode: 503,
        headers: { 'retry-after': '5' },
      }),
    );
    first();
    first();
    expect(limiter.inFlight).toBe(1);
    limiter.acquire();
    expect(limiter.inFlight).toBe(2);
    expect(() => new ConcurrencyLimiter(0)).toThrowError(expect.objectContaining({ input: 'maxInFlight' }));
  });
});
