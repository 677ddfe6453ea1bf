/**
 * The part of request handling shared by workers and the main thread: load a configuration,
 * build its pipeline, and turn batches of packets into replies.
 * @module
 */

import { formatIssue, loadConfig, loadConfigText, type ServerConfig } from "../config/mod.ts";
import { type Duid, duidFromBytes } from "../protocol/mod.ts";
import { type MessageHandler, StatisticsStore } from "../pipeline/mod.ts";
import { buildMessageHandler } from "./pipeline_builder.ts";
import { registerBuiltinSections } from "../handlers/builtin_sections.ts";

registerBuiltinSections();
import type { WirePacket, WireReply } from "./wire.ts";

/** Load a configuration from a file or text, throwing one error listing every problem. */
export function loadServerConfig(path: string, text?: string, hostChecks = true): ServerConfig {
  const result = text === undefined
    ? loadConfig(path, { hostChecks })
    : loadConfigText(text, path, { hostChecks });
  if (!result.config) {
    throw new Error(result.errors.map(formatIssue).join("\n") || "configuration failed to load");
  }
  return result.config;
}

/** A pipeline ready to handle packets, with its own statistics. */
export class Engine {
  /** Counters not yet reported to the main thread. */
  readonly stats = new StatisticsStore();

  /** Wrap a pipeline. */
  constructor(readonly handler: MessageHandler) {}

  /** Build an engine for a configuration and server DUID, running per-worker initialisation. */
  static async create(config: ServerConfig, serverDuid: Duid | Uint8Array): Promise<Engine> {
    const duid = serverDuid instanceof Uint8Array ? duidFromBytes(serverDuid) : serverDuid;
    const handler = buildMessageHandler(config, duid);
    await handler.workerInit();
    return new Engine(handler);
  }

  /** Handle a batch, appending the replies to `out`. */
  handleBatch(packets: readonly WirePacket[], out: WireReply[]): void {
    for (const p of packets) {
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
      }, this.stats);
      for (const r of result.replies) {
        out.push({ listener: p.listener, data: r.data, destination: r.destination, port: r.port });
      }
    }
  }
}
