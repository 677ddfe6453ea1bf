/**
 * The usage tables of every subcommand, in the order `dhcpkit help` lists them. `--help`, the man
 * pages (`dhcpkit man`), bash completion (`dhcpkit completion bash`) and each command's argument
 * parser are all made from these tables. Pure data: no command module is imported here (the request
 * types come from the protocol-level client message builder).
 * @module
 */

import { CLIENT_REQUEST_TYPES } from "../../src/tools/client_messages.ts";
import type { OptionEntry, UsageTable } from "./table.ts";

/** Where `dhcpkit ctl` looks for the server's control socket unless told otherwise. */
export const DEFAULT_CONTROL_SOCKET = "/run/dhcpkit/dhcpkit.sock";

/** The commands the server's control socket understands. */
export const CONTROL_COMMANDS = [
  "help",
  "stats",
  "stats-json",
  "reload",
  "reopen-logs",
  "explain",
  "shutdown",
] as const;

/** The request types `dhcpkit query` sends. */
export const QUERY_TYPES = CLIENT_REQUEST_TYPES;

/** The queries `dhcpkit leasequery` sends. */
export const LEASEQUERY_TYPES = [
  "client-address",
  "client-id",
  "relay-id",
  "link-address",
  "remote-id",
] as const;

/** `-v, --verbosity` (also `--verbose`), as the original programs had it. */
function verbosity(help: string): OptionEntry {
  return { long: "verbosity", short: "v", repeat: true, aliases: ["verbose"], help };
}

const LOG_LEVELS = "more log output on stderr; repeat for more (-v warnings, -vv info, -vvv " +
  "debug, -vvvv handler decisions, -vvvvv packets)";

/** `dhcpkit serve`. */
export const SERVE: UsageTable = {
  name: "serve",
  section: 8,
  summary: "run the DHCPv6 server",
  synopsis: ["[-v...] [-p PIDFILE] [-c SOCKET] CONFIG", "--demo [-v...]"],
  description: [
    "Run the DHCPv6 server with the configuration in CONFIG. The server binds its listeners " +
    "and opens its files as root, then drops to the configured user. It runs until SIGTERM, " +
    "SIGINT or `dhcpkit ctl shutdown`; SIGHUP and `dhcpkit ctl reload` read the configuration " +
    "again and keep the running one when the new one is refused.",
    "With --demo it runs an embedded demonstration configuration on [::1]:5547 instead, " +
    "without root; `dhcpkit query --port 5547` asks it something.",
  ],
  options: [
    verbosity(LOG_LEVELS + "; overrides the configured console level"),
    {
      long: "pidfile",
      short: "p",
      arg: "PIDFILE",
      help: "write the process id to this file (overrides pid-file)",
      complete: "file",
    },
    {
      long: "control-socket",
      short: "c",
      arg: "SOCKET",
      help: "create the control socket here (overrides control-socket)",
      complete: "file",
    },
    { long: "demo", help: "run the embedded demo configuration (no root needed)" },
  ],
  positionals: [{
    name: "CONFIG",
    help: "the configuration file",
    optional: true,
    complete: "file",
  }],
  exitStatus: [
    [0, "the server stopped as asked"],
    [1, "the server could not start (the reason is printed) or stopped after too many errors"],
    [2, "wrong arguments"],
  ],
  examples: [
    ["dhcpkit serve -vv /etc/dhcpkit/dhcpkit.conf", "run in the foreground with info logging"],
  ],
};

