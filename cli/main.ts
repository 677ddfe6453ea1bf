/**
 * The `dhcpkit` program: one entry point, subcommands dispatched from here.
 *
 * Subcommand modules are loaded lazily so that, for example, `dhcpkit decode` does not pay for
 * the server's start-up.
 * @module
 */

/** A subcommand: its one-line summary and its runner (returns the exit status). */
interface Command {
  summary: string;
  run: (args: string[]) => Promise<number>;
}

/** Every subcommand of the program. */
export const COMMANDS: Record<string, Command> = {
  serve: {
    summary: "run the DHCPv6 server",
    run: async (args) => (await import("./serve.ts")).serveCommand(args),
  },
  ctl: {
    summary: "send a command to a running server's control socket",
    run: async (args) => (await import("./ctl.ts")).ctlCommand(args),
  },
  "check-config": {
    summary: "parse and validate a configuration file",
    run: async (args) => (await import("./check_config.ts")).checkConfigCommand(args),
  },
  "config-docs": {
    summary: "write the configuration reference generated from the schema",
    run: async (args) => (await import("./config_docs.ts")).configDocsCommand(args),
  },
  "build-sqlite": {
    summary: "convert an assignment CSV file into a database for <static-sqlite>",
    run: async (args) => (await import("./build_sqlite.ts")).buildSqliteCommand(args),
  },
  decode: {
    summary: "decode DHCPv6 messages from hex or a pcap file to JSON lines",
    run: async (args) => (await import("./decode.ts")).decodeCommand(args),
  },
  leasequery: {
    summary: "send a (bulk) leasequery to a server and print the answers",
    run: async (args) => (await import("./leasequery.ts")).leasequeryCommand(args),
  },
  query: {
    summary: "send one request to a server and print the reply (for testing)",
    run: async (args) => (await import("./query.ts")).queryCommand(args),
  },
};

/** Print the usage text. */
function usage(): string {
  const lines = ["usage: dhcpkit COMMAND [ARGS...]", "", "commands:"];
  for (const [name, cmd] of Object.entries(COMMANDS)) {
    lines.push(`  ${name.padEnd(14)} ${cmd.summary}`);
  }
  lines.push("", "Run `dhcpkit COMMAND --help` for the options of a command.");
  return lines.join("\n");
}

/** Run the program with `args` (without the program name); returns the exit status. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (!name || name === "-h" || name === "--help" || name === "help") {
    console.log(usage());
    return name ? 0 : 2;
  }
  if (name === "--version" || name === "version") {
    const { VERSION } = await import("../src/version.ts");
    console.log(`dhcpkit ${VERSION}`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`dhcpkit: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  return await command.run(rest);
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
}
