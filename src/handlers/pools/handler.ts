/**
 * The handler of `<address-pool>` and `<prefix-pool>`: allocates from its pool in the lookup
 * phase, before any handler answers, and answers the IAs it got leases for in the handle phase.
 *
 * Per request type (RFC 8415 §18.3, RFC 7550):
 * - Solicit: offers the client's lease (or a free one) without writing anything; with rapid
 *   commit (asked for and allowed) it commits instead.
 * - Request, Renew, Rebind: commits: extends the client's lease of this pool, else takes an
 *   address the client named when it is free, else a free one. The write is done before the
 *   reply is built, so a reply never names a lease that is not stored. In Renew and Rebind the
 *   other addresses (prefixes) the client named in the IA are returned with lifetimes 0.
 * - Release: frees the named leases the client holds; Decline quarantines them for the pool's
 *   `decline-probation` (IA_PD in a Decline is left alone, as RFC 8415 says).
 * - Confirm: an IA_NA whose addresses all lie in the pool is confirmed (on-link).
 *
 * IAs the client has a static assignment for (from a source in scope that looked it up before
 * the pool) are left alone, and so are IAs an earlier pool in scope took: each pool only takes
 * IAs nobody took yet. An exhausted pool leaves its IAs to the next pool in scope, and in the
 * end to the built-in NoAddrsAvail / NoPrefixAvail. When the store cannot answer the request is
 * dropped (the client retries), never answered with NoAddrsAvail.
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
  INFINITY,
  type Option,
  RapidCommitOption,
  RebindMessage,
  ReleaseMessage,
  RenewMessage,
  RequestMessage,
  SolicitMessage,
} from "../../protocol/mod.ts";
import { assignmentInScope } from "../static/in_scope.ts";
import { dryRunStore, explainPoolSkipped } from "./explain.ts";
import type { SharedLeaseStore } from "./leases.ts";
import type { Pool } from "./pool.ts";
import { type LeaseOp, type LeaseOpResult, type LeaseStore, unixNow } from "./store.ts";
import type { PoolStatistics } from "./stats.ts";
import { assertCommitted, awaitCommit, awaitResults, deferIA } from "./commit.ts";

const log = getLogger(["dhcpkit", "pools"]);

/** IAs taken by a pool during the lookup phase (shared by every pool in scope). */
const TAKEN = Symbol("pool-taken IAs");

type IA = IANAOption | IAPDOption;

/** What the lookup of one pool handler found for one request. */
interface Looked {
  readonly kind: LeaseOp["kind"];
  readonly ias: IA[];
  readonly results: LeaseOpResult[];
}

/** Results of pools not known yet, by pool type (see `PoolHandler.#apply`). */
const PENDING = Symbol("pool results not known yet");

function pendingOfType(bundle: TransactionBundle): Map<string, Promise<void>> {
  let pending = bundle.handlerData.get(PENDING) as Map<string, Promise<void>> | undefined;
  if (!pending) bundle.handlerData.set(PENDING, pending = new Map());
  return pending;
}

function takenIAs(bundle: TransactionBundle): Set<Option> {
  let taken = bundle.handlerData.get(TAKEN) as Set<Option> | undefined;
  if (!taken) bundle.handlerData.set(TAKEN, taken = new Set());
  return taken;
}

/** What a request asks of the pools, or undefined when they have nothing to do with it. */
function operationOf(bundle: TransactionBundle): LeaseOp["kind"] | undefined {
  const r = bundle.request;
  if (r instanceof SolicitMessage) {
    return bundle.allowRapidCommit && r.getOption(RapidCommitOption) ? "commit" : "offer";
  }
  if (r instanceof RequestMessage || r instanceof RenewMessage || r instanceof RebindMessage) {
    return "commit";
  }
  if (r instanceof ReleaseMessage) return "release";
  if (r instanceof DeclineMessage) return "decline";
  return undefined;
}

/** T1 and T2 for a preferred lifetime: 0.5 and 0.8 of it (infinite stays infinite). */
export function timersFor(preferred: number): { t1: number; t2: number } {
  if (preferred >= INFINITY) return { t1: INFINITY, t2: INFINITY };
  return { t1: Math.floor(preferred * 0.5), t2: Math.floor(preferred * 0.8) };
}

/** Hands out addresses or prefixes of one pool. */
export class PoolHandler extends Handler {
  #store?: LeaseStore;

  /** Create the handler of `pool`, with the store its pipeline's pools share. */
  constructor(
    readonly pool: Pool,
    readonly leases: SharedLeaseStore,
    readonly statistics?: PoolStatistics,
  ) {
    super();
  }

