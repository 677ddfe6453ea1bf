/**
 * Segmented sends (`io-udp-gso`): replies that share a destination, a source and a length leave
 * as one UDP_SEGMENT send, and the receiver still gets every datagram whole and on its own; the
 * rest go as before; a send the kernel refuses as segmented is sent again datagram by datagram.
 * Real sockets on loopback, checked by what a plain receiving socket gets.
 */

import assert from "node:assert/strict";
import {
  closeFd,
  FfiUdpSocket,
  MAX_SEGMENT,
  openUdpSocket,
} from "../../src/server/io/ffi_socket.ts";
import { IPPROTO_IPV6, libc, SEGMENT_REFUSALS } from "../../src/server/io/libc.ts";
import {
  freeUdpPort,
  INFORMATION_CONFIG,
  loopbackListenerConfig,
  serverIdConfig,
} from "../helpers/server.ts";
import { e2eTest, startCapture, withTopology } from "../e2e/netns.ts";
import { ffiSocketTest, LOOPBACK } from "./ffi/socket_helpers.ts";

/** setsockopt(IPPROTO_IPV6, IPV6_MTU): the largest packet this socket sends unfragmented. */
const IPV6_MTU = 24;

/** A payload of `length` bytes that says which datagram it is (`tag`) in every byte. */
function payload(tag: number, length: number): Uint8Array {
  return new Uint8Array(length).fill(tag);
}

/** Receive datagrams on `conn` until `count` came or 2 s passed; each as [tag, length]. */
async function receive(conn: Deno.DatagramConn, count: number): Promise<Array<[number, number]>> {
  const got: Array<[number, number]> = [];
  const deadline = setTimeout(() => conn.close(), 2000);
  try {
    while (got.length < count) {
      const [data] = await conn.receive();
      assert.ok(data.every((b) => b === data[0]), `datagram ${data[0]} arrived whole`);
      got.push([data[0], data.length]);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.BadResource)) throw e;
  } finally {
    clearTimeout(deadline);
  }
  return got.sort((a, b) => a[0] - b[0]);
}

/**
 * Run `fn` with a plain receiving socket on `[::1]:port` and the descriptor of a socket on `::1`
 * for an {@link FfiUdpSocket}; both are closed afterwards.
 */
async function withReceiver(
  fn: (fd: number, receiver: Deno.DatagramConn, port: number) => Promise<void>,
): Promise<void> {
  const port = freeUdpPort();
  const receiver = Deno.listenDatagram({ transport: "udp", hostname: "::1", port });
  const fd = openUdpSocket({ address: "::1", port: 0 });
  try {
    await fn(fd, receiver, port);
  } finally {
    closeFd(fd);
    closeQuietly(receiver);
  }
}

/** Close `conn` unless {@link receive}'s deadline already did. */
function closeQuietly(conn: Deno.DatagramConn): void {
  try {
    conn.close();
  } catch { /* closed already */ }
}

ffiSocketTest(
  "ffi socket: replies to one destination with one length leave as one segmented send",
  () =>
    withReceiver(async (fd, a, portA) => {
      const portB = freeUdpPort();
      const b = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: portB });
      try {
        const s = new FfiUdpSocket(fd, 16, 2048);
        assert.equal(s.canSegment, true, "Linux 4.18 or later sends segments as datagrams");
        // [tag, length, port, with a source (pktinfo)]
        const plan: Array<[number, number, number, boolean]> = [
          [1, 100, portA, true],
          [2, 100, portA, true],
          [3, 60, portA, true], // another length: a group of its own
          [4, 100, portB, true], // another port
          [5, 100, portA, true],
          [6, 60, portA, true],
          [7, 100, portA, false], // no pktinfo: another source
          [8, MAX_SEGMENT + 1, portA, true], // too long to be a segment
          [9, MAX_SEGMENT + 1, portA, true],
          [10, 100, portA, true],
        ];
        plan.forEach(([tag, length, port, sourced], slot) => {
          const ok = sourced
            ? s.setSend(slot, payload(tag, length), LOOPBACK, port, 0, LOOPBACK, 0)
            : s.setSend(slot, payload(tag, length), LOOPBACK, port, 0);
          assert.ok(ok);
        });
        assert.equal(s.sendBatch(plan.length), 0, "nothing failed");
        assert.equal(s.sent, 10);
        // Groups: 1,2,5,10 (100 to A with a source) and 3,6 (60 to A): six segments.
        assert.equal(s.segmented, 6);
        const gotA = await receive(a, 9);
        const gotB = await receive(b, 1);
        assert.deepEqual(gotA, [
          [1, 100],
          [2, 100],
          [3, 60],
          [5, 100],
          [6, 60],
          [7, 100],
          [8, MAX_SEGMENT + 1],
          [9, MAX_SEGMENT + 1],
          [10, 100],
        ]);
        assert.deepEqual(gotB, [[4, 100]]);

        // Off: the same batch leaves datagram by datagram, and arrives the same.
        assert.equal(s.sendBatch(plan.length, false), 0);
        assert.equal(s.sent, 20);
        assert.equal(s.segmented, 6, "no further segmented send");
        assert.equal((await receive(a, 9)).length, 9);
        assert.equal((await receive(b, 1)).length, 1);
      } finally {
        closeQuietly(b);
      }
    }),
);