/** `dhcpkit ctl`. */
export const CTL: UsageTable = {
  name: "ctl",
  section: 8,
  summary: "send a command to a running server's control socket",
  synopsis: [
    "[-v...] [-c SOCKET] [--timeout SECONDS] COMMAND",
    "[-c SOCKET] explain [EXPLAIN-OPTIONS] [--json] [TYPE]",
  ],
  description: [
    "Send COMMAND to a running dhcpkit server through its control socket and print the answer " +
    "(the counterpart of the original ipv6-dhcpctl). The commands are: help (the commands the " +
    "server understands), stats, stats-json, reload (read the configuration again; the answer " +
    "comes when the reload is over), reopen-logs (reopen the log files, after logrotate " +
    "moved them), explain and shutdown.",
    "explain asks the server how its running pipeline answers a request, without side " +
    "effects (no lease recorded, nothing counted, no rate-limit token taken; assignment " +
    "lookups are real): which filters matched and what they compared, which handlers ran in " +
    "which phase and what each changed, which assignment source was asked and what it found " +
    "(a CSV row as FILE:LINE, the key of a database row, a RADIUS answer), what each dynamic " +
    "pool's lease store answered for each IA (the client's lease, the address or prefix it " +
    "would be offered, an exhausted pool, a static assignment that wins; a Request is asked " +
    "as an offer, nothing is written or reserved), and the reply decoded; for a request the " +
    "server would not answer, why. TYPE is solicit (the default), request, renew, rebind, " +
    "release, confirm or information-request, from the client --duid with IAs of --iaid; " +
    "--interface-id, " +
    "--remote-id, --subscriber-id and --link-address put it in a relay layer as the access " +
    "network's relay would. --hex explains a captured message (relayed or not) instead. " +
    "--interface picks the listener it arrives on.",
    "When the server refuses a command (a reload of a configuration with errors), its reasons " +
    "are printed on stderr, configuration errors as FILE:LINE: message, and the exit status " +
    "is 1, so `systemctl reload` fails too.",
  ],
  options: [
    {
      long: "control-socket",
      short: "c",
      arg: "SOCKET",
      default: DEFAULT_CONTROL_SOCKET,
      help: "the server's control socket",
      complete: "file",
    },
    {
      long: "timeout",
      arg: "SECONDS",
      defaultText: "120 for reload, 10 otherwise",
      help: "how long to wait for the answer",
    },
    verbosity("more log output on stderr; repeat for more"),
    {
      long: "duid",
      arg: "HEX",
      defaultText: "00030001020000000001, a DUID-LL of 02:00:00:00:00:01",
      help: "explain: the client DUID",
    },
    {
      long: "iaid",
      arg: "N",
      defaultText: "1",
      help: "explain: the IAID of the request's IA_NA and IA_PD (a pool lease is per IAID)",
    },
    {
      long: "interface-id",
      arg: "TEXT|0xHEX",
      help: "explain: Interface-ID option in the relay layer",
    },
    {
      long: "remote-id",
      arg: "ENT:TEXT|ENT:0xHEX",
      help: "explain: Remote-ID option in the relay layer (ENT = enterprise number)",
    },
    {
      long: "subscriber-id",
      arg: "TEXT|0xHEX",
      help: "explain: Subscriber-ID option in the relay layer",
    },
    { long: "link-address", arg: "ADDR", help: "explain: link address of the relay layer" },
    {
      long: "interface",
      arg: "NAME",
      defaultText: "the first listener that fits",
      help: "explain: the server interface (listener) the request arrives on",
    },
    { long: "hex", arg: "MESSAGE", help: "explain: a captured message as hex instead" },
    { long: "json", help: "explain: print the explanation as one JSON line" },
  ],
  positionals: [
    { name: "COMMAND", help: "the command to send", complete: CONTROL_COMMANDS },
    {
      name: "TYPE",
      help: "explain: the request type (default solicit)",
      optional: true,
      complete: QUERY_TYPES,
    },
  ],
  exitStatus: [
    [0, "the server carried out the command"],
    [1, "no server answered, it refused the command, or it does not know it"],
    [2, "wrong arguments"],
  ],
  examples: [
    ["dhcpkit ctl reload", "reload the configuration and wait for the outcome"],
    ["dhcpkit ctl -c /var/run/ipv6-dhcpd.sock stats", "statistics from another socket"],
    [
      "dhcpkit ctl explain --remote-id 9:modem-17 --link-address 2001:db8:1::1",
      "what a relayed customer gets, and why",
    ],
  ],
};

/** `dhcpkit check-config`. */
export const CHECK_CONFIG: UsageTable = {
  name: "check-config",
  section: 1,
  summary: "parse and validate a configuration file",
  description: [
    "Read CONFIG and report every problem as FILE:LINE: message, without binding anything or " +
    "dropping privileges. The rows of the static CSV files the configuration names are " +
    "checked too (as the server reads them): rows the server would skip are warnings, a file " +
    "the server cannot use is an error.",
  ],
  options: [
    {
      long: "no-host-checks",
      help: "skip checks against this machine (interfaces, configured addresses, users and " +
        "groups, existence of files)",
    },
    { long: "strict", help: "treat warnings (such as skipped CSV rows) as errors" },
  ],
  positionals: [{ name: "CONFIG", help: "the configuration file", complete: "file" }],
  exitStatus: [
    [0, "the configuration is valid (warnings may be printed)"],
    [1, "errors were found (with --strict: also warnings)"],
    [2, "wrong arguments"],
  ],
};

