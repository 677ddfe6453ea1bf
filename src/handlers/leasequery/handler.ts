/**
 * The `<leasequery>` handler (RFC 5007, RFC 5460) and the always-present bulk leasequery
 * setup/cleanup handlers.
 *
 * Over UDP a query is answered in one LEASEQUERY-REPLY: no client → no Client Data; one client
 * → its Client Data; several (one client on several links) → an LQ_CLIENT_LINK listing the links.
 * Over TCP the first client goes in the LEASEQUERY-REPLY and the rest are produced lazily in
 * {@link TransactionBundle.moreResponses} as {@link BulkResponses} (see `stream.ts`), which the
 * TCP listener pulls one by one from the store while it sends.
 *
 * With a store on a database server ({@link AsyncLeaseStore}) the handler is an
 * {@link AsyncLeasequeryHandler}: its asynchronous lookup runs the query before the request is
 * handled (over UDP it reads the clients of the answer; over TCP the first one, the rest being
 * read while they are sent), and `handle()` answers from what the lookup found.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import {
  CannotRespond,
  Handler,
  ReplyWithLeasequeryError,
  type TransactionBundle,
} from "../../pipeline/mod.ts";
import {
  IPv6Prefix,
  LeasequeryMessage,
  LQClientLinkOption,
  LQQueryOption,
  OptionRequestOption,
  QUERY_BY_ADDRESS,
  QUERY_BY_CLIENTID,
  QUERY_BY_LINK_ADDRESS,
  QUERY_BY_RELAY_ID,
  QUERY_BY_REMOTE_ID,
  ReplyMessage,
  StatusCode,
} from "../../protocol/mod.ts";
import { AsyncBulkResponses, BulkResponses } from "./stream.ts";
import {
  type AsyncClientCursor,
  type AsyncLeaseStore,
  type ClientCursor,
  type ClientRecord,
  isAsyncLeaseStore,
  type LeaseStore,
  MalformedQueryError,
  type QueryOptions,
} from "./store.ts";

const log = getLogger(["dhcpkit", "leasequery"]);

/** Query types only allowed over TCP (RFC 5460 §6.2). */
export const BULK_QUERY_TYPES: ReadonlySet<number> = new Set([
  QUERY_BY_RELAY_ID,
  QUERY_BY_LINK_ADDRESS,
  QUERY_BY_REMOTE_ID,
]);

/** Query types the protocol defines. */
export const KNOWN_QUERY_TYPES: ReadonlySet<number> = new Set([
  QUERY_BY_ADDRESS,
  QUERY_BY_CLIENTID,
  ...BULK_QUERY_TYPES,
]);

/** At most this many client records are looked at for one UDP reply. */
export const UDP_RECORD_LIMIT = 1000;

/** What the lookup of an {@link AsyncLeasequeryHandler} found, kept in the bundle. */
type LookedUp =
  | { kind: "unsupported" }
  | { kind: "failed"; error: unknown }
  | { kind: "records"; records: ClientRecord[] }
  | { kind: "stream"; first?: ClientRecord; rest: AsyncClientCursor };

/** A cursor over records already read. */
function arrayCursor(records: ClientRecord[]): ClientCursor {
  const iterator = records[Symbol.iterator]();
  return Object.assign(iterator, { close() {} }) as unknown as ClientCursor;
}

/** Answers leasequeries from a store and records every outgoing Reply in it. */
export class LeasequeryHandler extends Handler {
  readonly #allowFrom: IPv6Prefix[];
  readonly #sensitive: ReadonlySet<number>;

  /**
   * Create the handler. `allowFrom` empty = everybody may query; `now` returns Unix seconds
   * (injectable for tests).
   */
  constructor(
    readonly store: LeaseStore | AsyncLeaseStore,
    allowFrom: readonly { bytes: Uint8Array; length: number }[] = [],
    sensitiveOptions: Iterable<number> = [],
    readonly now: () => number = () => Date.now() / 1000,
  ) {
    super();
    this.#allowFrom = allowFrom.map((p) => new IPv6Prefix(p.bytes, p.length));
    this.#sensitive = new Set(sensitiveOptions);
  }

