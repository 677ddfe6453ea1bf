/**
 * `dhcpkit build-sqlite [-f] [-v] SOURCE DEST`: convert an assignment CSV file into the SQLite
 * database `<static-sqlite>` reads. Safe to run against a database a server is using.
 *
 * Exit codes: 0 done; 1 error (including bad arguments) or stopped because another run writes
 * newer data; 2 rows imported but stale rows kept because of the 30 % rule (see `--force`).
 * @module
 */

import { outputUsage, parseCommandArgs } from "./args.ts";
import {
  type BuildLogLevel,
  buildSqlite,
  EXIT_DELETION_SKIPPED,
  EXIT_ERROR,
  EXIT_OK,
} from "../src/handlers/static/build_sqlite.ts";

const USAGE = `Usage: dhcpkit build-sqlite [-f] [-v] SOURCE DEST

Import the assignment CSV file SOURCE into the SQLite database DEST (created
when missing) for <static-sqlite>. Rows are written in small batches so that a
server using DEST keeps answering meanwhile.

  -f, --force      delete ids no longer in SOURCE even when that removes more
                   than 30% of the database
  -v, --verbosity  more output; repeat for more (errors are always shown; -v
                   adds warnings such as skipped rows, -vv progress
                   information, -vvv debugging)
  -h, --help       show this help

Exit status: 0 done, 1 error, 2 imported but old rows kept (30% rule).`;

const RANK: Record<BuildLogLevel, number> = { error: 0, warning: 1, info: 2, debug: 3 };

/** Where the command writes; replaceable for tests. */
export interface BuildSqliteOutput {
  /** Log lines and results. */
  out(line: string): void;
  /** Usage errors. */
  err(line: string): void;
  /** The progress line (`undefined` = no progress display). */
  progress?: (text: string) => void;
}

const encoder = new TextEncoder();

function consoleOutput(): BuildSqliteOutput {
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

/** Files at least this big get a progress line (on a terminal). */
const PROGRESS_BYTES = 1 << 20;

/** Run `build-sqlite`; returns the exit code. */
export async function buildSqliteCommand(
  args: string[],
  output: BuildSqliteOutput = consoleOutput(),
): Promise<number> {
  const usage = outputUsage("build-sqlite", USAGE, output, EXIT_ERROR);
  const parsed = parseCommandArgs({
    args,
    allowPositionals: true,
    options: {
      force: { type: "boolean", short: "f", default: false },
      verbosity: { type: "boolean", short: "v", multiple: true, default: [] },
      help: { type: "boolean", short: "h", default: false },
    },
  }, usage);
  if (typeof parsed === "number") return parsed;
  if (parsed.positionals.length !== 2) {
    usage.error("expected SOURCE and DEST");
    return usage.errorStatus;
  }
  const [source, destination] = parsed.positionals;
  const verbosity = parsed.values.verbosity.length;
  let large = false;
  try {
    large = Deno.statSync(source).size >= PROGRESS_BYTES;
  } catch { /* reported by buildSqlite */ }
  const progress = large && output.progress ? output.progress : undefined;
  const started = performance.now();
  const result = await buildSqlite({
    source,
    destination,
    force: parsed.values.force,
    log: (level, message) => {
      if (RANK[level] <= verbosity) output.out(`${level.toUpperCase()}: ${message}`);
    },
    progress: progress
      ? (rows, read, total) => {
        const percent = total > 0 ? Math.floor((read / total) * 100) : 100;
        progress(`build-sqlite: ${rows.toLocaleString("en")} rows written (${percent}%)`);
      }
      : undefined,
  });
  progress?.("");
  if (result.exitCode === EXIT_DELETION_SKIPPED && verbosity < RANK.warning) {
    // Shown even without -v: the exit status alone would not say why.
    output.out(`WARNING: ${result.message}`);
  }
  if (result.exitCode === EXIT_OK && verbosity >= RANK.info) {
    output.out(`INFO: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return result.exitCode;
}

if (import.meta.main) Deno.exit(await buildSqliteCommand(Deno.args));
