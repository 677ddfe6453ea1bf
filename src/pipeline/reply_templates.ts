/**
 * Answers to Information-requests reused from one client for the next.
 *
 * Where every handler of a pipeline answers Information-requests alike (see
 * `treatsInformationRequestsAlike`), two such requests that differ only in the transaction id, the
 * client's DUID and the client's address (the innermost relay's peer address) get answers that
 * differ only in the same places. The pipeline keeps the bytes of one answer as a template, keyed
 * by the rest of the request and by the listener it came from, and answers the next request of
 * that key by copying the template and writing that request's three values into it: no parse, no
 * handlers, no encoding. A client's stateless configuration (DNS servers, search list, NTP) is
 * what most ISP traffic without addresses asks for, from many clients behind a few relays.
 *
 * A template is used only once another client's answer (another DUID and transaction id), made
 * the full way, came out exactly as the template made for it would have (bytes, destination,
 * port and statistics); a mismatch, or no reply where the template replies, turns the reuse off
 * for the pipeline's lifetime (a handler that declared itself alike wrongly). The same
 * comparison is made again for one reuse in {@link RECHECK_EVERY}.
 * @module
 */

import { ClientIdOption, MsgType, RelayMessageOption } from "../protocol/mod.ts";
import type { Writer } from "../protocol/mod.ts";
import type { IncomingPacket } from "./message_handler.ts";

/** The most templates one pipeline keeps (all are dropped when it is full). */
export const TEMPLATE_LIMIT = 1024;
/** One reuse in this many is made the full way instead and compared with the template. */
export const RECHECK_EVERY = 256;
/**
 * After this many requests in a row found no template to use, only one request in
 * {@link SPARSE_EVERY} is looked at (relays that add a per-client option make every key new).
 */
export const MISSES_BEFORE_SPARSE = 4096;
/** See {@link MISSES_BEFORE_SPARSE}. */
export const SPARSE_EVERY = 64;

/** Relay layers followed at most; deeper requests take the full way. */
const MAX_LAYERS = 8;
const OPTION_CLIENT_ID = ClientIdOption.code;
const OPTION_RELAY_MSG = RelayMessageOption.code;
/** Relay-forward and relay-reply header: type, hop count, link and peer address. */
const RELAY_HEADER = 34;
const PEER_OFFSET = 18;

/** Where the values that differ between clients sit in a (relayed) Information-request. */
export interface RequestShape {
  /** Offset of the Information-request's type byte (its transaction id follows). */
  readonly inner: number;
  /** Offset of the Client ID's DUID, or -1 when the request has no Client ID. */
  readonly cidStart: number;
  /** End of the Client ID's DUID (-1 without one). */
  readonly cidEnd: number;
  /** Offset of the innermost relay's peer address, or -1 for a request sent directly. */
  readonly peer: number;
  /** Relay layers around the Information-request. */
  readonly relays: number;
  /** The byte ranges outside those values, as `[start, end, start, end, ...]`. */
  readonly kept: readonly number[];
}

// What the last scan and unwrap found (module state: neither calls out or is re-entered).
let hitStart = -1, hitEnd = -1, hits = 0;
let layerAt = -1, layerCount = 0, innerStart = 0, innerEnd = 0;

/**
 * Scan one message's options in `data[start, end)` for option `code`: how often it occurs
 * (`hits`) and where its first value lies (`hitStart`, `hitEnd`). False when the options do not
 * fit exactly, or with `noIAs` when one is an IA_NA, IA_TA or IA_PD (what handlers do with those
 * depends on the client).
 */
function scan(data: Uint8Array, start: number, end: number, code: number, noIAs: boolean): boolean {
  hitStart = -1;
  hitEnd = -1;
  hits = 0;
  let p = start;
  while (p < end) {
    if (end - p < 4) return false;
    const c = (data[p] << 8) | data[p + 1];
    const value = p + 4;
    const valueEnd = value + ((data[p + 2] << 8) | data[p + 3]);
    if (valueEnd > end) return false;
    if (c === code) {
      if (hits++ === 0) {
        hitStart = value;
        hitEnd = valueEnd;
      }
    } else if (noIAs && (c === 3 || c === 4 || c === 25)) return false;
    p = valueEnd;
  }
  return true;
}

