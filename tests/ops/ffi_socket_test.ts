/**
 * The FFI socket layer's guards (issue 20, lesser findings): `setSend` and `sendBatch` refuse
 * slot numbers and addresses outside the arena's layout; the receive path checks `cmsg_len`
 * before reading the IPV6_PKTINFO (a bogus length is "no pktinfo", never a read past the control
 * buffer); and a send into a full send buffer gives up after SEND_GIVE_UP_MS instead of blocking
 * the I/O worker (which could then outlive the stop timeout and send on closed descriptors).
 */

import assert from "node:assert/strict";
import {
  closeFd,
  FfiUdpSocket,
  openUdpSocket,
  SEND_GIVE_UP_MS,
} from "../../src/server/io/ffi_socket.ts";
import { MH_CONTROLLEN, monotonicMs, realtimeMs } from "../../src/server/io/libc.ts";
import { e2eTest, randomSuffix, run } from "../e2e/netns.ts";
import { freeUdpPort } from "../helpers/server.ts";
import { ffiSocketTest, LOOPBACK, unavailable } from "./ffi/socket_helpers.ts";

ffiSocketTest(
  "ffi socket: setSend and sendBatch refuse slots and addresses outside the layout",
  () => {
    const fd = openUdpSocket({ address: "::1", port: 0 });
    try {
      const s = new FfiUdpSocket(fd, 4, 512);
      const data = new Uint8Array(10);
      for (const bad of [-1, 4, 1.5, NaN, 1e9]) {
        assert.throws(() => s.setSend(bad, data, LOOPBACK, 547, 0), RangeError, `slot ${bad}`);
      }
      assert.throws(() => s.setSend(0, data, new Uint8Array(17), 547, 0), RangeError);
      assert.throws(() => s.setSend(0, data, LOOPBACK, 547, 0, new Uint8Array(32)), RangeError);
      assert.throws(() => s.sendBatch(5), RangeError);
      assert.throws(() => s.sendBatch(-1), RangeError);
      assert.throws(() => s.recvPktinfoOffset(4), RangeError);
      assert.throws(() => s.recvData(-1), RangeError);
      // The last slot and a too-long payload behave as documented.
      assert.equal(s.setSend(3, data, LOOPBACK, 9, 0), true);
      assert.equal(s.setSend(3, new Uint8Array(513), LOOPBACK, 9, 0), false);
    } finally {
      closeFd(fd);
    }
  },
);

