/**
 * The `dhcpkit` program: one entry point, subcommands dispatched from here.
 *
 * Subcommand modules are loaded lazily so that, for example, `dhcpkit decode` does not pay for
 * the server's start-up. Their usage tables (`usage/commands.ts`) are plain data loaded up
 * front: `dhcpkit help` lists them without loading any command. Anything a command lets escape
 * is reported here in one line (exit 1), never as a stack trace.
 * @module
 */

import { reportError, UsageError } from "./errors.ts";
import { COMMAND_TABLES, HELP_COMMAND, tableOf, VERSION_COMMAND } from "./usage/commands.ts";
import { formatCommandList, formatHelp } from "./usage/help.ts";
import { consoleOutput, runCommand } from "./run.ts";

/** A subcommand's runner: takes its arguments, resolves with the exit status. */
type Runner = (args: string[]) => Promise<number>;

/** The runner of every subcommand, by name. */
export const COMMANDS: Record<string, Runner> = {
  serve: async (args) => (await import("./serve.ts")).serveCommand(args),
  ctl: async (args) => (await import("./ctl.ts")).ctlCommand(args),
  "check-config": async (args) => (await import("./check_config.ts")).checkConfigCommand(args),
  "config-docs": async (args) => (await import("./config_docs.ts")).configDocsCommand(args),
  "build-sqlite": async (args) => (await import("./build_sqlite.ts")).buildSqliteCommand(args),
  "build-postgresql": async (args) =>
    (await import("./build_postgresql.ts")).buildPostgresqlCommand(args),
  leases: async (args) => (await import("./leases.ts")).leasesCommand(args),
  decode: async (args) => (await import("./decode.ts")).decodeCommand(args),
  leasequery: async (args) => (await import("./leasequery.ts")).leasequeryCommand(args),
  query: async (args) => (await import("./query.ts")).queryCommand(args),
  man: async (args) => (await import("./man.ts")).manCommand(args),
  completion: async (args) => (await import("./completion.ts")).completionCommand(args),
  help: (args) => helpCommand(args),
  version: (args) => versionCommand(args),
};

/** `dhcpkit help [COMMAND]`: the command list, or the help of COMMAND. */
function helpCommand(args: string[]): Promise<number> {
  return runCommand(HELP_COMMAND, args, consoleOutput, (parsed) => {
    const [name] = parsed.positionals;
    if (name === undefined) {
      console.log(formatCommandList(COMMAND_TABLES));
      return 0;
    }
    const table = tableOf(name);
    if (!table) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
    console.log(formatHelp(table));
    return 0;
  });
}

/** `dhcpkit version`. */
function versionCommand(args: string[]): Promise<number> {
  return runCommand(VERSION_COMMAND, args, consoleOutput, async () => {
    const { VERSION } = await import("../src/version.ts");
    console.log(`dhcpkit ${VERSION}`);
    return 0;
  });
}

/** Run the program with `args` (without the program name); returns the exit status. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined) {
    console.error(formatCommandList(COMMAND_TABLES));
    return 2;
  }
  if (name === "-h" || name === "--help") return await COMMANDS.help([]);
  if (name === "--version") return await COMMANDS.version([]);
  const run = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  const err = (line: string) => console.error(line);
  if (!run) {
    return reportError("", new UsageError(`unknown command ${JSON.stringify(name)}`), err);
  }
  try {
    return await run(rest);
  } catch (e) {
    // A command reports its own errors; this is the last resort for anything that escaped.
    return reportError(name, e, err);
  }
}

if (import.meta.main) {
  const name = Deno.args[0] ?? "";
  // The server keeps running past such errors (serve.ts counts them); any other command stops
  // with one line instead of Deno's stack trace.
  if (name !== "serve") {
    globalThis.addEventListener("unhandledrejection", (event) => {
      event.preventDefault();
      Deno.exit(reportError(name, event.reason, (line) => console.error(line)));
    });
  }
  const code = await main(Deno.args);
  // A server that replaced a hung worker may still have its thread spinning (Deno cannot stop a
  // busy loop): end the process explicitly rather than wait for that thread.
  if (name === "serve") Deno.exit(code);
  Deno.exitCode = code;
}
