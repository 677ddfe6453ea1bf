/**
 * Explain: what the pipeline did with one request, step by step (see
 * `MessageHandler.explain`). The request runs through the live handlers with a recorder attached
 * to its bundle; nothing here is on the path of ordinary requests.
 * @module
 */

import { describeOption, type Option } from "../protocol/mod.ts";
import type { TransactionBundle } from "./bundle.ts";
import type { Filter } from "./filter.ts";
import { Handler } from "./handler.ts";

/** One filter of the tree and whether the request matched it. */
export interface ExplainFilterStep {
  /** Nesting depth (0: top level). */
  depth: number;
  /** The filter as configured, e.g. `subnet 2001:db8::/48`. */
  filter: string;
  /** Whether the request matched. */
  matched: boolean;
  /** What was compared, e.g. `link address 2001:db8:1::1`. */
  reason: string;
}

/** One handler in one phase, and what it changed. */
export interface ExplainHandlerStep {
  /** `lookup`, `analyse-pre`, `pre`, `handle`, `post` or `analyse-post`. */
  phase: string;
  /** The handler's class name. */
  handler: string;
  /** Where it comes from: `built-in`, `top level` or the filters around it. */
  scope: string;
  /** What it changed, one line each (`+ option ...`, `- option ...`). */
  changes: string[];
  /** What the handler reported (an assignment source's answer). */
  notes: string[];
  /** The signal or error it threw, e.g. `CannotRespond: rate limit reached`. */
  signal?: string;
  /** Why it did not run (dry run). */
  skipped?: string;
}

/** An assignment source asked for the request, and its answer. */
export interface ExplainSourceStep {
  /** The handler that asked. */
  handler: string;
  /** The source, e.g. `CSV file /etc/dhcpkit/assignments.csv`. */
  source: string;
  /** The keys asked, in lookup order. */
  asked: string[];
  /** The key that had an assignment, if any. */
  key?: string;
  /** Where that assignment is, e.g. `/etc/dhcpkit/assignments.csv:12`. */
  location?: string;
  /** The answer as one line. */
  result: string;
}

/** What a dynamic pool did (or would do) for one IA of the request, in a dry run. */
export interface ExplainPoolStep {
  /** The handler that asked. */
  handler: string;
  /** The pool, e.g. `na 2001:db8:1::/64`. */
  pool: string;
  /** The lease store asked. */
  store: string;
  /** The IA, e.g. `IA_NA 1`; absent when the pool was not asked for any IA. */
  ia?: string;
  /** The address or prefix offered, held or named, if any. */
  lease?: string;
  /** The answer as one line. */
  result: string;
  /** The client's leases in this pool as stored (any IA), one line each. */
  held: string[];
}

/** The explanation of one request. */
export interface ExplainTrace {
  /** The request as received. */
  request: {
    /** One-line summary (type, client, relays, marks). */
    summary: string;
    /** The server interface it is explained on. */
    interface: string;
    /** The message decoded (as `dhcpkit decode` shows it), when it could be parsed. */
    message?: unknown;
  };
  /** What became of it (the pipeline's outcome). */
  outcome: string;
  /** Why, for every outcome but a reply. */
  reason?: string;
  /** Every filter looked at, in order. */
  filters: ExplainFilterStep[];
  /** Every handler phase run (or skipped), in order. */
  handlers: ExplainHandlerStep[];
  /** Every assignment source asked. */
  sources: ExplainSourceStep[];
  /** What every dynamic pool in scope did for each IA (absent in traces of older servers). */
  pools?: ExplainPoolStep[];
  /** The reply (the first one), decoded, with its wire bytes as hex. */
  reply?: { type: string; message: unknown; hex: string };
  /** What the explanation left out because it would have side effects. */
  dryRun: string[];
}

/**
 * Attached to a bundle (`bundle.explain`) while a request is explained: handlers that have
 * something to say (which source they asked, and its answer) report it here. Handlers check
 * `bundle.explain` once, so ordinary requests pay nothing.
 */
export class ExplainRecorder {
  /** The step of the handler running now, for its notes. */
  current?: ExplainHandlerStep;
  /** Sources asked. */
  readonly sources: ExplainSourceStep[] = [];
  /** Pools asked. */
  readonly pools: ExplainPoolStep[] = [];
  /** The first signal a handler threw. */
  signal?: string;

  /** Note something about the request from the running handler. */
  note(text: string): void {
    this.current?.notes.push(text);
  }

  /** Record an assignment source that was asked. */
  source(step: ExplainSourceStep): void {
    this.sources.push(step);
    this.note(`${step.source}: ${step.result}`);
  }

  /** Record what a dynamic pool did (or would do) for one IA. */
  pool(step: ExplainPoolStep): void {
    this.pools.push(step);
    this.note(`${step.pool}${step.ia ? ` ${step.ia}` : ""}: ${step.result}`);
  }
}

/** What the handler phases are called in a trace. */
export const PHASE_NAMES = {
  lookup: "lookup",
  analysePre: "analyse-pre",
  pre: "pre",
  handle: "handle",
  post: "post",
  analysePost: "analyse-post",
} as const;

/** A phase of the pipeline. */
export type Phase = keyof typeof PHASE_NAMES;

