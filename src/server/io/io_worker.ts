/**
 * Entry point of an `io-backend ffi` I/O worker: receives on the listeners' sockets (descriptors
 * opened by the main thread, see ffi_backend.ts) and answers requests itself with an engine of its
 * own, in a synchronous loop: epoll_wait(2) → recvmmsg(2) → `Engine.handleBatch` → sendmmsg(2).
 * With `workers N` there are N of these workers on the same sockets; epoll's `EPOLLEXCLUSIVE`
 * wakes one of them per datagram (see poller.ts), so no packet is handed between threads. The
 * engine, reloads and statistics are worker_setup.ts's.
 *
 * The loop blocks in epoll_wait with a timeout and yields to this worker's event loop after every
 * timeout, at least every {@link YIELD_MS} and whenever the main thread flags a pending message,
 * so messages (reload) and timers run; it never spins. While requests wait for lookups, it waits
 * with {@link Poller.waitAsync} instead: the event loop runs during the wait, so finished lookups
 * are answered at once (from this thread, through the same sockets). Statistics are posted to the
 * main thread every {@link STATS_INTERVAL_MS}.
 * @module
 */

/// <reference lib="deno.worker" />

import { isLinkScoped, Writer } from "../../protocol/mod.ts";
import { describeError, type InitMessage, runWorker, type WorkerRuntime } from "../worker_setup.ts";
import {
  type BatchDelayReport,
  CTL_EPFD,
  CTL_PENDING,
  CTL_STOP,
  type IoListener,
  packetId,
  type WirePacket,
  type WireReply,
} from "../wire.ts";
import { monotonicMs, OsError, parseIPv6, realtimeMs } from "./libc.ts";
import { setRequestClock } from "../engine.ts";
import { FfiUdpSocket } from "./ffi_socket.ts";
import {
  batchDelayChanged,
  cannotSend,
  logReceived,
  logSending,
  packetTracing,
  receiveTimestampsRefused,
  segmentationRefused,
} from "./packet_log.ts";
import { DelayGuard, FLOOR_SHARE, waitAdded } from "./delay_guard.ts";
import { Poller } from "./poller.ts";
import { GatherRule } from "./gather_rule.ts";
import { SourceText } from "./source_text.ts";
import { SharedDeadlines } from "../../pipeline/mod.ts";
import { SocketTurn } from "../event_loop_turn.ts";

/** epoll_wait(2) timeout: the longest the loop goes without looking at its stop flag. */
const POLL_MS = 50;
/** The longest the loop goes without yielding to the event loop, even under constant load. */
const YIELD_MS = 50;
/**
 * How often statistics go to the main thread unasked. Every reader (`stats`, `stats-json`,
 * `/metrics`, the looking glass) asks for them first, so this only bounds what a crashed worker
 * takes with it. Each post wakes the main thread: at 100 ms that cost about 1 us per exchange at
 * 5,000/s (bench/load/PROFILE.md, round thirteen).
 */
const STATS_INTERVAL_MS = 1000;
/** `io-batch-delay auto` logs a change of its wait at most this often, in ms. */
const DELAY_LOG_MS = 60_000;
/** An I/O error is not retried for this long (the error is reported each time). */
const ERROR_PAUSE_MS = 100;
/** A listener with its reply socket and pre-parsed reply source. */
interface Listener extends IoListener {
  reply: FfiUdpSocket;
  source: Uint8Array;
}

/** A socket in the poll set. */
interface Polled {
  socket: FfiUdpSocket;
  listener: Listener;
  multicast: boolean;
}

/** Destination addresses already parsed (relays and clients come back). */
const destinations = new Map<string, Uint8Array>();

function destinationBytes(text: string): Uint8Array {
  let bytes = destinations.get(text);
  if (!bytes) {
    bytes = parseIPv6(text).bytes;
    if (destinations.size >= 4096) destinations.clear();
    destinations.set(text, bytes);
  }
  return bytes;
}

