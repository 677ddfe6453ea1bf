/**
 * Builds the request pipeline (a MessageHandler) from a typed configuration and the installed
 * extensions: the configured filters and handlers, plus every extension's setup and cleanup
 * handlers; and finds the extension that streams the rest of an answer over TCP.
 * @module
 */

import { dirname } from "node:path";
import type { ServerConfig } from "../config/mod.ts";
import { type BuildContext, buildHandlerTree, installedExtensions } from "../handlers/mod.ts";
import { type HandleResult, MessageHandler, StatisticsCategories } from "../pipeline/mod.ts";
import type { ClientServerMessage, Duid } from "../protocol/mod.ts";

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
  const ctx: BuildContext = { configDir: dirname(config.file), serverDuid, root: config.root };
  const tree = buildHandlerTree(config.handlers, ctx);
  const extensions = installedExtensions();
  return new MessageHandler({
    serverDuid,
    filters: tree.filters,
    handlers: tree.handlers,
    allowRapidCommit: config.allowRapidCommit,
    rapidCommitRejections: config.rapidCommitRejections,
    reuseAnswers: config.reuseAnswers,
    categories: categoriesOf(config),
    setupHandlers: extensions.flatMap((e) => e.setupHandlers?.(ctx) ?? []),
    cleanupHandlers: extensions.flatMap((e) => e.cleanupHandlers?.(ctx) ?? []),
  });
}

/** The rest of an answer over TCP, and how to end it when it is cut short. */
export interface ResponseStream {
  /** The messages after the pipeline's replies, produced lazily. */
  readonly messages: Iterable<ClientServerMessage> | AsyncIterable<ClientServerMessage>;
  /** The message that ends the stream when it is cut short (`reason` says why), if any. */
  terminated(reason: string): ClientServerMessage | undefined;
}

/**
 * The stream that follows `result`'s replies: from the first installed extension whose stream
 * responder has one for it; undefined when none has.
 */
export function responseStream(result: HandleResult): ResponseStream | undefined {
  for (const extension of installedExtensions()) {
    const responder = extension.streamResponder;
    const messages = responder?.rest(result);
    if (responder && messages) {
      return { messages, terminated: (reason) => responder.terminated(result, reason) };
    }
  }
  return undefined;
}
