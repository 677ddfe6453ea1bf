/**
 * The interface between the `<leasequery>` handler and the storage behind it, plus the helpers
 * every store shares: which reply data to record and how query results are shaped.
 *
 * A store records what replies hand out ({@link LeaseStore.remember}) and answers the five query
 * types ({@link LeaseStore.find}). A storage back-end implements {@link LeaseStore} (answered
 * while the request is handled, like SQLite) or {@link AsyncLeaseStore} (a database server, like
 * PostgreSQL: asked in the handler's asynchronous lookup), defines a section of kind
 * `leasequery-store`, and builds its store from that section with `componentFor` in its
 * extension's `components`.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { TransactionBundle } from "../../pipeline/mod.ts";
import {
  ClientDataOption,
  ClientIdOption,
  CLTTimeOption,
  DeclineMessage,
  type Duid,
  duidFromBytes,
  formatIPv6,
  fromHex,
  IAAddressOption,
  IANAOption,
  IAPDOption,
  IAPrefixOption,
  IATAOption,
  INFINITY,
  type LQQueryOption,
  LQRelayDataOption,
  type Message,
  normalizeIPv6,
  type Option,
  parseIPv6,
  parseMessage,
  parseOptions,
  RebindMessage,
  RelayForwardMessage,
  RelayIdOption,
  RelayMessageOption,
  ReleaseMessage,
  RemoteIdOption,
  RenewMessage,
  ReplyMessage,
  RequestMessage,
  serializeMessage,
  SolicitMessage,
  StatusCode,
  StatusCodeOption,
  toHex,
  writeOptions,
  Writer,
} from "../../protocol/mod.ts";

const log = getLogger(["dhcpkit", "leasequery"]);

/** One address lease as stored: absolute end times in Unix seconds. */
export interface StoredAddress {
  /** The address (canonical text). */
  address: string;
  /** When the preferred lifetime ends (Unix seconds; {@link INFINITE_END} = never). */
  preferredEnd: number;
  /** When the valid lifetime ends (Unix seconds; {@link INFINITE_END} = never). */
  validEnd: number;
  /** Sub-options of the IA Address (without status codes), wire encoded. */
  options: Uint8Array;
  /**
   * The client released or declined it: the store forgets it for this client (and only for
   * this client: a release never takes a lease from another).
   */
  released?: boolean;
}

/** One delegated prefix as stored. */
export interface StoredPrefix {
  /** The prefix address (canonical text). */
  prefix: string;
  /** Prefix length. */
  length: number;
  /** When the preferred lifetime ends (Unix seconds). */
  preferredEnd: number;
  /** When the valid lifetime ends (Unix seconds). */
  validEnd: number;
  /** Sub-options of the IA Prefix (without status codes), wire encoded. */
  options: Uint8Array;
  /** The client released it (see {@link StoredAddress.released}). */
  released?: boolean;
}

/** End time stored for an infinite lifetime. */
export const INFINITE_END = 2 ** 52;

/** What the handler wants in each Client Data option. */
export interface QueryOptions {
  /** Option codes listed in the ORO inside the LQ_QUERY. */
  requestedOptions: readonly number[];
  /** Option codes never returned. */
  sensitiveOptions: ReadonlySet<number>;
  /** Unix time (seconds) the remaining lifetimes and CLT_TIME are computed against. */
  now: number;
}

/** One client found by a query: its link and its Client Data option. */
export interface ClientRecord {
  /** The link address the client was seen on (canonical text, `::` when unknown). */
  linkAddress: string;
  /** The Client Data option describing the client. */
  clientData: ClientDataOption;
}

/**
 * Lazily produced query results. Iterating pulls one client at a time from the storage; `close()`
 * (or `return()` on the iterator) releases what the query holds (statements, connections).
 */
export interface ClientCursor extends IterableIterator<ClientRecord> {
  /** Release the query's resources; safe to call more than once. */
  close(): void;
}

/**
 * Lazily produced query results of an {@link AsyncLeaseStore}: each `next()` may ask the database
 * for more. `close()` (or `return()`) releases what the query holds.
 */
export interface AsyncClientCursor extends AsyncIterableIterator<ClientRecord> {
  /** Release the query's resources; safe to call more than once. */
  close(): void;
}

