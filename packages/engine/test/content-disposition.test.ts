import { describe, expect, it } from 'vitest';
import { dispositionFilenames } from '../src/naming/content-disposition.js';

// The name the header asks for, `filename*` first, as chooseFilename tries them (before sanitizing).
function filenameIn(header: string | undefined): string | undefined {
  const { extended, plain } = dispositionFilenames(header);
  return extended ?? plain;
}

describe('the name a Content-Disposition header asks for', () => {
  describe('with the examples from RFC 6266 section 5', () => {
    it.each([
      ['Attachment; filename=example.html', 'example.html'],
      ['INLINE; FILENAME= "an example.html"', 'an example.html'],
      ["attachment; filename*= UTF-8''%e2%82%ac%20rates", '€ rates'],
      ['attachment; filename="EURO rates"; filename*=utf-8\'\'%e2%82%ac%20rates', '€ rates'],
    ])('reads %j as %j', (header, name) => {
      expect(filenameIn(header)).toBe(name);
    });
  });

  describe('with a plain filename', () => {
    it.each([
      ['attachment; filename="foo.html"', 'foo.html'],
      ['attachment; filename=foo.html', 'foo.html'],
      ['attachment; FileName="foo.html"', 'foo.html'],
      ['attachment ; filename = "foo.html" ', 'foo.html'],
      ['attachment; filename=foo.html ;', 'foo.html'],
      ['attachment; foo="bar"; filename="foo.html"', 'foo.html'],
      ['attachment; filename="f\\oo.html"', 'foo.html'],
      ['attachment; filename="\\"quoting\\" tested.html"', '"quoting" tested.html'],
      ['attachment; filename="back\\\\slash.html"', 'back\\slash.html'],
      ['attachment; filename="Here\'s a semicolon;.html"', "Here's a semicolon;.html"],
      ["attachment; filename='foo.bar'", "'foo.bar'"],
      ['attachment; filename="foo-%41.html"', 'foo-%41.html'],
      ['attachment; filename="50%.html"', '50%.html'],
      ['inline; filename="foo.html"', 'foo.html'],
      ['form-data; name="file"; filename="foo.html"', 'foo.html'],
    ])('reads %j as %j', (header, name) => {
      expect(filenameIn(header)).toBe(name);
    });

    it('does not let a quoted ; or filename= in another parameter start a parameter', () => {
      expect(filenameIn('attachment; foo="x; filename=evil.exe"; filename="good.txt"')).toBe('good.txt');
      expect(filenameIn('attachment; foo="\\"\\\\";filename="foo.html"')).toBe('foo.html');
    });

    it('ignores parameters that only look like filename', () => {
      expect(filenameIn('attachment; xfilename=foo.html')).toBeUndefined();
      expect(filenameIn('attachment; name="foo.html"')).toBeUndefined();
      expect(filenameIn("attachment; filename *=UTF-8''foo.html")).toBeUndefined();
    });

    it('reads ISO-8859-1 text as ISO-8859-1', () => {
      expect(filenameIn('attachment; filename="foo-\u00e4.html"')).toBe('foo-ä.html');
    });

    it('reads raw UTF-8 bytes, which arrive as ISO-8859-1 text, as the UTF-8 they are', () => {
      const header = Buffer.from('attachment; filename="rés umé-€.pdf"', 'utf8').toString('latin1');
      expect(filenameIn(header)).toBe('rés umé-€.pdf');
    });

    it('keeps a name that is already decoded text beyond ISO-8859-1', () => {
      expect(filenameIn('attachment; filename="Ã¤-€.txt"')).toBe('Ã¤-€.txt');
    });
  });

  describe('with filename* (RFC 8187)', () => {
    it.each([
      ["attachment; filename*=UTF-8''foo-%c3%a4-%e2%82%ac.html", 'foo-ä-€.html'],
      ["attachment; filename*=utf-8'en'foo-%C3%A4.html", 'foo-ä.html'],
      ["attachment; filename*=UTF-8''foo-a%cc%88.html", 'foo-a\u0308.html'],
      ["attachment; filename*=UTF-8''A-%2541.html", 'A-%41.html'],
      ["attachment; filename*=UTF-8''rapport%20(final).pdf", 'rapport (final).pdf'],
      ["attachment; filename*=ISO-8859-1''currency-sign%3d%a4", 'currency-sign=¤'],
      ["attachment; filename*=iso-8859-1''foo-%c3%a4-%e2%82%ac.html", 'foo-Ã¤-â\u0082¬.html'],
      ["attachment; filename* =UTF-8''foo-%c3%a4.html", 'foo-ä.html'],
      ["attachment; filename*=UTF-8''%5cfoo.html", '\\foo.html'],
    ])('reads %j as %j', (header, name) => {
      expect(filenameIn(header)).toBe(name);
    });

    it('prefers filename* to filename, whichever comes first', () => {
      expect(filenameIn('attachment; filename="foo-ae.html"; filename*=UTF-8\'\'foo-%c3%a4.html')).toBe('foo-ä.html');
      expect(filenameIn('attachment; filename*=UTF-8\'\'foo-%c3%a4.html; filename="foo-ae.html"')).toBe('foo-ä.html');
    });

    it('does not treat RFC 2231 continuations as filename*', () => {
      expect(filenameIn('attachment; filename*0="foo."; filename*1="html"')).toBeUndefined();
      expect(filenameIn("attachment; filename*0*=ISO-8859-15''euro-sign%3d%a4; filename*=ISO-8859-1''currency-sign%3d%a4")).toBe('currency-sign=¤');
    });

    it.each([
      ['no charset', "attachment; filename*=''foo-%c3%a4.html"],
      ['one quote', "attachment; filename*=UTF-8'foo-%c3%a4.html"],
      ['no quotes', 'attachment; filename*=foo.html'],
      ['a quoted ext-value', 'attachment; filename*="UTF-8\'\'foo-%c3%a4.html"'],
      ['a truncated percent escape', "attachment; filename*=UTF-8''foo%"],
      ['a non-hex percent escape', "attachment; filename*=UTF-8''f%oo.html"],
      ['bytes that are not UTF-8', "attachment; filename*=UTF-8''foo-%E4.html"],
      ['an overlong UTF-8 slash', "attachment; filename*=UTF-8''%c0%af"],
      ['an unknown charset', "attachment; filename*=KOI8-R''%f0%d2%c9%d7%c5%d4"],
      ['a charset the WHATWG maps elsewhere', "attachment; filename*=windows-1252''%80.txt"],
      ['a raw space', "attachment; filename*=UTF-8''foo bar.html"],
      ['nothing after the quotes', "attachment; filename*=UTF-8''"],
    ])('gives up on %s', (_situation, header) => {
      expect(filenameIn(header)).toBeUndefined();
    });

    it('falls back to filename when filename* is unusable', () => {
      expect(filenameIn('attachment; filename*=KOI8-R\'\'%f0%d2; filename="fallback.txt"')).toBe('fallback.txt');
      expect(filenameIn('attachment; filename*=UTF-8\'\'%E4; filename="fallback.txt"')).toBe('fallback.txt');
      expect(filenameIn('attachment; filename*=UTF-8\'\'; filename="fallback.txt"')).toBe('fallback.txt');
    });
  });

  describe('with hostile or broken headers', () => {
    it('returns names with paths as sent, for sanitizeFilename to defuse', () => {
      expect(filenameIn('attachment; filename="../../etc/passwd"')).toBe('../../etc/passwd');
      expect(filenameIn("attachment; filename*=UTF-8''%2e%2e%2fx")).toBe('../x');
      expect(filenameIn('attachment; filename="..\\\\..\\\\boot.ini"')).toBe('..\\..\\boot.ini');
    });

    it('returns control and bidi characters as sent, for sanitizeFilename to strip', () => {
      expect(filenameIn('attachment; filename="a\u0000b"')).toBe('a\u0000b');
      expect(filenameIn("attachment; filename*=UTF-8''a%00b")).toBe('a\u0000b');
      expect(filenameIn("attachment; filename*=UTF-8''evil%E2%80%AEfdp.exe")).toBe('evil\u202Efdp.exe');
    });

    it('returns over-long names whole, for sanitizeFilename to shorten', () => {
      expect(filenameIn(`attachment; filename="${'a'.repeat(300)}.pdf"`)).toBe(`${'a'.repeat(300)}.pdf`);
    });

    it('returns reserved device names as sent', () => {
      expect(filenameIn('attachment; filename=CON')).toBe('CON');
    });

    it.each([
      ['undefined', undefined],
      ['an empty header', ''],
      ['inline with no filename', 'inline'],
      ['attachment with no filename', 'attachment'],
      ['an empty quoted name', 'attachment; filename=""'],
      ['an empty token', 'attachment; filename='],
      ['an unclosed quote', 'attachment; filename="bar'],
      ['an escape at the very end', 'attachment; filename="bar\\'],
      ['text after the closing quote', 'attachment; filename="foo.html".txt'],
      ['a quote inside a token', 'attachment; filename=foo"bar;baz"qux'],
      ['two different filenames', 'attachment; filename="foo.html"; filename="bar.html"'],
      ['two headers a proxy joined with a comma', 'attachment; filename=foo.html, attachment; filename=bar.html'],
      ['a quoted type that hides a second filename', '"foo; filename=bar;baz"; filename=qux'],
      ['a filename with no value', 'attachment; filename'],
      ['only semicolons', ';;;'],
      ['only an equals sign', '='],
    ])('is undefined for %s', (_situation, header) => {
      expect(filenameIn(header)).toBeUndefined();
    });

    it('accepts a parameter repeated with the same value', () => {
      expect(filenameIn('attachment; filename="foo.html"; filename="foo.html"')).toBe('foo.html');
    });

    it('distrusts differing copies of filename* but still reads a single filename', () => {
      expect(filenameIn("attachment; filename*=UTF-8''a.txt; filename*=UTF-8''b.exe; filename=\"c.txt\"")).toBe('c.txt');
    });

    it('does not read past an unclosed quote', () => {
      expect(filenameIn('attachment; foo="unclosed; filename=evil.exe')).toBeUndefined();
    });

    it('reads an unquoted name with spaces up to the next semicolon', () => {
      expect(filenameIn('attachment; filename=foo bar.html')).toBe('foo bar.html');
      expect(filenameIn('attachment; filename=foo bar.html; size=3')).toBe('foo bar.html');
    });

    it('reads a filename even when the disposition type is missing or odd', () => {
      expect(filenameIn('filename=foo.html')).toBe('foo.html');
      expect(filenameIn('; filename="foo.html"')).toBe('foo.html');
      expect(filenameIn('x-custom; filename="foo.html"')).toBe('foo.html');
    });

    it('stays fast on a huge header', () => {
      const header = `attachment; ${'a=b; '.repeat(20_000)}filename="end.txt"`;
      const started = performance.now();
      expect(filenameIn(header)).toBe('end.txt');
      expect(performance.now() - started).toBeLessThan(1000);
    });
  });
});

describe('dispositionFilenames', () => {
  it('offers both forms so that an unsafe filename* can fall back to filename', () => {
    expect(dispositionFilenames('attachment; filename*=UTF-8\'\'%2e%2e; filename="report.pdf"')).toEqual({
      extended: '..',
      plain: 'report.pdf',
    });
  });

  it('offers nothing when the header has no usable name', () => {
    expect(dispositionFilenames(undefined)).toEqual({});
    expect(dispositionFilenames('inline')).toEqual({});
  });
});
