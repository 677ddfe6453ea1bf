/**
 * The control socket: a Unix stream socket through which `dhcpkit ctl` (or the original
 * `ipv6-dhcpctl`) talks to the running server.
 *
 * Protocol: on connect the server sends `DHCPKit DHCPv6 Server <version>`; the client sends one
 * command per line (case-insensitive, empty lines ignored); each reply is zero or more output
 * lines followed by `OK`, `OK: <text>`, `FAILED: <reason>` (the command was understood but did
 * not succeed; the output lines say why) or `UNKNOWN`. Lines that are too long or not UTF-8 get
 * `UNKNOWN`. `reload` answers only once the reload is over, so its answer is its outcome. Every
 * connection is served on its own; a client that stops reading is disconnected when a write does
 * not complete within the write timeout, and an idle one (no command sent, none running) after
 * the idle timeout, so no client can hold up the server. When every connection slot is taken, a
 * new connection closes the one that has been idle longest instead of being refused: idle
 * connections can never lock the operator out.
 *
 * The socket usually lives in a root-owned folder: after the server dropped its privileges the
 * synchronous file-system steps (checking, creating, chmod/chown, removing the socket file) run
 * as root through `withRootSync`, nothing that awaits. The socket is created with umask 0117 in
 * effect, so it is never more open than 0660, not even for an instant.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { VERSION } from "../version.ts";
import { resolve } from "node:path";
import { lookupGroup, lookupUser, startedAs, withRootSync } from "./privileges.ts";

const log = getLogger(["dhcpkit", "control"]);

/**
 * The lines of an error in a command's outcome: configuration errors come one per line, as
 * `FILE:LINE: message` (see `loadServerConfig`).
 */
export function errorLines(e: unknown): string[] {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n").filter((l) => l.trim() !== "");
}

/** The outcome of a command that can fail (`reload`, `reopen-logs`). */
export interface CommandOutcome {
  /**
   * Lines shown before the terminator: on failure the errors, one per line, configuration errors
   * as `FILE:LINE: message` like `dhcpkit check-config` prints them.
   */
  lines: string[];
  /** Why the command failed (one line, after `FAILED: `); undefined when it succeeded. */
  failure?: string;
}

/** What the control socket can ask the server to do. */
export interface ControlCommands {
  /** The `stats` text. */
  stats(): string | Promise<string>;
  /** The `stats-json` line. */
  statsJson(): string | Promise<string>;
  /** Reload the configuration; resolves when the reload is over, with its outcome. */
  reload(): Promise<CommandOutcome>;
  /** Reopen the log files (after log rotation moved them away). */
  reopenLogs(): Promise<CommandOutcome>;
  /** Stop the server (the reply is sent and the connection closed first). */
  shutdown(): void;
  /**
   * `explain JSON`: how the pipeline answers the request the JSON object describes (see
   * `ExplainRequest`), as one JSON line; throws with the reason when it cannot.
   */
  explain?(request: string): Promise<string>;
}

/** Limits of the control socket. */
export interface ControlLimits {
  /** Longest accepted command line in bytes. */
  maxLineLength: number;
  /** Milliseconds a write may take before the client is disconnected. */
  writeTimeoutMs: number;
  /** Milliseconds without a command (and none running) before the client is disconnected. */
  idleTimeoutMs: number;
  /** Simultaneous connections; more are refused. */
  maxConnections: number;
}

/** Default limits. */
export const DEFAULT_CONTROL_LIMITS: ControlLimits = {
  maxLineLength: 16384,
  writeTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  maxConnections: 64,
};

/** The commands `help` lists. */
export const CONTROL_COMMANDS: readonly string[] = [
  "help",
  "stats",
  "stats-json",
  "reload",
  "reopen-logs",
  "explain",
  "shutdown",
  "quit",
];

/** The answer to `reload` when it worked. */
export const RELOADED = "OK: Configuration reloaded";
/** The answer to `reopen-logs` when it worked. */
export const LOGS_REOPENED = "OK: Log files reopened";

/** A control reply: `lines`, then `OK: <done>` or `FAILED: <reason>` (newlines flattened). */
export function outcomeReply(outcome: CommandOutcome, done: string): string {
  const oneLine = (t: string) => t.replace(/[\r\n]+/g, " ");
  const end = outcome.failure === undefined ? done : `FAILED: ${oneLine(outcome.failure)}`;
  return [...outcome.lines.map(oneLine), end, ""].join("\n");
}

