/**
 * The frame every subcommand runs in: its arguments parsed by its usage table, `--help`
 * answered, and any error turned into one line `dhcpkit CMD: what is wrong` with exit status 2
 * (usage) or 1 (failure) by the shared mapping in `errors.ts`.
 * @module
 */

import { reportError, UsageError } from "./errors.ts";
import { formatHelp } from "./usage/help.ts";
import { HELP, type ParsedArgs, parseUsage } from "./usage/parse.ts";
import type { UsageTable } from "./usage/table.ts";

/** Where a command writes its lines; replaceable for tests. */
export interface CommandOutput {
  /** Normal output (stdout). */
  out(line: string): void;
  /** Diagnostics (stderr). */
  err(line: string): void;
}

/** The process's stdout and stderr. */
export const consoleOutput: CommandOutput = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

/** Options of {@link runCommand}. */
export interface RunOptions {
  /** Exit status after a usage error, when the command gives 2 another meaning. */
  usageStatus?: number;
}

/**
 * Run the command of `table` on `args`: parse them, print the help for `--help` (exit 0), else
 * run `body` with the parsed arguments. Whatever `body` throws becomes one line on
 * `output.err`; resolves with the exit status.
 */
export async function runCommand(
  table: UsageTable,
  args: readonly string[],
  output: CommandOutput,
  body: (parsed: ParsedArgs) => number | Promise<number>,
  options: RunOptions = {},
): Promise<number> {
  try {
    const parsed = parseUsage(table, args);
    if (parsed === HELP) {
      output.out(formatHelp(table));
      return 0;
    }
    return await body(parsed);
  } catch (e) {
    const status = reportError(table.name, e, (line) => output.err(line));
    return e instanceof UsageError ? options.usageStatus ?? status : status;
  }
}
