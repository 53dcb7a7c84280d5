/**
 * A small progress bar for long CLI commands (seeding a million rows), written to stderr so that
 * stdout stays clean for machine-readable output.
 *
 *   seed [############------------------] 40% 400000/1000000 12.3s
 *
 * On a terminal the line is redrawn in place, at most every `intervalMs` (100 ms: ~10×/s), so a
 * caller may report after every row without flooding the terminal. When stderr is not a TTY (CI
 * logs, files) carriage returns would make a mess, so whole lines are printed instead, less often.
 */
export interface ProgressBar {
  /** report progress; `total` may change (e.g. once it is known) */
  update(done: number, total?: number): void;
  /** draws the final state and ends the line; idempotent */
  finish(): void;
}

export interface ProgressStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
}

export interface ProgressOptions {
  total: number;
  /** printed before the bar */
  label?: string;
  stream?: ProgressStream;
  /** bar width in characters */
  width?: number;
  /** minimum time between redraws on a terminal */
  intervalMs?: number;
  /** minimum time between lines when the stream is not a terminal */
  plainIntervalMs?: number;
  /** clock, for tests */
  now?: () => number;
}

export function formatProgress(done: number, total: number, elapsedMs: number, width = 30): string {
  const ratio = total > 0 ? Math.min(1, Math.max(0, done / total)) : 1;
  const filled = Math.round(ratio * width);
  const percent = Math.floor(ratio * 100);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${percent}% ${done}/${total} ${(elapsedMs / 1000).toFixed(1)}s`;
}

export function createProgressBar(options: ProgressOptions): ProgressBar {
  const stream: ProgressStream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const now = options.now ?? (() => performance.now());
  const width = options.width ?? 30;
  const interval = tty ? (options.intervalMs ?? 100) : (options.plainIntervalMs ?? 1_000);
  const prefix = options.label ? `${options.label} ` : '';
  const started = now();
  let total = options.total;
  let done = 0;
  let lastDraw = -Infinity;
  let lastDrawnDone = -1;
  let finished = false;

  const draw = (): void => {
    const line = prefix + formatProgress(done, total, now() - started, width);
    // \x1b[K clears what a longer previous line left behind
    stream.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    lastDrawnDone = done;
  };

  return {
    update(value: number, newTotal?: number): void {
      if (finished) return;
      done = value;
      if (newTotal !== undefined) total = newTotal;
      const t = now();
      if (t - lastDraw < interval) return;
      lastDraw = t;
      draw();
    },
    finish(): void {
      if (finished) return;
      finished = true;
      // a plain stream already has the final line when the last update was drawn
      if (tty || lastDrawnDone !== done) draw();
      if (tty) stream.write('\n');
    },
  };
}
