/**
 * The `<leasequery>` handler (RFC 5007, RFC 5460) and the always-present bulk leasequery
 * setup/cleanup handlers.
 *
 * Over UDP a query is answered in one LEASEQUERY-REPLY: no client → no Client Data; one client
 * → its Client Data; several (one client on several links) → an LQ_CLIENT_LINK listing the links.
 * Over TCP the first client goes in the LEASEQUERY-REPLY and the rest are produced lazily in
 * {@link TransactionBundle.moreResponses} as {@link BulkResponses} (see `stream.ts`), which the
 * TCP listener pulls one by one from the store while it sends.
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
import { BulkResponses } from "./stream.ts";
import {
  type ClientCursor,
  type ClientRecord,
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
const UDP_RECORD_LIMIT = 1000;

/** Answers leasequeries from a store and records every outgoing Reply in it. */
export class LeasequeryHandler extends Handler {
  readonly #allowFrom: IPv6Prefix[];
  readonly #sensitive: ReadonlySet<number>;

  /**
   * Create the handler. `allowFrom` empty = everybody may query; `now` returns Unix seconds
   * (injectable for tests).
   */
  constructor(
    readonly store: LeaseStore,
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

  /** Check that the requestor (the sender closest to it) may query. */
  override pre(bundle: TransactionBundle): void {
    if (!(bundle.request instanceof LeasequeryMessage)) return;
    if (this.#allowFrom.length === 0) return;
    const requestor = bundle.incomingRelayMessages[0].peerAddress;
    if (!this.#allowFrom.some((p) => p.contains(requestor))) {
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
    const options: QueryOptions = {
      requestedOptions: query.options.find((o) => o instanceof OptionRequestOption)
        ?.requestedOptions ?? [],
      sensitiveOptions: this.#sensitive,
      now: this.now(),
    };
    let cursor: ClientCursor | undefined;
    try {
      cursor = this.store.find(query, options, tcp);
    } catch (e) {
      if (e instanceof MalformedQueryError) {
        throw new ReplyWithLeasequeryError(StatusCode.MalformedQuery, e.message);
      }
      log.error("Leasequery store failed: {error}", { error: (e as Error).message });
      throw new ReplyWithLeasequeryError(
        tcp ? StatusCode.QueryTerminated : StatusCode.UnspecFail,
        "Lease data is not available",
      );
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

/**
 * Built-in setup handler (RFC 5460): over TCP only non-relayed LEASEQUERY messages are answered
 * (anything else is dropped, counted as do_not_respond); over UDP the bulk-only query types get
 * NotAllowed.
 */
export class BulkLeasequerySetupHandler extends Handler {
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