/**
 * A storage back-end on a database server (PostgreSQL): recording queues the data and writes it in
 * batches away from the request path; queries are asynchronous, run in the handler's lookup.
 */
export interface AsyncLeaseStore {
  /**
   * Open the store in this worker (connect, create or migrate the schema). Throws when that fails
   * at start-up, with a message naming the database, so that the server does not start.
   */
  open(sensitiveOptions: ReadonlySet<number>): Promise<void>;
  /** Whether queries can be answered right now. */
  readonly available: boolean;
  /** Queue what the reply in `bundle` hands out (§7.2 rules) for writing. Must not throw. */
  remember(bundle: TransactionBundle, now: number): void;
  /**
   * The clients a query asks about, fetched as the cursor is consumed. Undefined for query types
   * the store does not support; throws {@link MalformedQueryError} at once when the query lacks
   * what its type needs.
   */
  query(
    query: LQQueryOption,
    options: QueryOptions,
    stream: boolean,
  ): AsyncClientCursor | undefined;
  /** Write what is queued (as far as the database allows) and close everything. */
  close(): void | Promise<void>;
}

/** A storage back-end for leasequery data. */
export interface LeaseStore {
  /**
   * Open the store in this worker: create tables if needed and clean expired data (at most once
   * per start-up across all workers). Must not throw for a broken database: the store then
   * reports itself unavailable and keeps trying later.
   */
  open(sensitiveOptions: ReadonlySet<number>): void | Promise<void>;
  /** Whether queries can be answered right now. */
  readonly available: boolean;
  /** Record what the reply in `bundle` hands out (§7.2 rules). Must not throw. */
  remember(bundle: TransactionBundle, now: number): void;
  /**
   * Find the clients a query asks about. Returns undefined for query types the store does not
   * support; throws {@link MalformedQueryError} when the query lacks what its type needs.
   * `stream` asks for a cursor that may be held open while the results are sent (bulk
   * leasequery over TCP); otherwise the caller consumes it straight away.
   */
  find(query: LQQueryOption, options: QueryOptions, stream: boolean): ClientCursor | undefined;
  /** Close everything. */
  close(): void;
}

/** A query that lacks the option its type needs. */
export class MalformedQueryError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "MalformedQueryError";
  }
}

/** True when `value` has the methods of a {@link LeaseStore} or an {@link AsyncLeaseStore}. */
export function isLeaseStore(value: unknown): value is LeaseStore | AsyncLeaseStore {
  if (typeof value !== "object" || value === null) return false;
  const store = value as Record<string, unknown>;
  return ["open", "remember", "close"].every((m) => typeof store[m] === "function") &&
    (typeof store.find === "function" || typeof store.query === "function");
}

/** True when `store` is queried asynchronously. */
export function isAsyncLeaseStore(store: LeaseStore | AsyncLeaseStore): store is AsyncLeaseStore {
  return typeof (store as AsyncLeaseStore).query === "function";
}

/** Options never stored with a client: identification, containers and status. */
export const UNSTORABLE_OPTIONS: ReadonlySet<number> = new Set([1, 2, 3, 4, 5, 6, 9, 13, 25, 26]);

/** The fully expanded form of an IPv6 address (`2001:0db8:0000:...`), sortable as text. */
export function expandIPv6(address: string): string {
  const b = parseIPv6(address);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(toHex(b.subarray(i, i + 2)));
  return groups.join(":");
}

/** The first and last address of a prefix, fully expanded. */
export function prefixRange(prefix: string, length: number): [string, string] {
  const b = parseIPv6(prefix);
  const first = new Uint8Array(16), last = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, length - i * 8));
    const mask = bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff;
    first[i] = b[i] & mask;
    last[i] = (b[i] & mask) | (~mask & 0xff);
  }
  const fmt = (x: Uint8Array) => {
    const g: string[] = [];
    for (let i = 0; i < 16; i += 2) g.push(toHex(x.subarray(i, i + 2)));
    return g.join(":");
  };
  return [fmt(first), fmt(last)];
}

/** `<enterprise>:<hex>` key of a Remote-ID. */
export function remoteIdKey(option: RemoteIdOption): string {
  return `${option.enterpriseNumber}:${toHex(option.remoteId)}`;
}

