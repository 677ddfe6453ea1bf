/**
 * The whole server in a subprocess: bulk leasequery over a real TCP socket streams 50,000
 * clients in constant memory while UDP requests keep being answered; the `dhcpkit leasequery`
 * client talks to it over TCP and UDP.
 */
import assert from "node:assert/strict";
import {
  ClientDataOption,
  ClientIdOption,
  ElapsedTimeOption,
  encodeOptionsForTest,
  InformationRequestMessage,
  LeasequeryDoneMessage,
  type LeasequeryReplyMessage,
  LinkLayerDuid,
  OptionRequestOption,
  parseMessage,
  QUERY_BY_LINK_ADDRESS,
  RecursiveNameServersOption,
  RelayForwardMessage,
  RelayMessageOption,
  RelayReplyMessage,
  RelaySourcePortOption,
  serializeMessage,
  StatusCode,
  StatusCodeOption,
} from "./server_test_deps.ts";
import { frame, FrameReader, leasequery, seedClients, tempDir } from "./lq_helpers.ts";
import { loopbackListenerConfig, serverIdConfig } from "../helpers/server.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const UDP_PORT = 20000 + Math.floor(Math.random() * 20000);
const TCP_PORT = UDP_PORT + 1;
const CLIENTS = Number(Deno.env.get("LQ_CLIENTS") ?? 50_000);
const HEAP_MB = Number(Deno.env.get("LQ_HEAP_MB") ?? 48);

function config(dbPath: string, dir: string): string {
  return `
user root
group root
workers 2
pid-file ${dir}/dhcpkit.pid
control-socket ${dir}/dhcpkit.sock

${serverIdConfig()}
${loopbackListenerConfig(UDP_PORT)}
<listen-tcp ::1>
    port ${TCP_PORT}
    max-connections 4
</listen-tcp>

<recursive-name-servers>
    address 2001:db8::53
</recursive-name-servers>

<leasequery>
    <lq-sqlite ${dbPath} />
</leasequery>
`;
}

/** Resident set size of a process in bytes (via ps: /proc needs --allow-all in Deno). */
async function rss(pid: number): Promise<number> {
  const out = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).output();
  return Number(new TextDecoder().decode(out.stdout).trim() || 0) * 1024;
}

/** A relay-style UDP client (Relay Source Port, so replies come back to our port). */
class UdpProbe {
  readonly socket = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  #xid = 1;

  /** Send an Information-Request; resolves with the round-trip time, or -1 after `timeout` ms. */
  async ask(timeout = 2000): Promise<number> {
    const xid = this.#xid++;
    const request = new InformationRequestMessage(xid, [
      new ClientIdOption(new LinkLayerDuid(1, new Uint8Array([2, 9, 9, 9, 9, 9]))),
      new ElapsedTimeOption(0),
      new OptionRequestOption([23]),
    ]);
    const relay = new RelayForwardMessage(0, "2001:db8:5::1", "fe80::5", [
      new RelaySourcePortOption(0),
      new RelayMessageOption(request),
    ]);
    const start = performance.now();
    await this.socket.send(serializeMessage(relay), {
      transport: "udp",
      hostname: "::1",
      port: UDP_PORT,
    });
    const deadline = start + timeout;
    while (performance.now() < deadline) {
      const result = await Promise.race([
        this.socket.receive(),
        new Promise<null>((r) =>
          setTimeout(() => r(null), Math.max(1, deadline - performance.now()))
        ),
      ]);
      if (!result) break;
      const reply = parseMessage(result[0]);
      if (!(reply instanceof RelayReplyMessage)) continue;
      const inner = reply.getOption(RelayMessageOption)!.message as InformationRequestMessage;
      if (inner.transactionId === xid) return performance.now() - start;
    }
    return -1;
  }
}

