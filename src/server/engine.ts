/**
 * The part of request handling shared by workers and the main thread: load a configuration,
 * build its pipeline, and turn batches of packets into replies.
 * @module
 */

import {
  formatIssue,
  IssueCollector,
  loadConfig,
  loadConfigText,
  parseConfigFile,
  parseConfigText,
  type ServerConfig,
} from "../config/mod.ts";
import { withRootSync } from "./privileges.ts";
import { type Duid, duidFromBytes, type Writer } from "../protocol/mod.ts";
import { getLogger } from "@logtape/logtape";
import {
  type ExplainTrace,
  type HandleResult,
  type IncomingPacket,
  type LookupControl,
  type MessageHandler,
  scalarIndex,
  StatisticsStore,
} from "../pipeline/mod.ts";
import { buildMessageHandler } from "./pipeline_builder.ts";
import { setPacketId } from "./logging.ts";
import { LatencyHistogram } from "./metrics.ts";
import { installBuiltins, loadExtensions } from "../handlers/mod.ts";
import { StaticAssignmentHandler } from "../handlers/static/handler.ts";

import type { WirePacket, WireReply } from "./wire.ts";
import { summarizeTransaction, TransactionBuffer, type TransactionSink } from "./transactions.ts";

const log = getLogger(["dhcpkit", "server"]);

/** The clock that times each request (milliseconds; only differences are used). */
let requestClock: () => number = () => performance.now();

/**
 * Time requests with `clock` (milliseconds from any fixed origin) in this thread's engines: the
 * ffi I/O worker passes its cheaper libc clock (`monotonicMs`).
 */
export function setRequestClock(clock: () => number): void {
  requestClock = clock;
}
const I_HANDLING_ERRORS = scalarIndex("handling_errors");

/** Reads a configuration file (or an included one) as text. */
export type ConfigReader = (path: string) => string;

/** A reader that keeps what it read, so workers can load the same files without reading them. */
export function recordingReader(): { readFile: ConfigReader; files: Record<string, string> } {
  const files: Record<string, string> = {};
  return {
    files,
    readFile: (path) => files[path] = Deno.readTextFileSync(path),
  };
}

/**
 * Read the configuration file and everything it includes, as root (it may be readable by root
 * only), without interpreting it: a synchronous parse that only records the files. Unknown
 * section types do not matter here; problems are reported by the real load.
 */
export function readConfigFiles(path: string, text?: string): Record<string, string> {
  const reader = recordingReader();
  const ignored = new IssueCollector();
  const options = { readFile: reader.readFile };
  withRootSync(() => {
    try {
      if (text === undefined) parseConfigFile(path, ignored, options);
      else parseConfigText(text, path, ignored, options);
    } catch {
      // the real load reports it
    }
  });
  return reader.files;
}

/** A reader that serves files from a snapshot taken by {@link recordingReader}. */
export function snapshotReader(files: Readonly<Record<string, string>>): ConfigReader {
  return (path) => files[path] ?? Deno.readTextFileSync(path);
}

/** Load a configuration from a file or text, throwing one error listing every problem. */
export function loadServerConfig(
  path: string,
  text?: string,
  hostChecks = true,
  readFile?: ConfigReader,
): ServerConfig {
  installBuiltins();
  const result = text === undefined
    ? loadConfig(path, { hostChecks, readFile })
    : loadConfigText(text, path, { hostChecks, readFile });
  if (!result.config) {
    throw new Error(result.errors.map(formatIssue).join("\n") || "configuration failed to load");
  }
  return result.config;
}

/**
 * Like {@link loadServerConfig}, after importing the extension modules the configuration names
 * (and those composed into the program), so that their section types are known. Both the main
 * thread and every worker load the configuration this way.
 */
export async function loadServerConfigAsync(
  path: string,
  text?: string,
  hostChecks = true,
  readFile?: ConfigReader,
): Promise<ServerConfig> {
  const extensions = await loadExtensions(path, text, { readFile });
  if (extensions.errors.length > 0) {
    throw new Error(extensions.errors.map(formatIssue).join("\n"));
  }
  return loadServerConfig(path, text, hostChecks, readFile);
}

/** What bounds the requests of one engine that wait for lookups (see `Handler.lookup`). */
export interface LookupLimits {
  /** `max-lookups-in-flight`. */
  max: number;
  /** `lookup-timeout`, in milliseconds. */
  timeoutMs: number;
}

/** The defaults of `max-lookups-in-flight` and `lookup-timeout`. */
export const DEFAULT_LOOKUP_LIMITS: LookupLimits = { max: 1000, timeoutMs: 1000 };

/** How often at most the engine warns about requests dropped because of lookups. */
const DROP_WARNING_INTERVAL_MS = 10_000;

