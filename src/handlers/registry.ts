/**
 * The installed extensions: {@link installExtensions} puts extension objects into the registries
 * (section types into a schema registry; factories, options, shared buffers and hooks into this
 * process), and {@link buildHandlerTree} turns a configuration's handler tree into the pipeline's
 * filters and handlers with their factories. Nothing here names a section type.
 * @module
 */

import {
  type ConfigSection,
  defaultRegistry,
  registerCoreSections,
  type SchemaRegistry,
} from "../config/mod.ts";
import { type Filter, type Handler, statisticFamilies } from "../pipeline/mod.ts";
import { allowInMessage, allowInOption, type Duid, registerOption } from "../protocol/mod.ts";
import type {
  ComponentDefinition,
  Extension,
  FilterDefinition,
  HandlerDefinition,
  SectionFactory,
  SharedDataDefinition,
} from "./extension.ts";
import { declareSharedBuffer } from "./shared_memory.ts";

/** What factories may need besides their own section. */
export interface BuildContext {
  /** Folder of the main configuration file (relative paths are resolved against it). */
  readonly configDir: string;
  /** The server's DUID. */
  readonly serverDuid: Duid;
  /**
   * The whole configuration (its top-level settings and sections), for handlers that use a
   * top-level section (e.g. the pools' lease store); absent where a pipeline is built from
   * handler sections alone.
   */
  readonly root?: ConfigSection;
}

/** A factory together with the extension that installed it. */
interface Installed<T> {
  readonly extension: Extension;
  readonly definition: T;
}

const installed: Extension[] = [];
const handlers = new Map<string, Installed<HandlerDefinition>>();
const filters = new Map<string, Installed<FilterDefinition>>();
const components = new Map<string, Installed<ComponentDefinition>>();
const shared = new Map<string, SharedDataDefinition[]>();
/** Which extensions each schema registry has received. */
const schemas = new WeakMap<SchemaRegistry, Set<Extension>>();

/** The installed extensions, in the order they were installed. */
export function installedExtensions(): readonly Extension[] {
  return installed;
}

/** Throw when another extension already implements one of `list`'s section types in `map`. */
function checkFree<T extends SectionFactory<unknown>>(
  extension: Extension,
  map: Map<string, Installed<T>>,
  list: readonly T[] = [],
): void {
  for (const definition of list) {
    const type = definition.section.type.toLowerCase();
    const other = map.get(type);
    if (other && other.extension !== extension) {
      throw new Error(
        `extension ${extension.name}: <${type}> is already implemented by extension ` +
          other.extension.name,
      );
    }
  }
}

/** Put `list`'s factories into `map`. */
function add<T extends SectionFactory<unknown>>(
  extension: Extension,
  map: Map<string, Installed<T>>,
  list: readonly T[] = [],
): void {
  for (const definition of list) {
    map.set(definition.section.type.toLowerCase(), { extension, definition });
  }
}

/** Add an extension's factories, or none when another extension implements one of its types. */
function addFactories(extension: Extension): void {
  checkFree(extension, handlers, extension.handlers);
  checkFree(extension, filters, extension.filters);
  checkFree(extension, components, extension.components);
  add(extension, handlers, extension.handlers);
  add(extension, filters, extension.filters);
  add(extension, components, extension.components);
}

/** Register an extension's section types, kinds and section additions in `schema` (once). */
function installSchema(extension: Extension, schema: SchemaRegistry): void {
  let done = schemas.get(schema);
  if (!done) schemas.set(schema, done = new Set());
  if (done.has(extension)) return;
  const specs = [
    ...(extension.sections ?? []),
    ...[...extension.handlers ?? [], ...extension.filters ?? [], ...extension.components ?? []]
      .map((d) => d.section),
  ];
  for (const [kind, info] of Object.entries(extension.kinds ?? {})) schema.registerKind(kind, info);
  for (const spec of specs) {
    try {
      schema.register(spec);
    } catch (e) {
      throw new Error(`extension ${extension.name}: ${(e as Error).message}`);
    }
  }
  for (const [type, addition] of Object.entries(extension.extendSections ?? {})) {
    schema.extendSection(type, {
      keys: [...addition.keys ?? []],
      contains: [...addition.contains ?? []],
      ...(addition.validate ? { validate: addition.validate } : {}),
    });
  }
  done.add(extension);
}

