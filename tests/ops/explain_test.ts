/**
 * `dhcpkit ctl explain` against a real server, with two workers (the question crosses to a worker
 * and back) and with none (the main thread answers it): a filter that does not match says what it compared, a static row is found with its
 * FILE:LINE, a client without a row is told so, a relayed request with an Interface-ID gets it
 * echoed, a request the server ignores says why, and explaining counts nothing.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { ExplainTrace } from "../../src/pipeline/mod.ts";
import {
  ctl,
  freeUdpPort,
  makeWorkDir,
  RelayClient,
  SERVER_MAC,
  solicit,
  startServer,
  writeConfig,
} from "./helpers.ts";
import { serverIdConfig } from "../helpers/server.ts";

const CSV = `id,address,prefix
duid:000300010200000000aa,2001:db8:100::aa,
interface-id-str:Fa2/2,2001:db8:100::2:3,
remote-id-str:40208:customer-1042,2001:db8:100::1042,2001:db8:110::/48
`;

function config(port: number, head: string): string {
  return `${head}
control-socket ctl.sock
pid-file server.pid

${serverIdConfig(SERVER_MAC)}
<listen-unicast ::1>
    port ${port}
    mark relayed
</listen-unicast>

<rate-limit>
    key remote-id
    rate 10
    per 60
    burst 20
</rate-limit>

<marked-with relayed>
    <subnet 2001:db8:100::/40>
        <recursive-name-servers>
            address 2001:db8:53::1
        </recursive-name-servers>
        <static-csv static.csv>
        </static-csv>
    </subnet>
    <subnet-group>
        prefix 2001:db8:100::/40
        match outside
        <ignore-request/>
    </subnet-group>
</marked-with>
`;
}

async function explain(socket: string, ...args: string[]): Promise<ExplainTrace> {
  const r = await ctl(socket, "explain", "--json", ...args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** Explained in an I/O worker (ffi, two workers) and in the main thread (deno, no workers). */
const SETUPS: ReadonlyArray<[string, string]> = [
  ["two workers", "workers 2"],
  ["the main thread", "workers 0\nio-backend deno"],
];

for (const [where, head] of SETUPS) {
  Deno.test(`ctl explain answers from the live pipeline without side effects (${where})`, (t) =>
    explainTest(t, head));
}

async function explainTest(t: Deno.TestContext, head: string): Promise<void> {
  const dir = makeWorkDir();
  writeConfig(join(dir, "static.csv"), CSV);
  const port = freeUdpPort();
  writeConfig(join(dir, "server.conf"), config(port, head));
  const server = await startServer(dir);
  try {
    await t.step("a static row is found, with its file and line", async () => {
      const trace = await explain(
        server.socket,
        "--remote-id",
        "40208:customer-1042",
        "--link-address",
        "2001:db8:100::1",
        "request",
      );
      assert.equal(trace.outcome, "reply");
      assert.equal(trace.sources.length, 1);
      const source = trace.sources[0];
      assert.equal(source.location, `${join(dir, "static.csv")}:4`);
      assert.match(source.result, /address 2001:db8:100::1042, prefix 2001:db8:110::\/48/);
      assert.equal(trace.reply?.type, "reply");
      const text = JSON.stringify(trace.reply?.message);
      assert.match(text, /2001:db8:100::1042/);
      assert.match(text, /2001:db8:53::1/);
      const subnet = trace.filters.find((f) => f.filter === "subnet 2001:db8:100::/40")!;
      assert.equal(subnet.matched, true);
      // The rate limit looked at the request but took no token.
      const limit = trace.handlers.find((h) => h.handler === "RateLimitHandler")!;
      assert.match(limit.notes.join(" "), /no token taken/);
    });

    await t.step("a filter that does not match says what it compared", async () => {
      const trace = await explain(server.socket, "--link-address", "2001:db8:999::1");
      const subnet = trace.filters.find((f) => f.filter === "subnet 2001:db8:100::/40")!;
      assert.equal(subnet.matched, false);
      assert.equal(subnet.reason, "did not match: link address 2001:db8:999::1");
      // ... so the request falls to the ignore rule, and explain says so.
      const outside = trace.filters.find((f) => f.filter.startsWith("subnet-group outside"))!;
      assert.equal(outside.matched, true);
      assert.equal(trace.outcome, "do_not_respond");
      assert.match(trace.reason!, /ignored: a handler decided not to answer/);
      assert.match(trace.reason!, /CannotRespond/);
      assert.equal(trace.reply, undefined);
      assert.equal(trace.sources.length, 0);
    });

    await t.step("a client without a row is told so", async () => {
      const trace = await explain(
        server.socket,
        "--duid",
        "0003000102000000ffff",
        "--link-address",
        "2001:db8:100::1",
      );
      assert.equal(trace.outcome, "reply");
      assert.equal(trace.sources[0].result, "no assignment for any key");
      assert.equal(trace.sources[0].asked[0], "duid:0003000102000000ffff");
      assert.equal(trace.sources[0].location, undefined);
      assert.match(JSON.stringify(trace.reply?.message), /NoAddrsAvail|no_addrs_avail|2\b/);
    });

    await t.step(
      "a relayed request with an Interface-ID finds its row, gets it echoed",
      async () => {
        const trace = await explain(
          server.socket,
          "--interface-id",
          "Fa2/2",
          "--link-address",
          "2001:db8:100::1",
        );
        assert.equal(trace.reply?.type, "advertise");
        assert.equal(trace.sources[0].location, `${join(dir, "static.csv")}:3`);
        const echo = trace.handlers.find((h) => h.handler === "InterfaceIdHandler")!;
        assert.ok(
          echo.changes.some((c) => /^\+ relay-reply 0 option interface-id/.test(c)),
          echo.changes.join("\n"),
        );
        assert.match(trace.request.summary, /via 2001:db8:100::1/);
      },
    );

    await t.step("an unparsable message is explained, not answered", async () => {
      const trace = await explain(server.socket, "--hex", "0c00");
      assert.equal(trace.outcome, "unparsable");
      assert.match(trace.reason!, /unparsable/);
    });

    await t.step("readable text by default", async () => {
      const r = await ctl(server.socket, "explain", "--link-address", "2001:db8:999::1");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /\[ \] subnet 2001:db8:100::\/40: did not match: link address/);
      assert.match(r.stdout, /Outcome: do_not_respond: ignored/);
    });

    await t.step("a bad argument is one line and exit 1", async () => {
      const r = await ctl(server.socket, "explain", "--duid", "zz");
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /duid: not hex/);
    });

    await t.step("explain options belong to explain only", async () => {
      const r = await ctl(server.socket, "stats", "--duid", "00");
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--duid is only for ctl explain/);
    });

    await t.step("nothing was counted, while a real request is", async () => {
      const counted = async () => {
        const r = await ctl(server.socket, "stats-json");
        assert.equal(r.code, 0, r.stderr);
        return JSON.parse(r.stdout).global;
      };
      const before = await counted();
      assert.equal(before.incoming_packets, 0);
      assert.equal(before.outgoing_packets, 0);
      const client = new RelayClient(port);
      try {
        assert.ok(await client.ask(solicit(), "2001:db8:100::1"), "the real solicit is answered");
      } finally {
        client.close();
      }
      const after = await counted();
      assert.equal(after.incoming_packets, 1);
      assert.equal(after.outgoing_packets, 1);
    });
  } finally {
    await server.kill();
    Deno.removeSync(dir, { recursive: true });
  }
}