/** True when an element (message, IA, address) carries no failing status code. */
export function isAccepted(element: { options: Option[] }): boolean {
  const status = element.options.find((o) => o instanceof StatusCodeOption) as
    | StatusCodeOption
    | undefined;
  return !status || status.statusCode === StatusCode.Success;
}

function endOf(now: number, lifetime: number): number {
  return lifetime === INFINITY ? INFINITE_END : now + lifetime;
}

/** What a reply tells a store to record. */
export interface ObservedClient {
  /** The client DUID as lower-case hex. */
  clientId: string;
  /** The link address (fully expanded). */
  linkAddress: string;
  /** Address leases handed out (empty when the reply is not a successful assignment). */
  addresses: StoredAddress[];
  /** Prefix leases handed out. */
  prefixes: StoredPrefix[];
  /** Storable reply options. */
  options: Option[];
  /** Relay data (peer address + relay chain) or undefined when the client was not relayed. */
  relayData?: Uint8Array;
  /** Remote-ID keys of every relay layer. */
  remoteIds: string[];
  /** Relay-ID DUIDs (hex) of every relay layer. */
  relayIds: string[];
}

/**
 * Relay data larger than this (peer address plus relay chain, in bytes) is not stored: a relay
 * chain that big cannot be returned in a Client Data option next to the client's leases anyway.
 */
export const MAX_RELAY_DATA = 32 * 1024;

/**
 * The most a Client Data option's contents may take (bytes): below the 65,535 an option can
 * carry, with room for the rest of the LEASEQUERY-REPLY or -DATA message around it.
 */
export const MAX_CLIENT_DATA = 65535 - 4096;

/** Filter options: drop sensitive ones. */
function storable(options: readonly Option[], sensitive: ReadonlySet<number>): Option[] {
  return options.filter((o) => !sensitive.has(o.code));
}

/**
 * The relay chain as recorded: the outermost real relay-forward with its nested relays, the
 * client's own message removed from the innermost one, sensitive options left out; prefixed by
 * the 16-byte address the outermost relay sent it from.
 */
export function encodeRelayData(
  bundle: TransactionBundle,
  sensitive: ReadonlySet<number>,
): Uint8Array | undefined {
  const relays = bundle.incomingRelayMessages;
  if (relays.length < 2) return undefined;
  let inner: RelayForwardMessage | undefined;
  for (let i = 0; i < relays.length - 1; i++) {
    const r = relays[i];
    const options = storable(
      r.options.filter((o) => !(o instanceof RelayMessageOption)),
      sensitive,
    );
    if (inner) options.push(new RelayMessageOption(inner));
    inner = new RelayForwardMessage(r.hopCount, r.linkAddress, r.peerAddress, options);
  }
  let body: Uint8Array;
  try {
    body = serializeMessage(inner!);
  } catch (e) {
    log.debug("Not storing the relay data of {bundle}: {error}", {
      bundle: String(bundle),
      error: (e as Error).message,
    });
    return undefined;
  }
  if (16 + body.length > MAX_RELAY_DATA) {
    log.debug("Not storing {size} bytes of relay data of {bundle}: more than {max}", {
      size: 16 + body.length,
      bundle: String(bundle),
      max: MAX_RELAY_DATA,
    });
    return undefined;
  }
  const out = new Uint8Array(16 + body.length);
  out.set(parseIPv6(relays[relays.length - 1].peerAddress));
  out.set(body, 16);
  return out;
}

