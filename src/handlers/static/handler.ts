/**
 * Handlers for `<static-csv FILE>` and `<static-sqlite FILE>`: give each known client its fixed
 * address and/or prefix.
 *
 * The client is identified by the first of these that has an assignment: its DUID, then the
 * Interface-ID, Remote-ID, Subscriber-ID and Link-Layer-ID of the relay closest to it (for a
 * directly connected client, the Interface-ID is the name of the server interface). Both backends
 * use this one order.
 *
 * Answers (IAs not taken here are answered by the built-in unanswered-IA handler):
 * - Solicit / Request: the prefix goes into the first unhandled IA_PD that already asks for it,
 *   else the first unhandled IA_PD; the address likewise into an IA_NA.
 * - Renew / Rebind: with an assigned address, every unhandled IA_NA that carries addresses is
 *   answered, renewing the assigned address and withdrawing every other one (lifetimes 0); with
 *   an assigned prefix, every IA_PD with a prefix overlapping it is answered the same way. When
 *   no IA of the request holds the assignment any more (it changed), the assigned address or
 *   prefix is added to the first IA of its kind, as RFC 8415 §18.3.4-5 allow. IAs left alone get
 *   the built-in answer, which withdraws what they carry or says NoBinding, so a client without
 *   an assignment sees the same, while a later static handler (another source) still gets a turn.
 * - Confirm: an IA whose addresses (prefixes) are all the assigned ones is confirmed (handled);
 *   anything else is left for the built-in NotOnLink answer.
 * - Release / Decline: IAs holding the assignment are marked handled (static leases have no
 *   state to change), so the reply says Success.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { Handler, type TransactionBundle } from "../../pipeline/mod.ts";
import {
  ConfirmMessage,
  DeclineMessage,
  IAAddressOption,
  IANAOption,
  IAPDOption,
  IAPrefixOption,
  type IPv6Prefix,
  RebindMessage,
  ReleaseMessage,
  RenewMessage,
  RequestMessage,
  SolicitMessage,
} from "../../protocol/mod.ts";
import { type Assignment, candidateIds, visitCandidateIds } from "./ids.ts";
import { loadCsvAssignments } from "./csv/mod.ts";
import { type AssignmentSource, type AsyncAssignmentSource, isAsyncSource } from "./source.ts";

const log = getLogger(["dhcpkit", "static"]);

/** The four lifetimes of a static assignment section, in seconds. */
export interface StaticLifetimes {
  /** Preferred lifetime of addresses. */
  addressPreferredLifetime: number;
  /** Valid lifetime of addresses. */
  addressValidLifetime: number;
  /** Preferred lifetime of prefixes. */
  prefixPreferredLifetime: number;
  /** Valid lifetime of prefixes. */
  prefixValidLifetime: number;
}

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
}

/** The request types the static handlers answer (the others need no assignment). */
export function answersRequest(bundle: TransactionBundle): boolean {
  const request = bundle.request;
  return request instanceof SolicitMessage || request instanceof RequestMessage ||
    request instanceof RenewMessage || request instanceof RebindMessage ||
    request instanceof ConfirmMessage || request instanceof ReleaseMessage ||
    request instanceof DeclineMessage;
}

/** Addresses from the wire and from sources are both in RFC 5952 form, so text compares. */
function sameAddress(a: string, b: string): boolean {
  return a === b;
}

function samePrefix(option: IAPrefixOption, prefix: IPv6Prefix): boolean {
  return option.prefixLength === prefix.length && prefix.contains(option.prefix);
}

function overlaps(option: IAPrefixOption, prefix: IPv6Prefix): boolean {
  try {
    return prefix.overlapsNetwork(option.prefix, option.prefixLength);
  } catch {
    return false;
  }
}

/** Answers the unhandled IAs of a request of one kind, given the client's assignment. */
type IaAnswer = (
  bundle: TransactionBundle,
  assignment: Assignment,
  ianas: IANAOption[],
  iapds: IAPDOption[],
) => void;

const addressesOf = (ia: IANAOption) =>
  ia.options.filter((o): o is IAAddressOption => o instanceof IAAddressOption);
