/**
 * The request pipeline: from received bytes to the bytes to send back.
 *
 * A packet is parsed, validated and wrapped in an internal Relay-Forward (so every request has at
 * least one relay layer, whose Interface-ID names the server interface); the handlers that apply
 * are collected from the filter tree; the phases run; signals are turned into silence or status
 * replies; the response is wrapped in the relay-reply chain and addressed.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import {
  AdvertiseMessage,
  CLIENT_TO_SERVER_TYPES,
  ClientIdOption,
  type ClientServerMessage,
  describeMessage,
  DHCPV6_CLIENT_PORT,
  DHCPV6_SERVER_PORT,
  type Duid,
  IAAddressOption,
  IANAOption,
  IATAOption,
  InterfaceIdOption,
  LeasequeryMessage,
  LeasequeryReplyMessage,
  type Message,
  MsgType,
  type Option,
  ParseError,
  parseMessage,
  RelayForwardMessage,
  RelayMessageOption,
  type RelayReplyMessage,
  RelaySourcePortOption,
  ReplyMessage,
  serializeMessage,
  serializeMessageInto,
  ServerIdOption,
  StatusCode,
  StatusCodeOption,
  toHex,
  ValidationError,
  type Writer,
} from "../protocol/mod.ts";
import { TransactionBundle } from "./bundle.ts";
import {
  AddMissingStatusHandler,
  ClientIdHandler,
  InterfaceIdHandler,
  RapidCommitHandler,
  RejectUnwantedUnicastHandler,
  RelayEchoRequestHandler,
  ServerIdHandler,
  UnansweredIAHandler,
} from "./builtin.ts";
import {
  CannotRespond,
  ForOtherServer,
  ReplyWithLeasequeryError,
  ReplyWithStatus,
  UseMulticast,
} from "./errors.ts";
import {
  type ExplainHandlerStep,
  ExplainRecorder,
  type ExplainTrace,
  PHASE_NAMES,
  signalText,
  TracedHandler,
  traceFilters,
} from "./explain.ts";
import { type Filter, filterTreatsInformationRequestsAlike } from "./filter.ts";
import { Handler, treatsInformationRequestsAlike } from "./handler.ts";
import { ReplyTemplates, sameStrings, type TemplateProbe } from "./reply_templates.ts";
import { EXPIRED, SharedDeadlines } from "./deadlines.ts";
import { setLogClient } from "./log_context.ts";
import { LogGate } from "./log_gate.ts";
import { messageInIndex, messageOutIndex, scalarIndex, StatisticsStore } from "./statistics.ts";
import type { StatisticsCategories } from "./categories.ts";

const log = getLogger(["dhcpkit", "pipeline"]);
const debugLog = new LogGate(log, "debug");

/** The maximum number of relay layers accepted (RFC 8415 HOP_COUNT_LIMIT). */
export const HOP_COUNT_LIMIT = 32;

/** The largest UDP payload over IPv6 without jumbograms (65,535 minus the 8-byte UDP header). */
export const MAX_UDP_MESSAGE = 65527;
/** The largest message a 2-byte TCP length prefix can frame (RFC 5460). */
export const MAX_TCP_MESSAGE = 65535;

/** A reply that cannot be sent: larger than the transport carries. */
export class ReplyTooLargeError extends Error {
  /** Create the error. */
  constructor(readonly size: number, readonly limit: number) {
    super(`the reply of ${size} bytes is larger than the ${limit} bytes the transport carries`);
    this.name = "ReplyTooLargeError";
  }
}

/** A datagram or TCP message as a listener received it. */
export interface IncomingPacket {
  /** The raw message bytes. */
  data: Uint8Array;
  /** Sender address (without scope). */
  source: string;
  /** Sender port. */
  sourcePort: number;
  /** Name of the server interface it arrived on (`""` when unknown). */
  interfaceName: string;
  /** The listener's link address (its global address, or `::`). */
  linkAddress: string;
  /** Sent to a multicast address. */
  receivedOverMulticast: boolean;
  /** Arrived over a TCP connection. */
  receivedOverTcp: boolean;
  /** The listener's marks. */
  marks: readonly string[];
  /** Packet id for log lines. */
  id?: string;
  /**
   * Where to write the replies' bytes: they are appended to it and the replies' `data` are views
   * of its buffer, valid until the caller resets it (which saves a copy per reply). Without it
   * every reply gets bytes of its own.
   */
  replyWriter?: Writer;
}

/** A message to send. */
export interface OutgoingPacket {
  /** The message bytes. */
  data: Uint8Array;
  /** Destination address. */
  destination: string;
  /** Destination port: 547 for relays, 546 for clients. */
  port: number;
  /** Interface to send on (from the internal Interface-ID), `""` when not known. */
  interfaceName: string;
  /** Message type code of the payload's innermost message (for statistics and logs). */
  messageType: number;
}

/** The configuration-derived parts of a pipeline. */
export interface PipelineOptions {
  /** The server's DUID. */
  serverDuid: Duid;
  /** Top-level filters, in configuration order. */
  filters: Filter[];
  /** Top-level handlers, in configuration order. */
  handlers: Handler[];
  /** `allow-rapid-commit`. */
  allowRapidCommit?: boolean;
  /** `rapid-commit-rejections`. */
  rapidCommitRejections?: boolean;
  /**
   * `reuse-answers`: whether answers to Information-requests may be reused for other clients
   * where every filter and handler allows it (default true; see reply_templates.ts).
   */
  reuseAnswers?: boolean;
  /** Extra handlers run right after the built-in setup handlers (extension setup). */
  setupHandlers?: Handler[];
  /** Extra handlers run before the built-in cleanup handlers (extension cleanup). */
  cleanupHandlers?: Handler[];
  /** Which statistics categories this configuration asks for. */
  categories?: StatisticsCategories;
}

