/**
 * The I/O worker of `echo_ffi.ts`: owns an {@link FfiUdpSocket} and runs a synchronous loop
 * (blocking poll -> recvmmsg -> build replies -> sendmmsg) until the shared stop flag is set.
 * The loop never returns to the worker's event loop, so control goes through a
 * SharedArrayBuffer (stop flag + counters), not postMessage.
 * @module
 */
/// <reference lib="deno.worker" />
import { FfiUdpSocket, formatIPv6, MSG_DONTWAIT, MSG_WAITFORONE, setLibcPath } from "./ffi_udp.ts";

export interface EchoInit {
  host: string;
  port: number;
  batch: number;
  /** "poll": poll(100 ms) + recvmmsg(MSG_DONTWAIT); "waitforone": recvmmsg(MSG_WAITFORONE). */
  mode: "poll" | "waitforone";
  /** "auto": IPV6_PKTINFO in every reply; "kernel": no send cmsg. */
  source: "auto" | "kernel";
  /** Multicast groups to join: "ff02::1:2%veth0". */
  join: string[];
  /** Absolute libc path (for a scoped --allow-ffi=PATH). */
  libc?: string;
  /** Source for replies to multicast requests (IPV6_PKTINFO), e.g. "fe80::aa". */
  replyFrom?: string;
  verbose: boolean;
  /** Int32Array view: [0] stop flag, [1] ready (1) / failed (-1), [2] received, [3] sent,
   * [4] recvmmsg calls, [5] stopped. */
  shared: SharedArrayBuffer;
}

function log(s: string) {
  console.error(s);
}

self.onmessage = (e: MessageEvent<EchoInit>) => {
  const init = e.data;
  const ctl = new Int32Array(init.shared);
  let sock: FfiUdpSocket;
  try {
    if (init.libc) setLibcPath(init.libc);
    sock = FfiUdpSocket.open({ batch: init.batch, rcvbuf: 4 << 20 });
    sock.bind(init.host, init.port);
    for (const g of init.join) {
      const [group, iface] = g.split("%");
      sock.joinMulticast(group, iface);
    }
    if (init.replyFrom) sock.multicastReplyFrom(init.replyFrom);
    if (init.mode === "waitforone") sock.setReceiveTimeout(100);
  } catch (err) {
    log(`worker: ${(err as Error).message}`);
    Atomics.store(ctl, 1, -1);
    Atomics.notify(ctl, 1);
    return;
  }
  log(`echo_ffi worker: bound [${init.host}]:${init.port} batch ${init.batch} mode ${init.mode}`);
  Atomics.store(ctl, 1, 1);
  Atomics.notify(ctl, 1);

  const batch = sock.batch, u8 = sock.u8, slot = sock.slotSize;
  const recvBase = sock.offRecvData, sendBase = sock.offSendData;
  const flags = init.mode === "waitforone" ? MSG_WAITFORONE : MSG_DONTWAIT;
  let full = false;
  while (Atomics.load(ctl, 0) === 0) {
    let n = 0;
    if (full) n = sock.recvBatch(MSG_DONTWAIT); // last batch was full: more is probably queued
    if (n === 0) {
      if (init.mode === "poll" && !sock.wait(100)) continue;
      n = sock.recvBatch(flags);
      if (n === 0) continue;
    }
    for (let i = 0; i < n; i++) {
      const len = sock.recvLength(i);
      // "Build" the reply: copy the payload into send slot i and flip the last byte.
      u8.copyWithin(sendBase + i * slot, recvBase + i * slot, recvBase + i * slot + len);
      u8[sendBase + i * slot + len - 1] ^= 0xff;
      sock.setReply(i, i, len, init.source);
      if (init.verbose) {
        const p = sock.recvPktinfoOffset(i);
        log(
          `recv ${len} B from [${formatIPv6(u8, sock.recvNameOffset(i) + 8)}%${
            sock.dv.getUint32(sock.recvNameOffset(i) + 24, true)
          }]:${sock.recvSourcePort(i)} to [${p >= 0 ? formatIPv6(u8, p) : "?"}] ifindex ${
            sock.recvInterface(i)
          } multicast ${sock.recvIsMulticast(i)}`,
        );
      }
    }
    sock.sendBatch(n);
    full = n === batch;
    Atomics.store(ctl, 2, sock.received);
    Atomics.store(ctl, 3, sock.sent);
    Atomics.store(ctl, 4, sock.recvCalls);
  }
  sock.close();
  Atomics.store(ctl, 5, 1);
  Atomics.notify(ctl, 5);
  log(
    `echo_ffi worker: stopped; received ${sock.received} sent ${sock.sent} errors ${sock.sendErrors} ` +
      `recvmmsg calls ${sock.recvCalls} (${
        (sock.received / Math.max(1, sock.recvCalls)).toFixed(2)
      }/call)`,
  );
  self.close();
};
