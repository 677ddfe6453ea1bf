/**
 * The one shape of a dhcpkit extension, used by the built-in handler folders and by extensions
 * alike: a plain object made with {@link defineExtension} that lists what the extension adds.
 * Nothing is registered when a module is imported; {@link installExtensions} (in `registry.ts`)
 * puts the objects into the registries.
 *
 * ```ts
 * export const preferenceExtension = defineExtension({
 *   name: "preference",
 *   handlers: [handlerFor(preferenceSection, (values) => new PreferenceOptionHandler(values.level))],
 * });
 * ```
 * @module
 */

import {
  type AnySpec,
  type ConfigSection,
  type ContainsSpec,
  isSectionOf,
  type KeySpec,
  type KindInfo,
  type SectionChecker,
  type SectionSpec,
} from "../config/mod.ts";
import type { Filter, Handler, HandleResult, StatisticFamily } from "../pipeline/mod.ts";
import type { ClientServerMessage, OptionType } from "../protocol/mod.ts";
import type { BuildContext } from "./registry.ts";

/** Turns a configuration section into something that runs (a handler, a filter, a store...). */
export interface SectionFactory<T> {
  /** The section type it implements (registered with the extension). */
  readonly section: AnySpec;
  /** Build it from a validated section of that type. */
  build(section: ConfigSection, ctx: BuildContext): T;
}

/** Creates the handler of one handler section type; made by {@link handlerFor}. */
export type HandlerDefinition = SectionFactory<Handler>;
/** Creates the filter (without children) of one filter section type; made by {@link filterFor}. */
export type FilterDefinition = SectionFactory<Filter>;
/**
 * Creates the object behind a section of another kind, which a handler builds from its
 * sub-sections with `buildComponent` (e.g. a leasequery store); made by {@link componentFor}.
 */
export type ComponentDefinition = SectionFactory<unknown>;

/** Where an option may appear, and how many times. */
export interface OptionPlacement {
  /** Message types it may appear in (e.g. `ReplyMessage.messageType`). */
  readonly messages?: readonly number[];
  /** Codes of the container options it may appear in (e.g. IA_NA's 3). */
  readonly options?: readonly number[];
  /** Minimum number of occurrences (default 0). */
  readonly min?: number;
  /** Maximum number of occurrences (default unlimited). */
  readonly max?: number;
}

/** An option class and where it may appear. */
export interface OptionDefinition {
  /** The option class: parsing, names in tools and configuration find it by its code. */
  readonly option: OptionType;
  /** Its placement rules; an option without any is accepted nowhere a rule table exists. */
  readonly placements?: readonly OptionPlacement[];
}

/**
 * Read-only data that every worker of a server needs for a section and that should exist once:
 * the main thread builds it for each configuration (start, reload) before the workers build
 * their pipelines, and hands it to them; the section's handler finds it with
 * `sharedData(key)` (shared_memory.ts) and builds its own when it is missing (a pipeline built
 * outside a server, or a build in the main thread that failed). Made by {@link sharedDataFor}.
 */
export interface SharedDataDefinition {
  /** The section type it is built for. */
  readonly section: AnySpec;
  /** The name the data is shared under (sections with equal keys share one build). */
  key(section: ConfigSection): string;
  /**
   * Build it: structured-cloneable, ideally `SharedArrayBuffer`s (shared, not copied). A
   * rejection only leaves the data unshared: the handler then reports the problem itself.
   */
  build(section: ConfigSection): Promise<unknown>;
}

/** Keys and sub-section kinds an extension adds to a section type defined elsewhere. */
export interface SectionAddition {
  /** Extra keys. */
  readonly keys?: readonly KeySpec[];
  /** Extra kinds of sub-sections. */
  readonly contains?: readonly ContainsSpec[];
  /**
   * A further check of the section, run after its own with its sub-sections built (e.g. a check
   * across the whole configuration, added to `server`).
   */
  readonly validate?: (section: ConfigSection, check: SectionChecker) => void;
}

/**
 * Answers a request received over TCP (`<listen-tcp>`) with more than one message: the TCP
 * listener asks each installed extension's responder in turn for the messages that follow the
 * pipeline's replies, and sends them as they are produced.
 */
export interface StreamResponder {
  /**
   * The messages that follow `result.replies`, produced lazily, or undefined when this responder
   * has nothing to stream for the request. Stopping the iteration early (`return()`) must release
   * what they hold.
   */
  rest(
    result: HandleResult,
  ): Iterable<ClientServerMessage> | AsyncIterable<ClientServerMessage> | undefined;
  /** The message that ends a stream cut short (server stopping, data source failing), if any. */
  terminated(result: HandleResult, reason: string): ClientServerMessage | undefined;
}

