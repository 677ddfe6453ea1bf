/**
 * The configuration file reader: turns Apache-style text into a syntax tree that remembers the
 * file and line of every section and key. It knows nothing about which sections or keys exist;
 * that is the schema's job.
 *
 * Supported syntax: `<type>`, `<type name>`, `</type>`, `<type/>`, `<type name />`, `key value`,
 * `key = value`, whole-line `#` comments, blank lines, `%include FILE` and `%define NAME value`
 * with `$NAME`, `${NAME}` and `$$` in values and section names, and `%import MODULE` (the same as
 * a top-level `extension MODULE` key).
 *
 * @module
 */

import { dirname, isAbsolute, join, resolve } from "node:path";
import { didYouMean, type IssueCollector } from "./errors.ts";

/** One `key value` line. */
export interface SyntaxKey {
  /** Key name, lower-cased. */
  readonly key: string;
  /** The value after substitution of `%define`d names (may be empty). */
  readonly value: string;
  /** File the key was read from. */
  readonly file: string;
  /** Line of the key. */
  readonly line: number;
  /** True when substitution failed (already reported); the value must not be used. */
  readonly invalid?: boolean;
}

/** One section with its keys and sub-sections, in file order. */
export interface SyntaxSection {
  /** Section type, lower-cased; the empty string for the file's top level. */
  readonly type: string;
  /** Section name exactly as written (after substitution), if any. */
  readonly name?: string;
  /** File the section starts in. */
  readonly file: string;
  /** Line of the opening tag (0 for the top level). */
  readonly line: number;
  /** The section's keys in order. */
  readonly keys: SyntaxKey[];
  /** The section's sub-sections in order. */
  readonly sections: SyntaxSection[];
}

/** How the parser reads files; replaceable for tests. */
export interface ParseOptions {
  /** Read a whole file as text; throws when it cannot. Defaults to `Deno.readTextFileSync`. */
  readonly readFile?: (path: string) => string;
  /** Names defined before the first line, as if by `%define`. */
  readonly defines?: Readonly<Record<string, string>>;
}

const NAME_RE = /^[A-Za-z][-._A-Za-z0-9]*$/;
const KEY_LINE_RE = /^([A-Za-z][-._A-Za-z0-9]*)(?:\s*=\s*|\s+|$)(.*)$/;
const DEFINE_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface Definition {
  value: string;
  file: string;
  line: number;
}

interface ParseState {
  readonly issues: IssueCollector;
  readonly readFile: (path: string) => string;
  readonly defines: Map<string, Definition>;
  /** Absolute paths of the files being read, outermost first (for cycle detection). */
  readonly including: string[];
}

/** Read and parse a configuration file; problems are reported to `issues`. */
export function parseConfigFile(
  path: string,
  issues: IssueCollector,
  options: ParseOptions = {},
): SyntaxSection {
  const root = newSection("", undefined, path, 0);
  const state = newState(issues, options);
  const text = readOrReport(state, path, path, 0);
  if (text !== undefined) parseInto(state, root, text, path);
  return root;
}

/** Parse configuration text as if it were read from `file` (used for includes' base folder). */
export function parseConfigText(
  text: string,
  file: string,
  issues: IssueCollector,
  options: ParseOptions = {},
): SyntaxSection {
  const root = newSection("", undefined, file, 0);
  parseInto(newState(issues, options), root, text, file);
  return root;
}

function newState(issues: IssueCollector, options: ParseOptions): ParseState {
  const defines = new Map<string, Definition>();
  for (const [k, v] of Object.entries(options.defines ?? {})) {
    defines.set(k.toLowerCase(), { value: v, file: "<command line>", line: 0 });
  }
  return {
    issues,
    readFile: options.readFile ?? ((p) => Deno.readTextFileSync(p)),
    defines,
    including: [],
  };
}

function newSection(type: string, name: string | undefined, file: string, line: number) {
  const s: SyntaxSection = { type, file, line, keys: [], sections: [] };
  if (name !== undefined) (s as { name?: string }).name = name;
  return s;
}

function readOrReport(
  state: ParseState,
  path: string,
  fromFile: string,
  fromLine: number,
): string | undefined {
  try {
    return state.readFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "no such file"
      : e instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : e instanceof Deno.errors.IsADirectory
      ? "it is a directory"
      : (e as Error).message;
    const what = fromLine === 0 ? "cannot read configuration file" : `cannot include \`${path}\``;
    state.issues.error(fromFile, fromLine, `${what}: ${why}`);
    return undefined;
  }
}

interface Open {
  section: SyntaxSection;
  /** Line of the opening tag, in the current file. */
  line: number;
}

function parseInto(state: ParseState, into: SyntaxSection, text: string, file: string): void {
  const absolute = resolve(file);
  state.including.push(absolute);
  const stack: Open[] = [{ section: into, line: 0 }];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    const current = stack[stack.length - 1].section;
    if (line.startsWith("%")) {
      directive(state, current, line, file, lineNo);
    } else if (line.startsWith("<")) {
      tag(state, stack, line, file, lineNo);
    } else {
      const m = KEY_LINE_RE.exec(line);
      if (!m) {
        state.issues.error(file, lineNo, `cannot understand this line: \`${line}\``);
        continue;
      }
      const before = state.issues.issues.length;
      const value = substitute(state, m[2].trim(), file, lineNo);
      const key = { key: m[1].toLowerCase(), value, file, line: lineNo };
      current.keys.push(state.issues.issues.length > before ? { ...key, invalid: true } : key);
    }
  }
  for (let i = stack.length - 1; i > 0; i--) {
    const open = stack[i];
    state.issues.error(
      file,
      open.line,
      `section <${open.section.type}> is never closed: expected </${open.section.type}> ` +
        `before the end of the file`,
    );
  }
  state.including.pop();
}

