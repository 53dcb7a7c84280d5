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
export interface ProgressStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
}

export interface ProgressOptions {
  stream?: ProgressStream;
  /** bar width in characters */
  width?: number;
  /** minimum time between redraws on a terminal */
  intervalMs?: number;
  /** minimum time between lines when the stream is not a terminal */
  plainIntervalMs?: number;
  /** clock in milliseconds, for tests */
  now?: () => number;
}

export function formatProgress(done: number, total: number, elapsedMs: number, width = 30): string {
  const ratio = total > 0 ? Math.min(1, Math.max(0, done / total)) : 1;
  const filled = Math.round(ratio * width);
  const percent = Math.floor(ratio * 100);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${percent}% ${done}/${total} ${(elapsedMs / 1000).toFixed(1)}s`;
}

export class ProgressBar {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly width: number;
  private readonly interval: number;
  private readonly prefix: string;
  private readonly started: number;
  private current = 0;
  private lastDraw = -Infinity;
  private lastDrawn = -1;
  private finished = false;

  /** `label` is printed before the bar ('' for none) */
  constructor(
    label: string,
    private total: number,
    options: ProgressOptions = {},
  ) {
    this.stream = options.stream ?? process.stderr;
    this.tty = this.stream.isTTY === true;
    this.now = options.now ?? (() => performance.now());
    this.width = options.width ?? 30;
    this.interval = this.tty ? (options.intervalMs ?? 100) : (options.plainIntervalMs ?? 1_000);
    this.prefix = label ? `${label} ` : '';
    this.started = this.now();
  }

  /** reports progress; cheap enough to call for every row. `total` may change. */
  update(done: number, total?: number): void {
    if (this.finished) return;
    this.current = done;
    if (total !== undefined) this.total = total;
    const t = this.now();
    if (t - this.lastDraw < this.interval) return;
    this.lastDraw = t;
    this.draw();
  }

  /** draws the final state and ends the line; further calls do nothing */
  done(): void {
    if (this.finished) return;
    this.finished = true;
    // a plain stream already holds the final line when the last update was drawn
    if (this.tty || this.lastDrawn !== this.current) this.draw();
    if (this.tty) this.stream.write('\n');
  }

  private draw(): void {
    const line = this.prefix + formatProgress(this.current, this.total, this.now() - this.started, this.width);
    // \x1b[K clears whatever a longer previous line left behind
    this.stream.write(this.tty ? `\r${line}\x1b[K` : `${line}\n`);
    this.lastDrawn = this.current;
  }
}
