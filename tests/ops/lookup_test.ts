/**
 * Handlers whose answer waits for an asynchronous lookup (the test extension
 * tests/helpers/slow_lookup), against server subprocesses with both I/O backends, `workers 0`
 * and `workers 2`: many requests wait at once and each gets its own, correct answer; a lookup
 * that fails, never answers or finds too many others waiting drops its request and is counted
 * (stats-json and /metrics); reload and shutdown answer what waits first; TCP queries wait too.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { sendControlCommand } from "../../cli/ctl.ts";
import { parseMessage, QUERY_BY_LINK_ADDRESS, serializeMessage } from "../../src/protocol/mod.ts";
import { addressFor } from "../helpers/slow_lookup/mod.ts";
import { clientDuid, clientRange, LookupClients } from "../helpers/slow_lookup/client.ts";
import { frame, FrameReader, leasequery, seedClients } from "../leasequery/lq_helpers.ts";
import { parseExposition, sum } from "./exposition.ts";
import {
  baseConfig,
  ctl,
  freeTcpPort,
  freeUdpPort,
  makeWorkDir,
  ROOT,
  type RunningServer,
  startServer,
  waitFor,
  writeConfig,
} from "./helpers.ts";

const SLOW_LOOKUP = join(ROOT, "tests/helpers/slow_lookup/mod.ts");

/** Relayed Information-requests from many clients; replies are matched by transaction id. */
class Clients extends LookupClients<string[]> {
  constructor(port: number) {
    super(port, (dns) => dns);
  }

  /** Send the requests of clients `first`..`first + count - 1`. */
  sendClients(first: number, count: number): Promise<void> {
    return this.send(clientRange(first, count));
  }

  /**
   * Wait until clients `first`..`first + count - 1` all have answers, sending the requests still
   * unanswered again every `retryMs`, as real clients retransmit: on a busy machine a burst of
   * answers (every lookup ends at about the same time) can overflow this socket's receive buffer,
   * which Deno's datagram sockets cannot enlarge. Returns how many requests were sent again.
   */
  async answered(first: number, count: number, timeoutMs: number, retryMs = 2000) {
    let resent = 0;
    let retryAt = Date.now() + retryMs;
    await waitFor(
      async () => {
        const missing = this.missing(first, first + count - 1);
        if (missing.length === 0) return true;
        if (Date.now() >= retryAt) {
          await this.send(missing);
          resent += missing.length;
          retryAt = Date.now() + retryMs;
        }
        return false;
      },
      timeoutMs,
      `${count} answers`,
    );
    return resent;
  }

  /** Clients of `first`..`first + count - 1` whose answer is missing or wrong. */
  wrong(first: number, count: number): number[] {
    return clientRange(first, count).filter((n) =>
      this.answers.get(n)?.join() !== addressFor(clientDuid(n))
    );
  }
}

function config(port: number, o: {
  io: "deno" | "auto";
  workers: number;
  lookup: string;
  extra?: string;
}): string {
  return `extension ${SLOW_LOOKUP}\n${o.extra ?? ""}` +
    baseConfig(port, `\n<slow-lookup>\n${o.lookup}\n</slow-lookup>\n`)
      .replace("workers 2\n", `workers ${o.workers}\nio-backend ${o.io}\n`);
}

type Global = Record<string, number>;

async function globalStats(server: RunningServer): Promise<Global> {
  const json = JSON.parse((await sendControlCommand(server.socket, "stats-json")).output[0]);
  return json.global as Global;
}

/** Wait until the global counters satisfy `check`; they are returned. */
async function statsWhen(server: RunningServer, check: (g: Global) => boolean, what: string) {
  let last: Global = {};
  await waitFor(async () => check(last = await globalStats(server)), 10_000, what);
  return last;
}

/**
 * Wait until clients 1..`n` hold answers (see {@link Clients.answered}) and return how many
 * requests were sent again; when they do not in time, the error says how many answers came and
 * what the server counted, so that a failure tells a lost datagram from an unanswered request.
 */