  /** Open (or share) the lease store. */
  override async workerInit(): Promise<void> {
    if (this.#store) return;
    this.statistics?.register(this.pool);
    this.#store = await this.leases.acquire(this.statistics?.onCounts);
  }

  /** Let go of the store. */
  override async close(): Promise<void> {
    if (!this.#store) return;
    this.#store = undefined;
    await this.leases.release(this.statistics?.onCounts);
  }

  /** The IAs of this pool's kind in the request. */
  #iasOf(bundle: TransactionBundle): IA[] {
    const type = this.pool.type === "na" ? IANAOption : IAPDOption;
    return bundle.request.getOptions(type as typeof IANAOption) as IA[];
  }

  /** The indexes of the pool's slots an IA names, in order. */
  #named(ia: IA): number[] {
    const out: number[] = [];
    for (const o of ia.options) {
      let index: number | undefined;
      if (o instanceof IAAddressOption) index = this.pool.indexOf(o.address);
      else if (o instanceof IAPrefixOption) index = this.pool.indexOf(o.prefix, o.prefixLength);
      if (index !== undefined && !out.includes(index)) out.push(index);
    }
    return out;
  }

  /** Allocate, commit, release or decline in the store for the IAs nobody took yet. */
  override lookup(bundle: TransactionBundle): Promise<void> | undefined {
    const kind = operationOf(bundle);
    if (!kind || (kind === "decline" && this.pool.type === "pd")) return undefined;
    const before = bundle.handlerData.has(PENDING)
      ? pendingOfType(bundle).get(this.pool.type)
      : undefined;
    if (before) return before.then(() => this.lookup(bundle));
    const inScope = assignmentInScope(bundle);
    if (this.pool.type === "na" ? inScope.address : inScope.prefix) {
      return explainPoolSkipped(bundle, this.pool, this.#store, "static assignment in scope wins");
    }
    const duid = bundle.clientDuid?.toHex();
    if (!duid) return undefined;
    const taken = takenIAs(bundle);
    const ias: IA[] = [];
    const ops: LeaseOp[] = [];
    // A client keeps a valid lease of another pool in scope (a later one, taken when this one
    // was full): this pool steps aside for it, and takes the IA at the end only when no pool in
    // scope did.
    const yieldToOtherPools = kind === "offer" || kind === "commit";
    for (const ia of this.#iasOf(bundle)) {
      if (taken.has(ia)) continue;
      const named = this.#named(ia);
      if ((kind === "release" || kind === "decline") && named.length === 0) continue;
      ias.push(ia);
      ops.push({ kind, pool: this.pool, duid, iaid: ia.iaid, named, yieldToOtherPools });
    }
    if (ops.length === 0) {
      return explainPoolSkipped(bundle, this.pool, this.#store, "no IA of the request left to it");
    }
    return this.#apply(bundle, kind, ias, ops);
  }

  /**
   * After every lookup: take an IA this pool stepped aside for (the client's lease is in
   * another pool) when no pool in scope took it, i.e. that pool is not in scope any more.
   */
  #late(bundle: TransactionBundle, kind: LeaseOp["kind"], ia: IA): Promise<void> | undefined {
    const duid = bundle.clientDuid?.toHex();
    if (takenIAs(bundle).has(ia) || !duid) return undefined;
    const op: LeaseOp = { kind, pool: this.pool, duid, iaid: ia.iaid, named: this.#named(ia) };
    return this.#apply(bundle, kind, [ia], [op]);
  }

  /** Run `ops` (one per IA of `ias`) in the store and keep the results for `handle`. */
  #apply(
    bundle: TransactionBundle,
    kind: LeaseOp["kind"],
    ias: IA[],
    ops: LeaseOp[],
  ): Promise<void> | undefined {
    const store = bundle.explain ? dryRunStore(this.#store, bundle.explain) : this.#store;
    if (!store) throw new Error("pool used before workerInit()");
    const taken = takenIAs(bundle);
    const done = (results: LeaseOpResult[]) => {
      const looked = bundle.handlerData.get(this) as Looked | undefined;
      if (looked) {
        // A late allocation: its result replaces the IA's `elsewhere`.
        ias.forEach((ia, i) => looked.results[looked.ias.indexOf(ia)] = results[i]);
      } else bundle.handlerData.set(this, { kind, ias, results } satisfies Looked);
      results.forEach((r, i) => {
        const ia = ias[i];
        if (r.index !== undefined || (r.changed?.length ?? 0) > 0) taken.add(ia);
        else if (r.elsewhere) deferIA(bundle, () => this.#late(bundle, kind, ia));
      });
      if (!bundle.explain) this.statistics?.counted(this.pool, kind, results);
    };
    if (store.applyGrouped) {
      const { results, durable } = store.applyGrouped(ops, unixNow());
      done(results);
      if (durable) awaitCommit(bundle, durable);
      return undefined;
    }
    const results = store.apply(ops, unixNow());
    if (!(results instanceof Promise)) {
      done(results);
      return undefined;
    }
    if (bundle.explain) return results.then(done);
    // The request does not wait here: the next pools' operations join the same call of the
    // store (one round trip for the NA and PD pools of every request of the receive batch);
    // PoolCommitWait waits for the results before the reply is built, and a later pool of
    // this type waits for them before it looks (it takes only what this one left).
    const settled = results.then(done);
    awaitResults(bundle, settled);
    pendingOfType(bundle).set(this.pool.type, settled);
    settled.then(() => {
      const pending = pendingOfType(bundle);
      if (pending.get(this.pool.type) === settled) pending.delete(this.pool.type);
    }, () => {});
    return undefined;
  }

  /** Answer the IAs the lookup got leases for; confirm addresses on this pool's link. */
  override handle(bundle: TransactionBundle): void {
    if (bundle.request instanceof ConfirmMessage) return this.#confirm(bundle);
    // Results not known yet or not committed (no PoolCommitWait in the pipeline): dropped.
    assertCommitted(bundle);
    const looked = bundle.handlerData.get(this) as Looked | undefined;
    if (!looked) return;
    const renewing = bundle.request instanceof RenewMessage ||
      bundle.request instanceof RebindMessage;
    const { kind, ias, results } = looked;
    const response = bundle.response.options;
    // Every lookup has run now: a static assignment looked up after this pool still wins.
    const inScope = assignmentInScope(bundle);
    const stepAside = this.pool.type === "na" ? inScope.address : inScope.prefix;
    for (let i = 0; i < ias.length; i++) {
      const ia = ias[i];
      const result = results[i];
      if (bundle.handledOptions.has(ia) || (stepAside && kind !== "release")) {
        // Another handler answers it (a static assignment): what this pool committed for it
        // is given back.
        if (kind === "commit" && result.index !== undefined) this.#giveBack(bundle, ia, result);
        bundle.explain?.note(`${this.pool.id}: IA ${ia.iaid} answered by another handler`);
        continue;
      }
      if (kind === "release" || kind === "decline") {
        if (result.changed?.length) bundle.markHandled(ia);
        continue;
      }
      if (result.index === undefined) continue;
      const leases: Option[] = [this.#leaseOption(result.index)];
      if (renewing) {
        for (const o of ia.options) {
          if (o instanceof IAAddressOption && this.pool.indexOf(o.address) !== result.index) {
            leases.push(new IAAddressOption(o.address, 0, 0));
          } else if (
            o instanceof IAPrefixOption &&
            this.pool.indexOf(o.prefix, o.prefixLength) !== result.index
          ) {
            leases.push(new IAPrefixOption(0, 0, o.prefixLength, o.prefix));
          }
        }
      }
      const { t1, t2 } = timersFor(this.pool.spec.preferredLifetime);
      response.push(
        this.pool.type === "na"
          ? new IANAOption(ia.iaid, t1, t2, leases)
          : new IAPDOption(ia.iaid, t1, t2, leases),
      );
      bundle.markHandled(ia);
    }
  }

  /** The lease option of slot `index`, with the pool's lifetimes. */
  #leaseOption(index: number): Option {
    const { preferredLifetime: p, validLifetime: v, delegatedLength } = this.pool.spec;
    const at = this.pool.bytesAt(index);
    return this.pool.type === "na"
      ? IAAddressOption.fromBytes(at, p, v)
      : IAPrefixOption.fromBytes(p, v, delegatedLength, at);
  }

  /** Confirm: IA_NAs whose addresses all lie in this pool are on-link. */
  #confirm(bundle: TransactionBundle): void {
    if (this.pool.type !== "na") return;
    for (const ia of bundle.getUnhandledOptions(IANAOption)) {
      const addresses = ia.options.filter((o) => o instanceof IAAddressOption);
      if (
        addresses.length > 0 &&
        addresses.every((a) => this.pool.spec.prefix.contains((a as IAAddressOption).address))
      ) bundle.markHandled(ia);
    }
  }

  /** Free a slot committed for an IA another handler answered. */
  #giveBack(bundle: TransactionBundle, ia: IA, result: LeaseOpResult): void {
    const store = this.#store;
    const duid = bundle.clientDuid?.toHex();
    if (!store || !duid || bundle.explain) return; // explain wrote nothing to give back
    const op: LeaseOp = {
      kind: "release",
      pool: this.pool,
      duid,
      iaid: ia.iaid,
      named: [result.index!],
    };
    try {
      const r = store.apply([op], unixNow());
      if (r instanceof Promise) r.catch((e) => this.#giveBackFailed(e));
    } catch (e) {
      this.#giveBackFailed(e);
    }
  }

  #giveBackFailed(e: unknown): void {
    log.warning("{pool}: could not free a lease another handler made unneeded: {error}", {
      pool: this.pool.id,
      error: (e as Error).message,
    });
  }
}