/** Install an extension's run-time parts in this process (once). */
function installRuntime(extension: Extension): void {
  if (installed.includes(extension)) return;
  addFactories(extension);
  for (const { option, placements } of extension.options ?? []) {
    registerOption(option);
    for (const p of placements ?? []) {
      if (p.messages) allowInMessage(p.messages, option.code, p.min ?? 0, p.max ?? Infinity);
      if (p.options) allowInOption(p.options, option.code, p.min ?? 0, p.max ?? Infinity);
    }
  }
  for (const [name, bytes] of Object.entries(extension.sharedBuffers ?? {})) {
    declareSharedBuffer(name, bytes);
  }
  for (const definition of extension.sharedData ?? []) {
    const type = definition.section.type.toLowerCase();
    shared.set(type, [...shared.get(type) ?? [], definition]);
  }
  for (const family of extension.statistics ?? []) {
    try {
      statisticFamilies.register(family);
    } catch (e) {
      throw new Error(`extension ${extension.name}: ${(e as Error).message}`);
    }
  }
  installed.push(extension);
}

/**
 * Install extensions: their section types, kinds and section additions go into `schema` (the
 * default registry unless given; the core section types are registered there first), everything
 * else (factories, options, shared buffers, hooks) into this process. Installing an extension
 * again does nothing; an extension that implements a section type another one already implements
 * is refused with an error naming both.
 */
export function installExtensions(
  extensions: readonly Extension[],
  schema: SchemaRegistry = defaultRegistry,
): SchemaRegistry {
  registerCoreSections(schema);
  for (const extension of extensions) {
    installSchema(extension, schema);
    installRuntime(extension);
  }
  return schema;
}

/** A section whose type has a schema but no installed factory. */
export class MissingFactoryError extends Error {
  /** Create the error for `section`. */
  constructor(readonly section: ConfigSection) {
    super(`${section.file}:${section.line}: no implementation is installed for <${section.type}>`);
    this.name = "MissingFactoryError";
  }
}

/**
 * Build the object behind a section of an extension's own kind (e.g. the store inside
 * `<leasequery>`) with the factory installed for its type.
 */
export function buildComponent(section: ConfigSection, ctx: BuildContext): unknown {
  const entry = components.get(section.type);
  if (!entry) throw new MissingFactoryError(section);
  return entry.definition.build(section, ctx);
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
      const entry = filters.get(section.type);
      if (!entry) throw new MissingFactoryError(section);
      const filter = entry.definition.build(section, ctx);
      const inner = buildHandlerTree(section.children, ctx);
      filter.filters.push(...inner.filters);
      filter.handlers.push(...inner.handlers);
      tree.filters.push(filter);
    } else if (section.kind === "handler") {
      const entry = handlers.get(section.type);
      if (!entry) throw new MissingFactoryError(section);
      tree.handlers.push(entry.definition.build(section, ctx));
    }
  }
  return tree;
}

/**
 * Build the shared data (see `sharedDataFor`) of every section in `sections` and their
 * children, once per key. A build that fails leaves its key out: the handler then opens its
 * source itself and reports why that fails.
 */
export async function buildSharedData(
  sections: readonly ConfigSection[],
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const visit = async (list: readonly ConfigSection[]): Promise<void> => {
    for (const section of list) {
      for (const definition of shared.get(section.type) ?? []) {
        const key = definition.key(section);
        if (key in out) continue;
        try {
          out[key] = await definition.build(section);
        } catch {
          // Left out: the handler builds its own and reports the problem.
        }
      }
      await visit(section.children);
    }
  };
  await visit(sections);
  return out;
}