/** `dhcpkit config-docs`. */
export const CONFIG_DOCS: UsageTable = {
  name: "config-docs",
  section: 1,
  summary: "write the configuration reference generated from the schema",
  description: [
    "Write the configuration reference (Markdown, one page per section type and index.md) to " +
    "DIR. The folder gets a manifest (.dhcpkit-config-docs) of the files written; a later run " +
    "removes only pages listed there that are no longer generated, never any other file. A " +
    "folder that holds files but no manifest is refused.",
  ],
  options: [{
    long: "output",
    short: "o",
    arg: "DIR",
    defaultText: "docs/config of the checkout dhcpkit runs from; needed elsewhere",
    help: "the folder to write (relative to the current folder)",
    complete: "dir",
  }],
  positionals: [],
  exitStatus: [
    [0, "the pages were written"],
    [1, "the folder cannot be written or is not ours"],
    [2, "wrong arguments"],
  ],
};

/** `dhcpkit build-sqlite`. */
export const BUILD_SQLITE: UsageTable = {
  name: "build-sqlite",
  section: 1,
  summary: "convert an assignment CSV file into a database for <static-sqlite>",
  synopsis: ["[-f] [-v] SOURCE DEST"],
  description: [
    "Import the assignment CSV file SOURCE into the SQLite database DEST (created when " +
    "missing) for <static-sqlite>. Rows are written in small batches so that a server using " +
    "DEST keeps answering meanwhile; a run that finds another one writing newer data stops.",
    "When more than 30% of the rows in DEST are no longer in SOURCE, they are kept (a " +
    "truncated SOURCE must not empty the database) unless --force is given.",
  ],
  options: [
    {
      long: "force",
      short: "f",
      help: "delete ids no longer in SOURCE even when that removes more than 30% of DEST",
    },
    verbosity(
      "more output; repeat for more (errors are always shown; -v adds warnings such as skipped " +
        "rows, -vv progress information, -vvv debugging)",
    ),
  ],
  positionals: [
    { name: "SOURCE", help: "the assignment CSV file", complete: "file" },
    { name: "DEST", help: "the SQLite database to write", complete: "file" },
  ],
  exitStatus: [
    [0, "done"],
    [1, "error (including wrong arguments)"],
    [2, "rows imported, but stale rows kept because of the 30% rule (see --force)"],
  ],
};

/** `dhcpkit build-postgresql`. */
export const BUILD_POSTGRESQL: UsageTable = {
  name: "build-postgresql",
  section: 1,
  summary: "load an assignment CSV file into the PostgreSQL table of <static-postgresql>",
  synopsis: ["[-f] [-v] [-p FILE] [-t TABLE] SOURCE URL"],
  description: [
    "Load the assignment CSV file SOURCE into the table (default assignments) of the " +
    "PostgreSQL database URL, a libpq URL such as postgresql://USER@/DB?host=/run/postgresql " +
    "or postgresql://USER@HOST:PORT/DB, without a password. The table is created when " +
    "missing. Invalid rows are reported with their line numbers and skipped.",
    "All changes are made in one transaction: servers reading the table see the old rows " +
    "until it commits and the new ones after, never a half-loaded table. A second run on the " +
    "same table while one is loading stops at once and changes nothing.",
    "When more than 30% of the rows would be deleted because their ids are no longer in " +
    "SOURCE, they are kept (a truncated SOURCE must not empty the table) unless --force is " +
    "given.",
  ],
  options: [
    {
      long: "force",
      short: "f",
      help: "delete ids no longer in SOURCE even when that removes more than 30% of the table",
    },
    {
      long: "password-file",
      short: "p",
      arg: "FILE",
      help: "read the password of the URL's user from the first line of FILE",
      complete: "file",
    },
    {
      long: "table",
      short: "t",
      arg: "TABLE",
      help: "the table to load (name or schema.name; default assignments)",
    },
    verbosity(
      "more output; repeat for more (errors are always shown; -v adds warnings such as skipped " +
        "rows, -vv progress information, -vvv debugging)",
    ),
  ],
  positionals: [
    { name: "SOURCE", help: "the assignment CSV file", complete: "file" },
    { name: "URL", help: "the database, e.g. postgresql://dhcpkit@/dhcp?host=/run/postgresql" },
  ],
  exitStatus: [
    [0, "done"],
    [1, "error (including wrong arguments), or another run is loading the same table"],
    [2, "rows loaded, but stale rows kept because of the 30% rule (see --force)"],
  ],
};