function tag(state: ParseState, stack: Open[], line: string, file: string, lineNo: number) {
  if (!line.endsWith(">")) {
    state.issues.error(file, lineNo, `section tag is missing its closing \`>\`: \`${line}\``);
    return;
  }
  let inner = line.slice(1, -1).trim();
  if (inner.startsWith("/")) {
    const type = inner.slice(1).trim();
    if (!NAME_RE.test(type)) {
      state.issues.error(file, lineNo, `malformed closing tag \`${line}\``);
      return;
    }
    const lower = type.toLowerCase();
    if (stack.length === 1) {
      state.issues.error(file, lineNo, `closing tag </${lower}> without an open section`);
      return;
    }
    const open = stack[stack.length - 1];
    if (open.section.type !== lower) {
      state.issues.error(
        file,
        lineNo,
        `closing tag </${lower}> does not match section <${open.section.type}> opened at ` +
          `line ${open.line}: expected </${open.section.type}>`,
      );
    }
    // Recover by closing the innermost section either way.
    stack.pop();
    return;
  }
  const selfClosing = inner.endsWith("/");
  if (selfClosing) inner = inner.slice(0, -1).trim();
  const m = /^(\S+)(?:\s+(.*))?$/.exec(inner);
  if (!m || !NAME_RE.test(m[1])) {
    state.issues.error(file, lineNo, `malformed section tag \`${line}\``);
    return;
  }
  const type = m[1].toLowerCase();
  let name: string | undefined = m[2]?.trim();
  if (name !== undefined && name !== "") {
    if (/\s/.test(name)) {
      state.issues.error(file, lineNo, `section name \`${name}\` must not contain spaces`);
    }
    name = substitute(state, name, file, lineNo);
  } else {
    name = undefined;
  }
  const section = newSection(type, name, file, lineNo);
  stack[stack.length - 1].section.sections.push(section);
  if (!selfClosing) stack.push({ section, line: lineNo });
}

function directive(
  state: ParseState,
  current: SyntaxSection,
  line: string,
  file: string,
  lineNo: number,
) {
  const m = /^%(\S+)\s*(.*)$/.exec(line)!;
  const name = m[1].toLowerCase();
  const rest = m[2].trim();
  if (name === "include") {
    if (rest === "") {
      state.issues.error(file, lineNo, "%include needs a file name");
      return;
    }
    const target = substitute(state, rest, file, lineNo);
    const path = isAbsolute(target) ? target : join(dirname(file), target);
    const absolute = resolve(path);
    const cycleStart = state.including.indexOf(absolute);
    if (cycleStart >= 0) {
      const chain = [...state.including.slice(cycleStart), absolute].join(" -> ");
      state.issues.error(file, lineNo, `include cycle: ${chain}`);
      return;
    }
    const text = readOrReport(state, path, file, lineNo);
    if (text !== undefined) parseInto(state, current, text, path);
  } else if (name === "define") {
    const d = /^(\S+)(?:\s+(.*))?$/.exec(rest);
    if (!d || !DEFINE_NAME_RE.test(d[1])) {
      state.issues.error(file, lineNo, "%define needs a name (letters, digits, `_`) and a value");
      return;
    }
    const key = d[1].toLowerCase();
    const value = substitute(state, (d[2] ?? "").trim(), file, lineNo);
    const existing = state.defines.get(key);
    if (existing && existing.value !== value) {
      const where = existing.line > 0 ? ` at ${existing.file}:${existing.line}` : "";
      state.issues.error(file, lineNo, `\`${d[1]}\` is already defined${where}`);
      return;
    }
    state.defines.set(key, { value, file, line: lineNo });
  } else if (name === "import") {
    // `%import MODULE` is another spelling of the top-level `extension MODULE` key.
    if (rest === "") {
      state.issues.error(file, lineNo, "%import needs a module");
    } else if (current.type !== "") {
      state.issues.error(file, lineNo, "%import is only allowed at the top level");
    } else {
      const before = state.issues.issues.length;
      const value = substitute(state, rest, file, lineNo);
      const key = { key: "extension", value, file, line: lineNo };
      current.keys.push(state.issues.issues.length > before ? { ...key, invalid: true } : key);
    }
  } else {
    state.issues.error(
      file,
      lineNo,
      `unknown directive %${name}${
        didYouMean(name, ["include", "define", "import"], (s) => "%" + s)
      }`,
    );
  }
}

function substitute(state: ParseState, text: string, file: string, lineNo: number): string {
  if (!text.includes("$")) return text;
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c !== "$") {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    let name: string | undefined;
    if (next === "$") {
      out += "$";
      i += 2;
      continue;
    } else if (next === "{") {
      const end = text.indexOf("}", i + 2);
      if (end < 0) {
        state.issues.error(file, lineNo, "unterminated `${` in value");
        return out + text.slice(i);
      }
      name = text.slice(i + 2, end);
      i = end + 1;
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1));
      if (m) {
        name = m[0];
        i += 1 + name.length;
      }
    }
    if (name === undefined || !DEFINE_NAME_RE.test(name)) {
      state.issues.error(
        file,
        lineNo,
        "a `$` must start a defined name; write `$$` for a dollar sign",
      );
      return out + text.slice(i);
    }
    const def = state.defines.get(name.toLowerCase());
    if (!def) {
      state.issues.error(
        file,
        lineNo,
        `\`$${name}\` is not defined${didYouMean(name, state.defines.keys(), (s) => "$" + s)}`,
      );
      continue;
    }
    out += def.value;
  }
  return out;
}