async function answers(server: RunningServer, clients: Clients, n: number, timeoutMs = 10_000) {
  try {
    return await clients.answered(1, n, timeoutMs);
  } catch (e) {
    const g = await globalStats(server).catch(() => ({} as Global));
    const counted = [
      "incoming_packets",
      "outgoing_packets",
      "lookup_failures",
      "lookup_timeouts",
      "lookup_overflows",
      "handling_errors",
    ].map((k) => `${k} ${g[k] ?? "?"}`).join(", ");
    throw new Error(
      `${(e as Error).message}: ${clients.answers.size} came; the server counted ${counted}`,
    );
  }
}

/** Start a server on `text` in a new folder; `body` runs with it and a client set. */
async function withServer(
  text: (port: number) => string,
  body: (server: RunningServer, clients: Clients, port: number) => Promise<void>,
): Promise<void> {
  const dir = makeWorkDir();
  const port = freeUdpPort();
  writeConfig(join(dir, "server.conf"), text(port));
  // -v: warnings on standard error.
  const server = await startServer(dir, ["-v"]);
  const clients = new Clients(port);
  try {
    await body(server, clients, port);
  } finally {
    clients.close();
    await server.kill();
    Deno.removeSync(dir, { recursive: true });
  }
}

const SETUPS = [
  { io: "deno", workers: 0 },
  { io: "deno", workers: 2 },
  { io: "auto", workers: 0 },
  { io: "auto", workers: 2 },
] as const;

for (const { io, workers } of SETUPS) {
  Deno.test(`lookups (io-backend ${io}, workers ${workers}): 300 requests waiting at once, each answered correctly`, () =>
    withServer(
      (port) => config(port, { io, workers, lookup: "delay 0.05" }),
      async (server, clients) => {
        await clients.sendClients(1, 300);
        // Requests sent again because this client lost their answers are counted by the server
        // like the others, and answered like them.
        const sent = 300 + await answers(server, clients, 300);
        assert.deepEqual(clients.wrong(1, 300), []);
        const g = await statsWhen(server, (g) => g.outgoing_packets >= sent, `${sent} counted`);
        assert.equal(g.incoming_packets, sent);
        assert.equal(g.outgoing_packets, sent);
        assert.deepEqual(
          [g.lookup_failures, g.lookup_timeouts, g.lookup_overflows, g.handling_errors],
          [0, 0, 0, 0],
        );
      },
    ));
}

for (const { io, workers } of [SETUPS[0], SETUPS[2], SETUPS[3]]) {
  // The ffi I/O worker waits for lookups in its event loop without watching the sockets, and
  // watches them again when the lookups take longer than a moment: a slow one must not hold
  // back the requests that arrive while it waits.
  Deno.test(`lookups (io-backend ${io}, workers ${workers}): requests arriving while a slow lookup waits are answered before it`, () =>
    withServer(
      (port) =>
        config(port, {
          io,
          workers,
          lookup: "delay 0.001\nslow-every 10\nslow-delay 3",
          extra: "lookup-timeout 10\n",
        }),
      async (server, clients) => {
        await clients.sendClients(10, 1); // the slow one
        await statsWhen(server, (g) => g.incoming_packets >= 1, "the slow request received");
        const fast = [...clientRange(1, 9), ...clientRange(11, 9)];
        await clients.send(fast);
        await waitFor(() => fast.every((n) => clients.answers.has(n)), 2500, "18 fast answers");
        assert.ok(!clients.answers.has(10), "the slow lookup (3 s) is still waiting");
        assert.deepEqual(clients.wrong(1, 9), []);
        assert.deepEqual(clients.wrong(11, 9), []);
        await waitFor(() => clients.answers.has(10), 10_000, "the slow answer");
        assert.deepEqual(clients.wrong(10, 1), []);
      },
    ));
}

