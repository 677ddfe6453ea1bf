/**
 * Builds the request pipeline (a MessageHandler) from a typed configuration.
 * @module
 */

import { dirname } from "node:path";
import type { ServerConfig } from "../config/mod.ts";
import "../handlers/builtin_handlers.ts";
import { buildHandlerTree } from "../handlers/registry.ts";
import {
  leasequeryCleanupHandlers,
  leasequerySetupHandlers,
} from "../handlers/leasequery/handler.ts";
import { MessageHandler, StatisticsCategories } from "../pipeline/mod.ts";
import type { Duid } from "../protocol/mod.ts";

/** The statistics categories a configuration asks for. */
export function categoriesOf(config: ServerConfig): StatisticsCategories {
  const s = config.statistics;
  return new StatisticsCategories(
    s.interfaces ?? [],
    (s.subnets ?? []).map((p) => p.text),
    (s.relays ?? []).map((a) => a.text),
  );
}

/** Build the pipeline for `config`, answering as `serverDuid`. */
export function buildMessageHandler(config: ServerConfig, serverDuid: Duid): MessageHandler {
  const tree = buildHandlerTree(config.handlers, { configDir: dirname(config.file), serverDuid });
  return new MessageHandler({
    serverDuid,
    filters: tree.filters,
    handlers: tree.handlers,
    allowRapidCommit: config.allowRapidCommit,
    rapidCommitRejections: config.rapidCommitRejections,
    categories: categoriesOf(config),
    setupHandlers: leasequerySetupHandlers(),
    cleanupHandlers: leasequeryCleanupHandlers(),
  });
}