/** `dhcpkit leases`. */
export const LEASES: UsageTable = {
  name: "leases",
  section: 1,
  summary: "list, search and delete the leases of the dynamic pools",
  synopsis: [
    "--store FILE|URL [--json] [FILTER]",
    "--store FILE|URL delete FILTER",
  ],
  description: [
    "Read the lease store of <address-pool> and <prefix-pool>: an SQLite file " +
    "(<lease-store-sqlite>, or leases.sqlite in the server's state-directory) or a PostgreSQL " +
    "URL (<lease-store-postgresql>, with --password-file). Without a filter every lease is " +
    "listed; a FILTER (--duid HEX, --address ADDR or --prefix PREFIX) selects the leases of a " +
    "client, of an address, or the delegated prefixes overlapping a prefix. One line per lease, or one JSON object per " +
    "line with --json (duid, iaid, type na or pd, address or prefix, pool, state, " +
    "valid_until, preferred_until, updated).",
    "delete removes the selected leases, which makes their addresses and prefixes free at " +
    "once; it needs a filter. A client that still uses a deleted lease keeps using it until " +
    "it renews, and meanwhile another client may get it: delete leases of clients that are " +
    "gone. The store is opened read-write only for delete, and never created.",
  ],
  options: [
    {
      long: "store",
      short: "s",
      arg: "FILE|URL",
      help: "the lease store: an SQLite file or a postgresql:// URL",
      complete: "file",
    },
    {
      long: "password-file",
      short: "p",
      arg: "FILE",
      help: "read the password of the URL's user from the first line of FILE",
      complete: "file",
    },
    { long: "json", short: "j", help: "one JSON object per line" },
    { long: "duid", short: "d", arg: "HEX", help: "the leases of the client with this DUID" },
    { long: "address", short: "a", arg: "ADDR", help: "the lease of this address" },
    {
      long: "prefix",
      short: "P",
      arg: "PREFIX",
      help: "the delegated prefixes overlapping PREFIX (addr/len)",
    },
  ],
  positionals: [
    {
      name: "ACTION",
      help: "delete to delete the selected leases",
      optional: true,
      complete: ["delete"],
    },
  ],
  exitStatus: [
    [0, "leases were listed (or none matched) or deleted"],
    [1, "the store cannot be read or written"],
    [2, "wrong arguments"],
  ],
  examples: [
    ["dhcpkit leases -s /var/lib/dhcpkit/leases.sqlite", "list every lease"],
    [
      "dhcpkit leases -s /var/lib/dhcpkit/leases.sqlite --json -d 0003000102000000",
      "the leases of one client as JSON lines",
    ],
    [
      "dhcpkit leases -s /var/lib/dhcpkit/leases.sqlite delete -a 2001:db8:1:2::1:7",
      "free one address",
    ],
  ],
};

/** `dhcpkit decode`. */
export const DECODE: UsageTable = {
  name: "decode",
  section: 1,
  summary: "decode DHCPv6 messages from hex or a pcap file to JSON lines",
  synopsis: ["[--validate] [HEX... | -]", "[--validate] --pcap FILE [--pcap FILE...]"],
  description: [
    "Print each DHCPv6 message as one JSON object per line: its type, transaction id or relay " +
    "fields, and every option named and decoded.",
    "Each malformed input is reported on stderr in one line with its number, the byte offset " +
    "and the reason; the other inputs are still decoded.",
  ],
  options: [
    {
      long: "pcap",
      arg: "FILE",
      repeat: true,
      help: "decode UDP port 546/547 traffic over IPv6 in a pcap or pcapng file ('-' reads " +
        "the capture from stdin); adds frame, time, src, dst, sport and dport",
      complete: "file",
    },
    { long: "validate", help: "also check each message against the protocol rules" },
  ],
  positionals: [{
    name: "HEX",
    help: "a message in hex (white space, ':' and a 0x prefix are ignored); '-' reads hex " +
      "messages from stdin, one per line ('#' starts a comment)",
    optional: true,
    repeat: true,
  }],
  exitStatus: [
    [0, "every input decoded (and validated)"],
    [1, "an input was malformed"],
    [2, "wrong arguments"],
  ],
  examples: [
    ["dhcpkit decode 0b1234560008000200000006000400170018", "decode one message"],
    ["dhcpkit decode --validate --pcap dhcp.pcap", "decode and check a capture"],
  ],
};

