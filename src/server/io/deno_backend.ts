/**
 * `io-backend deno`: UDP through Deno's own sockets, everywhere Deno runs. The main thread owns
 * the sockets, receives, and either answers itself (`workers 0`, with an engine of its own) or
 * hands the packets to a pool of request workers (worker.ts, run by the {@link Supervisor}),
 * batched per worker per event-loop turn; dispatch never blocks: a worker with too much
 * outstanding work gets no more and the packet is dropped and counted. Requests that arrive one
 * by one are gathered by `io-batch-delay` ({@link BatchDelay}), so they share wake-ups.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { batchDelaySeconds, type ServerConfig } from "../../config/mod.ts";
import { Engine } from "../engine.ts";
import type { ExplainTrace, IncomingPacket } from "../../pipeline/mod.ts";
import {
  ListenerError,
  type ListenerPlan,
  portInUse,
  samePlans,
  type SocketPlan,
} from "../listener_plan.ts";
import { stopTimeoutMs, Supervisor, type WorkerLimits, type WorkerThread } from "../supervisor.ts";
import { packetId, type WirePacket, type WireReply, type WorkerSettings } from "../wire.ts";
import type { BackendInit, IoBackend, IoEvents } from "./backend.ts";
import { cannotSend, logReceived, logSending } from "./packet_log.ts";
import { SocketSet } from "./socket_set.ts";

const log = getLogger(["dhcpkit", "server"]);

/** Room for the largest datagram. */
const RECEIVE_BUFFER = 65536;
/**
 * Receives each socket keeps waiting at once: datagrams that arrive together complete in the
 * same event-loop turn and are handled as one batch (one microtask), instead of one turn each.
 */
const RECEIVERS = 4;
/** Packets a pool worker may have outstanding before it gets no more. */
const MAX_IN_FLIGHT = 4096;
/** Packets of one event-loop turn that go to one pool worker before the next gets some. */
const TURN_BATCH = 16;
/**
 * A round of at most this many datagrams means requests arrive one by one: waiting
 * `io-batch-delay` lets the next ones gather (see {@link BatchDelay}).
 */
const COALESCE_BELOW = 2;

/** Packet ids of the main thread, continued across reloads. */
let packetCounter = 0;

/** One socket, its receive loop and where that loop hands what arrives. */
class DenoSocket {
  joined = false;
  #loop?: Promise<void>;
  /** The backend answering what arrives here (replaced when another one takes the socket over). */
  target?: (view: Uint8Array, addr: Deno.NetAddr) => void;
  /** Where a receive error goes. */
  failed: (message: string) => void = () => {};
  closed = false;

  constructor(readonly conn: Deno.DatagramConn, readonly plan: SocketPlan) {}

  /**
   * Start receiving (once; the loops survive a change of {@link DenoSocket.target}): {@link
   * RECEIVERS} loops, each with a buffer of its own.
   */
  receive(description: string): void {
    this.#loop ??= (async () => {
      const loops = [];
      for (let i = 0; i < RECEIVERS; i++) loops.push(this.#receiveLoop(description));
      await Promise.all(loops);
    })();
  }

  async #receiveLoop(description: string): Promise<void> {
    const buffer = new Uint8Array(RECEIVE_BUFFER);
    while (!this.closed) {
      try {
        const [view, addr] = await this.conn.receive(buffer);
        this.target?.(view, addr as Deno.NetAddr);
      } catch (e) {
        if (
          this.closed || e instanceof Deno.errors.BadResource ||
          e instanceof Deno.errors.Interrupted
        ) return;
        this.failed(`receive on ${description}: ${(e as Error).message}`);
      }
    }
  }

  close(): void {
    this.closed = true;
    this.conn.close();
  }
}

/** A listener: its plan and sockets. */
interface DenoListener {
  plan: ListenerPlan;
  sockets: DenoSocket[];
  reply: DenoSocket;
}