ffiSocketTest("ffi socket: pktinfo is read only when cmsg_len says it is all there", async () => {
  const port = freeUdpPort();
  const fd = openUdpSocket({ address: "::1", port });
  const sender = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  try {
    const s = new FfiUdpSocket(fd, 4, 512);
    await sender.send(new Uint8Array([1, 2, 3]), { transport: "udp", hostname: "::1", port });
    let n = 0;
    for (let i = 0; i < 100 && n === 0; i++) {
      n = s.recvBatch();
      if (n === 0) await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(n, 1);
    const at = s.recvPktinfoOffset(0);
    assert.ok(at > 0, "the kernel's pktinfo is found");
    assert.deepEqual(s.u8.slice(at, at + 16), LOOPBACK, "destination ::1");
    assert.equal(s.recvMulticast(0, true), false);
    // Now damage what the kernel wrote, as a bad kernel/ABI mismatch would: every bogus length
    // means "no pktinfo" (and the fallback is used), never bytes read from beyond the cmsg.
    const cmsg = at - 16;
    const dv = new DataView(s.arena);
    const original = dv.getBigUint64(cmsg, true);
    for (const len of [20n, 35n, 4096n, 1n << 40n, 0n]) {
      dv.setBigUint64(cmsg, len, true);
      assert.equal(s.recvPktinfoOffset(0), -1, `cmsg_len ${len}`);
      assert.equal(s.recvMulticast(0, true), true, "the fallback");
    }
    dv.setBigUint64(cmsg, original, true);
    const controllen = MH_CONTROLLEN; // slot 0's msghdr starts the arena
    const savedLen = dv.getBigUint64(controllen, true);
    dv.setBigUint64(controllen, 1n << 33n, true);
    assert.equal(s.recvPktinfoOffset(0), -1, "msg_controllen with a high word");
    dv.setBigUint64(controllen, 30n, true);
    assert.equal(s.recvPktinfoOffset(0), -1, "msg_controllen shorter than the pktinfo cmsg");
    dv.setBigUint64(controllen, savedLen, true);
    assert.equal(s.recvPktinfoOffset(0), at);
  } finally {
    sender.close();
    closeFd(fd);
  }
});

ffiSocketTest(
  "ffi socket: receive timestamps are the time of day the kernel took the datagram",
  async () => {
    const port = freeUdpPort();
    const fd = openUdpSocket({ address: "::1", port });
    const sender = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
    const now = realtimeMs();
    /** Receive until every payload byte in `want` came; each one's timestamp and pktinfo. */
    const receive = async (s: FfiUdpSocket, want: number[]) => {
      const seen = new Map<number, { at: number; multicast: boolean }>();
      for (let i = 0; i < 100 && want.some((w) => !seen.has(w)); i++) {
        const n = s.recvBatch();
        for (let k = 0; k < n; k++) {
          const data = s.recvData(k);
          if (data.length !== 1 || !want.includes(data[0])) continue; // not this test's
          seen.set(data[0], { at: s.recvTimestampMs(k), multicast: s.recvMulticast(k, true) });
        }
        if (n === 0) await new Promise((r) => setTimeout(r, 10));
      }
      assert.deepEqual([...seen.keys()].sort(), want, "every datagram arrived");
      return seen;
    };
    try {
      const s = new FfiUdpSocket(fd, 4, 512);
      await sender.send(new Uint8Array([1]), { transport: "udp", hostname: "::1", port });
      const plain = await receive(s, [1]);
      assert.ok(Number.isNaN(plain.get(1)!.at), "none unless asked for");
      s.enableReceiveTimestamps();
      // The kernel turns its stamping of arriving packets on a moment later (net_enable_timestamp
      // defers it to a work item); until then a datagram is stamped when it is read instead.
      await new Promise((r) => setTimeout(r, 100));
      await sender.send(new Uint8Array([9]), { transport: "udp", hostname: "::1", port });
      await receive(s, [9]);
      const before = now();
      await sender.send(new Uint8Array([2]), { transport: "udp", hostname: "::1", port });
      await new Promise((r) => setTimeout(r, 30));
      const middle = now();
      await sender.send(new Uint8Array([3]), { transport: "udp", hostname: "::1", port });
      await new Promise((r) => setTimeout(r, 20));
      const after = now();
      const stamped = await receive(s, [2, 3]);
      const first = stamped.get(2)!.at, second = stamped.get(3)!.at;
      const times =
        `[2] at ${first}, [3] at ${second}; before ${before}, middle ${middle}, after ${after}`;
      assert.ok(first >= before - 1 && first <= middle + 1, times);
      assert.ok(second >= middle - 1 && second <= after + 1, times);
      assert.ok(Math.abs(Date.now() - first) < 5_000, "a time of day, not a monotonic clock");
      // Both control messages are found, whatever their order.
      assert.equal(stamped.get(3)!.multicast, false, "the pktinfo is still read");
    } finally {
      sender.close();
      closeFd(fd);
    }
  },
);

ffiSocketTest(
  "ffi socket: batches of different sizes each read their datagrams whole",
  async () => {
    // recvBatch re-arms only the headers the previous receive filled: a batch after a smaller
    // one must still see every datagram's payload, source port and pktinfo.
    const port = freeUdpPort();
    const fd = openUdpSocket({ address: "::1", port });
    const senders = [0, 1, 2, 3].map(() =>
      Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 })
    );
    try {
      const s = new FfiUdpSocket(fd, 4, 512);
      let tag = 0;
      for (const size of [3, 1, 4, 2, 4]) {
        const sent: Array<{ tag: number; port: number }> = [];
        for (let k = 0; k < size; k++) {
          const sender = senders[k];
          await sender.send(new Uint8Array([++tag, k]), {
            transport: "udp",
            hostname: "::1",
            port,
          });
          sent.push({ tag, port: (sender.addr as Deno.NetAddr).port });
        }
        // Over loopback a datagram is queued by the time its send completes: one receive takes all.
        let n = 0;
        for (let i = 0; i < 100 && n === 0; i++) {
          n = s.recvBatch();
          if (n === 0) await new Promise((r) => setTimeout(r, 10));
        }
        assert.equal(n, size, `a batch of ${size}`);
        for (let i = 0; i < size; i++) {
          assert.deepEqual([...s.recvData(i)], [sent[i].tag, i], `payload ${i} of ${size}`);
          assert.equal(s.recvSourcePort(i), sent[i].port, `source port ${i} of ${size}`);
          const at = s.recvPktinfoOffset(i);
          assert.ok(at > 0, `pktinfo ${i} of ${size}`);
          assert.deepEqual(s.u8.slice(at, at + 16), LOOPBACK);
        }
      }
    } finally {
      for (const sender of senders) sender.close();
      closeFd(fd);
    }
  },
);

