/**
 * Installing the built-in extensions, and importing and installing extension modules before a
 * configuration is validated.
 *
 * An extension module exports its extension object(s), made with `defineExtension`; importing
 * it registers nothing. {@link loadExtensions} imports the modules a configuration names
 * (`extension MODULE`, `%import MODULE`) and those composed into the program, and installs every
 * extension each one exports. The normal, synchronous `loadConfig` runs afterwards and knows
 * every section type. A module that exports no extension is an error at its key.
 *
 * A custom executable composes extensions in with {@link useExtensions} in its entry file, so
 * that worker threads, which start from the server's own worker module, import and install them
 * too.
 * @module
 */

import {
  composedExtensions,
  type ConfigIssue,
  EXTENSIONS_ENV,
  findExtensions,
  IssueCollector,
  type ParseOptions,
  type SchemaRegistry,
} from "../config/mod.ts";
import { type Extension, isExtension } from "./extension.ts";
import { installExtensions } from "./registry.ts";
import * as builtins from "./builtins.ts";

/** Every built-in extension: those `builtins.ts` lists, in the order of their names. */
export const BUILTIN_EXTENSIONS: readonly Extension[] = Object.values(builtins).filter(isExtension);

/**
 * Install the built-in extensions (idempotent). Their section types, and the core ones, go into
 * `schema` (the default registry unless given), which is returned.
 */
export function installBuiltins(schema?: SchemaRegistry): SchemaRegistry {
  return installExtensions(BUILTIN_EXTENSIONS, schema);
}

/** Outcome of {@link loadExtensions}. */
export interface ExtensionLoadResult {
  /** URLs of every module imported and installed (composed ones first), in order. */
  readonly loaded: readonly string[];
  /** One error per module that failed to import, exports no extension or cannot be installed. */
  readonly errors: readonly ConfigIssue[];
}

/** The extensions a module exports (every export made with `defineExtension`), each once. */
export function extensionsOf(module: Readonly<Record<string, unknown>>): Extension[] {
  return [...new Set(Object.values(module).filter(isExtension))];
}

/** The first line of an error, for a one-line message. */
function reason(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.split("\n")[0].trim() || "import failed";
}

/** Import `url` and install what it exports; the problem as text when that fails. */
async function importAndInstall(url: string, name: string): Promise<string | undefined> {
  let module: Record<string, unknown>;
  try {
    module = await import(url);
  } catch (e) {
    return `cannot load extension ${name}: ${reason(e)}`;
  }
  const extensions = extensionsOf(module);
  if (extensions.length === 0) return `${name} exports no dhcpkit extension`;
  try {
    installExtensions(extensions);
  } catch (e) {
    return `cannot load extension ${name}: ${reason(e)}`;
  }
  return undefined;
}

/**
 * Install the built-in extensions, then import and install those composed into the program and
 * those the configuration's `extension` keys name. Call it (and await it) before loading the
 * configuration, in the main thread and in every worker. Modules already imported are not run
 * again, and extensions already installed are left as they are.
 */
export async function loadExtensions(
  configPath: string,
  text?: string,
  options: ParseOptions = {},
): Promise<ExtensionLoadResult> {
  installBuiltins();
  const loaded: string[] = [];
  const issues = new IssueCollector();
  for (const url of composedExtensions()) {
    const problem = await importAndInstall(url, url);
    if (problem) issues.error(configPath, 0, problem);
    else loaded.push(url);
  }
  for (const ref of findExtensions(configPath, text, options)) {
    const problem = await importAndInstall(ref.url, ref.specifier);
    if (problem) issues.error(ref.file, ref.line, problem);
    else loaded.push(ref.url);
  }
  return { loaded, errors: issues.sorted() };
}

/**
 * Compose extension modules into a program: import each one, install the extensions it exports,
 * and record it so that every worker thread does the same before it loads the configuration.
 * Call it from a custom entry file before `main`, with absolute URLs (e.g.
 * `import.meta.resolve("./acme.ts")`). Import the modules statically as well, so that
 * `deno compile` embeds them. Throws when a module cannot be imported or exports no extension.
 */
export async function useExtensions(...modules: (string | URL)[]): Promise<void> {
  const urls = composedExtensions();
  for (const module of modules) {
    const url = String(module);
    const problem = await importAndInstall(url, url);
    if (problem) throw new Error(problem);
    if (!urls.includes(url)) urls.push(url);
  }
  try {
    Deno.env.set(EXTENSIONS_ENV, urls.join("\n"));
  } catch {
    // Without --allow-env, workers will not know about composed extensions; the main thread does.
  }
}
