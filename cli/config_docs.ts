/**
 * `dhcpkit config-docs [-o DIR]`: write the configuration reference generated from the schema.
 *
 * `-o DIR` is relative to the current folder. Without it the pages go to `docs/config` of the
 * checkout the program runs from (found next to this module, and only when that folder carries
 * our manifest); anywhere else, e.g. a compiled executable, `-o` is needed. The folder is
 * written by the manifest rules of `owned_folder.ts`: no file we did not write is ever removed
 * or overwritten.
 * @module
 */

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "./errors.ts";
import { writeOwnedFolder } from "./owned_folder.ts";
import { type CommandOutput, consoleOutput, runCommand } from "./run.ts";
import { CONFIG_DOCS } from "./usage/commands.ts";
import { generateConfigDocs } from "../src/config/docs.ts";
import { installBuiltins } from "../src/handlers/mod.ts";

/** The manifest config-docs keeps in its output folder. */
export const CONFIG_DOCS_MANIFEST = ".dhcpkit-config-docs";

/** `docs/config` of the checkout this module belongs to, when it is ours (has the manifest). */
export function checkoutConfigDocs(): string | undefined {
  const url = new URL("../docs/config/", import.meta.url);
  if (url.protocol !== "file:") return undefined;
  const dir = fileURLToPath(url);
  return existsSync(`${dir}${CONFIG_DOCS_MANIFEST}`) ? dir : undefined;
}

/** Run `config-docs`; returns the exit code. */
export function configDocsCommand(
  args: string[],
  output: CommandOutput = consoleOutput,
): Promise<number> {
  return runCommand(CONFIG_DOCS, args, output, (parsed) => {
    const dir = parsed.string("output") ?? checkoutConfigDocs();
    if (dir === undefined) {
      throw new UsageError("-o DIR is needed here (there is no dhcpkit checkout's docs/config)");
    }
    const pages = generateConfigDocs(installBuiltins());
    const { written, removed } = writeOwnedFolder(
      dir,
      pages,
      CONFIG_DOCS_MANIFEST,
      "dhcpkit config-docs",
    );
    for (const name of removed) output.out(`removed ${name} (no longer generated)`);
    output.out(`wrote ${written} pages to ${resolve(dir)}`);
    return 0;
  });
}

if (import.meta.main) Deno.exit(await configDocsCommand(Deno.args));