for (const { io, workers } of [SETUPS[0], SETUPS[3]]) {
  Deno.test(`lookups (io-backend ${io}, workers ${workers}): no answer in time or a failure drops and counts the request`, async () => {
    await withServer(
      (port) =>
        config(port, { io, workers, lookup: "behaviour never", extra: "lookup-timeout 0.2\n" }),
      async (server, clients) => {
        await clients.sendClients(1, 30);
        const g = await statsWhen(server, (g) => g.lookup_timeouts >= 30, "30 timeouts");
        assert.equal(g.lookup_timeouts, 30);
        assert.equal(g.incoming_packets, 30);
        assert.equal(g.outgoing_packets, 0);
        assert.equal(clients.answers.size, 0, "nothing answered");
        // Warned at most once per worker (per 10 s), with the counts.
        await waitFor(() => /Requests dropped waiting/.test(server.stderr()), 5000, "a warning");
        const warnings = server.stderr().match(/Requests dropped waiting for lookups/g) ?? [];
        assert.ok(warnings.length >= 1 && warnings.length <= Math.max(1, workers), server.stderr());
      },
    );
    await withServer(
      (port) => config(port, { io, workers, lookup: "behaviour reject\ndelay 0.01" }),
      async (server, clients) => {
        await clients.sendClients(1, 30);
        const g = await statsWhen(server, (g) => g.lookup_failures >= 30, "30 failures");
        assert.equal(g.lookup_failures, 30);
        assert.equal(g.outgoing_packets, 0);
        // Not errors: 30 of them would have stopped the server (max-exceptions 5).
        assert.equal(server.child.pid > 0 && (await ctl(server.socket, "stats")).code, 0);
        assert.doesNotMatch(server.stderr(), /More than \d+ errors/);
      },
    );
  });
}

Deno.test("lookups: more requests waiting than max-lookups-in-flight are dropped and counted; /metrics shows all three", async () => {
  const metricsPort = freeTcpPort();
  await withServer(
    (port) =>
      config(port, {
        io: "deno",
        workers: 0,
        lookup: "behaviour never",
        extra: `lookup-timeout 1\nmax-lookups-in-flight 10\n`,
      }) + `\n<metrics>\n    address ::1\n    port ${metricsPort}\n</metrics>\n`,
    async (server, clients) => {
      await clients.sendClients(1, 30);
      const g = await statsWhen(
        server,
        (g) => g.lookup_overflows + g.lookup_timeouts >= 30,
        "every request dropped",
      );
      assert.deepEqual([g.lookup_overflows, g.lookup_timeouts], [20, 10]);
      const text = await (await fetch(`http://[::1]:${metricsPort}/metrics`)).text();
      const families = parseExposition(text);
      const dropped = (reason: string) =>
        sum(families, "dhcpkit_pkt6_dropped_total", { scope: "global", reason });
      assert.deepEqual(
        [dropped("lookup_overflow"), dropped("lookup_timeout"), dropped("lookup_failure")],
        [20, 10, 0],
      );
    },
  );
});

for (const { io, workers } of [SETUPS[0], SETUPS[1], SETUPS[3]]) {
  Deno.test(`lookups (io-backend ${io}, workers ${workers}): reload and shutdown answer what waits first`, () =>
    withServer(
      (port) => config(port, { io, workers, lookup: "delay 0.3" }),
      async (server, clients, port) => {
        const conf = join(server.dir, "server.conf");
        // A reload in place (same listeners): the old engines answer their waiting requests.
        await clients.sendClients(1, 50);
        assert.equal((await ctl(server.socket, "reload")).stdout, "Configuration reloaded\n");
        // A reload that opens another listener (a new backend, the old one drains).
        await clients.sendClients(101, 50);
        const other = freeUdpPort();
        writeConfig(
          conf,
          config(port, { io, workers, lookup: "delay 0.3" }) +
            `<listen-unicast ::1>\n    port ${other}\n</listen-unicast>\n`,
        );
        assert.equal((await ctl(server.socket, "reload")).stdout, "Configuration reloaded\n");
        await waitFor(() => clients.answers.size >= 100, 10_000, "100 answers");
        assert.deepEqual([...clients.wrong(1, 50), ...clients.wrong(101, 50)], []);
        // Shutdown: what waits is answered before the server exits.
        await clients.sendClients(201, 50);
        // Only what the server has received can wait for it: the signal follows the receipt.
        await statsWhen(server, (g) => g.incoming_packets >= 150, "the last 50 received");
        server.child.kill("SIGTERM");
        const status = await server.status;
        assert.equal(status.code, 0, server.stderr());
        await waitFor(() => clients.answers.size >= 150, 2000, "the last 50 answers");
        assert.deepEqual(clients.wrong(201, 50), []);
      },
    ));
}

