/**
 * The CSV assignment table in one SharedArrayBuffer: lookups of every id form read the same in
 * another thread as in the one that loaded the file; the table agrees with a Map (first row of
 * a key wins) for any set of keys; a handler opens the table the server's main thread shared
 * instead of the file; a buffer that holds no table is refused; the main thread builds one table
 * per file of a configuration.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  AssignmentTable,
  AssignmentTableBuilder,
  loadCsvAssignments,
} from "../../../src/handlers/static/csv/mod.ts";
import {
  csvShareKey,
  loadCsvShared,
  openCsvSource,
  StaticAssignmentHandler,
} from "../../../src/handlers/static/handler.ts";
import { installSharedData } from "../../../src/handlers/shared_memory.ts";
import { buildSharedData } from "../../../src/handlers/registry.ts";
import { loadServerConfig } from "../../../src/server/engine.ts";
import {
  type IAAddressOption,
  IANAOption,
  InterfaceIdOption,
  LinkLayerIdOption,
  type Option,
  RemoteIdOption,
  SubscriberIdOption,
} from "../../../src/protocol/mod.ts";
import { iana, pipeline, relayed, run } from "../../pipeline/helpers.ts";
import { CLIENT_DUID_HEX, OTHER_CLIENT, SAMPLE_CSV, solicit, tempDir } from "./fixtures.ts";

/** Canonical key of each row of SAMPLE_CSV, with its address, prefix and line. */
const EXPECTED: Array<[string, string | null, string | null, number]> = [
  [`duid:${CLIENT_DUID_HEX}`, "2001:db8:1::10", "2001:db8:100::/56", 2],
  ["interface-id:65746837", "2001:db8:1::20", null, 3],
  ["interface-id:66613232", "2001:db8:1::21", null, 4],
  ["remote-id:9:0102", "2001:db8:1::30", "2001:db8:300::/56", 5],
  ["remote-id:40208:536f6d6552656d6f7465", "2001:db8:1::31", null, 6],
  ["subscriber-id:abcd", "2001:db8:1::40", null, 7],
  ["subscriber-id:7375622d31", "2001:db8:1::41", null, 8],
  ["linklayer-id:1:001122334466", "2001:db8:1::50", "2001:db8:500::/48", 9],
  ["linklayer-id:1:4142", "2001:db8:1::51", null, 10],
  ["interface-id:7072656669782d6f6e6c79", null, "2001:db8:600::/56", 11],
];
const MISSING = ["duid:00030001009988776655", "interface-id:00", "remote-id:9:0103", ""];

async function sampleTable(): Promise<AssignmentTable> {
  const { dir, cleanup } = tempDir();
  try {
    Deno.writeTextFileSync(`${dir}/a.csv`, SAMPLE_CSV);
    const { source, problems } = await loadCsvAssignments(`${dir}/a.csv`);
    assert.deepEqual(problems, []);
    return source.table;
  } finally {
    cleanup();
  }
}

Deno.test("shared table: another thread reads every id form from the same buffer", async () => {
  const table = await sampleTable();
  assert.ok(table.buffer instanceof SharedArrayBuffer);
  const keys = [...EXPECTED.map((e) => e[0]), ...MISSING];
  const here = keys.map((key) => {
    const a = table.get(key);
    return a ? [a.address ?? null, a.prefix?.toString() ?? null, table.lineOf(key)] : null;
  });
  assert.deepEqual(here, [...EXPECTED.map((e) => e.slice(1)), ...MISSING.map(() => null)]);

  const worker = new Worker(new URL("./shared_table_worker.ts", import.meta.url), {
    type: "module",
  });
  try {
    const answer = new Promise<{ size: number; found: unknown[] }>((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(e.message));
    });
    worker.postMessage({ buffer: table.buffer, keys });
    const there = await answer;
    assert.equal(there.size, EXPECTED.length);
    assert.deepEqual(there.found, here);
  } finally {
    worker.terminate();
  }
});

