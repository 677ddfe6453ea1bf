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
 * A template is used only once a second client's answer, made the full way, came out exactly as
 * the template made for it would have (bytes, destination, port and statistics); a mismatch turns
 * the reuse off for the pipeline's lifetime (a handler that declared itself alike wrongly). The
 * same comparison is made again for one reuse in {@link RECHECK_EVERY}.
 * @module
 */

import { ClientIdOption } from "../protocol/mod.ts";
import type { Writer } from "../protocol/mod.ts";
import type { IncomingPacket } from "./message_handler.ts";

/** The most templates one pipeline keeps (all are dropped when it is full). */
export const TEMPLATE_LIMIT = 1024;
/** One reuse in this many is made the full way instead and compared with the template. */
export const RECHECK_EVERY = 1024;
/**
 * After this many requests in a row found no template to use, only one request in
 * {@link SPARSE_EVERY} is looked at (relays that add a per-client option make every key new).
 */
export const MISSES_BEFORE_SPARSE = 4096;
/** See {@link MISSES_BEFORE_SPARSE}. */
export const SPARSE_EVERY = 64;

/** Relay layers followed at most; deeper requests take the full way. */
const MAX_LAYERS = 8;
const RELAY_FORW = 12;
const RELAY_REPL = 13;
const INFORMATION_REQUEST = 11;
const REPLY = 7;
const OPTION_CLIENT_ID = 1;
const OPTION_RELAY_MSG = 9;
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

/** Walk one message's options in `data[start, end)`; false when they do not fit exactly. */
function walkOptions(
  data: Uint8Array,
  start: number,
  end: number,
  seen: (code: number, value: number, valueEnd: number) => boolean,
): boolean {
  let p = start;
  while (p < end) {
    if (end - p < 4) return false;
    const code = (data[p] << 8) | data[p + 1];
    const value = p + 4;
    const valueEnd = value + ((data[p + 2] << 8) | data[p + 3]);
    if (valueEnd > end || !seen(code, value, valueEnd)) return false;
    p = valueEnd;
  }
  return true;
}

/**
 * The layers of `data` down to its innermost message, whose type must be `innerType`: the offset
 * of the innermost relay layer (-1 without relays), the number of layers and the innermost
 * message's range; undefined when the bytes are not such a message (the full way then decides).
 */
function unwrap(
  data: Uint8Array,
  relayType: number,
  innerType: number,
): { layer: number; layers: number; start: number; end: number } | undefined {
  let start = 0, end = data.length, layer = -1, layers = 0;
  while (end - start >= 1 && data[start] === relayType) {
    if (end - start < RELAY_HEADER || ++layers > MAX_LAYERS) return undefined;
    layer = start;
    let inner = -1, innerEnd = -1;
    const fits = walkOptions(data, start + RELAY_HEADER, end, (code, value, valueEnd) => {
      if (code !== OPTION_RELAY_MSG) return true;
      if (inner >= 0) return false; // two relay messages: left to the full way
      inner = value;
      innerEnd = valueEnd;
      return true;
    });
    if (!fits || inner < 0) return undefined;
    start = inner;
    end = innerEnd;
  }
  if (end - start < 4 || data[start] !== innerType) return undefined;
  return { layer, layers, start, end };
}

/**
 * The shape of `data` when it is an Information-request without IA options, directly or in relay
 * layers; undefined otherwise (and for bytes that do not parse: the full way drops those).
 */
