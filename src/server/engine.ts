/**
 * The part of request handling shared by workers and the main thread: load a configuration,
 * build its pipeline, and turn batches of packets into replies.
 * @module
 */

import { formatIssue, loadConfig, loadConfigText, type ServerConfig } from "../config/mod.ts";
import { type Duid, duidFromBytes, type Writer } from "../protocol/mod.ts";
import { getLogger } from "@logtape/logtape";
import { type MessageHandler, scalarIndex, StatisticsStore } from "../pipeline/mod.ts";
import { buildMessageHandler } from "./pipeline_builder.ts";
import { setPacketId } from "./logging.ts";
import { LatencyHistogram } from "./metrics.ts";
import { installBuiltins, loadExtensions } from "../handlers/mod.ts";
import { StaticAssignmentHandler } from "../handlers/static/handler.ts";

import type { WirePacket, WireReply } from "./wire.ts";

const log = getLogger(["dhcpkit", "server"]);
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

/**
 * A pipeline ready to handle packets. A worker's engine counts into stores of its own that are
 * drained to the main thread; the main thread's engine (`workers 0`) counts straight into the
 * server's stores.
 */
export class Engine {
  /** Wrap a pipeline, counting into `stats` and `latency`. */
  constructor(
    readonly handler: MessageHandler,
    readonly stats: StatisticsStore = new StatisticsStore(),
    readonly latency: LatencyHistogram = new LatencyHistogram(),
  ) {}

  /** Build an engine for a configuration and server DUID, running per-worker initialisation. */
  static async create(
    config: ServerConfig,
    serverDuid: Duid | Uint8Array,
    stats?: StatisticsStore,
    latency?: LatencyHistogram,
  ): Promise<Engine> {
    const duid = serverDuid instanceof Uint8Array ? duidFromBytes(serverDuid) : serverDuid;
    const handler = buildMessageHandler(config, duid);
    await handler.workerInit();
    return new Engine(handler, stats, latency);
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

  /**
   * Handle a batch, appending the replies to `out`. Never throws: a packet whose handling fails
   * unexpectedly is logged, counted in `handling_errors` and left unanswered, and the rest of the
   * batch is handled as usual. With `replyWriter` (reset first) the replies' bytes are views of
   * its buffer, valid until it is reset again: for callers that copy them out before the next
   * batch, saving an allocation per reply.
   */
  handleBatch(packets: readonly WirePacket[], out: WireReply[], replyWriter?: Writer): void {
    replyWriter?.reset();
    for (const p of packets) {
      setPacketId(p.id);
      const start = performance.now();
      try {
        const result = this.handler.handle({
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
        }, this.stats);
        for (const r of result.replies) {
          out.push({
            listener: p.listener,
            data: r.data,
            destination: r.destination,
            port: r.port,
          });
        }
      } catch (e) {
        this.stats.add([], I_HANDLING_ERRORS);
        log.error("{id}: error while handling a packet from {source}: {error}", {
          id: p.id,
          source: p.source,
          error: e,
        });
      } finally {
        this.latency.observe((performance.now() - start) / 1000);
        setPacketId(undefined);
      }
    }
  }
}