/** Bind the socket of `spec` (the caller runs this as root). */
function bind(spec: SocketPlan, where: string): DenoSocket {
  try {
    const conn = Deno.listenDatagram({
      transport: "udp",
      hostname: spec.address,
      port: spec.port,
      // Never shared: a port another process holds makes this fail (see listener_plan.ts).
      reuseAddress: false,
    });
    return new DenoSocket(conn, spec);
  } catch (e) {
    throw new ListenerError(
      `${where}: cannot listen on [${spec.address}]:${spec.port}: ${portInUse(e)}`,
    );
  }
}

/** The `deno` backend (see the module documentation). */
export class DenoBackend implements IoBackend {
  readonly kind = "deno";
  plans: readonly ListenerPlan[] = [];
  #listeners: DenoListener[] = [];
  readonly #sockets = new SocketSet<DenoSocket>();
  #engine?: Engine;
  #assignments: Array<[string, number]> = [];
  #pool?: RequestPool;
  #events?: IoEvents;
  #config?: ServerConfig;
  #started = false;

  /** The main thread's engine (`workers 0`). */
  get engine(): Engine | undefined {
    return this.#engine;
  }

  /** Nothing to add to the ready line. */
  get threadsNote(): string {
    return "";
  }

  open(plans: readonly ListenerPlan[], previous?: IoBackend): void {
    const from = previous instanceof DenoBackend ? previous.#sockets : undefined;
    this.plans = plans;
    try {
      for (const plan of plans) {
        const sockets = plan.sockets.map((spec) => {
          const socket = this.#sockets.adopt(spec.key, from) ?? bind(spec, plan.where);
          this.#sockets.add(spec.key, socket);
          return socket;
        });
        this.#listeners.push({ plan, sockets, reply: sockets[plan.replyIndex] });
      }
    } catch (e) {
      this.#sockets.giveBack();
      this.#sockets.closeAll((s) => s.close());
      this.#listeners = [];
      throw e;
    }
  }

