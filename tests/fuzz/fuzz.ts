/**
 * Mutation fuzzer for the DHCPv6 codec and the whole request path:
 * `deno task fuzz [COUNT] [--seed=N] [--codec-only]`.
 *
 * Starting from the corpus (`tests/fixtures/corpus`), each case is a mutated (bit flips, byte
 * sets, inserts, deletes, lying 2-byte length fields, splices of two messages), truncated or
 * random byte string. For each case:
 *
 * - `parseMessage` must return or throw {@link ParseError} (an "internal parser error" ParseError,
 *   which wraps an unexpected exception, counts as a failure too);
 * - when it parses, `validate()` may throw only {@link ValidationError}, `serializeMessage` only
 *   {@link SerializeError}, re-serialising must give back the input bytes exactly (the codec is
 *   lossless) and `describeMessage` must not throw;
 * - the same bytes then go down the whole request path (`pipeline.ts`: parse → filters and
 *   handlers of an ISP-like configuration with static CSV assignments, relays, subnet filters,
 *   rate limiting, leasequery → reply bytes), which must not throw or end in a handling error,
 *   and every reply must parse and re-serialise to the same bytes;
 * - no case may take more than {@link SLOW_MS} ms (a case over it is run up to three more times,
 *   counting CPU time, and the fastest counts: GC pauses and a busy machine are ruled out).
 *
 * Heap growth (`Deno.memoryUsage().heapUsed`) is tracked and reported.
 * @module
 */

import {
  describeMessage,
  type Message,
  ParseError,
  parseMessage,
  SerializeError,
  serializeMessage,
  toHex,
  ValidationError,
} from "../../src/protocol/mod.ts";
import process from "node:process";
import { loadCorpus } from "../protocol/corpus.ts";
import type { PipelineTarget } from "./pipeline.ts";

/** A case slower than this (in milliseconds, on a second run too) is a failure. */
export const SLOW_MS = 50;

/** One failing input. */
export interface FuzzFailure {
  /** Case number. */
  index: number;
  /** What went wrong. */
  problem: string;
  /** The input bytes as hex. */
  hex: string;
}

/** The outcome of a fuzz run. */
export interface FuzzReport {
  /** Cases run. */
  cases: number;
  /** Cases that parsed. */
  parsed: number;
  /** Cases rejected with a ParseError. */
  rejected: number;
  /** Parsed cases whose validate() threw ValidationError. */
  invalid: number;
  /** Failures (at most `maxFailures` kept). */
  failures: FuzzFailure[];
  /** Total failures seen. */
  failureCount: number;
  /** Slowest case in milliseconds. */
  slowestMs: number;
  /** Wall time in milliseconds. */
  elapsedMs: number;
  /** Whole-path cases answered / handled without a reply (when the pipeline ran). */
  pipeline?: { answered: number; silent: number };
  /** Heap in use before and after, and the peak seen at samples, in bytes. */
  heap: { before: number; after: number; peak: number };
}

/** Options of {@link runFuzz}. */
export interface FuzzOptions {
  /** Number of cases (default 200,000). */
  count?: number;
  /** PRNG seed (default 1). */
  seed?: number;
  /** Seed inputs (default: the corpus). */
  seeds?: Uint8Array[];
  /** Keep at most this many failures (default 20). */
  maxFailures?: number;
  /** Also run every case down the whole request path. */
  pipeline?: PipelineTarget;
  /** Called every 2^20 cases with the report so far (long runs print progress). */
  progress?: (report: FuzzReport) => void;
  /** Called with every failure kept, when it is found (long runs print them at once). */
  onFailure?: (failure: FuzzFailure) => void;
}

