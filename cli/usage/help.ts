/**
 * The `--help` text of a subcommand, made from its usage table, and the command list of
 * `dhcpkit help`. Every command's help has the same parts in the same order: usage, description,
 * arguments, options, exit status, examples.
 * @module
 */

import {
  allOptions,
  optionSignature,
  shownDefault,
  synopsisLines,
  type UsageTable,
} from "./table.ts";

/** Width the help text is wrapped to. */
const WIDTH = 80;
/** Widest left column (option signatures); longer ones put their help on the next line. */
const COLUMN = 28;

/** Wrap `text` to lines of at most `width` characters (words longer than that stay whole). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** Rows of a two-column list: `left` then `right` wrapped beside it (or below when too wide). */
function twoColumns(rows: readonly (readonly [string, string])[], indent = 2): string[] {
  const width = Math.min(COLUMN, Math.max(...rows.map(([l]) => l.length)) + 2);
  const out: string[] = [];
  const pad = " ".repeat(indent);
  for (const [left, right] of rows) {
    const text = wrap(right, WIDTH - indent - width);
    if (left.length + 2 > width) {
      out.push(pad + left);
      for (const l of text) out.push(pad + " ".repeat(width) + l);
    } else {
      out.push(pad + left.padEnd(width) + (text[0] ?? ""));
      for (const l of text.slice(1)) out.push(pad + " ".repeat(width) + l);
    }
  }
  return out;
}

/** An option's help with its default and aliases. */
export function optionHelp(option: ReturnType<typeof allOptions>[number]): string {
  let text = option.help;
  if (option.aliases?.length) {
    text += ` (also ${option.aliases.map((a) => `--${a}`).join(", ")})`;
  }
  const shown = shownDefault(option);
  if (shown !== undefined) text += ` (default: ${shown})`;
  return text;
}

/** The `--help` text of `table`. */
export function formatHelp(table: UsageTable): string {
  const out: string[] = [];
  synopsisLines(table).forEach((line, i) => {
    out.push(`${i === 0 ? "Usage:" : "      "} dhcpkit ${table.name}${line ? ` ${line}` : ""}`);
  });
  for (const paragraph of table.description) out.push("", ...wrap(paragraph, WIDTH));
  if (table.positionals.length > 0) {
    out.push("", "Arguments:");
    out.push(...twoColumns(table.positionals.map((p) => [p.name, p.help])));
  }
  out.push("", "Options:");
  out.push(...twoColumns(allOptions(table).map((o) => [optionSignature(o), optionHelp(o)])));
  if (table.exitStatus.length > 0) {
    out.push("", "Exit status:");
    out.push(...twoColumns(table.exitStatus.map(([code, text]) => [String(code), text])));
  }
  if (table.examples?.length) {
    out.push("", "Examples:");
    for (const [command, text] of table.examples) {
      out.push(`  ${command}`, ...wrap(text, WIDTH - 6).map((l) => `      ${l}`));
    }
  }
  return out.join("\n");
}

/** The text of `dhcpkit help`: what the program is and its commands. */
export function formatCommandList(tables: readonly UsageTable[]): string {
  return [
    "Usage: dhcpkit COMMAND [ARGS...]",
    "",
    ...wrap(
      "dhcpkit is a DHCPv6 server for ISPs and enterprises. Every task is a subcommand of this " +
        "one program.",
      WIDTH,
    ),
    "",
    "Commands:",
    ...twoColumns(tables.map((t) => [t.name, t.summary])),
    "",
    "`dhcpkit help COMMAND` (or `dhcpkit COMMAND --help`) shows the options of a command.",
  ].join("\n");
}
