import { describe, expect, it } from 'vitest';
import { chooseFilename } from '../src/naming/choose-filename.js';
import { extensionForContentType } from '../src/naming/content-type-extension.js';
import { unsafeFilenameReason } from '@ferry/contract';

const jobId = '42';
const finalUrl = 'https://cdn.example.test/objects/final-name.zip?sig=abc';
const requestUrl = 'https://example.test/files/request-name.tar';

describe('chooseFilename', () => {
  describe('when every source has a name', () => {
    const all = {
      requested: 'mine.bin',
      contentDisposition: 'attachment; filename="plain.txt"; filename*=UTF-8\'\'extended.txt',
      contentType: 'application/pdf',
      finalUrl,
      requestUrl,
      jobId,
    };

    it("uses the request's filename first", () => {
      expect(chooseFilename(all)).toBe('mine.bin');
    });

    it('uses filename* from Content-Disposition next', () => {
      expect(chooseFilename({ ...all, requested: undefined })).toBe('extended.txt');
    });

    it('uses the plain Content-Disposition filename when there is no filename*', () => {
      expect(chooseFilename({ ...all, requested: undefined, contentDisposition: 'attachment; filename="plain.txt"' })).toBe('plain.txt');
    });

    it('uses the last segment of the final URL when there is no Content-Disposition name', () => {
      expect(chooseFilename({ ...all, requested: undefined, contentDisposition: 'inline' })).toBe('final-name.zip');
    });

    it('uses the last segment of the request URL when the final URL has none', () => {
      expect(chooseFilename({ ...all, requested: undefined, contentDisposition: undefined, finalUrl: 'https://cdn.example.test/' })).toBe('request-name.tar');
    });

    it('uses the job id when no URL has a path segment', () => {
      expect(chooseFilename({ jobId, contentType: null, finalUrl: 'https://cdn.example.test/', requestUrl: 'https://example.test/' })).toBe('42');
    });
  });

  describe("with the request's own filename", () => {
    it('keeps it exactly, without adding an extension from Content-Type', () => {
      expect(chooseFilename({ requested: 'README', contentType: 'text/plain', jobId })).toBe('README');
      expect(chooseFilename({ requested: ' leading space', contentType: 'text/plain', jobId })).toBe(' leading space');
    });

    it('sanitizes one that bypassed the request schema', () => {
      expect(chooseFilename({ requested: '../../etc/passwd', jobId })).toBe('.._.._etc_passwd');
      expect(chooseFilename({ requested: 'CON', jobId })).toBe('_CON');
    });

    it('falls through when it sanitizes to nothing', () => {
      expect(chooseFilename({ requested: '..', finalUrl, jobId })).toBe('final-name.zip');
    });
  });

  describe('with a hostile Content-Disposition', () => {
    const choose = (contentDisposition: string, contentType?: string) => chooseFilename({ contentDisposition, contentType, finalUrl, requestUrl, jobId });

    it('keeps the name inside the storage directory', () => {
      expect(choose('attachment; filename="../../etc/passwd"')).toBe('.._.._etc_passwd');
      expect(choose("attachment; filename*=UTF-8''%2e%2e%2fx")).toBe('.._x');
      expect(choose('attachment; filename="/etc/passwd"')).toBe('_etc_passwd');
      expect(choose("attachment; filename*=UTF-8''%5cfoo.html")).toBe('_foo.html');
    });

    it('strips NUL, control and bidi-override characters', () => {
      expect(choose('attachment; filename="a\u0000b"')).toBe('ab');
      expect(choose("attachment; filename*=UTF-8''a%00b%0d%0a.txt")).toBe('ab.txt');
      expect(choose("attachment; filename*=UTF-8''evil%E2%80%AEfdp.exe")).toBe('evilfdp.exe');
    });

    it('defuses Windows device names', () => {
      expect(choose('attachment; filename=CON')).toBe('_CON');
      expect(choose('attachment; filename="nul.txt"')).toBe('_nul.txt');
    });

    it('shortens a 300-byte name to 255 bytes', () => {
      const name = choose(`attachment; filename="${'a'.repeat(300)}"`);
      expect(name).toBe('a'.repeat(255));
    });

    it('normalizes to NFC', () => {
      expect(choose("attachment; filename*=UTF-8''foo-a%cc%88.html")).toBe('foo-ä.html');
    });

    it('falls through to the URL when the name sanitizes to nothing', () => {
      expect(choose('attachment; filename=".."')).toBe('final-name.zip');
      expect(choose('attachment; filename="\u202E\u0000"')).toBe('final-name.zip');
      expect(choose("attachment; filename*=UTF-8''%2e%2e")).toBe('final-name.zip');
    });

    it('falls back to filename when filename* sanitizes to nothing', () => {
      expect(choose('attachment; filename*=UTF-8\'\'%2e%2e; filename="report.pdf"')).toBe('report.pdf');
    });

    it('falls through to the URL when the header is unusable', () => {
      expect(choose('attachment; filename=""')).toBe('final-name.zip');
      expect(choose('inline')).toBe('final-name.zip');
      expect(choose('attachment; filename="a.txt"; filename="b.txt"')).toBe('final-name.zip');
      expect(choose("attachment; filename*=UTF-8''%E4")).toBe('final-name.zip');
      expect(choose("attachment; filename*=KOI8-R''%f0%d2")).toBe('final-name.zip');
      expect(choose('attachment; filename="unclosed')).toBe('final-name.zip');
    });
  });

  describe('with URLs', () => {
    it('percent-decodes the final URL segment and ignores the query', () => {
      expect(chooseFilename({ finalUrl: 'https://x.test/a/report%20final.pdf?x=1', jobId })).toBe('report final.pdf');
    });

    it('accepts URL objects', () => {
      expect(chooseFilename({ finalUrl: new URL(finalUrl), jobId })).toBe('final-name.zip');
    });

    it('falls through to the request URL when the final URL segment sanitizes to nothing', () => {
      expect(chooseFilename({ finalUrl: 'https://x.test/%2e%2e', requestUrl, jobId })).toBe('request-name.tar');
    });

    it('skips a URL that does not parse instead of throwing', () => {
      expect(chooseFilename({ finalUrl: 'not a url', requestUrl, jobId })).toBe('request-name.tar');
      expect(chooseFilename({ finalUrl: 'not a url', requestUrl: '', jobId })).toBe('42');
    });
  });

  describe('with only the job id', () => {
    it('sanitizes it like any other candidate', () => {
      expect(chooseFilename({ jobId: 'repeat/job:7' })).toBe('repeat_job:7');
    });

    it("names the file 'download' when even the job id sanitizes to nothing", () => {
      expect(chooseFilename({ jobId: '' })).toBe('download');
      expect(chooseFilename({ jobId: '..', contentType: 'text/csv' })).toBe('download.csv');
    });
  });

  describe('with a Content-Type', () => {
    it('adds an extension to a derived name that has none', () => {
      expect(chooseFilename({ finalUrl: 'https://x.test/export', contentType: 'text/csv', jobId })).toBe('export.csv');
      expect(chooseFilename({ contentDisposition: 'attachment; filename=report', contentType: 'application/pdf', jobId })).toBe('report.pdf');
      expect(chooseFilename({ contentType: 'application/json; charset=utf-8', jobId })).toBe('42.json');
    });

    it('leaves a name that already has an extension alone, even a different one', () => {
      expect(chooseFilename({ finalUrl: 'https://x.test/photo.jpeg', contentType: 'image/jpeg', jobId })).toBe('photo.jpeg');
      expect(chooseFilename({ finalUrl: 'https://x.test/download.php', contentType: 'application/pdf', jobId })).toBe('download.php');
    });

    it('treats a leading dot as a hidden name, not an extension', () => {
      expect(chooseFilename({ finalUrl: 'https://x.test/.env', contentType: 'text/plain', jobId })).toBe('.env.txt');
    });

    it('adds nothing for application/octet-stream, unknown or missing types', () => {
      expect(chooseFilename({ finalUrl: 'https://x.test/blob', contentType: 'application/octet-stream', jobId })).toBe('blob');
      expect(chooseFilename({ finalUrl: 'https://x.test/blob', contentType: 'application/x-unknown', jobId })).toBe('blob');
      expect(chooseFilename({ finalUrl: 'https://x.test/blob', contentType: null, jobId })).toBe('blob');
      expect(chooseFilename({ finalUrl: 'https://x.test/blob', jobId })).toBe('blob');
    });

    it('shortens the stem rather than losing the extension at 255 bytes', () => {
      const name = chooseFilename({ contentDisposition: `attachment; filename="${'é'.repeat(200)}"`, contentType: 'application/pdf', jobId });
      expect(name).toBe(`${'é'.repeat(125)}.pdf`);
      expect(Buffer.byteLength(name)).toBe(254);
    });

    it('gives a truncated 300-byte name its extension back', () => {
      const name = chooseFilename({ contentDisposition: `attachment; filename="${'a'.repeat(300)}.pdf"`, contentType: 'application/pdf', jobId });
      expect(name).toBe(`${'a'.repeat(251)}.pdf`);
    });

    it('adds the extension after defusing a device name', () => {
      expect(chooseFilename({ contentDisposition: 'attachment; filename=CON', contentType: 'text/plain', jobId })).toBe('_CON.txt');
    });
  });

  it('always returns a name that passes unsafeFilenameReason', () => {
    const headers = [
      'attachment; filename="../../etc/passwd"',
      "attachment; filename*=UTF-8''%2e%2e%2fx",
      'attachment; filename="a\u0000b"',
      `attachment; filename="${'€'.repeat(100)}"`,
      'attachment; filename="trailing. . ."',
      'attachment; filename="  "',
      'attachment; filename=LPT1',
      "attachment; filename*=UTF-8''%e2%80%ae%e2%80%ae",
    ];
    for (const contentDisposition of headers) {
      for (const contentType of ['text/csv', 'application/octet-stream']) {
        const name = chooseFilename({ contentDisposition, contentType, finalUrl: 'https://x.test/', jobId });
        expect(unsafeFilenameReason(name), `${contentDisposition} → ${name}`).toBeUndefined();
      }
    }
  });
});

