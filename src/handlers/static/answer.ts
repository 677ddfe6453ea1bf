/**
 * How an assignment (one address and/or one prefix for a client) answers the IAs of a request;
 * shared by the static assignment handlers and the RADIUS handler.
 *
 * IAs not taken here are answered by the built-in unanswered-IA handler:
 * - Solicit / Request: the prefix goes into the first unhandled IA_PD that already asks for it,
 *   else the first unhandled IA_PD; the address likewise into an IA_NA.
 * - Renew / Rebind: with an assigned address, every unhandled IA_NA that carries addresses is
 *   answered, renewing the assigned address and withdrawing every other one (lifetimes 0); with
 *   an assigned prefix, every IA_PD with a prefix overlapping it is answered the same way. When
 *   no IA of the request holds the assignment any more (it changed), the assigned address or
 *   prefix is added to the first IA of its kind, as RFC 8415 §18.3.4-5 allow. IAs left alone get
 *   the built-in answer, which withdraws what they carry or says NoBinding, so a client without
 *   an assignment sees the same, while a later assignment handler still gets a turn.
 * - Confirm: an IA whose addresses (prefixes) are all the assigned ones is confirmed (handled);
 *   anything else is left for the built-in NotOnLink answer.
 * - Release / Decline: IAs holding the assignment are marked handled (static leases have no
 *   state to change), so the reply says Success.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { TransactionBundle } from "../../pipeline/mod.ts";
import {
  findOptions,
  IAAddressOption,
  IANAOption,
  IAPDOption,
  IAPrefixOption,
  type IPv6Prefix,
  MsgType,
  parseIPv6,
} from "../../protocol/mod.ts";
import type { Assignment } from "./ids.ts";

const log = getLogger(["dhcpkit", "static"]);

/** The four lifetimes of an assignment, in seconds. */
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

/**
 * True when the IA Address `option` holds the assigned address `bytes`: compared as bytes, so
 * neither a hint from the wire nor the assignment is turned into text. A hint whose text is not
 * an address (only possible for options built in code) holds nothing.
 */
function sameAddress(option: IAAddressOption, bytes: Uint8Array): boolean {
  let hint: Uint8Array;
  try {
    hint = option.addressBytes;
  } catch {
    return false;
  }
  for (let i = 0; i < 16; i++) if (hint[i] !== bytes[i]) return false;
  return true;
}

/** True when the assignment has an address (asked without making its text). */
function hasAddress(assignment: Assignment): boolean {
  return assignment.addressBytes !== undefined || assignment.address !== undefined;
}

/** The assigned address as 16 bytes (the source's own, or parsed from its text). */
function assignedBytes(assignment: Assignment): Uint8Array {
  return assignment.addressBytes ?? parseIPv6(assignment.address!);
}

function samePrefix(option: IAPrefixOption, prefix: IPv6Prefix): boolean {
  if (option.prefixLength !== prefix.length) return false;
  try {
    return prefix.contains(option.prefixBytes);
  } catch {
    return false;
  }
}

