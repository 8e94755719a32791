import net from 'node:net';

/**
 * A TCP relay in front of a real redis-server that makes Redis go away at an
 * exact point of a request, which killing the server from outside cannot hit:
 * once it has relayed the reply to a command mentioning some text, it drops
 * every connection and refuses new ones until `restore()`. The server itself
 * keeps running and keeps its data, as after a network partition heals.
 */
export class RedisCut {
  readonly #sockets = new Set<net.Socket>();
  #down = false;
  #trigger: { text: string; cut: () => void } | undefined;

  private constructor(
    private readonly server: net.Server,
    private readonly port: number,
  ) {}

  static async start(redisPort: number): Promise<RedisCut> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const relay = new RedisCut(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (client) => relay.#relay(client, redisPort));
    return relay;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Resolves once the reply to the next command containing `text` has reached the client and Redis has gone away. */
  cutAfterReplyTo(text: string): Promise<void> {
    return new Promise((resolve) => {
      this.#trigger = { text, cut: resolve };
    });
  }

  /** Listens again on the same port, as a restarted Redis would. */
  async restore(): Promise<void> {
    this.#down = false;
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #relay(client: net.Socket, redisPort: number): void {
    const upstream = net.connect(redisPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    let triggered = false;
    // Once down, nothing more crosses, even on a socket that is still closing.
    client.on('data', (chunk: Buffer) => {
      if (this.#down) return;
      if (this.#trigger !== undefined && chunk.includes(this.#trigger.text)) triggered = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (this.#down) return;
      client.write(chunk);
      if (!triggered || this.#trigger === undefined) return;
      const { cut } = this.#trigger;
      this.#trigger = undefined;
      this.#down = true;
      // Written first, so the client has its reply; everything after it finds Redis gone.
      // Not listening while down: reconnects are refused, as by a stopped server, rather than accepted and dropped.
      this.server.close();
      client.end(() => {
        for (const socket of this.#sockets) socket.destroy();
        cut();
      });
    });
  }
}