/**
 * Requests dropped because of lookups in this thread since the last warning, and when that was:
 * shared by the engines of a thread, so that a reload does not bring the warning back sooner.
 */
const dropWarning = { dropped: { failure: 0, timeout: 0, overflow: 0 }, warnedAt: -Infinity };

/**
 * The engine's side of the lookup bounds: counts the requests waiting, and warns at most once per
 * {@link DROP_WARNING_INTERVAL_MS} (per thread) about the ones dropped, with the counts since the
 * last warning and the last reason. Dropped requests are counted by the pipeline in the
 * statistics; they are never errors towards `max-exceptions`.
 */
class EngineLookups implements LookupControl {
  waiting = 0;

  constructor(readonly max: number, readonly timeoutMs: number) {}

  enter(): boolean {
    if (this.waiting >= this.max) return false;
    this.waiting++;
    return true;
  }

  leave(drop?: "failure" | "timeout", reason?: string): void {
    this.waiting--;
    if (drop) this.#drop(drop, reason ?? drop);
  }

  overflow(): void {
    this.#drop("overflow", `more than ${this.max} requests waiting (max-lookups-in-flight)`);
  }

  resume(id: string | undefined): void {
    setPacketId(id);
  }

  #drop(kind: "failure" | "timeout" | "overflow", reason: string): void {
    dropWarning.dropped[kind]++;
    const now = performance.now();
    if (now - dropWarning.warnedAt < DROP_WARNING_INTERVAL_MS) return;
    dropWarning.warnedAt = now;
    const { failure, timeout, overflow } = dropWarning.dropped;
    dropWarning.dropped = { failure: 0, timeout: 0, overflow: 0 };
    log.warning(
      "Requests dropped waiting for lookups: {failure} failed, {timeout} timed out, {overflow} " +
        "over max-lookups-in-flight (last: {reason})",
      { failure, timeout, overflow, reason },
    );
  }
}

/**
 * A pipeline ready to handle packets. A worker's engine counts into stores of its own that are
 * drained to the main thread; the main thread's engine (`workers 0`) counts straight into the
 * server's stores.
 *
 * A request whose handlers wait for a lookup is parked: the engine goes on with the others and
 * hands its replies, once there, to {@link Engine.settled}.
 */
export class Engine {
  /**
   * Where the replies of a parked request go once it is answered (an empty list when it was
   * dropped, so the caller can pass the statistics on). Set by whoever runs the engine.
   */
  settled: (replies: WireReply[]) => void = () => {};
  readonly #lookups: EngineLookups;
  /**
   * Where summaries of the requests handled go (`<web-ui>` configured), else undefined: one
   * check per request.
   */
  transactions?: TransactionSink;
  #parked = 0;
  #idle?: PromiseWithResolvers<void>;

  /** Wrap a pipeline, counting into `stats` and `latency`. */
  constructor(
    readonly handler: MessageHandler,
    readonly stats: StatisticsStore = new StatisticsStore(),
    readonly latency: LatencyHistogram = new LatencyHistogram(),
    limits: LookupLimits = DEFAULT_LOOKUP_LIMITS,
  ) {
    this.#lookups = new EngineLookups(limits.max, limits.timeoutMs);
  }

  /** Build an engine for a configuration and server DUID, running per-worker initialisation. */
  static async create(
    config: ServerConfig,
    serverDuid: Duid | Uint8Array,
    stats?: StatisticsStore,
    latency?: LatencyHistogram,
    transactions?: TransactionSink,
  ): Promise<Engine> {
    const duid = serverDuid instanceof Uint8Array ? duidFromBytes(serverDuid) : serverDuid;
    const handler = buildMessageHandler(config, duid);
    try {
      await handler.workerInit();
    } catch (e) {
      // What was opened before the failure is closed, so a refused source leaves nothing behind.
      await handler.close().catch(() => {});
      throw e;
    }
    const engine = new Engine(handler, stats, latency, {
      max: config.maxLookupsInFlight,
      timeoutMs: config.lookupTimeout * 1000,
    });
    if (config.webUi) engine.transactions = transactions ?? new TransactionBuffer();
    return engine;
  }

  /** Requests parked until their lookups answer. */
  get parked(): number {
    return this.#parked;
  }

  /**
   * Static assignments loaded per source file (the first section of a file counts), for
   * `/metrics`; a source that cannot count is left out.
   */
  staticAssignments(): Array<[string, number]> {
    const counts = new Map<string, number>();
    for (const h of this.handler.allHandlers()) {
      const source = h instanceof StaticAssignmentHandler ? h.source : undefined;
      if (!source?.path || !source.count || counts.has(source.path)) continue;
      try {
        counts.set(source.path, source.count());
      } catch (e) {
        log.warning("Cannot count the assignments of {source}: {error}", {
          source: source.description,
          error: (e as Error).message,
        });
      }
    }
    return [...counts];
  }

