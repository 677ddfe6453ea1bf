/**
 * What `build-sqlite` and `build-postgresql` print: the error as the command's one line, the
 * other messages by verbosity, a progress line for large files on a terminal, and the closing
 * lines.
 * @module
 */

import type { CommandOutput } from "./run.ts";
import type { BuildLogLevel } from "../src/handlers/static/build_sqlite.ts";

/** Where a build command writes; replaceable for tests. */
export interface BuildOutput extends CommandOutput {
  /** The progress line (`undefined` = no progress display). */
  progress?: (text: string) => void;
}

/** Verbosity needed for each log level. */
export const RANK: Record<BuildLogLevel, number> = { error: 0, warning: 1, info: 2, debug: 3 };

/** Files at least this big get a progress line (on a terminal). */
export const PROGRESS_BYTES = 1 << 20;

const encoder = new TextEncoder();

/** Output to the console, with a progress line on stderr when it is a terminal. */
export function consoleOutput(): BuildOutput {
  const terminal = Deno.stderr.isTerminal();
  let shown = false;
  const clear = () => {
    if (shown) Deno.stderr.writeSync(encoder.encode("\r\x1b[K"));
    shown = false;
  };
  return {
    out: (l) => {
      clear();
      console.log(l);
    },
    err: (l) => {
      clear();
      console.error(l);
    },
    progress: terminal
      ? (text) => {
        Deno.stderr.writeSync(encoder.encode("\r\x1b[K" + text));
        shown = text !== "";
      }
      : undefined,
  };
}

/** Reports one run of a build command (`command`) reading `source` at `verbosity`. */
export class BuildReport {
  readonly #started = performance.now();
  /** Receives the progress of the run, or undefined when none is shown. */
  readonly progress?: (rows: number, bytesRead: number, bytesTotal: number) => void;

  /** Start reporting; `verb` says what happens to rows (`written`, `loaded`). */
  constructor(
    readonly command: string,
    readonly output: BuildOutput,
    readonly verbosity: number,
    source: string,
    verb: string,
  ) {
    let large = false;
    try {
      large = Deno.statSync(source).size >= PROGRESS_BYTES;
    } catch { /* reported by the run */ }
    const line = large ? output.progress : undefined;
    if (line) {
      this.progress = (rows, read, total) => {
        const percent = total > 0 ? Math.floor((read / total) * 100) : 100;
        line(`${command}: ${rows.toLocaleString("en")} rows ${verb} (${percent}%)`);
      };
    }
  }

  /** A message of the run: an error is the command's one line on stderr, the rest by verbosity. */
  readonly log = (level: BuildLogLevel, message: string): void => {
    if (level === "error") this.output.err(`dhcpkit ${this.command}: ${message}`);
    else if (RANK[level] <= this.verbosity) this.output.out(`${level.toUpperCase()}: ${message}`);
  };

  /**
   * End the report: `exitCode` 2 (stale rows kept) is explained even without -v, since the exit
   * status alone would not say why; success gets the time taken at -vv. Returns `exitCode`.
   */
  finish(result: { exitCode: number; message: string }): number {
    if (this.progress) this.output.progress?.("");
    if (result.exitCode === 2 && this.verbosity < RANK.warning) {
      this.output.out(`WARNING: ${result.message}`);
    }
    if (result.exitCode === 0 && this.verbosity >= RANK.info) {
      const seconds = (performance.now() - this.#started) / 1000;
      this.output.out(`INFO: done in ${seconds.toFixed(1)} s`);
    }
    return result.exitCode;
  }
}