/**
 * Follow the layers of `data` down to its innermost message, whose type must be `innerType`: sets
 * the offset of the innermost relay layer (`layerAt`, -1 without relays), the number of layers
 * (`layerCount`) and the innermost message's range (`innerStart`, `innerEnd`). False when the
 * bytes are not such a message (the full way then decides).
 */
function unwrap(data: Uint8Array, relayType: number, innerType: number): boolean {
  let start = 0, end = data.length;
  layerAt = -1;
  layerCount = 0;
  while (end - start >= 1 && data[start] === relayType) {
    if (end - start < RELAY_HEADER || ++layerCount > MAX_LAYERS) return false;
    layerAt = start;
    // Exactly one relay message per layer; two are left to the full way.
    if (!scan(data, start + RELAY_HEADER, end, OPTION_RELAY_MSG, false) || hits !== 1) return false;
    start = hitStart;
    end = hitEnd;
  }
  innerStart = start;
  innerEnd = end;
  return end - start >= 4 && data[start] === innerType;
}

/**
 * The shape of `data` when it is an Information-request without IA options, directly or in relay
 * layers; undefined otherwise (and for bytes that do not parse: the full way drops those).
 */
export function informationRequestShape(data: Uint8Array): RequestShape | undefined {
  if (!unwrap(data, MsgType.RelayForward, MsgType.InformationRequest)) return undefined;
  const inner = innerStart;
  if (!scan(data, inner + 4, innerEnd, OPTION_CLIENT_ID, true) || hits > 1) return undefined;
  const cidStart = hitStart, cidEnd = hitEnd;
  const peer = layerAt < 0 ? -1 : layerAt + PEER_OFFSET;
  // The ranges outside the masked values, which come in this order: peer address, transaction
  // id, Client ID.
  const kept: number[] = [];
  let from = 0;
  if (peer >= 0) {
    kept.push(0, peer);
    from = peer + 16;
  }
  kept.push(from, inner + 1);
  from = inner + 4;
  if (cidStart >= 0) {
    kept.push(from, cidStart);
    from = cidEnd;
  }
  kept.push(from, data.length);
  return { inner, cidStart, cidEnd, peer, relays: layerCount, kept };
}

/** FNV-1a over the kept bytes of `data`. */
function keyHash(data: Uint8Array, kept: readonly number[]): number {
  let h = 0x811c9dc5 ^ data.length;
  for (let k = 0; k < kept.length; k += 2) {
    for (let i = kept[k]; i < kept[k + 1]; i++) h = Math.imul(h ^ data[i], 0x01000193);
  }
  return h >>> 0;
}

/** Where the values that differ between clients sit in an answer. */
interface ReplyShape {
  xid: number;
  cid: number;
  peer: number;
}

/**
 * Find in `reply` the places of the request's values (its transaction id, Client ID and innermost
 * peer address): undefined unless the reply holds each of them exactly once where expected.
 */
function replyShape(
  reply: Uint8Array,
  request: Uint8Array,
  shape: RequestShape,
): ReplyShape | undefined {
  if (!unwrap(reply, MsgType.RelayReply, MsgType.Reply) || layerCount !== shape.relays) {
    return undefined;
  }
  const inner = innerStart, peer = layerAt < 0 ? -1 : layerAt + PEER_OFFSET;
  if (!same(reply, inner + 1, request, shape.inner + 1, 3)) return undefined;
  if (shape.peer >= 0 && !same(reply, peer, request, shape.peer, 16)) return undefined;
  if (!scan(reply, inner + 4, innerEnd, OPTION_CLIENT_ID, false)) return undefined;
  const cidLength = shape.cidEnd - shape.cidStart;
  if (shape.cidStart < 0) {
    if (hits !== 0) return undefined;
  } else if (
    hits !== 1 || hitEnd - hitStart !== cidLength ||
    !same(reply, hitStart, request, shape.cidStart, cidLength)
  ) {
    return undefined;
  }
  return { xid: inner + 1, cid: shape.cidStart < 0 ? -1 : hitStart, peer };
}

function same(a: Uint8Array, at: number, b: Uint8Array, bt: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[at + i] !== b[bt + i]) return false;
  return true;
}