/** `dhcpkit leasequery`. */
export const LEASEQUERY: UsageTable = {
  name: "leasequery",
  section: 1,
  summary: "send a (bulk) leasequery to a server and print the answers",
  synopsis: ["[OPTIONS] QUERY [ARGS...]"],
  description: [
    "Send one LEASEQUERY (RFC 5007) or, with --tcp, a bulk leasequery (RFC 5460) and print " +
    "each answer as one JSON line. Over UDP it listens on port 546 (root is needed).",
    "Queries: client-address ADDRESS (the client holding ADDRESS or a prefix containing it), " +
    "client-id DUID, relay-id DUID (TCP only), link-address (the clients on --link-address; " +
    "TCP only), remote-id ENTERPRISE REMOTE-ID-HEX (TCP only).",
    "A DUID is the hex of the whole DUID, or enterprise:NUMBER:TEXT|0xHEX, " +
    "linklayer:HWTYPE:HEX or linklayer-time:HWTYPE:TIME:HEX.",
  ],
  options: [
    { long: "server", short: "s", arg: "ADDR", default: "ff02::1:2", help: "server address" },
    { long: "port", short: "p", arg: "N", default: "547", help: "server port" },
    {
      long: "interface",
      short: "i",
      arg: "NAME",
      defaultText: "the first interface with a link-local address",
      help: "interface for link-local and multicast server addresses",
    },
    { long: "tcp", short: "t", help: "bulk leasequery over TCP (needs a unicast --server)" },
    {
      long: "link-address",
      short: "L",
      arg: "ADDR",
      default: "::",
      help: "link address of the query",
    },
    { long: "relay-data", short: "R", help: "ask for the relay data of each client" },
    {
      long: "timeout",
      short: "w",
      arg: "SECONDS",
      default: "3",
      help: "how long to wait for (more) answers",
    },
    verbosity("also print the query sent (JSON) on stderr"),
  ],
  positionals: [
    { name: "QUERY", help: "what to ask (see above)", complete: LEASEQUERY_TYPES },
    { name: "ARGS", help: "the query's arguments", optional: true, repeat: true },
  ],
  exitStatus: [
    [0, "answers were received"],
    [1, "no (complete) answer, or the server could not be reached"],
    [2, "wrong arguments"],
  ],
};

/** `dhcpkit query`. */
export const QUERY: UsageTable = {
  name: "query",
  section: 1,
  summary: "send one request to a server as a relay would and print the reply",
  synopsis: ["[OPTIONS] [TYPE]"],
  description: [
    "Send one request to a DHCPv6 server the way a relay agent does (a Relay-Forward with a " +
    "Relay Source Port option), so it needs no root and any listener answers, and print the " +
    "reply: its type, each IA with its addresses, prefixes and lifetimes, status codes with " +
    "their messages, and the other options decoded. --json prints the whole reply as one JSON " +
    "line instead.",
    "TYPE is solicit, request, renew, rebind, release, confirm or information-request (the " +
    "default). Request, renew and release need the server's DUID: give it with --server-duid, " +
    "or query first sends a Solicit and takes the DUID from the Advertise. The IAs carry the " +
    "--address and --prefix values; without any, request, renew, rebind, release and confirm " +
    "use what that Solicit was offered.",
    "--interface-id, --remote-id and --subscriber-id add those options to the relay layer, as " +
    "the access network's relay would; static assignments keyed by them are found that way.",
  ],
  options: [
    { long: "server", arg: "ADDR", default: "::1", help: "server address or host name" },
    { long: "port", arg: "N", default: "547", help: "server port" },
    {
      long: "duid",
      arg: "HEX",
      default: "00030001020000000001",
      defaultText: "00030001020000000001, a DUID-LL of 02:00:00:00:00:01",
      help: "client DUID, sent as given (any DUID type)",
    },
    {
      long: "server-duid",
      arg: "HEX",
      help: "the server's DUID for request, renew and release (else learned by a Solicit)",
    },
    {
      long: "address",
      arg: "ADDR",
      repeat: true,
      help: "an address for the IA_NA (a hint in a solicit)",
    },
    {
      long: "prefix",
      arg: "PREFIX/LEN",
      repeat: true,
      help: "a prefix for the IA_PD (a hint in a solicit)",
    },
    {
      long: "link-address",
      arg: "ADDR",
      default: "2001:db8::1",
      help: "link address the relay layer claims",
    },
    {
      long: "interface-id",
      arg: "TEXT|0xHEX",
      help: "Interface-ID option in the relay layer",
    },
    {
      long: "remote-id",
      arg: "ENT:TEXT|ENT:0xHEX",
      help: "Remote-ID option in the relay layer (ENT = enterprise number)",
    },
    {
      long: "subscriber-id",
      arg: "TEXT|0xHEX",
      help: "Subscriber-ID option in the relay layer",
    },
    {
      long: "oro",
      arg: "CODES",
      default: "23,24,31",
      help: "comma-separated option codes to request",
    },
    { long: "rapid-commit", help: "ask for rapid commit (solicit)" },
    {
      long: "timeout",
      arg: "SECONDS",
      default: "3",
      help: "how long to wait for each reply",
    },
    { long: "json", help: "print the reply as one JSON line (as dhcpkit decode does)" },
  ],
  positionals: [{
    name: "TYPE",
    help: "the request to send (default information-request)",
    optional: true,
    complete: QUERY_TYPES,
  }],
  exitStatus: [
    [0, "a reply arrived (whatever it says)"],
    [1, "no reply, or the server could not be reached"],
    [2, "wrong arguments"],
  ],
  examples: [
    ["dhcpkit query --port 5547 --rapid-commit solicit", "ask the demo server for an address"],
    [
      "dhcpkit query --duid 0001000100bc614e001122334455 request",
      "check what a DUID-LLT customer gets",
    ],
  ],
};

