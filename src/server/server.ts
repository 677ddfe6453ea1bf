/**
 * The daemon's life cycle: load the configuration, bind the listeners, give up root, start the
 * I/O backend (io/backend.ts) and answer until told to stop. Reload swaps in a new pipeline only
 * when the new configuration is good; otherwise the old one keeps serving. Every step that can
 * fail undoes the ones before it (an `AsyncDisposableStack`).
 *
 * After giving up root, root is only taken back for synchronous steps (`withRootSync`, see
 * privileges.ts): reading the configuration files, binding sockets, opening log files, creating
 * and removing the control socket and the PID file. Everything that awaits (importing
 * extensions, starting workers, initialising handlers) runs as the service user.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { ServerConfig } from "../config/mod.ts";
import { buildSharedData } from "../handlers/registry.ts";
import { exportSharedBuffers, installSharedData } from "../handlers/shared_memory.ts";
import { extensionStatistics, StatisticsStore } from "../pipeline/mod.ts";
import { type Duid, toHex } from "../protocol/mod.ts";
import { VERSION } from "../version.ts";
import { type CommandOutcome, errorLines } from "./control_socket.ts";
import { BatchDelays } from "./batch_delays.ts";
import { Endpoints } from "./endpoints.ts";
import { Failures } from "./failures.ts";
import {
  loadServerConfigAsync,
  readConfigFiles,
  recordingReader,
  snapshotReader,
} from "./engine.ts";
import { hostInterfaces } from "./interfaces.ts";
import { type BackendInit, createBackend, type IoBackend, type IoEvents } from "./io/backend.ts";
import { planListeners } from "./listener_plan.ts";
import { logSystem, wantedLevel } from "./logging.ts";
import { LatencyHistogram, type MetricsSources } from "./metrics.ts";
import { categoriesOf } from "./pipeline_builder.ts";
import { PidFile } from "./pidfile.ts";
import {
  droppedTo,
  dropPrivileges,
  intendServiceUser,
  restrictUmask,
  supplementaryGroupsWarning,
  withRootSync,
} from "./privileges.ts";
import { serverDuidOf } from "./server_duid.ts";
import {
  formatStatsJson,
  formatStatsText,
  type ServerCounters,
  type StatisticsEntries,
  statisticsEntries,
} from "./stats_output.ts";
import { TcpService } from "./tcp_service.ts";
import { TransactionRing } from "./transactions.ts";
import { RateHistory } from "./web_ui/rates.ts";
import { readToken, WebUiServer } from "./web_ui/server.ts";
import { searchSources } from "./web_ui/subscribers.ts";
import { scalarIndex } from "../pipeline/mod.ts";
import type { ExplainTrace } from "../pipeline/mod.ts";
import { explainPacket, type ExplainRequest, ExplainRequestError } from "./explain_request.ts";

const log = getLogger(["dhcpkit", "server"]);

/** Why a reload failed, after `FAILED: ` on the control socket. */
const REFUSED = "configuration refused; the running configuration stays in place";
const NOT_APPLIED = "the new configuration cannot be applied; the running configuration stays in " +
  "place";
const STOPPING = "the server is stopping";
/** How often the looking glass's chart samples the counters. */
const RATE_SAMPLE_MS = 5000;
const I_INCOMING = scalarIndex("incoming_packets");
const I_OUTGOING = scalarIndex("outgoing_packets");

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

/** Run a start-up step; whatever it throws becomes a {@link StartupError} (`prefix` first). */
async function step<T>(run: () => T | Promise<T>, prefix = ""): Promise<T> {
  try {
    return await run();
  } catch (e) {
    throw e instanceof StartupError ? e : new StartupError(prefix + (e as Error).message);
  }
}