/** A filter's condition as one line: what it compared. */
export function filterReason(filter: Filter, bundle: TransactionBundle, matched: boolean): string {
  const detail = filter.explainMatch?.(bundle);
  return `${matched ? "matched" : "did not match"}${detail ? `: ${detail}` : ""}`;
}

/**
 * Walk the filter tree as the pipeline does, recording each filter looked at; `scopes` learns
 * the filters around every handler.
 */
export function traceFilters(
  filters: readonly Filter[],
  bundle: TransactionBundle,
  steps: ExplainFilterStep[],
  scopes: Map<Handler, string>,
  depth = 0,
  path: readonly string[] = [],
): void {
  for (const f of filters) {
    const matched = f.match(bundle);
    steps.push({ depth, filter: f.describe(), matched, reason: filterReason(f, bundle, matched) });
    const inner = [...path, f.describe()];
    for (const h of f.handlers) if (!scopes.has(h)) scopes.set(h, inner.join(" > "));
    if (matched) traceFilters(f.filters, bundle, steps, scopes, depth + 1, inner);
    else for (const h of f.allHandlers()) if (!scopes.has(h)) scopes.set(h, inner.join(" > "));
  }
}

/** A short text of an option: its name and decoded fields. */
export function optionText(option: Option): string {
  const { name, code: _code, ...fields } = describeOption(option) as Record<string, unknown>;
  const text = JSON.stringify(fields);
  const body = text === "{}" ? "" : " " + (text.length > 240 ? text.slice(0, 237) + "..." : text);
  return `${name}${body}`;
}

/** What a handler can change, as lines to compare before and after it ran. */
export function snapshot(bundle: TransactionBundle): string[] {
  const out: string[] = [];
  const response = bundle.responses[0];
  if (response) {
    out.push(`response ${response.name}`);
    for (const o of response.options) out.push(`option ${optionText(o)}`);
  }
  for (const m of bundle.marks) out.push(`mark ${m}`);
  bundle.outgoingRelayMessages.forEach((r, i) => {
    for (const o of r.options) out.push(`relay-reply ${i} option ${optionText(o)}`);
  });
  for (const o of bundle.handledOptions) out.push(`answered ${optionText(o)}`);
  if (!bundle.allowRapidCommit) out.push("rapid commit not allowed");
  if (bundle.allowUnicast) out.push("unicast allowed");
  return out;
}

/** The lines added (`+ `) and removed (`- `) between two snapshots. */
export function diffSnapshots(before: readonly string[], after: readonly string[]): string[] {
  const count = new Map<string, number>();
  for (const l of before) count.set(l, (count.get(l) ?? 0) + 1);
  const added: string[] = [];
  for (const l of after) {
    const n = count.get(l) ?? 0;
    if (n > 0) count.set(l, n - 1);
    else added.push(`+ ${l}`);
  }
  const removed: string[] = [];
  for (const [l, n] of count) for (let i = 0; i < n; i++) removed.push(`- ${l}`);
  return [...removed, ...added];
}

/** A duration in seconds as `2d 3h`, `4h 5m`, `6m 7s` or `8s` (`infinite` when it is not finite). */
export function durationText(seconds: number): string {
  if (!Number.isFinite(seconds)) return "infinite";
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24;
  const m = Math.floor(s / 60) % 60, r = s % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${r}s`;
  return `${r}s`;
}

/** An error or signal as one line. */
export function signalText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/**
 * A handler that runs one phase of another and records what it changed: the traced pipeline is
 * made of these, the real one never sees them.
 */
export class TracedHandler extends Handler {
  /** Wrap `inner`'s `phase`; `skip` says why it does not run (dry run). */
  constructor(
    readonly inner: Handler,
    readonly phase: Exclude<Phase, "lookup">,
    readonly scope: string,
    readonly steps: ExplainHandlerStep[],
    readonly recorder: ExplainRecorder,
    readonly skip?: string,
  ) {
    super();
  }

  #run(bundle: TransactionBundle): void {
    const step: ExplainHandlerStep = {
      phase: PHASE_NAMES[this.phase],
      handler: this.inner.constructor.name,
      scope: this.scope,
      changes: [],
      notes: [],
    };
    this.steps.push(step);
    if (this.skip) {
      step.skipped = this.skip;
      return;
    }
    const before = snapshot(bundle);
    this.recorder.current = step;
    try {
      this.inner[this.phase](bundle);
    } catch (e) {
      step.signal = signalText(e);
      this.recorder.signal ??= step.signal;
      throw e;
    } finally {
      this.recorder.current = undefined;
      step.changes = diffSnapshots(before, snapshot(bundle));
    }
  }

  /** Run the wrapped phase. */
  override analysePre(bundle: TransactionBundle): void {
    this.#run(bundle);
  }
  /** Run the wrapped phase. */
  override pre(bundle: TransactionBundle): void {
    this.#run(bundle);
  }
  /** Run the wrapped phase. */
  override handle(bundle: TransactionBundle): void {
    this.#run(bundle);
  }
  /** Run the wrapped phase. */
  override post(bundle: TransactionBundle): void {
    this.#run(bundle);
  }
  /** Run the wrapped phase. */
  override analysePost(bundle: TransactionBundle): void {
    this.#run(bundle);
  }
}
