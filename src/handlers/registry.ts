/**
 * Factories that turn configuration sections into handlers and filters, and the builder that
 * turns a configuration's handler tree into the pipeline's filters and handlers.
 *
 * Every extension registers a factory for each of its section types; nothing here names them.
 * @module
 */

import type { ConfigSection } from "../config/mod.ts";
import type { Duid } from "../protocol/mod.ts";
import type { Filter, Handler } from "../pipeline/mod.ts";

/** What factories may need besides their own section. */
export interface BuildContext {
  /** Folder of the main configuration file (relative paths are resolved against it). */
  readonly configDir: string;
  /** The server's DUID. */
  readonly serverDuid: Duid;
  /** Whether the pipeline is being built in the main thread only to check it (no I/O wanted). */
  readonly checkOnly?: boolean;
}

/** Creates a handler from its section. */
export type HandlerFactory = (section: ConfigSection, ctx: BuildContext) => Handler;
/** Creates a filter (without children; the builder adds them) from its section. */
export type FilterFactory = (section: ConfigSection, ctx: BuildContext) => Filter;

const handlerFactories = new Map<string, HandlerFactory>();
const filterFactories = new Map<string, FilterFactory>();

/** Register the factory for handler section `type`. */
export function registerHandlerFactory(type: string, factory: HandlerFactory): void {
  handlerFactories.set(type.toLowerCase(), factory);
}

/** Register the factory for filter section `type`. */
export function registerFilterFactory(type: string, factory: FilterFactory): void {
  filterFactories.set(type.toLowerCase(), factory);
}

/** A section whose type has a schema but no runtime implementation. */
export class MissingFactoryError extends Error {
  /** Create the error for `section`. */
  constructor(readonly section: ConfigSection) {
    super(`${section.file}:${section.line}: no implementation is registered for <${section.type}>`);
    this.name = "MissingFactoryError";
  }
}

/** The filters and handlers of one scope. */
export interface HandlerTree {
  /** Filters in configuration order. */
  filters: Filter[];
  /** Handlers in configuration order. */
  handlers: Handler[];
}

/** Build the filters and handlers of `sections` (one scope), recursively. */
export function buildHandlerTree(
  sections: readonly ConfigSection[],
  ctx: BuildContext,
): HandlerTree {
  const tree: HandlerTree = { filters: [], handlers: [] };
  for (const section of sections) {
    if (section.kind === "filter") {
      const factory = filterFactories.get(section.type);
      if (!factory) throw new MissingFactoryError(section);
      const filter = factory(section, ctx);
      const inner = buildHandlerTree(section.children, ctx);
      filter.filters.push(...inner.filters);
      filter.handlers.push(...inner.handlers);
      tree.filters.push(filter);
    } else if (section.kind === "handler") {
      const factory = handlerFactories.get(section.type);
      if (!factory) throw new MissingFactoryError(section);
      tree.handlers.push(factory(section, ctx));
    }
  }
  return tree;
}