/** The sockets of this worker's listeners and the batched receive → answer → send steps. */
class IoLoop {
  readonly polled: Polled[] = [];
  readonly byIndex = new Map<number, Listener>();
  /** The replies of a batch are written here and copied into the send slots (see send). */
  readonly replyWriter = new Writer(16384);
  /** Reply index of each send slot of the batch being prepared. */
  readonly #slotReply: number[] = [];
  /** Text of the source addresses (most requests come from a few relays). */
  readonly #sources = new SourceText();
  /** Datagrams received in the current round (one epoll wake-up). */
  roundPackets = 0;
  /** `io-batch-delay auto`: chooses the wait from the reply delays measured (see delayMs). */
  guard?: DelayGuard;
  /** The kernel refused receive timestamps: `auto` waits the guard's floor, fixed. */
  #noTimestamps = false;
  #realtime?: () => number;
  /** The wait before this round (realtime ms; NaN: none) and the delay it asked for. */
  #waitStart = Number.NaN;
  #waitEnd = Number.NaN;
  #waitAsked = 0;
  /** The wait {@link delayMs} last chose, in ms (NaN: none yet). */
  #delayInForce = Number.NaN;
  /** What {@link batchDelayReport} last said: the wait, the chaining, and the guard's counts. */
  #reported = {
    ms: Number.NaN,
    chained: false,
    guard: undefined as DelayGuard | undefined,
    raised: 0,
    lowered: 0,
  };
  /** When a change of the guard's wait was last logged ({@link clock}), and changes since. */
  #delayLogged = -Infinity;
  #delayUnlogged = 0;
  /** Packet ids: this worker numbers `first, first + step, ...` so ids are unique across them. */
  #counter: number;
  readonly #step: number;

  /**
   * `runtime` holds the engine and the settings in force; `clock` is the loop's monotonic clock
   * in ms; `stopping` tells whether the worker's stop flag is set (sends then wait for no room).
   */
  constructor(
    init: InitMessage,
    readonly poller: Poller,
    readonly runtime: WorkerRuntime,
    readonly clock: () => number,
    stopping: () => boolean = () => false,
  ) {
    this.#counter = init.workerId;
    this.#step = Math.max(1, init.workers);
    const sockets = new Map<number, FfiUdpSocket>();
    const socketFor = (fd: number) => {
      let s = sockets.get(fd);
      if (!s) {
        sockets.set(fd, s = new FfiUdpSocket(fd));
        // A full send buffer is not waited for once the worker is told to stop.
        s.stopping = stopping;
      }
      return s;
    };
    for (const l of init.listeners) {
      const listener: Listener = {
        ...l,
        reply: socketFor(l.replyFd),
        source: parseIPv6(l.replyFrom).bytes,
      };
      this.byIndex.set(l.index, listener);
      for (const r of l.receive) {
        poller.add(r.fd, this.polled.length);
        this.polled.push({ socket: socketFor(r.fd), listener, multicast: r.multicast });
      }
    }
  }

  /** Receive what `p` has queued, handle it and send the replies. */
  drain(p: Polled): void {
    const runtime = this.runtime;
    const { socket, listener } = p;
    const n = socket.recvBatch();
    if (n === 0) return;
    this.roundPackets += n;
    const tracing = packetTracing();
    const packets: WirePacket[] = [];
    for (let i = 0; i < n; i++) {
      this.#counter = (this.#counter + this.#step) & 0xffffff;
      const packet: WirePacket = {
        id: packetId(this.#counter),
        listener: listener.index,
        // A view into the receive arena, valid until the next recvBatch on this socket: the batch
        // is handled before that, and parsing copies the bytes it keeps.
        data: socket.recvData(i),
        source: this.#sources.of(socket.u8, socket.recvSourceOffset(i)),
        sourcePort: socket.recvSourcePort(i),
        interfaceName: listener.interfaceName,
        linkAddress: listener.linkAddress,
        multicast: socket.recvMulticast(i, p.multicast),
        marks: listener.marks,
      };
      if (tracing) logReceived(packet, listener.description);
      packets.push(packet);
    }
    const replies: WireReply[] = [];
    const guard = this.guard;
    const parked = guard ? runtime.parked : 0;
    try {
      runtime.engine?.handleBatch(packets, replies, this.replyWriter);
    } catch (e) {
      runtime.post({ kind: "exception", message: `handling a batch: ${describeError(e)}` });
    }
    if (replies.length) this.send(replies);
    // A batch with requests parked on lookups is left out: their replies leave later.
    if (guard && runtime.parked === parked) this.#observe(socket, n, guard);
  }

  /**
   * Tell the guard how long each of the `n` datagrams just answered took from the kernel's
   * receive to now, and how much of that the wait before this round added.
   */
  #observe(socket: FfiUdpSocket, n: number, guard: DelayGuard): void {
    const now = this.#realtime!();
    const mono = this.clock();
    const start = this.#waitStart, end = this.#waitEnd, asked = this.#waitAsked;
    const before = guard.delayMs, chained = guard.chain;
    let last = Number.NaN;
    for (let i = 0; i < n; i++) {
      const at = last = socket.recvTimestampMs(i);
      if (at !== at) continue; // no timestamp
      guard.observe(now - at, waitAdded(at, start, end, asked), mono);
    }
    // Requests a wait gathered: did they still come in its second half (a stream), or only near
    // its start (a burst, which a longer wait would not add to)?
    if (end === end && last === last) guard.waitFilled(last >= start + asked / 2);
    if (guard.delayMs !== before || guard.chain !== chained) {
      // At most one line a minute: a host with frequent hiccups changes the wait often.
      if (mono - this.#delayLogged >= DELAY_LOG_MS) {
        batchDelayChanged(before, guard.delayMs, this.#delayUnlogged, guard.chain, chained);
        this.#delayLogged = mono;
        this.#delayUnlogged = 0;
      } else this.#delayUnlogged++;
    }
  }

  /**
   * The `io-batch-delay` to wait now, in ms: the configured one, or with `auto` the guard's
   * (started on first use: it turns on receive timestamps on the sockets).
   */
  delayMs(): number {
    return this.#delayInForce = this.#chooseDelay();
  }

  #chooseDelay(): number {
    const settings = this.runtime.settings;
    const max = settings.batchDelay * 1000;
    if (!settings.batchDelayAuto) {
      this.guard = undefined;
      return max;
    }
    if (this.#noTimestamps) return max * FLOOR_SHARE;
    if (!this.guard) {
      try {
        for (const p of this.polled) p.socket.enableReceiveTimestamps();
      } catch (e) {
        this.#noTimestamps = true;
        receiveTimestampsRefused((e as Error).message, max * FLOOR_SHARE);
        return max * FLOOR_SHARE;
      }
      this.#realtime ??= realtimeMs();
      this.guard = new DelayGuard(max, max * FLOOR_SHARE);
    }
    this.guard.maxMs = max;
    return this.guard.delayMs;
  }

  /**
   * This worker's `io-batch-delay` for the main thread's statistics, when it changed since the
   * last report (the first report: once the loop chose a wait).
   */
  batchDelayReport(worker: number): BatchDelayReport | undefined {
    const ms = this.#delayInForce;
    if (ms !== ms) return undefined;
    const guard = this.guard, last = this.#reported;
    if (guard !== last.guard) {
      // A fresh guard (auto again after a reload) counts from zero.
      last.guard = guard;
      last.raised = last.lowered = 0;
    }
    const chained = guard?.chain ?? false;
    const raised = (guard?.raised ?? 0) - last.raised;
    const lowered = (guard?.lowered ?? 0) - last.lowered;
    if (ms === last.ms && chained === last.chained && raised === 0 && lowered === 0) {
      return undefined;
    }
    last.ms = ms;
    last.chained = chained;
    last.raised += raised;
    last.lowered += lowered;
    return { worker, seconds: ms / 1000, chained, raised, lowered };
  }

  /** Wait `ms` (io-batch-delay) for requests to gather, noting when for the guard. */
  gatherWait(ctl: Int32Array, ms: number): void {
    const clock = this.guard ? this.#realtime : undefined;
    if (clock) this.#waitStart = clock();
    Atomics.wait(ctl, CTL_STOP, 0, ms);
    if (clock) {
      this.#waitEnd = clock();
      this.#waitAsked = ms;
    }
  }

  /** End a round: how many datagrams it received (the count and the wait start over). */
  endRound(): number {
    const n = this.roundPackets;
    this.roundPackets = 0;
    this.#waitEnd = Number.NaN;
    return n;
  }

  /** Send `replies` in batches per listener. */
  send(replies: WireReply[]): void {
    const slotReply = this.#slotReply;
    const tracing = packetTracing();
    let current: Listener | undefined;
    const flush = () => {
      if (!current || slotReply.length === 0) return;
      const socket = current.reply;
      const refusedBefore = socket.segmentationRefused;
      const segment = this.runtime.settings.udpGso !== false; // `io-udp-gso`
      if (socket.sendBatch(slotReply.length, segment) > 0) {
        for (const slot of socket.failed) {
          const r = replies[slotReply[slot]];
          const error = new OsError("sendmmsg", socket.lastSendError).message;
          cannotSend(r, current.description, error);
        }
      }
      // A socket's segmented sends are refused at most once: it never tries again.
      if (refusedBefore === 0 && socket.segmentationRefused !== 0) {
        const error = new OsError("sendmmsg", socket.segmentationRefused).message;
        segmentationRefused(current.description, error);
      }
      slotReply.length = 0;
    };
    for (let k = 0; k < replies.length; k++) {
      const r = replies[k];
      const listener = this.byIndex.get(r.listener);
      if (!listener) continue;
      if (listener !== current || slotReply.length === listener.reply.batch) {
        flush();
        current = listener;
      }
      if (tracing) logSending(r, listener.description);
      let dest: Uint8Array;
      try {
        dest = destinationBytes(r.destination);
      } catch (e) {
        cannotSend(r, listener.description, (e as Error).message);
        continue;
      }
      const scope = isLinkScoped(dest) ? listener.ifindex : 0;
      const slot = slotReply.length;
      if (!listener.reply.setSend(slot, r.data, dest, r.port, scope, listener.source, scope)) {
        cannotSend(r, listener.description, "too long");
        continue;
      }
      slotReply.push(k);
    }
    flush();
  }
}

