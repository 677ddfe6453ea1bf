/**
 * Helpers for the operations tests: a server running as a subprocess on [::1] at a high port,
 * the `dhcpkit ctl` CLI, and relayed requests sent the way `dhcpkit query` sends them.
 * @module
 */

import { join } from "node:path";
import { sendControlCommand } from "../../cli/ctl.ts";
import {
  ClientIdOption,
  ElapsedTimeOption,
  IANAOption,
  IAPDOption,
  InformationRequestMessage,
  LinkLayerDuid,
  type Message,
  OptionRequestOption,
  parseMessage,
  RelayForwardMessage,
  RelayMessageOption,
  RelaySourcePortOption,
  RequestMessage,
  serializeMessage,
  ServerIdOption,
  SolicitMessage,
} from "../../src/protocol/mod.ts";
import { loopbackListenerConfig, serverIdConfig } from "../helpers/server.ts";

/** The repository root. */
export const ROOT: string = new URL("../../", import.meta.url).pathname;
/** The CLI entry point. */
export const MAIN: string = join(ROOT, "cli/main.ts");
/** Server DUID used in the test configurations. */
export const SERVER_MAC = "02:00:00:d4:c9:01";

export { freeUdpPort } from "../helpers/server.ts";

/** A free TCP port on ::1. */
export function freeTcpPort(): number {
  const l = Deno.listen({ hostname: "::1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * A folder the server can use after it drops root (world-writable, not sticky, so the service
 * user can remove its socket and PID file).
 */
export function makeWorkDir(): string {
  const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-ops-" });
  Deno.chmodSync(dir, 0o777);
  return dir;
}

/** Write a file readable by everyone (the server reads it again after dropping root). */
export function writeConfig(path: string, text: string): void {
  Deno.writeTextFileSync(path, text);
  Deno.chmodSync(path, 0o644);
}

/** The common head of a test configuration. */
export function baseConfig(port: number, extra = ""): string {
  return `workers 2
control-socket ctl.sock
pid-file server.pid

${serverIdConfig(SERVER_MAC)}
${loopbackListenerConfig(port)}${extra}`;
}

/** A server subprocess. */
export interface RunningServer {
  /** The process. */
  child: Deno.ChildProcess;
  /** The work folder. */
  dir: string;
  /** Control socket path. */
  socket: string;
  /** PID file path. */
  pidFile: string;
  /** Everything the server wrote on stderr so far. */
  stderr(): string;
  /** Resolves with the exit status. */
  status: Promise<Deno.CommandStatus>;
  /** Stop it (SIGTERM, then SIGKILL) and wait. */
  kill(): Promise<void>;
}

/** A process whose standard error is collected as it comes. */
export interface CollectedProcess {
  /** The process. */
  child: Deno.ChildProcess;
  /** Resolves with the exit status once stderr is read to its end. */
  status: Promise<Deno.CommandStatus>;
  /** Everything written on stderr so far. */
  stderr(): string;
  /** Whether it exited. */
  exited(): boolean;
}

/** Spawn `command` (stdin and stdout closed) and collect what it writes on stderr. */
export function spawnCollectingStderr(command: string, args: string[]): CollectedProcess {
  const child = new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let err = "";
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of child.stderr) err += decoder.decode(chunk, { stream: true });
  })();
  let done = false;
  const status = child.status.then(async (s) => {
    done = true;
    await reading;
    return s;
  });
  return { child, status, stderr: () => err, exited: () => done };
}

/** `dhcpkit serve DIR/server.conf` with every permission, its stderr collected. */
export function spawnServer(dir: string): ReturnType<typeof spawnCollectingStderr> {
  return spawnCollectingStderr(Deno.execPath(), [
    "run",
    "--unstable-net",
    "--allow-all",
    MAIN,
    "serve",
    join(dir, "server.conf"),
  ]);
}

/**
 * Run `dhcpkit serve` on `dir/server.conf` until it exits by itself (a refused start), killed
 * after `timeoutMs`; its exit code and standard error.
 */
export async function serveUntilExit(
  dir: string,
  timeoutMs = 30_000,
): Promise<{ code: number; stderr: string }> {
  const p = spawnServer(dir);
  const timer = setTimeout(() => p.child.kill("SIGKILL"), timeoutMs);
  const status = await p.status;
  clearTimeout(timer);
  return { code: status.code, stderr: p.stderr() };
}

/** Start `dhcpkit serve` on `dir/server.conf` and wait until its control socket answers. */
export async function startServer(dir: string, args: string[] = []): Promise<RunningServer> {
  const socket = join(dir, "ctl.sock");
  const pidFile = join(dir, "server.pid");
  const process = spawnCollectingStderr(Deno.execPath(), [
    "run",
    "--unstable-net",
    "--allow-all",
    MAIN,
    "serve",
    ...args,
    join(dir, "server.conf"),
  ]);
  const { child, status } = process;
  const server: RunningServer = {
    child,
    dir,
    socket,
    pidFile,
    stderr: process.stderr,
    status,
    async kill() {
      if (!process.exited()) {
        try {
          child.kill("SIGTERM");
        } catch {
          // gone
        }
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {
            // gone
          }
        }, 5000);
        await status;
        clearTimeout(timer);
      } else {
        await status;
      }
    },
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (process.exited()) throw new Error(`server exited during start-up:\n${process.stderr()}`);
    try {
      await sendControlCommand(socket, "help", 2);
      return server;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await server.kill();
  throw new Error(`server did not start:\n${process.stderr()}`);
}

