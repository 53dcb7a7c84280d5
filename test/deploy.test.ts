import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigError, loadConfig } from '../src/config.js';
import { healthRoutes, type HealthDeps } from '../src/modules/health/health.routes.js';
import { MAX_UPLOAD_BYTES } from '../src/modules/media/media.kinds.js';

/**
 * The deployment files can't run here (no Docker engine, no cluster), so this keeps them honest
 * against the code: every environment variable they give the app is one src/config.ts reads and
 * accepts, the health checks hit routes that exist, nginx lets the largest upload through, and
 * the ports agree from nginx to the container to the probes.
 */
const root = path.resolve(import.meta.dirname, '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

type Json = Record<string, any>;
const compose = parse(read('deploy/docker-compose.yml'), { merge: true }) as Json;
const manifests: Json[] = readdirSync(path.join(root, 'deploy/k8s'))
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => parseAllDocuments(read(`deploy/k8s/${f}`)).map((d) => d.toJS() as Json))
  .filter(Boolean);
const nginx = read('deploy/nginx/nginx.conf');
const dockerfile = read('Dockerfile');

/** What an operator fills in (deploy/.env): plausible values, so the config's checks run on them. */
const COMPOSE_SECRETS: Record<string, string> = {
  POSTGRES_PASSWORD: 'pg-password',
  S3_ACCESS_KEY: 'buurtwag',
  S3_SECRET_KEY: 's3-secret-key',
  JWT_SECRET: 'x'.repeat(48),
  VAPID_PUBLIC_KEY: 'BPublicKey_base64url-1',
  VAPID_PRIVATE_KEY: 'privateKey_base64url-1',
  SMTP_URL: 'smtp://user:pw@smtp.example.org:587',
  MINIO_ROOT_USER: 'root',
  MINIO_ROOT_PASSWORD: 'root-password',
};

/** Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} and $$, as `docker compose config` resolves them. */
function interpolate(value: unknown): string {
  return String(value)
    .replace(/\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}/g, (_, name: string, op?: string, rest?: string) => {
      const given = COMPOSE_SECRETS[name];
      if (given !== undefined) return given;
      if (op?.endsWith('-')) return rest ?? '';
      throw new Error(`compose needs ${name}, which this test does not know`);
    })
    .replaceAll('$$', '$');
}

/** Loads the config from `env` and returns the names it read; a ConfigError fails the test. */
function namesRead(env: Record<string, string>): Set<string> {
  const seen = new Set<string>();
  const recording = new Proxy(env, {
    get(target, key) {
      if (typeof key === 'string') seen.add(key);
      return target[key as string];
    },
  });
  try {
    loadConfig(recording);
  } catch (err) {
    if (err instanceof ConfigError) throw new Error(`the config refuses these settings:\n${err.message}`);
    throw err;
  }
  return seen;
}

const appServices = Object.entries(compose.services as Record<string, Json>).filter(([, s]) =>
  String(s.image ?? '').startsWith('buurtwag:'),
);
const envOf = (service: Json): Record<string, string> =>
  Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(v)]));

const deployments = manifests.filter((m) => m.kind === 'Deployment');
const configMaps = manifests.filter((m) => m.kind === 'ConfigMap');
const secrets = manifests.filter((m) => m.kind === 'Secret');
function k8sEnvOf(container: Json): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) {
      const map = configMaps.find((m) => m.metadata.name === from.configMapRef.name);
      expect(map, `ConfigMap ${from.configMapRef.name}`).toBeDefined();
      Object.assign(env, map!.data);
    }
    if (from.secretRef) {
      const secret = secrets.find((m) => m.metadata.name === from.secretRef.name);
      expect(secret, `Secret ${from.secretRef.name}`).toBeDefined();
      Object.assign(env, secret!.stringData);
    }
  }
  for (const entry of container.env ?? []) env[entry.name] = String(entry.value ?? '');
  return env;
}
const containers = deployments.flatMap((d) => d.spec.template.spec.containers as Json[]);
const serveDeployment = deployments.find((d) => d.metadata.name === 'buurtwag-serve')!;
const serveContainer = serveDeployment.spec.template.spec.containers[0] as Json;

