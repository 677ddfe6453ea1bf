/**
 * `dhcpkit ctl [-v...] [-c SOCKET] COMMAND`: send one command to a running server's control
 * socket and print the reply (the equivalent of the original `ipv6-dhcpctl`).
 * @module
 */

import { consoleUsage, parseCommandArgs } from "./args.ts";
import { getLogger } from "@logtape/logtape";
import { levelForVerbosity, setupConsoleLogging } from "../src/server/logging.ts";

const log = getLogger(["dhcpkit", "ctl"]);

/** Where the server puts its control socket unless configured otherwise. */
export const DEFAULT_CONTROL_SOCKET = "/var/run/ipv6-dhcpd.sock";

/** Seconds to wait for each line from the server. */
export const CTL_TIMEOUT_SECONDS = 10;

const USAGE = `usage: dhcpkit ctl [-v...] [-c SOCKET] COMMAND

Send COMMAND to a running dhcpkit server and print its reply. \`help\` lists the commands the
server understands (help, stats, stats-json, reload, shutdown, quit).

options:
  -c, --control-socket PATH  the server's control socket (default ${DEFAULT_CONTROL_SOCKET})
  -v, --verbose              more log output on stderr (repeat up to 5 times)
  -h, --help                 show this help

Exit status: 0 when the server accepted the command, 1 otherwise.`;

/** A failure talking to the server, with a one-line reason. */
export class CtlError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "CtlError";
  }
}

/** Reads lines from a connection, each within a timeout. */
class LineReader {
  #buffer = "";
  #decoder = new TextDecoder();
  #chunk = new Uint8Array(65536);

  constructor(readonly conn: Deno.Conn, readonly timeoutMs: number) {}

  /** The next line without its newline, or null at the end of the stream. */
  async next(): Promise<string | null> {
    while (true) {
      const nl = this.#buffer.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buffer.slice(0, nl).replace(/\r$/, "");
        this.#buffer = this.#buffer.slice(nl + 1);
        return line;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const n = await Promise.race([
        this.conn.read(this.#chunk).catch(() => null),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new CtlError(`no answer from the server within ${this.timeoutMs / 1000} seconds`),
              ),
            this.timeoutMs,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      if (n === null) {
        if (this.#buffer) {
          const rest = this.#buffer;
          this.#buffer = "";
          return rest;
        }
        return null;
      }
      this.#buffer += this.#decoder.decode(this.#chunk.subarray(0, n), { stream: true });
    }
  }
}

async function connect(path: string): Promise<Deno.UnixConn> {
  try {
    return await Deno.connect({ transport: "unix", path });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new CtlError(`no server: control socket ${path} does not exist`);
    }
    if (e instanceof Deno.errors.ConnectionRefused) {
      throw new CtlError(`no server is listening on control socket ${path}`);
    }
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new CtlError(`no permission to use control socket ${path}`);
    }
    throw new CtlError(`cannot connect to control socket ${path}: ${(e as Error).message}`);
  }
}

/** The server's answer to one command. */
export interface CtlResult {
  /** Output lines before the terminator. */
  output: string[];
  /** Text after `OK: `, if any. */
  feedback?: string;
}

/**
 * Send `command` to the server at `path` and collect the reply; throws {@link CtlError} when
 * there is no (DHCPKit) server or it does not understand the command.
 */
export async function sendControlCommand(
  path: string,
  command: string,
  timeoutSeconds = CTL_TIMEOUT_SECONDS,
): Promise<CtlResult> {
  const conn = await connect(path);
  try {
    const reader = new LineReader(conn, timeoutSeconds * 1000);
    const greeting = await reader.next();
    if (greeting === null) throw new CtlError(`the server at ${path} closed the connection`);
    if (!greeting.startsWith("DHCPKit ")) {
      throw new CtlError(
        `${path} is not a DHCPKit server (it said ${JSON.stringify(greeting.slice(0, 80))})`,
      );
    }
    log.debug("Connected to {greeting}", { greeting });
    await conn.write(new TextEncoder().encode(command + "\n")).catch((e) => {
      throw new CtlError(`cannot send the command: ${(e as Error).message}`);
    });
    const output: string[] = [];
    while (true) {
      const line = await reader.next();
      if (line === null) {
        throw new CtlError("the server closed the connection before answering");
      }
      if (line === "OK") return { output };
      if (line.startsWith("OK: ")) return { output, feedback: line.slice(4) };
      if (line === "UNKNOWN") {
        throw new CtlError(`the server doesn't understand the command ${JSON.stringify(command)}`);
      }
      output.push(line);
    }
  } finally {
    try {
      await conn.write(new TextEncoder().encode("quit\n"));
    } catch {
      // best effort: the server may have closed the connection (shutdown)
    }
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

/** Run the `ctl` subcommand; returns the exit status. */
export async function ctlCommand(args: string[]): Promise<number> {
  const usage = consoleUsage("dhcpkit ctl", USAGE);
  const parsed = parseCommandArgs({
    args,
    allowPositionals: true,
    options: {
      verbose: { type: "boolean", short: "v", multiple: true },
      "control-socket": { type: "string", short: "c", default: DEFAULT_CONTROL_SOCKET },
      help: { type: "boolean", short: "h" },
    },
  }, usage);
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  if (positionals.length === 0) {
    usage.error("a COMMAND is needed");
    return usage.errorStatus;
  }
  const verbosity = values.verbose?.length ?? 0;
  if (verbosity > 0) await setupConsoleLogging(levelForVerbosity(verbosity));
  try {
    const result = await sendControlCommand(values["control-socket"]!, positionals.join(" "));
    for (const line of result.output) console.log(line);
    if (result.feedback) console.log(result.feedback);
    return 0;
  } catch (e) {
    console.error(
      `dhcpkit ctl: error: ${e instanceof CtlError ? e.message : (e as Error)?.message ?? e}`,
    );
    return 1;
  }
}