const prefixesOf = (ia: IAPDOption) =>
  ia.options.filter((o): o is IAPrefixOption => o instanceof IAPrefixOption);

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
   * The assignment for the client of `bundle`, if any: asked from a synchronous source, or what
   * the lookup of an asynchronous one stored in the bundle ({@link setLookedUpAssignment}).
   */
  getAssignment(bundle: TransactionBundle): Assignment | undefined {
    const source = this.#source;
    if (!source) throw new Error("static assignments used before workerInit()");
    let found: Assignment | undefined;
    if (isAsyncSource(source)) {
      const stored = bundle.handlerData.get(this) as Assignment | typeof NO_ASSIGNMENT | undefined;
      if (stored === undefined) {
        throw new Error(`${source.description}: the request was not looked up before handling`);
      }
      found = stored === NO_ASSIGNMENT ? undefined : stored;
    } else if (source.lookupOne) {
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
    const request = bundle.request;
    let answer: IaAnswer;
    if (request instanceof SolicitMessage || request instanceof RequestMessage) {
      answer = this.#handleRequest;
    } else if (request instanceof RenewMessage || request instanceof RebindMessage) {
      answer = this.#handleRenewRebind;
    } else if (request instanceof ConfirmMessage) {
      answer = this.#handleConfirm;
    } else if (request instanceof ReleaseMessage || request instanceof DeclineMessage) {
      answer = this.#handleReleaseDecline;
    } else {
      return;
    }
    const iapds = bundle.getUnhandledOptions(IAPDOption);
    const ianas = bundle.getUnhandledOptions(IANAOption);
    if (iapds.length === 0 && ianas.length === 0) return;
    // Without an assignment nothing is touched: the built-in handler withdraws what the client
    // has, and a later static handler (another source) still gets its chance.
    const assignment = this.getAssignment(bundle);
    if (assignment) answer.call(this, bundle, assignment, ianas, iapds);
  }

  /** The assigned address with its lifetimes, from its bytes when the source has them. */
  #addressOption(assignment: Assignment): IAAddressOption {
    const l = this.lifetimes;
    const bytes = assignment.addressBytes;
    return bytes
      ? IAAddressOption.fromBytes(bytes, l.addressPreferredLifetime, l.addressValidLifetime)
      : new IAAddressOption(
        assignment.address!,
        l.addressPreferredLifetime,
        l.addressValidLifetime,
      );
  }

  /** The assigned prefix with its lifetimes. */
  #prefixOption(prefix: IPv6Prefix): IAPrefixOption {
    const l = this.lifetimes;
    return IAPrefixOption.fromBytes(
      l.prefixPreferredLifetime,
      l.prefixValidLifetime,
      prefix.length,
      prefix.bytes,
    );
  }

  #handleRequest(
    bundle: TransactionBundle,
    assignment: Assignment,
    ianas: IANAOption[],
    iapds: IAPDOption[],
  ): void {
    const response = bundle.response.options;
    const prefix = assignment.prefix;
    if (prefix) {
      const ia = iapds.find((o) => prefixesOf(o).some((p) => samePrefix(p, prefix))) ?? iapds[0];
      if (ia) {
        response.push(new IAPDOption(ia.iaid, 0, 0, [this.#prefixOption(prefix)]));
        bundle.markHandled(ia);
      } else {
        log.debug("{bundle}: prefix {prefix} assigned but not requested", () => ({
          bundle: String(bundle),
          prefix: prefix.toString(),
        }));
      }
    }
    // The address text is only made when a hint is compared with it (or for the log).
    if (assignment.addressBytes || assignment.address) {
      const ia = ianas.find((o) =>
        addressesOf(o).some((a) =>
          sameAddress(a.address, assignment.address!)
        )
      ) ?? ianas[0];
      if (ia) {
        response.push(new IANAOption(ia.iaid, 0, 0, [this.#addressOption(assignment)]));
        bundle.markHandled(ia);
      } else {
        log.debug("{bundle}: address {address} assigned but not requested", () => ({
          bundle: String(bundle),
          address: assignment.address,
        }));
      }
    }
  }

  #handleRenewRebind(
    bundle: TransactionBundle,
    assignment: Assignment,
    ianas: IANAOption[],
    iapds: IAPDOption[],
  ): void {
    const { address, prefix } = assignment;
    const response = bundle.response.options;

    if (prefix) {
      const holdsIt = (ia: IAPDOption) => prefixesOf(ia).some((p) => samePrefix(p, prefix));
      const touching = iapds.filter((ia) => prefixesOf(ia).some((p) => overlaps(p, prefix)));
      // Deliver a changed assignment in the first IA_PD when no IA_PD holds it.
      const target = touching.find(holdsIt) ?? touching[0] ?? iapds[0];
      for (const ia of iapds) {
        if (ia !== target && !touching.includes(ia)) continue;
        const answer: IAPrefixOption[] = prefixesOf(ia).map((p) =>
          samePrefix(p, prefix)
            ? this.#prefixOption(prefix)
            : new IAPrefixOption(0, 0, p.prefixLength, p.prefix)
        );
        if (ia === target && !holdsIt(ia)) answer.push(this.#prefixOption(prefix));
        response.push(new IAPDOption(ia.iaid, 0, 0, answer));
        bundle.markHandled(ia);
      }
    }

    if (address === undefined) return;
    const holdsAddress = (ia: IANAOption) =>
      addressesOf(ia).some((a) => sameAddress(a.address, address));
    const addressTarget = ianas.find(holdsAddress) ?? ianas[0];
    for (const ia of ianas) {
      const current = addressesOf(ia);
      if (current.length === 0 && ia !== addressTarget) continue; // left for NoBinding
      const answer: IAAddressOption[] = current.map((a) =>
        sameAddress(a.address, address)
          ? this.#addressOption(assignment)
          : new IAAddressOption(a.address, 0, 0)
      );
      if (ia === addressTarget && !holdsAddress(ia)) answer.push(this.#addressOption(assignment));
      response.push(new IANAOption(ia.iaid, 0, 0, answer));
      bundle.markHandled(ia);
    }
  }

  #handleConfirm(
    bundle: TransactionBundle,
    { address, prefix }: Assignment,
    ianas: IANAOption[],
    iapds: IAPDOption[],
  ): void {
    if (address !== undefined) {
      for (const ia of ianas) {
        const addresses = addressesOf(ia);
        if (addresses.length > 0 && addresses.every((a) => sameAddress(a.address, address))) {
          bundle.markHandled(ia);
        }
      }
    }
    if (prefix) {
      for (const ia of iapds) {
        const prefixes = prefixesOf(ia);
        if (prefixes.length > 0 && prefixes.every((p) => samePrefix(p, prefix))) {
          bundle.markHandled(ia);
        }
      }
    }
  }

  #handleReleaseDecline(
    bundle: TransactionBundle,
    { address, prefix }: Assignment,
    ianas: IANAOption[],
    iapds: IAPDOption[],
  ): void {
    if (address !== undefined) {
      for (const ia of ianas) {
        if (addressesOf(ia).some((a) => sameAddress(a.address, address))) bundle.markHandled(ia);
      }
    }
    if (prefix) {
      for (const ia of iapds) {
        if (prefixesOf(ia).some((p) => overlaps(p, prefix))) bundle.markHandled(ia);
      }
    }
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
