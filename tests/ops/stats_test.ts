/**
 * After a known set of requests, `dhcpkit ctl stats-json` / `stats` and `/metrics` show the
 * exact expected counters, globally and per interface, subnet and relay.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { sendControlCommand } from "../../cli/ctl.ts";
import { MESSAGES_IN, MESSAGES_OUT } from "../../src/pipeline/mod.ts";
import { chooseIoBackend } from "../../src/server/io/backend.ts";
import { ioWorkerCount } from "../../src/server/io/ffi_backend.ts";
import { type Family, parseExposition, select, sum } from "./exposition.ts";
import {
  baseConfig,
  ctl,
  freeTcpPort,
  freeUdpPort,
  informationRequest,
  makeWorkDir,
  RelayClient,
  requestForOtherServer,
  solicit,
  startServer,
  waitFor,
  writeConfig,
} from "./helpers.ts";

type Counters = Record<string, number | Record<string, number>>;

function counters(
  incoming: number,
  outgoing: number,
  extra: Record<string, number>,
  messagesIn: Record<string, number>,
  messagesOut: Record<string, number>,
): Counters {
  return {
    incoming_packets: incoming,
    outgoing_packets: outgoing,
    unparsable_packets: 0,
    handling_errors: 0,
    for_other_server: 0,
    do_not_respond: 0,
    use_multicast: 0,
    unknown_query_type: 0,
    malformed_query: 0,
    not_allowed: 0,
    other_error: 0,
    lookup_failures: 0,
    lookup_timeouts: 0,
    lookup_overflows: 0,
    ...extra,
    messages_in: {
      solicit: 0,
      request: 0,
      confirm: 0,
      renew: 0,
      rebind: 0,
      release: 0,
      decline: 0,
      information_request: 0,
      leasequery: 0,
      ...messagesIn,
    },
    messages_out: {
      advertise: 0,
      reply: 0,
      reconfigure: 0,
      leasequery_reply: 0,
      leasequery_done: 0,
      leasequery_data: 0,
      ...messagesOut,
    },
  };
}

const RECEIVED = "dhcpkit_pkt6_received_total";

/** `dhcpkit_pkt6_dropped_total` reasons and the stats-json counters they show. */
const DROP_REASONS: Record<string, string> = {
  unparsable: "unparsable_packets",
  for_other_server: "for_other_server",
  do_not_respond: "do_not_respond",
  handling_error: "handling_errors",
  lookup_failure: "lookup_failures",
  lookup_timeout: "lookup_timeouts",
  lookup_overflow: "lookup_overflows",
};

/** `dhcpkit_pkt6_error_replies_total` statuses and the stats-json counters they show. */
const ERROR_STATUSES: Record<string, string> = {
  use_multicast: "use_multicast",
  unknown_query_type: "unknown_query_type",
  malformed_query: "malformed_query",
  not_allowed: "not_allowed",
  other_error: "other_error",
};

/**
 * Within one family and one scope (and entry), every series has the same labels: a total never
 * sits beside its parts (like `{scope="global"}` beside `{scope="global",type="solicit"}`), so
 * `sum()` over a scope counts each packet once.
 */
function assertNoTotalsBesideParts(families: Map<string, Family>): void {
  for (const family of families.values()) {
    const shapes = new Map<string, string>();
    for (const s of family.samples) {
      if (family.type === "histogram") continue;
      const where = JSON.stringify([s.labels.scope, s.labels.entry]);
      const shape = Object.keys(s.labels).sort().join(",");
      const seen = shapes.get(where);
      assert.ok(
        seen === undefined || seen === shape,
        `${family.name} mixes {${seen}} and {${shape}}`,
      );
      shapes.set(where, shape);
    }
  }
}

function flatten(c: Counters): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of Object.entries(c)) {
    if (typeof v === "number") out.set(k, v);
    else {
      const prefix = k === "messages_in" ? "in." : "out.";
      for (const [k2, v2] of Object.entries(v)) out.set(prefix + k2, v2);
    }
  }
  return out;
}

/**
 * Run the known set of requests against a server with the given UDP backend and worker count:
 * the counters must not depend on which threads count (main thread, pool workers, I/O workers).
 */
