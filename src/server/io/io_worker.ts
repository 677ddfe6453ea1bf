/**
 * Entry point of an `io-backend ffi` I/O Worker: receives on the listeners' sockets (descriptors
 * opened by the main thread, see ffi_backend.ts) and answers requests itself with an engine of its
 * own, in a synchronous loop: epoll_wait(2) → recvmmsg(2) → `Engine.handleBatch` → sendmmsg(2).
 * With `workers N` there are N of these Workers on the same sockets; epoll's `EPOLLEXCLUSIVE`
 * wakes one of them per datagram (see poller.ts), so no packet is handed between threads.
 *
 * The loop blocks in epoll_wait with a timeout and yields to this Worker's event loop after every
 * timeout, at least every {@link YIELD_MS} and whenever the main thread flags a pending message,
 * so messages (reload) and timers run; it never spins. Statistics are posted to the
 * main thread every {@link STATS_INTERVAL_MS}.
 * @module
 */

/// <reference lib="deno.worker" />

import { getLogger } from "@logtape/logtape";
import type { Engine } from "../engine.ts";
import { buildWorkerEngine, describeError, reportStrayErrors } from "../worker_setup.ts";
import type { WirePacket, WireReply, WorkerInit } from "../wire.ts";
import {
  CTL_EPFD,
  CTL_PENDING,
  CTL_STOP,
  type FromIo,
  type IoListener,
  type ToIo,
} from "./ffi_backend.ts";
import { OsError, parseIPv6 } from "./libc.ts";
import { formatIPv6, Writer } from "../../protocol/mod.ts";
import { FfiUdpSocket } from "./ffi_socket.ts";
import { Poller } from "./poller.ts";

const log = getLogger(["dhcpkit", "server"]);
const packetLog = getLogger(["dhcpkit", "packets"]);

/** epoll_wait(2) timeout: the longest the loop goes without looking at its stop flag. */
const POLL_MS = 50;
/** The longest the loop goes without yielding to the event loop, even under constant load. */
const YIELD_MS = 50;
/** How often statistics go to the main thread. */
const STATS_INTERVAL_MS = 100;
/** An I/O error is not retried for this long (the error is reported each time). */
const ERROR_PAUSE_MS = 100;

let engine: Engine | undefined;
/** An engine built for a reload (and its batch delay), waiting for the commit or abort. */
let prepared: { engine: Engine; generation: number; batchDelayMs: number } | undefined;
/** `io-batch-delay` in milliseconds (the committed configuration's). */
let batchDelayMs = 0;
/** Datagrams received in the current round (one epoll wake-up). */
let roundPackets = 0;
/**
 * A round with at most this many datagrams means requests arrive one by one: waiting
 * `io-batch-delay` lets the next ones gather. Larger rounds already come in groups, and waiting
 * after them would only add a wake-up.
 */
const COALESCE_BELOW = 2;
/** Packet ids: this Worker numbers `first, first + step, ...` so ids are unique across Workers. */
let packetCounter = 0;
let packetStep = 1;

function post(message: FromIo): void {
  self.postMessage(message);
}

reportStrayErrors(post);

/** The listeners by index, once the loop runs: late replies (after a lookup) go out there. */
let listenersByIndex: Map<number, Listener> | undefined;

async function buildEngine(init: WorkerInit): Promise<Engine> {
  const built = await buildWorkerEngine(init, post);
  built.settled = (replies) => {
    if (replies.length && listenersByIndex) send(replies, listenersByIndex);
  };
  return built;
}

function flushStats(): void {
  if (!engine) return;
  try {
    const stats = engine.stats.drain();
    const latency = engine.latency.drain();
    if (stats.length || latency) post({ kind: "stats", stats, latency });
  } catch (e) {
    post({ kind: "exception", message: `collecting statistics: ${describeError(e)}` });
  }
}

async function closeEngine(old: Engine | undefined, what: string): Promise<void> {
  try {
    await old?.close();
  } catch (e) {
    post({ kind: "exception", message: `closing the ${what} engine: ${describeError(e)}` });
  }
}

/** The control block shared with the main thread (set by the init message). */
let control: Int32Array | undefined;

/** The reload most recently asked for: an engine built for an older one is dropped. */
let latestGeneration = -1;
/** Reloads whose engine is being built (the loop polls briefly meanwhile, see run). */
let building = 0;