/** What happened to one request. */
export type Outcome =
  | "reply"
  | "unparsable"
  | "for_other_server"
  | "do_not_respond"
  | "use_multicast"
  | "status"
  | "handling_error"
  | "lookup_failure"
  | "lookup_timeout"
  | "lookup_overflow";

/** Why a request that needed a lookup was dropped. */
export type LookupDrop = "failure" | "timeout" | "overflow";

/**
 * How the caller bounds the requests that wait for a handler's lookup (see `Handler.lookup`): the
 * server's engine gives one per pipeline, with `max-lookups-in-flight` and `lookup-timeout`.
 */
export interface LookupControl {
  /** The longest a request waits for its lookups, in milliseconds. */
  readonly timeoutMs: number;
  /**
   * A request starts waiting for a lookup: false when too many wait already, and the request is
   * dropped (counted in `lookup_overflows`; its lookup goes on, unwatched).
   */
  enter(): boolean;
  /**
   * A request that waited stopped waiting: with `drop` when it is dropped (its lookup failed or
   * took too long; `reason` says why), without when it goes on to be answered.
   */
  leave(drop?: Exclude<LookupDrop, "overflow">, reason?: string): void;
  /** Told when a request was dropped because too many waited (see {@link LookupControl.enter}). */
  overflow?(): void;
  /** Told the id of the request the pipeline resumes (undefined once done), for log lines. */
  resume?(id: string | undefined): void;
}

/** Without a caller's bounds: any number of requests wait, each at most a second. */
const UNBOUNDED_LOOKUPS: LookupControl = { timeoutMs: 1000, enter: () => true, leave: () => {} };

/** Outcome of {@link MessageHandler.handle}. */
export interface HandleResult {
  /** What happened. */
  outcome: Outcome;
  /** Messages to send (several only for bulk leasequery). */
  replies: OutgoingPacket[];
  /** The bundle, when the request could be parsed. */
  bundle?: TransactionBundle;
  /** The statistics keys the request counted under (for {@link MessageHandler.countSent}). */
  keys?: readonly string[];
}

/**
 * Release what the lazily produced further responses of a bulk answer hold (a store cursor)
 * without producing them. Safe to call more than once.
 */
export function closeMoreResponses(more: TransactionBundle["moreResponses"]): void {
  if (!more) return;
  try {
    if (typeof more.close === "function") more.close();
    else if (Symbol.iterator in more) {
      (more as Iterable<ClientServerMessage>)[Symbol.iterator]().return?.();
    } else {
      const done = (more as AsyncIterable<ClientServerMessage>)[Symbol.asyncIterator]().return?.();
      done?.catch(() => {});
    }
  } catch (e) {
    log.warning("Cannot release a bulk leasequery answer: {error}", { error: e });
  }
}

function responseFor(request: ClientServerMessage): ClientServerMessage | undefined {
  const xid = request.transactionId;
  // By type code, not `instanceof`: this runs for every request, and `instanceof` against an
  // imported class takes V8's generic path.
  switch (request.type) {
    case MsgType.Solicit:
      return new AdvertiseMessage(xid, []);
    case MsgType.Request:
    case MsgType.Renew:
    case MsgType.Rebind:
    case MsgType.Release:
    case MsgType.Decline:
    case MsgType.InformationRequest:
    case MsgType.Confirm:
      return new ReplyMessage(xid, []);
    case MsgType.Leasequery:
      return new LeasequeryReplyMessage(xid, []);
  }
  return undefined;
}

/** RFC 8415 §18.3.3: a Confirm without addresses in its IA_NA / IA_TA options gets no reply. */
function confirmHasAddresses(request: ClientServerMessage): boolean {
  return request.options.some((o: Option) =>
    (o instanceof IANAOption || o instanceof IATAOption) &&
    o.options.some((s) => s instanceof IAAddressOption)
  );
}

const interfaceIds = new Map<string, InterfaceIdOption>();
/** The decoded name of each shared internal Interface-ID option. */
const interfaceNames = new Map<InterfaceIdOption, string>();
const utf8 = new TextDecoder();

/** The internal Interface-ID option naming a server interface (one shared instance per name). */
function interfaceIdOf(name: string): InterfaceIdOption {
  let option = interfaceIds.get(name);
  if (!option) {
    option = new InterfaceIdOption(new TextEncoder().encode(name));
    if (interfaceIds.size < 1024) {
      interfaceIds.set(name, option);
      interfaceNames.set(option, utf8.decode(option.data));
    }
  }
  return option;
}

/** The interface name an Interface-ID option holds (decoded once for the shared ones). */
function interfaceNameOf(option: InterfaceIdOption | undefined): string {
  if (!option) return "";
  return interfaceNames.get(option) ?? utf8.decode(option.data);
}

