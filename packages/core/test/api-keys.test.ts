import { describe, expect, it } from 'vitest';
import { apiKeyEntry, findApiKey, generateApiKey, hashApiKey, isKeyName, parseApiKeys } from '../src/api-keys.js';

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

  it('make config entries that parse back to the same key, under names config accepts', () => {
    expect(parseApiKeys([apiKeyEntry('billing', keys[0]!.sha256), apiKeyEntry('ci', keys[1]!.sha256)].join(','))).toEqual(keys);
    expect(['billing', 'ci.v2', 'a_b-c', 'x'.repeat(64)].filter(isKeyName)).toHaveLength(4);
    expect(['', 'bad/name', 'a:b', 'a b', 'x'.repeat(65)].filter(isKeyName)).toEqual([]);
  });

  it('are found by the key itself, never by its hash', () => {
    expect(findApiKey(keys, billing)?.name).toBe('billing');
    expect(findApiKey(keys, ci)?.name).toBe('ci');
    expect(findApiKey(keys, hashApiKey(billing))).toBeUndefined();
    expect(findApiKey(keys, `${billing}x`)).toBeUndefined();
    expect(findApiKey([], billing)).toBeUndefined();
  });
});