/** Microtask turns given to parked requests before the loop waits for them. */
const SETTLE_TURNS = 32;

/**
 * How long the loop waits for parked requests in the event loop alone (see {@link waitForSettled})
 * before it also watches the sockets again, in ms.
 */
const PARKED_WAIT_MS = 2;

/**
 * Let this worker's event loop run a full turn (due timers, finished asynchronous work of the
 * handlers) and come back. Done only when idle, while a reload is being built, and every
 * {@link YIELD_MS}; a pending message takes {@link messageTurns} instead. The turn is an
 * `epoll_wait` with no timeout run on another thread: it comes back as soon as the event loop has
 * run, where a `setTimeout(0)` sleeps 1–5 ms on Deno (its timers have millisecond resolution) with
 * nothing received meanwhile, which was the 99th percentile of the reply delay under load. What
 * the call finds readable is ignored: epoll is level-triggered, so the next wait reports it again.
 */
async function eventLoopTurn(poller: Poller | undefined): Promise<void> {
  if (poller) await poller.waitAsync(0);
  else await new Promise<void>((resolve) => setTimeout(resolve, 0));
}

/** The most socket turns {@link messageTurns} takes for one pending message. */
const MESSAGE_TURNS = 8;

/**
 * Turns of the event loop that deliver a message the main thread posted (until the pending count
 * drops, at most {@link MESSAGE_TURNS}). {@link eventLoopTurn} does not: Deno delivers a worker's
 * messages only after dozens of turns that end with a thread hand-off (measured, Deno 2.9: an idle
 * worker answered a flush after 0.5–1 s, ten or twenty of its polls), where a turn that waits
 * for a socket of the event loop's own delivers it in the first (see `SocketTurn`).
 */
