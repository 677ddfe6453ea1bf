/**
 * What the assignment handlers in scope found for a request, for handlers that must step aside
 * when a client has an assignment (the dynamic pools: a client with a static address never gets
 * one from a pool). Assignment handlers record what they found during the lookup phase, which
 * runs before any handler answers.
 * @module
 */

import type { TransactionBundle } from "../../pipeline/mod.ts";

const KEY = Symbol.for("dhcpkit.assignment-in-scope");

/** Which kinds of assignment the client has from some source in scope. */
export interface AssignmentInScope {
  /** An address. */
  address: boolean;
  /** A prefix. */
  prefix: boolean;
}

/** Record that a source in scope has `found` (address and/or prefix) for the request's client. */
export function noteAssignment(
  bundle: TransactionBundle,
  found: { address?: unknown; addressBytes?: unknown; prefix?: unknown } | undefined,
): void {
  if (!found) return;
  // The bytes first: a source that has them makes the text only when asked for it.
  const address = found.addressBytes !== undefined || found.address !== undefined;
  const prefix = found.prefix !== undefined;
  if (!address && !prefix) return;
  const known = bundle.handlerData.get(KEY) as AssignmentInScope | undefined;
  if (known) {
    known.address ||= address;
    known.prefix ||= prefix;
  } else bundle.handlerData.set(KEY, { address, prefix });
}

/** What the sources in scope found so far for the request's client. */
export function assignmentInScope(bundle: TransactionBundle): AssignmentInScope {
  return (bundle.handlerData.get(KEY) as AssignmentInScope | undefined) ??
    { address: false, prefix: false };
}
