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

/** Bumped whenever a rule is set, so compiled tables notice replaced rules. */
let rulesVersion = 0;

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
  rulesVersion++;
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

/**
 * A rule table prepared for {@link checkOccurrence}: each registered code with a rule gets a slot,
 * so counting needs one lookup per option and no map updates.
 */
interface CompiledRules {
  /** Size of the rule table and of the option registry when compiled (both only grow). */
  readonly rulesSize: number;
  readonly typesSize: number;
  /** Version of the rules (see {@link rulesVersion}) when compiled. */
  readonly version: number;
  /** Registered option code -> slot (required unregistered codes have a slot never counted). */
  readonly slots: Map<number, number>;
  /** Per slot: the option code, its minimum and its maximum. */
  readonly codes: number[];
  readonly min: number[];
  readonly max: number[];
  /** Slots whose minimum is above zero. */
  readonly required: number[];
  /** Per slot: occurrences counted by the check numbered in `stamps` (others count 0). */
  readonly counts: Uint32Array;
  /** Per slot: the number of the check that last counted it. */
  readonly stamps: Float64Array;
}

/** Number of the check under way, so counts need no clearing between checks. */
let checkNumber = 0;

const compiledRules = new WeakMap<Map<number, Occurrence>, CompiledRules>();

/** The compiled form of `rules`, rebuilt when the rules or the registered options changed. */
function compiled(rules: Map<number, Occurrence>): CompiledRules {
  const cached = compiledRules.get(rules);
  if (
    cached && cached.version === rulesVersion && cached.rulesSize === rules.size &&
    cached.typesSize === optionTypes.size
  ) return cached;
  const slots = new Map<number, number>();
  const codes: number[] = [], min: number[] = [], max: number[] = [], required: number[] = [];
  for (const [code, [low, high]] of rules) {
    // Unregistered codes are never counted; one that is required can therefore never be met.
    if (optionTypes.has(code)) slots.set(code, codes.length);
    else if (low === 0) continue;
    if (low > 0) required.push(codes.length);
    codes.push(code);
    min.push(low);
    max.push(high);
  }
  const result: CompiledRules = {
    rulesSize: rules.size,
    typesSize: optionTypes.size,
    version: rulesVersion,
    slots,
    codes,
    min,
    max,
    required,
    counts: new Uint32Array(codes.length),
    stamps: new Float64Array(codes.length),
  };
  compiledRules.set(rules, result);
  return result;
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

/** Throw unless option `code` (found in a container without a rule for it) is unregistered. */
function checkUnruled(where: string, code: number): void {
  const type = optionTypes.get(code);
  if (type) throw new ValidationError(`${type.optionName} (${code}) may not appear in ${where}`);
}

/**
 * Check `options` against `rules` (registered codes only); `where` names the container. Work is
 * proportional to the options present plus the required ones, not to the size of the table.
 * The rule tables must only be changed through {@link allowInMessage} and {@link allowInOption}.
 */
export function checkOccurrence(
  where: string,
  rules: Map<number, Occurrence> | undefined,
  options: readonly Option[],
): void {
  if (!rules) {
    for (let i = 0; i < options.length; i++) checkUnruled(where, options[i].code);
    return;
  }
  const table = compiled(rules);
  const { counts, stamps } = table;
  // A slot's count is only trusted when stamped by this very check (check numbers are exact
  // integers far beyond any server's lifetime), and checks never overlap: nothing is called
  // back while counting.
  const check = ++checkNumber;
  for (let i = 0; i < options.length; i++) {
    const code = options[i].code;
    const slot = table.slots.get(code);
    if (slot === undefined) {
      checkUnruled(where, code);
      continue;
    }
    const n = stamps[slot] === check ? counts[slot] + 1 : 1;
    stamps[slot] = check;
    counts[slot] = n;
    if (n > table.max[slot]) occurrenceError(where, code, [table.min[slot], table.max[slot]], n);
  }
  for (const slot of table.required) {
    const n = stamps[slot] === check ? counts[slot] : 0;
    if (n < table.min[slot]) {
      occurrenceError(where, table.codes[slot], [table.min[slot], table.max[slot]], n);
    }
  }
}