ffiSocketTest(
  "ffi socket: a full batch of 64 replies to one relay leaves in two sends and arrives whole",
  () =>
    withReceiver(async (fd, relay, port) => {
      const s = new FfiUdpSocket(fd);
      for (let i = 0; i < s.batch; i++) {
        assert.ok(s.setSend(i, payload(i + 1, 1000), LOOPBACK, port, 0, LOOPBACK, 0));
      }
      assert.equal(s.sendBatch(s.batch), 0);
      // 64 of 1,000 bytes exceed one send's 60,000: 60 in one segmented send, 4 in another.
      assert.equal(s.segmented, 64);
      assert.equal(s.segmentedSends, 2);
      const got = await receive(relay, 64);
      assert.deepEqual(got, Array.from({ length: 64 }, (_, i) => [i + 1, 1000]));
    }),
);

ffiSocketTest(
  "ffi socket: a segmented send the kernel refuses goes again datagram by datagram",
  () =>
    withReceiver(async (fd, receiver, port) => {
      // A socket whose MTU is IPv6's minimum cannot send 1,300-byte segments (EMSGSIZE or EINVAL), while each
      // datagram alone is fragmented and delivered: the batch must arrive whole all the same.
      const mtu = new Uint8Array(4);
      new DataView(mtu.buffer).setInt32(0, 1280, true);
      assert.equal(libc().setsockopt(fd, IPPROTO_IPV6, IPV6_MTU, mtu, 4), 0, "IPV6_MTU 1280");
      const s = new FfiUdpSocket(fd, 8, 2048, 1400);
      for (let i = 0; i < 3; i++) {
        assert.ok(s.setSend(i, payload(i + 1, 1300), LOOPBACK, port, 0, LOOPBACK, 0));
      }
      s.setSend(3, payload(4, 200), LOOPBACK, port, 0, LOOPBACK, 0);
      assert.equal(s.sendBatch(4), 0, "nothing failed");
      assert.ok(SEGMENT_REFUSALS.has(s.segmentationRefused), `refused: ${s.segmentationRefused}`);
      assert.equal(s.segmented, 0);
      assert.equal(s.sent, 4);
      assert.deepEqual(await receive(receiver, 4), [[1, 1300], [2, 1300], [3, 1300], [4, 200]]);
      // From then on this socket does not try again.
      for (let i = 0; i < 2; i++) s.setSend(i, payload(i + 5, 100), LOOPBACK, port, 0, LOOPBACK, 0);
      assert.equal(s.sendBatch(2), 0);
      assert.equal(s.segmented, 0);
      assert.equal(s.segmentedSends, 0);
      assert.deepEqual(await receive(receiver, 2), [[5, 100], [6, 100]]);
    }),
);

