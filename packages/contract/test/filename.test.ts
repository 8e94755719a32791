import { describe, expect, it } from 'vitest';
import { filenameFromUrl, numberedFilename, sanitizeFilename, unsafeFilenameReason } from '../src/filename.js';

describe('unsafeFilenameReason', () => {
  it.each(['report.pdf', 'données.csv', 'a b.txt', '.hidden', 'x'.repeat(255)])('accepts %s', (name) => {
    expect(unsafeFilenameReason(name)).toBeUndefined();
  });

  it.each([
    ['', /empty/],
    ['../x', /bare file name/],
    ['/etc/passwd', /bare file name/],
    ['..\\x', /bare file name/],
    ['..', /\. or \.\./],
    ['a\u0000b', /control/],
    ['evil\u202Etxt.exe', /bidirectional/],
    ['CON', /device/],
    ['lpt1.txt', /device/],
    ['x'.repeat(256), /255 bytes/],
    ['é'.repeat(128), /255 bytes/],
    ['cafe\u0301.txt', /NFC/],
    ['trailing.', /dot or a space/],
  ])('refuses %j', (name, reason) => {
    expect(unsafeFilenameReason(name)).toMatch(reason);
  });
});

describe('sanitizeFilename', () => {
  it('turns hostile text into a safe name or nothing', () => {
    expect(sanitizeFilename('../../etc/passwd')).toBe('.._.._etc_passwd');
    expect(sanitizeFilename('a\u0000b\u202E.txt')).toBe('ab.txt');
    expect(sanitizeFilename('CON')).toBe('_CON');
    expect(sanitizeFilename('..')).toBeUndefined();
    expect(sanitizeFilename('\u0001\u0002')).toBeUndefined();
    expect(Buffer.byteLength(sanitizeFilename('é'.repeat(300)) ?? '')).toBeLessThanOrEqual(255);
  });
});

describe('filenameFromUrl', () => {
  it('takes the last path segment, percent-decoded', () => {
    expect(filenameFromUrl(new URL('https://x.test/a/b/report%20final.pdf?sig=1'))).toBe('report final.pdf');
  });

  it('never decodes into a path', () => {
    expect(filenameFromUrl(new URL('https://x.test/a/%2e%2e%2fsecret'))).toBe('.._secret');
    expect(filenameFromUrl(new URL('https://x.test/%2e%2e'))).toBeUndefined();
  });

  it('is undefined when the path has no segment', () => {
    expect(filenameFromUrl(new URL('https://x.test/'))).toBeUndefined();
  });
});

describe('numberedFilename', () => {
  it('puts the number before the extension', () => {
    expect(numberedFilename('report.pdf', 1)).toBe('report (1).pdf');
    expect(numberedFilename('archive', 2)).toBe('archive (2)');
    expect(numberedFilename('.bashrc', 3)).toBe('.bashrc (3)');
  });

  it('stays within 255 bytes', () => {
    expect(Buffer.byteLength(numberedFilename(`${'x'.repeat(251)}.bin`, 12))).toBeLessThanOrEqual(255);
  });
});
