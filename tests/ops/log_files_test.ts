/**
 * Log files of a real server: reopened after logrotate (or an operator) renamed them, with the
 * shipped logrotate snippet run by the real `logrotate`, and JSON lines as the operator guide
 * shows them.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { sendControlCommand } from "../../cli/ctl.ts";
import { INFORMATION_CONFIG } from "../helpers/server.ts";
import {
  baseConfig,
  exists,
  freeUdpPort,
  informationRequest,
  MAIN,
  makeWorkDir,
  RelayClient,
  ROOT,
  type RunningServer,
  startServer,
  waitFor,
  writeConfig,
} from "./helpers.ts";

const SNIPPET = join(ROOT, "systemd/dhcpkit.logrotate");
const GUIDE = join(ROOT, "docs/operator-guide.md");
/** The DUID of `informationRequest()`'s client, in hex. */
const CLIENT = "00030001020000000001";

function logrotatePath(): string | undefined {
  for (const dir of ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]) {
    try {
      Deno.statSync(join(dir, "logrotate"));
      return join(dir, "logrotate");
    } catch {
      // next
    }
  }
  return undefined;
}

const LOGROTATE = logrotatePath();
const NO_LOGROTATE = "needs logrotate (Debian package logrotate)";

/** A test that is skipped, with a note saying why, when logrotate is not installed. */
function logrotateTest(name: string, fn: () => Promise<void>): void {
  if (!LOGROTATE) console.log(`note: skipping "${name}": ${NO_LOGROTATE}`);
  Deno.test({ name, ignore: !LOGROTATE, fn });
}

/** A log folder logrotate accepts (not world-writable), inside the server's work folder. */
/**
 * The log folder: root's (0755) in a folder the service user cannot change (the server's work
 * folder is writable by everyone, which would let the service user swap the log folder, so the
 * server would not write there as root), like /var/log/dhcpkit.
 */
function makeLogDir(): string {
  const logs = Deno.makeTempDirSync({ prefix: "dhcpkit-logs-" });
  Deno.chmodSync(logs, 0o755);
  return logs;
}

function read(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "";
    throw e;
  }
}

/** Ask for information and wait for the answer. */
async function askInformation(port: number): Promise<void> {
  const client = new RelayClient(port);
  try {
    assert.ok(await client.ask(informationRequest()), "the server answers");
  } finally {
    client.close();
  }
}

/** The packet ids in text log lines that name `CLIENT` (one request each). */
function requestIds(text: string): string[] {
  return [...text.matchAll(new RegExp(`(#[0-9A-F]{6}): answering .*${CLIENT}`, "g"))]
    .map((m) => m[1]);
}

async function withServer(
  logging: string,
  run: (server: RunningServer, port: number, log: string) => Promise<void>,
): Promise<void> {
  const dir = makeWorkDir();
  const logs = makeLogDir();
  const log = join(logs, "server.log");
  const port = freeUdpPort();
  writeConfig(
    join(dir, "server.conf"),
    baseConfig(port, "\n" + INFORMATION_CONFIG + "\n" + logging.replaceAll("LOGFILE", log)),
  );
  const server = await startServer(dir);
  try {
    await run(server, port, log);
  } finally {
    await server.kill();
    Deno.removeSync(dir, { recursive: true });
    Deno.removeSync(logs, { recursive: true });
  }
}

const TEXT_LOGGING = "<logging>\n<file LOGFILE>\n level debug\n</file>\n</logging>\n";

Deno.test("SIGHUP after the log file was renamed: the server writes a new file at the path", async () => {
  await withServer(TEXT_LOGGING, async (server, port, log) => {
    await askInformation(port);
    await waitFor(() => requestIds(read(log)).length === 1, 10_000, "the first request's lines");
    Deno.renameSync(log, log + ".1");
    server.child.kill("SIGHUP");
    await waitFor(() => read(log).includes("Configuration reloaded"), 10_000, "the new file");
    const rotated = read(log + ".1");
    await askInformation(port);
    await waitFor(() => requestIds(read(log)).length === 1, 10_000, "the second request");
    assert.equal(read(log + ".1"), rotated, "the renamed file got no more lines");
    assert.notEqual(requestIds(read(log))[0], requestIds(rotated)[0]);
  });
});