describe('extensionForContentType', () => {
  it.each([
    ['text/csv', '.csv'],
    ['application/pdf', '.pdf'],
    ['image/jpeg', '.jpg'],
    ['application/json', '.json'],
    ['text/plain', '.txt'],
    ['text/html', '.html'],
    ['image/png', '.png'],
    ['image/svg+xml', '.svg'],
    ['audio/mpeg', '.mp3'],
    ['video/quicktime', '.mov'],
    ['video/mp4', '.mp4'],
    ['application/zip', '.zip'],
    ['application/gzip', '.gz'],
    ['application/x-gzip', '.gz'],
    ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', '.xlsx'],
  ])('maps %s to %s', (contentType, extension) => {
    expect(extensionForContentType(contentType)).toBe(extension);
  });

  it('ignores parameters, case and whitespace', () => {
    expect(extensionForContentType('text/csv; charset=utf-8')).toBe('.csv');
    expect(extensionForContentType('Application/JSON;charset=UTF-8')).toBe('.json');
    expect(extensionForContentType('  image/jpeg  ; q=1')).toBe('.jpg');
  });

  it.each([
    ['application/octet-stream'],
    ['application/x-unknown'],
    ['application/x-msdownload'],
    ['text'],
    [''],
    [';'],
    ['constructor'],
    ['__proto__'],
    ['toString'],
  ])('is undefined for %j', (contentType) => {
    expect(extensionForContentType(contentType)).toBeUndefined();
  });

  it('is undefined when there is no Content-Type', () => {
    expect(extensionForContentType(undefined)).toBeUndefined();
    expect(extensionForContentType(null)).toBeUndefined();
  });
});
