/**
 * Recent transactions for the looking glass: a plain-data summary of each request and what it
 * got, kept in a bounded ring in the main thread. Engines record only when `<web-ui>` is
 * configured (one check per request otherwise); a worker's engine buffers its summaries and
 * they travel to the main thread with its statistics.
 * @module
 */

import type { HandleResult, TransactionBundle } from "../pipeline/mod.ts";
import {
  IAAddressOption,
  IANAOption,
  IAPDOption,
  IAPrefixOption,
  IATAOption,
  InterfaceIdOption,
  type Option,
  RemoteIdOption,
  StatusCode,
  StatusCodeOption,
  SubscriberIdOption,
  toHex,
} from "../protocol/mod.ts";

/** One request and what became of it. */
export interface TransactionRecord {
  /** When it was handled (milliseconds since the epoch). */
  time: number;
  /** Packet id, as log lines show it. */
  id: string;
  /** Server interface (listener) it arrived on. */
  interface: string;
  /** Client DUID as hex (empty when unknown). */
  client: string;
  /** Link addresses of the relays, closest to the client first (`::` for an LDRA). */
  relays: string[];
  /** Interface-ID of the relay closest to the client (text, or `0x` and hex). */
  interfaceId?: string;
  /** Remote-ID of the relay closest to the client, `ENTERPRISE:TEXT` or `ENTERPRISE:0xHEX`. */
  remoteId?: string;
  /** Subscriber-ID of the relay closest to the client (text, or `0x` and hex). */
  subscriberId?: string;
  /** The relay link address identifying the client's link (`::` when none). */
  linkAddress: string;
  /** Request type. */
  request: string;
  /** The pipeline's outcome. */
  outcome: string;
  /** Reply type, when one was sent. */
  reply?: string;
  /** Addresses and prefixes the reply hands out (valid lifetime above zero). */
  assigned: string[];
  /** Status codes in the reply other than success, by name. */
  statuses: string[];
  /** Handling time in milliseconds. */
  ms: number;
}

/** Where an engine puts its summaries. */
export interface TransactionSink {
  /** Take one summary. */
  add(record: TransactionRecord): void;
}

const ascii = new TextDecoder();

/** Text that is printable ASCII as it is, anything else as `0x` and hex. */
export function opaqueText(data: Uint8Array): string {
  for (let i = 0; i < data.length; i++) {
    if (data[i] < 0x20 || data[i] > 0x7e) return "0x" + toHex(data);
  }
  return ascii.decode(data);
}

const STATUS_NAMES = new Map<number, string>(
  Object.entries(StatusCode).filter(([, v]) => typeof v === "number").map(([k, v]) => [
    v as number,
    k,
  ]),
);

function collectReply(options: readonly Option[], assigned: string[], statuses: string[]): void {
  for (const o of options) {
    if (o instanceof StatusCodeOption) {
      if (o.statusCode !== 0) statuses.push(STATUS_NAMES.get(o.statusCode) ?? `${o.statusCode}`);
    } else if (o instanceof IAAddressOption) {
      if (o.validLifetime > 0) assigned.push(o.address);
      collectReply(o.options, assigned, statuses);
    } else if (o instanceof IAPrefixOption) {
      if (o.validLifetime > 0) assigned.push(`${o.prefix}/${o.prefixLength}`);
      collectReply(o.options, assigned, statuses);
    } else if (o instanceof IANAOption || o instanceof IATAOption || o instanceof IAPDOption) {
      collectReply(o.options, assigned, statuses);
    }
  }
}