ffiSocketTest(
  "ffi socket: a group that fails for its destination fails alone, and segmentation stays on",
  () =>
    withReceiver(async (fd, receiver, port) => {
      // Port 0 is refused with EINVAL, one of the errnos that can also mean a refused segmented
      // send: the group goes again datagram by datagram, fails the same, and only its own slots
      // are reported. The interface of the pktinfo (0 or loopback's 1) makes two more groups.
      const s = new FfiUdpSocket(fd, 8, 2048);
      // [tag, port, pktinfo interface]
      const plan: Array<[number, number, number]> = [
        [1, port, 0],
        [2, 0, 0],
        [3, port, 1],
        [4, 0, 0],
        [5, port, 0],
        [6, port, 1],
      ];
      const fill = (rows: Array<[number, number, number]>) =>
        rows.forEach(([tag, to, ifindex], slot) =>
          assert.ok(s.setSend(slot, payload(tag, 80), LOOPBACK, to, 0, LOOPBACK, ifindex))
        );
      fill(plan);
      assert.equal(s.sendBatch(plan.length), 2);
      assert.deepEqual([...s.failed].sort(), [1, 3], "the slots sent to port 0");
      assert.equal(s.lastSendError, 22, "EINVAL");
      assert.equal(s.segmentationRefused, 0, "not taken for a refused segmentation");
      assert.deepEqual(await receive(receiver, 4), [[1, 80], [3, 80], [5, 80], [6, 80]]);
      // The next batch, without port 0, is grouped again: 1+5 and 3+6 in two segmented sends.
      const good = plan.filter(([, to]) => to !== 0);
      fill(good);
      const before = s.segmentedSends;
      assert.equal(s.sendBatch(good.length), 0);
      assert.equal(s.segmentedSends - before, 2);
      assert.deepEqual(await receive(receiver, 4), [[1, 80], [3, 80], [5, 80], [6, 80]]);
    }),
);

for (const gso of [true, false]) {
  e2eTest(
    `ffi backend: a running server's replies to one relay ${
      gso ? "leave in segmented sends" : "leave one by one with io-udp-gso no"
    }, and every request gets its answer`,
    { root: true, commands: { tshark: "tshark" } },
    () =>
      withTopology(async (t) => {
        // Server, capture and load generator in one namespace, on its loopback: a capture there
        // sees a segmented send as one frame holding several replies.
        const ns = await t.namespace("gso");
        const server = await t.startServer({
          namespace: ns,
          config:
            `io-backend ffi\nworkers 0\nio-batch-delay 0.02\nio-udp-gso ${gso ? "yes" : "no"}\n` +
            `${serverIdConfig()}\n${loopbackListenerConfig(547)}\n${INFORMATION_CONFIG}`,
          denoFlags: ["--allow-ffi"],
        });
        const capture = await startCapture(t, ns, "lo");
        // 2,000 relayed Information-requests per second for a second, from one socket: with a
        // 20 ms batch delay about forty answers leave together each time.
        const load = await t.exec(ns, Deno.execPath(), [
          "run",
          "--unstable-net",
          "--allow-net",
          "bench/load/inforeq_load.ts",
          "--rate",
          "2000",
          "--period",
          "1",
          "--server",
          "::1",
          "--link",
          "::1",
          "--wait",
          "3000",
        ]);
        const counts = load.stdout.match(/sent (\d+) received (\d+)/);
        assert.ok(counts, load.stdout + load.stderr);
        assert.equal(counts[2], counts[1], `every request answered: ${load.stdout}${load.stderr}`);
        await capture.stop();
        const fields = await t.exec(ns, "tshark", [
          "-n",
          "-r",
          capture.file,
          "-Y",
          "udp.srcport == 547",
          "-T",
          "fields",
          "-e",
          "udp.length",
        ]);
        const frames = fields.stdout.trim().split("\n").map(Number);
        const replies = Number(counts[2]);
        const reply = Math.min(...frames);
        if (gso) {
          assert.ok(frames.length < replies / 2, `${frames.length} frames for ${replies} replies`);
          assert.ok(Math.max(...frames) > 2 * reply, `frames of ${Math.max(...frames)} bytes`);
        } else {
          assert.equal(frames.length, replies, "one frame per reply");
          assert.equal(Math.max(...frames), reply, "every frame one reply");
        }
        assert.doesNotMatch(server.log, /refused a segmented send/);
      }),
  );
}
