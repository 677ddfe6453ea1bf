import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type ConfigSection, loadConfig } from "../../src/config/mod.ts";
import { buildHandlerTree, MissingFactoryError } from "../../src/handlers/registry.ts";
import { InformationRequestMessage, SolicitMessage } from "../../src/protocol/mod.ts";
import { clientId, elapsed, iana, iapd, pipeline, run, SERVER_DUID } from "../pipeline/helpers.ts";

const dir = fileURLToPath(new URL("../fixtures/config/reference/", import.meta.url));
/** Section types implemented elsewhere (static assignments, leasequery, rate limit). */
/** Sections that need data files the reference examples only name (not shipped as fixtures). */
const NEEDS_DATA = new Set(["static-csv", "static-sqlite", "leasequery"]);

function types(sections: readonly ConfigSection[], out = new Set<string>()): Set<string> {
  for (const s of sections) {
    out.add(s.type);
    types(s.children, out);
  }
  return out;
}

Deno.test("every reference configuration builds a pipeline that answers", async () => {
  let built = 0;
  for (const name of readdirSync(dir).filter((n) => n.endsWith(".conf")).sort()) {
    const result = loadConfig(dir + name, { hostChecks: false });
    assert.ok(result.config, `${name}: ${result.errors.map((e) => e.message).join("; ")}`);
    const used = types(result.config.handlers);
    let tree;
    try {
      tree = buildHandlerTree(result.config.handlers, { configDir: dir, serverDuid: SERVER_DUID });
    } catch (e) {
      assert.ok(
        !(e instanceof MissingFactoryError),
        `${name}: no factory for <${(e as MissingFactoryError).section?.type}>`,
      );
      // Only sections reading data files may fail here, and then with a message naming the file.
      assert.ok([...used].some((t) => NEEDS_DATA.has(t)), `${name}: ${e}`);
      assert.match(String(e), /\.(csv|sqlite|db)\b/i, `${name}: ${e}`);
      continue;
    }
    const p = pipeline(tree.handlers, tree.filters);
    try {
      await p.workerInit();
    } catch (e) {
      assert.ok([...used].some((t) => NEEDS_DATA.has(t)), `${name}: ${e}`);
      assert.match(String(e), /\.(csv|sqlite|db)\b/i, `${name}: ${e}`);
      continue;
    }
    for (
      const m of [
        new InformationRequestMessage(1, [clientId(), elapsed(0)]),
        new SolicitMessage(2, [clientId(), elapsed(0), iana(1), iapd(2)]),
      ]
    ) {
      const r = run(p, m, { linkAddress: "2001:db8:1::1" });
      assert.ok(
        ["reply", "do_not_respond"].includes(r.result.outcome),
        `${name}: ${m.name} -> ${r.result.outcome}`,
      );
    }
    built++;
  }
  assert.ok(built >= 25, `only ${built} configurations built`);
});
