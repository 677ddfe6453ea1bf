/**
 * A RADIUS authentication client over UDP (RFC 2865, with RFC 5080's retransmission rules):
 * servers are tried in order, each `retries` more times after the first try, each try waiting
 * `timeout`; a server that leaves an exchange unanswered is passed over (tried last) for
 * `deadTime`, so later requests go to the next server at once. Requests carry a
 * Message-Authenticator (RFC 3579; the BlastRADIUS hardening), answers are only taken when their
 * Response Authenticator and, when present or required, their Message-Authenticator are right.
 * Anything else that arrives is counted and dropped: the exchange goes on waiting.
 *
 * Every try of an exchange with one server sends the same bytes (identifier and Request
 * Authenticator kept, so the server can tell a retransmission); another server gets a new
 * packet. Identifiers are allocated per socket; a socket with all 256 in use gets a sibling.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { normalizeIPv6, ParseError } from "../../protocol/mod.ts";
import {
  hidePassword,
  messageAuthenticatorPlaceholder,
  randomAuthenticator,
  signRequest,
  verifyMessageAuthenticator,
  verifyResponseAuthenticator,
} from "./crypto.ts";
import {
  Attr,
  MAX_PACKET_LENGTH,
  parseRadiusPacket,
  type RadiusAttribute,
  RadiusCode,
  type RadiusPacket,
} from "./packet.ts";

const log = getLogger(["dhcpkit", "radius"]);

/** One RADIUS server as the client uses it. */
export interface RadiusServer {
  /** IPv4 address, or IPv6 address in canonical (RFC 5952) form. */
  readonly address: string;
  /** UDP port. */
  readonly port: number;
  /** How the server is named in statistics and logs (`HOST:PORT` as configured). */
  readonly label: string;
  /** Attributes added to every request to this server (e.g. the NAS address towards it). */
  readonly attributes?: readonly RadiusAttribute[];
}

/** Why an answer was dropped. */
export type BadAnswerReason =
  | "unparsable"
  | "authenticator"
  | "message-authenticator"
  | "unusable"
  | "unexpected";

/** What the client reports, per server, for statistics. */
export interface RadiusClientEvents {
  /** An Access-Request was sent for the first time. */
  request?(server: RadiusServer): void;
  /** An Access-Request was sent again after a timeout. */
  retransmit?(server: RadiusServer): void;
  /** An answer was taken; `seconds` since the first try to this server. */
  answer?(server: RadiusServer, code: number, seconds: number): void;
  /** The server left an exchange unanswered after every try. */
  timeout?(server: RadiusServer): void;
  /** A packet from the server was dropped. */
  badAnswer?(server: RadiusServer, reason: BadAnswerReason, detail: string): void;
}

/** Settings of a {@link RadiusClient}. */
export interface RadiusClientOptions {
  /** The servers in the order they are tried. */
  readonly servers: readonly RadiusServer[];
  /** The shared secret. */
  readonly secret: Uint8Array;
  /** Seconds to wait for an answer to each try. */
  readonly timeout: number;
  /** Tries after the first, per server. */
  readonly retries: number;
  /** Seconds a server that did not answer is tried after the others. */
  readonly deadTime: number;
  /** Take only answers that carry a Message-Authenticator. */
  readonly requireMessageAuthenticator: boolean;
  /** Most exchanges in flight (further ones fail at once); default 65536. */
  readonly maxInFlight?: number;
  /** Statistics callbacks. */
  readonly events?: RadiusClientEvents;
}

/** The answer of an exchange. */
export interface RadiusResponse<T> {
  /** What `decode` made of the verified response packet. */
  readonly answer: T;
  /** The response packet. */
  readonly packet: RadiusPacket;
  /** The server that sent it. */
  readonly server: RadiusServer;
}

/**
 * Turns a verified response into what the caller needs; throws {@link ParseError} when the
 * packet cannot be used (the answer is then counted as `unusable` and dropped).
 */
export type ResponseDecoder<T> = (packet: RadiusPacket) => T;

/** No server answered within its tries, or the exchange could not start. */
export class RadiusNoAnswerError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "RadiusNoAnswerError";
  }
}

/** One try-set with one server, waiting for its answer. */
interface Pending {
  readonly id: number;
  readonly channel: Channel;
  readonly server: RadiusServer;
  readonly authenticator: Uint8Array;
  readonly bytes: Uint8Array;
  readonly started: number;
  readonly decode: ResponseDecoder<unknown>;
  triesLeft: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  readonly done: (response: RadiusResponse<unknown> | undefined) => void;
}