  /** Join the multicast groups of the sockets that have not joined yet. */
  async #join(): Promise<void> {
    for (const { plan, sockets } of this.#listeners) {
      for (const s of sockets) {
        if (!s.plan.joinGroup || s.joined) continue;
        try {
          const membership = await s.conn.joinMulticastV6(s.plan.joinGroup, s.plan.joinInterface!);
          await membership.setLoopback(s.plan.loop ?? false);
          s.joined = true;
        } catch (e) {
          throw new ListenerError(
            `${plan.where}: cannot join ${s.plan.joinGroup} on ${plan.interfaceName}: ${
              (e as Error).message
            }`,
          );
        }
      }
    }
  }

  async start(init: BackendInit, events: IoEvents): Promise<void> {
    this.#events = events;
    this.#config = init.config;
    await this.#join();
    if (init.config.workers === 0) {
      this.#engine = await this.#mainEngine(init);
    } else {
      const pool = new RequestPool(
        init.config.workers,
        events,
        (r) => {
          this.#send(r);
          // Replies are a round too: after them, wait for the next requests to gather.
          void this.#delay.after(r.length, performance.now());
        },
        () => this.#config,
        // The workers answer during the wait; their replies go out with the next turn's.
        (packets, started) => void this.#delay.after(packets, started),
      );
      await pool.start(init);
      this.#pool = pool;
    }
    this.#started = true;
    for (const listener of this.#listeners) {
      for (const socket of listener.sockets) {
        socket.target = (view, addr) => this.#received(listener, socket, view, addr);
        socket.failed = events.failure;
        socket.receive(listener.plan.description);
      }
    }
  }

  async #mainEngine(init: BackendInit): Promise<Engine> {
    const engine = await Engine.create(
      init.config,
      init.serverDuid,
      init.stats,
      init.latency,
      init.transactions,
    );
    engine.settled = (replies) => this.#send(replies);
    this.#assignments = engine.staticAssignments();
    return engine;
  }

  canReload(plans: readonly ListenerPlan[], config: ServerConfig): boolean {
    return samePlans(this.plans, plans) && config.workers === this.#config?.workers;
  }

  async reload(init: BackendInit): Promise<void> {
    if (this.#pool) {
      await this.#pool.reload(init);
    } else {
      const old = this.#engine;
      this.#engine = await this.#mainEngine(init);
      await old?.close();
    }
    this.#config = init.config;
  }

  #received(listener: DenoListener, socket: DenoSocket, view: Uint8Array, addr: Deno.NetAddr) {
    packetCounter = (packetCounter + 1) & 0xffffff;
    const { plan } = listener;
    const packet: WirePacket = {
      id: packetId(packetCounter),
      listener: plan.index,
      // A view of the receive buffer, valid until the next receive on it: the main engine's batch
      // and the pool copy it into a batch buffer of their own.
      data: view,
      source: addr.hostname.includes("%") ? addr.hostname.replace(/%.*$/, "") : addr.hostname,
      sourcePort: addr.port,
      interfaceName: plan.interfaceName,
      linkAddress: plan.linkAddress,
      multicast: socket.plan.multicast,
      marks: plan.marks,
    };
    logReceived(packet, plan.description);
    if (this.#engine) {
      // Handled with what else arrives in this event-loop turn, once the turn's receives are in.
      this.#batch.add(packet);
      if (!this.#batchScheduled) {
        this.#batchScheduled = true;
        queueMicrotask(this.#handleBatch);
      }
    } else if (this.#pool && !this.#pool.dispatch(packet)) {
      this.#events!.queueFull(packet.id);
    }
  }

  /**
   * The packets of this event-loop turn for the main engine, their bytes in its reused buffer
   * (handling keeps no view of them, see `MessageHandler.handle`).
   */
  readonly #batch = new PacketBatch();
  #batchScheduled = false;
  readonly #handleBatch = () => {
    this.#batchScheduled = false;
    const started = performance.now();
    const packets = this.#batch.take();
    const replies: WireReply[] = [];
    const engine = this.#engine;
    engine?.handleBatch(packets, replies);
    this.#send(replies);
    // Decided once the sockets are drained; what the batch left to microtasks (a static SQLite
    // source ends its read transaction there) runs before the wait, not after it.
    void this.#delay.after(packets.length, started);
  };
  readonly #delay = new BatchDelay({
    seconds: () => this.#config ? batchDelaySeconds(this.#config.ioBatchDelay, "deno") : 0,
    received: () => packetCounter,
    allowed: () => (this.#engine?.parked ?? 0) === 0,
    // With workers, the wait ends early once a worker has replies for the main thread to send.
    sleep: (ms) => this.#pool?.wait(ms) ?? block(ms),
  });

  #send(replies: WireReply[]): void {
    for (const r of replies) {
      const listener = this.#listeners[r.listener];
      if (!listener) continue;
      const description = listener.plan.description;
      logSending(r, description);
      listener.reply.conn.send(r.data, { transport: "udp", hostname: r.destination, port: r.port })
        .catch((e) => cannotSend(r, description, (e as Error).message));
    }
  }

  /** Explain `packet` with the engine in use. */
  explain(packet: IncomingPacket, timeoutMs: number): Promise<ExplainTrace> {
    if (this.#engine) return this.#engine.explain(packet);
    const supervisor = this.#pool?.supervisor;
    if (!supervisor) return Promise.reject(new Error("the server is not answering yet"));
    return supervisor.explain(packet, timeoutMs);
  }

  async flushStats(): Promise<void> {
    await this.#pool?.supervisor.flush();
  }

  staticAssignments(): Array<[string, number]> {
    return this.#pool?.supervisor.staticAssignments ?? this.#assignments;
  }

  async stop(): Promise<void> {
    // Nothing new reaches this backend; what waits for lookups is still answered (the sockets
    // stay open until then), then the engines close.
    for (const l of this.#listeners) {
      for (const s of l.sockets) {
        if (s.target && !this.#sockets.lent(s.plan.key)) s.target = undefined;
      }
    }
    await this.#pool?.supervisor.stop(stopTimeoutMs(this.#config));
    try {
      await this.#engine?.close();
    } catch (e) {
      log.error("Closing the handlers: {error}", { error: (e as Error).message });
    }
    if (!this.#started) this.#sockets.giveBack();
    this.#sockets.closeAll((s) => s.close());
  }
}

/**
 * Microtask turns without a datagram received after which the sockets count as drained: a
 * receive that finds a datagram queued completes at once (Deno runs the operation eagerly) and
 * its loop resumes within two or three turns, so a loop that has not resumed by then waits in
 * the event loop for the next datagram.
 */
const QUIET_TURNS = 8;

/** What {@link BatchDelay} needs from the backend. */
export interface BatchDelayOptions {
  /** The configured delay in seconds (`io-batch-delay`; 0: never wait). */
  seconds(): number;
  /** A count of the datagrams received so far (any number that changes with each). */
  received(): number;
  /** Whether a wait is allowed now (not while requests wait for lookups). */
  allowed(): boolean;
  /** Wait `ms` milliseconds; returns how long it took (a blocking `Atomics.wait` by default). */
  sleep?(ms: number): number;
}

/**
 * `io-batch-delay` for the `deno` backend. Once a round of requests is handled and the sockets
 * are drained (no receive completed for {@link QUIET_TURNS} microtask turns), the thread sleeps
 * for the delay (a blocking `Atomics.wait`: sub-millisecond, where Deno's timers sleep 1-5 ms),
 * so the requests arriving meanwhile are received in one turn of the event loop, sharing its
 * wake-up, when
 * - the round had at most {@link COALESCE_BELOW} requests (they arrive one by one), or
 * - the round began at the end of the previous wait (it gathered them: keep gathering).
 *
 * A round that came in a group on its own is not followed by a wait (that would only add a
 * wake-up). Nothing waits while requests wait for lookups (their answers need the event loop),
 * and a wait that overran (a starved core) skips the next one, so the delay never holds back
 * requests that were late already.
 */
export class BatchDelay {
  #skip = false;
  #round = 0;
  #roundStart = 0;
  #sleepEnd = -Infinity;
  #deciding = false;
  readonly #sleep: (ms: number) => number;

  constructor(readonly options: BatchDelayOptions) {
    this.#sleep = options.sleep ?? block;
  }

  /**
   * A batch of `packets`, begun at `started` (`performance.now()`), was handled and its replies
   * sent: once the sockets are drained, wait (see the class documentation). Resolves when that
   * is decided (and the wait, if any, done).
   */
  async after(packets: number, started: number): Promise<void> {
    if (packets === 0) return;
    if (this.#round === 0) this.#roundStart = started;
    this.#round += packets;
    if (this.#deciding) return; // a decision is waiting for the sockets to drain
    this.#deciding = true;
    try {
      const { received } = this.options;
      let seen = received();
      for (let quiet = 0; quiet < QUIET_TURNS; quiet++) {
        await null;
        if (received() !== seen) {
          seen = received();
          quiet = -1;
        }
      }
      const ms = this.options.seconds() * 1000;
      const gathered = this.#roundStart - this.#sleepEnd <= ms;
      if (ms > 0 && (this.#round <= COALESCE_BELOW || gathered) && this.options.allowed()) {
        if (this.#skip) {
          this.#skip = false;
        } else {
          this.#skip = this.#sleep(ms) > 2 * ms;
          this.#sleepEnd = performance.now();
        }
      }
    } finally {
      this.#round = 0;
      this.#deciding = false;
    }
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Block this thread for `ms` milliseconds, or until `cell` (when given) no longer holds `seen`
 * (a notify wakes it at once); returns the time it took.
 */
function block(ms: number, cell: Int32Array = pause, seen = 0): number {
  const start = performance.now();
  Atomics.wait(cell, 0, seen, ms);
  return performance.now() - start;
}

/** Initial room of a batch's buffer (it grows for more). */
const BATCH_BUFFER = 16384;

/**
 * Packets gathered for one batch, their bytes copied (each is a view of a receive buffer that the
 * next receive overwrites) into one buffer that the next batch reuses: no allocation per batch.
 */
export class PacketBatch {
  #packets: WirePacket[] = [];
  #buffer = new Uint8Array(BATCH_BUFFER);
  #used = 0;

  /** Packets gathered. */
  get length(): number {
    return this.#packets.length;
  }

  /** Add `packet`, its `data` replaced by a copy in the batch's buffer. */
  add(packet: WirePacket): void {
    const n = packet.data.length;
    if (this.#used + n > this.#buffer.length) this.#grow(n);
    const start = this.#used;
    this.#buffer.set(packet.data, start);
    this.#used = start + n;
    packet.data = this.#buffer.subarray(start, start + n);
    this.#packets.push(packet);
  }

  /** A larger buffer holding what was gathered so far (the packets' views moved to it). */
  #grow(n: number): void {
    const bigger = new Uint8Array(Math.max(2 * this.#buffer.length, this.#used + n));
    bigger.set(this.#buffer.subarray(0, this.#used));
    this.#buffer = bigger;
    this.#repoint(bigger);
  }

  /** Point the packets' `data` at `bytes`, which holds them one after the other. */
  #repoint(bytes: Uint8Array): void {
    let offset = 0;
    for (const p of this.#packets) {
      const n = p.data.length;
      p.data = bytes.subarray(offset, offset + n);
      offset += n;
    }
  }

  /**
   * The packets gathered, and an empty batch: their bytes stay valid until the next
   * {@link PacketBatch.add}.
   */
  take(): WirePacket[] {
    const packets = this.#packets;
    this.#packets = [];
    this.#used = 0;
    return packets;
  }

  /**
   * Like {@link PacketBatch.take}, with the bytes in a buffer of their own of exactly their size
   * (posted to a worker, it is copied: cheaper than transferring a larger one, measured).
   */
  detach(): WirePacket[] {
    this.#repoint(this.#buffer.slice(0, this.#used));
    return this.take();
  }
}

/**
 * What the pool knows of one worker: packets outstanding, and those waiting to be posted (their
 * bytes gathered in one buffer, posted as one copy of exactly their size).
 */
interface WorkerLoad {
  inFlight: number;
  pending: PacketBatch;
}

/** The request workers of the `deno` backend and the dispatch of packets to them. */
class RequestPool {
  readonly supervisor: Supervisor;
  readonly #load = new Map<number, WorkerLoad>();
  #next = 0;
  #flushScheduled = false;

  constructor(
    count: number,
    events: IoEvents,
    send: (replies: WireReply[]) => void,
    limits: () => WorkerLimits | undefined,
    readonly flushed: (packets: number, started: number) => void = () => {},
  ) {
    this.supervisor = new Supervisor({
      entry: new URL("../worker.ts", import.meta.url),
      count,
      label: "worker",
      name: (id) => `Worker-${id}`,
      listeners: [],
      limits,
    }, {
      stats: (delta) => {
        if (delta.stats.length) events.stats(delta.stats);
        if (delta.latency) events.latency(delta.latency);
        if (delta.extensions?.length) events.extensions(delta.extensions);
        if (delta.transactions) events.transactions?.(delta.transactions);
      },
      failure: events.workerError,
      restarted: events.workerRestarted,
      fatal: events.fatal,
      logs: events.logs,
      done: (worker, m) => {
        const load = this.#loadOf(worker);
        load.inFlight = Math.max(0, load.inFlight - m.count);
        if (m.stats.length) events.stats(m.stats);
        if (m.latency) events.latency(m.latency);
        if (m.extensions?.length) events.extensions(m.extensions);
        if (m.transactions) events.transactions?.(m.transactions);
        if (m.replies.length) send(m.replies);
      },
      // Batches posted to a worker that died are lost; packets still queued go to the new one.
      replaced: (worker) => {
        const load = this.#loadOf(worker);
        load.inFlight = load.pending.length;
      },
    });
  }

  #loadOf(worker: WorkerThread): WorkerLoad {
    let load = this.#load.get(worker.id);
    if (!load) this.#load.set(worker.id, load = { inFlight: 0, pending: new PacketBatch() });
    return load;
  }

  start(init: BackendInit): Promise<void> {
    return this.supervisor.start(init.engine, this.#settings(init));
  }

  reload(init: BackendInit): Promise<void> {
    return this.supervisor.reload(init.engine, this.#settings(init));
  }

  #settings(init: BackendInit): WorkerSettings {
    return {
      batchDelay: batchDelaySeconds(init.config.ioBatchDelay, "deno"),
      replied: this.replied.buffer as SharedArrayBuffer,
    };
  }

  /** Bumped and notified by the workers after posting replies (see `WorkerSettings.replied`). */
  readonly replied = new Int32Array(new SharedArrayBuffer(4));
  #repliedSeen = 0;
  /** When the window of the last wait ends (a wait cut short by replies resumes it). */
  #windowEnd = 0;

  /**
   * The main thread's `io-batch-delay` wait: until a worker posts replies, at most to the end of
   * a window of `ms` milliseconds (the wait after sending those replies waits out the rest of the
   * same window, so requests wait for one gathering, not for a new one after each reply); not at
   * all when a worker posted since the last wait (its replies are waiting in the event loop).
   */
  wait(ms: number): number {
    const seen = Atomics.load(this.replied, 0);
    if (seen !== this.#repliedSeen) {
      this.#repliedSeen = seen;
      return 0;
    }
    const now = performance.now();
    if (now >= this.#windowEnd) this.#windowEnd = now + ms;
    const took = block(this.#windowEnd - now, this.replied, seen);
    this.#repliedSeen = Atomics.load(this.replied, 0);
    return took;
  }

  /** Queue a packet for a worker; false when all are saturated. */
  dispatch(packet: WirePacket): boolean {
    const workers = this.supervisor.workers;
    const n = workers.length;
    // The packets of one turn go to one worker until its batch has TURN_BATCH (one message and
    // one wake-up of one worker per turn where requests arrive one by one), then to the next;
    // the next turn starts with the next worker, so the work is shared out over the turns.
    for (let pass = 0; pass < 2; pass++) {
      for (let tries = 0; tries < n; tries++) {
        const worker = workers[this.#next % n];
        // A dead worker, or its replacement still starting, gets nothing: the others take its
        // turn.
        if (!worker.dead && worker.ready) {
          const load = this.#loadOf(worker);
          // The second pass fills batches beyond TURN_BATCH when every worker's is full.
          if (load.inFlight < MAX_IN_FLIGHT && (pass === 1 || load.pending.length < TURN_BATCH)) {
            load.inFlight++;
            load.pending.add(packet);
            if (!this.#flushScheduled) {
              this.#flushScheduled = true;
              queueMicrotask(() => this.#flush());
            }
            return true;
          }
        }
        this.#next = (this.#next + 1) % n;
      }
    }
    return false;
  }

  #flush(): void {
    this.#flushScheduled = false;
    const started = performance.now();
    let posted = 0;
    for (const worker of this.supervisor.workers) {
      const load = this.#loadOf(worker);
      if (load.pending.length === 0 || worker.dead) continue;
      const packets = load.pending.detach();
      worker.post({ kind: "batch", packets });
      posted += packets.length;
    }
    this.#next = (this.#next + 1) % Math.max(1, this.supervisor.workers.length);
    this.flushed(posted, started);
  }
}