async function countKnownRequests(io: "deno" | "auto", workers: number): Promise<void> {
  const dir = makeWorkDir();
  const port = freeUdpPort();
  const metricsPort = freeTcpPort();
  // Worker log lines reach syslog through the main thread, with their packet ids.
  const syslogPath = join(dir, "syslog.sock");
  const syslog = Deno.listenDatagram({ transport: "unixpacket", path: syslogPath });
  Deno.chmodSync(syslogPath, 0o666); // the server writes to it after dropping root
  const seen: string[] = [];
  (async () => {
    const decoder = new TextDecoder();
    try {
      while (true) seen.push(decoder.decode((await syslog.receive())[0]));
    } catch {
      // closed
    }
  })();
  writeConfig(
    join(dir, "server.conf"),
    baseConfig(
      port,
      `
<statistics>
    interface lo
    interface eth-unused
    subnet 2001:db8::/64
    subnet 2001:db8:99::/64
    relay 2001:db8::1
    relay 2001:db8:77::1
</statistics>

<metrics>
    address ::1
    port ${metricsPort}
</metrics>

<logging>
    <syslog ${syslogPath}>
        facility local5
        level debug
    </syslog>
</logging>

<recursive-name-servers>
    address 2001:db8::53
</recursive-name-servers>
`,
    ).replace("workers 2\n", `workers ${workers}\nio-backend ${io}\n`),
  );
  const server = await startServer(dir);
  const client = new RelayClient(port);
  try {
    // Answered: two Information-Requests via 2001:db8::1, one via 2001:db8:99::1, a Solicit.
    assert.equal((await client.ask(informationRequest()))?.type, 7);
    assert.equal((await client.ask(informationRequest()))?.type, 7);
    assert.equal((await client.ask(informationRequest(), "2001:db8:99::1"))?.type, 7);
    assert.equal((await client.ask(solicit()))?.type, 2);
    // Not answered: a Request for another server and two unparsable packets.
    await client.send(requestForOtherServer());
    await client.sendRaw(new Uint8Array([0xff]));
    await client.sendRaw(new Uint8Array([12, 0, 1]));
    assert.equal(await client.receive(300), undefined);

    const read = async () =>
      JSON.parse((await sendControlCommand(server.socket, "stats-json")).output[0]);
    await waitFor(
      async () => (await read()).global.incoming_packets === 7,
      10_000,
      "7 incoming packets",
    );

    const result = await ctl(server.socket, "stats-json");
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 1, "stats-json is one line");
    assert.match(lines[0], /^\{"global": \{"incoming_packets": 7, "outgoing_packets": 4, /);
    const stats: Record<string, Record<string, unknown>> = JSON.parse(lines[0]);
    // The ffi backend's I/O workers report their io-batch-delay (auto, the default: between its
    // floor and its maximum), one per I/O thread; the deno backend's workers report none.
    const waits = stats.server.io_batch_delay as
      | { workers: Record<string, { seconds: number; chained: boolean }> }
      | undefined;
    delete stats.server.io_batch_delay;
    if (chooseIoBackend(io) === "deno") assert.equal(waits, undefined);
    else {
      const threads = Object.values(waits?.workers ?? {});
      assert.equal(threads.length, ioWorkerCount(workers), JSON.stringify(waits));
      assert.ok(threads.every((w) => w.seconds >= 0.0005 && w.seconds <= 0.001));
    }

    const viaDb8 = counters(
      4,
      3,
      { for_other_server: 1 },
      { solicit: 1, request: 1, information_request: 2 },
      { advertise: 1, reply: 2 },
    );
    const expected: Record<string, unknown> = {
      global: counters(
        7,
        4,
        { unparsable_packets: 2, for_other_server: 1 },
        { solicit: 1, request: 1, information_request: 3 },
        { advertise: 1, reply: 3 },
      ),
      interfaces: {
        "eth-unused": counters(0, 0, {}, {}, {}),
        lo: counters(
          7,
          4,
          { unparsable_packets: 2, for_other_server: 1 },
          { solicit: 1, request: 1, information_request: 3 },
          { advertise: 1, reply: 3 },
        ),
      },
      // A request counts as received in the subnets and relays it belongs to, like every other
      // counter; only unparsable packets (no subnet or relay known) count per interface alone.
      subnets: {
        "2001:db8::/64": viaDb8,
        "2001:db8:99::/64": counters(1, 1, {}, { information_request: 1 }, { reply: 1 }),
      },
      relays: {
        "2001:db8::1": viaDb8,
        "2001:db8:77::1": counters(0, 0, {}, {}, {}),
      },
      // Ours, after the original's: no worker had to be replaced.
      server: { worker_restarts: 0 },
    };
    assert.deepEqual(stats, expected);
    // Key order is the original's (then ours).
    assert.deepEqual(Object.keys(stats), ["global", "interfaces", "subnets", "relays", "server"]);
    assert.deepEqual(Object.keys(stats.interfaces), ["eth-unused", "lo"]);

    // The text format.
    const text = await ctl(server.socket, "stats");
    assert.equal(text.code, 0);
    const t = text.stdout.split("\n");
    assert.deepEqual(t.slice(0, 5), [
      "Global",
      "- Packets",
      "  - Incoming packets: 7",
      "  - Outgoing packets: 4",
      "- Errors",
    ]);
    assert.ok(t.includes("  - InformationRequest: 3"));
    assert.ok(t.includes("  - Unparsable packets: 2"));
    assert.deepEqual(
      t.filter((l) => /^(Interface|Subnet|Relay) /.test(l)),
      [
        "Interface eth-unused",
        "Interface lo",
        "Subnet 2001:db8::/64",
        "Subnet 2001:db8:99::/64",
        "Relay 2001:db8::1",
        "Relay 2001:db8:77::1",
      ],
    );

    // /metrics shows the same numbers: one family per kind of count, the scope (and entry) and
    // the message type, reason or status as labels.
    const response = await fetch(`http://[::1]:${metricsPort}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const families = parseExposition(await response.text());
    const scopes: Array<[Record<string, string>, Counters]> = [
      [{ scope: "global" }, stats.global as Counters],
    ];
    for (
      const [scope, key] of [["interface", "interfaces"], ["subnet", "subnets"], [
        "relay",
        "relays",
      ]]
    ) {
      for (const [entry, c] of Object.entries(stats[key])) {
        scopes.push([{ scope, entry }, c as Counters]);
      }
    }
    for (const [where, c] of scopes) {
      const flat = flatten(c);
      const at = JSON.stringify(where);
      const count = (family: string, labels: Record<string, string> = {}) =>
        sum(families, family, { ...where, ...labels });
      // Received: by request type, the parts adding up to every packet received.
      assert.equal(count(RECEIVED), flat.get("incoming_packets"), `received ${at}`);
      let typed = 0;
      for (const [type] of MESSAGES_IN) {
        assert.equal(count(RECEIVED, { type }), flat.get(`in.${type}`), `${type} ${at}`);
        typed += flat.get(`in.${type}`)!;
      }
      assert.equal(count(RECEIVED, { type: "unparsable" }), flat.get("unparsable_packets"));
      assert.equal(
        count(RECEIVED, { type: "other" }),
        flat.get("incoming_packets")! - flat.get("unparsable_packets")! - typed,
      );
      assert.equal(select(families, RECEIVED, where).length, MESSAGES_IN.length + 2);
      // Sent: every message; answered: each answered request by the type of its answer.
      assert.equal(count("dhcpkit_pkt6_sent_total"), flat.get("outgoing_packets"), `sent ${at}`);
      for (const [type] of MESSAGES_OUT) {
        assert.equal(count("dhcpkit_pkt6_answered_total", { type }), flat.get(`out.${type}`));
      }
      // Dropped, by reason; answered with an error status, by status.
      for (const [reason, counter] of Object.entries(DROP_REASONS)) {
        assert.equal(count("dhcpkit_pkt6_dropped_total", { reason }), flat.get(counter), reason);
      }
      for (const [status, counter] of Object.entries(ERROR_STATUSES)) {
        assert.equal(count("dhcpkit_pkt6_error_replies_total", { status }), flat.get(counter));
      }
    }
    // The sums an operator writes: received per scope, and nothing counted twice within one.
    assert.equal(sum(families, RECEIVED, { scope: "global" }), 7);
    assert.equal(sum(families, RECEIVED, { scope: "global", type: "information_request" }), 3);
    assert.equal(sum(families, RECEIVED, { scope: "interface" }), 7, "lo is the only interface");
    assert.equal(sum(families, "dhcpkit_pkt6_dropped_total", { scope: "global" }), 3);
    assertNoTotalsBesideParts(families);
    // Kea's pkt6-receive-drop means "dropped for any reason": not reused for something else.
    assert.ok(!families.has("dhcpkit_pkt6_receive_drop_total"));
    assert.equal(sum(families, "dhcpkit_pkt6_queue_full_dropped_total"), 0);
    // Every handled packet was timed.
    assert.equal(sum(families, "dhcpkit_request_duration_seconds", { le: "+Inf" }), 7);
    assert.equal(
      select(families, "dhcpkit_request_duration_seconds").find((s) => s.name.endsWith("_count"))
        ?.value,
      7,
    );

    // OpenMetrics on request.
    const om = await fetch(`http://[::1]:${metricsPort}/metrics`, {
      headers: { accept: "application/openmetrics-text; version=1.0.0" },
    });
    const omText = await om.text();
    assert.match(om.headers.get("content-type") ?? "", /^application\/openmetrics-text/);
    assert.ok(omText.endsWith("# EOF\n"));
    const omFamilies = parseExposition(omText);
    assert.equal(omFamilies.get("dhcpkit_pkt6_received")?.type, "counter");
    assert.equal(sum(omFamilies, "dhcpkit_pkt6_received", { scope: "global" }), 7);
    assert.equal((await fetch(`http://[::1]:${metricsPort}/other`)).status, 404);

    await waitFor(
      () =>
        seen.some((l) =>
          /^<175>.* dhcpkit\[\d+\]: (Worker-\d|IO(-\d)?|Main): \[DEBUG\] #[0-9A-F]{6}: answering /
            .test(l)
        ),
      10_000,
      "a debug line of the thread that answered in syslog",
    );
    assert.ok(seen.some((l) => /^<174>.*Main: \[INFO\] Ready to handle requests/.test(l)));
  } finally {
    syslog.close();
    client.close();
    await server.kill();
    Deno.removeSync(dir, { recursive: true });
  }
}

for (const io of ["deno", "auto"] as const) {
  for (const workers of [0, 2]) {
    Deno.test(`stats-json, stats and /metrics count a known set of requests (io-backend ${io}, workers ${workers})`, () =>
      countKnownRequests(io, workers));
  }
}
