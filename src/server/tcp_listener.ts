/**
 * `<listen-tcp>`: one TCP listener, its connections, their framing and limits.
 *
 * Rules enforced here: `allow-from` at accept time, `max-connections` (extra connections are
 * closed at once), 2-byte length framing with partial reads (RFC 5460), several queries per
 * connection (answered in order), an idle timeout (no complete query for a while) and a send
 * timeout (a peer that stops reading). Everything refused or dropped is counted in
 * {@link TcpListener.counters}. What a query is answered with comes from the pipeline (its
 * replies) and a {@link StreamResponder} (the messages that follow them, such as a bulk
 * leasequery's, see tcp_stream.ts), pulled lazily by the connection's writer, which packs them
 * into chunks of at most 16 KiB or 4 ms of work, awaits each write (back-pressure: a slow
 * reader slows the query, never fills memory) and yields to the event loop between chunks
 * without sleeping ({@link SocketTurn}).
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { ListenerConfig, ListenTcpValues } from "../config/mod.ts";
import { closeMoreResponses, type HandleResult, type IncomingPacket } from "../pipeline/mod.ts";
import {
  type ClientServerMessage,
  IPv6Prefix,
  normalizeIPv6,
  serializeMessage,
} from "../protocol/mod.ts";
import type { HostInterface } from "./interfaces.ts";
import { ListenerError } from "./listener_plan.ts";
import { withRootSync } from "./privileges.ts";
import { SocketTurn } from "./event_loop_turn.ts";
import {
  extensionStreamResponder,
  type StreamMessages,
  type StreamResponder,
} from "./tcp_stream.ts";
import { packetId } from "./wire.ts";

const log = getLogger(["dhcpkit", "tcp"]);

/** How a TCP listener behaves. */
export interface TcpListenerSettings {
  /** Address to accept connections on. */
  address: string;
  /** Port (547 by default). */
  port: number;
  /** Connections open at the same time; more are closed immediately. */
  maxConnections: number;
  /** Peers allowed to connect; empty = everybody. */
  allowFrom: readonly { bytes: Uint8Array; length: number }[];
  /** Marks for requests received here. */
  marks: readonly string[];
  /** Server interface name put in the internal Interface-ID. */
  interfaceName: string;
  /**
   * Close a connection that sends no query that gets an answer for this long (ms), default
   * 120 s. Frames that are dropped (empty, malformed, not a leasequery) do not restart the clock,
   * so a peer cannot hold a connection slot by sending them.
   */
  idleTimeout?: number;
  /** Close a connection when a write does not complete in this time (ms), default 300 s. */
  sendTimeout?: number;
}

/**
 * Answers one query: at once, or once the handlers' lookups answered (bulk results come lazily in
 * `bundle.moreResponses`).
 */
export type TcpAnswer = (
  packet: IncomingPacket,
) => HandleResult | undefined | Promise<HandleResult | undefined>;

/**
 * Told how many further messages of a bulk answer (after the replies in `result`, which the
 * pipeline counted itself) were handed to the connection, for the `outgoing_packets` statistic.
 */
export type TcpSent = (result: HandleResult, count: number) => void;

/** What a TCP listener has seen. */
export interface TcpCounters {
  /** Connections accepted. */
  accepted: number;
  /** Connections closed at once: peer outside allow-from. */
  refusedNotAllowed: number;
  /** Connections closed at once: max-connections reached. */
  refusedTooMany: number;
  /** Messages received. */
  messages: number;
  /** Messages that got no answer (unparsable, not leasequery, dropped by a handler). */
  dropped: number;
  /** Messages sent. */
  sent: number;
  /** Connections closed because no complete query arrived in time. */
  idleTimeouts: number;
  /** Connections closed because the peer stopped reading. */
  sendTimeouts: number;
  /** Streamed replies cut short (server stopping, store failure): ended by the responder's message. */
  terminated: number;
  /** Bulk answer messages left out because they could not be encoded or framed. */
  unsendable: number;
}

const MAX_CHUNK = 16384;
const MAX_SLICE_MS = 4;

interface Connection {
  conn: Deno.TcpConn;
  peer: string;
  peerPort: number;
  closed: boolean;
  busy: boolean;
  done: Promise<void>;
}