  /** Explain how this engine answers `packet`, without side effects (see `MessageHandler`). */
  explain(packet: IncomingPacket): Promise<ExplainTrace> {
    return this.handler.explain(packet, this.#lookups.timeoutMs);
  }

  /**
   * Handle one packet that is not part of a batch (a TCP query): the result at once, or a
   * promise when it waits for a lookup (counted as parked until it settles).
   */
  handle(packet: IncomingPacket): HandleResult | Promise<HandleResult> {
    const result = this.handler.handle(packet, this.stats, this.#lookups);
    if (!(result instanceof Promise)) return result;
    this.#parked++;
    return result.finally(() => this.#unpark());
  }

  /**
   * Handle a batch, appending the replies to `out`. Never throws: a packet whose handling fails
   * unexpectedly is logged, counted in `handling_errors` and left unanswered, and the rest of the
   * batch is handled as usual. With `replyWriter` (reset first) the replies' bytes are views of
   * its buffer, valid until it is reset again: for callers that copy them out before the next
   * batch, saving an allocation per reply. A packet that waits for a lookup is parked; its
   * replies go to {@link Engine.settled} later, with bytes of their own.
   */
  handleBatch(packets: readonly WirePacket[], out: WireReply[], replyWriter?: Writer): void {
    replyWriter?.reset();
    // One clock read per packet: the end of one packet's handling is the start of the next's.
    let start = requestClock();
    for (let k = 0; k < packets.length; k++) {
      const p = packets[k];
      setPacketId(p.id);
      let parked = false;
      try {
        const result = this.handler.handle(
          {
            data: p.data,
            source: p.source,
            sourcePort: p.sourcePort,
            interfaceName: p.interfaceName,
            linkAddress: p.linkAddress,
            receivedOverMulticast: p.multicast,
            receivedOverTcp: false,
            marks: p.marks,
            id: p.id,
            replyWriter,
          },
          this.stats,
          this.#lookups,
          // The web UI's summaries need every request's bundle: no reused answers then.
          this.transactions === undefined,
        );
        if (result instanceof Promise) {
          parked = true;
          this.#park(result, p, start);
        } else {
          if (this.transactions) {
            this.transactions.add(summarizeTransaction(result, p, requestClock() - start));
          }
          const replies = result.replies;
          for (let i = 0; i < replies.length; i++) {
            const r = replies[i];
            out.push({
              listener: p.listener,
              data: r.data,
              destination: r.destination,
              port: r.port,
            });
          }
        }
      } catch (e) {
        this.#handlingError(p, e);
      } finally {
        const end = requestClock();
        if (!parked) this.latency.observe((end - start) / 1000);
        start = end;
        setPacketId(undefined);
      }
    }
  }

  #handlingError(p: WirePacket, e: unknown): void {
    this.stats.add([], I_HANDLING_ERRORS);
    log.error("{id}: error while handling a packet from {source}: {error}", {
      id: p.id,
      source: p.source,
      error: e,
    });
  }

  /** Wait for a parked request, then pass its replies to {@link Engine.settled}. */
  #park(pending: Promise<HandleResult>, p: WirePacket, start: number): void {
    this.#parked++;
    const { listener, id, source } = p;
    pending.then((result) => {
      this.latency.observe((requestClock() - start) / 1000);
      if (this.transactions) {
        this.transactions.add(summarizeTransaction(result, p, requestClock() - start));
      }
      const replies: WireReply[] = [];
      for (const r of result.replies) {
        replies.push({ listener, data: r.data, destination: r.destination, port: r.port });
      }
      this.settled(replies);
    }).catch((e) => {
      this.#handlingError({ ...p, id, source }, e);
    }).finally(() => this.#unpark());
  }

  #unpark(): void {
    if (--this.#parked === 0 && this.#idle) {
      this.#idle.resolve();
      this.#idle = undefined;
    }
  }

  /**
   * Resolves when no request is parked any more, at the latest after `lookup-timeout` (and a
   * margin): every parked request times out by then. New requests may still be handed to the
   * engine meanwhile; callers stop doing that first.
   */
  async drain(): Promise<void> {
    if (this.#parked === 0) return;
    this.#idle ??= Promise.withResolvers<void>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#idle.promise,
      new Promise<void>((resolve) => timer = setTimeout(resolve, this.#lookups.timeoutMs + 1000)),
    ]);
    clearTimeout(timer);
  }

  /** Wait for the parked requests ({@link Engine.drain}), then release the handlers. */
  async close(): Promise<void> {
    await this.drain();
    await this.handler.close();
  }
}