/** A small, fast seeded PRNG (xorshift128+ reduced to 32-bit outputs). */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Create a generator from a 32-bit seed. */
  constructor(seed: number) {
    // splitmix32 to spread the seed over the state.
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next(), this.b = next(), this.c = next(), this.d = next() | 1;
  }

  /** A uniformly distributed unsigned 32-bit integer (xoshiro128**). */
  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }

  /** An integer in `[0, n)`. */
  below(n: number): number {
    return n <= 0 ? 0 : this.u32() % n;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.u32() < p * 0x100000000;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Option codes whose data holds sub-options, and the offset where they start. */
const CONTAINERS: ReadonlyMap<number, number> = new Map([
  [3, 12], // IA_NA
  [4, 4], // IA_TA
  [5, 24], // IAADDR
  [17, 4], // vendor-specific
  [25, 12], // IA_PD
  [26, 25], // IAPREFIX
  [44, 17], // LQ_QUERY
  [45, 0], // CLIENT_DATA
  [56, 0], // NTP server
  [94, 0], // S46 containers
  [95, 0],
  [96, 0],
]);

/** Offsets of every (apparent) 2-byte option length field in a message, walking containers. */
export function lengthFieldOffsets(buf: Uint8Array): number[] {
  const out: number[] = [];
  const walkMessage = (start: number, end: number, depth: number) => {
    if (end - start < 1 || depth > 8) return;
    const type = buf[start];
    walkOptions(start + (type === 12 || type === 13 ? 34 : 4), end, depth);
  };
  const walkOptions = (pos: number, end: number, depth: number) => {
    while (pos + 4 <= end) {
      const code = (buf[pos] << 8) | buf[pos + 1];
      const length = (buf[pos + 2] << 8) | buf[pos + 3];
      out.push(pos + 2);
      const dataEnd = pos + 4 + length;
      if (dataEnd > end) return;
      if (code === 9) walkMessage(pos + 4, dataEnd, depth + 1);
      else if (code === 47) walkMessage(pos + 20, dataEnd, depth + 1);
      else if (CONTAINERS.has(code)) {
        walkOptions(pos + 4 + CONTAINERS.get(code)!, dataEnd, depth + 1);
      }
      pos = dataEnd;
    }
  };
  walkMessage(0, buf.length, 0);
  return out;
}

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0x0c, 0x0d, 0x09, 0x3f, 0x40, 0xc0];

/** Apply one random mutation to `buf`, returning the new bytes. */
export function mutate(rng: Prng, buf: Uint8Array, seeds: readonly Uint8Array[]): Uint8Array {
  const n = buf.length;
  switch (rng.below(9)) {
    case 0: { // bit flip
      if (n === 0) return buf;
      const out = buf.slice();
      out[rng.below(n)] ^= 1 << rng.below(8);
      return out;
    }
    case 1: { // byte set
      if (n === 0) return buf;
      const out = buf.slice();
      out[rng.below(n)] = rng.chance(0.5)
        ? INTERESTING[rng.below(INTERESTING.length)]
        : rng.below(256);
      return out;
    }
    case 2: { // insert random bytes
      const at = rng.below(n + 1), k = 1 + rng.below(rng.chance(0.2) ? 64 : 4);
      const out = new Uint8Array(n + k);
      out.set(buf.subarray(0, at));
      for (let i = 0; i < k; i++) out[at + i] = rng.below(256);
      out.set(buf.subarray(at), at + k);
      return out;
    }
    case 3: { // delete a range
      if (n === 0) return buf;
      const at = rng.below(n), k = 1 + rng.below(Math.min(16, n - at));
      const out = new Uint8Array(n - k);
      out.set(buf.subarray(0, at));
      out.set(buf.subarray(at + k), at);
      return out;
    }
    case 4:
    case 5: { // lie in a length field
      const offsets = lengthFieldOffsets(buf);
      if (offsets.length === 0) return buf;
      const out = buf.slice();
      const at = offsets[rng.below(offsets.length)];
      const old = (out[at] << 8) | out[at + 1];
      const lies = [0xffff, 0xfffe, 0x8000, old + 1, old - 1, old + 16, 0, n, rng.below(0x10000)];
      const v = lies[rng.below(lies.length)] & 0xffff;
      out[at] = v >>> 8, out[at + 1] = v & 0xff;
      return out;
    }
    case 6: { // splice two messages
      const other = seeds[rng.below(seeds.length)];
      const a = rng.below(n + 1), b = rng.below(other.length + 1);
      const out = new Uint8Array(a + other.length - b);
      out.set(buf.subarray(0, a));
      out.set(other.subarray(b), a);
      return out;
    }
    case 7: { // duplicate a chunk (repeats options)
      if (n === 0) return buf;
      const at = rng.below(n), k = 1 + rng.below(Math.min(48, n - at));
      const out = new Uint8Array(n + k);
      out.set(buf.subarray(0, at + k));
      out.set(buf.subarray(at), at + k);
      return out;
    }
    default: { // change the message type
      if (n === 0) return buf;
      const out = buf.slice();
      out[0] = rng.chance(0.8) ? 1 + rng.below(17) : rng.below(256);
      return out;
    }
  }
}

