/**
 * Where each option may appear and how many times: per message type and per container option.
 *
 * Options whose code has no registered class are accepted anywhere, any number of times.
 * Extensions add their own rules with {@link allowInMessage} / {@link allowInOption}.
 * @module
 */

import { ValidationError } from "./errors.ts";
import { type Option, optionTypes } from "./option.ts";

/** Minimum and maximum number of occurrences. */
export type Occurrence = readonly [min: number, max: number];

/** Message type -> option code -> allowed occurrence. */
export const messageOccurrence: Map<number, Map<number, Occurrence>> = new Map();
/** Container option code -> contained option code -> allowed occurrence. */
export const optionOccurrence: Map<number, Map<number, Occurrence>> = new Map();

function allow(
  table: Map<number, Map<number, Occurrence>>,
  container: number,
  code: number,
  min: number,
  max: number,
) {
  let inner = table.get(container);
  if (!inner) table.set(container, inner = new Map());
  inner.set(code, [min, max]);
}

/** Allow option `code` in messages of `messageTypes`, `min` to `max` times. */
export function allowInMessage(
  messageTypes: number | readonly number[],
  code: number,
  min = 0,
  max = Infinity,
): void {
  for (const t of typeof messageTypes === "number" ? [messageTypes] : messageTypes) {
    allow(messageOccurrence, t, code, min, max);
  }
}

/** Allow option `code` inside the options `containers`, `min` to `max` times. */
export function allowInOption(
  containers: number | readonly number[],
  code: number,
  min = 0,
  max = Infinity,
): void {
  for (const c of typeof containers === "number" ? [containers] : containers) {
    allow(optionOccurrence, c, code, min, max);
  }
}

/** Reused by {@link checkOccurrence}, which never recurses while counting. */
const occurrenceCounts = new Map<number, number>();

/** Codes with a minimum above zero, per rule table (tables only grow, so the cache is keyed by size). */
const requiredCache = new WeakMap<Map<number, Occurrence>, { size: number; codes: number[] }>();

function requiredCodes(rules: Map<number, Occurrence>): number[] {
  let cached = requiredCache.get(rules);
  if (!cached || cached.size !== rules.size) {
    cached = { size: rules.size, codes: [...rules].filter(([, [min]]) => min > 0).map(([c]) => c) };
    requiredCache.set(rules, cached);
  }
  return cached.codes;
}

function occurrenceError(where: string, code: number, [min, max]: Occurrence, n: number): never {
  const name = optionTypes.get(code)?.optionName ?? String(code);
  const range = max === Infinity
    ? `at least ${min}`
    : min === max
    ? `exactly ${min}`
    : `${min} to ${max}`;
  throw new ValidationError(
    `${where} must contain ${range} ${name} (${code}) option(s), found ${n}`,
  );
}

/**
 * Check `options` against `rules` (registered codes only); `where` names the container. Work is
 * proportional to the options present plus the required ones, not to the size of the table.
 */
export function checkOccurrence(
  where: string,
  rules: Map<number, Occurrence> | undefined,
  options: readonly Option[],
): void {
  const counts = occurrenceCounts;
  counts.clear();
  for (let i = 0; i < options.length; i++) {
    const code = options[i].code;
    if (!optionTypes.has(code)) continue;
    const rule = rules?.get(code);
    if (!rule) {
      throw new ValidationError(
        `${optionTypes.get(code)!.optionName} (${code}) may not appear in ${where}`,
      );
    }
    const n = (counts.get(code) ?? 0) + 1;
    if (n > rule[1]) occurrenceError(where, code, rule, n);
    counts.set(code, n);
  }
  if (!rules) return;
  for (const code of requiredCodes(rules)) {
    const rule = rules.get(code)!;
    const n = counts.get(code) ?? 0;
    if (n < rule[0]) occurrenceError(where, code, rule, n);
  }
}
