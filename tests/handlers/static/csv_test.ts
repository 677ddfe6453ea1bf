import assert from "node:assert/strict";
import { CsvFileError, loadCsvAssignments } from "../../../src/handlers/static/csv/mod.ts";
import { readAssignmentCsv } from "../../../src/handlers/static/csv/reader.ts";
import { Engine, loadServerConfig } from "../../../src/server/engine.ts";
import { type IAAddressOption, IANAOption } from "../../../src/protocol/mod.ts";
import { CLIENT_DUID, iana, run, SERVER_DUID } from "../../pipeline/helpers.ts";
import { CLIENT_DUID_HEX, solicit, tempDir } from "./fixtures.ts";

async function load(content: string | Uint8Array) {
  const { dir, cleanup } = tempDir();
  try {
    const path = `${dir}/a.csv`;
    if (typeof content === "string") Deno.writeTextFileSync(path, content);
    else Deno.writeFileSync(path, content);
    return { ...(await loadCsvAssignments(path)), path };
  } finally {
    cleanup();
  }
}

async function loadError(content: string | Uint8Array): Promise<string> {
  try {
    await load(content);
  } catch (e) {
    assert.ok(e instanceof CsvFileError, String(e));
    return e.message;
  }
  assert.fail("expected the file to be refused");
}

Deno.test("CSV quirks: BOM, CRLF, quoting, extra columns, column order, blank lines", async () => {
  const csv = "\ufeffcomment,ID,Prefix,Address,more\r\n" +
    'x,"duid:000300010011223344aa","2001:db8:100::/56","2001:db8::1",y,z\r\n' +
    "\r\n" +
    '"a, b","interface-id-str:Fa2/1, unit ""7""",,2001:db8::2\r\n' +
    "x,  remote-id:9:0102  , , 2001:db8::3 \n" + // stray spaces, LF only
    "x,subscriber-id:01,,2001:db8::4"; // no final newline
  const { source, problems } = await load(csv);
  assert.deepEqual(problems, []);
  assert.equal(source.size, 4);
  assert.equal(source.lookup(["duid:000300010011223344aa"])?.address, "2001:db8::1");
  assert.equal(
    source.lookup(["duid:000300010011223344aa"])?.prefix?.toString(),
    "2001:db8:100::/56",
  );
  const text = new TextEncoder().encode('Fa2/1, unit "7"');
  const key = "interface-id:" + Array.from(text, (b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(source.lookup([key])?.address, "2001:db8::2");
  assert.equal(source.lookup(["remote-id:9:0102"])?.address, "2001:db8::3");
  assert.equal(source.lookup(["subscriber-id:01"])?.address, "2001:db8::4");
  assert.equal(source.lookup(["subscriber-id:02"]), undefined);
  // First key in the list with a row wins.
  assert.equal(
    source.lookup(["subscriber-id:02", "remote-id:9:0102", "subscriber-id:01"])?.address,
    "2001:db8::3",
  );
});

Deno.test("CSV: other delimiters are recognised from the header", async () => {
  for (const d of [";", "\t", "|"]) {
    const { source, problems } = await load(
      `id${d}address${d}prefix\nsubscriber-id:01${d}2001:db8::4${d}\n`,
    );
    assert.deepEqual(problems, [], JSON.stringify(d));
    assert.equal(source.lookup(["subscriber-id:01"])?.address, "2001:db8::4");
  }
});

Deno.test("CSV: bad rows are reported with their line numbers and skipped", async () => {
  const csv = [
    "id,address,prefix", // 1
    "duid:000300010011223344aa,2001:db8::1,", // 2 ok
    "duid:zz,2001:db8::2,", // 3 bad id
    "subscriber-id:01,2001:db8::zz,", // 4 bad address
    "subscriber-id:02,,2001:db8::1/64", // 5 host bits
    "subscriber-id:03,ff02::1,", // 6 multicast
    "subscriber-id:04", // 7 too few fields
    "", // 8 blank
    'subscriber-id:05,"2001:db8::5"x,', // 9 stray quote: field is not an address
    "subscriber-id:06,2001:db8::6,", // 10 ok
    "interface-id-str:A,2001:db8::7,", // 11 ok
    "interface-id:41,2001:db8::8,", // 12 duplicate of line 11
    "duid:00:03:00:01:00:11:22:33:44:AA,2001:db8::9,", // 13 duplicate of line 2
    "nonsense,2001:db8::10,", // 14 no type
  ].join("\n");
  const { source, problems } = await load(csv);
  assert.equal(source.size, 3);
  assert.deepEqual(problems.map((p) => p.line), [3, 4, 5, 6, 7, 9, 12, 13, 14]);
  const byLine = new Map(problems.map((p) => [p.line, p.message]));
  assert.match(byLine.get(3)!, /not hexadecimal/);
  assert.match(byLine.get(4)!, /not an IPv6 address/);
  assert.match(byLine.get(5)!, /bits set/);
  assert.match(byLine.get(6)!, /multicast/);
  assert.match(byLine.get(7)!, /1 field\(s\)/);
  assert.match(byLine.get(12)!, /duplicate id interface-id:41 \(first assigned on line 11/);
  assert.match(byLine.get(13)!, /first assigned on line 2/);
  // The first row of a duplicated id wins.
  assert.equal(source.lookup(["interface-id:41"])?.address, "2001:db8::7");
  assert.equal(source.lookup(["duid:000300010011223344aa"])?.address, "2001:db8::1");
  assert.equal(source.table.lineOf("subscriber-id:06"), 10);
});

Deno.test("CSV: files that cannot be used are refused, naming the file", async () => {
  assert.match(await loadError(""), /a\.csv: the file is empty/);
  assert.match(await loadError("\ufeff\r\n \n"), /the file is empty/);
  assert.match(await loadError("id,address\nduid:0001,::1\n"), /a\.csv: line 1 .*missing prefix/);
  assert.match(await loadError("client,ip,net\n"), /missing id, address, prefix/);
  assert.match(await loadError('{"id": 1, "address": "x"}\n'), /line 1 must be a header/);
  assert.match(
    await loadError(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3, 0xff, 0xfe])),
    /line 1 must be a header/,
  );
  assert.match(
    await loadError(
      'id,address,prefix\nsubscriber-id:01,2001:db8::1,\n"subscriber-id:02,2001:db8::2,\nx,y,z\n',
    ),
    /line 3: a quoted field is never closed/,
  );
  const { cleanup, dir } = tempDir();
  try {
    await assert.rejects(loadCsvAssignments(`${dir}/missing.csv`), /missing\.csv: cannot open/);
  } finally {
    cleanup();
  }
});

Deno.test("CSV: a header-only file loads with no assignments", async () => {
  const { source, problems } = await load("id,address,prefix\n");
  assert.equal(source.size, 0);
  assert.deepEqual(problems, []);
});

Deno.test("CSV reader hands out canonical rows", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = `${dir}/a.csv`;
    Deno.writeTextFileSync(
      path,
      "id,address,prefix\nINTERFACE-ID-STR:x,2001:DB8::0:1,2001:db8:1:0::/64\n",
    );
    const rows: unknown[] = [];
    const summary = await readAssignmentCsv(
      path,
      (r) => rows.push({ ...r, bytes: undefined }),
      () => {},
    );
    assert.deepEqual(rows, [{
      line: 2,
      key: "interface-id:78",
      address: "2001:db8::1",
      prefix: "2001:db8:1::/64",
      bytes: undefined,
    }]);
    assert.equal(summary.rows, 1);
  } finally {
    cleanup();
  }
});

