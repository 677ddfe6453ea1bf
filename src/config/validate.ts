/**
 * Validation: turns the syntax tree into typed sections using the schema registry, collecting
 * every problem it finds instead of stopping at the first.
 *
 * @module
 */

import { dirname } from "node:path";
import type { ValueContext } from "./datatypes.ts";
import { closestName, ConfigValueError, didYouMean, type IssueCollector } from "./errors.ts";
import type { SyntaxSection } from "./parser.ts";
import {
  type ConfigSection,
  type KeySpec,
  propertyOf,
  type SchemaRegistry,
  type SectionChecker,
  type SectionSpec,
} from "./schema.ts";

/** Options for {@link validateTree}. */
export interface ValidateOptions {
  /** Registry of section types. */
  readonly registry: SchemaRegistry;
  /** Run checks against the host (interfaces, addresses, users, files). */
  readonly hostChecks: boolean;
}

const HOST_SUFFIX = " (host check)";

interface Ctx extends ValidateOptions {
  readonly issues: IssueCollector;
}

/**
 * Validate a parsed file against the root section type `server`; returns the typed tree. The
 * tree is returned even when errors were found (sections with errors keep what could be parsed).
 */
export function validateTree(
  root: SyntaxSection,
  issues: IssueCollector,
  options: ValidateOptions,
): ConfigSection {
  const spec = options.registry.get("server");
  if (!spec) throw new Error("the root section type `server` is not registered");
  return buildSection({ ...options, issues }, root, spec);
}

function report(ctx: Ctx, file: string, line: number, e: unknown, prefix: string): void {
  if (e instanceof ConfigValueError) {
    if (e.host && !ctx.hostChecks) return;
    ctx.issues.error(file, line, prefix + e.message + (e.host ? HOST_SUFFIX : ""), e.host);
  } else {
    throw e;
  }
}

function describe(spec: SectionSpec<object>): string {
  return spec.kind === "root" ? "the top level" : `<${spec.type}>`;
}

/** Where a value was read from, for datatypes that resolve paths or check the host. */
function valueContext(ctx: Ctx, file: string): ValueContext {
  return { configDir: dirname(file), hostChecks: ctx.hostChecks };
}

/**
 * Build one typed section from its syntax: its name, its keys (with defaults), its sub-sections
 * (recursively) and how many of each kind there are, then the section type's own checks. Every
 * problem is reported to `ctx.issues`; the section's own checks only run when the name and keys
 * had no errors.
 */
function buildSection(ctx: Ctx, syn: SyntaxSection, spec: SectionSpec<object>): ConfigSection {
  const values: Record<string, unknown> = {};
  const keyLines: Record<string, number> = {};
  const errorsBefore = ctx.issues.issues.length;
  const nameValue = readName(ctx, syn, spec, values);
  readKeys(ctx, syn, spec, values, keyLines);
  const ownErrors = ctx.issues.issues.length > errorsBefore;
  const children = buildChildren(ctx, syn, spec);
  checkChildCounts(ctx, syn, spec, children);
  const node: ConfigSection = {
    type: spec.type,
    kind: spec.kind,
    ...(syn.name !== undefined ? { name: syn.name } : {}),
    ...(nameValue !== undefined ? { nameValue } : {}),
    file: syn.file,
    line: syn.line,
    values,
    keyLines,
    children,
  };
  if (!ownErrors && spec.validate) spec.validate(node, checkerFor(ctx, syn));
  return node;
}

/** Parse the section's name (stored under the name's property too); undefined when it has none. */
function readName(
  ctx: Ctx,
  syn: SyntaxSection,
  spec: SectionSpec<object>,
  values: Record<string, unknown>,
): unknown {
  if (syn.name === undefined) {
    if (spec.name?.required) {
      ctx.issues.error(
        syn.file,
        syn.line,
        `section <${spec.type}> needs a name: ${spec.name.description.replace(/\.$/, "")}`,
      );
    }
    return undefined;
  }
  if (!spec.name) {
    ctx.issues.error(
      syn.file,
      syn.line,
      `section <${spec.type}> does not take a name ` +
        `(found \`${syn.name}\`)`,
    );
    return undefined;
  }
  try {
    const nameValue = spec.name.type.parse(syn.name, valueContext(ctx, syn.file));
    if (spec.name.property) values[spec.name.property] = nameValue;
    return nameValue;
  } catch (e) {
    report(ctx, syn.file, syn.line, e, `invalid name for <${spec.type}>: `);
    return undefined;
  }
}

/**
 * Parse the section's keys into `values` (and the line of each key's first use into `keyLines`),
 * then fill in defaults and report required keys that are missing.
 */
function readKeys(
  ctx: Ctx,
  syn: SyntaxSection,
  spec: SectionSpec<object>,
  values: Record<string, unknown>,
  keyLines: Record<string, number>,
): void {
  const { given, suggested } = parseKeys(ctx, syn, spec, keyLines);
  for (const ks of spec.keys) {
    const prop = propertyOf(ks);
    const list = given.get(ks.name);
    if (list !== undefined) {
      if (list.length > 0) values[prop] = ks.multiple ? list : list[0];
      continue;
    }
    if (ks.required) {
      // A misspelt key was already reported with this key as suggestion: do not repeat.
      if (suggested.has(ks.name)) continue;
      ctx.issues.error(
        syn.file,
        syn.line,
        spec.kind === "root"
          ? `missing required setting \`${ks.name}\``
          : `section <${spec.type}> needs \`${ks.name}\`${ks.multiple ? " (at least once)" : ""}`,
      );
      continue;
    }
    if (ks.defaultFrom) values[prop] = ks.defaultFrom(valueContext(ctx, syn.file));
    else if (ks.default !== undefined) {
      values[prop] = Array.isArray(ks.default) ? [...ks.default] : ks.default;
    } else if (ks.multiple) values[prop] = [];
  }
}

