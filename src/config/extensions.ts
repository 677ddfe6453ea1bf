/**
 * Where a configuration's extension modules are: the top-level `extension MODULE` keys (or the
 * `%import MODULE` directive, which the parser turns into such a key), found with a light
 * pre-pass over the syntax tree before the file is validated, and the modules composed into the
 * program (recorded in {@link EXTENSIONS_ENV}). Importing and installing them is the handlers
 * layer's job (`loadExtensions` in `src/handlers/extension_loader.ts`): their section types must
 * be installed before the rest of the file is validated.
 *
 * @module
 */

import { dirname, isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { IssueCollector } from "./errors.ts";
import {
  parseConfigFile,
  parseConfigText,
  type ParseOptions,
  type SyntaxSection,
} from "./parser.ts";

/** The top-level key that names an extension module. */
export const EXTENSION_KEY = "extension";

/**
 * Environment variable through which the modules composed into a program (`useExtensions`) are
 * told to worker threads, which share the process environment but not module state. One URL per
 * line.
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

/** The modules composed into this program with `useExtensions` (as URLs). */
export function composedExtensions(): string[] {
  let value: string | undefined;
  try {
    value = Deno.env.get(EXTENSIONS_ENV);
  } catch {
    return [];
  }
  return (value ?? "").split("\n").filter((s) => s !== "");
}
