/**
 * The daemon: loads the configuration, binds the listeners, gives up root, starts the workers and
 * answers until told to stop. Reload swaps in a new pipeline only when the new configuration is
 * good; otherwise the old one keeps serving.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { ListenInterfaceValues, ListenUnicastValues, ServerConfig } from "../config/mod.ts";
import { type Duid, toHex } from "../protocol/mod.ts";
import { StatisticsStore } from "../pipeline/mod.ts";
import { VERSION } from "../version.ts";
import { Engine, loadServerConfig } from "./engine.ts";
import { hostInterfaces } from "./interfaces.ts";
import {
  closeListener,
  openInterfaceListener,
  openUnicastListener,
  type UdpListener,
} from "./listeners.ts";
import { removePidFile, writePidFile } from "./pidfile.ts";
import { dropPrivileges } from "./privileges.ts";
import { duidFromConfig, duidFromInterfaces } from "./server_duid.ts";
import { categoriesOf } from "./pipeline_builder.ts";
import { WorkerPool } from "./worker_pool.ts";
import type { WirePacket, WireReply } from "./wire.ts";

const log = getLogger(["dhcpkit", "server"]);

/** How the server was started. */
export interface ServerOptions {
  /** Path of the configuration file (or a name for `configText`). */
  configPath: string;
  /** Configuration text (the embedded demo); read from `configPath` when absent. */
  configText?: string;
  /** Overrides `pid-file`; `false` writes none. */
  pidFile?: string | false;
  /** Overrides `control-socket`. */
  controlSocket?: string | false;
  /** Console log level (our level names). */
  logLevel?: string;
  /** Run host checks on the configuration (default true). */
  hostChecks?: boolean;
}

/** A problem that prevents the server from starting. */
export class StartupError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "StartupError";
  }
}

type Handling =
  | { kind: "main"; engine: Engine }
  | { kind: "pool"; pool: WorkerPool };

const RECEIVE_BUFFER = 65536;

/** The running server. */
export class Server {
  /** The configuration in use. */
  config!: ServerConfig;
  /** The server DUID. */
  serverDuid!: Duid;
  /** Statistics across all workers, kept across reloads. */
  readonly stats = new StatisticsStore();
  /** Packets dropped because the workers were saturated. */
  queueDrops = 0;
  #listeners: UdpListener[] = [];
  #handling?: Handling;
  #packetCounter = 0;
  #stopped = false;
  #stoppedPromise: Promise<void>;
  #resolveStopped!: () => void;
  #pidFile?: string;
  #exceptions: number[] = [];

  /** Create a server (nothing happens until {@link Server.start}). */
  constructor(readonly options: ServerOptions) {
    this.#stoppedPromise = new Promise((resolve) => this.#resolveStopped = resolve);
  }

  /** Resolves when the server has stopped. */
  get stopped(): Promise<void> {
    return this.#stoppedPromise;
  }

  /** The open listeners. */
  get listeners(): readonly UdpListener[] {
    return this.#listeners;
  }