export function informationRequestShape(data: Uint8Array): RequestShape | undefined {
  const m = unwrap(data, RELAY_FORW, INFORMATION_REQUEST);
  if (!m) return undefined;
  let cidStart = -1, cidEnd = -1;
  const fits = walkOptions(data, m.start + 4, m.end, (code, value, valueEnd) => {
    // IA_NA, IA_TA, IA_PD: what handlers do with them depends on the client.
    if (code === 3 || code === 4 || code === 25) return false;
    if (code !== OPTION_CLIENT_ID) return true;
    if (cidStart >= 0) return false;
    cidStart = value;
    cidEnd = valueEnd;
    return true;
  });
  if (!fits) return undefined;
  const peer = m.layer < 0 ? -1 : m.layer + PEER_OFFSET;
  // The masked ranges in order: peer address, transaction id, Client ID (each after the last).
  const kept: number[] = [];
  let from = 0;
  const mask = (start: number, end: number) => {
    kept.push(from, start);
    from = end;
  };
  if (peer >= 0) mask(peer, peer + 16);
  mask(m.start + 1, m.start + 4);
  if (cidStart >= 0) mask(cidStart, cidEnd);
  kept.push(from, data.length);
  return { inner: m.start, cidStart, cidEnd, peer, relays: m.layers, kept };
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
  const m = unwrap(reply, RELAY_REPL, REPLY);
  if (!m || m.layers !== shape.relays) return undefined;
  if (!same(reply, m.start + 1, request, shape.inner + 1, 3)) return undefined;
  if (shape.peer >= 0 && !same(reply, m.layer + PEER_OFFSET, request, shape.peer, 16)) {
    return undefined;
  }
  let cid = -1, clientIds = 0;
  const cidLength = shape.cidEnd - shape.cidStart;
  const fits = walkOptions(reply, m.start + 4, m.end, (code, value, valueEnd) => {
    if (code !== OPTION_CLIENT_ID) return true;
    clientIds++;
    if (shape.cidStart >= 0 && valueEnd - value === cidLength) cid = value;
    return true;
  });
  if (!fits || clientIds !== (shape.cidStart >= 0 ? 1 : 0)) return undefined;
  if (shape.cidStart >= 0 && (cid < 0 || !same(reply, cid, request, shape.cidStart, cidLength))) {
    return undefined;
  }
  return { xid: m.start + 1, cid, peer: shape.peer >= 0 ? m.layer + PEER_OFFSET : -1 };
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
    t.multicast === packet.receivedOverMulticast && sameMarks(t.marks, packet.marks) &&
    t.source === (relayed ? packet.source : "");
}

/** The same marks (a listener passes the same array with every packet). */
function sameMarks(a: readonly string[], b: readonly string[]): boolean {
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

  /** Templates kept (for tests). */
  get size(): number {
    return this.#templates.size;
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
   * Told the full answer to a probed request, with the pipeline's `meta` for it: the first answer
   * of a key becomes its template; the next one from another client confirms it, or turns the
   * reuse off ("mismatch") when the template would have answered differently.
   */
  learn(probe: TemplateProbe<M>, packet: IncomingPacket, reply: Uint8Array, meta: M): LearnResult {
    if (this.off) return "ignored";
    const t = probe.template;
    const data = packet.data, shape = probe.shape;
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
    // The same client values as the template's own answer prove nothing: wait for another.
    if (!t.confirmed && sameClientValues(t, data, shape)) return "ignored";
    const expected = instantiate(t, data, shape);
    if (
      expected.length !== reply.length || !same(expected, 0, reply, 0, reply.length) ||
      !this.#sameMeta(t.meta, meta)
    ) {
      this.off = true;
      this.#templates.clear();
      return "mismatch";
    }
    if (t.confirmed) return "matched";
    t.confirmed = true;
    return "confirmed";
  }
}

/** True when `data` has the same transaction id, Client ID and peer address as `t`'s request. */
function sameClientValues(t: Template<unknown>, data: Uint8Array, shape: RequestShape): boolean {
  if (!same(data, shape.inner + 1, t.request, shape.inner + 1, 3)) return false;
  if (shape.peer >= 0 && !same(data, shape.peer, t.request, shape.peer, 16)) return false;
  return shape.cidStart < 0 ||
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
  if (at.peer >= 0) out.set(data.subarray(shape.peer, shape.peer + 16), base + at.peer);
  if (at.cid >= 0) out.set(data.subarray(shape.cidStart, shape.cidEnd), base + at.cid);
  return writer ? out.subarray(base, base + n) : out;
}