/** Collect what a finished bundle tells a store (undefined when there is nothing to record). */
export function observe(
  bundle: TransactionBundle,
  now: number,
  sensitive: ReadonlySet<number>,
): ObservedClient | undefined {
  const response = bundle.response;
  if (!(response instanceof ReplyMessage)) return undefined;
  const duid: Duid | undefined = bundle.clientDuid;
  if (!duid) return undefined;
  const request = bundle.request;
  const assigning = request instanceof SolicitMessage || request instanceof RequestMessage ||
    request instanceof RenewMessage || request instanceof RebindMessage;
  const addresses: StoredAddress[] = [];
  const prefixes: StoredPrefix[] = [];
  if (
    (request instanceof ReleaseMessage || request instanceof DeclineMessage) && isAccepted(response)
  ) {
    // What a handler took in a Release or Decline (an IA answered with NoBinding was not the
    // client's) is no longer leased: forgotten, so a query no longer finds it.
    const gone = { preferredEnd: now, validEnd: now, options: new Uint8Array(0), released: true };
    for (const ia of request.options) {
      if (!bundle.handledOptions.has(ia)) continue;
      if (ia instanceof IANAOption || ia instanceof IATAOption) {
        for (const a of ia.options) {
          if (a instanceof IAAddressOption) addresses.push({ address: a.address, ...gone });
        }
      } else if (ia instanceof IAPDOption) {
        for (const p of ia.options) {
          if (p instanceof IAPrefixOption) {
            prefixes.push({ prefix: p.prefix, length: p.prefixLength, ...gone });
          }
        }
      }
    }
  }
  if (assigning && isAccepted(response)) {
    for (const ia of response.options) {
      if ((ia instanceof IANAOption || ia instanceof IATAOption) && isAccepted(ia)) {
        for (const a of ia.options) {
          if (a instanceof IAAddressOption && isAccepted(a)) {
            addresses.push({
              address: a.address,
              preferredEnd: endOf(now, a.preferredLifetime),
              validEnd: endOf(now, a.validLifetime),
              options: encodeOptions(a.options.filter((o) => !(o instanceof StatusCodeOption))),
            });
          }
        }
      } else if (ia instanceof IAPDOption && isAccepted(ia)) {
        for (const p of ia.options) {
          if (p instanceof IAPrefixOption && isAccepted(p)) {
            prefixes.push({
              prefix: p.prefix,
              length: p.prefixLength,
              preferredEnd: endOf(now, p.preferredLifetime),
              validEnd: endOf(now, p.validLifetime),
              options: encodeOptions(p.options.filter((o) => !(o instanceof StatusCodeOption))),
            });
          }
        }
      }
    }
  }
  const remoteIds = new Set<string>();
  const relayIds = new Set<string>();
  for (const relay of bundle.realRelays) {
    for (const o of relay.options) {
      if (o instanceof RemoteIdOption) remoteIds.add(remoteIdKey(o));
      else if (o instanceof RelayIdOption) relayIds.add(o.duid.toHex());
    }
  }
  return {
    clientId: duid.toHex(),
    linkAddress: expandIPv6(bundle.linkAddress),
    addresses,
    prefixes,
    options: response.options.filter((o) =>
      !UNSTORABLE_OPTIONS.has(o.code) && !sensitive.has(o.code)
    ),
    relayData: encodeRelayData(bundle, sensitive),
    remoteIds: [...remoteIds],
    relayIds: [...relayIds],
  };
}

/** Encode options back to back (the stored form). */
export function encodeOptions(options: readonly Option[]): Uint8Array {
  const w = new Writer(64);
  writeOptions(w, options);
  return w.toBytes();
}

/** Decode options stored by {@link encodeOptions}. */
export function decodeOptions(data: Uint8Array): Option[] {
  return parseOptions(data, 0, data.length);
}

/** Everything needed to turn a stored client into a Client Data option. */
export interface StoredClient {
  /** Client DUID. */
  duid: Duid;
  /** Unix time of the last interaction. */
  lastInteraction: number;
  /** Stored reply options. */
  options: Option[];
  /** Stored relay data: peer address + relay-forward message, if relayed. */
  relay?: { peerAddress: string; message: Message };
  /** Unexpired address leases. */
  addresses: StoredAddress[];
  /** Unexpired prefix leases. */
  prefixes: StoredPrefix[];
}

function remaining(end: number, now: number): number {
  if (end >= INFINITE_END) return INFINITY;
  return Math.max(0, Math.min(INFINITY - 1, Math.floor(end - now)));
}

/** Encoded size of options; Infinity when they cannot be encoded. */
function encodedSize(options: readonly Option[]): number {
  try {
    const w = new Writer(256);
    writeOptions(w, options);
    return w.pos;
  } catch {
    return Infinity;
  }
}