/** nginx sizes (client_max_body_size 101m) in bytes. */
function nginxBytes(size: string): number {
  const m = /^(\d+)([kmg]?)$/i.exec(size);
  if (!m) throw new Error(`not an nginx size: ${size}`);
  return Number(m[1]) * { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
}

/** The text of the block after `header {` (balanced braces). */
function block(text: string, header: RegExp): string {
  const start = text.search(header);
  if (start < 0) throw new Error(`no block ${header}`);
  let depth = 0;
  for (let i = text.indexOf('{', start); i < text.length; i++) {
    if (text[i] === '{') depth++;
    if (text[i] === '}' && --depth === 0) return text.slice(text.indexOf('{', start) + 1, i);
  }
  throw new Error(`unbalanced block ${header}`);
}

describe('environment variables given to the app', () => {
  it('compose: every one is read by src/config.ts, and the config accepts them', () => {
    expect(appServices.map(([name]) => name).sort()).toEqual(['serve-1', 'serve-2', 'worker']);
    for (const [name, service] of appServices) {
      const env = envOf(service);
      const read = namesRead(env);
      const unknown = Object.keys(env).filter((k) => !read.has(k));
      expect(unknown, `${name} sets variables the app never reads`).toEqual([]);
    }
  });

  it('kubernetes: every one (ConfigMap, Secret, env) is read by src/config.ts, and accepted', () => {
    expect(containers.length).toBeGreaterThanOrEqual(2);
    for (const container of containers) {
      const env = k8sEnvOf(container);
      const read = namesRead(env);
      const unknown = Object.keys(env).filter((k) => !read.has(k));
      expect(unknown, `${container.name} sets variables the app never reads`).toEqual([]);
    }
  });

  it('are production settings, with the secrets production requires', () => {
    for (const env of [...appServices.map(([, s]) => envOf(s)), ...containers.map(k8sEnvOf)]) {
      const config = loadConfig(env);
      expect(config.env).toBe('production');
      expect(config.db.kind).toBe('postgres');
      expect(config.redis).not.toBeNull();
      expect(config.s3).not.toBeNull();
      expect(config.jwtSecret).not.toBeNull();
      expect(config.notifications.vapid).not.toBeNull();
      expect(config.http.trustProxy === false ? [] : config.http.trustProxy).not.toContain('*');
    }
  });
});

describe('health checks', () => {
  const fakeDeps: HealthDeps = {
    db: { ping: async () => undefined } as unknown as HealthDeps['db'],
    storage: { ping: async () => undefined } as unknown as HealthDeps['storage'],
    bus: { state: () => 'up' } as unknown as HealthDeps['bus'],
    isDraining: () => false,
  };

  it('hit routes that exist and answer 200', async () => {
    const app = Fastify();
    await app.register(healthRoutes, fakeDeps);
    await app.ready();
    const paths = new Set<string>();
    const dockerPath = /HEALTHCHECK[\s\S]*?CMD[^\n]*?'(\/[a-z]+)'/.exec(dockerfile)?.[1];
    expect(dockerPath).toBe('/healthz');
    paths.add(dockerPath!);
    for (const container of containers) {
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        if (container[probe]) paths.add(container[probe].httpGet.path);
      }
    }
    expect(serveContainer.livenessProbe.httpGet.path).toBe('/healthz');
    expect(serveContainer.readinessProbe.httpGet.path).toBe('/readyz');
    for (const url of paths) {
      expect(app.hasRoute({ method: 'GET', url }), url).toBe(true);
      expect((await app.inject({ url })).statusCode, url).toBe(200);
    }
    await app.close();
  });

  it('are turned off where there is no HTTP server (the worker)', () => {
    expect(compose.services.worker.healthcheck).toEqual({ disable: true });
    const worker = containers.find((c) => c.args?.includes('worker'))!;
    expect(worker.livenessProbe).toBeUndefined();
  });
});

