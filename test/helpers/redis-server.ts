import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

const REDIS_SERVER = '/usr/bin/redis-server';
const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 2_000;

/**
 * A Redis of the test's own, to crash and bring back without touching the shared one on 6379
 * that other tests use. It keeps nothing on disk (no RDB, no AOF), so a restart is an empty
 * Redis on the same port, as after a crash in production. It runs in the foreground as our child
 * (no --daemonize), so we hold its pid: it is killed on stop(), and, should a test forget, when
 * this Node process exits. (A worker that is itself SIGKILLed runs no exit hook; nothing short of
 * a watchdog process covers that.)
 */
export class PrivateRedis {
  private child: ChildProcess | null = null;
  private output = '';
  port = 0;

  get running(): boolean {
    return this.child !== null;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts on a free port (the first time) and resolves once Redis answers PING. */
  async start(): Promise<void> {
    if (this.child) throw new Error('PrivateRedis is already running');
    if (this.port === 0) this.port = await freePort();
    this.output = '';
    const child = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    // kept for the error message should it not come up (port taken, bad flag)
    const keep = (chunk: Buffer) => {
      if (this.output.length < 10_000) this.output += chunk.toString();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('exit', () => {
      if (this.child === child) this.child = null;
    });
    installExitHook();
    liveChildren.add(child);
    child.on('exit', () => liveChildren.delete(child));

    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await answersPing(this.port))) {
      if (this.child !== child) throw new Error(`redis-server exited at start:\n${this.output}`);
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(
          `redis-server did not answer on port ${this.port} within ${START_TIMEOUT_MS} ms:\n${this.output}`,
        );
      }
      await sleep(20);
    }
  }

  /** SIGKILL, as in a crash: connections are cut, nothing is flushed. Resolves when it has exited. */
  async kill(): Promise<void> {
    await this.end('SIGKILL');
  }

  /** SIGSTOP: the port still accepts connections and nothing answers, as with a hung Redis. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  /** SIGCONT: answers again, with the same data and the connections that survived. */
  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  /** A new, empty Redis on the same port (clients configured with `url` can reconnect). */
  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  /** Shuts down cleanly (SIGTERM), killing it should it linger. */
  async stop(): Promise<void> {
    await this.end('SIGTERM');
  }

  private async end(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    child.kill(signal);
    // a frozen Redis would hold a SIGTERM until thawed
    if (signal !== 'SIGKILL') child.kill('SIGCONT');
    const lingering = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(lingering);
  }
}

/** Every redis-server started here and still running; killed when the test process exits. */
const liveChildren = new Set<ChildProcess>();

let exitHookInstalled = false;

// one listener for all instances: process.on would add the same function again on every start
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: kill() only sends the signal, which is all we need
  process.on('exit', () => {
    for (const child of liveChildren) child.kill('SIGKILL');
  });
}

/** A port nobody listens on right now: the kernel picks one, and we let it go for Redis. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address !== 'object') throw new Error('could not find a free port');
  return address.port;
}

/** True once Redis answers: listening is not enough, it may still be starting up. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
