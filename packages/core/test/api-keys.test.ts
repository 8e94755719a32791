import { describe, expect, it } from 'vitest';
import { findApiKey, generateApiKey, hashApiKey } from '../src/api-keys.js';

describe('API keys', () => {
  const billing = generateApiKey();
  const ci = generateApiKey();
  const keys = [
    { name: 'billing', sha256: hashApiKey(billing) },
    { name: 'ci', sha256: hashApiKey(ci) },
  ];

  it('are long random tokens with a recognisable prefix', () => {
    expect(billing).toMatch(/^fry_[A-Za-z0-9_-]{43}$/);
    expect(billing).not.toBe(ci);
  });

  it('are found by the key itself, never by its hash', () => {
    expect(findApiKey(keys, billing)?.name).toBe('billing');
    expect(findApiKey(keys, ci)?.name).toBe('ci');
    expect(findApiKey(keys, hashApiKey(billing))).toBeUndefined();
    expect(findApiKey(keys, `${billing}x`)).toBeUndefined();
    expect(findApiKey([], billing)).toBeUndefined();
  });
});
