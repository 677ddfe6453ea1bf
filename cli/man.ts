/**
 * `dhcpkit man [COMMAND]` prints a man page (roff) on stdout; `dhcpkit man -o DIR` writes every
 * page into DIR under the manifest rules of `owned_folder.ts`. The pages in `docs/man` are
 * written this way (`deno run -A cli/main.ts man -o docs/man`).
 * @module
 */

import { resolve } from "node:path";
import { UsageError } from "./errors.ts";
import { writeOwnedFolder } from "./owned_folder.ts";
import { type CommandOutput, consoleOutput, runCommand } from "./run.ts";
import { COMMAND_TABLES, MAN, tableOf } from "./usage/commands.ts";
import { allManPages, commandManPage, overviewManPage } from "./usage/man.ts";
import { VERSION } from "../src/version.ts";

/** The manifest `dhcpkit man -o` keeps in its output folder. */
export const MAN_MANIFEST = ".dhcpkit-man";

/** Run `man`; returns the exit code. */
export function manCommand(args: string[], output: CommandOutput = consoleOutput): Promise<number> {
  return runCommand(MAN, args, output, (parsed) => {
    const [name] = parsed.positionals;
    const dir = parsed.string("output");
    if (dir !== undefined) {
      if (name !== undefined) throw new UsageError("-o writes every page; leave out COMMAND");
      const pages = allManPages(COMMAND_TABLES, VERSION);
      const { written, removed } = writeOwnedFolder(dir, pages, MAN_MANIFEST, "dhcpkit man");
      for (const page of removed) output.out(`removed ${page} (no longer generated)`);
      output.out(`wrote ${written} pages to ${resolve(dir)}`);
      return 0;
    }
    if (name === undefined) {
      output.out(overviewManPage(COMMAND_TABLES, VERSION).trimEnd());
      return 0;
    }
    const table = tableOf(name);
    if (!table) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
    if (table.noManPage) {
      throw new UsageError(`${name} has no page of its own; dhcpkit(1) describes it`);
    }
    output.out(commandManPage(table, COMMAND_TABLES, VERSION).trimEnd());
    return 0;
  });
}
