/**
 * Markdown configuration reference generated from the schema registry.
 *
 * @module
 */

import type { KeySpec, SchemaRegistry, SectionKind, SectionSpec } from "./schema.ts";

const KIND_ORDER: SectionKind[] = [
  "root",
  "logging",
  "log-handler",
  "statistics",
  "duid",
  "listener",
  "filter",
  "handler",
];

function fileName(spec: SectionSpec<object>): string {
  return `${spec.type}.md`;
}

function formatDefault(key: KeySpec): string | undefined {
  if (key.defaultText !== undefined) return key.defaultText;
  const d = key.default;
  if (d === undefined) return undefined;
  const one = (v: unknown) =>
    typeof v === "boolean"
      ? (v ? "yes" : "no")
      : typeof v === "object" && v && "text" in v
      ? String((v as { text: string }).text)
      : String(v);
  if (Array.isArray(d)) return d.length === 0 ? "none" : d.map((v) => `\`${one(v)}\``).join(", ");
  return `\`${one(d)}\``;
}

function firstSentence(text: string): string {
  const m = /^(.*?\.)(\s|$)/s.exec(text.split("\n\n")[0]);
  return (m ? m[1] : text).replace(/\s+/g, " ");
}

function kindsOrdered(registry: SchemaRegistry): SectionKind[] {
  const present = new Set(registry.types().map((t) => t.kind));
  const extra = [...present].filter((k) => !KIND_ORDER.includes(k)).sort();
  return [...KIND_ORDER.filter((k) => present.has(k)), ...extra];
}

function title(spec: SectionSpec<object>): string {
  return spec.kind === "root" ? "Server settings (top level)" : `\`<${spec.type}>\``;
}

function sectionPage(registry: SchemaRegistry, spec: SectionSpec<object>): string {
  const out: string[] = [];
  const kindInfo = registry.kind(spec.kind);
  out.push(`# ${title(spec)}`, "");
  if (spec.kind !== "root") out.push(`Kind: ${kindInfo?.title ?? spec.kind}`, "");
  out.push(spec.description, "");

  if (spec.kind !== "root") {
    const parents = registry.types().filter((t) =>
      (t.contains ?? []).some((c) => c.kind === spec.kind)
    );
    if (parents.length > 0) {
      const where = parents.map((p) =>
        p.kind === "root" ? "[the top level](server.md)" : `[\`<${p.type}>\`](${fileName(p)})`
      );
      out.push(`Allowed in: ${where.join(", ")}.`, "");
    }
  }

  if (spec.name) {
    out.push("## Section name", "");
    out.push(
      `${spec.name.required ? "Required" : "Optional"}; ${spec.name.type.name}. ` +
        spec.name.description,
      "",
    );
  } else if (spec.kind !== "root") {
    out.push("This section takes no name.", "");
  }

  if (spec.example) {
    out.push("## Example", "", "```", spec.example, "```", "");
  }

  out.push("## Parameters", "");
  if (spec.keys.length === 0) {
    out.push("This section has no parameters.", "");
  }
  for (const key of spec.keys) {
    const facts: string[] = [`type: ${key.type.name}`];
    if (key.required) facts.push("required");
    if (key.multiple) facts.push("may be given more than once");
    const def = formatDefault(key);
    if (def !== undefined && !key.required) facts.push(`default: ${def}`);
    out.push(`### \`${key.name}\``, "", `*${facts.join("; ")}*`, "", key.description, "");
    if (key.type.syntax) out.push(`Syntax: ${key.type.syntax}.`, "");
    if (key.example !== undefined) out.push(`Example: \`${key.name} ${key.example}\``, "");
  }

  if (spec.contains && spec.contains.length > 0) {
    out.push("## Sub-sections", "");
    for (const c of spec.contains) {
      const info = registry.kind(c.kind);
      const types = registry.ofKind(c.kind).map((t) => `[\`<${t.type}>\`](${fileName(t)})`);
      const count = c.min === 1 && c.max === 1
        ? "exactly one"
        : c.min
        ? `at least ${c.min}`
        : c.max !== undefined
        ? `at most ${c.max}`
        : "any number";
      out.push(`- **${info?.title ?? c.kind}** (${count}): ${types.join(", ") || "none yet"}`);
    }
    out.push("");
  }
  return out.join("\n").replace(/\n+$/, "\n");
}

function indexPage(registry: SchemaRegistry): string {
  const out: string[] = [
    "# Configuration reference",
    "",
    "This reference is generated from the configuration schema by `dhcpkit config-docs`; do " +
    "not edit it by hand.",
    "",
    "## File format",
    "",
    "- One setting per line: `key value` or `key = value`. Keys and section types are not " +
    "case-sensitive; section names keep their case.",
    "- Lines starting with `#` are comments; blank lines are ignored.",
    "- Sections: `<type>` ... `</type>`, `<type name>` ... `</type>`, or self-closing " +
    "`<type/>` and `<type name />`. The closing tag must match the innermost open section.",
    "- A key that is not marked as repeatable may appear only once per section.",
    "- `%include FILE` reads another file at that point (relative paths start at the including " +
    "file's folder).",
    "- `%define NAME value` defines a name; `$NAME` or `${NAME}` in later values and section " +
    "names is replaced by its value, and `$$` stands for a literal `$`.",
    "- Relative paths in values are resolved against the folder of the file they appear in.",
    "",
    "Check a file with `dhcpkit check-config FILE`.",
    "",
  ];
  for (const kind of kindsOrdered(registry)) {
    const info = registry.kind(kind);
    out.push(`## ${info?.title ?? kind}`, "");
    if (info) out.push(info.description, "");
    for (const spec of registry.ofKind(kind)) {
      out.push(`- [${title(spec)}](${fileName(spec)}): ${firstSentence(spec.description)}`);
    }
    out.push("");
  }
  return out.join("\n").replace(/\n+$/, "\n");
}

/** Generate the reference: a map from file name (`index.md`, `<type>.md`) to Markdown text. */
export function generateConfigDocs(registry: SchemaRegistry): Map<string, string> {
  const pages = new Map<string, string>();
  pages.set("index.md", indexPage(registry));
  for (const spec of registry.types()) pages.set(fileName(spec), sectionPage(registry, spec));
  return pages;
}
