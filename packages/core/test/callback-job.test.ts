import { describe, expect, it } from 'vitest';
import { CallbackJob } from '../src/webhooks/callbacks.js';

describe('a callback job', () => {
  it('must name its destination as a URL, so no reader of the queue has to check it again', () => {
    const issues = (url: string) => CallbackJob.safeParse({ url, owner: 'test', event: {} }).error?.issues.filter((issue) => issue.path[0] === 'url');
    expect(issues('not a url')).toEqual([expect.objectContaining({ path: ['url'] })]);
    expect(issues('https://hooks.example/ferry')).toEqual([]);
  });
});