  /** Start serving; throws {@link StartupError} with a clear message when that is impossible. */
  async start(): Promise<void> {
    log.info("Starting dhcpkit {version}", { version: VERSION });
    try {
      this.config = loadServerConfig(
        this.options.configPath,
        this.options.configText,
        this.options.hostChecks ?? true,
      );
    } catch (e) {
      throw new StartupError((e as Error).message);
    }
    const interfaces = hostInterfaces();
    const duid = this.config.serverId
      ? duidFromConfig(this.config.serverId)
      : duidFromInterfaces(interfaces);
    if (!duid) {
      throw new StartupError(
        "no server-id configured and no interface with a usable MAC address to derive one",
      );
    }
    this.serverDuid = duid;
    log.info("Server DUID is {duid}", { duid: toHex(duid.toBytes()) });

    this.#listeners = await this.#openListeners(this.config, interfaces, []);
    if (this.#listeners.length === 0) {
      log.warning("No listeners configured: this server will not receive anything");
    }

    if (Deno.uid() === 0) {
      try {
        log.info(dropPrivileges(this.config.user, this.config.group));
      } catch (e) {
        this.#closeListeners();
        throw new StartupError(`cannot drop privileges: ${(e as Error).message}`);
      }
    } else {
      log.warning("Not running as root: not changing user");
    }

    try {
      this.#handling = await this.#startHandling(this.config);
    } catch (e) {
      this.#closeListeners();
      throw new StartupError((e as Error).message);
    }

    const pidFile = this.options.pidFile ?? this.config.pidFile;
    if (pidFile) {
      try {
        writePidFile(pidFile);
        this.#pidFile = pidFile;
      } catch (e) {
        log.error("Cannot write PID file {path}: {error}", {
          path: pidFile,
          error: (e as Error).message,
        });
      }
    }

    for (const listener of this.#listeners) this.#receiveLoops(listener);
    log.info("Ready to handle requests on {listeners}", {
      listeners: this.#listeners.map((l) => l.description).join(", ") || "nothing",
    });
  }

  async #openListeners(
    config: ServerConfig,
    interfaces: ReturnType<typeof hostInterfaces>,
    reuse: UdpListener[],
  ) {
    const opened: UdpListener[] = [];
    try {
      for (const section of config.listeners) {
        const index = opened.length;
        let listener: UdpListener;
        if (section.type === "listen-interface") {
          listener = await openInterfaceListener(
            section,
            section.values as ListenInterfaceValues,
            interfaces,
            index,
          );
        } else if (section.type === "listen-unicast") {
          const values = section.values as ListenUnicastValues;
          const key = `unicast|${values.address.text}|${values.port ?? 547}`;
          const existing = reuse.find((l) => l.key === key);
          listener = existing
            ? { ...existing, index, marks: values.marks?.length ? values.marks : ["unmarked"] }
            : openUnicastListener(section, values, interfaces, index);
        } else {
          log.warning("{file}:{line}: <{type}> is not supported yet; ignored", {
            file: section.file,
            line: section.line,
            type: section.type,
          });
          continue;
        }
        opened.push(listener);
      }
    } catch (e) {
      for (const l of opened) if (!reuse.includes(l)) closeListener(l);
      throw new StartupError((e as Error).message);
    }
    return opened;
  }