/** Parse, validate and wrap a packet into a bundle; throws ParseError / ValidationError. */
export function bundleFromPacket(
  packet: IncomingPacket,
  allowRapidCommit: boolean,
): TransactionBundle {
  const message = parseMessage(packet.data);
  if (!CLIENT_TO_SERVER_TYPES.has(message.type)) {
    throw new ValidationError(`${message.name} (${message.type}) is not sent to servers`);
  }
  message.validate();
  let depth = 0;
  let inner: Message = message;
  // Type codes rather than `instanceof` (see responseFor).
  while (inner.type === MsgType.RelayForward) {
    if (++depth > HOP_COUNT_LIMIT) {
      throw new ValidationError(`more than ${HOP_COUNT_LIMIT} relay layers`);
    }
    const relayed = (inner as RelayForwardMessage).getOption(RelayMessageOption);
    if (!relayed) throw new ValidationError("relay-forward without a relay-message option");
    inner = relayed.message;
  }
  if (!CLIENT_TO_SERVER_TYPES.has(inner.type) || inner.type === MsgType.RelayForward) {
    throw new ValidationError(`relayed ${inner.name} (${inner.type}) is not sent to servers`);
  }
  const wrapper = new RelayForwardMessage(
    message.type === MsgType.RelayForward
      ? Math.min(255, (message as RelayForwardMessage).hopCount + 1)
      : 0,
    packet.linkAddress,
    packet.source,
    [
      interfaceIdOf(packet.interfaceName),
      new RelayMessageOption(message),
    ],
  );
  return new TransactionBundle(
    wrapper,
    packet.receivedOverMulticast,
    packet.receivedOverTcp,
    allowRapidCommit,
    packet.marks,
  );
}

/** Address the wrapped reply: the server wrapper's peer, port 547 for relays else 546. */
export function addressReply(
  outgoing: RelayReplyMessage,
  relayPort?: number,
  maxSize = MAX_TCP_MESSAGE,
): OutgoingPacket {
  return addressPayload(
    outgoing.getOption(RelayMessageOption)!.message,
    outgoing,
    relayPort,
    maxSize,
  );
}

/**
 * Encode and address `payload` (what goes on the wire: the response, or the relay-reply around
 * it) as the server's own relay-reply layer `server` says: to its peer, out of the interface its
 * Interface-ID names.
 */
function addressPayload(
  payload: Message,
  server: RelayReplyMessage,
  relayPort: number | undefined,
  maxSize: number,
  writer?: Writer,
): OutgoingPacket {
  let innermost: Message = payload;
  while (innermost.type === MsgType.RelayReply) {
    innermost = (innermost as RelayReplyMessage).getOption(RelayMessageOption)!.message;
  }
  const data = writer ? serializeMessageInto(payload, writer) : serializeMessage(payload);
  if (data.length > maxSize) throw new ReplyTooLargeError(data.length, maxSize);
  return {
    data,
    destination: server.peerAddress,
    port: payload.type === MsgType.RelayReply
      ? (relayPort ?? DHCPV6_SERVER_PORT)
      : DHCPV6_CLIENT_PORT,
    interfaceName: interfaceNameOf(server.getOption(InterfaceIdOption)),
    messageType: innermost.type,
  };
}

/**
 * The port to send a Relay-reply to: the relay's source port when the relay that sent us the
 * message included a Relay Source Port option (RFC 8357), else the standard port.
 */
function relayPortOf(
  bundle: TransactionBundle,
  packet: IncomingPacket | undefined,
): number | undefined {
  const relays = bundle.incomingRelayMessages;
  if (!packet || relays.length < 2) return undefined;
  return relays[relays.length - 2].getOption(RelaySourcePortOption) ? packet.sourcePort : undefined;
}

/** The request pipeline built from one configuration. */
export class MessageHandler {
  readonly #setup: Handler[];
  readonly #cleanup: Handler[];
  readonly #serverIdOption: ServerIdOption;
  /** The handlers of every request by phase, when there are no filters to choose them. */
  readonly #fixedPhases?: PhaseLists;
  /** The configuration-derived parts (fixed once the pipeline is built). */
  readonly options: PipelineOptions;
  /**
   * Reused answers to Information-requests (see reply_templates.ts): only when every filter and
   * every handler treats those requests alike.
   */
  readonly #templates?: ReplyTemplates<AnswerMeta>;

