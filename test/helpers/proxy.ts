import net from 'node:net';
import fs from 'node:fs';

/**
 * A loopback proxy in front of the database, to take it away and bring it back in tests:
 * `down()` cuts every connection and refuses new ones (as a restarting Postgres does), `up()`
 * accepts again; `stall()` accepts connections and then never answers (a hung service).
 * Listens on a unix socket path or a TCP port; forwards to either.
 */
export type Endpoint = { path: string } | { host: string; port: number };

export class FlakyProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private stalled = false;
  listenPort = 0;

  constructor(
    private readonly listen: { path: string } | { port: 0 },
    private readonly target: Endpoint,
  ) {}

  async up(): Promise<void> {
    this.stalled = false;
    if (this.server) return;
    const server = net.createServer((client) => {
      if (this.stalled) {
        // swallow everything, answer nothing
        this.sockets.add(client);
        client.on('close', () => this.sockets.delete(client));
        client.on('error', () => client.destroy());
        client.resume();
        return;
      }
      const upstream =
        'path' in this.target ? net.connect(this.target.path) : net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    this.server = server;
    if ('path' in this.listen) fs.rmSync(this.listen.path, { force: true });
    await new Promise<void>((resolve) => {
      if ('path' in this.listen) server.listen(this.listen.path, resolve);
      else server.listen(this.listenPort, '127.0.0.1', resolve);
    });
    const address = server.address();
    if (address && typeof address === 'object') this.listenPort = address.port;
  }

  /** Keeps accepting, never answers; connections that were working are cut. */
  stall(): void {
    this.stalled = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