/**
 * The values given for each key, in order (an empty list for a key given only with bad values),
 * and the key names suggested for misspelt keys.
 */
function parseKeys(
  ctx: Ctx,
  syn: SyntaxSection,
  spec: SectionSpec<object>,
  keyLines: Record<string, number>,
): { given: Map<string, unknown[]>; suggested: Set<string> } {
  const keySpecs = new Map<string, KeySpec>(spec.keys.map((k) => [k.name, k]));
  const given = new Map<string, unknown[]>();
  const suggested = new Set<string>();
  for (const key of syn.keys) {
    const ks = keySpecs.get(key.key);
    if (!ks) {
      const near = closestName(key.key, keySpecs.keys());
      if (near) suggested.add(near);
      let hint = didYouMean(key.key, keySpecs.keys());
      if (!hint && ctx.registry.has(key.key)) {
        hint = `; <${key.key}> is a section type: write it as <${key.key}> ... </${key.key}>`;
      }
      const where = spec.kind === "root" ? "at the top level" : `in <${spec.type}>`;
      ctx.issues.error(key.file, key.line, `unknown key \`${key.key}\` ${where}${hint}`);
      continue;
    }
    const list = given.get(ks.name);
    if (list && !ks.multiple) {
      ctx.issues.error(
        key.file,
        key.line,
        `\`${ks.name}\` may only be given once in ${describe(spec)} (already given at line ` +
          `${keyLines[ks.name]})`,
      );
      continue;
    }
    if (!(ks.name in keyLines)) keyLines[ks.name] = key.line;
    if (key.invalid) {
      if (!list) given.set(ks.name, []);
      continue;
    }
    try {
      const v = ks.type.parse(key.value, valueContext(ctx, key.file));
      if (list) list.push(v);
      else given.set(ks.name, [v]);
    } catch (e) {
      if (!list) given.set(ks.name, []);
      report(ctx, key.file, key.line, e, `${ks.name}: `);
    }
  }
  return { given, suggested };
}

/** Build the sub-sections whose type is known and allowed here; report the others. */
function buildChildren(
  ctx: Ctx,
  syn: SyntaxSection,
  spec: SectionSpec<object>,
): ConfigSection[] {
  const children: ConfigSection[] = [];
  const allowedKinds = new Set((spec.contains ?? []).map((c) => c.kind));
  for (const child of syn.sections) {
    const childSpec = ctx.registry.get(child.type);
    if (!childSpec) {
      const here = ctx.registry.types().filter((t) => allowedKinds.has(t.kind)).map((t) => t.type);
      const hint = didYouMean(child.type, here, (s) => `<${s}>`) ||
        didYouMean(child.type, ctx.registry.types().map((t) => t.type), (s) => `<${s}>`) ||
        (spec.keys.some((k) => k.name === child.type)
          ? `; \`${child.type}\` is a key: write \`${child.type} VALUE\``
          : "");
      ctx.issues.error(child.file, child.line, `unknown section type <${child.type}>${hint}`);
      continue;
    }
    if (!allowedKinds.has(childSpec.kind)) {
      const parents = ctx.registry.types().filter((t) =>
        (t.contains ?? []).some((c) => c.kind === childSpec.kind)
      ).map(describe);
      ctx.issues.error(
        child.file,
        child.line,
        `<${child.type}> is not allowed in ${describe(spec)}` +
          (parents.length ? `; it belongs in ${parents.join(" or ")}` : ""),
      );
      continue;
    }
    children.push(buildSection(ctx, child, childSpec));
  }
  return children;
}

/** Report kinds of sub-section that occur more or less often than the section type allows. */
function checkChildCounts(
  ctx: Ctx,
  syn: SyntaxSection,
  spec: SectionSpec<object>,
  children: readonly ConfigSection[],
): void {
  for (const c of spec.contains ?? []) {
    const ofKind = children.filter((ch) => ch.kind === c.kind);
    const title = ctx.registry.kind(c.kind)?.title.toLowerCase() ?? `${c.kind} sections`;
    const types = ctx.registry.ofKind(c.kind).map((t) => `<${t.type}>`).join(", ");
    if (c.max !== undefined && ofKind.length > c.max) {
      for (const extra of ofKind.slice(c.max)) {
        ctx.issues.error(
          extra.file,
          extra.line,
          c.max === 1
            ? `only one of ${types} is allowed in ${describe(spec)} (the first is at line ` +
              `${ofKind[0].line})`
            : `at most ${c.max} ${title} are allowed in ${describe(spec)}`,
        );
      }
    }
    if (c.min !== undefined && ofKind.length < c.min) {
      ctx.issues.error(
        syn.file,
        syn.line,
        c.min === 1 && c.max === 1
          ? `${describe(spec)} needs exactly one of ${types}`
          : `${describe(spec)} needs at least ${c.min} of ${types}`,
      );
    }
  }
}

/** The checker a section type's `validate` reports through, placed at the section. */
function checkerFor(ctx: Ctx, syn: SyntaxSection): SectionChecker {
  return {
    error: (m, line) => ctx.issues.error(syn.file, line ?? syn.line, m),
    warning: (m, line) => ctx.issues.warning(syn.file, line ?? syn.line, m),
    hostError: (m, line) => {
      if (ctx.hostChecks) ctx.issues.error(syn.file, line ?? syn.line, m + HOST_SUFFIX, true);
    },
    hostChecks: ctx.hostChecks,
  };
}
