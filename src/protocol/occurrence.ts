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

/** Check `options` against `rules` (registered codes only); `where` names the container. */
export function checkOccurrence(
  where: string,
  rules: Map<number, Occurrence> | undefined,
  options: readonly Option[],
): void {
  const counts = occurrenceCounts;
  counts.clear();
  for (const option of options) {
    const code = option.code;
    if (!optionTypes.has(code)) continue;
    const rule = rules?.get(code);
    if (!rule) {
      throw new ValidationError(
        `${optionTypes.get(code)!.optionName} (${code}) may not appear in ${where}`,
      );
    }
    counts.set(code, (counts.get(code) ?? 0) + 1);
  }
  if (!rules) return;
  for (const [code, [min, max]] of rules) {
    const n = counts.get(code) ?? 0;
    if (n < min || n > max) {
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
  }
}