async function messageTurns(ctl: Int32Array, turns: SocketTurn): Promise<void> {
  for (let k = 0; k < MESSAGE_TURNS && Atomics.load(ctl, CTL_PENDING) !== 0; k++) {
    await turns.next();
  }
}

let io: IoLoop | undefined;

/** Replies of parked requests waiting to be sent together (see `settled`). */
let settledReplies: WireReply[] = [];

/** Resolves the pending {@link waitForSettled} (true: a parked request settled). */
let wake: ((settled: boolean) => void) | undefined;

function sendSettled(): void {
  const replies = settledReplies;
  settledReplies = [];
  io?.send(replies);
}

/** The fallback deadlines of {@link waitForSettled}: waits of the same millisecond share a timer. */
const parkedDeadlines = new SharedDeadlines(1);

/**
 * Wait in this worker's event loop until a parked request settles (true) or about `ms` pass
 * (false). No other thread is involved: the event loop blocks in its own poll until the lookup's
 * socket (a database connection) has the answer, where {@link Poller.waitAsync} hands every wait
 * to a thread of the runtime's pool and back, a few context switches per request. The sockets
 * are not watched meanwhile; datagrams that arrive wait in the kernel until the lookups answer
 * (a database's round trip), then share one receive, and after `ms` the loop watches them again.
 */
async function waitForSettled(ms: number): Promise<boolean> {
  const deadline = parkedDeadlines.acquire(ms);
  try {
    const settled = new Promise<boolean>((resolve) => wake = resolve);
    return await Promise.race([settled, deadline.expired]) === true;
  } finally {
    wake = undefined;
    parkedDeadlines.release(deadline);
  }
}