/** One reusable answer. */
interface Template<M> {
  readonly request: Uint8Array;
  readonly shape: RequestShape;
  readonly reply: Uint8Array;
  readonly at: ReplyShape;
  readonly listener: ListenerKey;
  /** What the pipeline needs besides the bytes (statistics keys, port, ...). */
  readonly meta: M;
  /** A second client's full answer matched. */
  confirmed: boolean;
}

/** The parts of the packet that a template is only valid for. */
interface ListenerKey {
  interfaceName: string;
  linkAddress: string;
  multicast: boolean;
  marks: readonly string[];
  /** The sender's address for relayed requests (the relay), "" for direct ones (the client). */
  source: string;
}

function listenerKey(packet: IncomingPacket, relayed: boolean): ListenerKey {
  return {
    interfaceName: packet.interfaceName,
    linkAddress: packet.linkAddress,
    multicast: packet.receivedOverMulticast,
    marks: packet.marks,
    source: relayed ? packet.source : "",
  };
}

function sameListener(t: ListenerKey, packet: IncomingPacket, relayed: boolean): boolean {
  return t.interfaceName === packet.interfaceName && t.linkAddress === packet.linkAddress &&
    t.multicast === packet.receivedOverMulticast && sameStrings(t.marks, packet.marks) &&
    t.source === (relayed ? packet.source : "");
}

/** The same strings in the same order (a listener passes the same marks with every packet). */
export function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A request looked up in the templates (see {@link ReplyTemplates.probe}). */
export interface TemplateProbe<M> {
  /** Where the request's client values sit. */
  readonly shape: RequestShape;
  /** The key's hash. */
  readonly hash: number;
  /** The template of the request's key, if one was learned. */
  readonly template: Template<M> | undefined;
  /** The template may answer (confirmed, and this is not a request it is checked with). */
  readonly usable: boolean;
}

/** What {@link ReplyTemplates.learn} made of a full answer. */
export type LearnResult = "learned" | "confirmed" | "matched" | "ignored" | "mismatch";

/**
 * The templates of one pipeline. `sameMeta` compares what the pipeline keeps besides the bytes;
 * the pipeline decides which answers may be learned (replies to Information-requests of a
 * pipeline whose handlers all answer them alike).
 */
export class ReplyTemplates<M> {
  readonly #templates = new Map<number, Template<M>>();
  readonly #sameMeta: (a: M, b: M) => boolean;
  #uses = 0;
  #misses = 0;
  /** A full answer did not match its template: no template is used any more. */
  off = false;

  /** Create an empty set of templates. */
  constructor(sameMeta: (a: M, b: M) => boolean) {
    this.#sameMeta = sameMeta;
  }

