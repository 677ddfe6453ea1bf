/**
 * The configuration schema: section types, their keys and what they may contain, plus the
 * registry extensions use to add their own section types.
 *
 * @module
 */

import type { DataType, ValueContext } from "./datatypes.ts";

/**
 * Where a section type may appear. The core kinds are listed; extensions may introduce their own
 * (an extension's `kinds`) and allow them somewhere with `contains` or `extendSections`.
 */
export type SectionKind =
  | "root"
  | "logging"
  | "statistics"
  | "duid"
  | "listener"
  | "filter"
  | "handler"
  | "log-handler"
  | "metrics"
  | "web-ui"
  | (string & Record<never, never>);

/** One key a section accepts. */
export interface KeySpec<T = unknown> {
  /** Key name as written in the file (lower case, words separated by `-`). */
  readonly name: string;
  /** How the value text is converted. */
  readonly type: DataType<T>;
  /** Property name in the section's `values`; defaults to the key name in camelCase. */
  readonly property?: string;
  /** The key must be given. */
  readonly required?: boolean;
  /** The key may be given several times; the value is then an array in file order. */
  readonly multiple?: boolean;
  /** Typed value used when the key is absent (an array for multiple keys). */
  readonly default?: unknown;
  /** Computes the default when it depends on the machine (e.g. CPU count). */
  readonly defaultFrom?: (ctx: ValueContext) => unknown;
  /** How the default is described in the documentation, when it is not a literal value. */
  readonly defaultText?: string;
  /** What the key means, in our own words (Markdown). */
  readonly description: string;
  /** An example value (text as it would appear after the key). */
  readonly example?: string;
}

/** How a section's name (`<type NAME>`) is parsed. Sections without a NameSpec take no name. */
export interface NameSpec<T = unknown> {
  /** How the name text is converted. */
  readonly type: DataType<T>;
  /** Whether the name must be given. */
  readonly required: boolean;
  /** Property in `values` that receives the converted name; omitted = only in `nameValue`. */
  readonly property?: string;
  /** What the name means. */
  readonly description: string;
}

/** Which sub-sections a section type may contain. */
export interface ContainsSpec {
  /** Kind of section allowed inside. */
  readonly kind: SectionKind;
  /** Minimum number of such sections (default 0). */
  readonly min?: number;
  /** Maximum number of such sections (default unlimited). */
  readonly max?: number;
}

/** Lets a section's cross-field check report problems. */
export interface SectionChecker {
  /** Report an error; the line defaults to the section's opening line. */
  error(message: string, line?: number): void;
  /** Report a warning; the line defaults to the section's opening line. */
  warning(message: string, line?: number): void;
  /** Report a failed host check (skipped when host checks are off). */
  hostError(message: string, line?: number): void;
  /** Whether host checks are enabled. */
  readonly hostChecks: boolean;
}

/** Values of a section whose type is not known statically. */
// deno-lint-ignore no-explicit-any
export type GenericValues = Record<string, any>;

/** The description of one section type. */
export interface SectionSpec<V extends object = GenericValues> {
  /** Section type as written in tags, lower case (e.g. `recursive-name-servers`). */
  readonly type: string;
  /** Where the section may appear. */
  readonly kind: SectionKind;
  /** What the section does, in our own words (Markdown paragraphs). */
  readonly description: string;
  /** An example of the section as it would appear in a configuration file. */
  readonly example?: string;
  /** The section's name, if it takes one. */
  readonly name?: NameSpec;
  /** The keys the section accepts. */
  readonly keys: readonly KeySpec[];
  /** The kinds of sub-sections it may contain. */
  readonly contains?: readonly ContainsSpec[];
  /** Checks that involve more than one value; runs only when all keys parsed cleanly. */
  readonly validate?: (section: ConfigSection<V>, check: SectionChecker) => void;
}

/**
 * A parsed and validated section: the generic node every section type produces. `values` holds
 * the typed values of its keys (and of its name, if the NameSpec has a property).
 */