  /** Open the store in this worker. */
  override async workerInit(): Promise<void> {
    await this.store.open(this.#sensitive);
  }

  /** Whether the requestor (the sender closest to it) may query. */
  allowed(bundle: TransactionBundle): boolean {
    if (this.#allowFrom.length === 0) return true;
    const requestor = bundle.incomingRelayMessages[0].peerAddress;
    return this.#allowFrom.some((p) => p.contains(requestor));
  }

  /** The options a query is answered with (asked for, never disclosed, the time now). */
  queryOptions(query: LQQueryOption): QueryOptions {
    return {
      requestedOptions: query.options.find((o) => o instanceof OptionRequestOption)
        ?.requestedOptions ?? [],
      sensitiveOptions: this.#sensitive,
      now: this.now(),
    };
  }

  /** Check that the requestor (the sender closest to it) may query. */
  override pre(bundle: TransactionBundle): void {
    if (!(bundle.request instanceof LeasequeryMessage)) return;
    if (!this.allowed(bundle)) {
      const requestor = bundle.incomingRelayMessages[0].peerAddress;
      throw new ReplyWithLeasequeryError(
        StatusCode.NotAllowed,
        `Leasequery not allowed from ${requestor}`,
      );
    }
  }

  /** Answer the first unhandled LQ_QUERY. */
  override handle(bundle: TransactionBundle): void {
    if (!(bundle.request instanceof LeasequeryMessage)) return;
    const query = bundle.getUnhandledOptions(LQQueryOption)[0];
    if (!query) return;
    const tcp = bundle.receivedOverTcp;
    const looked = bundle.handlerData.get(this) as LookedUp | undefined;
    if (looked) {
      this.#answerLookedUp(bundle, query, looked);
      return;
    }
    const store = this.store;
    if (isAsyncLeaseStore(store)) {
      throw new Error("leasequery on a database server answered without its lookup");
    }
    let cursor: ClientCursor | undefined;
    try {
      cursor = store.find(query, this.queryOptions(query), tcp);
    } catch (e) {
      storeFailed(e, tcp);
    }
    if (!cursor) return; // unsupported type: UnknownQueryType from the cleanup handler
    bundle.markHandled(query);
    try {
      if (tcp) this.#answerStream(bundle, cursor);
      else this.#answerDatagram(bundle, cursor);
    } catch (e) {
      cursor.close();
      log.error("Leasequery failed: {error}", { error: (e as Error).message });
      throw new ReplyWithLeasequeryError(
        tcp ? StatusCode.QueryTerminated : StatusCode.UnspecFail,
        "Cannot build the leasequery reply",
      );
    }
  }

  /** Answer from what the lookup of an {@link AsyncLeasequeryHandler} found. */
  #answerLookedUp(bundle: TransactionBundle, query: LQQueryOption, looked: LookedUp): void {
    const tcp = bundle.receivedOverTcp;
    switch (looked.kind) {
      case "unsupported":
        return;
      case "failed":
        storeFailed(looked.error, tcp);
        return;
      case "records":
        bundle.markHandled(query);
        this.#answerDatagram(bundle, arrayCursor(looked.records));
        return;
      case "stream":
        bundle.markHandled(query);
        if (!looked.first) {
          looked.rest.close();
          return;
        }
        bundle.response.options.push(looked.first.clientData);
        bundle.moreResponses = new AsyncBulkResponses(bundle.request.transactionId, looked.rest);
        return;
    }
  }

  #answerDatagram(bundle: TransactionBundle, cursor: ClientCursor): void {
    const records: ClientRecord[] = [];
    try {
      for (const r of cursor) {
        records.push(r);
        if (records.length >= UDP_RECORD_LIMIT) break;
      }
    } finally {
      cursor.close();
    }
    if (records.length === 1) {
      bundle.response.options.push(records[0].clientData);
    } else if (records.length > 1) {
      const links = [...new Set(records.map((r) => r.linkAddress))].filter((a) => a !== "::");
      if (links.length) bundle.response.options.push(new LQClientLinkOption(links));
      else bundle.response.options.push(records[0].clientData);
    }
  }

  #answerStream(bundle: TransactionBundle, cursor: ClientCursor): void {
    const first = cursor.next();
    if (first.done) {
      cursor.close();
      return;
    }
    bundle.response.options.push(first.value.clientData);
    bundle.moreResponses = new BulkResponses(bundle.request.transactionId, cursor);
  }

  /** Record what outgoing Replies hand out. */
  override analysePost(bundle: TransactionBundle): void {
    if (bundle.response instanceof ReplyMessage) this.store.remember(bundle, this.now());
  }

  /** Close the store. */
  override close(): void {
    this.store.close();
  }
}

/** Turn a store failure into the status reply: MalformedQuery, or that the data is unavailable. */
function storeFailed(e: unknown, tcp: boolean): never {
  if (e instanceof MalformedQueryError) {
    throw new ReplyWithLeasequeryError(StatusCode.MalformedQuery, e.message);
  }
  log.error("Leasequery store failed: {error}", { error: (e as Error).message });
  throw new ReplyWithLeasequeryError(
    tcp ? StatusCode.QueryTerminated : StatusCode.UnspecFail,
    "Lease data is not available",
  );
}

/**
 * The `<leasequery>` handler over an {@link AsyncLeaseStore}: the query runs in the asynchronous
 * lookup. A store that fails is not a lookup failure: the requestor gets UnspecFail (UDP) or
 * QueryTerminated (TCP), as with the other stores, so that it can ask another server.
 */
