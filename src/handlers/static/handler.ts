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
import { Handler, type TransactionBundle } from "../../pipeline/mod.ts";
import {
  ConfirmMessage,
  DeclineMessage,
  RebindMessage,
  ReleaseMessage,
  RenewMessage,
  RequestMessage,
  SolicitMessage,
} from "../../protocol/mod.ts";
import { answerIAs, type StaticLifetimes } from "./answer.ts";
import { type Assignment, candidateIds, visitCandidateIds } from "./ids.ts";
import { loadCsvAssignments } from "./csv/mod.ts";
import { type AssignmentSource, type AsyncAssignmentSource, isAsyncSource } from "./source.ts";
import { noteAssignment } from "./in_scope.ts";
import { hasIAsToAnswer } from "./answer.ts";

export type { StaticLifetimes } from "./answer.ts";

const log = getLogger(["dhcpkit", "static"]);

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
  const request = bundle.request;
  return request instanceof SolicitMessage || request instanceof RequestMessage ||
    request instanceof RenewMessage || request instanceof RebindMessage ||
    request instanceof ConfirmMessage || request instanceof ReleaseMessage ||
    request instanceof DeclineMessage;
}

/**
 * Assigns the fixed address and/or prefix that an {@link AssignmentSource} holds for the client.
 * The source is opened in {@link StaticAssignmentHandler.workerInit}, once per worker.
 */
export class StaticAssignmentHandler extends Handler {
  #source?: AnyAssignmentSource;

  /** Create the handler; `open` is called in each worker to open the assignment source. */
  constructor(readonly lifetimes: StaticLifetimes, readonly open: SourceOpener) {
    super();
  }

  /** The source in use (after {@link StaticAssignmentHandler.workerInit}). */
  get source(): AnyAssignmentSource | undefined {
    return this.#source;
  }

  /** Open the assignment source; a source that cannot be used stops the server from starting. */
  override async workerInit(): Promise<void> {
    await this.#source?.close();
    this.#source = await this.open();
  }

  /** Close the source. */
  override async close(): Promise<void> {
    const source = this.#source;
    this.#source = undefined;
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
    if (source.lookupOne) {
      visitCandidateIds(bundle, (id) => (found = source.lookupOne!(id)) !== undefined);
    } else {
      found = source.lookup(candidateIds(bundle));
    }
    log.debug("{bundle}: static assignment for {ids}: {found}", () => ({
      bundle: String(bundle),
      ids: candidateIds(bundle).join(", "),
      found: found
        ? `${found.address ?? "no address"}, ${found.prefix?.toString() ?? "no prefix"}`
        : "none",
    }));
    return found;
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

/** Open a CSV file as an assignment source, logging skipped rows. */
export async function openCsvSource(path: string): Promise<AssignmentSource> {
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
  if (source.size === 0) log.warning("{path}: no usable assignments", { path });
  log.info("{path}: {count} static assignments loaded in {ms} ms", {
    path,
    count: source.size,
    ms: Math.round(performance.now() - started),
  });
  return source;
}