self.onmessage = async (event: MessageEvent<ToIo>) => {
  const message = event.data;
  if (message.kind === "init") control = new Int32Array(message.control);
  // One message fewer outstanding (the main thread counted it before posting).
  if (control) Atomics.sub(control, CTL_PENDING, 1);
  switch (message.kind) {
    case "init":
      try {
        engine = await buildEngine(message.init);
      } catch (e) {
        post({ kind: "init-error", message: (e as Error)?.message ?? String(e) });
        return;
      }
      packetCounter = message.init.workerId;
      batchDelayMs = message.batchDelay * 1000;
      packetStep = Math.max(1, message.workers);
      post({ kind: "ready", assignments: engine.staticAssignments() });
      void run(message.listeners, control!);
      break;
    case "reload": {
      // Phase one: build the new engine, keep answering with the old one.
      const { generation } = message;
      latestGeneration = generation;
      building++;
      const stale = prepared;
      prepared = undefined;
      await closeEngine(stale?.engine, "superseded");
      try {
        const built = await buildEngine(message.init);
        if (generation !== latestGeneration) {
          await closeEngine(built, "superseded");
        } else {
          prepared = { engine: built, generation, batchDelayMs: message.batchDelay * 1000 };
          post({ kind: "prepared", generation, assignments: built.staticAssignments() });
        }
      } catch (e) {
        if (generation === latestGeneration) {
          post({ kind: "reload-error", message: (e as Error)?.message ?? String(e), generation });
        }
      } finally {
        building--;
      }
      break;
    }
    case "commit": {
      // Phase two: every Worker built its engine; switch.
      if (prepared?.generation !== message.generation) break;
      flushStats(); // what the old engine counted
      const old = engine;
      engine = prepared.engine;
      batchDelayMs = prepared.batchDelayMs;
      prepared = undefined;
      post({ kind: "committed", generation: message.generation });
      await closeEngine(old, "previous");
      break;
    }
    case "flush":
      flushStats();
      post({ kind: "flushed", seq: message.seq });
      break;
    case "abort": {
      if (prepared?.generation !== message.generation) break;
      const stale = prepared;
      prepared = undefined;
      await closeEngine(stale.engine, "unused");
      break;
    }
  }
};

/** A socket in the poll set. */
interface Polled {
  socket: FfiUdpSocket;
  listener: Listener;
  multicast: boolean;
}

