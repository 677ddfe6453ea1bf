/**
 * `dhcpkit build-postgresql [-f] [-v] [--password-file FILE] [--table TABLE] SOURCE URL`: load an
 * assignment CSV file into the PostgreSQL table `<static-postgresql>` reads, in one transaction,
 * safely while servers use it.
 *
 * Exit codes: 0 done; 1 error (including bad arguments), or another run is loading the same
 * table; 2 rows loaded but stale rows kept because of the 30 % rule (see `--force`).
 * @module
 */

import { runCommand } from "./run.ts";
import { BUILD_POSTGRESQL } from "./usage/commands.ts";
import type { ParsedArgs } from "./usage/parse.ts";
import { UsageError } from "./errors.ts";
import { type BuildSqliteOutput, consoleOutput, PROGRESS_BYTES, RANK } from "./build_sqlite.ts";
import {
  buildPostgresql,
  EXIT_DELETION_SKIPPED,
  EXIT_ERROR,
  EXIT_OK,
} from "../src/handlers/static/build_postgresql.ts";
import { tableName } from "../src/handlers/static/postgresql/mod.ts";
import { ConnectionUrlError, parseConnectionUrl } from "../src/storage/postgresql/mod.ts";

/** Run `build-postgresql`; returns the exit code. */
export async function buildPostgresqlCommand(
  args: string[],
  output: BuildSqliteOutput = consoleOutput(),
): Promise<number> {
  // Exit status 2 means "stale rows kept" here, so a wrong argument exits with 1.
  return await runCommand(
    BUILD_POSTGRESQL,
    args,
    output,
    (parsed) => build(parsed, output),
    { usageStatus: EXIT_ERROR },
  );
}

async function build(parsed: ParsedArgs, output: BuildSqliteOutput): Promise<number> {
  const [source, url] = parsed.positionals;
  let target;
  try {
    target = parseConnectionUrl(url);
  } catch (e) {
    if (e instanceof ConnectionUrlError) throw new UsageError(e.message);
    throw e;
  }
  const table = parsed.string("table") ?? "assignments";
  try {
    tableName.parse(table, { configDir: ".", hostChecks: false });
  } catch (e) {
    throw new UsageError(`--table: ${(e as Error).message}`);
  }
  const verbosity = parsed.count("verbosity");
  let large = false;
  try {
    large = Deno.statSync(source).size >= PROGRESS_BYTES;
  } catch { /* reported by buildPostgresql */ }
  const progress = large && output.progress ? output.progress : undefined;
  const started = performance.now();
  const result = await buildPostgresql({
    source,
    url: target,
    table,
    passwordFile: parsed.string("password-file"),
    force: parsed.flag("force"),
    log: (level, message) => {
      if (level === "error") output.err(`dhcpkit build-postgresql: ${message}`);
      else if (RANK[level] <= verbosity) output.out(`${level.toUpperCase()}: ${message}`);
    },
    progress: progress
      ? (rows, read, total) => {
        const percent = total > 0 ? Math.floor((read / total) * 100) : 100;
        progress(`build-postgresql: ${rows.toLocaleString("en")} rows loaded (${percent}%)`);
      }
      : undefined,
  });
  progress?.("");
  if (result.exitCode === EXIT_DELETION_SKIPPED && verbosity < RANK.warning) {
    output.out(`WARNING: ${result.message}`);
  }
  if (result.exitCode === EXIT_OK && verbosity >= RANK.info) {
    output.out(`INFO: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return result.exitCode;
}

if (import.meta.main) Deno.exit(await buildPostgresqlCommand(Deno.args));