export interface ConfigSection<V extends object = GenericValues> {
  /** Section type (`subnet`, `recursive-name-servers`, ...). */
  readonly type: string;
  /** Kind of the section type. */
  readonly kind: SectionKind;
  /** The name exactly as written, if any. */
  readonly name?: string;
  /** The converted name, if any. */
  readonly nameValue?: unknown;
  /** File the section was read from. */
  readonly file: string;
  /** Line of the opening tag. */
  readonly line: number;
  /** Typed values, keyed by property name. */
  readonly values: V;
  /** Line of each key that was given, keyed by key name (first occurrence). */
  readonly keyLines: Readonly<Record<string, number>>;
  /** Sub-sections in file order. */
  readonly children: readonly ConfigSection[];
}

/** Documentation for a section kind (a group of section types). */
export interface KindInfo {
  /** Heading for the group, e.g. `Handlers`. */
  readonly title: string;
  /** What sections of this kind do. */
  readonly description: string;
}

/** Declare a section type with typed values (an identity function that helps type inference). */
export function defineSection<V extends object>(spec: SectionSpec<V>): SectionSpec<V> {
  return spec;
}

/** True when `node` was produced by `spec`, narrowing its `values` to the spec's type. */
export function isSectionOf<V extends object>(
  node: ConfigSection,
  spec: SectionSpec<V>,
): node is ConfigSection<V> {
  return node.type === spec.type;
}

/** The property a key's value is stored under: its `property` or its name in camelCase. */
export function propertyOf(key: KeySpec): string {
  return key.property ?? key.name.replace(/[-._]([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** A section type whose values are not known statically (what the registry stores). */
// deno-lint-ignore no-explicit-any
export type AnySpec = SectionSpec<any>;

/** The set of known section types and kinds. */
export class SchemaRegistry {
  #types = new Map<string, AnySpec>();
  /** The spec objects as registered (before any extendSection), for idempotent registration. */
  #originals = new Map<string, AnySpec>();
  #kinds = new Map<string, KindInfo>();

  /** Add a section type; throws if a different section type with that name exists. */
  register(spec: AnySpec): void {
    const type = spec.type.toLowerCase();
    const existing = this.#originals.get(type);
    if (existing === spec) return;
    if (existing) throw new Error(`section type <${type}> already registered`);
    this.#originals.set(type, spec);
    this.#types.set(type, spec);
  }

  /** Describe a section kind (for documentation and messages). */
  registerKind(kind: SectionKind, info: KindInfo): void {
    this.#kinds.set(kind, info);
  }

  /**
   * Add keys, allowed sub-section kinds or a further check (run after the section's own, with
   * its sub-sections built) to an already registered section type.
   */
  extendSection(
    type: string,
    extra: {
      keys?: KeySpec[];
      contains?: ContainsSpec[];
      validate?: (section: ConfigSection, check: SectionChecker) => void;
    },
  ): void {
    const spec = this.#types.get(type);
    if (!spec) throw new Error(`section type <${type}> is not registered`);
    const own = spec.validate;
    const more = extra.validate;
    this.#types.set(type, {
      ...spec,
      keys: [...spec.keys, ...(extra.keys ?? [])],
      contains: [...(spec.contains ?? []), ...(extra.contains ?? [])],
      ...(more
        ? {
          validate: (section: ConfigSection, check: SectionChecker) => {
            own?.(section, check);
            more(section, check);
          },
        }
        : {}),
    });
  }

  /** The section type with this name, if registered. */
  get(type: string): AnySpec | undefined {
    return this.#types.get(type.toLowerCase());
  }

  /** True when the type is registered. */
  has(type: string): boolean {
    return this.#types.has(type.toLowerCase());
  }

  /** All registered section types, sorted by name. */
  types(): AnySpec[] {
    return [...this.#types.values()].sort((a, b) => a.type.localeCompare(b.type));
  }

  /** Registered section types of one kind, sorted by name. */
  ofKind(kind: SectionKind): AnySpec[] {
    return this.types().filter((s) => s.kind === kind);
  }

  /** Documentation of a kind, if registered. */
  kind(kind: SectionKind): KindInfo | undefined {
    return this.#kinds.get(kind);
  }

  /** All documented kinds. */
  kinds(): Map<string, KindInfo> {
    return new Map(this.#kinds);
  }
}

/** The registry used when no other is given; installed extensions add their section types here. */
export const defaultRegistry: SchemaRegistry = new SchemaRegistry();
