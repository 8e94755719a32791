import { describe, expect, it } from 'vitest';
import { parseLines } from '../src/parse-lines.js';

const SHA256 = 'a'.repeat(64);

describe('parseLines', () => {
  it('reads a URL with a checksum, a file name and a priority, and skips blank and # lines', () => {
    const lines = parseLines(`# my files\n\nhttps://example.com/a.iso sha256:${SHA256} filename=disk%20one.iso priority=2\n  https://example.com/b.bin  \n`);
    expect(lines).toEqual([
      {
        line: 3,
        text: `https://example.com/a.iso sha256:${SHA256} filename=disk%20one.iso priority=2`,
        request: { url: 'https://example.com/a.iso', checksum: { algorithm: 'sha256', value: SHA256 }, filename: 'disk one.iso', priority: 2 },
      },
      { line: 4, text: 'https://example.com/b.bin', request: { url: 'https://example.com/b.bin' } },
    ]);
  });

  it("gives a line's own priority precedence over the default for lines without one", () => {
    const [own, plain] = parseLines('https://example.com/a priority=1\nhttps://example.com/b', { priority: 5 });
    expect(own?.request?.priority).toBe(1);
    expect(plain?.request?.priority).toBe(5);
  });

  it("reports what is wrong with a line in the contract's own words, and unknown words instead of ignoring them", () => {
    const [scheme, digest, word, priority] = parseLines(
      ['ftp://example.com/a', 'https://example.com/b sha256:abc', 'https://example.com/c fast', 'https://example.com/d priority=0'].join('\n'),
    );
    expect(scheme?.problems).toEqual(['url must be an absolute http:// or https:// URL']);
    expect(digest?.problems).toEqual(['checksum.value must be a sha256 digest: 64 hexadecimal characters or 32 bytes in base64']);
    expect(word?.problems?.[0]).toMatch(/^"fast" is not understood/);
    expect(priority?.problems).toEqual(['priority must be at least 1 (the highest priority)']);
  });

  it('reports a file name with a broken percent escape on its own line, and reads the lines after it', () => {
    const [broken, next] = parseLines('https://example.com/a filename=100%zz.bin\nhttps://example.com/b');
    expect(broken?.problems?.[0]).toMatch(/^filename=100%zz\.bin is not a valid file name: write % as %25/);
    expect(next?.request).toEqual({ url: 'https://example.com/b' });
  });
});