/** A UDP socket with its 256 identifiers. */
interface Channel {
  readonly socket: Deno.DatagramConn;
  readonly family: 4 | 6;
  readonly pending: (Pending | undefined)[];
  /**
   * Until when (performance.now()) each identifier rests after an exchange that may still get
   * an answer (it timed out, or was retransmitted): a late answer then finds no request rather
   * than a new one with the same identifier.
   */
  readonly resting: Float64Array;
  used: number;
  next: number;
}

const IDS = 256;

/** The family of an address literal. */
function familyOf(address: string): 4 | 6 {
  return address.includes(":") ? 6 : 4;
}

/** See the module documentation. */
export class RadiusClient {
  readonly #options: RadiusClientOptions;
  readonly #channels: Channel[] = [];
  readonly #deadUntil = new Map<RadiusServer, number>();
  #inFlight = 0;
  #closed = false;

  /** Create the client; sockets are opened when the first request needs them. */
  constructor(options: RadiusClientOptions) {
    if (options.servers.length === 0) throw new TypeError("a RADIUS client needs a server");
    this.#options = options;
  }

  /** Exchanges waiting for an answer now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** The servers in the order the next exchange tries them. */
  serverOrder(now = performance.now()): RadiusServer[] {
    const alive: RadiusServer[] = [];
    const dead: RadiusServer[] = [];
    for (const server of this.#options.servers) {
      const until = this.#deadUntil.get(server);
      if (until !== undefined && until > now) dead.push(server);
      else alive.push(server);
    }
    return alive.concat(dead);
  }

  /**
   * Send an Access-Request with `attributes` (plus the server's own, a Message-Authenticator and
   * User-Password hiding `password`) and wait for a verified answer that `decode` accepts.
   * Rejects with {@link RadiusNoAnswerError} when no server answers.
   */
  async exchange<T>(
    attributes: readonly RadiusAttribute[],
    password: Uint8Array,
    decode: ResponseDecoder<T>,
  ): Promise<RadiusResponse<T>> {
    if (this.#closed) throw new RadiusNoAnswerError("the RADIUS client is closed");
    const max = this.#options.maxInFlight ?? 65536;
    if (this.#inFlight >= max) {
      throw new RadiusNoAnswerError(`${max} RADIUS exchanges are already waiting`);
    }
    this.#inFlight++;
    try {
      for (const server of this.serverOrder()) {
        const response = await this.#tryServer(server, attributes, password, decode);
        if (response) return response as RadiusResponse<T>;
        if (this.#closed) break;
      }
    } finally {
      this.#inFlight--;
    }
    const servers = this.#options.servers.map((s) => s.label).join(", ");
    throw new RadiusNoAnswerError(`no answer from RADIUS server ${servers}`);
  }

  /** Close the sockets; waiting exchanges end without an answer. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const channel of this.#channels) {
      for (const p of channel.pending) {
        if (!p) continue;
        clearTimeout(p.timer);
        p.done(undefined);
      }
      channel.pending.fill(undefined);
      try {
        channel.socket.close();
      } catch {
        // Already closed.
      }
    }
    this.#channels.length = 0;
  }

  #tryServer(
    server: RadiusServer,
    attributes: readonly RadiusAttribute[],
    password: Uint8Array,
    decode: ResponseDecoder<unknown>,
  ): Promise<RadiusResponse<unknown> | undefined> {
    const { secret, timeout, retries, events } = this.#options;
    const [channel, id] = this.#allocate(familyOf(server.address));
    const authenticator = randomAuthenticator();
    const bytes = signRequest({
      code: RadiusCode.AccessRequest,
      identifier: id,
      authenticator,
      attributes: [
        messageAuthenticatorPlaceholder(),
        ...attributes,
        ...(server.attributes ?? []),
        { type: Attr.UserPassword, value: hidePassword(password, secret, authenticator) },
      ],
    }, secret);
    return new Promise((resolve) => {
      const pending: Pending = {
        id,
        channel,
        server,
        authenticator,
        bytes,
        started: performance.now(),
        decode,
        triesLeft: retries,
        timer: undefined,
        done: (response) => {
          if (channel.pending[id] === pending) {
            channel.pending[id] = undefined;
            channel.used--;
            if (!response || pending.triesLeft < retries) {
              channel.resting[id] = performance.now() + timeout * 1000;
            }
          }
          if (response) this.#deadUntil.delete(server);
          resolve(response);
        },
      };
      const onTimeout = () => {
        if (pending.triesLeft > 0) {
          pending.triesLeft--;
          events?.retransmit?.(server);
          this.#send(pending);
          pending.timer = setTimeout(onTimeout, timeout * 1000);
          return;
        }
        this.#deadUntil.set(server, performance.now() + this.#options.deadTime * 1000);
        events?.timeout?.(server);
        log.debug("RADIUS server {server} did not answer request {id}", {
          server: server.label,
          id,
        });
        pending.done(undefined);
      };
      channel.pending[id] = pending;
      events?.request?.(server);
      this.#send(pending);
      pending.timer = setTimeout(onTimeout, timeout * 1000);
    });
  }

  #send(pending: Pending): void {
    const { server } = pending;
    pending.channel.socket.send(pending.bytes, {
      transport: "udp",
      hostname: server.address,
      port: server.port,
    }).catch((error) => {
      // The try counts as unanswered; its timer goes on and the next try or server follows.
      log.debug("cannot send to RADIUS server {server}: {error}", {
        server: server.label,
        error: String(error),
      });
    });
  }

  /**
   * A socket of the family and a free identifier on it (not waiting, not resting), opening
   * another socket when every identifier of the open ones is taken.
   */
  #allocate(family: 4 | 6): [Channel, number] {
    const now = performance.now();
    for (const channel of this.#channels) {
      if (channel.family !== family || channel.used >= IDS) continue;
      for (let i = 0; i < IDS; i++) {
        const id = (channel.next + i) % IDS;
        if (channel.pending[id] || channel.resting[id] > now) continue;
        channel.next = (id + 1) % IDS;
        channel.used++;
        return [channel, id];
      }
    }
    const socket = Deno.listenDatagram({
      transport: "udp",
      hostname: family === 6 ? "::" : "0.0.0.0",
      port: 0,
    });
    const channel: Channel = {
      socket,
      family,
      pending: new Array<Pending | undefined>(IDS),
      resting: new Float64Array(IDS),
      used: 1,
      next: 1,
    };
    this.#channels.push(channel);
    this.#receive(channel);
    return [channel, 0];
  }

  async #receive(channel: Channel): Promise<void> {
    // One buffer for every datagram (without one, each receive allocates 64 KiB): #take reads
    // it before the next receive, and a parsed packet is a copy.
    const buffer = new Uint8Array(MAX_PACKET_LENGTH + 1);
    while (!this.#closed) {
      let data: Uint8Array, from: Deno.NetAddr;
      try {
        const [received, addr] = await channel.socket.receive(buffer);
        data = received;
        from = addr as Deno.NetAddr;
      } catch (error) {
        if (!this.#closed) {
          log.warning("RADIUS socket stopped receiving: {error}", { error: String(error) });
        }
        return;
      }
      this.#take(channel, data, from);
    }
  }

