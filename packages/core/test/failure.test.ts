import { describe, expect, it } from 'vitest';
import { FerryError } from '@ferry/contract';
import { decodeFailureReason, encodeFailureReason } from '../src/failure.js';

describe('failure reasons', () => {
  it('round-trip the code, the message and whether it was retryable', () => {
    const reason = encodeFailureReason(new FerryError('FERRY_ERR_ORIGIN_REJECTED', 'origin answered 404 Not Found for http://x/'));
    expect(reason).toBe('FERRY_ERR_ORIGIN_REJECTED: origin answered 404 Not Found for http://x/');
    expect(decodeFailureReason(reason)).toEqual({
      code: 'FERRY_ERR_ORIGIN_REJECTED',
      message: 'origin answered 404 Not Found for http://x/',
      retryable: false,
    });
  });

  it('recognise BullMQ stalled-job failures', () => {
    expect(decodeFailureReason('job stalled more than allowable limit').code).toBe('FERRY_ERR_STALLED');
  });

  it('report anything else as internal, keeping the text', () => {
    expect(decodeFailureReason('something odd')).toEqual({ code: 'FERRY_ERR_INTERNAL', message: 'something odd', retryable: true });
    expect(decodeFailureReason('FERRY_ERR_NOT_A_CODE: x').code).toBe('FERRY_ERR_INTERNAL');
  });
});
