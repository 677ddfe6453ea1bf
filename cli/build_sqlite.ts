/**
 * `dhcpkit build-sqlite [-f] [-v] SOURCE DEST`: convert an assignment CSV file into the SQLite
 * database `<static-sqlite>` reads. Safe to run against a database a server is using.
 *
 * Exit codes: 0 done; 1 error (including bad arguments) or stopped because another run writes
 * newer data; 2 rows imported but stale rows kept because of the 30 % rule (see `--force`).
 * @module
 */

import { runCommand } from "./run.ts";
import { BUILD_SQLITE } from "./usage/commands.ts";
import type { ParsedArgs } from "./usage/parse.ts";
import { type BuildOutput, BuildReport, consoleOutput } from "./build_output.ts";
import { buildSqlite, EXIT_ERROR } from "../src/handlers/static/build_sqlite.ts";

/** Where the command writes; replaceable for tests. */
export type BuildSqliteOutput = BuildOutput;

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
  const report = new BuildReport(
    "build-sqlite",
    output,
    parsed.count("verbosity"),
    source,
    "written",
  );
  const result = await buildSqlite({
    source,
    destination,
    force: parsed.flag("force"),
    log: report.log,
    progress: report.progress,
  });
  return report.finish(result);
}

if (import.meta.main) Deno.exit(await buildSqliteCommand(Deno.args));