Deno.test("shared table: agrees with a Map for any keys (first row of a key wins)", () => {
  const key = fc.oneof(
    fc.stringMatching(/^duid:[0-9a-f]{2,12}$/),
    fc.stringMatching(/^interface-id:[0-9a-f]{0,6}$/),
    fc.stringMatching(/^[a-z]{0,3}$/),
  );
  fc.assert(
    fc.property(
      fc.array(key, { maxLength: 300 }),
      fc.array(key, { maxLength: 30 }),
      (keys, probes) => {
        const builder = new AssignmentTableBuilder();
        const model = new Map<string, number>();
        keys.forEach((k, i) => {
          const first = builder.add(k, i + 2, `2001:db8::${(i + 1).toString(16)}`, "");
          assert.equal(first, model.get(k));
          if (!model.has(k)) model.set(k, i + 2);
        });
        const table = builder.build();
        assert.equal(table.size, model.size);
        for (const k of [...keys, ...probes]) {
          const line = model.get(k);
          assert.equal(table.lineOf(k), line);
          assert.equal(
            table.get(k)?.address,
            line === undefined ? undefined : `2001:db8::${(line - 1).toString(16)}`,
          );
        }
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("shared table: getHex(prefix, bytes) answers what get(prefix + hex) does", () => {
  const prefix = fc.constantFrom("duid:", "interface-id:", "remote-id:9:", "", "d");
  const bytes = fc.uint8Array({ maxLength: 8 });
  const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  fc.assert(
    fc.property(
      fc.array(fc.tuple(prefix, bytes), { maxLength: 100 }),
      fc.array(fc.tuple(prefix, bytes), { maxLength: 30 }),
      (rows, probes) => {
        const builder = new AssignmentTableBuilder();
        rows.forEach(([p, b], i) => builder.add(p + hex(b), i + 2, `2001:db8::${i + 1}`, ""));
        const table = builder.build();
        for (const [p, b] of [...rows, ...probes]) {
          assert.equal(table.getHex(p, b)?.address, table.get(p + hex(b))?.address);
        }
      },
    ),
    { numRuns: 200 },
  );
  // Every row of the sample file, found from its parts; a key one digit short is not.
  return sampleTable().then((table) => {
    for (const [key, address] of EXPECTED) {
      const cut = key.lastIndexOf(":") + 1;
      const data = Uint8Array.from(key.slice(cut).match(/../g) ?? [], (h) => parseInt(h, 16));
      assert.equal(table.getHex(key.slice(0, cut), data)?.address ?? null, address, key);
      assert.equal(table.getHex(key.slice(0, cut - 1), data), undefined, key);
    }
  });
});

Deno.test("shared table: a buffer that holds no table is refused", () => {
  assert.throws(() => AssignmentTable.fromBuffer(new SharedArrayBuffer(64)), /not an assignment/);
  const good = new AssignmentTableBuilder().build().buffer;
  const cut = new SharedArrayBuffer(good.byteLength + 4);
  new Uint8Array(cut).set(new Uint8Array(good));
  assert.throws(() => AssignmentTable.fromBuffer(cut), /not an assignment/);
});

Deno.test("shared table: the handler answers from the shared table, not the file", async () => {
  const { dir, cleanup } = tempDir();
  const path = `${dir}/a.csv`;
  try {
    Deno.writeTextFileSync(path, SAMPLE_CSV);
    installSharedData({ [csvShareKey(path)]: await loadCsvShared(path) });
    // The file now says something else: a handler that read it would answer differently.
    Deno.writeTextFileSync(path, "id,address,prefix\n");
    const lifetimes = {
      addressPreferredLifetime: 1,
      addressValidLifetime: 2,
      prefixPreferredLifetime: 1,
      prefixValidLifetime: 2,
    };
    const handler = new StaticAssignmentHandler(lifetimes, () => openCsvSource(path));
    await handler.workerInit();
    const ask = (options: Option[]) => {
      const message = relayed(solicit(OTHER_CLIENT, iana(1)), "2001:db8::1", "fe80::1", options);
      const reply = run(pipeline([handler]), message).reply!;
      return (reply.getOption(IANAOption)!.options[0] as IAAddressOption).address;
    };
    const enc = new TextEncoder();
    assert.equal(ask([new InterfaceIdOption(enc.encode("eth7"))]), "2001:db8:1::20");
    assert.equal(ask([new RemoteIdOption(9, new Uint8Array([1, 2]))]), "2001:db8:1::30");
    assert.equal(ask([new SubscriberIdOption(enc.encode("sub-1"))]), "2001:db8:1::41");
    assert.equal(
      ask([new LinkLayerIdOption(1, new Uint8Array([0, 0x11, 0x22, 0x33, 0x44, 0x66]))]),
      "2001:db8:1::50",
    );
    await handler.close();
  } finally {
    installSharedData(undefined);
    cleanup();
  }
});

Deno.test("shared table: every row is found after the builder grew many times", () => {
  const builder = new AssignmentTableBuilder();
  const rows = 20_000;
  for (let i = 0; i < rows; i++) {
    // Keys of growing length, so the key bytes grow at other times than the rows.
    assert.equal(builder.add(`interface-id:${"ab".repeat(i % 40)}${i}`, i + 2, "", ""), undefined);
  }
  const table = builder.build();
  assert.equal(table.size, rows);
  for (let i = 0; i < rows; i++) {
    assert.equal(table.lineOf(`interface-id:${"ab".repeat(i % 40)}${i}`), i + 2);
  }
  assert.equal(table.lineOf(`interface-id:${rows}`), undefined);
});

Deno.test("shared data: one table per CSV file of the configuration, nested ones too", async () => {
  const { dir, cleanup } = tempDir();
  try {
    Deno.writeTextFileSync(`${dir}/a.csv`, SAMPLE_CSV);
    Deno.writeTextFileSync(
      `${dir}/b.csv`,
      "id,address,prefix\nduid:000300010011223344aa,2001:db8::b,\n",
    );
    Deno.writeTextFileSync(`${dir}/bad.csv`, "id,address\n"); // no prefix column: not loadable
    const conf = `${dir}/dhcpkit.conf`;
    Deno.writeTextFileSync(
      conf,
      "<static-csv a.csv>\n</static-csv>\n" +
        "<subnet 2001:db8::/32>\n    <static-csv b.csv>\n    </static-csv>\n" +
        "    <static-csv a.csv>\n    </static-csv>\n</subnet>\n" +
        "<static-csv bad.csv>\n</static-csv>\n",
    );
    const config = loadServerConfig(conf, undefined, false);
    const shared = await buildSharedData(config.handlers);
    // The same file twice is built once; the file that cannot be loaded is left to the handler.
    assert.deepEqual(Object.keys(shared).sort(), [
      csvShareKey(`${dir}/a.csv`),
      csvShareKey(`${dir}/b.csv`),
    ]);
    const a = AssignmentTable.fromBuffer(shared[csvShareKey(`${dir}/a.csv`)] as SharedArrayBuffer);
    assert.equal(a.size, EXPECTED.length);
    const b = AssignmentTable.fromBuffer(shared[csvShareKey(`${dir}/b.csv`)] as SharedArrayBuffer);
    assert.equal(b.get("duid:000300010011223344aa")?.address, "2001:db8::b");
  } finally {
    cleanup();
  }
});
