import type { Reporter, TestModule } from 'vitest/node';

/**
 * Fails the run unless both database backends actually ran their tests: a backend that was
 * skipped (or silently ran nothing) must not look like a green build.
 */
const BACKENDS = ['embedded', 'postgres'] as const;

export default class BackendsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = new Map<string, { passed: number; failed: number; skipped: number }>();
    for (const module of testModules) {
      const name = module.project.name;
      const entry = counts.get(name) ?? { passed: 0, failed: 0, skipped: 0 };
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') entry.passed++;
        else if (state === 'failed') entry.failed++;
        else entry.skipped++;
      }
      counts.set(name, entry);
    }
    const lines = [...counts].map(
      ([name, c]) => `  ${name.padEnd(9)} ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`,
    );
    process.stdout.write(`\nBackends:\n${lines.join('\n')}\n`);
    // Only a full run is judged; a filtered run (a file, -t) may leave a backend out.
    if (process.env.BACKENDS_CHECK === 'off') return;
    const problems: string[] = [];
    for (const backend of BACKENDS) {
      const c = counts.get(backend);
      if (!c || c.passed + c.failed === 0) problems.push(`the ${backend} backend ran no test`);
      else if (c.skipped > 0) problems.push(`the ${backend} backend skipped ${c.skipped} test(s)`);
    }
    if (problems.length > 0) {
      process.stdout.write(`Backends check FAILED: ${problems.join('; ')}\n`);
      process.exitCode = 1;
    }
  }
}
