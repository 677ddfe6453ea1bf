import { deepEqual, equal } from "node:assert/strict";
import {
  alwaysSendKey,
  defineSection,
  integer,
  type OptionHandlerValues,
  SchemaRegistry,
} from "../../src/config/mod.ts";
import { generateConfigDocs } from "../../src/config/docs.ts";
import { installBuiltins } from "../../src/handlers/mod.ts";
import { errorLines, loadText } from "./helpers.ts";

interface TechnicolorValues extends OptionHandlerValues {
  limit: number;
}

const technicolor = defineSection<TechnicolorValues>({
  type: "sol-max-rt-technicolor",
  kind: "handler",
  description: "Vendor flavour of SOL_MAX_RT for some CPEs.",
  example: "<sol-max-rt-technicolor>\n    limit 3600\n</sol-max-rt-technicolor>",
  keys: [alwaysSendKey, {
    name: "limit",
    type: integer(60, 86400),
    required: true,
    description: "Seconds.",
  }],
});

Deno.test("extensions register section types that come out typed, in order and nested", () => {
  const registry = installBuiltins(new SchemaRegistry());
  registry.register(technicolor);
  const r = loadText(
    [
      "<subnet 2001:db8::/32>",
      "  <sol-max-rt-technicolor>",
      "    limit 1h",
      "  </sol-max-rt-technicolor>",
      "</subnet>",
      "<sol-max-rt-technicolor>",
      "  limit 3600",
      "</sol-max-rt-technicolor>",
    ].join("\n"),
    { registry },
  );
  deepEqual(errorLines(r), ["3: limit: `1h` is not a whole number"]);
  const ok = loadText(
    "<marked-with x>\n<sol-max-rt-technicolor>\nlimit 3600\n</sol-max-rt-technicolor>\n</marked-with>",
    { registry },
  );
  deepEqual(ok.errors, []);
  const node = ok.config!.handlers[0].children[0];
  equal(node.type, "sol-max-rt-technicolor");
  equal(node.line, 2);
  deepEqual(node.values, { alwaysSend: false, limit: 3600 });
  deepEqual(node.children, []);
  equal(generateConfigDocs(registry).has("sol-max-rt-technicolor.md"), true);
});

Deno.test("extendSection adds keys to the top level", () => {
  const registry = installBuiltins(new SchemaRegistry());
  registry.extendSection("server", {
    keys: [{ name: "vendor-flag", type: integer(0, 9), multiple: true, description: "test" }],
  });
  const r = loadText("vendor-flag 1\nvendor-flag 2\n", { registry });
  deepEqual(r.errors, []);
  deepEqual((r.config!.root.values as unknown as { vendorFlag: number[] }).vendorFlag, [1, 2]);
});
