/**
 * Argument parsing from a usage table: `node:util` parseArgs configured from the table's options
 * (aliases included), every mistake as a {@link UsageError} in one line, and typed accessors that
 * check numbers and counts.
 * @module
 */

import { parseArgs } from "node:util";
import { UsageError } from "../errors.ts";
import { allOptions, type OptionEntry, type UsageTable } from "./table.ts";

type Value = string | boolean | (string | boolean)[] | undefined;

/** The parsed command line of one command. */
export class ParsedArgs {
  /** Wrap what parseArgs returned for `table`. */
  constructor(
    readonly table: UsageTable,
    readonly values: Readonly<Record<string, Value>>,
    readonly positionals: readonly string[],
  ) {}

  #entry(long: string): OptionEntry {
    const entry = this.table.options.find((o) => o.long === long);
    if (!entry) throw new Error(`${this.table.name} has no option --${long}`);
    return entry;
  }

  /** Every value given for `long` and its aliases, in order (none: empty). */
  #given(long: string): (string | boolean)[] {
    const entry = this.#entry(long);
    const out: (string | boolean)[] = [];
    for (const name of [long, ...(entry.aliases ?? [])]) {
      const v = this.values[name];
      if (Array.isArray(v)) out.push(...v);
      else if (v !== undefined) out.push(v);
    }
    return out;
  }

  /** The value of a string option (the last one given), else its default. */
  string(long: string): string | undefined {
    const given = this.#given(long).filter((v): v is string => typeof v === "string");
    return given.at(-1) ?? this.#entry(long).default;
  }

  /** Every value of a repeatable string option. */
  list(long: string): string[] {
    return this.#given(long).filter((v): v is string => typeof v === "string");
  }

  /** Whether a flag was given. */
  flag(long: string): boolean {
    return this.#given(long).some((v) => v === true);
  }

  /** How often a flag was given (`-vvv` = 3). */
  count(long: string): number {
    return this.#given(long).filter((v) => v === true).length;
  }

  /** Whether the option was given at all (a default does not count). */
  given(long: string): boolean {
    return this.#given(long).length > 0;
  }

  /** A whole number option within `min`..`max`; {@link UsageError} otherwise. */
  integer(long: string, min: number, max: number): number {
    const text = this.string(long);
    const value = Number(text);
    if (text === undefined || !/^\s*\d+\s*$/.test(text) || value < min || value > max) {
      throw new UsageError(
        `--${long} must be a whole number from ${min} to ${max}, not ${JSON.stringify(text)}`,
      );
    }
    return value;
  }

  /** A number of seconds above 0 (fractions allowed); {@link UsageError} otherwise. */
  seconds(long: string): number {
    const text = this.string(long);
    const value = Number(text);
    if (text === undefined || text.trim() === "" || !Number.isFinite(value) || value <= 0) {
      throw new UsageError(
        `--${long} must be a number of seconds above 0, not ${JSON.stringify(text)}`,
      );
    }
    return value;
  }
}

/** `--help` was asked for. */
export const HELP = Symbol("help");

/** parseArgs' own message reworded as one line. */
function reword(e: Error & { code?: string }): string {
  const message = e.message;
  switch (e.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION": {
      const name = /'([^']+)'/.exec(message)?.[1] ?? message;
      return `unknown option ${name}`;
    }
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
      const name = /--[\w-]+/.exec(message)?.[0] ?? "option";
      if (/does not take an argument/.test(message)) return `${name} does not take a value`;
      return `${name} needs a value`;
    }
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL": {
      const name = /'([^']*)'/.exec(message)?.[1] ?? "";
      return `unexpected argument ${JSON.stringify(name)}`;
    }
  }
  return message.split("\n")[0];
}

/**
 * Parse `args` by `table`. Returns {@link HELP} when `-h`/`--help` is among them; throws
 * {@link UsageError} for an unknown option, a missing value, or too few or too many positionals.
 */
export function parseUsage(table: UsageTable, args: readonly string[]): ParsedArgs | typeof HELP {
  const options: Record<
    string,
    { type: "string" | "boolean"; short?: string; multiple?: boolean }
  > = {};
  for (const o of allOptions(table)) {
    const spec = {
      type: o.arg ? "string" as const : "boolean" as const,
      multiple: o.repeat === true || (o.aliases?.length ?? 0) > 0,
    };
    options[o.long] = o.short ? { ...spec, short: o.short } : spec;
    for (const alias of o.aliases ?? []) options[alias] = spec;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options,
      allowPositionals: table.positionals.length > 0,
      strict: true,
    });
  } catch (e) {
    if (!String((e as { code?: unknown }).code).startsWith("ERR_PARSE_ARGS")) throw e;
    // An unknown option next to --help still shows the help.
    if (args.includes("--help") || args.includes("-h")) return HELP;
    throw new UsageError(reword(e as Error));
  }
  if (parsed.values.help) return HELP;
  const result = new ParsedArgs(table, parsed.values as Record<string, Value>, parsed.positionals);
  const required = table.positionals.filter((p) => !p.optional);
  const unlimited = table.positionals.some((p) => p.repeat);
  if (result.positionals.length < required.length) {
    const missing = required.slice(result.positionals.length).map((p) => p.name);
    throw new UsageError(`missing ${missing.join(" and ")}`);
  }
  if (!unlimited && result.positionals.length > table.positionals.length) {
    const extra = result.positionals[table.positionals.length];
    throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`);
  }
  return result;
}
