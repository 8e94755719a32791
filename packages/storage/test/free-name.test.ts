import { describe, expect, it } from 'vitest';
import { candidateNames, fileExists } from '../src/free-name.js';

describe('the names a publish may take', () => {
  it('is the name alone under fail', () => {
    expect([...candidateNames('report.pdf', 'fail')]).toEqual(['report.pdf']);
  });

  it('is the name, then numbered ones, under rename, and refuses to search past the last', () => {
    const names = candidateNames('report.pdf', 'rename');
    expect([names.next().value, names.next().value, names.next().value]).toEqual(['report.pdf', 'report (1).pdf', 'report (2).pdf']);
    expect(() => [...names]).toThrow('more than 10000 files are already named like report.pdf');
  });

  it('answers a taken name with FERRY_ERR_FILE_EXISTS, naming the file', () => {
    expect(fileExists('report.pdf')).toMatchObject({ code: 'FERRY_ERR_FILE_EXISTS', data: { filename: 'report.pdf' } });
  });
});