/** The I/O loop; returns (after answering what waits for lookups) when the stop flag is set. */
async function run(runtime: WorkerRuntime, init: InitMessage): Promise<void> {
  const ctl = runtime.control;
  // One libc clock for the loop, its delay guard and the engine's request timing: cheaper than
  // performance.now().
  const clock = monotonicMs();
  setRequestClock(clock);
  let poller: Poller | undefined;
  try {
    poller = new Poller();
    Atomics.store(ctl, CTL_EPFD, poller.fd); // closed by the main thread if it must terminate us
    io = new IoLoop(init, poller, runtime, clock, () => Atomics.load(ctl, CTL_STOP) !== 0);
    const loop = io;
    runtime.batchDelayReport = () => loop.batchDelayReport(init.workerId);
  } catch (e) {
    runtime.post({ kind: "exception", message: `setting up the I/O loop: ${describeError(e)}` });
  }
  let lastStats = clock();
  let lastYield = lastStats;
  /** io-batch-delay: whether to wait before the next receive. */
  const gather = new GatherRule();
  const turns = new SocketTurn();
  while (Atomics.load(ctl, CTL_STOP) === 0) {
    let rc = 0;
    // Requests parked on work that settles in microtasks (a lease store committing the batch
    // it just wrote) are answered now, so the next wait can be the cheap blocking one.
    for (let k = 0; k < SETTLE_TURNS && runtime.parked > 0; k++) await null;
    const waiting = runtime.parked > 0;
    try {
      if (!poller || !io) throw new Error("no poller");
      if (waiting) {
        // Requests wait for lookups: take what has arrived meanwhile without blocking, then
        // wait for the lookups in the event loop; only when they take long, watch the sockets
        // from another thread while the event loop runs.
        rc = poller.wait(0);
        for (let k = 0; k < rc; k++) io.drain(io.polled[poller.ready[k]]);
        rc = 0;
        if (!(await waitForSettled(PARKED_WAIT_MS)) && runtime.parked > 0) {
          rc = await poller.waitAsync(POLL_MS);
        }
      } else {
        const delayMs = io.delayMs();
        if (gather.shouldWait(delayMs, io.guard?.chain)) {
          // io-batch-delay: requests arriving one by one are gathered before the next receive
          // (for requests that waited for lookups, after they were answered). What the batch
          // left to microtasks (a static SQLite source ends its read transaction there) is
          // done before the wait, not after it.
          await null;
          io.gatherWait(ctl, delayMs);
        }
        rc = poller.wait(runtime.building > 0 ? 1 : POLL_MS);
      }
      for (let k = 0; k < rc; k++) io.drain(io.polled[poller.ready[k]]);
      gather.received(io.endRound());
    } catch (e) {
      runtime.post({ kind: "exception", message: `I/O loop: ${describeError(e)}` });
      await new Promise((r) => setTimeout(r, ERROR_PAUSE_MS));
    }
    const now = clock();
    if (now - lastStats >= STATS_INTERVAL_MS) {
      lastStats = now;
      runtime.flushStats();
    }
    if (waiting) {
      lastYield = now; // the event loop ran during the wait
      continue;
    }
    if (Atomics.load(ctl, CTL_PENDING) !== 0) {
      // The pending count goes down when a message has actually arrived.
      await messageTurns(ctl, turns);
      lastYield = clock();
    } else if (rc <= 0 || runtime.building > 0 || now - lastYield >= YIELD_MS) {
      await eventLoopTurn(poller);
      lastYield = clock();
    } else {
      await null; // let microtasks (the log forwarder) run
    }
  }
  turns.close();
  if (poller && Atomics.exchange(ctl, CTL_EPFD, 0) !== 0) poller.close();
  // The sockets belong to the main thread, which closes them once every worker has stopped; late
  // replies still go out through them meanwhile.
  await runtime.finish();
}

runWorker({
  started(runtime, init) {
    void run(runtime, init);
  },
  settled(_runtime, _engine, replies) {
    wake?.(true);
    if (replies.length === 0) return;
    // The replies of the requests that waited for the same batch commit settle in the same run
    // of microtasks: they leave together, in one sendmmsg per listener.
    if (settledReplies.length === 0) queueMicrotask(sendSettled);
    for (const r of replies) settledReplies.push(r);
  },
  stop() {
    // The loop notices the stop flag (set with this message) within one poll.
  },
});