for (const { io, workers } of [SETUPS[1], SETUPS[3]]) {
  Deno.test(`lookups (io-backend ${io}, workers ${workers}): what a replaced pipeline counts while it drains is kept`, () =>
    withServer(
      (port) =>
        config(port, { io, workers, lookup: "behaviour never", extra: "lookup-timeout 0.5\n" }),
      async (server, clients) => {
        await clients.sendClients(1, 40);
        await statsWhen(server, (g) => g.incoming_packets >= 40, "40 received");
        // The old engines drop the 40 while they drain, after the switch.
        assert.equal((await ctl(server.socket, "reload")).stdout, "Configuration reloaded\n");
        const g = await statsWhen(server, (g) => g.lookup_timeouts >= 40, "40 timeouts");
        assert.equal(g.lookup_timeouts, 40);
      },
    ));
}

for (const { io, workers } of [SETUPS[0], SETUPS[3]]) {
  Deno.test(`lookups (io-backend ${io}, workers ${workers}): a TCP leasequery waits for the lookup too`, async () => {
    for (const behaviour of ["answer", "never"]) {
      const tcpPort = freeTcpPort();
      let dbPath = "";
      await withServer(
        (port) => {
          dbPath = join(Deno.makeTempDirSync({ prefix: "dhcpkit-lq-lookup-" }), "lq.sqlite");
          seedClients(dbPath, 3, { link: "2001:db8:2::1" });
          Deno.chmodSync(dbPath, 0o666);
          Deno.chmodSync(join(dbPath, ".."), 0o777);
          return config(port, {
            io,
            workers,
            lookup: `behaviour ${behaviour}\ndelay 0.1`,
            extra: "lookup-timeout 0.3\n",
          }) +
            `<listen-tcp ::1>\n    port ${tcpPort}\n</listen-tcp>\n` +
            `<leasequery>\n    <lq-sqlite ${dbPath} />\n</leasequery>\n`;
        },
        async (server) => {
          const conn = await Deno.connect({ transport: "tcp", hostname: "::1", port: tcpPort });
          try {
            await conn.write(
              frame(serializeMessage(leasequery(QUERY_BY_LINK_ADDRESS, "2001:db8:2::1"))),
            );
            const reader = new FrameReader(conn);
            if (behaviour === "answer") {
              const types: number[] = [];
              for (let i = 0; i < 5; i++) {
                const m = await reader.next();
                if (!m) break;
                types.push(parseMessage(m).type);
                if (types.at(-1) === 16) break; // LEASEQUERY-DONE
              }
              assert.deepEqual(types, [15, 17, 17, 16], "reply, data, data, done");
            } else {
              const g = await statsWhen(server, (g) => g.lookup_timeouts >= 1, "the timeout");
              assert.equal(g.lookup_timeouts, 1);
              let timer: ReturnType<typeof setTimeout> | undefined;
              const got = await Promise.race([
                reader.next(),
                new Promise<"none">((r) => timer = setTimeout(() => r("none"), 300)),
              ]);
              clearTimeout(timer);
              assert.equal(got, "none", "no answer on the connection");
            }
          } finally {
            conn.close();
            Deno.removeSync(join(dbPath, ".."), { recursive: true });
          }
        },
      );
    }
  });
}
