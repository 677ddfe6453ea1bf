/**
 * The daemon: loads the configuration, binds the listeners, gives up root, starts the workers and
 * answers until told to stop. Reload swaps in a new pipeline only when the new configuration is
 * good; otherwise the old one keeps serving.
 *
 * After giving up root, root is only taken back for synchronous steps (`withRootSync`, see
 * privileges.ts): reading the configuration files, binding sockets, opening log files, creating
 * and removing the control socket and the PID file. Everything that awaits (importing
 * extensions, starting workers, initialising handlers) runs as the service user.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import {
  IssueCollector,
  type ListenInterfaceValues,
  type ListenUnicastValues,
  parseConfigFile,
  parseConfigText,
  type ServerConfig,
} from "../config/mod.ts";
import { type Duid, toHex } from "../protocol/mod.ts";
import { StatisticsStore } from "../pipeline/mod.ts";
import { VERSION } from "../version.ts";
import { Engine, loadServerConfigAsync, recordingReader, snapshotReader } from "./engine.ts";
import { hostInterfaces } from "./interfaces.ts";
import {
  closeListener,
  openInterfaceListener,
  openUnicastListener,
  type UdpListener,
} from "./listeners.ts";
import { removePidFile, writePidFile } from "./pidfile.ts";
import { ensureDefaultFolder } from "./runtime_dir.ts";
import {
  droppedTo,
  dropPrivileges,
  restrictUmask,
  supplementaryGroupsWarning,
  withRootSync,
} from "./privileges.ts";
import { duidFromConfig, duidFromInterfaces } from "./server_duid.ts";
import { categoriesOf } from "./pipeline_builder.ts";
import { WorkerPool } from "./worker_pool.ts";
import { TcpService } from "./tcp_listener.ts";
import { exportSharedBuffers } from "../handlers/shared_memory.ts";
import { type CommandOutcome, ControlSocket } from "./control_socket.ts";
import { logSystem, wantedLevel } from "./logging.ts";
import { LatencyHistogram, MetricsServer, type MetricsSources } from "./metrics.ts";
import type { MetricsValues } from "../config/sections/metrics.ts";
import {
  formatStatsJson,
  formatStatsText,
  type StatisticsEntries,
  statisticsEntries,
} from "./stats_output.ts";
import type { WirePacket, WireReply, WorkerInit } from "./wire.ts";
import { chooseIoBackend, FfiBackend, ffiUnavailable, ioWorkerCount } from "./io/ffi_backend.ts";

const log = getLogger(["dhcpkit", "server"]);
const packetLog = getLogger(["dhcpkit", "packets"]);

/** Why a reload failed, after `FAILED: ` on the control socket. */
const REFUSED = "configuration refused; the running configuration stays in place";
const NOT_APPLIED = "the new configuration cannot be applied; the running configuration stays in " +
  "place";
const STOPPING = "the server is stopping";

/**
 * The lines of an error for the control socket: configuration errors come one per line, as
 * `FILE:LINE: message` (see `loadServerConfig`).
 */