  /** Match a received datagram with the exchange it answers; drop it when it answers none. */
  #take(channel: Channel, data: Uint8Array, from: Deno.NetAddr): void {
    const events = this.#options.events;
    const server = this.#options.servers.find((s) =>
      s.port === from.port && sameAddress(s.address, from.hostname)
    );
    if (!server) {
      log.debug("RADIUS packet from unknown sender [{address}]:{port} dropped", {
        address: from.hostname,
        port: from.port,
      });
      return;
    }
    const bad = (reason: BadAnswerReason, detail: string) => {
      events?.badAnswer?.(server, reason, detail);
      log.debug("answer from RADIUS server {server} dropped: {detail}", {
        server: server.label,
        detail,
      });
    };
    if (data.length < 20) return bad("unparsable", `only ${data.length} bytes`);
    const pending = channel.pending[data[1]];
    if (!pending || pending.server !== server) {
      return bad("unexpected", `identifier ${data[1]} answers no waiting request`);
    }
    let packet: RadiusPacket;
    try {
      packet = parseRadiusPacket(data);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      return bad("unparsable", error.message);
    }
    const secret = this.#options.secret;
    // Only the bytes the header counts are signed (the rest is padding).
    const signed = data.subarray(0, (data[2] << 8) | data[3]);
    if (!verifyResponseAuthenticator(signed, pending.authenticator, secret)) {
      return bad("authenticator", "wrong Response Authenticator (is the secret the same?)");
    }
    const messageAuthenticator = verifyMessageAuthenticator(signed, pending.authenticator, secret);
    if (messageAuthenticator === false) {
      return bad("message-authenticator", "wrong Message-Authenticator");
    }
    if (messageAuthenticator === undefined && this.#options.requireMessageAuthenticator) {
      return bad("message-authenticator", "no Message-Authenticator, and one is required");
    }
    let answer: unknown;
    try {
      answer = pending.decode(packet);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      return bad("unusable", error.message);
    }
    clearTimeout(pending.timer);
    events?.answer?.(server, packet.code, (performance.now() - pending.started) / 1000);
    pending.done({ answer, packet, server });
  }
}

/**
 * True when a received sender address is the configured one (in canonical form); an IPv4-mapped
 * IPv6 sender matches its IPv4 address.
 */
function sameAddress(configured: string, received: string): boolean {
  if (configured === received) return true;
  if (!received.includes(":")) return false;
  try {
    return normalizeIPv6(received).replace(/^::ffff:(?=\d+\.)/, "") === configured;
  } catch {
    return false;
  }
}