  /** Build the pipeline. */
  constructor(options: PipelineOptions) {
    this.options = options;
    this.#serverIdOption = new ServerIdOption(options.serverDuid);
    this.#setup = [
      ...(options.allowRapidCommit
        ? [new RapidCommitHandler(options.rapidCommitRejections ?? false)]
        : []),
      new ServerIdHandler(options.serverDuid),
      new ClientIdHandler(),
      new InterfaceIdHandler(),
      ...(options.setupHandlers ?? []),
    ];
    this.#cleanup = [
      ...(options.cleanupHandlers ?? []),
      new RejectUnwantedUnicastHandler(),
      new UnansweredIAHandler(),
      new RelayEchoRequestHandler(),
      new AddMissingStatusHandler(),
    ];
    if (options.filters.length === 0) this.#fixedPhases = new PhaseLists(this.#collect(undefined));
    if (
      options.reuseAnswers !== false &&
      options.filters.every(filterTreatsInformationRequestsAlike) &&
      this.allHandlers().every(treatsInformationRequestsAlike)
    ) {
      this.#templates = new ReplyTemplates(sameAnswerMeta);
    }
  }

  /** Whether this pipeline may reuse answers to Information-requests (see reply_templates.ts). */
  get reusesAnswers(): boolean {
    return this.#templates !== undefined && !this.#templates.off;
  }

  /** Every configured handler (filters' handlers included), for initialisation and closing. */
  allHandlers(): Handler[] {
    const out: Handler[] = [...this.#setup];
    for (const f of this.options.filters) f.allHandlers(out);
    out.push(...this.options.handlers, ...this.#cleanup);
    return out;
  }

  /** Run every handler's per-worker initialisation. */
  async workerInit(): Promise<void> {
    for (const h of this.allHandlers()) await h.workerInit();
  }

  /** Release every handler's resources. */
  async close(): Promise<void> {
    for (const h of this.allHandlers()) await h.close();
  }

  /** The handlers that apply to `bundle`, in order. */
  handlersFor(bundle: TransactionBundle): Handler[] {
    return this.#collect(bundle);
  }

  /** The handlers that apply to `bundle`, or without filters (`undefined`) to every request. */
  #collect(bundle: TransactionBundle | undefined): Handler[] {
    const out: Handler[] = [...this.#setup];
    if (bundle) {
      for (const f of this.options.filters) f.collect(bundle, out);
    }
    for (const h of this.options.handlers) out.push(h);
    for (const h of this.#cleanup) out.push(h);
    return out;
  }

  /**
   * Handle one received packet, counting into `stats`. The result comes at once when no handler
   * that applies has a lookup to wait for (or every lookup returned undefined); otherwise as a
   * promise (which never rejects), bounded by `lookups`. A request that waits never uses
   * `packet.replyWriter` nor keeps `packet.data`: its replies get bytes of their own. With
   * `reuse` false the answer is made the full way even where a reused one would do, so that the
   * result always has its bundle (the web UI's transaction summaries need it).
   */
  handle(
    packet: IncomingPacket,
    stats: StatisticsStore,
    lookups: LookupControl = UNBOUNDED_LOOKUPS,
    reuse = true,
  ): HandleResult | Promise<HandleResult> {
    const templates = this.#templates;
    let probe: TemplateProbe<AnswerMeta> | undefined;
    if (templates !== undefined && reuse && !debugLog.on) {
      probe = templates.probe(packet);
      if (probe?.usable) {
        const reused = this.#reuse(templates, probe, packet, stats);
        if (reused) return reused;
      }
    }
    const categories = this.options.categories;
    let keys = categories ? categories.packetKeys(packet) : NO_KEYS;
    const known = keys.length;
    stats.add(keys, I_INCOMING);
    let bundle: TransactionBundle;
    try {
      bundle = bundleFromPacket(packet, this.options.allowRapidCommit ?? false);
    } catch (e) {
      if (e instanceof ParseError || e instanceof ValidationError) {
        stats.add(keys, I_UNPARSABLE);
        log.debug("{id}: dropping unparsable message from {source}: {reason}", () => ({
          id: packet.id ?? "-",
          source: packet.source,
          reason: e.message,
        }));
        return { outcome: "unparsable", replies: [] };
      }
      throw e;
    }
    if (categories) {
      keys = categories.bundleKeys(bundle, keys);
      // The subnets and relays of the request are known only now: it counts as received there
      // too, so every set counts its requests the way the global set does.
      if (keys.length > known) stats.addOnly(keys.slice(known), I_INCOMING);
    }
    const inIndex = messageInIndex(bundle.request.type);
    if (inIndex !== undefined) stats.add(keys, inIndex);
    const phases = this.#fixedPhases ?? new PhaseLists(this.handlersFor(bundle));
    if (phases.lookup.length > 0) {
      const waiting = this.#lookups(bundle, packet, keys, stats, phases, lookups);
      if (waiting) return waiting;
    }
    const result = this.#finish(bundle, packet, keys, stats, phases);
    if (probe !== undefined) this.#learn(templates!, probe, packet, bundle, result, known);
    return result;
  }

  /** Answer `packet` from its template, counted as the full way counts a reply. */
  #reuse(
    templates: ReplyTemplates<AnswerMeta>,
    probe: TemplateProbe<AnswerMeta>,
    packet: IncomingPacket,
    stats: StatisticsStore,
  ): HandleResult | undefined {
    const data = templates.fill(probe, packet, packet.replyWriter);
    if (!data) return undefined;
    const meta = probe.template!.meta;
    stats.add(meta.packetKeys, I_INCOMING);
    if (meta.subnetRelayKeys.length > 0) stats.addOnly(meta.subnetRelayKeys, I_INCOMING);
    if (meta.inIndex !== undefined) stats.add(meta.keys, meta.inIndex);
    if (meta.outIndex !== undefined) stats.add(meta.keys, meta.outIndex);
    stats.add(meta.keys, I_OUTGOING);
    return {
      outcome: "reply",
      replies: [{
        data,
        destination: packet.source,
        port: meta.port < 0 ? packet.sourcePort : meta.port,
        interfaceName: meta.interfaceName,
        messageType: meta.messageType,
      }],
      keys: meta.keys,
    };
  }

  /** Show the templates the full answer to a probed request (see `ReplyTemplates.learn`). */
  #learn(
    templates: ReplyTemplates<AnswerMeta>,
    probe: TemplateProbe<AnswerMeta>,
    packet: IncomingPacket,
    bundle: TransactionBundle,
    result: HandleResult,
    known: number,
  ): void {
    // Anything but one reply to the sender, for a key that has a template, turns reuse off.
    const reply = result.outcome === "reply" && result.replies.length === 1 &&
        result.replies[0].destination === packet.source
      ? result.replies[0]
      : undefined;
    const keys = result.keys ?? NO_KEYS;
    const meta: AnswerMeta | undefined = reply && {
      packetKeys: keys.slice(0, known),
      subnetRelayKeys: keys.slice(known),
      keys,
      port: relayPortOf(bundle, packet) !== undefined ? -1 : reply.port,
      interfaceName: reply.interfaceName,
      messageType: reply.messageType,
      inIndex: messageInIndex(bundle.request.type),
      outIndex: messageOutIndex(reply.messageType),
    };
    if (templates.learn(probe, packet, reply?.data, meta) === "mismatch") {
      log.warning(
        "{id}: the answer to {bundle} differs from the one reused for other clients, although " +
          "every handler declared that it answers Information-requests alike: answers are no " +
          "longer reused until the configuration is reloaded",
        { id: packet.id ?? "-", bundle: String(bundle) },
      );
    }
  }

  /**
   * Start the lookups of `phases` in order until one has something to wait for: undefined when
   * none has (the request goes on synchronously), else the request's result once they are done,
   * or its result at once when it is dropped.
   */
  #lookups(
    bundle: TransactionBundle,
    packet: IncomingPacket,
    keys: readonly string[],
    stats: StatisticsStore,
    phases: PhaseLists,
    control: LookupControl,
  ): HandleResult | Promise<HandleResult> | undefined {
    const handlers = phases.lookup;
    for (let i = 0; i < handlers.length; i++) {
      let pending: Promise<void> | undefined;
      try {
        pending = handlers[i].lookup!(bundle);
      } catch (e) {
        return this.#lookupDropped(bundle, packet, keys, stats, "failure", describe(e));
      }
      if (!pending) continue;
      if (!control.enter()) {
        pending.catch(() => {}); // nobody waits for it any more
        control.overflow?.();
        return this.#lookupDropped(bundle, packet, keys, stats, "overflow", "too many waiting");
      }
      const packetCopy = parkedCopy(packet);
      return this.#wait(pending, i + 1, {
        bundle,
        packet: packetCopy,
        keys,
        stats,
        phases,
        control,
      });
    }
    return undefined;
  }

  /** Wait for `pending` and the lookups after it (from `next` on), then answer. */
  async #wait(pending: Promise<void>, next: number, w: Waiting): Promise<HandleResult> {
    const { bundle, control } = w;
    const handlers = w.phases.lookup;
    const deadline = lookupDeadlines.acquire(control.timeoutMs);
    let drop: "timeout" | "failure" | undefined;
    let reason = "";
    try {
      let current: Promise<void> | undefined = pending;
      while (current) {
        if (await Promise.race([current, deadline.expired]) === EXPIRED) {
          current.catch(() => {}); // it may still settle; nobody waits for it any more
          drop = "timeout";
          reason = `no answer within ${control.timeoutMs / 1000} s`;
          break;
        }
        current = undefined;
        while (!current && next < handlers.length) current = handlers[next++].lookup!(bundle);
      }
    } catch (e) {
      drop = "failure";
      reason = describe(e);
    } finally {
      lookupDeadlines.release(deadline);
    }
    control.leave(drop, reason);
    if (drop) return this.#lookupDropped(bundle, w.packet, w.keys, w.stats, drop, reason);
    control.resume?.(w.packet.id);
    try {
      return this.#finish(bundle, w.packet, w.keys, w.stats, w.phases);
    } finally {
      control.resume?.(undefined);
    }
  }

  /** Count and log a request dropped because of its lookups. */
  #lookupDropped(
    bundle: TransactionBundle,
    packet: IncomingPacket,
    keys: readonly string[],
    stats: StatisticsStore,
    drop: LookupDrop,
    reason: string,
  ): HandleResult {
    stats.add(keys, LOOKUP_DROPS[drop].counter);
    log.debug("{id}: dropping {bundle}: lookup {what}: {reason}", () => ({
      id: packet.id ?? "-",
      bundle: String(bundle),
      what: drop === "failure" ? "failed" : drop === "timeout" ? "timed out" : "not started",
      reason,
    }));
    return { outcome: LOOKUP_DROPS[drop].outcome, replies: [], bundle, keys };
  }

  /** Run the phases of a parsed request and count what became of it. */
  #finish(
    bundle: TransactionBundle,
    packet: IncomingPacket,
    keys: readonly string[],
    stats: StatisticsStore,
    phases: PhaseLists,
  ): HandleResult {
    let result: HandleResult;
    setLogClient(bundle);
    try {
      result = this.#run(bundle, packet, phases);
    } catch (e) {
      // Building or encoding the answer failed (a reply too large for its transport, a value
      // that cannot be encoded): nothing is sent, whatever the request contained.
      log.error("{id}: cannot answer {bundle}: {error}", {
        id: packet.id ?? "-",
        bundle: String(bundle),
        error: e,
      });
      result = { outcome: "handling_error", replies: [], bundle };
    } finally {
      setLogClient(undefined);
    }
    if (result.outcome !== "reply" && bundle.moreResponses) {
      closeMoreResponses(bundle.moreResponses);
      bundle.moreResponses = undefined;
    }
    result.keys = keys;
    switch (result.outcome) {
      case "for_other_server":
        stats.add(keys, I_FOR_OTHER);
        break;
      case "do_not_respond":
        stats.add(keys, I_DO_NOT_RESPOND);
        break;
      case "handling_error":
        stats.add(keys, I_HANDLING_ERRORS);
        break;
      case "use_multicast":
        stats.add(keys, I_USE_MULTICAST);
        break;
      case "status": {
        const code = (bundle.response.getOption(StatusCodeOption)?.statusCode) ?? -1;
        stats.add(keys, STATUS_COUNTER.get(code) ?? I_OTHER_ERROR);
        break;
      }
    }
    if (result.replies.length > 0) {
      const outIndex = messageOutIndex(result.replies[0].messageType);
      if (outIndex !== undefined) stats.add(keys, outIndex);
      stats.add(keys, I_OUTGOING, result.replies.length);
    }
    return result;
  }

  /**
   * Explain how this pipeline answers `packet`, step by step (see explain.ts): which filters
   * matched and why, which handlers ran in which phase and what each changed, which assignment
   * sources were asked and what they said, and the reply. A dry run: lookups are real, but
   * nothing is counted, no `analyse-post` handler runs (they record leases) and handlers skip
   * their side effects. Lookups wait at most `timeoutMs` each.
   */
  async explain(packet: IncomingPacket, timeoutMs = 1000): Promise<ExplainTrace> {
    const trace: ExplainTrace = {
      request: { summary: "", interface: packet.interfaceName },
      outcome: "unparsable",
      filters: [],
      handlers: [],
      sources: [],
      pools: [],
      dryRun: [],
    };
    let bundle: TransactionBundle;
    try {
      bundle = bundleFromPacket(packet, this.options.allowRapidCommit ?? false);
    } catch (e) {
      if (!(e instanceof ParseError || e instanceof ValidationError)) throw e;
      trace.request.summary = `${packet.data.length} bytes from ${packet.source}`;
      trace.reason = `the server drops it as unparsable: ${e.message}`;
      return trace;
    }
    const recorder = new ExplainRecorder();
    bundle.explain = recorder;
    trace.request.summary = String(bundle);
    trace.request.message = describeMessage(bundle.incomingMessage);
    const scopes = new Map<Handler, string>();
    for (const h of this.#setup) scopes.set(h, "built-in");
    for (const h of this.#cleanup) scopes.set(h, "built-in");
    traceFilters(this.options.filters, bundle, trace.filters, scopes);
    const phases = new PhaseLists(this.handlersFor(bundle));
    const scopeOf = (h: Handler) => scopes.get(h) ?? "top level";
    for (const h of phases.lookup) {
      const step: ExplainHandlerStep = {
        phase: PHASE_NAMES.lookup,
        handler: h.constructor.name,
        scope: scopeOf(h),
        changes: [],
        notes: [],
      };
      trace.handlers.push(step);
      recorder.current = step;
      const dropped = await explainLookup(h, bundle, timeoutMs);
      recorder.current = undefined;
      if (dropped) {
        step.signal = dropped.reason;
        trace.outcome = dropped.outcome;
        trace.reason = `the request is dropped: lookup ${dropped.reason}`;
        trace.sources = recorder.sources;
        trace.pools = recorder.pools;
        return trace;
      }
    }
    const traced = new PhaseLists([]);
    const wrap = (list: Handler[], phase: Exclude<keyof typeof PHASE_NAMES, "lookup">) =>
      list.map((h) =>
        new TracedHandler(
          h,
          phase,
          scopeOf(h),
          trace.handlers,
          recorder,
          phase === "analysePost"
            ? "dry run: looks at the answer sent (records leases)"
            : undefined,
        )
      );
    for (const phase of ["analysePre", "pre", "handle", "post", "analysePost"] as const) {
      for (const h of wrap(phases[phase], phase)) traced.add(phase, h);
    }
    if (phases.analysePost.length > 0) {
      trace.dryRun.push(
        `analyse-post not run: ${
          phases.analysePost.map((h) => h.constructor.name).join(", ")
        } (nothing is recorded)`,
      );
    }
    trace.dryRun.push("nothing counted in the statistics");
    let result: HandleResult;
    try {
      result = this.#run(bundle, { ...packet, id: "explain", replyWriter: undefined }, traced);
    } catch (e) {
      result = { outcome: "handling_error", replies: [], bundle };
      recorder.signal ??= signalText(e);
    }
    closeMoreResponses(bundle.moreResponses);
    bundle.moreResponses = undefined;
    trace.outcome = result.outcome;
    trace.sources = recorder.sources;
    trace.pools = recorder.pools;
    if (result.replies.length > 0 && bundle.response) {
      trace.reply = {
        type: bundle.response.name,
        message: describeMessage(bundle.response),
        hex: toHex(result.replies[0].data),
      };
    }
    trace.reason = outcomeReason(result.outcome, recorder.signal, bundle);
    return trace;
  }

  /**
   * Count `n` further messages sent for `result` (bulk leasequery messages streamed after the
   * first response) in `outgoing_packets`, under the request's statistics keys.
   */
  countSent(result: HandleResult, stats: StatisticsStore, n = 1): void {
    stats.add(result.keys ?? NO_KEYS, I_OUTGOING, n);
  }

  /** Wrap `response` in the relay-reply chain, encode and address it; throws when unsendable. */
  #address(
    bundle: TransactionBundle,
    response: ClientServerMessage,
    packet: IncomingPacket,
  ): OutgoingPacket {
    const layers = bundle.outgoingRelayMessages;
    if (layers.length === 0) throw new TypeError("no outgoing relay chain");
    // The server's own layer (the outermost) is not sent: only what it wraps is.
    return addressPayload(
      bundle.wrapInRelays(response, layers.length - 1),
      layers[layers.length - 1],
      relayPortOf(bundle, packet),
      packet.receivedOverTcp ? MAX_TCP_MESSAGE : MAX_UDP_MESSAGE,
      packet.replyWriter,
    );
  }

  #run(bundle: TransactionBundle, packet: IncomingPacket, phases: PhaseLists): HandleResult {
    const id = packet.id ?? "-";
    // Indexed loops over the phases (no iterator per loop and request).
    const { analysePre, pre, handle, post, analysePost } = phases;
    for (let i = 0; i < analysePre.length; i++) {
      const h = analysePre[i];
      try {
        h.analysePre(bundle);
      } catch (e) {
        log.error("{id}: {handler} failed to analyse the request: {error}", {
          id,
          handler: h.constructor.name,
          error: e,
        });
      }
    }
    try {
      const { preCalls, handleCalls, postCalls } = phases;
      for (let i = 0; i < pre.length; i++) preCalls[i].call(pre[i], bundle);
      const response = responseFor(bundle.request);
      if (!response) throw new CannotRespond(`do not know how to answer ${bundle.request.name}`);
      if (bundle.request.type === MsgType.Confirm && !confirmHasAddresses(bundle.request)) {
        throw new CannotRespond("confirm without addresses");
      }
      bundle.responses = [response];
      bundle.createOutgoingRelayMessages();
      for (let i = 0; i < handle.length; i++) handleCalls[i].call(handle[i], bundle);
      for (let i = 0; i < post.length; i++) postCalls[i].call(post[i], bundle);
    } catch (e) {
      return this.#signal(bundle, e, packet);
    }
    for (let i = 0; i < analysePost.length; i++) {
      const h = analysePost[i];
      try {
        h.analysePost(bundle);
      } catch (e) {
        log.error("{id}: {handler} failed to analyse the response: {error}", {
          id,
          handler: h.constructor.name,
          error: e,
        });
      }
    }
    if (debugLog.on) {
      log.debug("{id}: answering {bundle} with {type}", () => ({
        id,
        bundle: String(bundle),
        type: bundle.response.name,
      }));
    }
    return {
      outcome: "reply",
      replies: bundle.responses.map((r) => this.#address(bundle, r, packet)),
      bundle,
    };
  }

  #statusReply(
    bundle: TransactionBundle,
    code: number,
    message: string,
    leasequery: boolean,
    packet: IncomingPacket,
  ): OutgoingPacket {
    const xid = bundle.request.transactionId;
    const options: Option[] = [];
    const clientId = bundle.request.getOption(ClientIdOption);
    if (clientId) options.push(clientId);
    options.push(this.#serverIdOption, new StatusCodeOption(code, message));
    bundle.responses = [
      leasequery ? new LeasequeryReplyMessage(xid, options) : new ReplyMessage(xid, options),
    ];
    if (bundle.outgoingRelayMessages.length === 0) bundle.createOutgoingRelayMessages();
    // Relays still need their Interface-ID echoed.
    new InterfaceIdHandler().handle(bundle);
    return this.#address(bundle, bundle.response, packet);
  }

  #signal(bundle: TransactionBundle, e: unknown, packet: IncomingPacket): HandleResult {
    const id = packet.id ?? "-";
    if (e instanceof ForOtherServer) {
      log.debug(
        "{id}: {bundle}: {reason}",
        () => ({ id, bundle: String(bundle), reason: e.message }),
      );
      return { outcome: "for_other_server", replies: [], bundle };
    }
    if (e instanceof CannotRespond) {
      log.debug("{id}: not responding to {bundle}: {reason}", () => ({
        id,
        bundle: String(bundle),
        reason: e.message,
      }));
      return { outcome: "do_not_respond", replies: [], bundle };
    }
    if (e instanceof UseMulticast) {
      if (bundle.receivedOverMulticast) return { outcome: "do_not_respond", replies: [], bundle };
      log.debug("{id}: telling {bundle} to use multicast", () => ({ id, bundle: String(bundle) }));
      const reply = this.#statusReply(
        bundle,
        StatusCode.UseMulticast,
        "You cannot send requests directly to this server, please use the proper multicast addresses",
        false,
        packet,
      );
      return { outcome: "use_multicast", replies: [reply], bundle };
    }
    if (e instanceof ReplyWithStatus) {
      log.debug("{id}: replying to {bundle} with status {code}: {reason}", () => ({
        id,
        bundle: String(bundle),
        code: e.statusCode,
        reason: e.message,
      }));
      const leasequery = e instanceof ReplyWithLeasequeryError ||
        bundle.request instanceof LeasequeryMessage;
      const reply = this.#statusReply(bundle, e.statusCode, e.statusMessage, leasequery, packet);
      return { outcome: "status", replies: [reply], bundle };
    }
    log.error("{id}: error while handling {bundle}: {error}", {
      id,
      bundle: String(bundle),
      error: e,
    });
    return { outcome: "handling_error", replies: [], bundle };
  }
}

