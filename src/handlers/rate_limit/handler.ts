/**
 * Handler for `<rate-limit>`: stops answering clients that send too many requests.
 *
 * Each client (told apart by the configured key) has a token bucket of `burst` tokens refilled
 * at `rate` per `per` seconds; a request without a token is dropped silently (CannotRespond,
 * counted as do_not_respond). The buckets live in a fixed-size table in shared memory created by
 * the main thread and handed to every worker (see `../shared_memory.ts`), so all workers count
 * together and memory use is bounded however many clients there are.
 * @module
 */

import { CannotRespond, Handler, type TransactionBundle } from "../../pipeline/mod.ts";
import {
  InterfaceIdOption,
  LinkLayerIdOption,
  RemoteIdOption,
  SubscriberIdOption,
  toHex,
} from "../../protocol/mod.ts";
import { sharedBuffer } from "../shared_memory.ts";
import { SharedTokenBuckets } from "./bucket_table.ts";
import type { RateLimitKey } from "./section.ts";

/** Name of the shared buffer holding every rate-limit bucket. */
export const RATE_LIMIT_BUFFER = "rate-limit";
/** Number of bucket slots shared by all `<rate-limit>` sections (16 bytes each). */
export const RATE_LIMIT_SLOTS = 16384;

/**
 * The key string of a request: `duid:<hex>`, `interface-id:<hex>`, `remote-id:<en>:<hex>`,
 * `subscriber-id:<hex>` or `linklayer-id:<type>:<hex>`. Relay-based keys come from the real
 * relay closest to the client (never from the server's own internal relay layer, whose
 * Interface-ID is the server's interface name); without one the DUID is used. A request without
 * a DUID is keyed by the address it came from.
 */
export function rateLimitKey(bundle: TransactionBundle, key: RateLimitKey): string {
  const relay = bundle.realRelays[0];
  if (relay && key !== "duid") {
    if (key === "interface-id") {
      const o = relay.getOption(InterfaceIdOption);
      if (o) return `interface-id:${toHex(o.data)}`;
    } else if (key === "remote-id") {
      const o = relay.getOption(RemoteIdOption);
      if (o) return `remote-id:${o.enterpriseNumber}:${toHex(o.remoteId)}`;
    } else if (key === "subscriber-id") {
      const o = relay.getOption(SubscriberIdOption);
      if (o) return `subscriber-id:${toHex(o.data)}`;
    } else if (key === "linklayer-id") {
      const o = relay.getOption(LinkLayerIdOption);
      if (o) return `linklayer-id:${o.linkLayerType}:${toHex(o.linkLayerAddress)}`;
    }
  }
  const duid = bundle.clientDuid;
  if (duid) return `duid:${duid.toHex()}`;
  const outer = bundle.incomingRelayMessages[bundle.incomingRelayMessages.length - 1];
  return `peer:${outer.peerAddress}`;
}

/** Drops requests from clients that have used up their token bucket. */
export class RateLimitHandler extends Handler {
  #table?: SharedTokenBuckets;
  readonly #interval: bigint;
  readonly #tolerance: bigint;

  /**
   * Create the handler. `id` separates the buckets of different `<rate-limit>` sections; `now`
   * returns milliseconds (injectable for tests); `table` defaults to the shared one.
   */
  constructor(
    readonly key: RateLimitKey,
    readonly rate: number,
    readonly per: number,
    readonly burst: number,
    readonly id = "rate-limit",
    readonly now: () => number = () => performance.timeOrigin + performance.now(),
    table?: SharedTokenBuckets,
  ) {
    super();
    this.#table = table;
    const interval = Math.max(1, Math.round((per * 1e6) / rate));
    this.#interval = BigInt(interval);
    this.#tolerance = BigInt(Math.max(0, burst - 1)) * BigInt(interval);
  }

  /** Attach to the shared table in this worker. */
  override workerInit(): void {
    this.#table ??= new SharedTokenBuckets(sharedBuffer(RATE_LIMIT_BUFFER));
  }

  /** Take a token or drop the request. */
  override pre(bundle: TransactionBundle): void {
    this.#table ??= new SharedTokenBuckets(sharedBuffer(RATE_LIMIT_BUFFER));
    const key = rateLimitKey(bundle, this.key);
    if (bundle.explain) {
      bundle.explain.note(`dry run: no token taken from the bucket of ${key}`);
      return;
    }
    const now = BigInt(Math.floor(this.now() * 1000));
    if (!this.#table.take(`${this.id}|${key}`, this.#interval, this.#tolerance, now)) {
      throw new CannotRespond(`rate limit reached for ${key}`);
    }
  }
}