/** The greeting line. */
export const GREETING = `DHCPKit DHCPv6 Server ${VERSION}`;

/** A control socket that cannot be created. */
export class ControlSocketError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "ControlSocketError";
  }
}

/** Who should own the socket file. */
export interface ControlSocketOwner {
  /** User name (or uid); undefined = leave as created. */
  user?: string;
  /** Group name (or gid); undefined = the user's primary group, or leave as created. */
  group?: string;
}

function isAlive(path: string): Promise<boolean> {
  return Deno.connect({ transport: "unix", path }).then(
    (c) => {
      c.close();
      return true;
    },
    (e) => {
      if (e instanceof Deno.errors.ConnectionRefused || e instanceof Deno.errors.NotFound) {
        return false;
      }
      // After dropping root the service user may not be allowed to connect to a root-owned
      // socket (connecting cannot be done as root: it awaits). Ask the kernel's socket table.
      if (e instanceof Deno.errors.PermissionDenied) {
        const listening = listeningIn(path);
        if (listening !== undefined) return listening;
      }
      throw e;
    },
  );
}

/** The umask the socket is created with: at most rw for owner and group (0660). */
const SOCKET_UMASK = 0o117;

/**
 * Whether a Unix socket listening on `path` is listed in `/proc/net/unix` (`text`), or
 * undefined when that table cannot be read.
 */
