/**
 * The usage table of a subcommand: everything its `--help` text, its man page, its bash
 * completion and its argument parser are made from, so the four never disagree.
 * @module
 */

/** How the value of an option or a positional argument is completed by the shell. */
export type Completion =
  /** A file name. */
  | "file"
  /** A folder name. */
  | "dir"
  /** One of the subcommands. */
  | "command"
  /** One of these words. */
  | readonly string[];

/** One option of a command. */
export interface OptionEntry {
  /** Long name without the dashes (`port`). */
  long: string;
  /** One-letter short name without the dash (`p`). */
  short?: string;
  /** Name of the option's value (`N`); an option without one is a flag. */
  arg?: string;
  /** Default value given to the parser (string options only). */
  default?: string;
  /** How the default is shown when it is not simply {@link OptionEntry.default}. */
  defaultText?: string;
  /** What the option does, one sentence or two (no default: that is added). */
  help: string;
  /** May be given more than once (a flag then counts, a value option collects a list). */
  repeat?: boolean;
  /** Other long names meaning the same (`verbose` for `verbosity`); parsed, listed in help. */
  aliases?: readonly string[];
  /** How the shell completes the value. */
  complete?: Completion;
}

/** A positional argument of a command. */
export interface PositionalEntry {
  /** Its name in the synopsis (`CONFIG`). */
  name: string;
  /** What it is. */
  help: string;
  /** May be left out. */
  optional?: boolean;
  /** May be given several times (only the last positional). */
  repeat?: boolean;
  /** How the shell completes it. */
  complete?: Completion;
}

/** The usage table of one subcommand. */
export interface UsageTable {
  /** The subcommand (`query`). */
  name: string;
  /** Man page section: 8 for the daemon and its control, 1 for the tools. */
  section: 1 | 8;
  /** One line for the command list. */
  summary: string;
  /**
   * Synopsis lines after `dhcpkit NAME`; when absent one line is made from the options and
   * positionals.
   */
  synopsis?: readonly string[];
  /** The description, one string per paragraph. */
  description: readonly string[];
  /** The options (`-h, --help` is added to every command). */
  options: readonly OptionEntry[];
  /** The positional arguments, in order. */
  positionals: readonly PositionalEntry[];
  /** Exit statuses and what each means. */
  exitStatus: readonly (readonly [number, string])[];
  /** Example command lines, each with what it does. */
  examples?: readonly (readonly [string, string])[];
  /** No man page of its own (the overview page covers it). */
  noManPage?: boolean;
}

/** The `-h, --help` option every command has. */
export const HELP_OPTION: OptionEntry = {
  long: "help",
  short: "h",
  help: "show this help and exit",
};

/** The options of `table` including `--help`. */
export function allOptions(table: UsageTable): OptionEntry[] {
  return [...table.options, HELP_OPTION];
}

/** `-s, --server ADDR` (or `--json`), the way the option is written in help and man pages. */
export function optionSignature(option: OptionEntry): string {
  const long = `--${option.long}${option.arg ? ` ${option.arg}` : ""}`;
  return option.short ? `-${option.short}, ${long}` : long;
}

/** The synopsis lines of `table`, without the leading `dhcpkit NAME`. */
export function synopsisLines(table: UsageTable): string[] {
  if (table.synopsis) return [...table.synopsis];
  const parts: string[] = [];
  for (const o of table.options) {
    const name = o.short ? `-${o.short}` : `--${o.long}`;
    const value = o.arg ? ` ${o.arg}` : "";
    parts.push(`[${name}${value}]${o.repeat ? "..." : ""}`);
  }
  for (const p of table.positionals) {
    const word = p.repeat ? `${p.name}...` : p.name;
    parts.push(p.optional ? `[${word}]` : word);
  }
  return [parts.join(" ")];
}

/** The default as shown to people, if any. */
export function shownDefault(option: OptionEntry): string | undefined {
  return option.defaultText ?? option.default;
}