/** `dhcpkit man`. */
export const MAN: UsageTable = {
  name: "man",
  section: 1,
  summary: "print or write the man pages",
  synopsis: ["[COMMAND]", "-o DIR"],
  description: [
    "Print the man page of COMMAND (roff; without COMMAND the overview page dhcpkit(1)) on " +
    "stdout, e.g. for `dhcpkit man query | man -l -`. With -o, write every page to DIR " +
    "(dhcpkit.1, dhcpkit-serve.8, dhcpkit-query.1, ...) with a manifest of the files written, " +
    "under the same rules as config-docs: only files listed in the manifest are ever removed.",
  ],
  options: [{
    long: "output",
    short: "o",
    arg: "DIR",
    help: "write every page to this folder",
    complete: "dir",
  }],
  positionals: [{
    name: "COMMAND",
    help: "the command whose page to print",
    optional: true,
    complete: "command",
  }],
  exitStatus: [[0, "done"], [1, "the folder cannot be written or is not ours"], [
    2,
    "wrong arguments",
  ]],
};

/** `dhcpkit completion`. */
export const COMPLETION: UsageTable = {
  name: "completion",
  section: 1,
  summary: "print the shell completion script",
  description: [
    "Print the completion script for SHELL (only bash) on stdout. Install it as " +
    "/usr/share/bash-completion/completions/dhcpkit, or source it from ~/.bashrc.",
  ],
  options: [],
  positionals: [{ name: "SHELL", help: "the shell (bash)", complete: ["bash"] }],
  exitStatus: [[0, "done"], [2, "wrong arguments or an unknown shell"]],
};

/** `dhcpkit help`. */
export const HELP_COMMAND: UsageTable = {
  name: "help",
  section: 1,
  summary: "list the commands, or show the help of one",
  description: ["Without COMMAND list the commands; with it show the help of that command."],
  options: [],
  positionals: [{ name: "COMMAND", help: "a command", optional: true, complete: "command" }],
  exitStatus: [[0, "done"], [2, "unknown command"]],
  noManPage: true,
};

/** `dhcpkit version`. */
export const VERSION_COMMAND: UsageTable = {
  name: "version",
  section: 1,
  summary: "print the version",
  description: ["Print the version of dhcpkit (also `dhcpkit --version`)."],
  options: [],
  positionals: [],
  exitStatus: [[0, "done"]],
  noManPage: true,
};

/** Every command's table, in the order of the command list. */
export const COMMAND_TABLES: readonly UsageTable[] = [
  SERVE,
  CTL,
  CHECK_CONFIG,
  CONFIG_DOCS,
  BUILD_SQLITE,
  BUILD_POSTGRESQL,
  LEASES,
  DECODE,
  LEASEQUERY,
  QUERY,
  MAN,
  COMPLETION,
  HELP_COMMAND,
  VERSION_COMMAND,
];

/** The table of the command `name`, if there is one. */
export function tableOf(name: string): UsageTable | undefined {
  return COMMAND_TABLES.find((t) => t.name === name);
}
