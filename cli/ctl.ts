/**
 * `dhcpkit ctl [-v...] [-c SOCKET] [--timeout SECONDS] COMMAND`: send one command to a running
 * server's control socket and print the reply (the equivalent of the original `ipv6-dhcpctl`).
 *
 * The reply is zero or more lines and a terminator: `OK` or `OK: text` (done: the lines and the
 * text on stdout, exit 0), `FAILED` or `FAILED: reason` (refused: the lines, e.g. a refused
 * configuration's `FILE:LINE: message` errors, and the reason on stderr, exit 1) or `UNKNOWN`
 * (exit 1). A reload answers when it is over, which can take long (a big CSV), hence the longer
 * default timeout for `reload`.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { CommandError, UsageError } from "./errors.ts";
import { formatExplain } from "./explain_text.ts";
import type { ParsedArgs } from "./usage/parse.ts";
import type { ExplainTrace } from "../src/pipeline/mod.ts";
import { consoleOutput, runCommand } from "./run.ts";
import { CTL, DEFAULT_CONTROL_SOCKET } from "./usage/commands.ts";
import { levelForVerbosity, setupConsoleLogging } from "../src/server/logging.ts";

export { DEFAULT_CONTROL_SOCKET };

const log = getLogger(["dhcpkit", "ctl"]);

/** Seconds to wait for each line from the server. */
export const CTL_TIMEOUT_SECONDS = 10;

/** Seconds to wait for the outcome of a reload. */
export const RELOAD_TIMEOUT_SECONDS = 120;

/** The default timeout for `command`: longer for a reload, which answers when it is over. */
export function defaultTimeout(command: string): number {
  return command.trim().toLowerCase() === "reload" ? RELOAD_TIMEOUT_SECONDS : CTL_TIMEOUT_SECONDS;
}

/** A failure talking to the server, with a one-line reason. */
export class CtlError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "CtlError";
  }
}

/** The server understood the command but could not carry it out (`FAILED`). */
export class CtlRefused extends CtlError {
  /** Create the error from the lines before the terminator and its reason (may be empty). */
  constructor(readonly output: string[], readonly reason: string) {
    super(reason || "the server could not carry out the command");
    this.name = "CtlRefused";
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
    if (e instanceof Deno.errors.NotCapable) throw e;
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
 * Send `command` to the server at `path` and collect the reply; throws {@link CtlRefused} when
 * the server answers `FAILED`, and {@link CtlError} when there is no (DHCPKit) server or it does
 * not understand the command.
 */
export async function sendControlCommand(
  path: string,
  command: string,
  timeoutSeconds: number = defaultTimeout(command),
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
      if (line.startsWith("OK:")) return { output, feedback: line.slice(3).trim() };
      if (line === "FAILED" || line.startsWith("FAILED:")) {
        throw new CtlRefused(output, line.slice(7).trim());
      }
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
export function ctlCommand(args: string[]): Promise<number> {
  return runCommand(CTL, args, consoleOutput, async (parsed) => {
    const explaining = parsed.positionals[0]?.toLowerCase() === "explain";
    const command = explaining ? explainCommand(parsed) : plainCommand(parsed);
    const timeout = parsed.given("timeout") ? parsed.seconds("timeout") : defaultTimeout(command);
    const verbosity = parsed.count("verbosity");
    if (verbosity > 0) await setupConsoleLogging(levelForVerbosity(verbosity));
    const socket = parsed.string("control-socket")!;
    try {
      const result = await sendControlCommand(socket, command, timeout);
      if (explaining) {
        printExplanation(result.output, parsed.flag("json"));
        return 0;
      }
      for (const line of result.output) console.log(line);
      if (result.feedback) console.log(result.feedback);
      return 0;
    } catch (e) {
      if (e instanceof CtlRefused) {
        for (const line of e.output) console.error(line);
        throw new CommandError(`${explaining ? "explain" : command}: ${e.message}`);
      }
      if (e instanceof CtlError) throw new CommandError(e.message);
      throw e;
    }
  });
}

/** The explain options and the JSON field each goes to. */
const EXPLAIN_FIELDS: ReadonlyArray<[string, string]> = [
  ["duid", "duid"],
  ["iaid", "iaid"],
  ["interface-id", "interfaceId"],
  ["remote-id", "remoteId"],
  ["subscriber-id", "subscriberId"],
  ["link-address", "linkAddress"],
  ["interface", "interface"],
  ["hex", "hex"],
];

/** A command other than explain: explain's options are a mistake. */
function plainCommand(parsed: ParsedArgs): string {
  for (const [option] of [...EXPLAIN_FIELDS, ["json"]]) {
    if (parsed.given(option)) {
      throw new UsageError(`--${option} is only for ctl explain`);
    }
  }
  if (parsed.positionals.length > 1) {
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[1])}`);
  }
  return parsed.positionals.join(" ");
}

/** `explain {JSON}` from the explain options. */
function explainCommand(parsed: ParsedArgs): string {
  const request: Record<string, string> = {};
  const type = parsed.positionals[1];
  if (type !== undefined) request.type = type;
  for (const [option, field] of EXPLAIN_FIELDS) {
    const value = parsed.string(option);
    if (value !== undefined) request[field] = value;
  }
  return `explain ${JSON.stringify(request)}`;
}

/** Print the server's explanation: as it came (`--json`) or as text. */
function printExplanation(output: string[], json: boolean): void {
  const line = output.join("");
  if (json) {
    console.log(line);
    return;
  }
  let trace: ExplainTrace;
  try {
    trace = JSON.parse(line);
  } catch {
    throw new CommandError("explain: the server's answer is not JSON (is it an older version?)");
  }
  for (const l of formatExplain(trace)) console.log(l);
}
