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
import { type BuildOutput, BuildReport, consoleOutput } from "./build_output.ts";
import { buildPostgresql, EXIT_ERROR } from "../src/handlers/static/build_postgresql.ts";
import { tableName } from "../src/handlers/static/postgresql/mod.ts";
import { ConnectionUrlError, parseConnectionUrl } from "../src/storage/postgresql/mod.ts";

/** Run `build-postgresql`; returns the exit code. */
export async function buildPostgresqlCommand(
  args: string[],
  output: BuildOutput = consoleOutput(),
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

async function build(parsed: ParsedArgs, output: BuildOutput): Promise<number> {
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
  const report = new BuildReport(
    "build-postgresql",
    output,
    parsed.count("verbosity"),
    source,
    "loaded",
  );
  const result = await buildPostgresql({
    source,
    url: target,
    table,
    passwordFile: parsed.string("password-file"),
    force: parsed.flag("force"),
    log: report.log,
    progress: report.progress,
  });
  return report.finish(result);
}

if (import.meta.main) Deno.exit(await buildPostgresqlCommand(Deno.args));