/** A listener with its reply socket and pre-parsed reply source. */
interface Listener extends IoListener {
  reply: FfiUdpSocket;
  source: Uint8Array;
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

function isLinkScoped(b: Uint8Array): boolean {
  return (b[0] === 0xfe && (b[1] & 0xc0) === 0x80) || (b[0] === 0xff && (b[1] & 0x0f) === 2);
}

/** Receive what `p` has queued, handle it and send the replies. */
function drain(p: Polled, byIndex: Map<number, Listener>): void {
  const { socket, listener } = p;
  const n = socket.recvBatch();
  if (n === 0) return;
  roundPackets += n;
  const packets: WirePacket[] = [];
  for (let i = 0; i < n; i++) {
    packetCounter = (packetCounter + packetStep) & 0xffffff;
    const packet: WirePacket = {
      id: "#" + packetCounter.toString(16).toUpperCase().padStart(6, "0"),
      listener: listener.index,
      // A view into the receive arena, valid until the next recvBatch on this socket: the batch is
      // handled before that, and parsing copies the bytes it keeps.
      data: socket.recvData(i),
      source: formatIPv6(socket.u8, socket.recvSourceOffset(i)),
      sourcePort: socket.recvSourcePort(i),
      interfaceName: listener.interfaceName,
      linkAddress: listener.linkAddress,
      multicast: socket.recvMulticast(i, p.multicast),
      marks: listener.marks,
    };
    packetLog.trace(
      "{id}: received {size} bytes from [{source}]:{port} on {listener}",
      () => ({
        id: packet.id,
        size: packet.data.length,
        source: packet.source,
        port: packet.sourcePort,
        listener: listener.description,
      }),
    );
    packets.push(packet);
  }
  const replies: WireReply[] = [];
  try {
    engine?.handleBatch(packets, replies, replyWriter);
  } catch (e) {
    post({ kind: "exception", message: `handling a batch: ${describeError(e)}` });
  }
  if (replies.length) send(replies, byIndex);
}

/** The replies of a batch are written here and copied into the send slots (see send). */
const replyWriter = new Writer(16384);

/** Reply index of each send slot of the batch being prepared. */
const slotReply: number[] = [];

function send(replies: WireReply[], byIndex: Map<number, Listener>): void {
  let current: Listener | undefined;
  const flush = () => {
    if (!current || slotReply.length === 0) return;
    if (current.reply.sendBatch(slotReply.length) > 0) {
      for (const slot of current.reply.failed) {
        const r = replies[slotReply[slot]];
        log.warning("Cannot send to [{dest}]:{port} via {listener}: {error}", {
          dest: r.destination,
          port: r.port,
          listener: current.description,
          error: new OsError("sendmmsg", current.reply.lastSendError).message,
        });
      }
    }
    slotReply.length = 0;
  };
  for (let k = 0; k < replies.length; k++) {
    const r = replies[k];
    const listener = byIndex.get(r.listener);
    if (!listener) continue;
    if (listener !== current || slotReply.length === listener.reply.batch) {
      flush();
      current = listener;
    }
    packetLog.trace("Sending {size} bytes to [{dest}]:{port} via {listener}", () => ({
      size: r.data.length,
      dest: r.destination,
      port: r.port,
      listener: listener.description,
    }));
    let dest: Uint8Array;
    try {
      dest = destinationBytes(r.destination);
    } catch (e) {
      log.warning("Cannot send to [{dest}]:{port} via {listener}: {error}", {
        dest: r.destination,
        port: r.port,
        listener: listener.description,
        error: (e as Error).message,
      });
      continue;
    }
    const scope = isLinkScoped(dest) ? listener.ifindex : 0;
    const slot = slotReply.length;
    if (!listener.reply.setSend(slot, r.data, dest, r.port, scope, listener.source, scope)) {
      log.warning("Cannot send {size} bytes to [{dest}]:{port}: too long", {
        size: r.data.length,
        dest: r.destination,
        port: r.port,
      });
      continue;
    }
    slotReply.push(k);
  }
  flush();
}

/**
 * Let this Worker's event loop run a full turn (messages from the main thread, due timers, finished
 * asynchronous work of the handlers) and come back: about a millisecond, so it is done only when
 * idle, when a message is pending, while a reload is being built, and every {@link YIELD_MS}.
 */
const macrotask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** The I/O loop; returns (after closing its engine) when the stop flag is set. */
async function run(ioListeners: IoListener[], ctl: Int32Array): Promise<void> {
  const sockets = new Map<number, FfiUdpSocket>();
  const socketFor = (fd: number) => {
    let s = sockets.get(fd);
    if (!s) sockets.set(fd, s = new FfiUdpSocket(fd));
    return s;
  };
  const polled: Polled[] = [];
  const byIndex = new Map<number, Listener>();
  listenersByIndex = byIndex;
  let poller: Poller | undefined;
  try {
    poller = new Poller();
    Atomics.store(ctl, CTL_EPFD, poller.fd); // closed by the main thread if it must terminate us
    for (const l of ioListeners) {
      const listener: Listener = {
        ...l,
        reply: socketFor(l.replyFd),
        source: parseIPv6(l.replyFrom).bytes,
      };
      byIndex.set(l.index, listener);
      for (const r of l.receive) {
        poller.add(r.fd, polled.length);
        polled.push({ socket: socketFor(r.fd), listener, multicast: r.multicast });
      }
    }
  } catch (e) {
    post({ kind: "exception", message: `setting up the I/O loop: ${describeError(e)}` });
  }
  let lastStats = performance.now();
  let lastYield = lastStats;
  while (Atomics.load(ctl, CTL_STOP) === 0) {
    let rc = 0;
    try {
      if (!poller) throw new Error("no poller");
      rc = poller.wait(building > 0 ? 1 : POLL_MS);
      for (let k = 0; k < rc; k++) drain(polled[poller.ready[k]], byIndex);
      // io-batch-delay: requests arriving one by one are gathered before the next receive.
      if (roundPackets > 0 && roundPackets <= COALESCE_BELOW && batchDelayMs > 0) {
        Atomics.wait(ctl, CTL_STOP, 0, batchDelayMs);
      }
      roundPackets = 0;
    } catch (e) {
      post({ kind: "exception", message: `I/O loop: ${describeError(e)}` });
      await new Promise((r) => setTimeout(r, ERROR_PAUSE_MS));
    }
    const now = performance.now();
    if (now - lastStats >= STATS_INTERVAL_MS) {
      lastStats = now;
      flushStats();
    }
    if (
      rc <= 0 || building > 0 || now - lastYield >= YIELD_MS || Atomics.load(ctl, CTL_PENDING) !== 0
    ) {
      // The pending count goes down in onmessage, once a message has actually arrived.
      await macrotask();
      lastYield = performance.now();
    } else {
      await null; // let microtasks (the log forwarder) run
    }
  }
  flushStats();
  if (poller && Atomics.exchange(ctl, CTL_EPFD, 0) !== 0) poller.close();
  await closeEngine(engine, "last");
  await closeEngine(prepared?.engine, "unused");
  // The sockets belong to the main thread, which closes them once every Worker has stopped.
  // Forward the last log lines, then report.
  await macrotask();
  post({ kind: "stopped" });
  self.close();
}
