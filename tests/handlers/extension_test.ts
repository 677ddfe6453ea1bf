/**
 * The one extension shape: every built-in folder exports one extension object, installing is
 * explicit (importing registers nothing), factories get their section's typed values, and the
 * hooks (setup/cleanup handlers, options, kinds, shared buffers) reach the pipeline and registries.
 */

import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type ConfigSection,
  defineSection,
  integer,
  loadConfigText,
  SchemaRegistry,
} from "../../src/config/mod.ts";
import {
  type BuildContext,
  buildHandlerTree,
  BUILTIN_EXTENSIONS,
  defineExtension,
  type Extension,
  filterFor,
  handlerFor,
  installBuiltins,
  installedExtensions,
  installExtensions,
  isExtension,
} from "../../src/handlers/mod.ts";
import { sharedBuffer } from "../../src/handlers/shared_memory.ts";
import { CannotRespond, Filter, Handler, type TransactionBundle } from "../../src/pipeline/mod.ts";
import {
  InformationRequestMessage,
  Option,
  optionTypes,
  parseMessage,
  ReplyMessage,
  serializeMessage,
  ValidationError,
  type Writer,
} from "../../src/protocol/mod.ts";
import { buildMessageHandler } from "../../src/server/pipeline_builder.ts";
import { clientId, elapsed, run, SERVER_DUID } from "../pipeline/helpers.ts";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));
const HANDLERS = join(SRC, "handlers");

/** Every `.ts` file below `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith(".ts") ? [path] : [];
  });
}

const CTX: BuildContext = { configDir: "/tmp", serverDuid: SERVER_DUID };

Deno.test("every built-in folder exports exactly one extension, and the built-in list has them all", async () => {
  const folders = readdirSync(HANDLERS).filter((n) => statSync(join(HANDLERS, n)).isDirectory());
  assert.ok(folders.length >= 16, `only ${folders.length} handler folders`);
  const found: Extension[] = [];
  for (const folder of folders) {
    const module = await import(join(HANDLERS, folder, "mod.ts"));
    const extensions = Object.values(module).filter(isExtension);
    assert.equal(extensions.length, 1, `src/handlers/${folder}/mod.ts exports one extension`);
    found.push(extensions[0]);
  }
  assert.deepEqual(
    new Set(BUILTIN_EXTENSIONS),
    new Set(found),
    "BUILTIN_EXTENSIONS is the set of the folders' extensions",
  );
  assert.equal(BUILTIN_EXTENSIONS.length, folders.length);
});

Deno.test("nothing in src/ registers anything when imported", () => {
  // A statement at the top level of a module that calls a registration function runs on import.
  const topLevelCall =
    /^(register\w*|declareSharedBuffer|registerBuiltin\w*|install\w*|allowIn\w+)\(/m;
  const offenders = sources(SRC)
    .filter((f) => topLevelCall.test(readFileSync(f, "utf8")))
    .map((f) => f.slice(SRC.length));
  // The protocol library's own option and message tables are filled when it loads; they are
  // the wire format, not extensions.
  assert.deepEqual(offenders.filter((f) => !f.startsWith("protocol/")), []);
});

Deno.test("no handler needs a cast to read its section's values", () => {
  const casts = sources(SRC).flatMap((f) =>
    readFileSync(f, "utf8").split("\n").flatMap((line, i) =>
      /as ConfigSection</.test(line) ? [`${f.slice(SRC.length)}:${i + 1}: ${line.trim()}`] : []
    )
  );
  assert.deepEqual(casts, []);
});

Deno.test("importing every module of src/handlers installs nothing", async () => {
  // In a fresh process: import them all, then look at the registries.
  const url = (f: string) => JSON.stringify(new URL(f, `file://${SRC}`).href);
  const script = `
    import { defaultRegistry } from ${url("config/mod.ts")};
    import * as registry from ${url("handlers/registry.ts")};
    import { LinkLayerDuid } from ${url("protocol/mod.ts")};
    for (const f of ${JSON.stringify(sources(HANDLERS))}) await import(f);
    let missing = false;
    try {
      registry.buildHandlerTree([{ type: "preference", kind: "handler", file: "x.conf", line: 1,
        values: { level: 1 }, keyLines: {}, children: [] }],
        { configDir: "/", serverDuid: new LinkLayerDuid(1, new Uint8Array(6)) });
    } catch (e) {
      missing = e instanceof registry.MissingFactoryError;
    }
    console.log(JSON.stringify({
      types: defaultRegistry.types().map((t) => t.type),
      installed: registry.installedExtensions?.().length,
      missing,
    }));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), {
    types: [],
    installed: 0,
    missing: true,
  });
});

interface ColourValues {
  colour: number;
}

const colourSection = defineSection<ColourValues>({
  type: "colour-test",
  kind: "handler",
  description: "Test section.",
  keys: [{ name: "colour", type: integer(0, 9), required: true, description: "A number." }],
});

/** Records what its factory received. */
class ColourHandler extends Handler {
  constructor(readonly colour: number, readonly line: number) {
    super();
  }
}