  /**
   * Look `packet` up: undefined when it cannot have a template (not an Information-request, the
   * reuse is off, or a sparse turn skips it).
   */
  probe(packet: IncomingPacket): TemplateProbe<M> | undefined {
    if (this.off || packet.receivedOverTcp) return undefined;
    if (this.#misses >= MISSES_BEFORE_SPARSE && ++this.#misses % SPARSE_EVERY !== 0) {
      return undefined;
    }
    const data = packet.data;
    const shape = informationRequestShape(data);
    if (!shape) return undefined;
    const hash = keyHash(data, shape.kept);
    let template = this.#templates.get(hash);
    if (template && !this.#matches(template, packet, shape)) template = undefined;
    let usable = false;
    if (template?.confirmed) {
      usable = ++this.#uses % RECHECK_EVERY !== 0;
      this.#misses = 0;
    } else if (this.#misses < MISSES_BEFORE_SPARSE) this.#misses++;
    return { shape, hash, template, usable };
  }

  #matches(t: Template<M>, packet: IncomingPacket, shape: RequestShape): boolean {
    const data = packet.data, kept = shape.kept, tk = t.shape.kept;
    if (data.length !== t.request.length || kept.length !== tk.length) return false;
    for (let k = 0; k < kept.length; k++) if (kept[k] !== tk[k]) return false;
    for (let k = 0; k < kept.length; k += 2) {
      for (let i = kept[k]; i < kept[k + 1]; i++) if (data[i] !== t.request[i]) return false;
    }
    return sameListener(t.listener, packet, shape.peer >= 0);
  }

  /**
   * The answer to `packet` from its probe's template, written to `writer` when given (else bytes
   * of its own); undefined when the request's own values would not pass the full way's checks
   * (a Client ID that does not parse, a multicast peer address): the full way then drops it.
   */
  fill(probe: TemplateProbe<M>, packet: IncomingPacket, writer?: Writer): Uint8Array | undefined {
    const t = probe.template;
    if (!t) return undefined;
    const data = packet.data, shape = probe.shape;
    if (shape.peer >= 0 && data[shape.peer] === 0xff) return undefined;
    if (shape.cidStart >= 0) {
      try {
        ClientIdOption.parse(data, shape.cidStart, shape.cidEnd).validate();
      } catch {
        return undefined;
      }
    }
    return instantiate(t, data, shape, writer);
  }

  /**
   * Told the full answer to a probed request, with the pipeline's `meta` for it (`reply`
   * undefined: the full way did not answer with one reply to the sender, for another reason than
   * the request's own values failing their checks): the first answer of a key becomes its
   * template; the next one from another client confirms it, or turns the reuse off ("mismatch")
   * when the template would have answered differently.
   */
  learn(
    probe: TemplateProbe<M>,
    packet: IncomingPacket,
    reply: Uint8Array | undefined,
    meta: M | undefined,
  ): LearnResult {
    if (this.off) return "ignored";
    const t = probe.template;
    const data = packet.data, shape = probe.shape;
    if (!reply || !meta) {
      // A request of a key that has a template must be answered as the template answers.
      if (!t) return "ignored";
      this.#mismatch();
      return "mismatch";
    }
    if (!t) {
      const at = replyShape(reply, data, shape);
      if (!at) return "ignored";
      if (this.#templates.size >= TEMPLATE_LIMIT) this.#templates.clear();
      this.#templates.set(probe.hash, {
        request: data.slice(),
        shape,
        reply: reply.slice(),
        at,
        listener: listenerKey(packet, shape.peer >= 0),
        meta,
        confirmed: false,
      });
      return "learned";
    }
    // The same client (its DUID) or the same transaction proves nothing: wait for another.
    if (!t.confirmed && sameClient(t, data, shape)) return "ignored";
    const expected = instantiate(t, data, shape);
    if (
      expected.length !== reply.length || !same(expected, 0, reply, 0, reply.length) ||
      !this.#sameMeta(t.meta, meta)
    ) {
      this.#mismatch();
      return "mismatch";
    }
    if (t.confirmed) return "matched";
    t.confirmed = true;
    return "confirmed";
  }

  #mismatch(): void {
    this.off = true;
    this.#templates.clear();
  }
}

/**
 * True when `data` repeats the transaction id or the Client ID of `t`'s request: the same client
 * asking again, whose answer cannot show that the DUID does not matter. (The peer address may
 * repeat: clients behind one relay port can share it.)
 */
function sameClient(t: Template<unknown>, data: Uint8Array, shape: RequestShape): boolean {
  if (same(data, shape.inner + 1, t.request, shape.inner + 1, 3)) return true;
  return shape.cidStart >= 0 &&
    same(data, shape.cidStart, t.request, shape.cidStart, shape.cidEnd - shape.cidStart);
}

/** `t`'s answer with the values of the request `data`. */
function instantiate(
  t: Template<unknown>,
  data: Uint8Array,
  shape: RequestShape,
  writer?: Writer,
): Uint8Array {
  const n = t.reply.length;
  let out: Uint8Array, base: number;
  if (writer) {
    writer.ensure(n);
    out = writer.buf;
    base = writer.pos;
    writer.pos += n;
  } else {
    out = new Uint8Array(n);
    base = 0;
  }
  out.set(t.reply, base);
  const at = t.at;
  const x = shape.inner + 1;
  out[base + at.xid] = data[x];
  out[base + at.xid + 1] = data[x + 1];
  out[base + at.xid + 2] = data[x + 2];
  // Byte loops: these are short, and a subarray per copy would cost more than the copy.
  if (at.peer >= 0) {
    for (let i = 0, to = base + at.peer, from = shape.peer; i < 16; i++) {
      out[to + i] = data[from + i];
    }
  }
  if (at.cid >= 0) {
    for (let i = 0, to = base + at.cid, n = shape.cidEnd - shape.cidStart; i < n; i++) {
      out[to + i] = data[shape.cidStart + i];
    }
  }
  return writer ? out.subarray(base, base + n) : out;
}
