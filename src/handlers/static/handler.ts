/**
 * Handlers for `<static-csv FILE>` and `<static-sqlite FILE>`: give each known client its fixed
 * address and/or prefix.
 *
 * The client is identified by the first of these that has an assignment: its DUID, then the
 * Interface-ID, Remote-ID, Subscriber-ID and Link-Layer-ID of the relay closest to it (for a
 * directly connected client, the Interface-ID is the name of the server interface). Both backends
 * use this one order. How the IAs of each request type are answered is described in `answer.ts`.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { Handler, LogGate, type TransactionBundle } from "../../pipeline/mod.ts";
import { MsgType } from "../../protocol/mod.ts";
import { answerIAs, type StaticLifetimes } from "./answer.ts";
import { type Assignment, candidateIds, hexOf, visitCandidateKeys } from "./ids.ts";
import { AssignmentTable, CsvAssignmentSource, loadCsvAssignments } from "./csv/mod.ts";
import { sharedData } from "../shared_memory.ts";
import { type AssignmentSource, type AsyncAssignmentSource, isAsyncSource } from "./source.ts";
import { guardRows, releaseRows } from "./row_guard.ts";
import { noteAssignment } from "./in_scope.ts";
import { hasIAsToAnswer } from "./answer.ts";

export type { StaticLifetimes } from "./answer.ts";

const log = getLogger(["dhcpkit", "static"]);
const debugLog = new LogGate(log, "debug");

/** Any kind of assignment source. */
export type AnyAssignmentSource = AssignmentSource | AsyncAssignmentSource;

/** Opens the assignment source; called once per worker. */
export type SourceOpener = () => AnyAssignmentSource | Promise<AnyAssignmentSource>;

/** Stored in the bundle by a lookup that found no assignment. */
const NO_ASSIGNMENT = Symbol("no assignment");

/**
 * Store what a lookup of `handler` found for the request of `bundle` (see
 * {@link StaticAssignmentHandler.getAssignment}).
 */
export function setLookedUpAssignment(
  bundle: TransactionBundle,
  handler: StaticAssignmentHandler,
  assignment: Assignment | undefined,
): void {
  bundle.handlerData.set(handler, assignment ?? NO_ASSIGNMENT);
  noteAssignment(bundle, assignment);
}

/** The request types the static handlers answer (the others need no assignment). */
export function answersRequest(bundle: TransactionBundle): boolean {
  // By type code: `instanceof` against imported classes takes V8's generic path, and this runs
  // for every request.
  switch (bundle.request.type) {
    case MsgType.Solicit:
    case MsgType.Request:
    case MsgType.Renew:
    case MsgType.Rebind:
    case MsgType.Confirm:
    case MsgType.Release:
    case MsgType.Decline:
      return true;
  }
  return false;
}

/**
 * Assigns the fixed address and/or prefix that an {@link AssignmentSource} holds for the client.
 * The source is opened in {@link StaticAssignmentHandler.workerInit}, once per worker.
 */
export class StaticAssignmentHandler extends Handler {
  /** Answers every Information-request alike (see `treatsInformationRequestsAlike`). */
  static readonly informationRequestsAlike = true;

  #source?: AnyAssignmentSource;

  /**
   * Create the handler; `open` is called in each worker to open the assignment source. With
   * `maxRowLoss` (0.0-1.0) a source that looks broken is refused (see `row_guard.ts`).
   */
  constructor(
    readonly lifetimes: StaticLifetimes,
    readonly open: SourceOpener,
    readonly maxRowLoss?: number,
  ) {
    super();
  }

  /** The source in use (after {@link StaticAssignmentHandler.workerInit}). */
  get source(): AnyAssignmentSource | undefined {
    return this.#source;
  }

  /**
   * Open the assignment source; a source that cannot be used, or looks broken (no usable rows,
   * too many rows skipped or lost since the table in use), stops the server from starting and a
   * reload from being applied.
   */
  override async workerInit(): Promise<void> {
    await this.close();
    const source = await this.open();
    if (this.maxRowLoss !== undefined && source.path !== undefined && source.count) {
      try {
        guardRows(source.path, {
          rows: source.count(),
          readRows: source.rowsRead,
          maxLoss: this.maxRowLoss,
        }, this);
      } catch (e) {
        await source.close();
        throw e;
      }
    }
    this.#source = source;
  }

  /** Close the source. */
  override async close(): Promise<void> {
    const source = this.#source;
    this.#source = undefined;
    if (source?.path !== undefined) releaseRows(source.path, this);
    await source?.close();
  }

