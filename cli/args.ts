/**
 * Argument parsing shared by the subcommands: `parseArgs`, with bad arguments reported next to
 * the usage text and `-h`/`--help` answered, so that each command only handles its own options.
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";

/** How a subcommand reports usage errors and prints its help. */
export interface CommandUsage {
  /** Report the usage error `message`, with the usage text. */
  error(message: string): void;
  /** Print the usage text (the answer to `--help`). */
  help(): void;
  /** The exit status after a usage error. */
  readonly errorStatus: number;
}

/**
 * Usage reporting on the console: errors as `PREFIX: message`, a blank line and the usage text
 * on stderr; help on stdout; exit status 2 after an error.
 */
export function consoleUsage(prefix: string, usage: string): CommandUsage {
  return {
    error: (message) => console.error(`${prefix}: ${message}\n\n${usage}`),
    help: () => console.log(usage),
    errorStatus: 2,
  };
}

/**
 * Usage reporting through a command's output lines: errors as the line `PREFIX: message` then
 * the usage text, both to `output.err`; help to `output.out`.
 */
export function outputUsage(
  prefix: string,
  usage: string,
  output: { out(line: string): void; err(line: string): void },
  errorStatus = 2,
): CommandUsage {
  return {
    error: (message) => {
      output.err(`${prefix}: ${message}`);
      output.err(usage);
    },
    help: () => output.out(usage),
    errorStatus,
  };
}

/** A `parseArgs` configuration with the `help` option every subcommand has. */
export type CommandArgsConfig = ParseArgsConfig & {
  options: { help: { type: "boolean"; short?: "h" } };
};

/** What `parseArgs` returns for the configuration `T`. */
export type ParsedCommandArgs<T extends CommandArgsConfig> = ReturnType<typeof parseArgs<T>>;

/**
 * Parse a subcommand's arguments. Returns the parsed arguments, or the exit status when the
 * command is done already: `usage.errorStatus` after a bad argument (reported by
 * `usage.error`), 0 after `--help` (answered by `usage.help`).
 */
export function parseCommandArgs<T extends CommandArgsConfig>(
  config: T,
  usage: CommandUsage,
): ParsedCommandArgs<T> | number {
  let parsed: ParsedCommandArgs<T>;
  try {
    parsed = parseArgs(config);
  } catch (e) {
    usage.error((e as Error).message);
    return usage.errorStatus;
  }
  if ((parsed.values as { help?: boolean }).help) {
    usage.help();
    return 0;
  }
  return parsed;
}