Deno.test("handlerFor: the factory gets typed values, the context and the section", () => {
  const seen: { values: ColourValues; ctx: BuildContext; section: ConfigSection<ColourValues> }[] =
    [];
  const extension = defineExtension({
    name: "colour",
    handlers: [
      handlerFor(colourSection, (values, ctx, section) => {
        seen.push({ values, ctx, section });
        return new ColourHandler(values.colour * 2, section.line);
      }),
    ],
  });
  const schema = new SchemaRegistry();
  installBuiltins(schema);
  installExtensions([extension], schema);
  const config = loadConfigText("\n<colour-test>\n  colour 4\n</colour-test>\n", "/tmp/t.conf", {
    registry: schema,
    hostChecks: false,
  }).config!;
  const tree = buildHandlerTree(config.handlers, CTX);
  assert.equal((tree.handlers[0] as ColourHandler).colour, 8);
  assert.equal((tree.handlers[0] as ColourHandler).line, 2);
  assert.deepEqual(seen[0].values, { colour: 4 });
  assert.equal(seen[0].ctx, CTX);
  assert.equal(seen[0].section.type, "colour-test");
});

Deno.test("defineExtension rejects a factory whose section has the wrong kind", () => {
  class Nothing extends Filter {
    match(): boolean {
      return true;
    }
    describe(): string {
      return "nothing";
    }
  }
  assert.throws(
    () =>
      defineExtension({ name: "bad", filters: [filterFor(colourSection, () => new Nothing())] }),
    /bad: <colour-test> is a handler section, not a filter/,
  );
});

/** A made-up option for the option definition test. */
class TestOption extends Option {
  static readonly code = 65001;
  static readonly optionName = "extension-test-option";
  constructor(readonly value = 0) {
    super();
  }
  writeData(w: Writer): void {
    w.u8(this.value);
  }
  static parse(buf: Uint8Array, start: number): TestOption {
    return new TestOption(buf[start]);
  }
}

Deno.test("installing options, kinds, section extensions and shared buffers", () => {
  const extension = defineExtension({
    name: "everything",
    options: [{
      option: TestOption,
      placements: [{ messages: [ReplyMessage.messageType], max: 1 }],
    }],
    kinds: { "test-kind": { title: "Test things", description: "Things for the test." } },
    sections: [defineSection({
      type: "test-thing",
      kind: "test-kind",
      description: "A thing.",
      keys: [],
    })],
    extendSections: { server: { contains: [{ kind: "test-kind", max: 1 }] } },
    sharedBuffers: { "extension-test": 64 },
  });
  assert.equal(optionTypes.get(65001), undefined, "not registered before installing");
  const schema = new SchemaRegistry();
  installBuiltins(schema);
  installExtensions([extension], schema);
  installExtensions([extension], schema); // idempotent: the section is not extended twice
  assert.equal(optionTypes.get(65001), TestOption);
  const twice = new ReplyMessage(1, [new TestOption(1), new TestOption(2)]);
  assert.throws(() => parseMessage(serializeMessage(twice)).validate(), ValidationError);
  assert.equal(schema.kind("test-kind")?.title, "Test things");
  const loaded = loadConfigText("<test-thing />\n", "/tmp/t.conf", {
    registry: schema,
    hostChecks: false,
  });
  assert.deepEqual(loaded.errors, []);
  assert.equal(loaded.config!.root.children[0].type, "test-thing");
  const duplicate = loadConfigText("<test-thing />\n<test-thing />\n", "/tmp/t.conf", {
    registry: schema,
    hostChecks: false,
  });
  assert.equal(duplicate.errors.length, 1, "max 1, set once");
  assert.equal(sharedBuffer("extension-test").byteLength, 64);
});

/** Drops every Information-Request whose transaction id is 0xbad. */
class DropBad extends Handler {
  override pre(bundle: TransactionBundle): void {
    if (bundle.request.transactionId === 0xbad) throw new CannotRespond("bad xid");
  }
}

Deno.test("setup and cleanup handlers of installed extensions run in every pipeline", () => {
  const calls: string[] = [];
  class Cleanup extends Handler {
    override handle(): void {
      calls.push("cleanup");
    }
  }
  installBuiltins();
  installExtensions([defineExtension({
    name: "hooks",
    setupHandlers: (ctx) => {
      calls.push(`setup ${ctx.configDir}`);
      return [new DropBad()];
    },
    cleanupHandlers: () => [new Cleanup()],
  })]);
  const config = loadConfigText("<preference>\n  level 9\n</preference>\n", "/etc/x/d.conf", {
    hostChecks: false,
  }).config!;
  const pipeline = buildMessageHandler(config, SERVER_DUID);
  assert.deepEqual(calls, ["setup /etc/x"]);
  const bad = run(pipeline, new InformationRequestMessage(0xbad, [clientId(), elapsed(0)]));
  assert.equal(bad.result.outcome, "do_not_respond");
  const good = run(pipeline, new InformationRequestMessage(0x600d, [clientId(), elapsed(0)]));
  assert.equal(good.result.outcome, "reply");
  assert.deepEqual(calls, ["setup /etc/x", "cleanup"]);
  // The built-in leasequery hooks are there too, through the same mechanism.
  assert.ok(installedExtensions().some((e) => e.name === "leasequery" && e.setupHandlers));
});