/**
 * The handlers of a request split by phase, each list keeping only the handlers that override
 * the phase's no-op default (calling the default would do nothing), in handler order.
 */
class PhaseLists {
  readonly lookup: Handler[] = [];
  readonly analysePre: Handler[] = [];
  readonly pre: Handler[] = [];
  readonly handle: Handler[] = [];
  readonly post: Handler[] = [];
  readonly analysePost: Handler[] = [];
  /**
   * The methods of `pre`, `handle` and `post`'s handlers, in the same order, read when they are
   * listed: calling them through these spares a load by name, at a call site that sees many
   * handler classes (megamorphic), per handler and request.
   */
  readonly preCalls: PhaseMethod[] = [];
  readonly handleCalls: PhaseMethod[] = [];
  readonly postCalls: PhaseMethod[] = [];

  constructor(handlers: readonly Handler[]) {
    const base = Handler.prototype;
    for (const h of handlers) {
      if (h.lookup) this.lookup.push(h);
      if (h.analysePre !== base.analysePre) this.analysePre.push(h);
      if (h.pre !== base.pre) this.add("pre", h);
      if (h.handle !== base.handle) this.add("handle", h);
      if (h.post !== base.post) this.add("post", h);
      if (h.analysePost !== base.analysePost) this.analysePost.push(h);
    }
  }