  /**
   * A synchronous source is asked here, before any handler answers, when the request has IAs to
   * answer, so that handlers that step aside for a static assignment (pools) know of it; nothing
   * is waited for.
   */
  override lookup(bundle: TransactionBundle): Promise<void> | undefined {
    const source = this.#source;
    if (!source || isAsyncSource(source) || !hasIAsToAnswer(bundle)) return undefined;
    setLookedUpAssignment(bundle, this, this.#ask(source, bundle));
    return undefined;
  }

  /**
   * The assignment for the client of `bundle`, if any: what a lookup stored in the bundle
   * ({@link setLookedUpAssignment}), else asked from a synchronous source.
   */
  getAssignment(bundle: TransactionBundle): Assignment | undefined {
    const source = this.#source;
    if (!source) throw new Error("static assignments used before workerInit()");
    const stored = bundle.handlerData.get(this) as Assignment | typeof NO_ASSIGNMENT | undefined;
    if (stored !== undefined) return stored === NO_ASSIGNMENT ? undefined : stored;
    if (isAsyncSource(source)) {
      throw new Error(`${source.description}: the request was not looked up before handling`);
    }
    return this.#ask(source, bundle);
  }

  #ask(source: AssignmentSource, bundle: TransactionBundle): Assignment | undefined {
    let found: Assignment | undefined;
    // Key by key, stopping at the first that has an assignment: from the key's bytes where the
    // source can (the CSV table), else from the key's text.
    const one = source.lookupHex
      ? (p: string, d: Uint8Array) => source.lookupHex!(p, d)
      : source.lookupOne
      ? (p: string, d: Uint8Array) => source.lookupOne!(p + hexOf(d))
      : undefined;
    if (one) {
      const generation = source.generation;
      visitCandidateKeys(bundle, (p, d) => (found = one(p, d)) !== undefined);
      if (source.generation !== generation) {
        visitCandidateKeys(bundle, (p, d) => (found = one(p, d)) !== undefined);
      }
    } else {
      found = source.lookup(candidateIds(bundle));
    }
    if (bundle.explain) this.explainAnswer(bundle, source, found);
    if (debugLog.on) {
      log.debug("{bundle}: static assignment for {ids}: {found}", () => ({
        bundle: String(bundle),
        ids: candidateIds(bundle).join(", "),
        found: found
          ? `${found.address ?? "no address"}, ${found.prefix?.toString() ?? "no prefix"}`
          : "none",
      }));
    }
    return found;
  }

  /**
   * Tell explain which keys were asked and which one had the assignment: `key` when the source
   * said (an asynchronous source), else found by asking a synchronous source key by key;
   * `cached` says why the answer did not come from the storage itself.
   */
  protected explainAnswer(
    bundle: TransactionBundle,
    source: AnyAssignmentSource,
    found: Assignment | undefined,
    key?: string,
    cached?: string,
  ): void {
    const asked = candidateIds(bundle);
    if (found && key === undefined && !isAsyncSource(source)) {
      key = asked.find((id) =>
        (source.lookupOne ? source.lookupOne(id) : source.lookup([id])) !== undefined
      );
    }
    const location = key === undefined ? undefined : source.locate?.(key);
    bundle.explain!.source({
      handler: this.constructor.name,
      source: source.description,
      asked,
      key,
      location,
      result: (cached ? "from the outage cache: " : "") +
        (found
          ? `address ${found.address ?? "none"}, prefix ${found.prefix?.toString() ?? "none"}${
            key ? ` (key ${key}${location ? ` at ${location}` : ""})` : ""
          }`
          : "no assignment for any key"),
    });
    if (cached) bundle.explain!.note(`outage cache used: ${cached}`);
  }

  /** Answer the request's IAs. */
  override handle(bundle: TransactionBundle): void {
    // Without an assignment nothing is touched: the built-in handler withdraws what the client
    // has, and a later static handler (another source) still gets its chance.
    answerIAs(bundle, this.lifetimes, () => this.getAssignment(bundle));
  }
}

/** How many skipped rows are logged one by one before the rest is only counted. */
const PROBLEMS_LOGGED = 20;

/** The name the table of the CSV file `path` is shared under (see `sharedDataFor`). */
export function csvShareKey(path: string): string {
  return `static-csv:${path}`;
}

/** Load the CSV file `path` (logging skipped rows) and return its table's shared buffer. */
export async function loadCsvShared(path: string): Promise<SharedArrayBuffer> {
  return (await loadCsvSource(path)).table.buffer;
}

/**
 * Open a CSV file as an assignment source: the table the main thread loaded for every worker
 * when there is one, else the file is loaded here (logging skipped rows).
 */
export async function openCsvSource(path: string): Promise<AssignmentSource> {
  const shared = sharedData(csvShareKey(path));
  if (shared instanceof SharedArrayBuffer) {
    const source = new CsvAssignmentSource(path, AssignmentTable.fromBuffer(shared));
    log.debug("{path}: using the shared table of {count} static assignments", {
      path,
      count: source.size,
    });
    return source;
  }
  return await loadCsvSource(path);
}

/** Load a CSV file as an assignment source, logging skipped rows. */
async function loadCsvSource(path: string): Promise<CsvAssignmentSource> {
  const started = performance.now();
  const { source, problems } = await loadCsvAssignments(path);
  for (const p of problems.slice(0, PROBLEMS_LOGGED)) {
    log.warning("{path}:{line}: {message}", { path, line: p.line, message: p.message });
  }
  if (problems.length > PROBLEMS_LOGGED) {
    log.warning("{path}: {count} more rows skipped", {
      path,
      count: problems.length - PROBLEMS_LOGGED,
    });
  }
  log.info("{path}: {count} static assignments loaded in {ms} ms", {
    path,
    count: source.size,
    ms: Math.round(performance.now() - started),
  });
  return source;
}
