/**
 * Logging: syslog formats and transports, file rotation, levels and packet ids, and outputs that
 * fail or block without holding anything up.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { getLogger } from "@logtape/logtape";
import { formatIssue, loadConfigText } from "../../src/config/mod.ts";
import {
  ConsoleOutput,
  FileOutput,
  type LogLine,
  type LogOutput,
  nextRollover,
  SyslogOutput,
} from "../../src/server/log_outputs.ts";
import {
  LogSystem,
  setPacketId,
  setupWorkerLogging,
  wantedLevel,
} from "../../src/server/logging.ts";
import { setLogClient } from "../../src/pipeline/log_context.ts";
import { LinkLayerDuid } from "../../src/protocol/mod.ts";
import { freeUdpPort } from "./helpers.ts";

function line(message: string, level = 20, time = Date.now()): LogLine {
  return { time, level, process: "Main", message };
}

function loggingConfig(dir: string, body: string) {
  const result = loadConfigText(`<logging>\n${body}\n</logging>\n`, join(dir, "test.conf"), {
    hostChecks: false,
  });
  assert.ok(result.config, JSON.stringify(result.errors));
  return result.config.logging;
}

async function receiveWithin<T>(p: Promise<T>, ms = 3000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error("timeout")), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const SYSLOG_LINE =
  /^<(\d+)>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ dhcpkit\[\d+\]: Main: \[(\w+)\] (.*)$/;

Deno.test("syslog lines arrive at a Unix datagram socket with the configured facility", async () => {
  const dir = Deno.makeTempDirSync();
  const path = join(dir, "log.sock");
  const sock = Deno.listenDatagram({ transport: "unixpacket", path });
  const system = new LogSystem();
  try {
    await system.apply(
      loggingConfig(dir, `<syslog ${path}>\n facility local3\n level info\n</syslog>`),
      "critical",
    );
    const log = getLogger(["dhcpkit", "test"]);
    log.info("hello {who}", { who: "syslog" });
    log.debug("not sent: below the level");
    log.error("something broke");
    const decoder = new TextDecoder();
    const first = decoder.decode((await receiveWithin(sock.receive()))[0]);
    const second = decoder.decode((await receiveWithin(sock.receive()))[0]);
    const m1 = SYSLOG_LINE.exec(first);
    assert.ok(m1, first);
    assert.equal(Number(m1[1]), 19 * 8 + 6, "local3.info");
    assert.equal(m1[2], "INFO");
    assert.equal(m1[3], "hello syslog");
    const m2 = SYSLOG_LINE.exec(second);
    assert.ok(m2, second);
    assert.equal(Number(m2[1]), 19 * 8 + 3, "local3.err");
    assert.equal(m2[3], "something broke");
  } finally {
    await system.close();
    sock.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("syslog over a Unix stream socket, UDP and TCP", async () => {
  const dir = Deno.makeTempDirSync();
  const streamPath = join(dir, "stream.sock");
  const stream = Deno.listen({ transport: "unix", path: streamPath });
  const udpPort = freeUdpPort();
  const udp = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: udpPort });
  const tcp = Deno.listen({ hostname: "::1", port: 0 });
  const tcpPort = (tcp.addr as Deno.NetAddr).port;
  const outputs = [
    new SyslogOutput({
      threshold: 0,
      destination: { kind: "socket", path: streamPath },
      facility: "daemon",
      protocol: "stream",
    }),
    new SyslogOutput({
      threshold: 0,
      destination: { kind: "inet", host: "127.0.0.1", port: udpPort },
      facility: "user",
      protocol: "dgram",
    }),
    new SyslogOutput({
      threshold: 0,
      destination: { kind: "inet", host: "::1", port: tcpPort },
      facility: "local7",
      protocol: "stream",
    }),
  ];
  try {
    for (const o of outputs) o.write(line("over the wire", 30));
    const readLine = async (conn: Deno.Conn) => {
      const buf = new Uint8Array(4096);
      let text = "";
      while (!text.includes("\n")) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
      return text;
    };
    const s = await receiveWithin(stream.accept());
    const streamText = await receiveWithin(readLine(s));
    assert.match(streamText, /^<28>.* dhcpkit\[\d+\]: Main: \[WARNING\] over the wire\n$/);
    s.close();
    const udpText = new TextDecoder().decode((await receiveWithin(udp.receive()))[0]);
    assert.match(udpText, /^<12>.*over the wire$/);
    const t = await receiveWithin(tcp.accept());
    assert.match(await receiveWithin(readLine(t)), /^<188>.*over the wire\n$/);
    t.close();
  } finally {
    for (const o of outputs) await o.close(200);
    stream.close();
    udp.close();
    tcp.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a syslog target that is down: lines dropped and counted, reported once", async () => {
  const port = (() => {
    const l = Deno.listen({ hostname: "::1", port: 0 });
    const p = (l.addr as Deno.NetAddr).port;
    l.close();
    return p;
  })();
  const reports: string[] = [];
  const out = new SyslogOutput({
    threshold: 0,
    destination: { kind: "inet", host: "::1", port },
    facility: "daemon",
    protocol: "stream",
    report: (_o, m) => reports.push(m),
  });
  for (let i = 0; i < 5; i++) {
    out.write(line(`line ${i}`));
    await out.flush();
  }
  assert.equal(out.dropped, 5);
  assert.equal(reports.length, 1, reports.join("\n"));
  assert.match(reports[0], /cannot write to log output syslog \[::1\]:\d+/);
  await out.close(100);
});

Deno.test("file rotation by size keeps the configured number of files", async () => {
  const dir = Deno.makeTempDirSync();
  const path = join(dir, "server.log");
  const out = new FileOutput({ threshold: 0, path, rotate: "size", size: 300, keep: 3 });
  try {
    for (let i = 0; i < 60; i++) {
      out.write(line(`message number ${i} with some padding to fill the file`));
      await out.flush();
    }
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, ["server.log", "server.log.1", "server.log.2", "server.log.3"]);
    for (const name of names) assert.ok(Deno.statSync(join(dir, name)).size <= 300, name);
    assert.match(Deno.readTextFileSync(path), /message number 59 /);
    assert.match(Deno.readTextFileSync(path + ".1"), /message number 5[0-8] /);
  } finally {
    await out.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("hourly rotation keeps the configured number of files", async () => {
  const dir = Deno.makeTempDirSync();
  const path = join(dir, "server.log");
  let now = new Date(2024, 0, 15, 10, 30).getTime();
  const out = new FileOutput({
    threshold: 0,
    path,
    rotate: "hourly",
    keep: 2,
    now: () => now,
  });
  try {
    out.open();
    for (let hour = 0; hour < 5; hour++) {
      out.write(line(`hour ${hour}`, 20, now));
      await out.flush();
      now += 3600_000;
    }
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, [
      "server.log",
      "server.log.2024-01-15_12",
      "server.log.2024-01-15_13",
    ]);
    assert.match(Deno.readTextFileSync(join(dir, "server.log.2024-01-15_13")), /hour 3/);
    assert.match(Deno.readTextFileSync(path), /hour 4/);
  } finally {
    await out.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("rollover times: hourly, daily and weekly (Monday)", () => {
  const t = new Date(2024, 0, 17, 13, 45).getTime(); // a Wednesday
  assert.equal(nextRollover("hourly", t), new Date(2024, 0, 17, 14, 0).getTime());
  assert.equal(nextRollover("daily", t), new Date(2024, 0, 18, 0, 0).getTime());
  assert.equal(nextRollover("weekly", t), new Date(2024, 0, 22, 0, 0).getTime());
  const monday = new Date(2024, 0, 22, 0, 0).getTime();
  assert.equal(nextRollover("weekly", monday), new Date(2024, 0, 29, 0, 0).getTime());
});

Deno.test("a full (or forbidden) log disk: lines dropped and counted, reported once", async () => {
  const reports: string[] = [];
  const out = new FileOutput({
    threshold: 0,
    path: "/dev/full",
    report: (_o, m) => reports.push(m),
  });
  for (let i = 0; i < 4; i++) {
    out.write(line(`line ${i}`));
    await out.flush();
  }
  assert.equal(out.dropped, 4);
  assert.equal(reports.length, 1);
  // ENOSPC with --allow-all; without it Deno refuses device files, which is handled the same way.
  assert.match(reports[0], /cannot write to log output file \/dev\/full: .*(space|access)/i);
  await out.close();
});

Deno.test("an output that blocks: bounded buffer, drops counted, reported once", async () => {
  const reports: string[] = [];
  let release!: () => void;
  const blocked = new Promise<void>((r) => release = r);
  const out = new ConsoleOutput({
    threshold: 0,
    capacity: 10,
    color: false,
    report: (_o: LogOutput, m: string) => reports.push(m),
    writer: {
      write: async (p: Uint8Array) => {
        await blocked;
        return p.length;
      },
    },
  });
  for (let i = 0; i < 25; i++) out.write(line(`line ${i}`));
  // The first line is being written; ten wait; the rest are dropped.
  assert.equal(out.dropped, 14);
  assert.equal(reports.length, 1);
  assert.match(reports[0], /not keeping up/);
  release();
  await out.flush();
  assert.equal(reports.length, 2);
  assert.match(reports[1], /works again; 14 lines were lost/);
  await out.close();
});

Deno.test("levels: debug-handling excludes packet lines; packet ids prefix lines", async () => {
  const dir = Deno.makeTempDirSync();
  const path = join(dir, "x.log");
  const system = new LogSystem();
  try {
    await system.apply(
      loggingConfig(dir, `<file ${path}>\n level debug-handling\n</file>`),
      "critical",
    );
    assert.equal(system.level, "debug-handling");
    getLogger(["dhcpkit", "packets"]).trace("packet line");
    getLogger(["dhcpkit", "pipeline"]).trace("handling line");
    setPacketId("#00002A");
    getLogger(["dhcpkit", "pipeline"]).debug("inside a packet");
    getLogger(["dhcpkit", "pipeline"]).debug("#00002A: already prefixed");
    setPacketId(undefined);
    await system.flush();
    const text = Deno.readTextFileSync(path);
    assert.doesNotMatch(text, /packet line/);
    assert.match(text, /Main: \[HANDLING\] handling line\n/);
    assert.match(text, /Main: \[DEBUG\] #00002A: inside a packet\n/);
    assert.match(text, /\[DEBUG\] #00002A: already prefixed\n/);
    assert.match(text, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} Main: /);
  } finally {
    await system.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("wantedLevel: the most verbose of the outputs and -v", () => {
  const dir = "/tmp";
  assert.equal(wantedLevel(undefined), "error");
  assert.equal(wantedLevel(undefined, "debug-packets"), "debug-packets");
  const config = loggingConfig(
    dir,
    "<console>\n level info\n</console>\n<syslog /dev/log>\n level debug\n</syslog>",
  );
  assert.equal(wantedLevel(config), "debug");
  assert.equal(wantedLevel(config, "critical"), "debug");
});

Deno.test("workers forward their lines in batches, with a bounded buffer", async () => {
  const batches: Array<[LogLine[], number]> = [];
  await setupWorkerLogging("info", 3, (lines, dropped) => batches.push([lines, dropped]), false, 5);
  try {
    const log = getLogger(["dhcpkit", "pipeline"]);
    setPacketId("#000007");
    for (let i = 0; i < 8; i++) log.info("line {i}", { i });
    log.debug("below the level");
    setPacketId(undefined);
    getLogger(["dhcpkit", "workers"]).info("pool machinery, not wanted");
    await Promise.resolve();
    assert.equal(batches.length, 1);
    const [lines, dropped] = batches[0];
    assert.equal(lines.length, 5);
    assert.equal(dropped, 3);
    assert.equal(lines[0].process, "Worker-3");
    assert.equal(lines[0].message, "#000007: line 0");
    assert.equal(lines[0].level, 20);
  } finally {
    await new LogSystem().apply(undefined, "critical");
  }
});

/** The lines of a text file (none when it does not exist). */
function fileLines(path: string): string[] {
  try {
    return Deno.readTextFileSync(path).split("\n").filter((l) => l !== "");
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

Deno.test("reopen: after a rename new lines go to a new file; none is lost or written twice", async () => {
  const dir = Deno.makeTempDirSync();
  const path = join(dir, "server.log");
  const system = new LogSystem();
  try {
    await system.apply(loggingConfig(dir, `<file ${path}>\n level info\n</file>`), "critical");
    const log = getLogger(["dhcpkit", "test"]);
    for (let i = 0; i < 5; i++) log.info("before {i}", { i });
    await system.flush();
    Deno.renameSync(path, path + ".1"); // what logrotate does
    // Logged while the first of them is being written, around the reopen and after it.
    for (let i = 0; i < 50; i++) log.info("during {i}", { i });
    const reopening = system.reopen();
    for (let i = 0; i < 50; i++) log.info("racing {i}", { i });
    assert.deepEqual(await reopening, []);
    for (let i = 0; i < 5; i++) log.info("after {i}", { i });
    await system.flush();
    const rotated = fileLines(path + ".1");
    const current = fileLines(path);
    const messages = (lines: string[]) => lines.map((l) => l.replace(/^.*\[INFO\] /, ""));
    const expected = [
      ...Array.from({ length: 5 }, (_, i) => `before ${i}`),
      ...Array.from({ length: 50 }, (_, i) => `during ${i}`),
      ...Array.from({ length: 50 }, (_, i) => `racing ${i}`),
      ...Array.from({ length: 5 }, (_, i) => `after ${i}`),
    ];
    assert.deepEqual([...messages(rotated), ...messages(current)], expected);
    assert.ok(messages(rotated).slice(0, 5).every((m) => m.startsWith("before")));
    assert.ok(!rotated.some((l) => /racing|after/.test(l)), "the renamed file got new lines");
    assert.ok(current.some((l) => /racing 0$/.test(l)), current.join("\n"));
  } finally {
    await system.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("reopen: a file that cannot be opened again is one problem line, logged elsewhere", async () => {
  const dir = Deno.makeTempDirSync();
  const logDir = join(dir, "logs");
  Deno.mkdirSync(logDir);
  const path = join(logDir, "server.log");
  const written: string[] = [];
  const system = new LogSystem();
  try {
    await system.apply(loggingConfig(dir, `<file ${path}>\n level info\n</file>`), "critical");
    // The console output is replaced by one that records what it is told.
    system.outputs[0] = new ConsoleOutput({
      threshold: 40,
      color: false,
      writer: {
        write: (p: Uint8Array) => {
          written.push(new TextDecoder().decode(p));
          return Promise.resolve(p.length);
        },
      },
    });
    Deno.renameSync(logDir, join(dir, "gone"));
    const problems = await system.reopen();
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(problems[0], new RegExp(`^cannot reopen log file ${path}: .*No such file`));
    await system.flush();
    assert.match(written.join(""), /\[ERROR\] cannot reopen log file .*server\.log/);
    // Once the folder is back the next line creates the file again.
    Deno.mkdirSync(logDir);
    getLogger(["dhcpkit", "test"]).info("back again");
    await system.flush();
    assert.match(Deno.readTextFileSync(path), /back again/);
  } finally {
    await system.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a reload with unchanged logging reopens the files (SIGHUP after logrotate)", async () => {
  const dir = Deno.makeTempDirSync();
  const path = join(dir, "server.log");
  const system = new LogSystem();
  try {
    const config = loggingConfig(dir, `<file ${path}>\n level info\n</file>`);
    await system.apply(config, "critical");
    const log = getLogger(["dhcpkit", "test"]);
    log.info("first");
    await system.flush();
    const output = system.outputs[1];
    Deno.renameSync(path, path + ".1");
    await system.apply(loggingConfig(dir, `<file ${path}>\n level info\n</file>`), "critical");
    assert.equal(system.outputs[1], output, "the output is kept (with its counters)");
    log.info("second");
    await system.flush();
    assert.match(Deno.readTextFileSync(path + ".1"), /first\n$/);
    assert.match(Deno.readTextFileSync(path), /\[INFO\] second\n$/);
  } finally {
    await system.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

Deno.test("format json: one object a line with time, level, logger, message, packet id, client", async () => {
  const dir = Deno.makeTempDirSync();
  const path = join(dir, "server.log");
  const system = new LogSystem();
  try {
    await system.apply(
      loggingConfig(dir, `<file ${path}>\n format json\n level debug-handling\n</file>`),
      "critical",
    );
    const before = Date.now();
    getLogger(["dhcpkit", "server"]).info("Listening on {listener}", { listener: "[::1]:547" });
    setPacketId("#00002A");
    getLogger(["dhcpkit", "pipeline"]).debug("{id}: received {size} bytes", {
      id: "#00002A",
      size: 60,
    });
    setLogClient({ clientDuid: new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, 9])) });
    getLogger(["dhcpkit", "pipeline"]).trace("answering with {type}\nsecond line", () => ({
      type: "Reply",
      error: new RangeError("bad"),
      big: 10n,
      list: [1, 2],
    }));
    setPacketId(undefined);
    getLogger(["dhcpkit", "workers"]).warning("Worker {id} died", { id: 3 });
    await system.flush();
    const text = Deno.readTextFileSync(path);
    const lines = text.split("\n");
    assert.equal(lines.pop(), "", "ends with a newline");
    assert.equal(lines.length, 4, text);
    const objects = lines.map((l) => JSON.parse(l));
    for (const o of objects) {
      assert.match(o.time, ISO_UTC);
      assert.ok(Date.parse(o.time) >= before - 1 && Date.parse(o.time) <= Date.now(), o.time);
      assert.equal(o.process, "Main");
    }
    assert.deepEqual(objects.map((o) => [o.level, o.logger]), [
      ["info", "dhcpkit.server"],
      ["debug", "dhcpkit.pipeline"],
      ["debug-handling", "dhcpkit.pipeline"],
      ["warning", "dhcpkit.workers"],
    ]);
    assert.equal(objects[0].message, "Listening on [::1]:547");
    assert.deepEqual(objects[0].properties, { listener: "[::1]:547" });
    assert.equal(objects[0].packet_id, undefined);
    assert.equal(objects[0].client, undefined);
    assert.equal(objects[1].message, "#00002A: received 60 bytes");
    assert.equal(objects[1].packet_id, "#00002A");
    assert.equal(objects[1].client, undefined, "no client before the request is parsed");
    assert.deepEqual(objects[1].properties, { size: 60 });
    assert.equal(objects[2].message, "#00002A: answering with Reply\nsecond line");
    assert.equal(objects[2].packet_id, "#00002A");
    assert.equal(objects[2].client, "00030001020000000009");
    assert.deepEqual(objects[2].properties, {
      type: "Reply",
      error: "RangeError: bad",
      big: "10",
      list: "[ 1, 2 ]",
    });
    // A worker number is not a packet id.
    assert.equal(objects[3].packet_id, undefined);
    assert.deepEqual(objects[3].properties, { id: 3 });
  } finally {
    await system.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("format: text by default, json on request, anything else a FILE:LINE error", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const format = (config: ReturnType<typeof loggingConfig>, i: number) =>
      (config.handlers[i].values as { format?: string }).format;
    const json = loggingConfig(dir, "<console>\n format json\n color yes\n</console>");
    assert.equal(format(json, 0), "json");
    const plain = loggingConfig(dir, `<console />\n<file ${dir}/x.log />`);
    assert.equal(format(plain, 0), "text");
    assert.equal(format(plain, 1), "text");
    const bad = loadConfigText(
      "<logging>\n<console>\n format xml\n</console>\n</logging>\n",
      join(dir, "t.conf"),
      { hostChecks: false },
    );
    assert.match(
      bad.errors.map(formatIssue).join("\n"),
      /t\.conf:3: .*`xml` is not a valid log format/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("format json on the console: JSON lines, never coloured", async () => {
  const written: string[] = [];
  const out = new ConsoleOutput({
    threshold: 0,
    color: true,
    format: "json",
    writer: {
      write: (p: Uint8Array) => {
        written.push(new TextDecoder().decode(p));
        return Promise.resolve(p.length);
      },
    },
  });
  out.write({ ...line("hello", 30), logger: "dhcpkit.test", packetId: "#000001" });
  await out.flush();
  await out.close();
  const text = written.join("");
  assert.ok(!text.includes("\x1b"), "no colour codes");
  const o = JSON.parse(text);
  assert.equal(o.level, "warning");
  assert.equal(o.message, "hello");
  assert.equal(o.logger, "dhcpkit.test");
  assert.equal(o.packet_id, "#000001");
  assert.equal(text.endsWith("}\n"), true);
});

Deno.test("workers forward the structured parts of their lines (structured-cloneable)", async () => {
  const batches: LogLine[][] = [];
  await setupWorkerLogging("debug", 2, (lines) => batches.push(lines));
  try {
    setPacketId("#0000FF");
    setLogClient({ clientDuid: new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, 1])) });
    getLogger(["dhcpkit", "pipeline"]).debug("not answering {bundle}: {error}", {
      bundle: "Solicit from x",
      error: new Error("nope"),
    });
    setPacketId(undefined);
    await Promise.resolve();
    const [sent] = structuredClone(batches[0]);
    assert.equal(sent.process, "Worker-2");
    assert.equal(sent.logger, "dhcpkit.pipeline");
    assert.equal(sent.packetId, "#0000FF");
    assert.equal(sent.client, "00030001020000000001");
    assert.deepEqual(sent.properties, { bundle: "Solicit from x", error: "Error: nope" });
  } finally {
    await new LogSystem().apply(undefined, "critical");
  }
});

/** RFC 5424 with no structured data: PRI, version, timestamp, host, app, procid, msgid. */
const RFC5424 =
  /^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)) ([\x21-\x7e]{1,255}) ([\x21-\x7e]{1,48}) ([\x21-\x7e]{1,128}) ([\x21-\x7e]{1,32}) (-|(?:\[[^\]]+\])+)(?: (.*))?$/s;

Deno.test("syslog format rfc5424 over UDP: strict header, PRI from facility and level", async () => {
  const dir = Deno.makeTempDirSync();
  const port = freeUdpPort();
  const udp = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port });
  const system = new LogSystem();
  try {
    await system.apply(
      loggingConfig(
        dir,
        `<syslog 127.0.0.1:${port}>\n format rfc5424\n facility local3\n level info\n</syslog>`,
      ),
      "critical",
    );
    const before = Date.now();
    getLogger(["dhcpkit", "server"]).info("hello {who}", { who: "syslog" });
    getLogger(["dhcpkit", "server"]).debug("below the level");
    getLogger(["dhcpkit", "pipeline"]).error("something broke");
    const decoder = new TextDecoder();
    const messages = [
      decoder.decode((await receiveWithin(udp.receive()))[0]),
      decoder.decode((await receiveWithin(udp.receive()))[0]),
    ];
    const parsed = messages.map((m) => {
      const match = RFC5424.exec(m);
      assert.ok(match, m);
      return match;
    });
    const [first, second] = parsed;
    assert.equal(Number(first[1]), 19 * 8 + 6, "local3.info");
    assert.equal(Number(second[1]), 19 * 8 + 3, "local3.err");
    for (const m of parsed) {
      assert.match(m[2], ISO_UTC);
      const t = Date.parse(m[2]);
      assert.ok(t >= before - 1 && t <= Date.now(), m[2]);
      assert.equal(m[3], Deno.hostname());
      assert.equal(m[4], "dhcpkit");
      assert.equal(m[5], String(Deno.pid));
      assert.equal(m[7], "-");
    }
    assert.equal(first[6], "dhcpkit.server");
    assert.equal(first[8], "Main: [INFO] hello syslog");
    assert.equal(second[6], "dhcpkit.pipeline");
    assert.equal(second[8], "Main: [ERROR] something broke");
  } finally {
    await system.close();
    udp.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("syslog format rfc5424 over TCP: octet-counted frames", async () => {
  const tcp = Deno.listen({ hostname: "::1", port: 0 });
  const port = (tcp.addr as Deno.NetAddr).port;
  const out = new SyslogOutput({
    threshold: 0,
    destination: { kind: "inet", host: "::1", port },
    facility: "daemon",
    protocol: "stream",
    format: "rfc5424",
  });
  try {
    out.write({ ...line("first: ünïcode", 30), logger: "dhcpkit.a" });
    out.write({ ...line("second\nline", 20), logger: "x".repeat(40) });
    const conn = await receiveWithin(tcp.accept());
    const received: number[] = [];
    const buf = new Uint8Array(4096);
    const frames: string[] = [];
    const decoder = new TextDecoder();
    while (frames.length < 2) {
      const n = await receiveWithin(conn.read(buf));
      if (n === null) break;
      received.push(...buf.subarray(0, n));
      // Take whole frames: "LEN SP MSG".
      while (true) {
        const space = received.indexOf(0x20);
        if (space < 0) break;
        const length = Number(decoder.decode(new Uint8Array(received.slice(0, space))));
        assert.ok(Number.isInteger(length) && length > 0);
        if (received.length < space + 1 + length) break;
        frames.push(decoder.decode(new Uint8Array(received.slice(space + 1, space + 1 + length))));
        received.splice(0, space + 1 + length);
      }
    }
    conn.close();
    assert.equal(frames.length, 2);
    const a = RFC5424.exec(frames[0]);
    const b = RFC5424.exec(frames[1]);
    assert.ok(a && b, frames.join(" | "));
    assert.equal(Number(a[1]), 3 * 8 + 4);
    assert.equal(a[6], "dhcpkit.a");
    assert.equal(a[8], "Main: [WARNING] first: ünïcode");
    assert.equal(b[6], "x".repeat(32), "MSGID is at most 32 characters");
    assert.equal(b[8], "Main: [INFO] second\nline");
  } finally {
    await out.close(200);
    tcp.close();
  }
});
