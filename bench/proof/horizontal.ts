/**
 * Two nodes behind nginx (issue 10, point 4):
 *
 *   npx tsx bench/proof/horizontal.ts [--incidents 20000] [--duration 10] [--connections 20]
 *
 * A PostgreSQL cluster and a redis-server of the script's own, two `serve` processes on loopback
 * and Debian's nginx (1.22) in front of them, run in the foreground from a config written to a
 * temporary directory (HTTP/1.1 and keep-alive upstream, WebSocket upgrade). Then:
 *  1. the four core workloads through nginx (bench/load.ts, run as a child);
 *  2. events cross nodes: a WebSocket client on node A (and one through nginx) sees a report
 *     created through node B;
 *  3. node B is SIGKILLed in the middle of a create/list load through nginx: every failed request
 *     is counted (nginx's default `proxy_next_upstream error timeout` retries what never reached
 *     B, and idempotent requests; a POST that B had already taken is lost with B).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { PrivateRedis } from '../../test/helpers/redis-server.js';
import {
  firstCategoryIds,
  freePort,
  incidentBody,
  out,
  PrivatePostgres,
  ROOT,
  serverEnv,
  signIn,
  sleep,
  startServerChild,
  summarise,
  type ServerChild,
} from './lib.js';
import { serverArgs } from '../serve.js';

const { values: args } = parseArgs({
  options: {
    incidents: { type: 'string', default: '20000' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '20' },
    'kill-load-seconds': { type: 'string', default: '10' },
  },
});

const NGINX = '/usr/sbin/nginx';
if (!fs.existsSync(NGINX)) {
  console.error(`horizontal: needs Debian's nginx at ${NGINX} (apt-get install -y nginx-light)`);
  process.exit(2);
}

const cluster = new PrivatePostgres();
const redis = new PrivateRedis();
const nginxDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-proof-nginx-'));
let nginx: ReturnType<typeof spawn> | null = null;
const nodes: ServerChild[] = [];
let exitCode = 0;

try {
  await cluster.init();
  await cluster.start();
  const url = await cluster.createDatabase('bw_horizontal');
  await redis.start();
  // one environment for both nodes: same signing keys, database and bus
  const shared = serverEnv({
    DATABASE_URL: url,
    REDIS_URL: redis.url,
    DATABASE_POOL_SIZE: '4',
    TRUST_PROXY: '127.0.0.1',
  });
  const [portA, portB, portN] = [await freePort(), await freePort(), await freePort()];
  nodes.push(await startServerChild({ ...shared, PORT: String(portA) }));
  nodes.push(await startServerChild({ ...shared, PORT: String(portB) }));
  const [a, b] = nodes as [ServerChild, ServerChild];
  out(
    `# nodes A :${portA} (pid ${a.pid}), B :${portB} (pid ${b.pid}); nginx :${portN}; PostgreSQL :${cluster.port}; Redis :${redis.port}`,
  );

  const seed = spawnSync(process.execPath, await serverArgs('seed', '--incidents', args.incidents, '--seed', '1'), {
    cwd: ROOT,
    env: { ...shared, LOG_LEVEL: 'warn' },
    encoding: 'utf8',
  });
  if (seed.status !== 0) throw new Error(`seed failed: ${seed.stderr}`);
  out(`# seeded ${args.incidents} incidents`);

  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'logs']) fs.mkdirSync(path.join(nginxDir, d));
  const conf = path.join(nginxDir, 'nginx.conf');
  fs.writeFileSync(
    conf,
    `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 1;
daemon off;
pid ${nginxDir}/nginx.pid;
error_log ${nginxDir}/logs/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  # After keepalive_requests (1,000 by default) nginx closes a client's connection, and autocannon
  # now and then writes its next request into the closing socket and counts the reset as an
  # error (1 in 45,000 W3 requests here; 4 in 78,000 with keepalive_requests 100, all
  # ECONNRESET). A browser opens a new connection instead. So: more than any run here sends.
  keepalive_requests 1000000;
  client_body_temp_path ${nginxDir}/body;
  proxy_temp_path ${nginxDir}/proxy;
  fastcgi_temp_path ${nginxDir}/fastcgi;
  uwsgi_temp_path ${nginxDir}/uwsgi;
  scgi_temp_path ${nginxDir}/scgi;
  upstream buurtwag {
    server 127.0.0.1:${portA};
    server 127.0.0.1:${portB};
    keepalive 64;
  }
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  server {
    listen 127.0.0.1:${portN};
    client_max_body_size 2m;
    location / {
      proxy_pass http://buurtwag;
      proxy_http_version 1.1;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_read_timeout 3600s;
    }
  }
}
`,
  );
  nginx = spawn(NGINX, ['-p', nginxDir, '-c', conf], { stdio: ['ignore', 'inherit', 'inherit'] });
  const base = `http://127.0.0.1:${portN}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      // not yet
    }
    if (i > 100) throw new Error('nginx did not come up');
    await sleep(100);
  }

  // 1. the core workloads through nginx
  out(`\n## 1. W1–W4 through nginx over two nodes (${args.connections} connections, ${args.duration} s each)`);
  const load = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      'bench/load.ts',
      '--url',
      base,
      '--workload',
      'all',
      '--duration',
      args.duration,
      '--connections',
      args.connections,
      '--warmup',
      '1',
    ],
    { cwd: ROOT, env: { ...process.env, DATABASE_URL: url }, encoding: 'utf8' },
  );
  out(load.stdout.trim());
  if (load.status !== 0) out(`load.ts exited ${load.status}: ${load.stderr.slice(0, 500)}`);

  // 2. events cross nodes
  out('\n## 2. events cross nodes');
  const token = `Bearer ${await signIn(base, 'proof-horizontal@example.invalid')}`;
  const categories = await firstCategoryIds(base);
  const box = 'bbox:27.8,-26.3,28.3,-26.0';
  const onA = await openSocket(`ws://127.0.0.1:${portA}/api/v1/ws`, box);
  const viaNginx = await openSocket(`ws://127.0.0.1:${portN}/api/v1/ws`, box);
  const crossLatencies: number[] = [];
  let crossMissed = 0;
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${portB}/api/v1/incidents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: token },
      body: incidentBody(categories[0]!, 100_000 + i, 'cross-node'),
    });
    const id = ((await res.json()) as { id: string }).id;
    const seenA = await onA.waitFor(id, 5000);
    const seenN = await viaNginx.waitFor(id, 5000);
    if (seenA && seenN) crossLatencies.push(performance.now() - t0);
    else crossMissed++;
  }
  const cross = summarise(crossLatencies);
  out(
    `20 creates through node B: seen on node A's socket and on a socket through nginx: ${crossLatencies.length}/20 (missed ${crossMissed}); create → event p50 ${cross.p50.toFixed(0)} ms, max ${cross.max.toFixed(0)} ms`,
  );
  onA.close();
  viaNginx.close();

  // 3. kill one node mid-load
  out('\n## 3. node B killed (SIGKILL) in the middle of a load through nginx');
  const seconds = Number(args['kill-load-seconds']);
  let running = true;
  let n = 0;
  const results: Array<{ ok: boolean; kind: string; detail: string; at: number }> = [];
  const worker = async () => {
    while (running) {
      const i = n++;
      const kind = i % 2 === 0 ? 'create' : 'list';
      let ok = false;
      let detail = '';
      try {
        const res =
          kind === 'create'
            ? await fetch(`${base}/api/v1/incidents`, {
                method: 'POST',
                headers: { 'content-type': 'application/json', authorization: token },
                body: incidentBody(categories[i % categories.length]!, 200_000 + i, 'kill-node'),
                signal: AbortSignal.timeout(10_000),
              })
            : await fetch(`${base}/api/v1/incidents?near=28.04,-26.2&radius=1000&limit=50`, {
                signal: AbortSignal.timeout(10_000),
              });
        await res.arrayBuffer();
        ok = res.ok;
        detail = String(res.status);
      } catch (err) {
        detail = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      }
      results.push({ ok, kind, detail, at: Date.now() });
    }
  };
  const workers = Array.from({ length: 16 }, () => worker());
  await sleep((seconds * 1000) / 2);
  const killedAt = Date.now();
  await b.kill('SIGKILL');
  await sleep((seconds * 1000) / 2);
  running = false;
  await Promise.all(workers);
  const failedResults = results.filter((r) => !r.ok);
  const byKind: Record<string, number> = {};
  for (const r of failedResults) byKind[`${r.kind}:${r.detail}`] = (byKind[`${r.kind}:${r.detail}`] ?? 0) + 1;
  const after = results.filter((r) => r.at > killedAt + 1000);
  out(
    `${results.length} requests (16 clients, ${seconds} s); failed: ${failedResults.length} ${JSON.stringify(byKind)}; ` +
      `failures later than 1 s after the kill: ${after.filter((r) => !r.ok).length} of ${after.length}`,
  );
  out(`node A still serving: ${(await fetch(`http://127.0.0.1:${portA}/healthz`)).ok}`);
} catch (err) {
  process.stderr.write(`horizontal: ${(err as Error).stack}\n`);
  exitCode = 1;
} finally {
  if (nginx && nginx.exitCode === null) {
    const done = new Promise((resolve) => nginx!.once('exit', resolve));
    nginx.kill('SIGQUIT');
    await done;
  }
  for (const node of nodes) await node.kill('SIGTERM').catch(() => undefined);
  await redis.stop();
  await cluster.remove();
  fs.rmSync(nginxDir, { recursive: true, force: true });
}
process.exit(exitCode);

/** A WebSocket client subscribed to a channel, keeping the ids of the incidents it heard of. */
async function openSocket(url: string, channel: string) {
  const ws = new WebSocket(url);
  const seen = new Set<string>();
  let wake: (() => void) | null = null;
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const subscribed = new Promise<void>((resolve) => {
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { type: string; incident?: { id: string } };
      if (m.type === 'subscribed') resolve();
      if (m.incident?.id) {
        seen.add(m.incident.id);
        wake?.();
      }
    });
  });
  ws.send(JSON.stringify({ type: 'subscribe', channel }));
  await subscribed;
  return {
    async waitFor(id: string, timeoutMs: number): Promise<boolean> {
      const deadline = Date.now() + timeoutMs;
      while (!seen.has(id) && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
      return seen.has(id);
    },
    close: () => ws.close(),
  };
}
