/**
 * `dhcpkit config-docs [-o DIR]`: write the configuration reference generated from the schema.
 *
 * @module
 */

import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { outputUsage, parseCommandArgs } from "./args.ts";
import { generateConfigDocs } from "../src/config/docs.ts";
import { installBuiltins } from "../src/handlers/mod.ts";
import type { CommandOutput } from "./check_config.ts";

const USAGE = `Usage: dhcpkit config-docs [-o DIR]

Write the configuration reference (Markdown, one page per section type plus
index.md) to DIR (default: docs/config). Stale .md files in DIR are removed.`;

/** Run `config-docs`; returns the exit code. */
export function configDocsCommand(
  args: string[],
  output: CommandOutput = { out: (l) => console.log(l), err: (l) => console.error(l) },
): Promise<number> {
  const parsed = parseCommandArgs({
    args,
    options: {
      output: { type: "string", short: "o", default: "docs/config" },
      help: { type: "boolean", short: "h", default: false },
    },
  }, outputUsage("config-docs", USAGE, output));
  if (typeof parsed === "number") return Promise.resolve(parsed);
  const dir = parsed.values.output;
  const pages = generateConfigDocs(installBuiltins());
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) {
    if (f.endsWith(".md") && !pages.has(f)) rmSync(join(dir, f));
  }
  for (const [name, text] of pages) writeFileSync(join(dir, name), text);
  output.out(`wrote ${pages.size} pages to ${dir}`);
  return Promise.resolve(0);
}

if (import.meta.main) Deno.exit(await configDocsCommand(Deno.args));
