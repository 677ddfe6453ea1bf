/**
 * Entry point of the `io-backend ffi` I/O Worker: owns the listeners' sockets (descriptors opened
 * by the main thread, see ffi_backend.ts) and answers requests itself with an engine of its own,
 * in a synchronous loop: poll(2) → recvmmsg(2) → `Engine.handleBatch` → sendmmsg(2).
 *
 * The loop blocks in poll with a timeout and yields to this Worker's event loop after every
 * timeout, every {@link YIELD_EVERY} batches and whenever the main thread flags a pending
 * message, so messages (reload) and timers run; it never spins. Statistics are posted to the
 * main thread every {@link STATS_INTERVAL_MS}.
 * @module
 */

/// <reference lib="deno.worker" />

import { getLogger } from "@logtape/logtape";
import type { Engine } from "../engine.ts";
import { buildWorkerEngine, describeError, reportStrayErrors } from "../worker_setup.ts";
import type { WirePacket, WireReply, WorkerInit } from "../wire.ts";
import {
  CTL_FDS_CLAIMED,
  CTL_PENDING,
  CTL_STOP,
  CTL_STOPPED,
  type FromIo,
  type IoListener,
  type ToIo,
} from "./ffi_backend.ts";
import { EINTR, errno, libc, OsError, parseIPv6, POLLFD_SIZE, POLLIN } from "./libc.ts";
import { closeFd, FfiUdpSocket } from "./ffi_socket.ts";

const log = getLogger(["dhcpkit", "server"]);
const packetLog = getLogger(["dhcpkit", "packets"]);

/** poll(2) timeout: the longest the loop goes without looking at its stop flag. */
const POLL_MS = 50;
/** Batches handled before the loop yields to the event loop even under constant load. */
const YIELD_EVERY = 16;
/** How often statistics go to the main thread. */
const STATS_INTERVAL_MS = 100;
/** An I/O error is not retried for this long (the error is reported each time). */
const ERROR_PAUSE_MS = 100;

let engine: Engine | undefined;
let reloading = false;

function post(message: FromIo): void {
  self.postMessage(message);
}

reportStrayErrors(post);

function buildEngine(init: WorkerInit): Promise<Engine> {
  return buildWorkerEngine(init, post);
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

self.onmessage = async (event: MessageEvent<ToIo>) => {
  const message = event.data;
  if (message.kind === "init") {
    try {
      engine = await buildEngine(message.init);
    } catch (e) {
      post({ kind: "init-error", message: (e as Error)?.message ?? String(e) });
      return;
    }
    post({ kind: "ready" });
    void run(message.listeners, new Int32Array(message.control));
  } else if (message.kind === "reload") {
    reloading = true;
    try {
      const next = await buildEngine(message.init);
      flushStats(); // what the old engine counted
      const old = engine;
      engine = next;
      post({ kind: "reloaded" });
      await old?.handler.close();
    } catch (e) {
      post({ kind: "reload-error", message: (e as Error)?.message ?? String(e) });
    } finally {
      reloading = false;
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

/** Hex of a byte without and with a leading zero. */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16));
const HEX2 = HEX.map((h) => h.padStart(2, "0"));

/** Format the 16 bytes at `off` as an IPv6 address (RFC 5952: longest zero run compressed). */
function formatAddress(u8: Uint8Array, off: number): string {
  let bestStart = -1, bestLen = 1, runStart = -1;
  for (let i = 0; i < 8; i++) {
    if (u8[off + 2 * i] === 0 && u8[off + 2 * i + 1] === 0) {
      if (runStart < 0) runStart = i;
      if (i - runStart + 1 > bestLen) [bestStart, bestLen] = [runStart, i - runStart + 1];
    } else {
      runStart = -1;
    }
  }
  let text = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      text += "::";
      i += bestLen - 1;
      continue;
    }
    if (text !== "" && !text.endsWith(":")) text += ":";
    const hi = u8[off + 2 * i], lo = u8[off + 2 * i + 1];
    text += hi ? HEX[hi] + HEX2[lo] : HEX[lo];
  }
  return text;
}

function isLinkScoped(b: Uint8Array): boolean {
  return (b[0] === 0xfe && (b[1] & 0xc0) === 0x80) || (b[0] === 0xff && (b[1] & 0x0f) === 2);
}