/** The running server. */
export class Server {
  /** The configuration in use. */
  config!: ServerConfig;
  /** The server DUID. */
  serverDuid!: Duid;
  /** Statistics across all workers, kept across reloads. */
  readonly stats = new StatisticsStore();
  /** Request-handling latency across all workers. */
  readonly latency = new LatencyHistogram();
  #io?: IoBackend;
  readonly #endpoints: Endpoints;
  readonly #pidFile = new PidFile();
  #entries: StatisticsEntries = { interfaces: [], subnets: [], relays: [] };
  #reloading: Promise<unknown> = Promise.resolve();
  #stopped = false;
  /** Listeners open and handlers initialised (`/ready`). */
  #ready = false;
  /** The last configuration load, start-up or reload (`/metrics`), and its errors. */
  #lastReload = { successful: false, time: 0, errors: [] as string[] };
  /** When the server started (milliseconds since the epoch). */
  readonly #startedAt = Date.now();
  /** Recent transactions for the looking glass (filled only with `<web-ui>`). */
  readonly #ring = new TransactionRing();
  /** Requests and replies per second for the looking glass's chart. */
  readonly #rates = new RateHistory();
  #rateTimer?: ReturnType<typeof setInterval>;
  /** The looking glass, when `<web-ui>` is configured. */
  #webUi?: WebUiServer;
  readonly #stoppedPromise = Promise.withResolvers<void>();
  /** The configuration files as read (as root) at the last successful load, for the workers. */
  #configFiles: Record<string, string> = {};
  /** The shared data (static CSV tables) of the configuration in force, see `#init`. */
  #sharedData: Record<string, unknown> = {};
  readonly #failures = new Failures(() => void this.stop(), () => this.config);
  /** `<listen-tcp>` listeners (bulk leasequery), answered in the main thread. */
  readonly #tcp = new TcpService({ stats: (delta) => this.stats.merge(delta) });
  /** Where the I/O backends report. */
  readonly #events: IoEvents = {
    stats: (delta) => this.stats.merge(delta),
    latency: (delta) => this.latency.merge(delta),
    extensions: (delta) => extensionStatistics.merge(delta),
    failure: (message) => this.#failures.exception(message),
    workerError: (message) => this.#failures.workerError(message),
    workerRestarted: () => this.#failures.workerRestarts++,
    fatal: (message) => this.#failures.fatal(message),
    logs: (lines, dropped) => logSystem.dispatchMany(lines, dropped),
    queueFull: (id) => this.#failures.queueFull(id),
    transactions: (records) => this.#ring.addAll(records),
  };
  /** The I/O workers' `io-batch-delay`, per backend (see {@link BatchDelays}). */
  readonly #batchDelays = new BatchDelays();

  /** What `io` reports to: {@link #events}, with its workers' waits kept apart. */
  #eventsOf(io: IoBackend): IoEvents {
    return { ...this.#events, batchDelay: (report) => this.#batchDelays.report(io, report) };
  }

  /** Create a server (nothing happens until {@link Server.start}). */
  constructor(readonly options: ServerOptions) {
    this.#endpoints = new Endpoints({
      commands: {
        stats: () => this.statsText(),
        statsJson: () => this.statsJson(),
        reload: () => this.reload(),
        reopenLogs: () => this.reopenLogs(),
        shutdown: () => void this.stop(),
        explain: (request) => this.explainJson(request),
      },
      metrics: () => this.metricsSources(),
      health: () => ({ live: !this.#stopped, ready: this.#ready && !this.#stopped }),
    }, options.controlSocket);
  }

  /** Resolves when the server has stopped. */
  get stopped(): Promise<void> {
    return this.#stoppedPromise.promise;
  }

  /** Start serving; throws {@link StartupError} with a clear message when that is impossible. */
  async start(): Promise<void> {
    log.info("Starting dhcpkit {version}", { version: VERSION });
    // Started as root: what the server creates from now on is private to it (see privileges.ts).
    if (Deno.uid() === 0) await step(restrictUmask, "cannot set the umask: ");
    const reader = recordingReader();
    const { configPath, configText } = this.options;
    const hostChecks = this.options.hostChecks ?? true;
    const config = this.config = await step(() =>
      loadServerConfigAsync(configPath, configText, hostChecks, reader.readFile)
    );
    this.#configFiles = reader.files;
    this.#lastReload = { successful: true, time: Date.now() / 1000, errors: [] };
    // Log files in folders the service user can write are opened as that user (log_file_open.ts).
    if (Deno.uid() === 0) intendServiceUser(config.user, config.group);
    await logSystem.apply(config.logging, this.options.logLevel);
    this.#entries = statisticsEntries(config);
    const interfaces = hostInterfaces();
    const duid = this.serverDuid = await step(() => serverDuidOf(config.serverId, interfaces));
    log.info("Server DUID is {duid}", { duid: toHex(duid.toBytes()) });
    const io = await step(() => createBackend(undefined, config.ioBackend));
    log.info("UDP I/O backend: {io}{why}", {
      io: io.kind,
      why: config.ioBackend === "auto" ? " (io-backend auto)" : "",
    });

    // Everything below is undone, in reverse order, when a later step fails.
    await using rollback = new AsyncDisposableStack();
    await step(() => withRootSync(() => io.open(planListeners(config, interfaces))));
    rollback.defer(() => io.stop());
    await step(() => this.#tcp.listen(config, interfaces));
    rollback.defer(() => this.#tcp.close());
    if (io.plans.length === 0) {
      log.warning("No listeners configured: this server will not receive anything");
    }
    // The control socket and the metrics endpoint are opened while still root.
    rollback.defer(() => this.#endpoints.close());
    await step(() => this.#endpoints.open(config));
    rollback.defer(() => this.#stopWebUi());
    await step(() => this.#startWebUi(config));
    if (Deno.uid() === 0) {
      const done = await step(
        () => dropPrivileges(config.user, config.group),
        "cannot drop privileges: ",
      );
      log.info(done);
      const warning = supplementaryGroupsWarning(droppedTo()!.gid);
      if (warning) log.warning("{warning}", { warning });
    } else {
      log.warning("Not running as root: not changing user");
    }
    await step(async () => io.start(await this.#init(config), this.#eventsOf(io)));
    await step(() => this.#tcp.start(config, duid, io.engine ? () => io.engine : undefined));
    rollback.move(); // started: nothing to undo
    this.#io = io;
    this.#pidFile.update(this.options.pidFile ?? config.pidFile);
    this.#endpoints.serve();
    this.#ready = !this.#stopped;
    log.info("Ready to handle requests on {listeners}{threads}", {
      listeners: io.plans.map((p) => p.description).join(", ") || "nothing",
      threads: io.threadsNote,
    });
  }

  /**
   * What an I/O backend builds its engines from, for `config`: the shared data (static CSV
   * tables) is built here, once, for this thread's engines and every worker's.
   */
  async #init(config: ServerConfig): Promise<BackendInit> {
    const sharedData = await buildSharedData(config.handlers);
    installSharedData(sharedData);
    this.#sharedData = sharedData;
    return {
      config,
      engine: {
        configPath: this.options.configPath,
        configText: this.options.configText,
        configFiles: this.#configFiles,
        serverDuid: this.serverDuid.toBytes(),
        logLevel: wantedLevel(config.logging, this.options.logLevel),
        logMultiprocessing: config.logging.logMultiprocessing,
        sharedBuffers: exportSharedBuffers(),
        sharedData,
      },
      serverDuid: this.serverDuid,
      stats: this.stats,
      latency: this.latency,
      transactions: config.webUi ? this.#ring : undefined,
    };
  }

  /** Open the looking glass `config` asks for (as root: the token file may be root's only). */
  #startWebUi(config: ServerConfig): void {
    const w = config.webUi;
    if (!w) return;
    const token = w.tokenFile ? withRootSync(() => readToken(w.tokenFile!)) : undefined;
    try {
      this.#webUi = withRootSync(() => WebUiServer.start(w.address, w.port, token, this.#glass));
    } catch (e) {
      throw new Error(
        `cannot serve the web UI on [${w.address}]:${w.port}: ${(e as Error).message}`,
      );
    }
    log.info("Looking glass on http://{host}:{port}/", {
      host: w.address.includes(":") ? `[${w.address}]` : w.address,
      port: this.#webUi.addr.port,
    });
    this.#rateTimer ??= setInterval(() => void this.#sampleRates(), RATE_SAMPLE_MS);
    void this.#sampleRates();
  }

  async #stopWebUi(): Promise<void> {
    clearInterval(this.#rateTimer);
    this.#rateTimer = undefined;
    await this.#webUi?.stop();
    this.#webUi = undefined;
  }

  /** Sample the global counters for the chart, after the workers posted what they counted. */
  async #sampleRates(): Promise<void> {
    try {
      await this.#io?.flushStats();
    } catch {
      // a worker that cannot flush (stopping, replaced) leaves what it posted last: sample that
    }
    const global = this.stats.sets.get("global");
    if (global) this.#rates.sample(Date.now(), global[I_INCOMING], global[I_OUTGOING]);
  }

  /** The looking glass's address, when `<web-ui>` is configured. */
  get webUiAddr(): Deno.NetAddr | undefined {
    return this.#webUi?.addr;
  }

  /** What the looking glass shows. */
  readonly #glass = {
    overview: () => {
      const io = this.#io;
      const config = this.config;
      return {
        duid: toHex(this.serverDuid.toBytes()),
        version: VERSION,
        startedAt: this.#startedAt,
        configFile: this.options.configText === undefined
          ? this.options.configPath
          : `${this.options.configPath} (embedded)`,
        lastReload: { ...this.#lastReload, time: this.#lastReload.time * 1000 },
        listeners: [
          ...(io?.plans.map((p) => `${p.description} (port ${p.port})`) ?? []),
          ...config.listeners.filter((l) => l.type === "listen-tcp").map((l) =>
            `tcp ${l.name ?? ""} (bulk leasequery)`
          ),
        ],
        workers: io
          ? `${io.kind} I/O backend, workers ${config.workers}${
            io.threadsNote ? ` ${io.threadsNote.trim()}` : ""
          }`
          : "not running",
      };
    },
    statsJson: () => this.statsJson(),
    rates: () => this.#rates.series(),
    transactions: async () => {
      await this.#io?.flushStats();
      return this.#ring;
    },
    searchSources: () => searchSources(this.config.root),
    explain: (request: ExplainRequest) => this.explain(request),
  };

  /** The metrics endpoint address, when `<metrics>` is configured. */
  get metricsAddr(): Deno.NetAddr | undefined {
    return this.#endpoints.metricsAddr;
  }

  /** The control socket path, when there is one. */
  get controlSocketPath(): string | undefined {
    return this.#endpoints.controlSocketPath;
  }

  /** What `/metrics` shows, with every worker's statistics so far. */
  async metricsSources(): Promise<MetricsSources> {
    await this.#io?.flushStats();
    return {
      stats: this.stats,
      entries: this.#entries,
      latency: this.latency,
      queueDrops: this.#failures.queueDrops,
      workerRestarts: this.#failures.workerRestarts,
      batchDelay: this.#batchDelays.snapshot(this.#io),
      logDrops: logSystem.drops(),
      staticAssignments: this.#io?.staticAssignments() ?? [],
      extensions: extensionStatistics,
      lastReload: this.#lastReload,
    };
  }

  /** The counters of the server process: worker restarts, and the I/O workers' waits. */
  #serverCounters(): ServerCounters {
    return {
      workerRestarts: this.#failures.workerRestarts,
      batchDelay: this.#batchDelays.snapshot(this.#io),
    };
  }

  /** The `stats` text. */
  async statsText(): Promise<string> {
    await this.#io?.flushStats();
    return formatStatsText(this.stats, this.#entries, extensionStatistics, this.#serverCounters());
  }

  /** The `stats-json` line. */
  async statsJson(): Promise<string> {
    await this.#io?.flushStats();
    return formatStatsJson(this.stats, this.#entries, extensionStatistics, this.#serverCounters());
  }

  /**
   * Explain how the running pipeline answers `request` (a dry run: nothing is committed or
   * counted). Throws {@link ExplainRequestError} when the request cannot be built.
   */
  async explain(request: ExplainRequest): Promise<ExplainTrace> {
    const io = this.#io;
    if (!io) throw new Error("the server is not answering requests");
    const packet = explainPacket(request, io.plans, this.serverDuid);
    return await io.explain(packet, (this.config.lookupTimeout + 2) * 1000);
  }

  /** `explain` on the control socket: a JSON object in, the trace as one JSON line out. */
  async explainJson(text: string): Promise<string> {
    let request: ExplainRequest;
    try {
      request = text === "" ? {} : JSON.parse(text);
    } catch {
      throw new ExplainRequestError("explain takes one JSON object (see dhcpkit ctl explain)");
    }
    if (typeof request !== "object" || request === null || Array.isArray(request)) {
      throw new ExplainRequestError("explain takes one JSON object (see dhcpkit ctl explain)");
    }
    for (const [k, v] of Object.entries(request)) {
      if (typeof v !== "string") throw new ExplainRequestError(`explain: ${k} must be a string`);
    }
    return JSON.stringify(await this.explain(request));
  }

  /** Report an error nothing caught; counted towards `max-exceptions` like any other. */
  reportException(message: string): void {
    this.#failures.exception(message);
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
      this.#lastReload = {
        successful: outcome.failure === undefined,
        time: Date.now() / 1000,
        errors: outcome.failure === undefined ? [] : [...outcome.lines, outcome.failure],
      };
    }
    return { lines: [...logs.lines, ...outcome.lines], failure: outcome.failure };
  }

  async #reload(): Promise<CommandOutcome> {
    log.info("Reloading configuration");
    const { configPath, configText } = this.options;
    let config: ServerConfig;
    let files: Record<string, string>;
    try {
      // The configuration may be readable by root only: read the files as root (synchronously),
      // then import extensions and load it from that snapshot as the service user.
      files = readConfigFiles(configPath, configText);
      config = await loadServerConfigAsync(configPath, configText, false, snapshotReader(files));
    } catch (e) {
      log.fatal("Not reloading: {error}", { error: (e as Error).message });
      return { lines: errorLines(e), failure: REFUSED };
    }
    const current = this.#io!;
    const previousFiles = this.#configFiles;
    await using rollback = new AsyncDisposableStack();
    let next = current;
    try {
      // Binding port 547 needs root: the sockets bind as root (synchronously, nothing else);
      // handlers initialise as the service user, as at start-up.
      const interfaces = hostInterfaces();
      const plans = planListeners(config, interfaces);
      await this.#tcp.listen(config, interfaces);
      this.#configFiles = files;
      rollback.defer(() => void (this.#configFiles = previousFiles));
      // A reload that fails keeps the data of the configuration in force (not the new tables).
      const previousShared = this.#sharedData;
      rollback.defer(() => {
        installSharedData(previousShared);
        this.#sharedData = previousShared;
      });
      const sameBackend = config.ioBackend === this.config.ioBackend;
      if (sameBackend && current.canReload(plans, config)) {
        await current.reload(await this.#init(config));
      } else {
        const fresh = next = createBackend(
          sameBackend ? current.kind : undefined,
          config.ioBackend,
        );
        withRootSync(() => fresh.open(plans, current));
        rollback.defer(() => fresh.stop());
        await fresh.start(await this.#init(config), this.#eventsOf(fresh));
      }
    } catch (e) {
      log.fatal("Not reloading: {error}", { error: (e as Error).message });
      return { lines: errorLines(e), failure: NOT_APPLIED };
    }
    // Told to stop while the new pipeline was being built: drop it, keep nothing open.
    if (this.#stopped) return { lines: [], failure: STOPPING };
    rollback.move();
    this.config = config;
    try {
      await this.#tcp.start(config, this.serverDuid, next.engine ? () => next.engine : undefined);
    } catch (e) {
      log.error("Cannot answer TCP queries with the new configuration: {error}", {
        error: (e as Error).message,
      });
    }
    this.#io = next;
    const categories = categoriesOf(config);
    this.stats.retain((key) => categories.hasKey(key));
    this.#entries = statisticsEntries(config);
    // The old backend answers what waits for lookups, then closes.
    if (next !== current) await current.stop();
    // Log files and the control socket take root for their synchronous file-system steps only.
    await logSystem.apply(config.logging, this.options.logLevel);
    await this.#endpoints.reload(config);
    await this.#reloadWebUi(config);
    this.#pidFile.update(this.options.pidFile ?? config.pidFile);
    log.info("Configuration reloaded");
    return { lines: [] };
  }

  /** Move, start or stop the looking glass as the new configuration says; failures are logged. */
  async #reloadWebUi(config: ServerConfig): Promise<void> {
    await this.#stopWebUi();
    try {
      this.#startWebUi(config);
    } catch (e) {
      log.error("{error}", { error: (e as Error).message });
    }
  }

  /** Stop serving, answer what waits for lookups, release everything, remove the PID file. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    // A reload under way finishes (or gives up, seeing the stop) before anything is torn down.
    await this.#reloading;
    log.info("Shutting down dhcpkit {version}", { version: VERSION });
    await this.#tcp.close();
    const io = this.#io;
    this.#io = undefined;
    await this.#endpoints.close();
    await this.#stopWebUi();
    await io?.stop();
    this.#pidFile.remove();
    await logSystem.close();
    this.#stoppedPromise.resolve();
  }
}
