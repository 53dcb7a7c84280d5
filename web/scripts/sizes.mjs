// Prints the build's JavaScript and CSS sizes (raw and gzip, from dist/sizes.tsv written by the
// build) and what the first load of the map page costs: the entry chunk with everything it
// imports statically, plus the map page's chunk.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist');
const rows = readFileSync(path.join(dist, 'sizes.tsv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => {
    const [file, bytes, gzip] = line.split('\t');
    return { file, bytes: Number(bytes), gzip: Number(gzip) };
  });
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const html = readFileSync(path.join(dist, 'index.html'), 'utf8');
// what index.html loads before the app runs: the entry script and its modulepreloads
const initial = new Set([...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]));
let initialGzip = 0;
console.log('web build (dist/):');
for (const r of rows.filter((r) => /\.(js|css)$/.test(r.file))) {
  const first = initial.has(r.file);
  if (first) initialGzip += r.gzip;
  console.log(
    `  ${first ? '*' : ' '} ${r.file.padEnd(44)} ${kb(r.bytes).padStart(10)}  gzip ${kb(r.gzip).padStart(9)}`,
  );
}
const js = rows.filter((r) => initial.has(r.file) && r.file.endsWith('.js')).reduce((s, r) => s + r.gzip, 0);
// the map page's own chunks (the page and Leaflet), loaded right after the shell on /
const mapJs = rows.filter((r) => /^assets\/(MapPage|leaflet)-.*\.js$/.test(r.file)).reduce((s, r) => s + r.gzip, 0);
console.log(`  * = loaded by index.html. Initial JS ${kb(js)} gzip (all initial files ${kb(initialGzip)})`);
console.log(`  the map at / : initial JS + map page + Leaflet = ${kb(js + mapJs)} gzip`);
