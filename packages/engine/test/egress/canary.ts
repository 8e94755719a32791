import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';

/** A listener that must never be reached; it counts the connections that reach it anyway. */
export interface Canary {
  readonly host: string;
  readonly port: number;
  connections(): number;
  /** The first bytes of each connection (a TLS ClientHello carries the SNI name in clear). */
  received(): Buffer[];
  close(): Promise<void>;
}

export async function startCanary(host: string, port = 0): Promise<Canary> {
  const sockets = new Set<net.Socket>();
  const received: Buffer[] = [];
  let connections = 0;
  const server = net.createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.once('data', (chunk: Buffer) => {
      received.push(chunk);
      socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(port, host);
  await once(server, 'listening');
  return {
    host,
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    received: () => received,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** An HTTP origin that answers 200 and records, per request, the Host header and the local address it was reached on. */
export interface Origin {
  readonly port: number;
  readonly requests: { host: string | undefined; localAddress: string | undefined }[];
  close(): Promise<void>;
}

export async function startOrigin(host: string, port = 0, headers: Record<string, string> = {}): Promise<Origin> {
  const requests: Origin['requests'] = [];
  const server = http.createServer((req, res) => {
    requests.push({ host: req.headers.host, localAddress: req.socket.localAddress });
    res.writeHead(200, { 'content-type': 'text/plain', ...headers }).end('origin');
  });
  server.listen(port, host);
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    requests,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/**
 * An origin on `originHost` and a canary on `canaryHost` sharing one port, so a
 * single URL can reach either depending only on which address DNS gave.
 */
export async function startOriginAndCanary(
  originHost: string,
  canaryHost: string,
  headers: Record<string, string> = {},
): Promise<{ origin: Origin; canary: Canary }> {
  for (let tries = 0; ; tries += 1) {
    const origin = await startOrigin(originHost, 0, headers);
    try {
      return { origin, canary: await startCanary(canaryHost, origin.port) };
    } catch (err) {
      await origin.close();
      if (tries >= 10) throw err;
    }
  }
}
