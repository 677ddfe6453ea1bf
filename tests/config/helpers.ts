/**
 * Shared helpers for the configuration tests.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import {
  loadConfig,
  loadConfigText,
  type LoadOptions,
  type LoadResult,
} from "../../src/config/mod.ts";
import { installBuiltins } from "../../src/handlers/mod.ts";

/** Registry with all built-in section types. */
export const registry = installBuiltins();

/** Absolute path of a fixture below tests/fixtures/config/. */
export function fixture(rel: string): string {
  return fileURLToPath(new URL(`../fixtures/config/${rel}`, import.meta.url));
}

/** Load a fixture file with all built-in sections. */
export function loadFixture(rel: string, options: LoadOptions = {}): LoadResult {
  return loadConfig(fixture(rel), { registry, ...options });
}

/** Load configuration text (file name `test.conf` in the fixtures folder). */
export function loadText(text: string, options: LoadOptions = {}): LoadResult {
  return loadConfigText(text, fixture("test.conf"), { registry, hostChecks: false, ...options });
}

/** Messages of a load result's errors as `LINE: message` strings. */
export function errorLines(result: LoadResult): string[] {
  return result.errors.map((e) => `${e.line}: ${e.message}`);
}
