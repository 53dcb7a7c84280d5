/**
 * What a sign-in costs the server: argon2id with the parameters accounts use (OWASP: 19 MiB,
 * 2 passes, 1 lane). `npx tsx bench/argon2.ts [--n 30]` prints ms per hash and per verify.
 */
import { parseArgs } from 'node:util';
import { hashPassword, verifyPassword } from '../src/modules/accounts/passwords.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '30' } } });
const n = Number(values.n);
const stored = await hashPassword('warm-up passphrase');
const hashTimes: number[] = [];
const verifyTimes: number[] = [];
for (let i = 0; i < n; i++) {
  let start = performance.now();
  await hashPassword(`passphrase number ${i}`);
  hashTimes.push(performance.now() - start);
  start = performance.now();
  await verifyPassword(stored, `passphrase number ${i}`);
  verifyTimes.push(performance.now() - start);
}
const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)]!.toFixed(1)} ms, p90 ${s[Math.floor(s.length * 0.9)]!.toFixed(1)} ms`;
};
process.stdout.write(
  `argon2id m=19456 t=2 p=1, ${n} runs\n  hash:   ${summary(hashTimes)}\n  verify: ${summary(verifyTimes)}\n`,
);
