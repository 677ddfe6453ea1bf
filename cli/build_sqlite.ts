/**
 * `dhcpkit build-sqlite [-f] [-v] SOURCE DEST`: convert an assignment CSV file into the SQLite
 * database `<static-sqlite>` reads. Safe to run against a database a server is using.
 *
 * Exit codes: 0 done; 1 error (including bad arguments) or stopped because another run writes
 * newer data; 2 rows imported but stale rows kept because of the 30 % rule (see `--force`).
 * @module
 */

import { type CommandOutput, runCommand } from "./run.ts";
import { BUILD_SQLITE } from "./usage/commands.ts";
import type { ParsedArgs } from "./usage/parse.ts";
import {
  type BuildLogLevel,
  buildSqlite,
  EXIT_DELETION_SKIPPED,
  EXIT_ERROR,
  EXIT_OK,
} from "../src/handlers/static/build_sqlite.ts";

const RANK: Record<BuildLogLevel, number> = { error: 0, warning: 1, info: 2, debug: 3 };

/** Where the command writes; replaceable for tests. */
export interface BuildSqliteOutput extends CommandOutput {
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
  // Exit status 2 means "stale rows kept" here (as in the original), so a wrong argument exits
  // with 1 like any other error.
  return await runCommand(
    BUILD_SQLITE,
    args,
    output,
    (parsed) => build(parsed, output),
    { usageStatus: EXIT_ERROR },
  );
}

/** Convert as `parsed` says; the exit status. */
async function build(parsed: ParsedArgs, output: BuildSqliteOutput): Promise<number> {
  const [source, destination] = parsed.positionals;
  const verbosity = parsed.count("verbosity");
  const progress = progressLine(source, output);
  const started = performance.now();
  const result = await buildSqlite({
    source,
    destination,
    force: parsed.flag("force"),
    log: logTo(output, verbosity),
    progress: progress && ((rows, read, total) => {
      const percent = total > 0 ? Math.floor((read / total) * 100) : 100;
      progress(`build-sqlite: ${rows.toLocaleString("en")} rows written (${percent}%)`);
    }),
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

/** The progress line for `source`: only for big files, and only where `output` shows one. */
function progressLine(
  source: string,
  output: BuildSqliteOutput,
): ((text: string) => void) | undefined {
  let large = false;
  try {
    large = Deno.statSync(source).size >= PROGRESS_BYTES;
  } catch { /* reported by buildSqlite */ }
  return large ? output.progress : undefined;
}

/**
 * The conversion's log: an error is the command's one line on stderr; the rest is log output,
 * shown by verbosity (`-v` warnings, `-vv` information, `-vvv` debugging).
 */
function logTo(
  output: BuildSqliteOutput,
  verbosity: number,
): (level: BuildLogLevel, message: string) => void {
  return (level, message) => {
    if (level === "error") output.err(`dhcpkit build-sqlite: ${message}`);
    else if (RANK[level] <= verbosity) output.out(`${level.toUpperCase()}: ${message}`);
  };
}

if (import.meta.main) Deno.exit(await buildSqliteCommand(Deno.args));