export class AsyncLeasequeryHandler extends LeasequeryHandler {
  /** Create the handler over an asynchronous store (see {@link LeasequeryHandler}). */
  constructor(
    store: AsyncLeaseStore,
    allowFrom: readonly { bytes: Uint8Array; length: number }[] = [],
    sensitiveOptions: Iterable<number> = [],
    now?: () => number,
  ) {
    super(store, allowFrom, sensitiveOptions, now);
  }

  /**
   * Run the query of a leasequery this handler will answer (allowed requestor, a query type
   * allowed on this transport); undefined for every other request.
   */
  override lookup(bundle: TransactionBundle): Promise<void> | undefined {
    const request = bundle.request;
    if (!(request instanceof LeasequeryMessage)) return undefined;
    const query = request.getOption(LQQueryOption);
    if (!query || !this.allowed(bundle)) return undefined;
    const tcp = bundle.receivedOverTcp;
    if (!tcp && BULK_QUERY_TYPES.has(query.queryType)) return undefined; // NotAllowed
    if (tcp && bundle.realRelays.length > 0) return undefined; // dropped
    const store = this.store as AsyncLeaseStore;
    let cursor: AsyncClientCursor | undefined;
    try {
      cursor = store.query(query, this.queryOptions(query), tcp);
    } catch (error) {
      bundle.handlerData.set(this, { kind: "failed", error } satisfies LookedUp);
      return undefined;
    }
    if (!cursor) {
      bundle.handlerData.set(this, { kind: "unsupported" } satisfies LookedUp);
      return undefined;
    }
    return (tcp ? this.#first(cursor) : this.#all(cursor)).then(
      (looked) => void bundle.handlerData.set(this, looked),
      (error) => {
        cursor.close();
        bundle.handlerData.set(this, { kind: "failed", error } satisfies LookedUp);
      },
    );
  }

  async #all(cursor: AsyncClientCursor): Promise<LookedUp> {
    const records: ClientRecord[] = [];
    try {
      for await (const r of cursor) {
        records.push(r);
        if (records.length >= UDP_RECORD_LIMIT) break;
      }
    } finally {
      cursor.close();
    }
    return { kind: "records", records };
  }

  async #first(cursor: AsyncClientCursor): Promise<LookedUp> {
    const first = await cursor.next();
    return { kind: "stream", first: first.done ? undefined : first.value, rest: cursor };
  }
}

/**
 * Built-in setup handler (RFC 5460): over TCP only non-relayed LEASEQUERY messages are answered
 * (anything else is dropped, counted as do_not_respond); over UDP the bulk-only query types get
 * NotAllowed.
 */
export class BulkLeasequerySetupHandler extends Handler {
  /** Answers every Information-request alike (see `treatsInformationRequestsAlike`). */
  static readonly informationRequestsAlike = true;

  /** Enforce the transport rules. */
  override pre(bundle: TransactionBundle): void {
    const request = bundle.request;
    if (bundle.receivedOverTcp) {
      if (!(request instanceof LeasequeryMessage)) {
        throw new CannotRespond(`only leasequery is answered over TCP, not ${request.name}`);
      }
      if (bundle.realRelays.length > 0) {
        throw new CannotRespond("relayed messages are not accepted over TCP");
      }
      return;
    }
    if (!(request instanceof LeasequeryMessage)) return;
    const query = request.getOption(LQQueryOption);
    if (query && BULK_QUERY_TYPES.has(query.queryType)) {
      throw new ReplyWithLeasequeryError(
        StatusCode.NotAllowed,
        "This query type is only allowed over TCP (bulk leasequery)",
      );
    }
  }
}

/** Built-in cleanup handler: an LQ_QUERY no handler answered gets UnknownQueryType. */
export class UnansweredLeasequeryHandler extends Handler {
  /** Answers every Information-request alike (see `treatsInformationRequestsAlike`). */
  static readonly informationRequestsAlike = true;

  /** Runs after every configured handler's handle(). */
  override handle(bundle: TransactionBundle): void {
    if (!(bundle.request instanceof LeasequeryMessage)) return;
    const unanswered = bundle.getUnhandledOptions(LQQueryOption);
    if (unanswered.length === 0) return;
    const type = unanswered[0].queryType;
    throw new ReplyWithLeasequeryError(
      StatusCode.UnknownQueryType,
      KNOWN_QUERY_TYPES.has(type)
        ? `No leasequery handler answers query type ${type} here`
        : `Query type ${type} is not supported`,
    );
  }
}

/** The built-in setup handlers of this extension (for `PipelineOptions.setupHandlers`). */
export function leasequerySetupHandlers(): Handler[] {
  return [new BulkLeasequerySetupHandler()];
}

/** The built-in cleanup handlers of this extension (for `PipelineOptions.cleanupHandlers`). */
export function leasequeryCleanupHandlers(): Handler[] {
  return [new UnansweredLeasequeryHandler()];
}