e2eTest(
  "ffi socket: a full send buffer makes sendBatch give up in bounded time, at once when stopping",
  { root: true, commands: { tc: "iproute2" } },
  async () => {
    if (unavailable) return;
    const ns = `dkb-send-${randomSuffix(4)}`;
    const inNs = (...args: string[]) => run("ip", ["-n", ns, ...args]);
    await run("ip", ["netns", "add", ns]);
    try {
      await inNs("link", "add", "dkb0", "type", "veth", "peer", "name", "dkb1");
      for (const dev of ["lo", "dkb0", "dkb1"]) await inNs("link", "set", dev, "up");
      await inNs("addr", "add", "2001:db8:dd::1/64", "dev", "dkb0", "nodad");
      await inNs(
        "neigh",
        "add",
        "2001:db8:dd::2",
        "lladdr",
        "02:00:00:00:00:02",
        "dev",
        "dkb0",
        "nud",
        "permanent",
      );
      // 8 kbit/s: 64 datagrams of 1200 bytes would take over a minute to leave.
      await run("tc", [
        "-n",
        ns,
        "qdisc",
        "add",
        "dev",
        "dkb0",
        "root",
        "tbf",
        "rate",
        "8kbit",
        "burst",
        "1600",
        "limit",
        "1000000",
      ]);
      const script = new URL("./ffi/send_blocked.ts", import.meta.url).pathname;
      const send = async (stopAfterMs: number, mode = "single") => {
        const argv = [script, String(stopAfterMs), mode];
        const out = await new Deno.Command("ip", {
          args: ["netns", "exec", ns, Deno.execPath(), "run", "-A", ...argv],
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(30_000),
        }).output();
        const text = new TextDecoder().decode(out.stdout);
        assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
        return text.trim().split("\n").map((l) => JSON.parse(l)) as {
          failed: number;
          ms: number;
          errno: number;
          segmented: number;
          refused: number;
        }[];
      };
      // Each batch returns after about SEND_GIVE_UP_MS with most datagrams given up (EAGAIN);
      // before the fix the first batch blocked for over a minute.
      for (const batch of await send(0)) {
        assert.ok(batch.failed > 40, JSON.stringify(batch));
        assert.equal(batch.errno, 11);
        assert.ok(batch.ms < SEND_GIVE_UP_MS + 1000, JSON.stringify(batch));
      }
      // With segmented sends (io-udp-gso) one send takes up to 50 of them at once: the rest of
      // each batch is given up in the same bounded time.
      const segmented = await send(0, "gso");
      for (const batch of segmented) {
        assert.ok(batch.failed > 0, JSON.stringify(batch));
        assert.equal(batch.errno, 11);
        assert.ok(batch.ms < SEND_GIVE_UP_MS + 1000, JSON.stringify(batch));
      }
      const last = segmented.at(-1)!;
      assert.ok(last.segmented > 0 && last.refused === 0, "segmented sends were used");
      // Once the owner is stopping, a full buffer is not waited for at all.
      const stopping = await send(1);
      assert.ok(stopping.slice(1).every((b) => b.ms < 200), JSON.stringify(stopping));
    } finally {
      await run("ip", ["netns", "del", ns]).catch(() => {});
    }
  },
);

ffiSocketTest("monotonicMs: reads the time performance.now() reads, and never goes back", () => {
  const clock = monotonicMs();
  // Each libc reading is bracketed by two performance.now() readings, so a pause of the
  // machine between them cannot make the comparison fail.
  const a0 = performance.now(), t0 = clock(), b0 = performance.now();
  let last = t0;
  while (performance.now() - b0 < 20) {
    const t = clock();
    assert.ok(t >= last, `${t} after ${last}`);
    last = t;
  }
  const a1 = performance.now(), t1 = clock(), b1 = performance.now();
  const elapsed = t1 - t0, slack = 0.5; // performance.now() rounds to microseconds or coarser
  assert.ok(elapsed >= a1 - b0 - slack, `libc ${elapsed} ms, at least ${a1 - b0} ms passed`);
  assert.ok(elapsed <= b1 - a0 + slack, `libc ${elapsed} ms, at most ${b1 - a0} ms passed`);
});
