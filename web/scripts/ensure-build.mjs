// `npm start` runs this first: builds the web app when web/dist is missing or older than its
// sources, so a fresh clone's `npm install && npm start` serves it. Also used by the e2e tests.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = path.join(web, 'dist', 'index.html');

function newest(entry) {
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(entry).reduce((max, name) => Math.max(max, newest(path.join(entry, name))), stat.mtimeMs);
}

export function needsBuild() {
  if (!existsSync(built)) return true;
  const sources = ['src', 'public', 'index.html', 'vite.config.ts'].map((p) => path.join(web, p));
  return Math.max(...sources.filter(existsSync).map(newest)) > statSync(built).mtimeMs;
}

export function ensureBuild() {
  if (!needsBuild()) return false;
  const vite = path.join(web, '..', 'node_modules', 'vite', 'bin', 'vite.js');
  if (!existsSync(vite)) {
    // an install without devDependencies: the image build is expected to have built it
    console.warn('web app: not built and vite is not installed (npm install without --omit=dev); serving the API only');
    return false;
  }
  console.log('web app: building (sources changed or no build yet)…');
  execFileSync(process.execPath, [vite, 'build', '--config', path.join(web, 'vite.config.ts'), '--logLevel', 'error'], {
    stdio: 'inherit',
  });
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) ensureBuild();