logrotateTest("the shipped logrotate snippet parses (logrotate -d)", async () => {
  // A copy: logrotate refuses configuration files that others may write, which a checkout
  // may well be.
  const dir = Deno.makeTempDirSync();
  try {
    const conf = join(dir, "dhcpkit");
    Deno.writeTextFileSync(conf, Deno.readTextFileSync(SNIPPET));
    Deno.chmodSync(conf, 0o644);
    const out = await new Deno.Command(LOGROTATE!, {
      args: ["-d", "-s", join(dir, "state"), conf],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.doesNotMatch(text, /^error:/m);
    assert.match(text, /rotating pattern: \/var\/log\/dhcpkit\/\*\.log\s+weekly \(8 rotations\)/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

logrotateTest(
  "logrotate with the shipped snippet: lines after the rotation land in the new file",
  async () => {
    await withServer(TEXT_LOGGING, async (server, port, log) => {
      await askInformation(port);
      await waitFor(() => requestIds(read(log)).length === 1, 10_000, "the first request's lines");
      // The shipped snippet, pointed at the test's folder, program and control socket.
      let snippet = Deno.readTextFileSync(SNIPPET);
      const replace = (from: string, to: string) => {
        assert.ok(snippet.includes(from), `the snippet has ${from}`);
        snippet = snippet.replaceAll(from, to);
      };
      replace("/var/log/dhcpkit/*.log", join(log, "../*.log"));
      replace("/run/dhcpkit/dhcpkit.sock", server.socket);
      const help = await sendControlCommand(server.socket, "help");
      if (help.output.some((l) => l.trim() === "reopen-logs")) {
        replace("/usr/local/bin/dhcpkit", `${Deno.execPath()} run --allow-all ${MAIN}`);
      } else {
        // A server without `reopen-logs` (this branch before the control socket learned it):
        // SIGHUP, which reloads and reopens the files.
        const postrotate = /postrotate\n[\s\S]*?\n(\s*)endscript/;
        assert.match(snippet, postrotate);
        snippet = snippet.replace(
          postrotate,
          `postrotate\n        kill -HUP $(cat ${server.pidFile})\n$1endscript`,
        );
      }
      const conf = join(server.dir, "logrotate.conf");
      Deno.writeTextFileSync(conf, snippet);
      Deno.chmodSync(conf, 0o644);
      const out = await new Deno.Command(LOGROTATE!, {
        args: ["-f", "-v", "-s", join(server.dir, "logrotate.state"), conf],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, text);
      assert.match(text, /running postrotate script/);
      // `reopen-logs` has reopened the file when it answers; a reload when it is done.
      await waitFor(() => exists(log), 10_000, "a new log file");
      const rotated = read(log + ".1");
      assert.equal(requestIds(rotated).length, 1, "the first request is in the rotated file");
      await askInformation(port);
      await waitFor(() => requestIds(read(log)).length === 1, 10_000, "the second request");
      assert.equal(read(log + ".1"), rotated, "the rotated file got no more lines");
      assert.notEqual(requestIds(read(log))[0], requestIds(rotated)[0]);
      assert.ok(!server.stderr().includes("cannot"), server.stderr());
    });
  },
);

/** The first ```LANG block in the operator guide's Logs section. */
function guideBlock(lang: string): string {
  const guide = Deno.readTextFileSync(GUIDE);
  const start = guide.indexOf("\n## Logs\n");
  assert.ok(start >= 0, "the operator guide has a Logs section");
  const section = guide.slice(start, guide.indexOf("\n## ", start + 1));
  const match = new RegExp("```" + lang + "\n([\\s\\S]*?)\n```").exec(section);
  assert.ok(match, `a ${lang} block in the Logs section`);
  return match[1] + "\n";
}

Deno.test("format json: every line of a real server's console and file is a JSON object", async () => {
  // The guide's example, with a console in the same format and the file in a test folder.
  const example = guideBlock("conf");
  assert.ok(example.includes("/var/log/dhcpkit/dhcpkit.log"));
  const logging = example.replace("/var/log/dhcpkit/dhcpkit.log", "LOGFILE").replace(
    "<logging>\n",
    "<logging>\n<console>\n level debug-packets\n format json\n</console>\n",
  );
  await withServer(logging, async (server, port, log) => {
    await askInformation(port);
    await waitFor(() => read(log).includes(`"client":"${CLIENT}"`), 10_000, "the request");
    await server.kill();
    const parse = (where: string, text: string) => {
      const lines = text.split("\n");
      assert.equal(lines.pop(), "", `${where} ends with a newline`);
      assert.ok(lines.length > 3, `${where}: ${text}`);
      return lines.map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          assert.fail(`${where}: not JSON: ${l}`);
        }
      });
    };
    const file = parse("the log file", read(log));
    const stderr = parse("standard error", server.stderr());
    const keys = Object.keys(JSON.parse(guideBlock("jsonl")));
    for (const o of [...file, ...stderr]) {
      assert.match(String(o.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(Math.abs(Date.parse(String(o.time)) - Date.now()) < 120_000, String(o.time));
      assert.match(String(o.level), /^(critical|error|warning|info|debug(-handling|-packets)?)$/);
      assert.match(String(o.logger), /^dhcpkit(\.[a-z-]+)+$/);
      assert.match(String(o.process), /^(Main|Worker-\d+)$/);
      assert.equal(typeof o.message, "string");
      for (const key of Object.keys(o)) assert.ok(keys.includes(key), `unexpected key ${key}`);
    }
    for (const [where, lines] of [["file", file], ["console", stderr]] as const) {
      const answer = lines.find((o) => String(o.message).includes("answering"));
      assert.ok(answer, `${where}: the answer is logged`);
      // The guide's example line is such a line: same keys in the same order, same values
      // but for the time, the packet id and the thread.
      const normal = (o: Record<string, unknown>) =>
        JSON.parse(
          JSON.stringify({ ...o, time: "T", process: "P" }).replaceAll(
            String(o.packet_id),
            "#ID",
          ),
        );
      assert.deepEqual(Object.keys(answer), keys);
      assert.deepEqual(normal(answer), normal(JSON.parse(guideBlock("jsonl"))));
      assert.match(String(answer.packet_id), /^#[0-9A-F]{6}$/);
      assert.equal(answer.client, CLIENT);
      assert.equal(answer.logger, "dhcpkit.pipeline");
      assert.equal(answer.level, "debug");
      assert.ok(String(answer.message).startsWith(`${answer.packet_id}: answering`));
    }
    // At debug-packets the console also shows the packet arriving: same id, no client yet.
    const answer = stderr.find((o) => String(o.message).includes("answering"))!;
    const received = stderr.find((o) =>
      o.packet_id === answer.packet_id && String(o.message).includes("received")
    );
    assert.ok(received, "the received packet is logged with its id");
    assert.equal(received.client, undefined);
    assert.equal(received.level, "debug-packets");
    assert.equal(typeof (received.properties as Record<string, unknown>).size, "number");
    // The server's own lines (no request) are there too.
    assert.ok(file.some((o) => o.packet_id === undefined && o.level === "info"));
  });
});