  /** Append `h` to the list of `phase` (and its method to that phase's calls). */
  add(phase: Exclude<keyof typeof PHASE_NAMES, "lookup">, h: Handler): void {
    this[phase].push(h);
    if (phase === "pre") this.preCalls.push(h.pre);
    else if (phase === "handle") this.handleCalls.push(h.handle);
    else if (phase === "post") this.postCalls.push(h.post);
  }
}

/** A phase's method, called with its handler as `this`. */
type PhaseMethod = (this: Handler, bundle: TransactionBundle) => void;

const NO_KEYS: readonly string[] = [];

/** What a reused answer needs besides its bytes (see `MessageHandler.#reuse`). */
interface AnswerMeta {
  /** The statistics keys known from the packet (its interface). */
  readonly packetKeys: readonly string[];
  /** The keys the request's subnets and relays add. */
  readonly subnetRelayKeys: readonly string[];
  /** Every statistics key of the request (both of the above). */
  readonly keys: readonly string[];
  /** The destination port, or -1 for the sender's own (a relay's Relay Source Port option). */
  readonly port: number;
  readonly interfaceName: string;
  readonly messageType: number;
  readonly inIndex: number | undefined;
  readonly outIndex: number | undefined;
}

function sameAnswerMeta(a: AnswerMeta, b: AnswerMeta): boolean {
  return sameStrings(a.packetKeys, b.packetKeys) && sameStrings(a.keys, b.keys) &&
    a.port === b.port && a.interfaceName === b.interfaceName &&
    a.messageType === b.messageType && a.inIndex === b.inIndex && a.outIndex === b.outIndex;
}
const I_INCOMING = scalarIndex("incoming_packets");
const I_OUTGOING = scalarIndex("outgoing_packets");
const I_UNPARSABLE = scalarIndex("unparsable_packets");
const I_HANDLING_ERRORS = scalarIndex("handling_errors");
const I_FOR_OTHER = scalarIndex("for_other_server");
const I_DO_NOT_RESPOND = scalarIndex("do_not_respond");
const I_USE_MULTICAST = scalarIndex("use_multicast");
const I_OTHER_ERROR = scalarIndex("other_error");
/** A request waiting for its lookups, with what it needs to be answered afterwards. */
interface Waiting {
  bundle: TransactionBundle;
  packet: IncomingPacket;
  keys: readonly string[];
  stats: StatisticsStore;
  phases: PhaseLists;
  control: LookupControl;
}

