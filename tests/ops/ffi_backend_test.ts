/**
 * `io-backend ffi` (libc sockets driven by a dedicated I/O Worker), against server subprocesses:
 * relayed requests on `listen-unicast ::1`, statistics equal to the default backend's, reload
 * (same listeners: the worker rebuilds its engine; other listeners: a new worker), SIGHUP,
 * shutdown, the missing `--allow-ffi` message, and `dhclient -6 -S` through `listen-interface`
 * (multicast in, reply from the link-local address) in network namespaces. Root and Linux only.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { sendControlCommand } from "../../cli/ctl.ts";
import { batchDelaySeconds, loadConfigText } from "../../src/config/mod.ts";
import { FfiBackend, ffiUnavailable, ioWorkerCount } from "../../src/server/io/ffi_backend.ts";
import { chooseIoBackend } from "../../src/server/io/backend.ts";
import { planListeners } from "../../src/server/listener_plan.ts";
import { hostInterfaces } from "../../src/server/interfaces.ts";
import { LatencyHistogram } from "../../src/server/metrics.ts";
import { WARMUP_MS, WINDOW_MS } from "../../src/server/io/delay_guard.ts";
import { StatisticsStore } from "../../src/pipeline/mod.ts";
import { LinkLayerDuid } from "../../src/protocol/mod.ts";
import type { InformationRequestMessage } from "../../src/protocol/mod.ts";
import {
  INFORMATION_CONFIG,
  SCOPED_SERVER_PERMISSIONS,
  serverIdConfig,
} from "../helpers/server.ts";
import { DHCLIENT, startDhclient } from "../e2e/dhclient.ts";
import { directTopology, e2eTest, isRoot, startCapture, withTopology } from "../e2e/netns.ts";
import {
  controlReply,
  ctl,
  exists,
  freeUdpPort,
  informationRequest,
  MAIN,
  makeWorkDir,
  RelayClient,
  requestForOtherServer,
  type RunningServer,
  SERVER_MAC,
  solicit,
  startServer,
  waitFor,
  writeConfig,
} from "./helpers.ts";

const why = Deno.build.os !== "linux"
  ? "needs Linux"
  : !isRoot()
  ? "needs root (the server binds, then drops to nobody)"
  : undefined;

/** A test that is skipped, with a note saying why, off Linux or without root. */
function ffiTest(name: string, fn: () => Promise<void>): void {
  if (why) console.log(`note: skipping "${name}": ${why}`);
  Deno.test({ name, ignore: why !== undefined, fn });
}

function dnsServers(message: unknown): string[] {
  const options = (message as InformationRequestMessage | undefined)?.options ?? [];
  const dns = options.find((o) => o.code === 23) as unknown as { addresses?: string[] };
  return dns?.addresses ?? [];
}

function config(
  backend: "deno" | "ffi",
  port: number,
  dns = "2001:db8::53",
  workers = 0,
): string {
  return `io-backend ${backend}
workers ${workers}
control-socket ctl.sock
pid-file server.pid

${serverIdConfig(SERVER_MAC)}
<listen-unicast ::1>
    port ${port}
    mark relayed
</listen-unicast>

<recursive-name-servers>
    address ${dns}
</recursive-name-servers>
`;
}

async function stats(server: RunningServer): Promise<Record<string, unknown>> {
  return JSON.parse((await sendControlCommand(server.socket, "stats-json")).output[0]);
}

/** Counters of `stats-json` once `incoming_packets` reached `count` (the worker posts them). */
async function statsAfter(server: RunningServer, count: number) {
  let last: Record<string, unknown> = {};
  await waitFor(
    async () => {
      last = await stats(server);
      return (last.global as { incoming_packets: number }).incoming_packets >= count;
    },
    5000,
    `${count} incoming packets in the statistics`,
  );
  return last;
}