Deno.test("engine start fails with the file's message; reload keeps the old table", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const csv = `${dir}/a.csv`;
    const conf = `${dir}/dhcpkit.conf`;
    Deno.writeTextFileSync(conf, `<static-csv a.csv>\n</static-csv>\n`);
    Deno.writeTextFileSync(csv, "id,address\n");
    const config = loadServerConfig(conf, undefined, false);
    // Engine.create is what the server (workers 0) and every worker run at start and reload.
    await assert.rejects(
      Engine.create(config, SERVER_DUID),
      /a\.csv: line 1 must be a header .*missing prefix/,
    );
    Deno.writeTextFileSync(csv, "id,address,prefix\nduid:" + CLIENT_DUID_HEX + ",2001:db8::1,\n");
    const engine = await Engine.create(config, SERVER_DUID);
    const ask = (e: Engine) => run(e.handler, solicit(CLIENT_DUID, iana(1))).reply!;
    assert.equal(ask(engine).getOption(IANAOption)!.options.length, 1);
    // The file turns bad: the new pipeline cannot be built (the server logs "Not reloading"
    // and keeps the old one), and the old pipeline still answers from its table.
    Deno.writeTextFileSync(csv, 'id,address,prefix\n"unclosed,\n');
    await assert.rejects(Engine.create(config, SERVER_DUID), /quoted field is never closed/);
    assert.equal(
      (ask(engine).getOption(IANAOption)!.options[0] as IAAddressOption).address,
      "2001:db8::1",
    );
    await engine.handler.close();
  } finally {
    cleanup();
  }
});