/** The counter and outcome of each reason to drop a request because of its lookups. */
const LOOKUP_DROPS: Record<LookupDrop, { counter: number; outcome: Outcome }> = {
  failure: { counter: scalarIndex("lookup_failures"), outcome: "lookup_failure" },
  timeout: { counter: scalarIndex("lookup_timeouts"), outcome: "lookup_timeout" },
  overflow: { counter: scalarIndex("lookup_overflows"), outcome: "lookup_overflow" },
};
const TIMED_OUT = Symbol("timed out");
/** The `lookup-timeout` deadlines of the requests waiting for lookups (timers shared). */
const lookupDeadlines = new SharedDeadlines();

/** Why a request got `outcome`, for explain. */
function outcomeReason(
  outcome: Outcome,
  signal: string | undefined,
  bundle: TransactionBundle,
): string | undefined {
  const why = signal ? ` (${signal})` : "";
  switch (outcome) {
    case "reply":
      return undefined;
    case "for_other_server":
      return `ignored: the request is for another server${why}`;
    case "do_not_respond":
      if (signal) return `ignored: a handler decided not to answer${why}`;
      if (!responseFor(bundle.request)) {
        return `ignored: the server does not answer ${bundle.request.name} messages`;
      }
      return "ignored: a Confirm without addresses gets no reply (RFC 8415 18.3.3)";
    case "use_multicast":
      return `answered with status UseMulticast: the client must use multicast${why}`;
    case "status":
      return `answered with a status code${why}`;
    default:
      return `not answered: ${outcome.replaceAll("_", " ")}${why}`;
  }
}