function overlaps(option: IAPrefixOption, prefix: IPv6Prefix): boolean {
  try {
    return prefix.overlapsNetwork(option.prefixBytes, option.prefixLength);
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
  lifetimes: StaticLifetimes,
) => void;

// findOptions tests prototypes: `instanceof` would take V8's generic path on every request.
const addressesOf = (ia: IANAOption) => findOptions(ia.options, IAAddressOption);
const prefixesOf = (ia: IAPDOption) => findOptions(ia.options, IAPrefixOption);

/** The assigned address with its lifetimes, from its bytes when the source has them. */
function addressOption(assignment: Assignment, l: StaticLifetimes): IAAddressOption {
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
function prefixOption(prefix: IPv6Prefix, l: StaticLifetimes): IAPrefixOption {
  return IAPrefixOption.fromBytes(
    l.prefixPreferredLifetime,
    l.prefixValidLifetime,
    prefix.length,
    prefix.bytes,
  );
}

function answerRequest(
  bundle: TransactionBundle,
  assignment: Assignment,
  ianas: IANAOption[],
  iapds: IAPDOption[],
  lifetimes: StaticLifetimes,
): void {
  const response = bundle.response.options;
  const prefix = assignment.prefix;
  if (prefix) {
    const ia = iapds.find((o) => prefixesOf(o).some((p) => samePrefix(p, prefix))) ?? iapds[0];
    if (ia) {
      response.push(new IAPDOption(ia.iaid, 0, 0, [prefixOption(prefix, lifetimes)]));
      bundle.markHandled(ia);
    } else {
      log.debug("{bundle}: prefix {prefix} assigned but not requested", () => ({
        bundle: String(bundle),
        prefix: prefix.toString(),
      }));
    }
  }
  // Hints are compared as bytes; the address text is only made for the log.
  if (hasAddress(assignment)) {
    const bytes = assignedBytes(assignment);
    const ia = ianas.find((o) => addressesOf(o).some((a) => sameAddress(a, bytes))) ?? ianas[0];
    if (ia) {
      response.push(new IANAOption(ia.iaid, 0, 0, [addressOption(assignment, lifetimes)]));
      bundle.markHandled(ia);
    } else {
      log.debug("{bundle}: address {address} assigned but not requested", () => ({
        bundle: String(bundle),
        address: assignment.address,
      }));
    }
  }
}

function answerRenewRebind(
  bundle: TransactionBundle,
  assignment: Assignment,
  ianas: IANAOption[],
  iapds: IAPDOption[],
  lifetimes: StaticLifetimes,
): void {
  const prefix = assignment.prefix;
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
          ? prefixOption(prefix, lifetimes)
          : IAPrefixOption.fromBytes(0, 0, p.prefixLength, p.prefixBytes)
      );
      if (ia === target && !holdsIt(ia)) answer.push(prefixOption(prefix, lifetimes));
      response.push(new IAPDOption(ia.iaid, 0, 0, answer));
      bundle.markHandled(ia);
    }
  }

  if (!hasAddress(assignment)) return;
  const bytes = assignedBytes(assignment);
  const holdsAddress = (ia: IANAOption) => addressesOf(ia).some((a) => sameAddress(a, bytes));
  const addressTarget = ianas.find(holdsAddress) ?? ianas[0];
  for (const ia of ianas) {
    const current = addressesOf(ia);
    if (current.length === 0 && ia !== addressTarget) continue; // left for NoBinding
    const answer: IAAddressOption[] = current.map((a) =>
      sameAddress(a, bytes)
        ? addressOption(assignment, lifetimes)
        : IAAddressOption.fromBytes(a.addressBytes, 0, 0)
    );
    if (ia === addressTarget && !holdsAddress(ia)) {
      answer.push(addressOption(assignment, lifetimes));
    }
    response.push(new IANAOption(ia.iaid, 0, 0, answer));
    bundle.markHandled(ia);
  }
}

function answerConfirm(
  bundle: TransactionBundle,
  assignment: Assignment,
  ianas: IANAOption[],
  iapds: IAPDOption[],
): void {
  const prefix = assignment.prefix;
  if (hasAddress(assignment)) {
    const bytes = assignedBytes(assignment);
    for (const ia of ianas) {
      const addresses = addressesOf(ia);
      if (addresses.length > 0 && addresses.every((a) => sameAddress(a, bytes))) {
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

function answerReleaseDecline(
  bundle: TransactionBundle,
  assignment: Assignment,
  ianas: IANAOption[],
  iapds: IAPDOption[],
): void {
  const prefix = assignment.prefix;
  if (hasAddress(assignment)) {
    const bytes = assignedBytes(assignment);
    for (const ia of ianas) {
      if (addressesOf(ia).some((a) => sameAddress(a, bytes))) bundle.markHandled(ia);
    }
  }
  if (prefix) {
    for (const ia of iapds) {
      if (prefixesOf(ia).some((p) => overlaps(p, prefix))) bundle.markHandled(ia);
    }
  }
}

/** The answer function for the request's message type, if it has IAs to answer. */
function answerFor(bundle: TransactionBundle): IaAnswer | undefined {
  switch (bundle.request.type) {
    case MsgType.Solicit:
    case MsgType.Request:
      return answerRequest;
    case MsgType.Renew:
    case MsgType.Rebind:
      return answerRenewRebind;
    case MsgType.Confirm:
      return answerConfirm;
    case MsgType.Release:
    case MsgType.Decline:
      return answerReleaseDecline;
  }
  return undefined;
}

/**
 * True when the request is of a type whose IAs an assignment answers and has an IA_NA or IA_PD
 * no handler has answered yet.
 */
export function hasIAsToAnswer(bundle: TransactionBundle): boolean {
  return answerFor(bundle) !== undefined &&
    (bundle.hasUnhandledOption(IAPDOption) || bundle.hasUnhandledOption(IANAOption));
}

/**
 * Answer the unhandled IAs of the request with the client's assignment (see the module
 * documentation). `assignment` is only asked when there are IAs to answer; when it gives
 * nothing, nothing is touched.
 */
export function answerIAs(
  bundle: TransactionBundle,
  lifetimes: StaticLifetimes,
  assignment: () => Assignment | undefined,
): void {
  const answer = answerFor(bundle);
  if (!answer) return;
  const iapds = bundle.getUnhandledOptions(IAPDOption);
  const ianas = bundle.getUnhandledOptions(IANAOption);
  if (iapds.length === 0 && ianas.length === 0) return;
  const found = assignment();
  if (found) answer(bundle, found, ianas, iapds, lifetimes);
}
