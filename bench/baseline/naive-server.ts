/**
 * A calibration server: the "naive raw node:http + pg" of issue 2's comparison, rebuilt so the
 * comparison can be made on whatever machine runs the benchmarks. No framework, no validation,
 * no privacy rules, no joins: what W1–W4 ask, answered straight from the incidents table.
 *
 *   DATABASE_URL=postgres://…/bw_bench npx tsx bench/baseline/naive-server.ts [--port 3100]
 *   npx tsx bench/load.ts --url http://127.0.0.1:3100 --workload all
 *
 * Not part of Buurtwag: it exists only to put Buurtwag's figures next to a known floor.
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import pg from 'pg';

const { values: args } = parseArgs({ options: { port: { type: 'string', default: '3100' } } });
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4 });

const COLUMNS = `id, reference, title, description, ST_X(location) AS lon, ST_Y(location) AS lat, address,
  category_id, priority, status, created_at, updated_at`;

async function answer(method: string, url: URL, path: string, body: string): Promise<[number, unknown]> {
  if (path === '/healthz') return [200, { status: 'ok' }];
  // what load.ts asks before W1: a token (not checked here) and the category ids
  if (path === '/api/v1/auth/login') return [200, { accessToken: 'naive' }];
  if (path === '/api/v1/categories') {
    const { rows } = await pool.query('SELECT id, slug FROM categories WHERE active');
    return [200, { items: rows }];
  }
  if (method === 'POST' && path === '/api/v1/incidents') {
    // one INSERT: no audit, timeline, job, community or validation
    const input = JSON.parse(body) as {
      title: string;
      description: string;
      categoryId: string;
      location: { coordinates: [number, number] };
    };
    const { rows } = await pool.query(
      `INSERT INTO incidents (reference, title, description, location, category_id)
       VALUES ('NV-' || substr(md5(random()::text), 1, 12), $1, $2, ST_SetSRID(ST_MakePoint($3, $4), 4326), $5)
       RETURNING ${COLUMNS}`,
      [input.title, input.description, ...input.location.coordinates, input.categoryId],
    );
    return [201, rows[0]];
  }
  if (path.startsWith('/api/v1/incidents/')) {
    const { rows } = await pool.query(`SELECT ${COLUMNS} FROM incidents WHERE id = $1`, [path.slice(18)]);
    return rows[0] ? [200, rows[0]] : [404, { error: 'not found' }];
  }
  if (path === '/api/v1/incidents') {
    const near = url.searchParams.get('near');
    const bbox = url.searchParams.get('bbox');
    const limit = Number(url.searchParams.get('limit') ?? 50);
    if (near) {
      const [lon, lat] = near.split(',').map(Number);
      const radius = Number(url.searchParams.get('radius') ?? 1000);
      const statuses = (url.searchParams.get('status') ?? 'reported').split(',');
      const { rows } = await pool.query(
        `SELECT ${COLUMNS}, ST_Distance(location::geography, ST_MakePoint($1, $2)::geography) AS distance
         FROM incidents
         -- the box lets the geometry index find the candidates (1° of latitude is ~111 km; the
         -- longitude degrees are 1/cos(lat) longer); ST_DWithin on geography alone would read every row
         WHERE location && ST_Expand(ST_SetSRID(ST_MakePoint($1, $2), 4326), $3 / 111000.0 / cos(radians($2)))
           AND ST_DWithin(location::geography, ST_MakePoint($1, $2)::geography, $3)
           AND status::text = ANY($4) AND is_public
         ORDER BY distance LIMIT $5`,
        [lon, lat, radius, statuses, limit],
      );
      return [200, { items: rows }];
    }
    if (bbox) {
      const [a, b, c, d] = bbox.split(',').map(Number);
      const { rows } = await pool.query(
        `SELECT ${COLUMNS} FROM incidents WHERE location && ST_MakeEnvelope($1, $2, $3, $4, 4326) AND is_public LIMIT $5`,
        [a, b, c, d, limit],
      );
      return [200, { items: rows }];
    }
  }
  return [404, { error: 'not found' }];
}

http
  .createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => void respond(body));
    const respond = (text: string) =>
      answer(req.method ?? 'GET', url, url.pathname, text)
        .then(([status, body]) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        })
        .catch((err: Error) => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: err.message }));
        });
  })
  .listen(Number(args.port), '127.0.0.1', () => process.stdout.write(`naive server on ${args.port}\n`));
