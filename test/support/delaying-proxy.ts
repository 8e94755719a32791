import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface DelayingProxy {
  /** Where to send requests instead of the target, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A real reverse proxy in front of `target` that holds each request `delayMs(request)`
 * before passing it on, as a slow link or a busy proxy would; responses (event streams
 * included) are streamed back as they come.
 */
export async function startDelayingProxy(target: string, delayMs: (request: IncomingMessage) => number): Promise<DelayingProxy> {
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    void sleep(delayMs(req)).then(() => {
      const forwarded = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forwarded.on('error', () => res.destroy());
      res.on('close', () => forwarded.destroy());
      req.pipe(forwarded);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