/** The summary of a request that went through the pipeline. */
export function summarizeTransaction(
  result: HandleResult,
  packet: { id: string; interfaceName: string },
  ms: number,
  time = Date.now(),
): TransactionRecord {
  const bundle: TransactionBundle | undefined = result.bundle;
  const record: TransactionRecord = {
    time,
    id: packet.id,
    interface: packet.interfaceName,
    client: "",
    relays: [],
    linkAddress: "::",
    request: "unparsable",
    outcome: result.outcome,
    assigned: [],
    statuses: [],
    ms: Math.round(ms * 1000) / 1000,
  };
  if (!bundle) return record;
  record.client = bundle.clientDuid?.toHex() ?? "";
  record.request = bundle.request.name;
  record.linkAddress = bundle.linkAddress;
  const real = bundle.realRelays;
  record.relays = real.map((r) => r.linkAddress);
  const closest = real[0];
  if (closest) {
    for (const o of closest.options) {
      if (o instanceof InterfaceIdOption) record.interfaceId ??= opaqueText(o.data);
      else if (o instanceof RemoteIdOption) {
        record.remoteId ??= `${o.enterpriseNumber}:${opaqueText(o.remoteId)}`;
      } else if (o instanceof SubscriberIdOption) record.subscriberId ??= opaqueText(o.data);
    }
  }
  if (result.replies.length > 0 && bundle.response) {
    record.reply = bundle.response.name;
    collectReply(bundle.response.options, record.assigned, record.statuses);
  }
  return record;
}

/** A worker's summaries waiting to travel to the main thread (the newest `limit` kept). */
export class TransactionBuffer implements TransactionSink {
  #ring: TransactionRing;

  /** Keep at most `limit` summaries between two drains. */
  constructor(readonly limit = 1000) {
    this.#ring = new TransactionRing(limit);
  }

  /** Take one summary (the oldest is overwritten when full). */
  add(record: TransactionRecord): void {
    this.#ring.add(record);
  }

  /** The summaries since the last drain, oldest first. */
  drain(): TransactionRecord[] {
    if (this.#ring.size === 0) return [];
    const out = this.#ring.recent().reverse();
    this.#ring = new TransactionRing(this.limit);
    return out;
  }
}

/** The most recent transactions: a fixed-size ring, newest first when read. */
export class TransactionRing implements TransactionSink {
  readonly #slots: (TransactionRecord | undefined)[];
  #next = 0;
  #count = 0;

  /** A ring of `capacity` transactions. */
  constructor(readonly capacity = 2000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("capacity must be >= 1");
    this.#slots = new Array(capacity);
  }

  /** How many are kept. */
  get size(): number {
    return this.#count;
  }

  /** Add one, overwriting the oldest when full. */
  add(record: TransactionRecord): void {
    this.#slots[this.#next] = record;
    this.#next = (this.#next + 1) % this.capacity;
    if (this.#count < this.capacity) this.#count++;
  }

  /** Add several, oldest first. */
  addAll(records: readonly TransactionRecord[]): void {
    for (const r of records) this.add(r);
  }

  /** The newest first, at most `limit`, those `keep` accepts. */
  recent(limit = this.capacity, keep?: (r: TransactionRecord) => boolean): TransactionRecord[] {
    const out: TransactionRecord[] = [];
    for (let i = 1; i <= this.#count && out.length < limit; i++) {
      const r = this.#slots[(this.#next - i + this.capacity) % this.capacity]!;
      if (!keep || keep(r)) out.push(r);
    }
    return out;
  }
}

/**
 * Whether `record` matches the search text `q` (case-insensitive): the client DUID, a relay
 * link address, an id (interface, remote, subscriber), an assigned address or prefix, the
 * request or reply type, the outcome or a status.
 */
export function transactionMatches(record: TransactionRecord, q: string): boolean {
  const needle = q.trim().toLowerCase().replace(/^duid:/, "");
  if (needle === "") return true;
  const hexNeedle = needle.replace(/:/g, "");
  const fields = [
    record.id,
    record.interface,
    record.linkAddress,
    record.request,
    record.outcome,
    record.reply ?? "",
    record.interfaceId ?? "",
    record.remoteId ?? "",
    record.subscriberId ?? "",
    ...record.relays,
    ...record.assigned,
    ...record.statuses,
  ];
  if (record.client && /^[0-9a-f]+$/.test(hexNeedle) && record.client.includes(hexNeedle)) {
    return true;
  }
  return fields.some((f) => f.toLowerCase().includes(needle));
}