function errorLines(e: unknown): string[] {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n").filter((l) => l.trim() !== "");
}

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
  /** Console log level from `-v` (our level names); overrides the configured console level. */
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
  | { kind: "main"; engine: Engine; assignments: Array<[string, number]> }
  | { kind: "pool"; pool: WorkerPool }
  | { kind: "ffi"; io: FfiBackend };

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
  /** Request-handling latency across all workers. */
  readonly latency = new LatencyHistogram();
  #control?: ControlSocket;
  #metrics?: MetricsServer;
  #entries: StatisticsEntries = { interfaces: [], subnets: [], relays: [] };
  #reloading: Promise<unknown> = Promise.resolve();
  #dropWarnedAt = -Infinity;
  #listeners: UdpListener[] = [];
  #handling?: Handling;
  /** `io-backend ffi`: the sockets opened at start-up (as root), until the I/O worker takes them. */
  #ffiOpened?: FfiBackend;
  #packetCounter = 0;
  #stopped = false;
  /** Listeners open and handlers initialised (`/ready`). */
  #ready = false;
  /** The last configuration load, start-up or reload (`/metrics`). */
  #lastReload = { successful: false, time: 0 };
  #stoppedPromise: Promise<void>;
  #resolveStopped!: () => void;
  #pidFile?: string;
  /** The configuration files as read (as root) at the last successful load, for the workers. */
  #configFiles: Record<string, string> = {};
  #exceptions: number[] = [];
  /** `<listen-tcp>` listeners (bulk leasequery), answered in the main thread. */
  #tcp = new TcpService({ stats: (delta) => this.stats.merge(delta) });

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
    // Started as root: what the server creates from now on is private to it (see privileges.ts).
    if (Deno.uid() === 0) {
      try {
        restrictUmask();
      } catch (e) {
        throw new StartupError(`cannot set the umask: ${(e as Error).message}`);
      }
    }
    try {
      const reader = recordingReader();
      this.config = await loadServerConfigAsync(
        this.options.configPath,
        this.options.configText,
        this.options.hostChecks ?? true,
        reader.readFile,
      );
      this.#configFiles = reader.files;
      this.#lastReload = { successful: true, time: Date.now() / 1000 };
    } catch (e) {
      throw new StartupError((e as Error).message);
    }
    await logSystem.apply(this.config.logging, this.options.logLevel);
    this.#entries = statisticsEntries(this.config);
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

    if (this.config.ioBackend === "ffi") {
      const problem = ffiUnavailable();
      if (problem) throw new StartupError(problem);
    }
    const io = chooseIoBackend(this.config.ioBackend);
    log.info("UDP I/O backend: {io}{why}", {
      io,
      why: this.config.ioBackend === "auto" ? " (io-backend auto)" : "",
    });
    this.#listeners = await this.#openListeners(this.config, interfaces, []);
    if (io === "ffi") this.#ffiOpened = this.#openFfi(this.config, interfaces);
    try {
      await this.#tcp.listen(this.config, interfaces);
    } catch (e) {
      this.#closeListeners();
      throw new StartupError((e as Error).message);
    }
    if (this.#listeners.length === 0 && !this.#ffiOpened?.descriptions.length) {
      log.warning("No listeners configured: this server will not receive anything");
    }

    // The control socket and the metrics endpoint are opened while still root.
    try {
      const controlPath = this.options.controlSocket ?? this.config.controlSocket;
      if (controlPath) {
        this.#createdFolder(ensureDefaultFolder(controlPath));
        this.#control = await this.#openControlSocket(controlPath, this.config);
      }
      this.#metrics = this.#startMetrics(this.config);
    } catch (e) {
      this.#closeListeners();
      this.#control?.closeAll();
      throw new StartupError((e as Error).message);
    }

    if (Deno.uid() === 0) {
      try {
        log.info(dropPrivileges(this.config.user, this.config.group));
        const warning = supplementaryGroupsWarning(droppedTo()!.gid);
        if (warning) log.warning("{warning}", { warning });
      } catch (e) {
        this.#closeListeners();
        this.#control?.closeAll();
        await this.#metrics?.stop();
        throw new StartupError(`cannot drop privileges: ${(e as Error).message}`);
      }
    } else {
      log.warning("Not running as root: not changing user");
    }

    try {
      this.#handling = await this.#startHandling(this.config);
      await this.#tcp.start(
        this.config,
        this.serverDuid,
        this.#handling.kind === "main" ? this.#handling.engine : undefined,
      );
    } catch (e) {
      this.#closeListeners();
      this.#control?.closeAll();
      await this.#metrics?.stop();
      throw new StartupError((e as Error).message);
    }

    this.#updatePidFile(this.config);

    for (const listener of this.#listeners) this.#receiveLoops(listener);
    this.#control?.serve();
    this.#ready = !this.#stopped;
    const ffi = this.#handling?.kind === "ffi" ? this.#handling.io : undefined;
    log.info("Ready to handle requests on {listeners}{threads}", {
      listeners: [
        ...this.#listeners.map((l) => l.description),
        ...(ffi?.descriptions ?? []),
      ].join(", ") || "nothing",
      threads: ffi ? ` (${ffi.threads} I/O worker${ffi.threads === 1 ? "" : "s"})` : "",
    });
  }

  /** The metrics endpoint address, when `<metrics>` is configured. */
  get metricsAddr(): Deno.NetAddr | undefined {
    return this.#metrics?.addr;
  }

  /** The control socket path, when there is one. */
  get controlSocketPath(): string | undefined {
    return this.#control?.path;
  }

  /**
   * Wait until the statistics include every request answered so far: the ffi backend's I/O
   * workers post theirs every 100 ms, so they are asked for them now.
   */
  async #freshStats(): Promise<void> {
    if (this.#handling?.kind === "ffi") await this.#handling.io.flushStats();
  }

  /** What `/metrics` shows. */
  async metricsSources(): Promise<MetricsSources> {
    await this.#freshStats();
    return {
      stats: this.stats,
      entries: this.#entries,
      latency: this.latency,
      queueDrops: this.queueDrops,
      logDrops: logSystem.drops(),
      staticAssignments: this.#staticAssignments(),
      lastReload: this.#lastReload,
    };
  }

  /** Static assignments per source of the pipeline in use. */
  #staticAssignments(): Array<[string, number]> {
    const handling = this.#handling;
    if (handling?.kind === "main") return handling.assignments;
    if (handling?.kind === "pool") return handling.pool.staticAssignments;
    if (handling?.kind === "ffi") return handling.io.staticAssignments;
    return [];
  }

  /** The `stats` text. */
  async statsText(): Promise<string> {
    await this.#freshStats();
    return formatStatsText(this.stats, this.#entries);
  }

  /** The `stats-json` line. */
  async statsJson(): Promise<string> {
    await this.#freshStats();
    return formatStatsJson(this.stats, this.#entries);
  }

  /**
   * Write the PID file `config` (or the command line) asks for, as root so that it works in a
   * root-owned folder; when the path changed, remove the old one (only once the new one is
   * written, so a failure keeps the old one).
   */
  #updatePidFile(config: ServerConfig): void {
    const path = this.options.pidFile ?? config.pidFile;
    const old = this.#pidFile;
    if ((path || undefined) === old) return;
    if (path) {
      try {
        this.#createdFolder(ensureDefaultFolder(path));
        withRootSync(() => writePidFile(path));
      } catch (e) {
        log.error("Cannot write PID file {path}: {error}", {
          path,
          error: (e as Error).message,
        });
        return;
      }
    }
    this.#pidFile = path || undefined;
    if (old) withRootSync(() => removePidFile(old));
  }

  /**
   * Read the configuration file and everything it includes, as root (it may be readable by root
   * only), without interpreting it: a synchronous parse that only records the files. Unknown
   * section types do not matter here; problems are reported by the real load.
   */
  #readConfigFiles(): Record<string, string> {
    const reader = recordingReader();
    const ignored = new IssueCollector();
    const options = { readFile: reader.readFile };
    withRootSync(() => {
      try {
        if (this.options.configText === undefined) {
          parseConfigFile(this.options.configPath, ignored, options);
        } else {
          parseConfigText(this.options.configText, this.options.configPath, ignored, options);
        }
      } catch {
        // the real load reports it
      }
    });
    return reader.files;
  }

  #createdFolder(folder: string | undefined): void {
    if (folder) log.info("Created {folder} for the control socket and PID file", { folder });
  }

  #openControlSocket(path: string, config: ServerConfig): Promise<ControlSocket> {
    return ControlSocket.open(path, {
      stats: () => this.statsText(),
      statsJson: () => this.statsJson(),
      reload: () => this.reload(),
      reopenLogs: () => this.reopenLogs(),
      shutdown: () => void this.stop(),
    }, { user: config.controlSocketUser, group: config.controlSocketGroup });
  }

  #metricsConfig(config: ServerConfig): MetricsValues | undefined {
    return config.root?.children.find((c) => c.type === "metrics")?.values as
      | MetricsValues
      | undefined;
  }

  #startMetrics(config: ServerConfig): MetricsServer | undefined {
    const m = this.#metricsConfig(config);
    if (!m) return undefined;
    try {
      // Binding is synchronous; as root after a reload, as at start-up.
      const server = withRootSync(() =>
        MetricsServer.start(m.address, m.port, () => this.metricsSources(), () => ({
          live: !this.#stopped,
          ready: this.#ready && !this.#stopped,
        }))
      );
      log.info("Metrics on http://{host}:{port}/metrics", {
        host: m.address.includes(":") ? `[${m.address}]` : m.address,
        port: server.addr.port,
      });
      return server;
    } catch (e) {
      throw new StartupError(
        `cannot serve metrics on [${m.address}]:${m.port}: ${(e as Error).message}`,
      );
    }
  }

  async #openListeners(
    config: ServerConfig,
    interfaces: ReturnType<typeof hostInterfaces>,
    reuse: UdpListener[],
  ) {
    if (chooseIoBackend(config.ioBackend) === "ffi") return []; // the I/O workers', see #openFfi
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
          continue; // <listen-tcp> is opened by the TcpService
        }
        opened.push(listener);
      }
    } catch (e) {
      // Re-used listeners are copies sharing the sockets: compare the sockets.
      for (const l of opened) if (!reuse.some((r) => r.reply === l.reply)) closeListener(l);
      throw new StartupError((e as Error).message);
    }
    return opened;
  }

  /** `io-backend ffi`: check the UDP listeners and bind their sockets (as root). */
  #openFfi(config: ServerConfig, interfaces: ReturnType<typeof hostInterfaces>): FfiBackend {
    try {
      const io = FfiBackend.plan(config, interfaces);
      withRootSync(() => io.open());
      return io;
    } catch (e) {
      throw new StartupError((e as Error).message);
    }
  }

  /**
   * `io-backend ffi`: start the I/O worker on the sockets opened at start-up, or on a reload
   * rebuild the running worker's engine when the listeners are unchanged, else open new sockets
   * and start a new worker (the old one is stopped by the caller).
   */
  async #startFfi(config: ServerConfig): Promise<Handling> {
    const init: WorkerInit = {
      kind: "init",
      workerId: 0,
      configPath: this.options.configPath,
      configText: this.options.configText,
      configFiles: this.#configFiles,
      serverDuid: this.serverDuid.toBytes(),
      logLevel: wantedLevel(config.logging, this.options.logLevel),
      logMultiprocessing: config.logging.logMultiprocessing,
      sharedBuffers: exportSharedBuffers(),
    };
    const threads = ioWorkerCount(config.workers);
    if (threads < config.workers) {
      log.info("workers {workers}: {threads} I/O worker(s), one per CPU this process may use", {
        workers: config.workers,
        threads,
      });
    }
    let io = this.#ffiOpened;
    this.#ffiOpened = undefined;
    if (!io) {
      const old = this.#handling;
      io = FfiBackend.plan(config, hostInterfaces());
      if (old?.kind === "ffi" && old.io.key === io.key) {
        if (old.io.threads === threads) {
          await old.io.reload(init, config.ioBatchDelay);
          return old;
        }
        io.adoptSockets(old.io); // only the number of I/O workers changed
      } else {
        withRootSync(() => io!.open());
      }
    }
    await io.start(
      init,
      {
        stats: (delta) => this.stats.merge(delta),
        latency: (delta) => this.latency.merge(delta),
        failure: (message) => this.#exception(message),
        logs: (lines, dropped) => logSystem.dispatchMany(lines, dropped),
      },
      threads,
      config.ioBatchDelay,
    );
    return { kind: "ffi", io };
  }

  async #startHandling(config: ServerConfig): Promise<Handling> {
    if (chooseIoBackend(config.ioBackend) === "ffi") return await this.#startFfi(config);
    if (config.workers === 0) {
      const engine = await Engine.create(config, this.serverDuid, this.stats, this.latency);
      engine.settled = (replies) => this.#send(replies);
      return { kind: "main", engine, assignments: engine.staticAssignments() };
    }
    const pool = new WorkerPool(config.workers, {
      configPath: this.options.configPath,
      configText: this.options.configText,
      configFiles: this.#configFiles,
      serverDuid: this.serverDuid.toBytes(),
      logLevel: wantedLevel(config.logging, this.options.logLevel),
      logMultiprocessing: config.logging.logMultiprocessing,
      sharedBuffers: exportSharedBuffers(),
    }, {
      replies: (replies) => this.#send(replies),
      stats: (delta) => this.stats.merge(delta),
      failure: (message) => this.#exception(message),
      latency: (delta) => this.latency.merge(delta),
      logs: (lines, dropped) => logSystem.dispatchMany(lines, dropped),
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
            source: net.hostname.includes("%") ? net.hostname.replace(/%.*$/, "") : net.hostname,
            sourcePort: net.port,
            interfaceName: listener.interfaceName,
            linkAddress: listener.linkAddress,
            multicast: socket.multicast,
            marks: listener.marks,
          };
          packetLog.trace(
            "{id}: received {size} bytes from [{source}]:{port} on {listener}",
            () => ({
              id: packet.id,
              size: packet.data.length,
              source: packet.source,
              port: packet.sourcePort,
              listener: listener.description,
            }),
          );
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
      this.#send(replies);
    } else if (handling.kind === "pool" && !handling.pool.dispatch(packet)) {
      this.queueDrops++;
      log.debug("{id}: dropped, all workers are busy", { id: packet.id });
      const now = Date.now();
      if (now - this.#dropWarnedAt >= 60_000) {
        // Said once a minute at most, with the running total.
        this.#dropWarnedAt = now;
        log.warning("All workers are busy: dropping packets ({total} dropped so far)", {
          total: this.queueDrops,
        });
      }
    }
  }

  #send(replies: WireReply[]): void {
    for (const r of replies) {
      const listener = this.#listeners[r.listener];
      if (!listener) continue;
      packetLog.trace("Sending {size} bytes to [{dest}]:{port} via {listener}", () => ({
        size: r.data.length,
        dest: r.destination,
        port: r.port,
        listener: listener.description,
      }));
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

  /** Report an error nothing caught; counted towards `max-exceptions` like any other. */
  reportException(message: string): void {
    this.#exception(message);
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

  /**
   * Reopen the log files (`ctl reopen-logs`; every reload does it first). The outcome lists the
   * files that could not be reopened.
   */
  async reopenLogs(): Promise<CommandOutcome> {
    let problems: string[];
    try {
      problems = await logSystem.reopen();
    } catch (e) {
      problems = errorLines(e);
    }
    return problems.length === 0
      ? { lines: [] }
      : { lines: problems, failure: "not every log file could be reopened" };
  }

  /**
   * Reopen the log files, re-read the configuration and swap in a new pipeline; a bad
   * configuration changes nothing. Reloads run one at a time. Resolves once this reload is over
   * with its outcome (never rejects): on failure the errors, configuration errors as
   * `FILE:LINE: message`.
   */
  reload(): Promise<CommandOutcome> {
    const run = this.#reloading.then(() => this.#reloadOnce());
    this.#reloading = run;
    return run;
  }

  async #reloadOnce(): Promise<CommandOutcome> {
    if (this.#stopped) return { lines: [], failure: STOPPING };
    // Whatever becomes of the configuration, SIGHUP after log rotation gets fresh log files.
    const logs = await this.reopenLogs();
    let outcome: CommandOutcome;
    try {
      outcome = await this.#reload();
    } catch (e) {
      outcome = { lines: errorLines(e), failure: NOT_APPLIED };
    }
    if (outcome.failure !== STOPPING) {
      this.#lastReload = { successful: outcome.failure === undefined, time: Date.now() / 1000 };
    }
    return { lines: [...logs.lines, ...outcome.lines], failure: outcome.failure };
  }

  async #reload(): Promise<CommandOutcome> {
    log.info("Reloading configuration");
    let config: ServerConfig;
    let files: Record<string, string>;
    try {
      // The configuration may be readable by root only: read the files as root (synchronously),
      // then import extensions and load it from that snapshot as the service user.
      files = this.#readConfigFiles();
      config = await loadServerConfigAsync(
        this.options.configPath,
        this.options.configText,
        false,
        snapshotReader(files),
      );
    } catch (e) {
      log.fatal("Not reloading: {error}", { error: (e as Error).message });
      return { lines: errorLines(e), failure: REFUSED };
    }
    let handling: Handling;
    let listeners: UdpListener[] = [];
    const previousFiles = this.#configFiles;
    const closeNew = () => {
      for (const l of listeners) {
        if (!this.#listeners.some((o) => o.reply === l.reply)) closeListener(l);
      }
    };
    try {
      // Binding port 547 needs root: the listeners bind as root (synchronously, nothing else);
      // handlers initialise as the service user, as at start-up.
      const interfaces = hostInterfaces();
      listeners = await this.#openListeners(config, interfaces, this.#listeners);
      await this.#tcp.listen(config, interfaces);
      this.#configFiles = files;
      handling = await this.#startHandling(config);
    } catch (e) {
      closeNew();
      this.#configFiles = previousFiles;
      log.fatal("Not reloading: {error}", { error: (e as Error).message });
      return { lines: errorLines(e), failure: NOT_APPLIED };
    }
    if (this.#stopped) {
      // Told to stop while the new pipeline was being built: drop it, keep nothing open.
      closeNew();
      await this.#release(handling);
      return { lines: [], failure: STOPPING };
    }
    const old = this.#handling;
    const oldListeners = this.#listeners;
    this.config = config;
    this.#handling = handling;
    this.#listeners = listeners;
    try {
      await this.#tcp.start(
        config,
        this.serverDuid,
        handling.kind === "main" ? handling.engine : undefined,
      );
    } catch (e) {
      log.error("Cannot answer TCP queries with the new configuration: {error}", {
        error: (e as Error).message,
      });
    }
    for (const l of oldListeners) if (!listeners.some((n) => n.reply === l.reply)) closeListener(l);
    for (const l of listeners) {
      if (!oldListeners.some((o) => o.reply === l.reply)) this.#receiveLoops(l);
    }
    const categories = categoriesOf(config);
    this.stats.retain((key) => categories.hasKey(key));
    this.#entries = statisticsEntries(config);
    if (old && old !== handling) await this.#release(old);
    // Log files and the control socket take root for their synchronous file-system steps only.
    await logSystem.apply(config.logging, this.options.logLevel);
    await this.#reloadControlSocket(config);
    this.#updatePidFile(config);
    await this.#reloadMetrics(config);
    log.info("Configuration reloaded");
    return { lines: [] };
  }

  async #reloadControlSocket(config: ServerConfig): Promise<void> {
    if (this.options.controlSocket !== undefined) return; // fixed on the command line
    const path = config.controlSocket;
    if (this.#control?.path === path) return;
    try {
      if (path) this.#createdFolder(ensureDefaultFolder(path));
      const control = path ? await this.#openControlSocket(path, config) : undefined;
      this.#control?.close();
      this.#control = control;
      control?.serve();
    } catch (e) {
      log.error("Keeping control socket {old}: {error}", {
        old: this.#control?.path ?? "(none)",
        error: (e as Error).message,
      });
    }
  }

  async #reloadMetrics(config: ServerConfig): Promise<void> {
    const m = this.#metricsConfig(config);
    const key = m ? `${m.address}|${m.port}` : undefined;
    if (this.#metrics?.key === key) return;
    await this.#metrics?.stop();
    this.#metrics = undefined;
    try {
      this.#metrics = this.#startMetrics(config);
    } catch (e) {
      log.error("{error}", { error: (e as Error).message });
    }
  }

  #closeListeners(): void {
    this.#ffiOpened?.close();
    this.#ffiOpened = undefined;
    for (const l of this.#listeners) closeListener(l);
    this.#listeners = [];
    void this.#tcp.close();
  }

  /** Stop the workers, engine or I/O worker of a pipeline that is no longer used. */
  async #release(handling: Handling): Promise<void> {
    if (handling.kind === "pool") handling.pool.stop();
    else if (handling.kind === "main") await handling.engine.close();
    else if (handling.kind === "ffi") await handling.io.stop();
  }

  /** Stop serving, release everything and remove the PID file. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    // A reload under way finishes (or gives up, seeing the stop) before anything is torn down.
    await this.#reloading;
    log.info("Shutting down dhcpkit {version}", { version: VERSION });
    await this.#tcp.close();
    this.#closeListeners();
    const handling = this.#handling;
    this.#handling = undefined;
    withRootSync(() => this.#control?.closeAll());
    this.#control = undefined;
    await this.#metrics?.stop();
    this.#metrics = undefined;
    if (handling) await this.#release(handling);
    if (this.#pidFile) withRootSync(() => removePidFile(this.#pidFile!));
    await logSystem.close();
    this.#resolveStopped();
  }
}
