import WebSocket from 'ws';

/** A WebSocket test client that keeps every message and waits for the ones a test expects. */
export class TestSocket {
  readonly messages: Array<Record<string, any>> = [];
  closeCode: number | null = null;
  private waiters: Array<() => void> = [];
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.messages.push(JSON.parse(String(data)) as Record<string, any>);
      this.wake();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code) => {
        this.closeCode = code;
        this.wake();
        resolve(code);
      }),
    );
  }

  static open(url: string, options: WebSocket.ClientOptions = {}): Promise<TestSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options);
      const socket = new TestSocket(ws);
      ws.once('open', () => resolve(socket));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
  }

  send(message: object | string): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The first message (from `from` on) that matches, waiting up to `timeoutMs`. */
  async next(match: (m: Record<string, any>) => boolean, timeoutMs = 5_000, from = 0): Promise<Record<string, any>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.slice(from).find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0 || this.closeCode !== null) {
        throw new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages.slice(from))}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends and waits for the reply of that kind (subscribed/resync/error…). */
  async request(message: object | string, match: (m: Record<string, any>) => boolean, timeoutMs = 5_000) {
    const from = this.messages.length;
    this.send(message);
    return this.next(match, timeoutMs, from);
  }

  events(): Array<Record<string, any>> {
    return this.messages.filter((m) => typeof m.type === 'string' && m.type.startsWith('incident.'));
  }

  close(): void {
    this.ws.close();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