export function listeningIn(path: string, text?: string): boolean | undefined {
  let table = text;
  if (table === undefined) {
    try {
      table = Deno.readTextFileSync("/proc/net/unix");
    } catch {
      return undefined;
    }
  }
  const wanted = new Set([path, resolve(path)]);
  for (const line of table.split("\n").slice(1)) {
    // Num RefCount Protocol Flags Type St Inode Path; flag 0x10000 is __SO_ACCEPTCON (listening)
    const m = /^\s*\S+:\s+\S+\s+\S+\s+([0-9A-Fa-f]+)\s+\S+\s+\S+\s+\S+\s(.+)$/.exec(line);
    if (m && (parseInt(m[1], 16) & 0x10000) !== 0 && wanted.has(m[2])) return true;
  }
  return false;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** A listening control socket and its connections. */
export class ControlSocket {
  readonly #listener: Deno.Listener<Deno.UnixConn, Deno.UnixAddr>;
  /** Open connections: when each last sent something, and whether a command is running. */
  readonly #connections = new Map<Deno.UnixConn, { active: number; busy: boolean }>();
  #closed = false;
  #removed = false;
  #accepting = false;

  private constructor(
    readonly path: string,
    listener: Deno.Listener<Deno.UnixConn, Deno.UnixAddr>,
    readonly commands: ControlCommands,
    readonly limits: ControlLimits,
  ) {
    this.#listener = listener;
  }

  /**
   * Start answering clients. Until then connections wait in the backlog (the server calls this
   * once it is ready, so a client never talks to a half-started server).
   */
  serve(): void {
    if (this.#accepting || this.#closed) return;
    this.#accepting = true;
    this.#acceptLoop();
  }

  /** Number of open client connections. */
  get connections(): number {
    return this.#connections.size;
  }

  /**
   * Create the socket at `path` (mode 0660, owned as asked); call {@link ControlSocket.serve} to
   * start answering. A stale socket
   * (nobody listening) is replaced; a live one, a path that is not a socket or a missing folder
   * is an error.
   */
  static async open(
    path: string,
    commands: ControlCommands,
    owner: ControlSocketOwner = {},
    limits: Partial<ControlLimits> = {},
  ): Promise<ControlSocket> {
    let info: Deno.FileInfo | undefined;
    try {
      info = withRootSync(() => Deno.lstatSync(path));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new ControlSocketError(`cannot use control socket ${path}: ${(e as Error).message}`);
      }
    }
    if (info) {
      if (!info.isSocket) {
        throw new ControlSocketError(
          `control socket ${path} exists and is not a socket; remove it or choose another path`,
        );
      }
      let alive: boolean;
      try {
        alive = await isAlive(path);
      } catch (e) {
        throw new ControlSocketError(
          `cannot check control socket ${path}: ${(e as Error).message}`,
        );
      }
      if (alive) {
        throw new ControlSocketError(
          `control socket ${path} is in use: is another server running?`,
        );
      }
      log.debug("Replacing stale control socket {path}", { path });
      try {
        withRootSync(() => Deno.removeSync(path));
      } catch (e) {
        throw new ControlSocketError(
          `cannot remove stale control socket ${path}: ${(e as Error).message}`,
        );
      }
    }
    let listener: Deno.Listener<Deno.UnixConn, Deno.UnixAddr>;
    try {
      listener = withRootSync(() => {
        const umask = Deno.umask(SOCKET_UMASK);
        try {
          return Deno.listen({ transport: "unix", path });
        } finally {
          Deno.umask(umask);
        }
      });
    } catch (e) {
      const reason = e instanceof Deno.errors.NotFound
        ? "its folder does not exist"
        : (e as Error).message;
      throw new ControlSocketError(`cannot create control socket ${path}: ${reason}`);
    }
    try {
      withRootSync(() => Deno.chmodSync(path, 0o660));
    } catch (e) {
      listener.close();
      throw new ControlSocketError(
        `cannot set the mode of control socket ${path}: ${(e as Error).message}`,
      );
    }
    try {
      const ids = ownerIds(owner);
      if (ids) withRootSync(() => Deno.chownSync(path, ids.uid, ids.gid));
    } catch (e) {
      log.error("Cannot change the owner of control socket {path}: {error}", {
        path,
        error: (e as Error).message,
      });
    }
    log.info("Control socket at {path}", { path });
    return new ControlSocket(path, listener, commands, { ...DEFAULT_CONTROL_LIMITS, ...limits });
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.UnixConn;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (this.#closed || e instanceof Deno.errors.BadResource) return;
        log.warning("Control socket accept failed: {error}", { error: (e as Error).message });
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (this.#connections.size >= this.limits.maxConnections && !this.#evictIdlest()) {
        log.warning("Too many control connections, all running commands; refusing one");
        try {
          conn.close();
        } catch {
          // gone
        }
        continue;
      }
      this.#connections.set(conn, { active: performance.now(), busy: false });
      this.#serve(conn).catch((e) =>
        log.debug("Control connection ended: {error}", { error: (e as Error)?.message ?? e })
      ).finally(() => {
        this.#connections.delete(conn);
        try {
          conn.close();
        } catch {
          // already closed
        }
      });
    }
  }

  /** Close the connection idle longest (none running a command); false when there is none. */
  #evictIdlest(): boolean {
    let idlest: Deno.UnixConn | undefined;
    let since = Infinity;
    for (const [conn, state] of this.#connections) {
      if (!state.busy && state.active < since) [idlest, since] = [conn, state.active];
    }
    if (!idlest) return false;
    log.warning("All {max} control connections taken; closing the one idle longest", {
      max: this.limits.maxConnections,
    });
    this.#connections.delete(idlest);
    try {
      idlest.close();
    } catch {
      // gone
    }
    return true;
  }

  async #write(conn: Deno.UnixConn, text: string): Promise<void> {
    const data = encoder.encode(text);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        try {
          conn.close();
        } catch {
          // already closed
        }
        reject(new Error("control client is not reading; disconnected"));
      }, this.limits.writeTimeoutMs);
    });
    try {
      let off = 0;
      while (off < data.length) {
        off += await Promise.race([conn.write(data.subarray(off)), timeout]);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  async #serve(conn: Deno.UnixConn): Promise<void> {
    log.debug("New control connection");
    await this.#write(conn, GREETING + "\n");
    const buffer = new Uint8Array(4096);
    let line: number[] = [];
    let overflow = false;
    let idle: ReturnType<typeof setTimeout> | undefined;
    const state = this.#connections.get(conn);
    const resetIdle = () => {
      clearTimeout(idle);
      if (state) state.active = performance.now();
      idle = setTimeout(() => {
        try {
          conn.close();
        } catch {
          // already closed
        }
      }, this.limits.idleTimeoutMs);
    };
    try {
      resetIdle();
      while (true) {
        let n: number | null;
        try {
          n = await conn.read(buffer);
        } catch {
          return;
        }
        if (n === null) return;
        resetIdle();
        for (let i = 0; i < n; i++) {
          const b = buffer[i];
          if (b !== 0x0a) {
            if (line.length < this.limits.maxLineLength) line.push(b);
            else overflow = true;
            continue;
          }
          const raw = line;
          const tooLong = overflow;
          line = [];
          overflow = false;
          // A running command (a reload can take a while) is not idleness.
          clearTimeout(idle);
          if (state) state.busy = true;
          let keep: boolean;
          try {
            keep = await this.#command(conn, raw, tooLong);
          } finally {
            if (state) state.busy = false;
          }
          if (!keep) return;
          resetIdle();
        }
      }
    } finally {
      clearTimeout(idle);
    }
  }

  /** Run one command line; false when the connection should be closed. */
  async #command(conn: Deno.UnixConn, raw: number[], tooLong: boolean): Promise<boolean> {
    let command: string;
    if (tooLong) {
      log.warning("Control command longer than {max} bytes ignored", {
        max: this.limits.maxLineLength,
      });
      await this.#write(conn, "UNKNOWN\n");
      return true;
    }
    try {
      command = decoder.decode(new Uint8Array(raw)).replace(/\r$/, "").trim().toLowerCase();
    } catch {
      await this.#write(conn, "UNKNOWN\n");
      return true;
    }
    if (!command) return true;
    log.debug("Received control command {command}", { command: command.slice(0, 200) });
    if (/^explain(\s|$)/.test(command) && this.commands.explain) {
      // The arguments keep their case (hex, interface names): taken from the raw line.
      const line = decoder.decode(new Uint8Array(raw)).replace(/\r$/, "").trim();
      let answer: string;
      try {
        answer = (await this.commands.explain(line.slice("explain".length).trim())) + "\nOK\n";
      } catch (e) {
        answer = outcomeReply({ lines: [], failure: (e as Error)?.message ?? String(e) }, "OK");
      }
      await this.#write(conn, answer);
      return true;
    }
    switch (command) {
      case "help":
        await this.#write(
          conn,
          ["Recognised commands:", ...CONTROL_COMMANDS.map((c) => `  ${c}`), "OK", ""].join("\n"),
        );
        return true;
      case "stats":
        await this.#write(conn, (await this.commands.stats()) + "\nOK\n");
        return true;
      case "stats-json":
        await this.#write(conn, (await this.commands.statsJson()) + "\nOK\n");
        return true;
      case "reload":
        await this.#write(conn, outcomeReply(await settle(() => this.commands.reload()), RELOADED));
        return true;
      case "reopen-logs":
        await this.#write(
          conn,
          outcomeReply(await settle(() => this.commands.reopenLogs()), LOGS_REOPENED),
        );
        return true;
      case "shutdown":
        try {
          await this.#write(conn, "OK: Shutting down\n");
        } finally {
          this.commands.shutdown();
        }
        return false;
      case "quit":
        await this.#write(conn, "OK\n");
        return false;
      default:
        await this.#write(conn, "UNKNOWN\n");
        return true;
    }
  }

  /** Stop accepting connections and remove the socket file (open connections stay). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    this.#remove();
  }

  /** Close the socket and every open connection. */
  closeAll(): void {
    this.close();
    for (const c of this.#connections.keys()) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
    this.#connections.clear();
  }

  #remove(): void {
    if (this.#removed) return;
    this.#removed = true;
    try {
      withRootSync(() => Deno.lstatSync(this.path));
    } catch {
      return; // removed by Deno when the listener closed
    }
    try {
      withRootSync(() => Deno.removeSync(this.path));
    } catch (e) {
      log.warning("Cannot remove control socket {path}: {error}", {
        path: this.path,
        error: (e as Error).message,
      });
    }
  }
}

/** Run a command that can fail; an exception becomes its failure reason. */
async function settle(run: () => Promise<CommandOutcome>): Promise<CommandOutcome> {
  try {
    return await run();
  } catch (e) {
    return { lines: [], failure: (e as Error)?.message ?? String(e) };
  }
}

function ownerIds(owner: ControlSocketOwner): { uid: number; gid: number } | undefined {
  if (owner.user === undefined && owner.group === undefined) return undefined;
  // Default to who the server started as (root when it dropped privileges).
  let { uid, gid } = startedAs();
  if (owner.user !== undefined) {
    const account = lookupUser(owner.user);
    if (!account) throw new Error(`user ${owner.user} does not exist`);
    uid = account.uid;
    gid = account.gid;
  }
  if (owner.group !== undefined) {
    const g = lookupGroup(owner.group);
    if (g === undefined) throw new Error(`group ${owner.group} does not exist`);
    gid = g;
  }
  return { uid, gid };
}