/** One `<listen-tcp>` socket and its connections. */
export class TcpListener {
  /** Counters (see {@link TcpCounters}). */
  readonly counters: TcpCounters = {
    accepted: 0,
    refusedNotAllowed: 0,
    refusedTooMany: 0,
    messages: 0,
    dropped: 0,
    sent: 0,
    idleTimeouts: 0,
    sendTimeouts: 0,
    terminated: 0,
    unsendable: 0,
  };
  /** The function queries are passed to (replaceable on reload). */
  answer: TcpAnswer = () => undefined;
  /** Told about streamed bulk messages (see {@link TcpSent}). */
  sent: TcpSent = () => {};
  /** What follows the replies of a query (replaceable on reload). */
  responder: StreamResponder = extensionStreamResponder;
  readonly #listener: Deno.TcpListener;
  readonly #connections = new Set<Connection>();
  #settings!: TcpListenerSettings;
  #allow: IPv6Prefix[] = [];
  #closing = false;
  #accepting?: Promise<void>;
  #counter = 0;
  /** The yield between the chunks of streamed answers, opened with the first one. */
  #turn?: SocketTurn;

  /** Bind the socket (throws {@link ListenerError}). */
  constructor(settings: TcpListenerSettings) {
    this.settings = settings;
    try {
      // As root after privileges were dropped (a port below 1024 needs it), only for the bind.
      this.#listener = withRootSync(() =>
        Deno.listen({
          transport: "tcp",
          hostname: settings.address,
          port: settings.port,
        })
      );
    } catch (e) {
      throw new ListenerError(
        `cannot listen on TCP [${settings.address}]:${settings.port}: ${(e as Error).message}`,
      );
    }
  }

  /** The settings in use; assigning new ones applies to new connections and queries. */
  get settings(): TcpListenerSettings {
    return this.#settings;
  }

  set settings(settings: TcpListenerSettings) {
    this.#settings = settings;
    this.#allow = settings.allowFrom.map((p) => new IPv6Prefix(p.bytes, p.length));
  }

  /** Identity of the socket, for re-use across reloads. */
  get key(): string {
    return `tcp|${normalizeIPv6(this.#settings.address)}|${this.#settings.port}`;
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  /** For logs. */
  get description(): string {
    return `tcp [${this.#settings.address}]:${this.port}`;
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Start accepting connections. */
  serve(answer?: TcpAnswer, sent?: TcpSent, responder?: StreamResponder): void {
    if (answer) this.answer = answer;
    if (sent) this.sent = sent;
    if (responder) this.responder = responder;
    this.#accepting ??= this.#acceptLoop();
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closing) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (this.#closing || e instanceof Deno.errors.BadResource) return;
        log.warning("accept on {listener} failed: {error}", {
          listener: this.description,
          error: (e as Error).message,
        });
        // A short pause (a timer), so a lasting failure does not spin.
        await new Promise((resolve) => setTimeout(resolve, 0));
        continue;
      }
      const remote = conn.remoteAddr as Deno.NetAddr;
      const peer = remote.hostname.replace(/%.*$/, "");
      if (this.#allow.length > 0 && !this.#allowed(peer)) {
        this.counters.refusedNotAllowed++;
        log.info("Refusing TCP connection from {peer}: not in allow-from", { peer });
        this.#abort(conn);
        continue;
      }
      if (this.#connections.size >= this.#settings.maxConnections) {
        this.counters.refusedTooMany++;
        log.warning("Refusing TCP connection from {peer}: {max} connections already open", {
          peer,
          max: this.#settings.maxConnections,
        });
        this.#abort(conn);
        continue;
      }
      this.counters.accepted++;
      try {
        conn.setNoDelay(true);
      } catch {
        // not important
      }
      const c: Connection = {
        conn,
        peer,
        peerPort: remote.port,
        closed: false,
        busy: false,
        done: Promise.resolve(),
      };
      this.#connections.add(c);
      c.done = this.#serveConnection(c).catch((e) => {
        log.error("Error on the TCP connection from {peer}: {error}", { peer, error: e });
      }).finally(() => {
        this.#close(c);
        this.#connections.delete(c);
      });
    }
  }

  #allowed(peer: string): boolean {
    try {
      return this.#allow.some((p) => p.contains(peer));
    } catch {
      return false;
    }
  }

  #abort(conn: Deno.TcpConn): void {
    try {
      conn.close();
    } catch {
      // gone already
    }
  }

  #close(c: Connection): void {
    if (c.closed) return;
    c.closed = true;
    this.#abort(c.conn);
  }

  async #serveConnection(c: Connection): Promise<void> {
    let buffer = new Uint8Array(4096);
    let filled = 0;
    let idle: ReturnType<typeof setTimeout> | undefined;
    const timeout = this.#settings.idleTimeout ?? 120_000;
    let deadline = 0;
    // The clock runs until `deadline`; only an answered query moves it.
    const startIdle = (restart: boolean) => {
      if (restart) deadline = performance.now() + timeout;
      idle = setTimeout(() => {
        this.counters.idleTimeouts++;
        log.info("Closing idle TCP connection from {peer}", { peer: c.peer });
        this.#close(c);
      }, Math.max(0, deadline - performance.now()));
    };
    startIdle(true);
    try {
      while (!c.closed && !this.#closing) {
        // Answer every complete frame in the buffer.
        while (filled >= 2) {
          const length = (buffer[0] << 8) | buffer[1];
          if (filled < 2 + length) {
            if (buffer.length < 2 + length) {
              const bigger = new Uint8Array(2 + length);
              bigger.set(buffer.subarray(0, filled));
              buffer = bigger;
            }
            break;
          }
          const frame = buffer.slice(2, 2 + length);
          buffer.copyWithin(0, 2 + length, filled);
          filled -= 2 + length;
          clearTimeout(idle);
          c.busy = true;
          let answered = false;
          try {
            answered = await this.#query(c, frame);
          } finally {
            c.busy = false;
          }
          if (c.closed || this.#closing) return;
          startIdle(answered);
        }
        let n: number | null;
        try {
          n = await c.conn.read(buffer.subarray(filled));
        } catch {
          return;
        }
        if (n === null) return;
        filled += n;
      }
    } finally {
      clearTimeout(idle);
    }
  }

  /** Answer one frame; true when it was answered (only that counts as activity). */
  async #query(c: Connection, frame: Uint8Array): Promise<boolean> {
    this.counters.messages++;
    this.#counter = (this.#counter + 1) & 0xffffff;
    const packet: IncomingPacket = {
      data: frame,
      source: c.peer,
      sourcePort: c.peerPort,
      interfaceName: this.#settings.interfaceName,
      linkAddress: this.#settings.address,
      receivedOverMulticast: false,
      receivedOverTcp: true,
      marks: this.#settings.marks,
      id: packetId(this.#counter, "T"),
    };
    let result: HandleResult | undefined;
    try {
      result = await this.answer(packet);
    } catch (e) {
      log.error("Error handling TCP message from {peer}: {error}", {
        peer: c.peer,
        error: (e as Error).message,
      });
    }
    const more = result?.bundle?.moreResponses;
    if (!result || result.replies.length === 0) {
      this.counters.dropped++;
      closeMoreResponses(more);
      return false;
    }
    const writer = new FrameWriter(this, c);
    for (const r of result.replies) writer.add(r.data);
    let rest: StreamMessages | undefined;
    try {
      rest = result.outcome === "reply" ? this.responder.rest(result) : undefined;
    } catch (e) {
      log.error("{id}: cannot stream the answer: {error}", { id: packet.id, error: e });
    }
    if (rest) {
      if (!await this.#stream(writer, result, rest, packet.id!)) return true;
    }
    // Whatever was not streamed is released (a store cursor).
    closeMoreResponses(more);
    await writer.flush();
    return true;
  }

  /**
   * Send the lazily produced rest of an answer; false when the connection is gone. A message
   * that cannot be encoded or framed is left out (logged and counted in `unsendable`); when
   * producing the messages fails or the server stops, the stream ends with the responder's
   * terminating message (for bulk leasequery a LEASEQUERY-DONE with a failure status). Each message
   * handed to the connection is reported through {@link TcpListener.sent}.
   */
  async #stream(
    writer: FrameWriter,
    result: HandleResult,
    more: StreamMessages,
    id: string,
  ): Promise<boolean> {
    const sync = Symbol.iterator in more;
    let iterator: Iterator<ClientServerMessage> | AsyncIterator<ClientServerMessage> | undefined;
    let finished = false;
    let counted = 0;
    const report = () => {
      if (counted === 0) return;
      const n = counted;
      counted = 0;
      try {
        this.sent(result, n);
      } catch (e) {
        log.error("{id}: cannot count streamed messages: {error}", { id, error: e });
      }
    };
    const terminate = (reason: string) => {
      this.counters.terminated++;
      const done = this.responder.terminated(result, reason);
      if (done && writer.add(serializeMessage(done))) counted++;
    };
    try {
      iterator = sync
        ? (more as Iterable<ClientServerMessage>)[Symbol.iterator]()
        : (more as AsyncIterable<ClientServerMessage>)[Symbol.asyncIterator]();
      let slice = performance.now();
      while (true) {
        if (this.#closing) {
          terminate("Server is shutting down");
          break;
        }
        let step: IteratorResult<ClientServerMessage>;
        try {
          step = sync ? (iterator as Iterator<ClientServerMessage>).next() : await iterator.next();
        } catch (e) {
          log.error("{id}: the streamed answer failed: {error}", { id, error: e });
          terminate("The rest of the answer is not available");
          break;
        }
        if (step.done) {
          finished = true;
          break;
        }
        let data: Uint8Array | undefined;
        try {
          data = serializeMessage(step.value);
        } catch (e) {
          this.counters.unsendable++;
          log.error("{id}: leaving out a {type} that cannot be encoded: {error}", {
            id,
            type: step.value.name,
            error: (e as Error).message,
          });
        }
        if (data && writer.add(data)) counted++;
        if (writer.size >= MAX_CHUNK || performance.now() - slice > MAX_SLICE_MS) {
          report();
          if (!await writer.flush()) return false;
          // Other connections, UDP and timers get their turn; no sleep (event_loop_turn.ts).
          await this.#nextTurn();
          slice = performance.now();
        }
      }
    } finally {
      report();
      if (!finished) {
        try {
          await iterator?.return?.();
        } catch {
          // the store's cleanup failed; nothing more to do
        }
      }
      // Releases the store's cursor even when the iterator never started.
      closeMoreResponses(more);
    }
    return true;
  }

  /** Write with the send timeout; false (and the connection closed) when it fails. */
  async write(c: Connection, data: Uint8Array): Promise<boolean> {
    if (c.closed) return false;
    const timer = setTimeout(() => {
      this.counters.sendTimeouts++;
      log.warning("TCP peer {peer} does not read; closing the connection", { peer: c.peer });
      this.#close(c);
    }, this.#settings.sendTimeout ?? 300_000);
    try {
      let offset = 0;
      while (offset < data.length) offset += await c.conn.write(data.subarray(offset));
      return true;
    } catch {
      this.#close(c);
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stop accepting, end running streamed replies as cut short and close every connection. */
  async close(graceMs = 1000): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    try {
      this.#listener.close();
    } catch {
      // closed already
    }
    const all = [...this.#connections];
    // Idle connections are waiting in read(): close them now; busy ones end their reply first.
    for (const c of all) if (!c.busy) this.#close(c);
    const timer = setTimeout(() => all.forEach((c) => this.#close(c)), graceMs);
    await Promise.all(all.map((c) => c.done.catch(() => {})));
    clearTimeout(timer);
    await this.#accepting?.catch(() => {});
    this.#turn?.close();
  }

  /** Yield to the event loop without sleeping (see event_loop_turn.ts). */
  #nextTurn(): Promise<void> {
    if (this.#closing) return new Promise((resolve) => setTimeout(resolve, 0));
    return (this.#turn ??= new SocketTurn()).next();
  }
}

/** Packs framed messages into one buffer and writes them in chunks. */
class FrameWriter {
  #parts: Uint8Array[] = [];
  /** Bytes waiting. */
  size = 0;

  constructor(readonly listener: TcpListener, readonly c: Connection) {}

  /** Queue a message; false (logged and counted) when it is too long to frame. */
  add(message: Uint8Array): boolean {
    if (message.length > 0xffff) {
      this.listener.counters.unsendable++;
      log.error("Not sending a {n}-byte message over TCP: too long to frame", {
        n: message.length,
      });
      return false;
    }
    const framed = new Uint8Array(2 + message.length);
    framed[0] = message.length >> 8;
    framed[1] = message.length & 0xff;
    framed.set(message, 2);
    this.#parts.push(framed);
    this.size += framed.length;
    this.listener.counters.sent++;
    return true;
  }

  async flush(): Promise<boolean> {
    if (this.size === 0) return !this.c.closed;
    const out = new Uint8Array(this.size);
    let p = 0;
    for (const part of this.#parts) {
      out.set(part, p);
      p += part.length;
    }
    this.#parts = [];
    this.size = 0;
    return await this.listener.write(this.c, out);
  }
}

/** The settings of a `<listen-tcp>` section. */
export function tcpSettings(
  section: ListenerConfig,
  interfaces: readonly HostInterface[],
): TcpListenerSettings {
  const v = section.values as ListenTcpValues;
  // The section's validation fills `address` in from the section name when needed.
  const address = v.address?.text;
  if (!address) {
    throw new ListenerError(`${section.file}:${section.line}: <listen-tcp> needs an address`);
  }
  const iface = interfaces.find((i) => i.ipv6.includes(address));
  return {
    address,
    port: v.port,
    maxConnections: v.maxConnections,
    idleTimeout: v.idleTimeout * 1000,
    allowFrom: v.allowFrom,
    marks: v.marks,
    interfaceName: iface?.name ?? "lo",
  };
}
