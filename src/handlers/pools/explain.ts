/**
 * The pools' part of explain (`ctl explain`, the looking glass's `/explain`): what the lease
 * store says for each IA, found without side effects. A commit is asked as an offer (the same
 * search, without the write), a release or decline is worked out from the client's stored
 * leases, and nothing is counted: the store's rows are exactly as before. Only called while a
 * request is explained (`bundle.explain` set); ordinary requests never come here.
 * @module
 */

import { durationText, type ExplainRecorder, type TransactionBundle } from "../../pipeline/mod.ts";
import type { Pool } from "./pool.ts";
import { resourceText } from "./sqlite.ts";
import type { Lease, LeaseOp, LeaseOpResult, LeaseStore } from "./store.ts";

/** The name of the handler in the trace. */
const HANDLER = "PoolHandler";

/** A stored lease as one line: resource, IAID, state and what is left of it. */
export function leaseText(lease: Lease, now: number): string {
  const left = lease.validUntil >= Number.MAX_SAFE_INTEGER ? Infinity : lease.validUntil - now;
  const state = lease.state === "assigned" && left <= 0 ? "expired" : lease.state;
  const tail = left > 0 ? `, ${durationText(left)} left` : "";
  return `${lease.resource} (IAID ${lease.iaid}, ${state}${tail})`;
}

/**
 * Tell explain why `pool` was not asked for the request (undefined without explain, so that it
 * can be returned from `lookup`).
 */
export function explainPoolSkipped(
  bundle: TransactionBundle,
  pool: Pool,
  store: LeaseStore | undefined,
  why: string,
): undefined {
  bundle.explain?.pool({
    handler: HANDLER,
    pool: pool.id,
    store: store ? store.description : "-",
    result: why,
    held: [],
  });
  return undefined;
}

/**
 * What the store answers for `ops`, without writing: commits are asked as offers, releases and
 * declines are found in the client's stored leases (the slots the store would change: the
 * client's, for that IA, assigned). Each IA's answer is recorded in `recorder`.
 */
export async function explainPoolOps(
  recorder: ExplainRecorder,
  store: LeaseStore,
  ops: readonly LeaseOp[],
  now: number,
): Promise<LeaseOpResult[]> {
  const pool = ops[0].pool;
  const held = (await store.list({ duid: ops[0].duid })).filter((l) => l.pool === pool.id);
  const heldLines = held.map((l) => leaseText(l, now));
  const what = pool.type === "na" ? "IA_NA" : "IA_PD";
  const changing = ops.filter((op) => op.kind === "release" || op.kind === "decline");
  const asking = ops.filter((op) => op.kind === "offer" || op.kind === "commit");
  const offers = asking.length
    ? await store.apply(asking.map((op) => ({ ...op, kind: "offer" as const })), now)
    : [];
  let exhausted: string | undefined;
  const results: LeaseOpResult[] = [];
  let o = 0;
  for (const op of ops) {
    const step = {
      handler: HANDLER,
      pool: pool.id,
      store: store.description,
      ia: `${what} ${op.iaid}`,
      held: heldLines,
    };
    if (changing.includes(op)) {
      const changed = op.named.filter((i) =>
        held.some((l) =>
          l.index === i && l.iaid === op.iaid && l.state === "assigned" && l.validUntil > now
        )
      );
      const verb = op.kind === "release" ? "release" : "quarantine";
      recorder.pool({
        ...step,
        lease: op.named.map((i) => resourceText(pool, i)).join(", "),
        result: changed.length
          ? `would ${verb} ${changed.map((i) => resourceText(pool, i)).join(", ")} ` +
            "(dry run: not written)"
          : "names no lease the client holds in this IA: nothing would change",
      });
      results.push({ changed });
      continue;
    }
    // The store's answer as it is (whatever else it says about the IA), for the handler.
    const offer = offers[o++];
    const index = offer.index;
    results.push(offer);
    if (index === undefined) {
      exhausted ??= await usage(store, pool, now);
      recorder.pool({
        ...step,
        result: `exhausted${exhausted}: no free ${
          pool.type === "na" ? "address" : "prefix"
        }; the IA is left to the next pool in scope, else it gets ${
          pool.type === "na" ? "NoAddrsAvail" : "NoPrefixAvail"
        }`,
      });
      continue;
    }
    const resource = resourceText(pool, index);
    const mine = held.find((l) => l.index === index && l.iaid === op.iaid);
    const commit = op.kind === "commit";
    let result: string;
    if (mine && mine.state === "assigned" && mine.validUntil > now) {
      result = `the client's lease ${leaseText(mine, now)}: ${
        commit ? "would be extended (dry run: not written)" : "offered again"
      }`;
    } else if (mine) {
      result = `the client's earlier lease ${leaseText(mine, now)}, nobody took it since: ${
        commit ? "would be bound again (dry run: not written)" : "offered again"
      }`;
    } else {
      const asked = op.named.includes(index) ? ", the one the client asked for" : "";
      result = commit
        ? `would bind ${resource} (free${asked}; dry run: not written, not reserved)`
        : `would offer ${resource} (free${asked}; an offer writes nothing)`;
    }
    recorder.pool({ ...step, lease: resource, result });
  }
  return results;
}

/**
 * `store` as a request being explained sees it: `apply` answers as the store would, without
 * writing (see {@link explainPoolOps}), and records each IA's answer in `recorder`; reading
 * (`list`, `counts`) goes to the store; nothing else is offered (no group commit, no reclaim,
 * no delete).
 */
export function dryRunStore(
  store: LeaseStore | undefined,
  recorder: ExplainRecorder,
): LeaseStore | undefined {
  if (!store) return undefined;
  const refuse = (): never => {
    throw new Error("explain changes no lease");
  };
  return {
    description: store.description,
    apply: (ops, now) => explainPoolOps(recorder, store, ops, now),
    list: (filter) => store.list(filter),
    counts: (now) => store.counts(now),
    reclaim: refuse,
    delete: refuse,
    close: () => {},
  };
}

/** ` (N of M in use)` for an exhausted pool, or nothing when the store cannot say. */
async function usage(store: LeaseStore, pool: Pool, now: number): Promise<string> {
  try {
    const counts = (await store.counts(now)).get(pool.id);
    const used = (counts?.assigned ?? 0) + (counts?.declined ?? 0);
    return ` (${used} of ${pool.total} in use${
      counts?.declined ? `, ${counts.declined} declined` : ""
    })`;
  } catch {
    return "";
  }
}