/** Send the same mix of requests and return the statistics afterwards. */
async function exercise(backend: "deno" | "ffi") {
  const dir = makeWorkDir();
  const port = freeUdpPort();
  writeConfig(join(dir, "server.conf"), config(backend, port));
  const server = await startServer(dir);
  const client = new RelayClient(port);
  try {
    assert.deepEqual(dnsServers(await client.ask(informationRequest())), ["2001:db8::53"]);
    const advertise = await client.ask(solicit());
    assert.equal(advertise?.constructor.name, "AdvertiseMessage");
    await client.send(requestForOtherServer());
    assert.equal(await client.receive(500), undefined, "no answer for another server");
    await client.sendRaw(new Uint8Array([1, 2]));
    assert.equal(await client.receive(300), undefined, "no answer to garbage");
    return await statsAfter(server, 4);
  } finally {
    client.close();
    await server.kill();
    Deno.removeSync(dir, { recursive: true });
  }
}

ffiTest(
  "ffi backend: answers relayed requests and counts them like the default backend",
  async () => {
    const ffi = await exercise("ffi");
    const deno = await exercise("deno");
    // Only the ffi backend's I/O workers report their io-batch-delay (auto: its floor at first).
    const server = ffi.server as Record<string, unknown>;
    assert.deepEqual(server.io_batch_delay, {
      workers: { 1: { seconds: 0.0005, chained: false } },
      raised: 0,
      lowered: 0,
    });
    delete server.io_batch_delay;
    assert.deepEqual(ffi, deno);
    const global = ffi.global as Record<string, unknown>;
    assert.equal(global.incoming_packets, 4);
    assert.equal(global.outgoing_packets, 2);
    assert.equal(global.unparsable_packets, 1);
    assert.equal(global.for_other_server, 1);
  },
);

ffiTest("ffi backend: reload (ctl and SIGHUP), new listeners, shutdown", async () => {
  const dir = makeWorkDir();
  const port = freeUdpPort();
  const conf = join(dir, "server.conf");
  writeConfig(conf, config("ffi", port));
  const server = await startServer(dir, ["-vv"]);
  const client = new RelayClient(port);
  const reloads = () => server.stderr().split("Configuration reloaded").length - 1;
  try {
    await waitFor(
      () => /Ready to handle requests on unicast ::1/.test(server.stderr()),
      5000,
      "the listeners in the ready line",
    );
    assert.deepEqual(dnsServers(await client.ask(informationRequest())), ["2001:db8::53"]);

    // Same listeners: the I/O worker rebuilds its engine.
    writeConfig(conf, config("ffi", port, "2001:db8::99"));
    assert.equal((await ctl(server.socket, "reload")).stdout, "Configuration reloaded\n");
    await waitFor(() => reloads() === 1, 10_000, "the reload in the log");
    assert.deepEqual(dnsServers(await client.ask(informationRequest())), ["2001:db8::99"]);

    // A bad configuration changes nothing.
    writeConfig(conf, config("ffi", port, "2001:db8::99") + "\n<no-such-section>\n");
    const refused = await controlReply(server.socket, "reload");
    assert.match(refused.end, /^FAILED: configuration refused/);
    assert.match(refused.lines.join("\n"), /no-such-section/);
    await waitFor(() => server.stderr().includes("Not reloading"), 10_000, "the reload error");
    assert.deepEqual(dnsServers(await client.ask(informationRequest())), ["2001:db8::99"]);

    // Another port: new sockets and a new I/O worker (SIGHUP this time); the old port is closed.
    const port2 = freeUdpPort();
    writeConfig(conf, config("ffi", port2, "2001:db8::77"));
    server.child.kill("SIGHUP");
    await waitFor(() => reloads() === 2, 10_000, "the SIGHUP reload");
    const client2 = new RelayClient(port2);
    try {
      assert.deepEqual(dnsServers(await client2.ask(informationRequest())), ["2001:db8::77"]);
    } finally {
      client2.close();
    }
    await client.send(informationRequest());
    assert.equal(await client.receive(500), undefined, "the old port no longer answers");

    // Statistics survive reloads and worker restarts: 4 answered, 1 unanswered.
    await waitFor(
      async () => {
        const g = (await stats(server)).global as Record<string, number>;
        return g.incoming_packets === 4 && g.outgoing_packets === 4;
      },
      5000,
      "the statistics of both workers",
    );

    const started = Date.now();
    assert.equal((await ctl(server.socket, "shutdown")).stdout, "Shutting down\n");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      server.status,
      new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 5000)),
    ]);
    clearTimeout(timer);
    assert.ok(status, "the server exits within 5 s");
    assert.equal(status.code, 0, server.stderr());
    assert.ok(Date.now() - started < 5000);
    assert.ok(!exists(server.socket), "control socket removed");
    assert.ok(!exists(server.pidFile), "PID file removed");
    assert.doesNotMatch(server.stderr(), /did not stop in time/);
  } finally {
    client.close();
    await server.kill();
    Deno.removeSync(dir, { recursive: true });
  }
});

