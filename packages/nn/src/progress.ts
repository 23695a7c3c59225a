/**
 * Progress display for long work: a live bar with rate, loss and ETA on a terminal, and plain
 * periodic lines when output is not a terminal (logs, CI).
 * @module
 */

/** Options of {@linkcode Progress}. */
export interface ProgressOptions {
  /** Total units (images, batches). */
  total: number;
  /** Unit name for the rate ("images"). */
  unit?: string;
  /** Live bar (default: whether stderr is a terminal). */
  live?: boolean;
  /** Seconds between plain lines (default 10). */
  everySeconds?: number;
  /** Where to write (default stderr). */
  write?: (text: string) => void;
  /** Clock in milliseconds (default `performance.now`). */
  now?: () => number;
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return "--:--";
  const m = Math.floor(s / 60), sec = Math.floor(s % 60);
  return m >= 60
    ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}:${String(sec).padStart(2, "0")}`
    : `${m}:${String(sec).padStart(2, "0")}`;
}

/**
 * Reports progress of a task.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Progress } from "@hqat/nn";
 * const lines: string[] = [];
 * const p = new Progress("Epoch 0", { total: 100, live: false, everySeconds: 0, write: (t) => lines.push(t) });
 * p.update(50, { loss: 0.5 });
 * p.done();
 * assert(lines.length === 2 && lines[0].includes("50/100"));
 * ```
 */
export class Progress {
  #done = 0;
  #lastPrint = -Infinity;
  readonly #start: number;
  readonly #opts: Required<ProgressOptions>;
  #stats: Record<string, number> = {};

  /** Starts reporting a task called `label`. */
  constructor(readonly label: string, options: ProgressOptions) {
    const isTty = (() => {
      try {
        return Deno.stderr.isTerminal();
      } catch {
        return false;
      }
    })();
    this.#opts = {
      unit: "images",
      live: isTty,
      everySeconds: 10,
      write: (t: string) => Deno.stderr.writeSync(new TextEncoder().encode(t)),
      now: () => performance.now(),
      ...options,
    };
    this.#start = this.#opts.now();
  }

  /** Adds `n` finished units and updates the displayed statistics. */
  update(n: number, stats: Record<string, number> = {}): void {
    this.#done += n;
    this.#stats = { ...this.#stats, ...stats };
    const now = this.#opts.now();
    if (this.#opts.live) {
      if (now - this.#lastPrint >= 100 || this.#done >= this.#opts.total) {
        this.#opts.write(`\r\x1b[2K${this.line(now)}`);
        this.#lastPrint = now;
      }
    } else if ((now - this.#lastPrint) / 1000 >= this.#opts.everySeconds) {
      this.#opts.write(this.line(now) + "\n");
      this.#lastPrint = now;
    }
  }

  /** Finishes the display with a final line. */
  done(): void {
    const now = this.#opts.now();
    this.#opts.write((this.#opts.live ? `\r\x1b[2K` : "") + this.line(now) + "\n");
  }

  /** The status line at time `now`. */
  line(now: number): string {
    const { total, unit, live } = this.#opts;
    const elapsed = (now - this.#start) / 1000;
    const rate = elapsed > 0 ? this.#done / elapsed : 0;
    const eta = rate > 0 ? (total - this.#done) / rate : Infinity;
    const frac = total ? Math.min(1, this.#done / total) : 1;
    const bar = live ? `[${"#".repeat(Math.round(frac * 24)).padEnd(24, ".")}] ` : "";
    const stats = Object.entries(this.#stats).map(([k, v]) => `${k} ${v.toFixed(4)}`).join("  ");
    return `${this.label} ${bar}${this.#done}/${total} (${(100 * frac).toFixed(0)}%)  ${
      rate.toFixed(1)
    } ${unit}/s  ${stats ? stats + "  " : ""}elapsed ${fmtTime(elapsed)}  ETA ${fmtTime(eta)}`;
  }
}