/** Produce fuzz case `i`: mutated, truncated or random bytes. */
export function makeCase(rng: Prng, seeds: readonly Uint8Array[]): Uint8Array {
  const kind = rng.below(20);
  if (kind === 0) { // random bytes, usually with a known message type
    const out = new Uint8Array(rng.below(rng.chance(0.5) ? 40 : 400));
    for (let i = 0; i < out.length; i++) out[i] = rng.below(256);
    if (out.length && rng.chance(0.7)) out[0] = 1 + rng.below(17);
    return out;
  }
  const seed = seeds[rng.below(seeds.length)];
  if (kind === 1) return seed.slice(0, rng.below(seed.length + 1)); // truncation
  let buf = seed;
  const rounds = 1 + (rng.chance(0.5) ? 0 : rng.below(8));
  for (let r = 0; r < rounds; r++) buf = mutate(rng, buf, seeds);
  if (rng.chance(0.1)) buf = buf.slice(0, rng.below(buf.length + 1));
  return buf;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Run one case; returns a problem description or "parsed" / "rejected" / "invalid". */
export function checkCase(input: Uint8Array): string {
  let message: Message;
  try {
    message = parseMessage(input);
  } catch (e) {
    if (!(e instanceof ParseError)) return `parse threw ${describe(e)}`;
    if (e.reason.startsWith("internal parser error")) {
      return `parse hit an internal error: ${e.message}`;
    }
    return "rejected";
  }
  let outcome = "parsed";
  try {
    message.validate();
  } catch (e) {
    if (!(e instanceof ValidationError)) return `validate threw ${describe(e)}`;
    outcome = "invalid";
  }
  let out: Uint8Array;
  try {
    out = serializeMessage(message);
  } catch (e) {
    if (!(e instanceof SerializeError)) return `serialize threw ${describe(e)}`;
    return `re-serialising a parsed message threw ${describe(e)}`;
  }
  if (!bytesEqual(out, input)) return `re-serialised bytes differ: ${toHex(out)}`;
  try {
    JSON.stringify(describeMessage(message));
  } catch (e) {
    return `describeMessage threw ${describe(e)}`;
  }
  return outcome;
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Run the fuzzer. */
export function runFuzz(options: FuzzOptions = {}): FuzzReport {
  const count = options.count ?? 200_000;
  const maxFailures = options.maxFailures ?? 20;
  const seeds = options.seeds ?? loadCorpus().map((c) => c.bytes);
  if (seeds.length === 0) throw new Error("fuzz: no seed inputs");
  const rng = new Prng(options.seed ?? 1);
  const report: FuzzReport = {
    cases: 0,
    parsed: 0,
    rejected: 0,
    invalid: 0,
    failures: [],
    failureCount: 0,
    slowestMs: 0,
    elapsedMs: 0,
    heap: { before: 0, after: 0, peak: 0 },
  };
  const fail = (index: number, problem: string, input: Uint8Array) => {
    report.failureCount++;
    if (report.failures.length < maxFailures) {
      const failure = { index, problem, hex: toHex(input) };
      report.failures.push(failure);
      options.onFailure?.(failure);
    }
  };
  // The seeds themselves must pass.
  const pipeline = options.pipeline;
  for (const s of seeds) {
    const r = checkCase(s);
    if (r !== "parsed" && r !== "invalid") fail(-1, `seed: ${r}`, s);
    const p = pipeline?.check(s, rng);
    if (p) fail(-1, `seed, whole path: ${p}`, s);
  }
  report.heap.before = report.heap.peak = Deno.memoryUsage().heapUsed;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const input = makeCase(rng, seeds);
    const t0 = performance.now();
    const result = checkCase(input);
    const whole = pipeline?.check(input, rng);
    let took = performance.now() - t0;
    // Rule out a GC pause, JIT compilation or a CPU shared with other work: run it again, up to
    // three times, counting the CPU time the process used (not the wall time, which a busy
    // machine stretches).
    for (let again = 0; again < 3 && took > SLOW_MS; again++) {
      const c1 = process.cpuUsage();
      checkCase(input);
      pipeline?.check(input, new Prng(i));
      const cpu = process.cpuUsage(c1);
      took = Math.min(took, (cpu.user + cpu.system) / 1000);
    }
    if (took > SLOW_MS) fail(i, `took ${took.toFixed(1)} ms (limit ${SLOW_MS} ms)`, input);
    if (took > report.slowestMs) report.slowestMs = took;
    report.cases++;
    if (result === "rejected") report.rejected++;
    else if (result === "parsed") report.parsed++;
    else if (result === "invalid") report.parsed++, report.invalid++;
    else fail(i, result, input);
    if (whole) fail(i, `whole path: ${whole}`, input);
    if (options.progress && i > 0 && (i & 0xfffff) === 0) {
      report.elapsedMs = performance.now() - start;
      options.progress(report);
    }
    if ((i & 0x3fff) === 0) {
      const heap = Deno.memoryUsage().heapUsed;
      if (heap > report.heap.peak) report.heap.peak = heap;
    }
  }
  report.elapsedMs = performance.now() - start;
  if (pipeline) report.pipeline = { ...pipeline.counts };
  report.heap.after = Deno.memoryUsage().heapUsed;
  if (report.heap.after > report.heap.peak) report.heap.peak = report.heap.after;
  return report;
}

/** Human-readable summary lines of a report. */
export function formatReport(r: FuzzReport): string[] {
  const mb = (n: number) => (n / 1048576).toFixed(1);
  const rate = r.cases / (r.elapsedMs / 1000);
  return [
    `fuzz: ${r.cases} cases, ${r.parsed} parsed, ${r.rejected} rejected, ${r.failureCount} failures`,
    `fuzz: ${(r.elapsedMs / 1000).toFixed(2)} s, ${Math.round(rate)} cases/s, ` +
    `${r.invalid} parsed but invalid, slowest case ${r.slowestMs.toFixed(2)} ms`,
    `fuzz: heap ${mb(r.heap.before)} MB -> ${mb(r.heap.after)} MB ` +
    `(peak ${mb(r.heap.peak)} MB, growth ${mb(r.heap.after - r.heap.before)} MB)`,
    ...r.pipeline
      ? [
        `fuzz: whole request path: ${r.pipeline.answered} answered, ${r.pipeline.silent} ` +
        "handled without a reply",
      ]
      : [],
  ];
}

if (import.meta.main) {
  let count = 200_000;
  let seed = Number(Deno.env.get("FUZZ_SEED") ?? 1);
  let codecOnly = false;
  for (const arg of Deno.args) {
    if (arg.startsWith("--seed=")) seed = Number(arg.slice(7));
    else if (arg === "--codec-only") codecOnly = true;
    else if (/^\d+$/.test(arg)) count = Number(arg);
    else {
      console.error(`usage: deno task fuzz [COUNT] [--seed=N] [--codec-only]`);
      Deno.exit(2);
    }
  }
  const corpus = loadCorpus().map((c) => c.bytes);
  const { PipelineTarget } = await import("./pipeline.ts");
  const seeds = codecOnly ? corpus : [...corpus, ...PipelineTarget.relayedSeeds(corpus)];
  const pipeline = codecOnly ? undefined : await PipelineTarget.create(corpus);
  const report = runFuzz({
    count,
    seed,
    seeds,
    pipeline,
    progress: (r) => console.log(`${formatReport(r)[0]} (${(r.elapsedMs / 1000).toFixed(0)} s)`),
    onFailure: (f) => console.error(`FAIL case ${f.index}: ${f.problem}\n  input: ${f.hex}`),
  });
  await pipeline?.close();
  for (const line of formatReport(report)) console.log(line);
  if (report.failureCount > 0) Deno.exit(1);
}
