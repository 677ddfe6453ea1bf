/**
 * Every `<listen-tcp>` of the running configuration and the engine answering them.
 *
 * TCP queries are handled in the main thread, by an engine of the TCP service's own (or the
 * backend's main-thread engine with `workers 0`). Everything a query does before its first reply
 * is a few indexed look-ups; a bulk answer is then pulled lazily by the connection's writer
 * (see tcp_listener.ts), so the main thread keeps serving while any number of bulk queries
 * stream. Handling TCP in a worker would need a credit protocol between threads for the same
 * back-pressure and gains nothing, since the work per message is tiny.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { ServerConfig } from "../config/mod.ts";
import type { HandleResult, IncomingPacket } from "../pipeline/mod.ts";
import { type Duid, normalizeIPv6 } from "../protocol/mod.ts";
import { Engine } from "./engine.ts";
import type { HostInterface } from "./interfaces.ts";
import { ListenerError } from "./listener_plan.ts";
import { TcpListener, tcpSettings } from "./tcp_listener.ts";
import { extensionStreamResponder } from "./tcp_stream.ts";

const log = getLogger(["dhcpkit", "tcp"]);

/** Callbacks of the TCP service. */
export interface TcpServiceEvents {
  /** Statistics deltas from the TCP engine. */
  stats(delta: Array<[string, number[]]>): void;
}

/**
 * Every `<listen-tcp>` of the running configuration plus the engine answering them. The server
 * calls {@link TcpService.listen} while it may still bind privileged ports and
 * {@link TcpService.start} once the request pipeline exists.
 */
export class TcpService {
  #listeners: TcpListener[] = [];
  /** The engine of the service's own, when there is no shared one. */
  #own?: Engine;
  /** The backend's main-thread engine, looked up per query (it changes on reload). */
  #shared?: () => Engine | undefined;

  /** Create the service (no sockets yet). */
  constructor(readonly events: TcpServiceEvents) {}

  /** The open listeners. */
  get listeners(): readonly TcpListener[] {
    return this.#listeners;
  }

  /**
   * Open the listeners of `config` (keeping already open ones with the same address and port),
   * close the ones no longer configured. Throws {@link ListenerError}; nothing changes then.
   */
  async listen(config: ServerConfig, interfaces: readonly HostInterface[]): Promise<void> {
    const sections = config.listeners.filter((s) => s.type === "listen-tcp");
    const next: TcpListener[] = [];
    const opened: TcpListener[] = [];
    try {
      for (const section of sections) {
        const settings = tcpSettings(section, interfaces);
        const key = `tcp|${normalizeIPv6(settings.address)}|${settings.port}`;
        const existing = this.#listeners.find((l) => l.key === key && !next.includes(l));
        if (existing) {
          existing.settings = settings;
          next.push(existing);
        } else {
          let listener: TcpListener;
          try {
            listener = new TcpListener(settings);
          } catch (e) {
            throw new ListenerError(`${section.file}:${section.line}: ${(e as Error).message}`);
          }
          opened.push(listener);
          next.push(listener);
        }
      }
    } catch (e) {
      await Promise.all(opened.map((l) => l.close(0)));
      throw e;
    }
    const removed = this.#listeners.filter((l) => !next.includes(l));
    this.#listeners = next;
    await Promise.all(removed.map((l) => l.close()));
  }

  /**
   * Answer TCP queries with the engine `shared` returns (the backend's main-thread engine, when it
   * handles requests itself) or, without one, with an engine of its own built from `config`. The
   * previous engine of its own is closed once it answered what waits for lookups.
   */
  async start(
    config: ServerConfig,
    serverDuid: Duid,
    shared?: () => Engine | undefined,
  ): Promise<void> {
    const previous = this.#own;
    const needed = this.#listeners.length > 0;
    this.#own = needed && !shared ? await Engine.create(config, serverDuid) : undefined;
    this.#shared = needed ? shared : undefined;
    for (const l of this.#listeners) {
      l.serve(
        (packet) => this.#answer(packet),
        (result, n) => this.#sent(result, n),
        extensionStreamResponder,
      );
    }
    if (previous) await previous.close();
    if (needed) {
      log.info("Answering bulk leasequery on {listeners}", {
        listeners: this.#listeners.map((l) => l.description).join(", "),
      });
    }
  }

  /** The engine answering now, and whether it is the service's own. */
  #engine(): Engine | undefined {
    return this.#own ?? this.#shared?.();
  }

  /** Hand over what an engine of our own counted (the shared one counts into the server's). */
  #report(engine: Engine): void {
    if (engine !== this.#own) return;
    const delta = engine.stats.drain();
    if (delta.length) this.events.stats(delta);
  }

  async #answer(packet: IncomingPacket): Promise<HandleResult | undefined> {
    const engine = this.#engine();
    if (!engine) return undefined;
    try {
      return await engine.handle(packet);
    } finally {
      this.#report(engine);
    }
  }

  /** Count streamed bulk messages in `outgoing_packets`. */
  #sent(result: HandleResult, count: number): void {
    const engine = this.#engine();
    if (!engine) return;
    engine.handler.countSent(result, engine.stats, count);
    this.#report(engine);
  }

  /** Close every listener and the service's own engine. */
  async close(): Promise<void> {
    const listeners = this.#listeners;
    this.#listeners = [];
    await Promise.all(listeners.map((l) => l.close()));
    const own = this.#own;
    this.#own = this.#shared = undefined;
    await own?.close();
  }
}