/**
 * Run `handler`'s lookup for explain, waiting at most `timeoutMs`: undefined when it answered,
 * else what a real request would have become.
 */
async function explainLookup(
  handler: Handler,
  bundle: TransactionBundle,
  timeoutMs: number,
): Promise<{ outcome: Outcome; reason: string } | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const pending = handler.lookup!(bundle);
    if (!pending) {
      bundle.explain?.note("answered without waiting (nothing to ask, or cached)");
      return undefined;
    }
    const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs);
    });
    if (await Promise.race([pending, deadline]) === TIMED_OUT) {
      pending.catch(() => {});
      return { outcome: "lookup_timeout", reason: `no answer within ${timeoutMs / 1000} s` };
    }
    return undefined;
  } catch (e) {
    return { outcome: "lookup_failure", reason: `failed: ${describe(e)}` };
  } finally {
    clearTimeout(timer);
  }
}

/** An error as one line for the log. */
function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * What a request that waits for a lookup keeps of its packet: not the received bytes (parsing
 * copied what the bundle needs; the receive buffer is reused) and no reply writer (the batch it
 * came in is long answered when it resumes).
 */
function parkedCopy(packet: IncomingPacket): IncomingPacket {
  return { ...packet, data: NO_DATA, replyWriter: undefined };
}
const NO_DATA = new Uint8Array(0);

const STATUS_COUNTER = new Map<number, number>([
  [StatusCode.UnknownQueryType, scalarIndex("unknown_query_type")],
  [StatusCode.MalformedQuery, scalarIndex("malformed_query")],
  [StatusCode.NotAllowed, scalarIndex("not_allowed")],
]);

export { StatisticsStore };