/**
 * Build the Client Data option (RFC 5007 §4.1.2.2): Client ID, the leases with their remaining
 * lifetimes, CLT_TIME, the stored options the requestor asked for (never sensitive ones), and the
 * relay data when option 47 was asked for and fits ({@link MAX_CLIENT_DATA}: relay data stored
 * before that limit existed, or by another implementation, may not).
 */
export function buildClientData(
  client: StoredClient,
  q: QueryOptions,
): ClientDataOption {
  const out: Option[] = [new ClientIdOption(client.duid)];
  for (const a of client.addresses) {
    if (a.validEnd <= q.now) continue;
    out.push(
      new IAAddressOption(
        a.address,
        remaining(a.preferredEnd, q.now),
        remaining(a.validEnd, q.now),
        a.options.length ? decodeOptions(a.options) : [],
      ),
    );
  }
  for (const p of client.prefixes) {
    if (p.validEnd <= q.now) continue;
    out.push(
      new IAPrefixOption(
        remaining(p.preferredEnd, q.now),
        remaining(p.validEnd, q.now),
        p.length,
        p.prefix,
        p.options.length ? decodeOptions(p.options) : [],
      ),
    );
  }
  out.push(
    new CLTTimeOption(Math.max(0, Math.min(INFINITY, Math.floor(q.now - client.lastInteraction)))),
  );
  const requested = new Set(q.requestedOptions);
  for (const o of client.options) {
    if (requested.has(o.code) && !q.sensitiveOptions.has(o.code)) out.push(o);
  }
  if (client.relay && requested.has(LQRelayDataOption.code)) {
    const relayData = new LQRelayDataOption(client.relay.peerAddress, client.relay.message);
    const size = encodedSize(out) + encodedSize([relayData]);
    if (size <= MAX_CLIENT_DATA) out.push(relayData);
    else {
      log.debug("Leaving the relay data of {client} out of its Client Data: too large", {
        client: client.duid.toHex(),
      });
    }
  }
  return new ClientDataOption(out);
}

/** Number of leading bits two equal-length byte strings share. */
function commonBits(a: Uint8Array, b: Uint8Array): number {
  let bits = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ^ b[i];
    if (x === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(x) - 24;
  }
  return bits;
}

/** The prefix (canonical text) and length of a stored range of fully expanded addresses. */
export function prefixOfRange(first: string, last: string): { prefix: string; length: number } {
  const start = fromHex(first);
  return { prefix: formatIPv6(start), length: commonBits(start, fromHex(last)) };
}

/** Stored options, or none when they cannot be decoded. */
function safeDecode(data: Uint8Array): Option[] {
  try {
    return decodeOptions(data);
  } catch {
    return [];
  }
}

/** A stored client row as every store reads it. */
export interface StoredClientRow {
  /** Client DUID as hex. */
  clientId: string;
  /** Link address (expanded or canonical text). */
  linkAddress: string;
  /** Stored reply options, wire encoded. */
  options: Uint8Array | null;
  /** Unix time of the last interaction. */
  lastInteraction: number;
  /** Peer address + relay-forward message, if relayed. */
  relayData: Uint8Array | null;
}

/**
 * The record of a stored client with its unexpired leases: the Client Data option built as the
 * query asks ({@link buildClientData}); relay data that cannot be parsed is left out.
 */
export function storedClientRecord(
  row: StoredClientRow,
  addresses: StoredAddress[],
  prefixes: StoredPrefix[],
  q: QueryOptions,
): ClientRecord {
  let relay: StoredClient["relay"];
  const data = row.relayData;
  if (
    data && data.length > 16 && data.length <= MAX_CLIENT_DATA &&
    q.requestedOptions.includes(LQRelayDataOption.code)
  ) {
    try {
      relay = { peerAddress: formatIPv6(data), message: parseMessage(data.subarray(16)) };
    } catch {
      relay = undefined;
    }
  }
  const client: StoredClient = {
    duid: duidFromBytes(fromHex(row.clientId)),
    lastInteraction: row.lastInteraction,
    options: row.options && row.options.length ? safeDecode(row.options) : [],
    relay,
    addresses,
    prefixes,
  };
  return { linkAddress: normalizeIPv6(row.linkAddress), clientData: buildClientData(client, q) };
}
