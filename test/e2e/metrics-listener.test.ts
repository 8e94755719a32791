import net from 'node:net';
import { freePort } from '@ferry/launcher/redis-server';
import { describe, expect, it } from 'vitest';
import { serveFile } from '../support/origin.js';
import { useStack } from '../support/stack.js';

const stack = useStack();

/** Sends `target` as the request line's target, byte for byte (fetch would normalise it), and returns the status line. */
function rawGet(port: number, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('end', () => resolve(answer.split('\r\n')[0] ?? ''));
    socket.on('error', reject);
  });
}

describe("when a worker's metrics port gets a request target that is no URL", () => {
  it('answers 404 and keeps running: the worker still serves metrics and downloads', async () => {
    const port = await freePort();
    const worker = await stack.ferry.startWorker({ FERRY_WORKER_METRICS_PORT: String(port) });
    expect(await rawGet(port, '//[')).toBe('HTTP/1.1 404 Not Found');
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
    expect(worker.child.exitCode).toBeNull();
    const file = await stack.origin.randomFile('after.bin', 1024);
    const done = await stack.ferry.waitFor(await stack.ferry.enqueue({ url: stack.origin.route('/after.bin', serveFile(file)) }));
    expect(done.result?.sha256).toBe(file.sha256);
  });
});
