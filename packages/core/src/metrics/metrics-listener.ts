import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { FerryError } from '@ferry/contract';
import { metricsAuthorized, METRICS_UNAUTHORIZED_MESSAGE } from './metrics-token.js';

export interface MetricsListener {
  /** `http://host:port`, the bound address. */
  readonly address: string;
  close(): Promise<void>;
}

/** Where a metrics listener binds and whom it answers. */
export interface MetricsListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly token: string | undefined;
  /** The variable that set the port, named when it cannot be bound. */
  readonly portVariable: string;
}

/**
 * A small HTTP server of its own that answers `GET /metrics` and nothing else: a worker
 * has no other server, and the API's metrics port must not expose the API. Kept on
 * node:http rather than Fastify, as it serves one route.
 */
export async function listenForMetrics(registry: Registry, options: MetricsListenerOptions): Promise<MetricsListener> {
  const server = http.createServer((request, response) => {
    // A target that is no URL (`//[`) must not throw here: an exception in this handler would end the process.
    const path = URL.parse(request.url ?? '/', 'http://metrics')?.pathname;
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served here\n');
      return;
    }
    if (!metricsAuthorized(options.token, request.headers.authorization)) {
      response.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="Ferry metrics"' }).end(`${METRICS_UNAUTHORIZED_MESSAGE}\n`);
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(request.method === 'HEAD' ? undefined : text),
      (err: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`could not collect the metrics: ${(err as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new FerryError(
          'FERRY_ERR_CONFIG',
          `cannot serve metrics on ${options.host}:${options.port} (${err.code ?? err.message}): set ${options.portVariable} to a free port (each process on one machine needs its own) or FERRY_METRICS_HOST to an address of this machine`,
          { cause: err },
        ),
      ),
    );
    server.listen(options.port, options.host, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    address: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}
