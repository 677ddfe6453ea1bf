/**
 * Loading extension modules before a configuration is validated.
 *
 * A configuration names its extensions with top-level `extension MODULE` keys (or the
 * `%import MODULE` directive, which the parser turns into such a key). They must be imported
 * before the rest of the file is validated, because they register the section types the file
 * uses. {@link loadExtensions} does that with a light pre-pass over the syntax tree: it finds the
 * keys, resolves each module and `await import()`s it. The normal, synchronous
 * {@link loadConfig} runs afterwards and knows every section type.
 *
 * Extensions composed into a custom executable are imported by its entry file instead; that file
 * calls {@link useExtensions} so that worker threads, which start from the server's own worker
 * module, import them too.
 *
 * @module
 */

import { dirname, isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type ConfigIssue, IssueCollector } from "./errors.ts";
import {
  parseConfigFile,
  parseConfigText,
  type ParseOptions,
  type SyntaxSection,
} from "./parser.ts";

/** The top-level key that names an extension module. */
export const EXTENSION_KEY = "extension";

/**
 * Environment variable through which {@link useExtensions} tells worker threads (which share the
 * process environment but not module state) which modules to import. One URL per line.
 */
export const EXTENSIONS_ENV = "DHCPKIT_EXTENSIONS";

/** One `extension` key (or `%import` directive) found in a configuration. */
export interface ExtensionReference {
  /** The module as written in the file. */
  readonly specifier: string;
  /** The URL it is imported from. */
  readonly url: string;
  /** File the key is written in. */
  readonly file: string;
  /** Line of the key. */
  readonly line: number;
}

/** Outcome of {@link loadExtensions}. */
export interface ExtensionLoadResult {
  /** URLs of every module imported (composed ones first), in order. */
  readonly loaded: readonly string[];
  /** One `cannot load extension` error per module that failed to import. */
  readonly errors: readonly ConfigIssue[];
}

const SCHEME_RE = /^[A-Za-z][A-Za-z0-9+.-]+:/;

/**
 * Turn a module as written in a configuration into a URL: specifiers with a scheme (`file:`,
 * `https:`, `npm:`, `jsr:`) are used as they are; paths are resolved against the folder of the
 * file they are written in.
 */
export function resolveExtension(specifier: string, file: string): string {
  if (SCHEME_RE.test(specifier)) return specifier;
  const path = isAbsolute(specifier) ? specifier : resolve(dirname(resolve(file)), specifier);
  return pathToFileURL(path).href;
}

/**
 * Find the extension modules a configuration names (top-level `extension` keys, including those
 * from `%import` and from included files). Syntax errors are ignored here: the normal load
 * reports them.
 */
export function findExtensions(
  configPath: string,
  text?: string,
  options: ParseOptions = {},
): ExtensionReference[] {
  const ignored = new IssueCollector();
  let root: SyntaxSection;
  try {
    root = text === undefined
      ? parseConfigFile(configPath, ignored, options)
      : parseConfigText(text, configPath, ignored, options);
  } catch {
    return [];
  }
  return root.keys
    .filter((k) => k.key === EXTENSION_KEY && !k.invalid && k.value !== "")
    .map((k) => ({
      specifier: k.value,
      url: resolveExtension(k.value, k.file),
      file: k.file,
      line: k.line,
    }));
}

/** The modules composed into this program with {@link useExtensions} (as URLs). */
export function composedExtensions(): string[] {
  let value: string | undefined;
  try {
    value = Deno.env.get(EXTENSIONS_ENV);
  } catch {
    return [];
  }
  return (value ?? "").split("\n").filter((s) => s !== "");
}

/** The first line of an import failure, for a one-line message. */
function reason(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.split("\n")[0].trim() || "import failed";
}

/**
 * Import the extensions a configuration needs: the modules composed into the program and those
 * named by its `extension` keys. Call it (and await it) before loading the configuration, in the
 * main thread and in every worker. Modules already imported are not run again.
 */
export async function loadExtensions(
  configPath: string,
  text?: string,
  options: ParseOptions = {},
): Promise<ExtensionLoadResult> {
  const loaded: string[] = [];
  const issues = new IssueCollector();
  for (const url of composedExtensions()) {
    try {
      await import(url);
      loaded.push(url);
    } catch (e) {
      issues.error(configPath, 0, `cannot load extension ${url}: ${reason(e)}`);
    }
  }
  for (const ref of findExtensions(configPath, text, options)) {
    try {
      await import(ref.url);
      loaded.push(ref.url);
    } catch (e) {
      issues.error(ref.file, ref.line, `cannot load extension ${ref.specifier}: ${reason(e)}`);
    }
  }
  return { loaded, errors: issues.sorted() };
}

/**
 * Compose extension modules into a program: import each one now and record it so that every
 * worker thread imports it too before it loads the configuration. Call it from a custom entry
 * file before {@link main}, with absolute URLs (e.g. `import.meta.resolve("./acme.ts")`).
 * Import the modules statically as well, so that `deno compile` embeds them.
 */
export async function useExtensions(...modules: (string | URL)[]): Promise<void> {
  const urls = composedExtensions();
  for (const module of modules) {
    const url = String(module);
    await import(url);
    if (!urls.includes(url)) urls.push(url);
  }
  try {
    Deno.env.set(EXTENSIONS_ENV, urls.join("\n"));
  } catch {
    // Without --allow-env, workers will not know about composed extensions; the main thread does.
  }
}