/** Everything an extension adds. Every part is optional except the name. */
export interface Extension {
  /** A short name, used in messages. */
  readonly name: string;
  /**
   * Section types without a factory of their own (e.g. sub-sections their parent reads). The
   * sections of {@link Extension.handlers}, {@link Extension.filters} and
   * {@link Extension.components} are registered with them and need not be listed here.
   */
  readonly sections?: readonly AnySpec[];
  /** New section kinds, documented; allow them somewhere with `contains` or `extendSections`. */
  readonly kinds?: Readonly<Record<string, KindInfo>>;
  /** Keys and sub-section kinds added to section types defined elsewhere (e.g. `server`). */
  readonly extendSections?: Readonly<Record<string, SectionAddition>>;
  /** Handler section types with their factories ({@link handlerFor}). */
  readonly handlers?: readonly HandlerDefinition[];
  /** Filter section types with their factories ({@link filterFor}). */
  readonly filters?: readonly FilterDefinition[];
  /** Section types of other kinds with their factories ({@link componentFor}). */
  readonly components?: readonly ComponentDefinition[];
  /** Option classes and their placement rules. */
  readonly options?: readonly OptionDefinition[];
  /**
   * Named memory shared by every worker (name → bytes), e.g. rate-limit buckets; handlers reach
   * it with `sharedBuffer(name)`.
   */
  readonly sharedBuffers?: Readonly<Record<string, number>>;
  /** Read-only data built once per configuration in the main thread for every worker. */
  readonly sharedData?: readonly SharedDataDefinition[];
  /**
   * Statistics families the extension's handlers count into (`extensionStatistics.series`);
   * shown by `ctl stats`, `stats-json` and `/metrics` with the server's own counters.
   */
  readonly statistics?: readonly StatisticFamily[];
  /** Handlers run for every request right after the server's own setup handlers. */
  setupHandlers?(ctx: BuildContext): Handler[];
  /** Handlers run for every request right before the server's own cleanup handlers. */
  cleanupHandlers?(ctx: BuildContext): Handler[];
  /** Streams further messages of answers over TCP. */
  readonly streamResponder?: StreamResponder;
}

/** Marks objects made by {@link defineExtension} (shared by every copy of this module). */
const BRAND = Symbol.for("dhcpkit.extension");

/** True when `value` was made by {@link defineExtension}. */
export function isExtension(value: unknown): value is Extension {
  return typeof value === "object" && value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === true;
}

function checkKinds(
  name: string,
  list: readonly SectionFactory<unknown>[] | undefined,
  want: string,
  same: boolean,
): void {
  for (const definition of list ?? []) {
    const { type, kind } = definition.section;
    if ((kind === want) !== same) {
      const what = same ? `not a ${want}` : "which handlerFor or filterFor build";
      throw new Error(`extension ${name}: <${type}> is a ${kind} section, ${what}`);
    }
  }
}

/**
 * Declare an extension. Checks that every factory's section has the right kind and returns the
 * object, frozen and marked so that the extension loader recognises it among a module's exports.
 */
export function defineExtension(extension: Extension): Extension {
  if (!extension.name) throw new Error("an extension needs a name");
  checkKinds(extension.name, extension.handlers, "handler", true);
  checkKinds(extension.name, extension.filters, "filter", true);
  checkKinds(extension.name, extension.components, "handler", false);
  checkKinds(extension.name, extension.components, "filter", false);
  const marked = { ...extension };
  Object.defineProperty(marked, BRAND, { value: true });
  return Object.freeze(marked);
}

function factory<V extends object, T>(
  spec: SectionSpec<V>,
  create: (values: V, ctx: BuildContext, section: ConfigSection<V>) => T,
): SectionFactory<T> {
  return {
    section: spec,
    build(section, ctx) {
      if (!isSectionOf(section, spec)) {
        throw new Error(`${section.file}:${section.line}: <${section.type}> is not <${spec.type}>`);
      }
      return create(section.values, ctx, section);
    },
  };
}

/**
 * The handler of section type `spec`: `create` gets the section's typed values, the build
 * context (configuration folder, server DUID) and the section itself (line, sub-sections).
 */
export function handlerFor<V extends object>(
  spec: SectionSpec<V>,
  create: (values: V, ctx: BuildContext, section: ConfigSection<V>) => Handler,
): HandlerDefinition {
  return factory(spec, create);
}

/** The filter of section type `spec`, like {@link handlerFor}; the builder adds its children. */
export function filterFor<V extends object>(
  spec: SectionSpec<V>,
  create: (values: V, ctx: BuildContext, section: ConfigSection<V>) => Filter,
): FilterDefinition {
  return factory(spec, create);
}

/** The object behind section type `spec` of another kind, like {@link handlerFor}. */
export function componentFor<V extends object, T>(
  spec: SectionSpec<V>,
  create: (values: V, ctx: BuildContext, section: ConfigSection<V>) => T,
): ComponentDefinition {
  return factory(spec, create);
}

/**
 * Data of sections of type `spec` built once per configuration for every worker (see
 * {@link SharedDataDefinition}): `key` names it from the section's values, `build` makes it.
 */
export function sharedDataFor<V extends object>(
  spec: SectionSpec<V>,
  key: (values: V) => string,
  build: (values: V) => Promise<unknown>,
): SharedDataDefinition {
  const values = (section: ConfigSection): V => {
    if (!isSectionOf(section, spec)) {
      throw new Error(`${section.file}:${section.line}: <${section.type}> is not <${spec.type}>`);
    }
    return section.values;
  };
  return {
    section: spec,
    key: (section) => key(values(section)),
    build: (section) => build(values(section)),
  };
}