let packetCounter = 0;

/** Receive what `p` has queued, handle it and send the replies. */
function drain(p: Polled, byIndex: Map<number, Listener>): void {
  const { socket, listener } = p;
  const n = socket.recvBatch();
  if (n === 0) return;
  const packets: WirePacket[] = [];
  for (let i = 0; i < n; i++) {
    packetCounter = (packetCounter + 1) & 0xffffff;
    const packet: WirePacket = {
      id: "#" + packetCounter.toString(16).toUpperCase().padStart(6, "0"),
      listener: listener.index,
      data: socket.recvData(i).slice(),
      source: formatAddress(socket.u8, socket.recvSourceOffset(i)),
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
    engine?.handleBatch(packets, replies);
  } catch (e) {
    post({ kind: "exception", message: `handling a batch: ${describeError(e)}` });
  }
  if (replies.length) send(replies, byIndex);
}

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

const macrotask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** The I/O loop; returns (after closing everything) when the stop flag is set. */
async function run(ioListeners: IoListener[], ctl: Int32Array): Promise<void> {
  const lib = libc();
  const sockets = new Map<number, FfiUdpSocket>();
  const socketFor = (fd: number) => {
    let s = sockets.get(fd);
    if (!s) sockets.set(fd, s = new FfiUdpSocket(fd));
    return s;
  };
  const polled: Polled[] = [];
  const byIndex = new Map<number, Listener>();
  for (const l of ioListeners) {
    const listener: Listener = {
      ...l,
      reply: socketFor(l.replyFd),
      source: parseIPv6(l.replyFrom).bytes,
    };
    byIndex.set(l.index, listener);
    for (const r of l.receive) {
      polled.push({ socket: socketFor(r.fd), listener, multicast: r.multicast });
    }
  }
  // The pollfd array lives in a buffer of its own that never moves (see ffi_socket.ts).
  const pollBuffer = new ArrayBuffer(Math.max(256, polled.length * POLLFD_SIZE));
  const pollfds = new Uint8Array(pollBuffer, 0, polled.length * POLLFD_SIZE);
  const pollView = new DataView(pollBuffer);
  polled.forEach((p, k) => {
    pollView.setInt32(k * POLLFD_SIZE, p.socket.fd, true);
    pollView.setInt16(k * POLLFD_SIZE + 4, POLLIN, true);
  });
  const count = BigInt(polled.length);
  let batches = 0;
  let lastStats = performance.now();
  while (Atomics.load(ctl, CTL_STOP) === 0) {
    let rc = 0;
    try {
      rc = polled.length ? lib.poll(pollfds, count, reloading ? 1 : POLL_MS) : 0;
      if (rc < 0) {
        const e = errno();
        if (e !== EINTR) throw new OsError("poll", e);
      } else if (polled.length === 0) {
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      for (let k = 0; rc > 0 && k < polled.length; k++) {
        if (pollView.getInt16(k * POLLFD_SIZE + 6, true) !== 0) drain(polled[k], byIndex);
      }
    } catch (e) {
      post({ kind: "exception", message: `I/O loop: ${describeError(e)}` });
      await new Promise((r) => setTimeout(r, ERROR_PAUSE_MS));
    }
    const now = performance.now();
    if (now - lastStats >= STATS_INTERVAL_MS) {
      lastStats = now;
      flushStats();
    }
    if (rc <= 0 || ++batches >= YIELD_EVERY || Atomics.load(ctl, CTL_PENDING) !== 0) {
      batches = 0;
      Atomics.store(ctl, CTL_PENDING, 0);
      await macrotask();
    } else {
      await null; // let microtasks (the log forwarder) run
    }
  }
  flushStats();
  try {
    await engine?.handler.close();
  } catch (e) {
    post({ kind: "exception", message: `closing the engine: ${describeError(e)}` });
  }
  if (Atomics.compareExchange(ctl, CTL_FDS_CLAIMED, 0, 1) === 0) {
    for (const fd of sockets.keys()) closeFd(fd);
  }
  Atomics.store(ctl, CTL_STOPPED, 1);
  // Forward the last log lines, then report.
  await macrotask();
  post({ kind: "stopped" });
  self.close();
}
