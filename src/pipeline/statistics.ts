/**
 * Server statistics: the counters of one set, and the global + per-category sets.
 *
 * Counters are kept as plain number arrays so workers can send deltas to the main thread cheaply.
 * @module
 */

/** The scalar counters, in output order. */
export const SCALAR_COUNTERS = [
  "incoming_packets",
  "outgoing_packets",
  "unparsable_packets",
  "handling_errors",
  "for_other_server",
  "do_not_respond",
  "use_multicast",
  "unknown_query_type",
  "malformed_query",
  "not_allowed",
  "other_error",
  "lookup_failures",
  "lookup_timeouts",
  "lookup_overflows",
] as const;

/** Incoming message types counted, with their type codes. */
export const MESSAGES_IN: ReadonlyArray<readonly [string, number]> = [
  ["solicit", 1],
  ["request", 3],
  ["confirm", 4],
  ["renew", 5],
  ["rebind", 6],
  ["release", 8],
  ["decline", 9],
  ["information_request", 11],
  ["leasequery", 14],
];

/** Outgoing message types counted, with their type codes. */
export const MESSAGES_OUT: ReadonlyArray<readonly [string, number]> = [
  ["advertise", 2],
  ["reply", 7],
  ["reconfigure", 10],
  ["leasequery_reply", 15],
  ["leasequery_done", 16],
  ["leasequery_data", 17],
];

/** A scalar counter name. */
export type ScalarCounter = typeof SCALAR_COUNTERS[number];

/** Number of counters in one set. */
export const COUNTER_COUNT: number = SCALAR_COUNTERS.length + MESSAGES_IN.length +
  MESSAGES_OUT.length;

const SCALAR_INDEX = new Map<string, number>(SCALAR_COUNTERS.map((n, i) => [n, i]));
const IN_INDEX = new Map<number, number>(
  MESSAGES_IN.map(([, t], i) => [t, SCALAR_COUNTERS.length + i]),
);
const OUT_INDEX = new Map<number, number>(
  MESSAGES_OUT.map(([, t], i) => [t, SCALAR_COUNTERS.length + MESSAGES_IN.length + i]),
);

/** Index of a scalar counter. */
export function scalarIndex(name: ScalarCounter): number {
  return SCALAR_INDEX.get(name)!;
}

/** Index of the incoming-message counter for a type code, if counted. */
export function messageInIndex(type: number): number | undefined {
  return IN_INDEX.get(type);
}

/** Index of the outgoing-message counter for a type code, if counted. */
export function messageOutIndex(type: number): number | undefined {
  return OUT_INDEX.get(type);
}

/** A fresh zeroed counter set. */
export function newCounters(): number[] {
  return new Array(COUNTER_COUNT).fill(0);
}

/** Statistics keyed by set: `global`, `interface:<name>`, `subnet:<prefix>`, `relay:<address>`. */
export class StatisticsStore {
  /** The counter sets. */
  readonly sets: Map<string, number[]> = new Map([["global", newCounters()]]);

  /** Add `n` to counter `index` of every set in `keys` (and of `global`). */
  add(keys: readonly string[], index: number, n = 1): void {
    this.#set("global")[index] += n;
    // Indexed loops: this runs several times per request, and an array iterator that the
    // compiler does not remove is an allocation each time.
    for (let i = 0; i < keys.length; i++) this.#set(keys[i])[index] += n;
  }

  /** Add `n` to counter `index` of every set in `keys` only (not of `global`). */
  addOnly(keys: readonly string[], index: number, n = 1): void {
    for (let i = 0; i < keys.length; i++) this.#set(keys[i])[index] += n;
  }

  #set(key: string): number[] {
    let s = this.sets.get(key);
    if (!s) this.sets.set(key, s = newCounters());
    return s;
  }

  /** Add every counter of `delta` (as produced by another store's {@link StatisticsStore.drain}). */
  merge(delta: ReadonlyArray<readonly [string, number[]]>): void {
    for (const [key, values] of delta) {
      const set = this.#set(key);
      for (let i = 0; i < values.length; i++) set[i] += values[i];
    }
  }

  /** Take the non-zero sets out of this store (as a delta) and reset it. */
  drain(): Array<[string, number[]]> {
    const out: Array<[string, number[]]> = [];
    for (const [key, values] of this.sets) {
      if (values.some((v) => v !== 0)) out.push([key, values.slice()]);
      values.fill(0);
    }
    return out;
  }

  /** Keep only the sets whose keys satisfy `keep` (global always stays). */
  retain(keep: (key: string) => boolean): void {
    for (const key of [...this.sets.keys()]) {
      if (key !== "global" && !keep(key)) this.sets.delete(key);
    }
  }
}