describe('nginx', () => {
  it('lets the largest upload through to the app, which refuses bigger ones itself', () => {
    // media.routes.ts refuses a declared length over MAX_UPLOAD_BYTES + 64 KiB of multipart framing
    const needed = MAX_UPLOAD_BYTES + 64 * 1024;
    const uploads = block(nginx, /location ~ \^\/api\/v1\/incidents\/\[\^\/\]\+\/media\$/);
    const size = nginxBytes(/client_max_body_size (\S+);/.exec(uploads)![1]!);
    expect(size).toBeGreaterThanOrEqual(needed);
    expect(new RegExp('^/api/v1/incidents/[^/]+/media$').test('/api/v1/incidents/BW-7K3M9Q2X/media')).toBe(true);
    expect(read('src/modules/media/media.routes.ts')).toContain("'/incidents/:idOrReference/media'");
    // everything else at least as much as the app's JSON body limit (1 MiB)
    const elsewhere = /^ {2}client_max_body_size (\S+);/m.exec(nginx)![1]!;
    expect(nginxBytes(elsewhere)).toBeGreaterThanOrEqual(1024 * 1024);
  });

  it('passes the request id, the client address and WebSocket upgrades on the app’s path', () => {
    const headers = read('deploy/nginx/proxy-headers.conf');
    expect(headers).toMatch(/proxy_set_header X-Request-Id \$request_id;/);
    expect(headers).toMatch(/proxy_set_header X-Forwarded-For \$remote_addr;/);
    const ws = block(nginx, /location = \/api\/v1\/ws/);
    expect(ws).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
    expect(ws).toMatch(/proxy_set_header Connection \$connection_upgrade;/);
    expect(read('src/modules/realtime/realtime.routes.ts')).toContain("'/ws'");
    // nginx's own address is the only proxy the app believes
    const nginxAddress = compose.services.nginx.networks.default.ipv4_address;
    for (const [, service] of appServices) expect(envOf(service).TRUST_PROXY).toBe(nginxAddress);
  });

  it('has HTTP/3 and HTTP/2 for nginx >= 1.25, and keeps /metrics off the edge', () => {
    expect(nginx).toMatch(/listen 443 quic reuseport;/);
    expect(nginx).toMatch(/http3 on;/);
    expect(nginx).toMatch(/http2 on;/);
    expect(nginx).toMatch(/Alt-Svc 'h3=":443"/);
    expect(block(nginx, /location = \/metrics/)).toMatch(/return 404;/);
    expect(block(nginx, /location \/assets\//)).toMatch(/max-age=31536000, immutable/);
  });
});

describe('ports', () => {
  it('agree from nginx to the containers (compose)', () => {
    const upstream = block(nginx, /upstream buurtwag/);
    const servers = [...upstream.matchAll(/server ([a-z0-9-]+):(\d+)/g)].map((m) => ({ host: m[1]!, port: m[2]! }));
    expect(servers.map((s) => s.host).sort()).toEqual(['serve-1', 'serve-2']);
    for (const { host, port } of servers) {
      expect(compose.services[host], host).toBeDefined();
      expect(envOf(compose.services[host]).PORT).toBe(port);
    }
    const minio = /upstream minio \{\s*server ([a-z0-9-]+):(\d+);/.exec(nginx)!;
    expect(compose.services[minio[1]!]).toBeDefined();
    expect(envOf(compose.services['serve-1']).S3_ENDPOINT).toBe(`http://${minio[1]}:${minio[2]}`);
    for (const volume of compose.services.nginx.volumes as string[]) {
      const source = volume.split(':')[0]!;
      if (source.endsWith('.conf')) expect(existsSync(path.join(root, 'deploy', source)), source).toBe(true);
    }
  });

  it('agree between the image, the ConfigMap, the containers, the probes and the Service', () => {
    const exposed = /^EXPOSE (\d+)$/m.exec(dockerfile)![1]!;
    expect(/^ENV [\s\S]*?PORT=(\d+)/m.exec(dockerfile)![1]).toBe(exposed);
    expect(dockerfile).toContain(`process.env.PORT || ${exposed}`);
    const env = k8sEnvOf(serveContainer);
    const ports = Object.fromEntries((serveContainer.ports as Json[]).map((p) => [p.name, String(p.containerPort)]));
    expect(env.PORT).toBe(ports.http);
    expect(env.PORT).toBe(exposed);
    expect(env.METRICS_PORT).toBe(ports.metrics);
    expect(serveDeployment.spec.template.metadata.annotations['prometheus.io/port']).toBe(ports.metrics);
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      expect(ports[serveContainer[probe].httpGet.port], probe).toBeDefined();
    }
    const service = manifests.find((m) => m.kind === 'Service')!;
    for (const p of service.spec.ports as Json[]) expect(ports[p.targetPort], p.targetPort).toBeDefined();
    const hpa = manifests.find((m) => m.kind === 'HorizontalPodAutoscaler')!;
    expect(hpa.spec.scaleTargetRef.name).toBe(serveDeployment.metadata.name);
  });
});

describe('data services', () => {
  it('Redis keeps an append-only file and never evicts; Postgres is crash-safe and archives WAL', () => {
    const redis = (compose.services.redis.command as string[]).join(' ');
    expect(redis).toContain('--appendonly yes');
    expect(redis).toContain('--maxmemory-policy noeviction');
    const postgres = (compose.services.postgres.command as string[]).join(' ');
    for (const setting of ['fsync=on', 'synchronous_commit=on', 'full_page_writes=on', 'archive_mode=on']) {
      expect(postgres).toContain(setting);
    }
  });

  it('the bucket the app uses is made at start, before any app container runs', () => {
    const bucket = envOf(compose.services['serve-1']).S3_BUCKET;
    expect((compose.services['minio-init'].entrypoint as string[]).join('\n')).toContain(
      `mc mb --ignore-existing local/${bucket}`,
    );
    for (const [, service] of appServices) {
      expect(service.depends_on['minio-init'].condition).toBe('service_completed_successfully');
    }
  });
});

describe('the image', () => {
  it('runs the production build that `npm run build` makes, as `npm start` does, and ships no sources or tsx', () => {
    const pkg = JSON.parse(read('package.json')) as Json;
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    expect(entrypoint).toEqual(['node', '--max-semi-space-size=8', 'dist/main.js']);
    expect(pkg.scripts.start).toBe(`${entrypoint.join(' ')} serve`);
    expect(pkg.scripts.build).toBe('node scripts/build-server.mjs');
    expect(dockerfile).toMatch(/^RUN npm run build\b/m);
    expect(dockerfile).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(dockerfile).not.toMatch(/^COPY src\b/m);
    // the runtime stage installs production dependencies only: tsx and esbuild must not be needed there
    expect(pkg.dependencies.tsx).toBeUndefined();
    expect(pkg.devDependencies.esbuild).toBeDefined();
    expect(read('.dockerignore').split('\n')).toContain('dist');
  });
});

/**
 * The files checked by the tools that read them, as far as this machine has them: Debian's
 * nginx 1.22 (`nginx -t` through deploy/nginx/check-config.sh, without the lines marked 1.25+)
 * and Debian's Compose 1.29 (`docker-compose config`: the compose schema, interpolation, and
 * every reference between services, volumes and networks). Compose 1.29 predates the top-level
 * `name`, so its copy goes without that one line. Both are Debian packages (nginx-light,
 * docker-compose) that .ci/run installs; a missing one fails here rather than skipping.
 */
describe('the deployment files, as their own tools read them', () => {
  const run = (command: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) =>
    spawnSync(command, args, {
      encoding: 'utf8',
      timeout: 60_000,
      ...options,
      env: { ...process.env, ...options.env },
    });

  /** `docker-compose config` on a copy of the compose file made by `edit`, beside the original (relative paths hold). */
  function composeConfig(edit: (text: string) => string) {
    const copy = path.join(root, 'deploy', `.compose-check-${process.pid}.yml`);
    writeFileSync(copy, edit(read('deploy/docker-compose.yml')));
    try {
      return run('docker-compose', ['-f', copy, '--project-directory', path.join(root, 'deploy'), 'config'], {
        env: COMPOSE_SECRETS,
      });
    } finally {
      rmSync(copy, { force: true });
    }
  }
  const withoutName = (text: string) => text.replace(/^name: .*\n/m, '');

  it('nginx -t accepts nginx.conf', () => {
    expect(existsSync('/usr/sbin/nginx'), 'nginx is missing: apt-get install -y nginx-light').toBe(true);
    const result = run('sh', [path.join(root, 'deploy/nginx/check-config.sh')], {
      env: { PATH: `/usr/sbin:${process.env.PATH ?? ''}` },
    });
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stderr).toContain('test is successful');
  });

  it('docker-compose config accepts the compose file and resolves every service of it', () => {
    const version = run('docker-compose', ['version', '--short']);
    expect(version.error, 'docker-compose is missing: apt-get install -y docker-compose').toBeUndefined();
    const result = composeConfig(withoutName);
    expect(result.status, result.stderr).toBe(0);
    const resolved = parse(result.stdout) as Json;
    expect(Object.keys(resolved.services).sort()).toEqual(Object.keys(compose.services).sort());
    // interpolation happened: the secrets given are in, no ${…} is left
    expect(result.stdout).toContain(COMPOSE_SECRETS.JWT_SECRET);
    expect(result.stdout).not.toMatch(/\$\{[A-Z]/);
  });

  it('docker-compose config refuses a broken copy (the check can fail)', () => {
    // a dependency on a service that does not exist, and a key no service may have
    const broken = composeConfig((text) =>
      withoutName(text).replace(/^( {2}serve-1:\n)/m, '$1    no_such_key: true\n    depends_on: [no-such-service]\n'),
    );
    expect(broken.status).not.toBe(0);
  });
});