Deno.test({
  name: "server: bulk leasequery of 50,000 clients streams in constant memory, UDP keeps flowing",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = tempDir();
    const dbPath = `${dir.path}/lq.sqlite`;
    const dns = encodeOptionsForTest([
      new RecursiveNameServersOption(
        Array.from({ length: 20 }, (_, i) => `2001:db8::${(i + 1).toString(16)}`),
      ),
    ]);
    seedClients(dbPath, CLIENTS, { optionBytes: dns });
    seedClients(dbPath, 3, { link: "2001:db8:2::1", remoteId: "9:abcd", first: CLIENTS });
    Deno.writeTextFileSync(`${dir.path}/dhcpkit.conf`, config(dbPath, dir.path));
    const server = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--unstable-net",
        "-A",
        // A small heap: holding the results in memory instead of streaming them would not fit.
        `--v8-flags=--max-old-space-size=${HEAP_MB}`,
        "cli/main.ts",
        "serve",
        `${dir.path}/dhcpkit.conf`,
      ],
      cwd: ROOT,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const probe = new UdpProbe();
    try {
      // Wait until the server answers.
      let ready = false;
      for (let i = 0; i < 100 && !ready; i++) ready = (await probe.ask(200)) >= 0;
      assert.ok(ready, "server answers UDP");

      // dhcpkit leasequery over TCP (remote-id, link-address) and over UDP (client-address).
      const cli = async (...args: string[]) => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "--unstable-net",
            "-A",
            "cli/main.ts",
            "leasequery",
            "--server",
            "::1",
            ...args,
          ],
          cwd: ROOT,
          stdout: "piped",
          stderr: "piped",
        }).output();
        const lines = new TextDecoder().decode(out.stdout).trim().split("\n").filter(Boolean);
        return {
          code: out.code,
          json: lines.map((l) => JSON.parse(l)),
          stderr: new TextDecoder().decode(out.stderr),
        };
      };
      const byRemote = await cli("--port", String(TCP_PORT), "--tcp", "remote-id", "9", "abcd");
      assert.equal(byRemote.code, 0, byRemote.stderr);
      assert.deepEqual(byRemote.json.map((m) => m.type), [
        "leasequery-reply",
        "leasequery-data",
        "leasequery-data",
        "leasequery-done",
      ]);
      const byLink = await cli(
        "--port",
        String(TCP_PORT),
        "-t",
        "-L",
        "2001:db8:2::1",
        "link-address",
      );
      assert.equal(byLink.code, 0, byLink.stderr);
      assert.equal(byLink.json.length, 4);
      const clientData = byLink.json[0].options.find((o: { name?: string; code: number }) =>
        o.code === 45
      );
      const address = clientData.options.find((o: { code: number }) => o.code === 5);
      assert.ok(
        address.valid_lifetime > 7100 && address.valid_lifetime <= 7200,
        JSON.stringify(address),
      );
      const byAddress = await cli(
        "--port",
        String(UDP_PORT),
        "client-address",
        `2001:db8:1:${((CLIENTS + 1) >> 16).toString(16)}:${
          ((CLIENTS + 1) & 0xffff).toString(16)
        }::1`,
      );
      // The address belongs to the second client on link 2001:db8:2::1.
      assert.equal(byAddress.code, 0, byAddress.stderr);
      assert.equal(byAddress.json.length, 1);
      assert.equal(byAddress.json[0].type, "leasequery-reply");
      assert.ok(byAddress.json[0].options.some((o: { code: number }) => o.code === 45));
      const bulkOverUdp = await cli("--port", String(UDP_PORT), "link-address");
      assert.equal(bulkOverUdp.code, 0);
      const status = bulkOverUdp.json[0].options.find((o: { code: number }) => o.code === 13);
      assert.equal(status.status_code, StatusCode.NotAllowed);

      // Warm up, then measure.
      for (let i = 0; i < 20; i++) await probe.ask();
      const baseline = await rss(server.pid);
      let peak = baseline;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          peak = Math.max(peak, await rss(server.pid));
          await new Promise((r) => setTimeout(r, 50));
        }
      })();

      const conn = await Deno.connect({ transport: "tcp", hostname: "::1", port: TCP_PORT });
      const reader = new FrameReader(conn);
      const query = leasequery(QUERY_BY_LINK_ADDRESS, "2001:db8:1::1", [
        new OptionRequestOption([23]),
      ]);
      const started = performance.now();
      await conn.write(frame(serializeMessage(query)));

      let streaming = true;
      const latencies: number[] = [];
      const udp = (async () => {
        while (streaming) {
          latencies.push(await probe.ask(2000));
          await new Promise((r) => setTimeout(r, 10));
        }
      })();

      const seen = new Set<string>();
      let messages = 0;
      let last: unknown;
      for (;;) {
        const data = await reader.next();
        if (!data) break;
        messages++;
        const m = parseMessage(data);
        last = m;
        if (m instanceof LeasequeryDoneMessage) break;
        const cd = (m as LeasequeryReplyMessage).getOption(ClientDataOption)!;
        seen.add((cd.options[0] as ClientIdOption).duid.toHex());
        // Slow reader now and then: the server must wait, not buffer.
        if (messages % 10000 === 0) await new Promise((r) => setTimeout(r, 200));
      }
      const elapsed = performance.now() - started;
      streaming = false;
      await udp;
      sampling = false;
      await sampler;
      conn.close();

      assert.ok(last instanceof LeasequeryDoneMessage, "stream ends with LEASEQUERY-DONE");
      assert.equal(last.getOption(StatusCodeOption)!.statusCode, StatusCode.Success);
      assert.equal(seen.size, CLIENTS);
      assert.equal(messages, CLIENTS + 1);
      const answered = latencies.filter((l) => l >= 0);
      const growth = (peak - baseline) / 1048576;
      console.log(
        `streamed ${CLIENTS} clients in ${elapsed.toFixed(0)} ms; RSS ${
          (baseline / 1048576).toFixed(1)
        } MB -> peak ${(peak / 1048576).toFixed(1)} MB; ${answered.length}/${latencies.length} ` +
          `UDP answers during the stream, max ${Math.max(...answered).toFixed(1)} ms`,
      );
      assert.ok(latencies.length >= 10, "UDP probes were sent during the stream");
      assert.equal(answered.length, latencies.length, "every UDP request was answered");
      assert.ok(Math.max(...answered) < 1000, "UDP latency stays low");
      assert.ok(growth < 64, `server RSS grew by ${growth.toFixed(1)} MB`);
    } finally {
      probe.socket.close();
      try {
        server.kill("SIGTERM");
      } catch {
        // gone
      }
      const status = await server.status;
      await server.stderr.cancel().catch(() => {});
      dir.remove();
      assert.ok(status.success || status.signal === "SIGTERM" || status.code === 0);
    }
  },
});