/** Run `dhcpkit ctl` as a subprocess. */
export async function ctl(
  socket: string,
  ...command: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, "ctl", "-c", socket, ...command],
    stdin: "null",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/** The test client's DUID option. */
export function clientId(n = 1): ClientIdOption {
  return new ClientIdOption(
    new LinkLayerDuid(1, new Uint8Array([0x02, 0, 0, 0, 0, n])),
  );
}

/** An Information-Request. */
export function informationRequest(): Message {
  return new InformationRequestMessage(xid(), [
    clientId(),
    new OptionRequestOption([23]),
    new ElapsedTimeOption(0),
  ]);
}

/** A Solicit for an address and a prefix. */
export function solicit(): Message {
  return new SolicitMessage(xid(), [
    clientId(2),
    new ElapsedTimeOption(0),
    new IANAOption(1, 0, 0),
    new IAPDOption(2, 0, 0),
  ]);
}

/** A Request naming another server. */
export function requestForOtherServer(): Message {
  return new RequestMessage(xid(), [
    clientId(3),
    new ServerIdOption(new LinkLayerDuid(1, new Uint8Array([0x02, 0, 0, 0, 0, 0x99]))),
    new ElapsedTimeOption(0),
    new IANAOption(1, 0, 0),
  ]);
}

function xid(): number {
  return crypto.getRandomValues(new Uint8Array(3)).reduce((a, b) => a * 256 + b, 0);
}

/** A client socket that sends relayed requests (with Relay Source Port) and gets replies. */
export class RelayClient {
  readonly #socket = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });

  /** Create a client talking to [::1]:port. */
  constructor(readonly port: number) {}

  /** Send raw bytes. */
  async sendRaw(data: Uint8Array): Promise<void> {
    await this.#socket.send(data, { transport: "udp", hostname: "::1", port: this.port });
  }

  /** Send `message` relayed from `linkAddress`. */
  async send(message: Message, linkAddress = "2001:db8::1"): Promise<void> {
    const relay = new RelayForwardMessage(0, linkAddress, "fe80::1", [
      new RelaySourcePortOption(0),
      new RelayMessageOption(message),
    ]);
    await this.sendRaw(serializeMessage(relay));
  }

  /** The next reply's inner message, or undefined after `timeoutMs`. */
  async receive(timeoutMs = 3000): Promise<Message | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<undefined>((r) =>
      timer = setTimeout(() => r(undefined), timeoutMs)
    );
    try {
      const got = await Promise.race([this.#socket.receive().then(([d]) => d), timeout]);
      if (!got) return undefined;
      const relay = parseMessage(got);
      return (relay as RelayForwardMessage).getOption(RelayMessageOption)?.message ?? relay;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Send and wait for the reply. */
  async ask(message: Message, linkAddress?: string): Promise<Message | undefined> {
    await this.send(message, linkAddress);
    return await this.receive();
  }

  /** Close the socket. */
  close(): void {
    this.#socket.close();
  }
}

/** Poll `check` every 50 ms until it returns true (or throw after `timeoutMs`). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** True when `path` exists (without following symlinks). */
export function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A control-socket reply as sent on the wire: the output lines and the terminator line. */
export interface ControlReply {
  /** Lines before the terminator. */
  lines: string[];
  /** `OK`, `OK: ...`, `FAILED: ...` or `UNKNOWN`. */
  end: string;
}

/**
 * Send `command` over a raw connection to the control socket at `path` and read the reply up to
 * its terminator line (independent of `dhcpkit ctl`, to test the server's side of the protocol).
 */
export async function controlReply(
  path: string,
  command: string,
  timeoutMs = 60_000,
): Promise<ControlReply> {
  const conn = await Deno.connect({ transport: "unix", path });
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    await conn.write(new TextEncoder().encode(command + "\n"));
    const decoder = new TextDecoder();
    const buffer = new Uint8Array(65536);
    let text = "";
    while (true) {
      const lines = text.split("\n");
      const end = lines.slice(1, -1).findIndex((l) =>
        /^(OK|OK: .*|FAILED|FAILED: .*|UNKNOWN)$/.test(l)
      );
      if (end >= 0) return { lines: lines.slice(1, end + 1), end: lines[end + 1] };
      let n: number | null;
      try {
        n = await conn.read(buffer);
      } catch {
        n = null;
      }
      if (n === null) {
        throw new Error(`no complete reply to ${command}; got ${JSON.stringify(text)}`);
      }
      text += decoder.decode(buffer.subarray(0, n), { stream: true });
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed by the timer
    }
  }
}
