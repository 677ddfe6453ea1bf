/**
 * The lease store one pipeline's pools share in a worker: opened when the first pool handler is
 * initialised, closed with the last; runs the reclaim timer while open. Which store it is comes
 * from the configuration's top level (a `lease-store` section, else `leases.sqlite` in the
 * `state-directory`), found through the build context.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { join } from "node:path";
import type { ConfigSection } from "../../config/mod.ts";
import type { BuildContext } from "../registry.ts";
import { buildComponent } from "../registry.ts";
import { DEFAULT_LEASE_FILE, DEFAULT_STATE_DIRECTORY } from "./section.ts";
import { SqliteLeaseStore } from "./sqlite.ts";
import { type LeaseStore, type PoolCounts, unixNow } from "./store.ts";

const log = getLogger(["dhcpkit", "pools"]);

/** How a lease store section opens its store, and how often it reclaims. */
export interface LeaseStoreFactory {
  /** What the store is, for messages. */
  readonly description: string;
  /** Seconds between reclaim runs. */
  readonly reclaimInterval: number;
  /** Open the store (once per worker). */
  open(): LeaseStore | Promise<LeaseStore>;
}

/** Called with the counts per pool id after the store is opened and after every reclaim run. */
export type CountsListener = (counts: ReadonlyMap<string, PoolCounts>) => void;

/** The shared store of one pipeline in one worker. */
export class SharedLeaseStore {
  #store?: LeaseStore;
  #opening?: Promise<LeaseStore>;
  #users = 0;
  #timer?: ReturnType<typeof setInterval>;
  #listeners = new Set<CountsListener>();

  /** Create it; nothing is opened yet. */
  constructor(readonly factory: LeaseStoreFactory) {}

  /** The open store (after {@link SharedLeaseStore.acquire}). */
  get store(): LeaseStore {
    if (!this.#store) throw new Error("lease store used before workerInit()");
    return this.#store;
  }

  /** Open the store for one more user; `onCounts` hears the counts per pool from now on. */
  async acquire(onCounts?: CountsListener): Promise<LeaseStore> {
    this.#users++;
    if (onCounts) this.#listeners.add(onCounts);
    if (this.#store) return this.#store;
    this.#opening ??= Promise.resolve(this.factory.open());
    try {
      this.#store = await this.#opening;
    } catch (e) {
      this.#users--;
      this.#opening = undefined;
      throw e;
    }
    this.#startReclaim();
    await this.refresh().catch(() => {});
    return this.#store;
  }

  /** One user less; the last closes the store. */
  async release(onCounts?: CountsListener): Promise<void> {
    if (onCounts) this.#listeners.delete(onCounts);
    if (--this.#users > 0) return;
    this.#users = 0;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    const store = this.#store;
    this.#store = undefined;
    this.#opening = undefined;
    await store?.close();
  }

  /** Run one reclaim now, then refresh the counts (what the timer does). */
  async reclaim(now = unixNow()): Promise<Map<string, number>> {
    const store = this.#store;
    if (!store) return new Map();
    const reclaimed = await store.reclaim(now);
    await this.refresh(now);
    return reclaimed;
  }

  /**
   * What the timer does: when this worker wins the interval's housekeeping (one worker per
   * interval among all users of the store), reclaim and refresh the counts; a store shared by
   * several servers refreshes the counts in every server.
   */
  async housekeeping(now = unixNow()): Promise<void> {
    const store = this.#store;
    if (!store) return;
    const mine = await store.claimHousekeeping?.(now, this.factory.reclaimInterval) ?? true;
    if (mine) await store.reclaim(now);
    if (mine || store.shared) await this.refresh(now);
  }

  /** Read the counts per pool and tell the listeners. */
  async refresh(now = unixNow()): Promise<void> {
    const store = this.#store;
    if (!store || this.#listeners.size === 0) return;
    const counts = await store.counts(now);
    for (const l of this.#listeners) l(counts);
  }

  #startReclaim(): void {
    const ms = this.factory.reclaimInterval * 1000;
    if (ms <= 0) return;
    const timer = setInterval(() => {
      this.housekeeping().catch((e) =>
        log.warning("{store}: reclaiming expired leases failed: {error}", {
          store: this.factory.description,
          error: (e as Error).message,
        })
      );
    }, ms);
    Deno.unrefTimer(timer as unknown as number);
    this.#timer = timer;
  }
}

/** The store of every pipeline built with one context (one per build and worker). */
const shared = new WeakMap<object, SharedLeaseStore>();

/** Factories of the lease store section types, filled by the pools extension. */
export function isLeaseStoreFactory(value: unknown): value is LeaseStoreFactory {
  return typeof value === "object" && value !== null &&
    typeof (value as LeaseStoreFactory).open === "function" &&
    typeof (value as LeaseStoreFactory).reclaimInterval === "number";
}

/** The default store: `leases.sqlite` in the state directory. */
export function defaultLeaseStore(stateDirectory: string): LeaseStoreFactory {
  const path = join(stateDirectory, DEFAULT_LEASE_FILE);
  return {
    description: path,
    reclaimInterval: 60,
    open() {
      log.warning(
        "no <lease-store-sqlite> or <lease-store-postgresql> configured: pool leases are kept " +
          "in {path}",
        { path },
      );
      return new SqliteLeaseStore(path, 5000, false, true);
    },
  };
}

/** The lease store the pools of the pipeline built with `ctx` share. */
export function sharedLeaseStore(ctx: BuildContext): SharedLeaseStore {
  const key = ctx.root ?? ctx;
  let found = shared.get(key);
  if (found) return found;
  const root: ConfigSection | undefined = ctx.root;
  const section = root?.children.find((c) => c.kind === "lease-store");
  let factory: LeaseStoreFactory;
  if (section) {
    const built = buildComponent(section, ctx);
    if (!isLeaseStoreFactory(built)) {
      throw new Error(`${section.file}:${section.line}: <${section.type}> is not a lease store`);
    }
    factory = built;
  } else {
    const dir = (root?.values as { stateDirectory?: string } | undefined)?.stateDirectory ??
      DEFAULT_STATE_DIRECTORY;
    factory = defaultLeaseStore(dir);
  }
  found = new SharedLeaseStore(factory);
  shared.set(key, found);
  return found;
}