ffiTest("ffi backend: SIGTERM stops the server promptly", async () => {
  const dir = makeWorkDir();
  writeConfig(join(dir, "server.conf"), config("ffi", freeUdpPort()));
  const server = await startServer(dir);
  try {
    const started = Date.now();
    server.child.kill("SIGTERM");
    const status = await server.status;
    assert.equal(status.code, 0, server.stderr());
    assert.ok(Date.now() - started < 3000, `stopped in ${Date.now() - started} ms`);
    assert.ok(!exists(server.pidFile), "PID file removed");
  } finally {
    await server.kill();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("ffi backend: without --allow-ffi, serve says so in one line and exits", async () => {
  const dir = makeWorkDir();
  try {
    writeConfig(join(dir, "server.conf"), config("ffi", freeUdpPort()));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...SCOPED_SERVER_PERMISSIONS, MAIN, "serve", join(dir, "server.conf")],
      cwd: dir,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr).trim();
    assert.notEqual(out.code, 0);
    const line = stderr.split("\n").find((l) => l.includes("io-backend ffi"));
    assert.ok(line, stderr);
    assert.match(line, Deno.build.os === "linux" ? /--allow-ffi/ : /Linux only/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("io-backend: auto by default, ffi with any number of workers", () => {
  const base = `${serverIdConfig()}\n<listen-unicast ::1 />\n`;
  for (const workers of ["workers 0\n", "workers 2\n", ""]) {
    const ok = loadConfigText(`io-backend ffi\n${workers}${base}`, "t.conf", { hostChecks: false });
    assert.deepEqual(ok.errors, []);
    assert.equal(ok.config?.ioBackend, "ffi");
  }
  const defaults = loadConfigText(base, "t.conf", { hostChecks: false }).config;
  assert.equal(defaults?.ioBackend, "auto");
  assert.equal(defaults?.ioBatchDelay, "auto");
  assert.equal(batchDelaySeconds("auto", "ffi"), 0.001, "auto: the guard's maximum");
  assert.equal(batchDelaySeconds("auto", "deno"), 0.0005, "auto: the deno backend's fixed wait");
  assert.equal(batchDelaySeconds(0.02, "deno"), 0.02);
  const auto = loadConfigText(`io-batch-delay AUTO\n${base}`, "t.conf", { hostChecks: false });
  assert.equal(auto.config?.ioBatchDelay, "auto");
  const word = loadConfigText(`io-batch-delay soon\n${base}`, "t.conf", { hostChecks: false });
  assert.equal(word.errors[0].line, 1);
  assert.match(word.errors[0].message, /`soon` is not a number of seconds/);
  const noDelay = loadConfigText(`io-batch-delay 0\n${base}`, "t.conf", { hostChecks: false });
  assert.equal(noDelay.config?.ioBatchDelay, 0);
  const tooLong = loadConfigText(`io-batch-delay 0.5\n${base}`, "t.conf", { hostChecks: false });
  assert.equal(tooLong.errors[0].line, 1);
  assert.match(tooLong.errors[0].message, /io-batch-delay 0\.5 is longer than 0\.1 seconds/);
  const bad = loadConfigText(`io-backend fast\n${base}`, "t.conf", { hostChecks: false });
  assert.equal(bad.errors[0].line, 1);
});

Deno.test("ffi backend: one I/O worker per CPU at most, at least one", () => {
  assert.equal(ioWorkerCount(0, 8), 1);
  assert.equal(ioWorkerCount(1, 8), 1);
  assert.equal(ioWorkerCount(4, 8), 4);
  assert.equal(ioWorkerCount(4, 2), 2);
  assert.equal(ioWorkerCount(2, 1), 1);
});

Deno.test("io-backend auto: ffi where it can be used, deno elsewhere", () => {
  const expected = ffiUnavailable() === undefined ? "ffi" : "deno";
  assert.equal(chooseIoBackend("auto"), expected);
  assert.equal(chooseIoBackend("deno"), "deno");
  assert.equal(chooseIoBackend("ffi"), "ffi");
});

Deno.test({
  name: "ffi backend: flushes at random moments are picked up at once, none stays pending",
  ignore: ffiUnavailable() !== undefined,
  async fn() {
    const port = freeUdpPort();
    const text =
      `workers 2\n${serverIdConfig()}\n<listen-unicast ::1>\n    port ${port}\n</listen-unicast>\n`;
    const { config } = loadConfigText(text, "t.conf", { hostChecks: false });
    const io = new FfiBackend();
    io.open(planListeners(config!, hostInterfaces()));
    const failures: string[] = [];
    const serverDuid = new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, 1]));
    await io.start({
      config: config!,
      engine: {
        configPath: "t.conf",
        configText: text,
        serverDuid: serverDuid.toBytes(),
        logLevel: "warning",
      },
      serverDuid,
      stats: new StatisticsStore(),
      latency: new LatencyHistogram(),
    }, {
      stats: () => {},
      latency: () => {},
      extensions: () => {},
      failure: (m: string) => failures.push(m),
      workerError: (m: string) => failures.push(m),
      workerRestarted: () => failures.push("restarted"),
      fatal: (m: string) => failures.push(m),
      logs: () => {},
      queueFull: () => {},
    });
    try {
      // Idle Workers poll every 50 ms and yield in between: flushes land in every phase of that.
      // A flush comes back when both workers answered or after 500 ms; one that comes back with
      // its messages still pending was not picked up in time (before, most of them: an idle
      // worker's turns of its event loop did not deliver messages).
      let late = 0;
      for (let i = 0; i < 200; i++) {
        await io.flushStats();
        if (io.outstandingMessages !== 0) late++;
        await new Promise((r) => setTimeout(r, Math.random() * 3));
      }
      await waitFor(() => io.outstandingMessages === 0, 2000, "no outstanding message");
      assert.deepEqual(failures, []);
      assert.ok(late < 20, `${late} of 200 flushes were not picked up within 500 ms`);
    } finally {
      await io.stop();
    }
  },
});

/** One I/O worker's wait in the `server.io_batch_delay` object of `stats-json`. */
interface WorkerWait {
  seconds: number;
  chained: boolean;
}

/** Ask `count` Information-requests at once; the DNS servers of every answer. */
async function askMany(client: RelayClient, count: number): Promise<string[][]> {
  for (let i = 0; i < count; i++) await client.send(informationRequest());
  const answers: string[][] = [];
  for (let i = 0; i < count; i++) {
    const reply = await client.receive(3000);
    if (!reply) break;
    answers.push(dnsServers(reply));
  }
  return answers;
}

/**
 * A server started on `configText` (written to its own folder, where a test may rewrite it and
 * reload), with a relay client on its port and a count of the reloads its log reports.
 */
async function reloadableServer(configText: (port: number) => string) {
  const dir = makeWorkDir();
  const port = freeUdpPort();
  const conf = join(dir, "server.conf");
  writeConfig(conf, configText(port));
  const server = await startServer(dir, ["-vv"]);
  const client = new RelayClient(port);
  const reloads = () => server.stderr().split("Configuration reloaded").length - 1;
  return { dir, port, conf, server, client, reloads };
}

ffiTest("ffi backend: two I/O workers share the sockets; reloads switch both", async () => {
  // A long io-batch-delay: requests that arrive one by one are held back at most that long.
  const { dir, port, conf, server, client, reloads } = await reloadableServer((port) =>
    "io-batch-delay 0.02\n" + config("ffi", port, "2001:db8::53", 2)
  );
  try {
    // As many as the machine has CPUs, up to 2 (test machines have 2).
    const threads = ioWorkerCount(2);
    const ready = new RegExp(
      `Ready to handle requests on unicast ::1 \\(${threads} I/O workers?\\)`,
    );
    await waitFor(() => ready.test(server.stderr()), 5000, `${threads} I/O workers ready`);
    const first = await askMany(client, 200);
    assert.equal(first.length, 200, "every request answered once");
    assert.ok(first.every((d) => d.join() === "2001:db8::53"));

    // Same listeners and workers: both rebuild their engines, and switch together.
    writeConfig(conf, config("ffi", port, "2001:db8::99", 2));
    await ctl(server.socket, "reload");
    await waitFor(() => reloads() === 1, 10_000, "the reload");
    const second = await askMany(client, 200);
    assert.equal(second.length, 200);
    assert.ok(second.every((d) => d.join() === "2001:db8::99"), "no worker kept the old engine");

    // Only the number of workers changes: the sockets are kept (no request is refused).
    writeConfig(conf, config("ffi", port, "2001:db8::77", 1));
    await ctl(server.socket, "reload");
    await waitFor(() => reloads() === 2, 10_000, "the second reload");
    const third = await askMany(client, 50);
    assert.equal(third.length, 50);
    assert.ok(third.every((d) => d.join() === "2001:db8::77"));

    await waitFor(
      async () => {
        const g = (await stats(server)).global as Record<string, number>;
        return g.incoming_packets === 450 && g.outgoing_packets === 450;
      },
      5000,
      "450 requests counted once each",
    );
    assert.equal((await ctl(server.socket, "shutdown")).stdout, "Shutting down\n");
    const status = await server.status;
    assert.equal(status.code, 0, server.stderr());
    assert.doesNotMatch(server.stderr(), /did not stop in time|I\/O worker( \d+)?:/);
  } finally {
    client.close();
    await server.kill();
    Deno.removeSync(dir, { recursive: true });
  }
});

ffiTest(
  "ffi backend: io-batch-delay auto measures and answers; reloads to a fixed wait and back",
  async () => {
    const { dir, port, conf, server, client, reloads } = await reloadableServer((port) =>
      "io-batch-delay auto\n" + config("ffi", port, "2001:db8::53", 0)
    );
    /** Requests one by one (each waits for its answer) for `ms`: the guard's warm-up and windows. */
    const oneByOne = async (ms: number) => {
      let asked = 0, answered = 0;
      for (const end = Date.now() + ms; Date.now() < end; asked++) {
        await client.send(informationRequest());
        if (await client.receive(3000)) answered++;
      }
      return [asked, answered];
    };
    /** The one I/O worker's wait as `stats-json` reports it, once `ok` holds for it. */
    const reported = async (ok: (d: WorkerWait) => boolean, what: string) => {
      for (const end = Date.now() + 5000;; await new Promise((r) => setTimeout(r, 50))) {
        const last = ((await stats(server)).server as Record<string, unknown>).io_batch_delay as
          | { workers: Record<string, WorkerWait> }
          | undefined;
        const workers = Object.values(last?.workers ?? {});
        if (workers.length === 1 && ok(workers[0])) return;
        if (Date.now() > end) assert.fail(`${what}: stats-json has ${JSON.stringify(last)}`);
      }
    };
    /** Reload to `delay` with `dns` (the `n`-th reload); every answer has the new DNS server. */
    const reloadTo = async (delay: string, dns: string, n: number) => {
      writeConfig(conf, `io-batch-delay ${delay}\n` + config("ffi", port, dns, 0));
      await ctl(server.socket, "reload");
      await waitFor(() => reloads() === n, 10_000, `reload ${n}, to io-batch-delay ${delay}`);
      const answers = await askMany(client, 50);
      assert.ok(answers.length === 50 && answers.every((d) => d.join() === dns));
    };
    try {
      await waitFor(() => /Ready to handle requests/.test(server.stderr()), 5000, "ready");
      // Past the guard's warm-up and a whole window's time, so reply delays are judged.
      const [asked, answered] = await oneByOne(WARMUP_MS + WINDOW_MS + 1000);
      assert.ok(asked > 100, `${asked} requests`);
      assert.equal(answered, asked, "every request answered");
      // Wherever the guard took it, auto's wait is between its floor and its maximum.
      await reported((d) => d.seconds >= 0.0005 && d.seconds <= 0.001, "auto's wait");
      await reloadTo("0.0005", "2001:db8::99", 1);
      await reported((d) => d.seconds === 0.0005 && !d.chained, "the fixed 0.5 ms");
      await reloadTo("auto", "2001:db8::77", 2);
      // A fresh guard starts at its floor.
      await reported((d) => d.seconds === 0.0005 && !d.chained, "auto's floor after the reload");
      // The kernel gave timestamps and nothing in the guard's path threw.
      assert.doesNotMatch(
        server.stderr(),
        /receive timestamps refused|I\/O loop:|handling a batch/,
      );
      assert.equal((await ctl(server.socket, "shutdown")).stdout, "Shutting down\n");
      assert.equal((await server.status).code, 0, server.stderr());
    } finally {
      client.close();
      await server.kill();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

for (const workers of [0, 2]) {
  e2eTest(
    `ffi backend: dhclient -6 -S gets its information through listen-interface (multicast), ` +
      `workers ${workers}`,
    { root: true, commands: { ...DHCLIENT, tshark: "tshark" } },
    () =>
      withTopology(async (t) => {
        const { srv, cli, serverLinkLocal } = await directTopology(t);
        const server = await t.startServer({
          namespace: srv,
          config:
            `io-backend ffi\nworkers ${workers}\n${serverIdConfig()}\n<listen-interface srv0 />\n\n${INFORMATION_CONFIG}`,
          denoFlags: ["--allow-ffi"],
        });
        const capture = await startCapture(t, srv, "srv0");
        const { dir } = await startDhclient(
          t,
          cli,
          ["-S"],
          "dhclient",
          "request dhcp6.name-servers, dhcp6.domain-search;\n",
        );
        const env = await t.waitRecorded(dir, /^(INFORM6|RENEW6|BOUND6)$/);
        assert.deepEqual(env.new_dhcp6_name_servers?.split(/\s+/), [
          "2001:db8::53",
          "2001:db8::153",
        ]);
        assert.deepEqual(env.new_dhcp6_domain_search?.split(/\s+/), [
          "example.com.",
          "example.net.",
        ]);
        await capture.stop();
        const messages = await capture.decode();
        const requests = messages.filter((m) => m.type === "information-request");
        const replies = messages.filter((m) => m.type === "reply");
        assert.ok(requests.length > 0 && replies.length > 0, JSON.stringify(messages));
        // Every I/O worker waits on the multicast socket: still one answer per request.
        assert.ok(replies.length <= requests.length, JSON.stringify(messages));
        assert.equal(requests[0].dst, "ff02::1:2", "the request was multicast");
        for (const m of replies) {
          assert.equal(m.src, serverLinkLocal, "sent from the server's link-local address");
          assert.equal(m.sport, 547);
          assert.equal(m.dport, 546);
        }
        assert.match(server.log, /Worker-\d: \[DEBUG\] .*answering information-request/);
      }),
  );
}
