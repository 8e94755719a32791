import { describe, expect, it } from 'vitest';
import { FerryError } from '@ferry/contract';
import { generateSealingKey, HeaderSealer, parseSealingKeys } from '../src/secrets/header-sealer.js';

const job = { owner: 'test', jobId: '0b7e9a52-4a7c-4c51-9d8e-000000000001' };
const headers = { Authorization: 'Bearer secret', 'X-Api-Key': 'k' };

describe('parseSealingKeys', () => {
  it('reads id:base64 entries, the first one first', () => {
    const text = `${generateSealingKey('new')}, ${generateSealingKey('old')}`;
    expect(parseSealingKeys(text).map((k) => k.id)).toEqual(['new', 'old']);
  });

  it.each([
    ['a key that is not 32 bytes', `k1:${Buffer.alloc(16).toString('base64')}`],
    ['no id', Buffer.alloc(32).toString('base64')],
    ['an id with a dot', `k.1:${Buffer.alloc(32).toString('base64')}`],
    ['two entries with one id', `k:${Buffer.alloc(32).toString('base64')},k:${Buffer.alloc(32, 1).toString('base64')}`],
  ])('refuses %s, saying how to make a key', (_what, text) => {
    expect(() => parseSealingKeys(text)).toThrow(/openssl rand -base64 32/);
  });
});

describe('HeaderSealer', () => {
  const [current, older] = [parseSealingKeys(generateSealingKey('k2'))[0]!, parseSealingKeys(generateSealingKey('k1'))[0]!];

  it('opens what it sealed, and the sealed text holds none of the values', () => {
    const sealer = new HeaderSealer([current]);
    const sealed = sealer.seal(headers, job);
    expect(sealed).toMatch(/^fh1\.k2\./);
    expect(sealed).not.toContain('secret');
    expect(sealer.unseal(sealed, job)).toEqual(headers);
  });

  it('seals differently every time (a fresh IV)', () => {
    const sealer = new HeaderSealer([current]);
    expect(sealer.seal(headers, job)).not.toBe(sealer.seal(headers, job));
  });

  it('seals with the first key and still opens what an older key sealed', () => {
    const before = new HeaderSealer([older]).seal(headers, job);
    const rotated = new HeaderSealer([current, older]);
    expect(rotated.seal(headers, job)).toMatch(/^fh1\.k2\./);
    expect(rotated.unseal(before, job)).toEqual(headers);
  });

  it('does not open for another job or owner, nor once altered', () => {
    const sealer = new HeaderSealer([current]);
    const sealed = sealer.seal(headers, job);
    const refusals = [
      () => sealer.unseal(sealed, { ...job, jobId: 'another' }),
      () => sealer.unseal(sealed, { ...job, owner: 'other' }),
      () => sealer.unseal(`${sealed.slice(0, -2)}AA`, job),
    ];
    for (const refused of refusals) {
      expect(refused).toThrow(FerryError);
      expect(refused).toThrow(/altered, or sealed for another job/);
    }
  });

  it("names the key it lacks, so an operator can tell which worker's config is short", () => {
    const sealed = new HeaderSealer([older]).seal(headers, job);
    expect(() => new HeaderSealer([current]).unseal(sealed, job)).toThrow(/key "k1".*FERRY_HEADERS_ENCRYPTION_KEYS/);
  });

  it('is disabled without keys', () => {
    expect(new HeaderSealer([]).enabled).toBe(false);
    expect(() => new HeaderSealer([]).seal(headers, job)).toThrow(/FERRY_HEADERS_ENCRYPTION_KEYS/);
  });
});