  async #startHandling(config: ServerConfig): Promise<Handling> {
    if (config.workers === 0) {
      return { kind: "main", engine: await Engine.create(config, this.serverDuid) };
    }
    const pool = new WorkerPool(config.workers, {
      configPath: this.options.configPath,
      configText: this.options.configText,
      serverDuid: this.serverDuid.toBytes(),
      logLevel: this.options.logLevel ?? "error",
    }, {
      replies: (replies) => this.#send(replies),
      stats: (delta) => this.stats.merge(delta),
      failure: (message) => this.#exception(message),
    });
    await pool.start();
    return { kind: "pool", pool };
  }

  #receiveLoops(listener: UdpListener): void {
    for (const socket of listener.receive) {
      (async () => {
        const buffer = new Uint8Array(RECEIVE_BUFFER);
        while (!this.#stopped) {
          let view: Uint8Array, addr: Deno.Addr;
          try {
            [view, addr] = await socket.conn.receive(buffer);
          } catch (e) {
            if (
              this.#stopped || e instanceof Deno.errors.BadResource ||
              e instanceof Deno.errors.Interrupted
            ) return;
            this.#exception(`receive on ${listener.description}: ${(e as Error).message}`);
            continue;
          }
          const net = addr as Deno.NetAddr;
          this.#packetCounter = (this.#packetCounter + 1) & 0xffffff;
          const packet: WirePacket = {
            id: "#" + this.#packetCounter.toString(16).toUpperCase().padStart(6, "0"),
            listener: listener.index,
            data: view.slice(),
            source: net.hostname.replace(/%.*$/, ""),
            sourcePort: net.port,
            interfaceName: listener.interfaceName,
            linkAddress: listener.linkAddress,
            multicast: socket.multicast,
            marks: listener.marks,
          };
          this.#dispatch(packet);
        }
      })();
    }
  }

  #dispatch(packet: WirePacket): void {
    const handling = this.#handling;
    if (!handling) return;
    if (handling.kind === "main") {
      const replies: WireReply[] = [];
      try {
        handling.engine.handleBatch([packet], replies);
      } catch (e) {
        this.#exception(`handling ${packet.id}: ${(e as Error).message}`);
      }
      this.stats.merge(handling.engine.stats.drain());
      this.#send(replies);
    } else if (!handling.pool.dispatch(packet)) {
      this.queueDrops++;
      log.debug("{id}: dropped, all workers are busy", { id: packet.id });
    }
  }

  #send(replies: WireReply[]): void {
    for (const r of replies) {
      const listener = this.#listeners[r.listener];
      if (!listener) continue;
      listener.reply.send(r.data, { transport: "udp", hostname: r.destination, port: r.port })
        .catch((e) => {
          log.warning("Cannot send to [{dest}]:{port} via {listener}: {error}", {
            dest: r.destination,
            port: r.port,
            listener: listener.description,
            error: (e as Error).message,
          });
        });
    }
  }

  #exception(message: string): void {
    log.error("{message}", { message });
    const now = Date.now() / 1000;
    const window = this.config?.exceptionWindow ?? 10;
    this.#exceptions = this.#exceptions.filter((t) => t > now - window);
    this.#exceptions.push(now);
    if (this.#exceptions.length > (this.config?.maxExceptions ?? 5)) {
      log.fatal("More than {max} errors in {window} seconds: stopping", {
        max: this.config?.maxExceptions ?? 5,
        window,
      });
      this.stop();
    }
  }

  /** Re-read the configuration and swap in a new pipeline; a bad configuration changes nothing. */
  async reload(): Promise<boolean> {
    log.info("Reloading configuration");
    let config: ServerConfig;
    try {
      config = loadServerConfig(this.options.configPath, this.options.configText, false);
    } catch (e) {
      log.fatal("Not reloading: {error}", { error: (e as Error).message });
      return false;
    }
    let handling: Handling;
    let listeners: UdpListener[];
    try {
      listeners = await this.#openListeners(config, hostInterfaces(), this.#listeners);
      handling = await this.#startHandling(config);
    } catch (e) {
      log.fatal("Not reloading: {error}", { error: (e as Error).message });
      return false;
    }
    const old = this.#handling;
    const oldListeners = this.#listeners;
    this.config = config;
    this.#handling = handling;
    this.#listeners = listeners;
    for (const l of oldListeners) if (!listeners.some((n) => n.reply === l.reply)) closeListener(l);
    for (const l of listeners) {
      if (!oldListeners.some((o) => o.reply === l.reply)) this.#receiveLoops(l);
    }
    const categories = categoriesOf(config);
    this.stats.retain((key) => categories.hasKey(key));
    if (old?.kind === "pool") old.pool.stop();
    else if (old?.kind === "main") await old.engine.handler.close();
    log.info("Configuration reloaded");
    return true;
  }

  #closeListeners(): void {
    for (const l of this.#listeners) closeListener(l);
    this.#listeners = [];
  }

  /** Stop serving, release everything and remove the PID file. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    log.info("Shutting down dhcpkit {version}", { version: VERSION });
    this.#closeListeners();
    const handling = this.#handling;
    this.#handling = undefined;
    if (handling?.kind === "pool") handling.pool.stop();
    else if (handling?.kind === "main") await handling.engine.handler.close();
    if (this.#pidFile) removePidFile(this.#pidFile);
    this.#resolveStopped();
  }
}
