/**
 * The data files a configuration names (`<static-csv>`, `<static-sqlite>`), checked the way the
 * server reads them. CSV: each row the server would skip (bad id, address or prefix, too few
 * fields, a duplicate id) is a warning `FILE:LINE: message`; a file the server would refuse (no
 * header, a quote never closed, a NUL byte, a row longer than 64 K characters, a truncated last
 * row, no usable rows, more than `max-row-loss` of its rows unusable) is an error. SQLite: a
 * database that cannot be opened, is damaged (`PRAGMA quick_check`) or has no rows is an error;
 * rows whose address or prefix the server would ignore are warnings `FILE: row ID: message`.
 * Only the first {@link PROBLEMS_SHOWN} row problems of a file are listed, then a count.
 * @module
 */

import { existsSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import type { ConfigIssue, ConfigSection } from "../src/config/mod.ts";
import { CsvFileError, loadCsvAssignments } from "../src/handlers/static/csv/mod.ts";
import {
  AssignmentFormatError,
  assignmentFrom,
  canonicalId,
  quoteValue,
} from "../src/handlers/static/ids.ts";
import { DataSourceRefused, guardRows, releaseRows } from "../src/handlers/static/row_guard.ts";
import {
  DEFAULT_MAX_ROW_LOSS,
  type StaticAssignmentValues,
} from "../src/handlers/static/section.ts";
import { SqliteAssignmentSource, SqliteFileError } from "../src/handlers/static/sqlite/mod.ts";

/** How many row problems of one file are listed before the rest is only counted. */
export const PROBLEMS_SHOWN = 20;

/** A data file a configuration names. */
export interface StaticDataFile {
  /** `csv` or `sqlite`. */
  kind: "csv" | "sqlite";
  /** Absolute path. */
  path: string;
  /** The section's `max-row-loss` (the smallest, when several sections name the file). */
  maxRowLoss: number;
}

/** The files of every `<static-csv>` and `<static-sqlite>` section below `root`, each once. */
export function staticDataFiles(root: ConfigSection): StaticDataFile[] {
  const files: StaticDataFile[] = [];
  const visit = (section: ConfigSection) => {
    const kind = section.type === "static-csv"
      ? "csv"
      : section.type === "static-sqlite"
      ? "sqlite"
      : undefined;
    if (kind) {
      const values = section.values as StaticAssignmentValues;
      const maxRowLoss = values.maxRowLoss ?? DEFAULT_MAX_ROW_LOSS;
      const known = files.find((f) => f.path === values.path && f.kind === kind);
      if (known) known.maxRowLoss = Math.min(known.maxRowLoss, maxRowLoss);
      else if (values.path) files.push({ kind, path: values.path, maxRowLoss });
    }
    section.children.forEach(visit);
  };
  visit(root);
  return files;
}

function issue(file: string, line: number, message: string, warning: boolean): ConfigIssue {
  return { file, line, message, severity: warning ? "warning" : "error", host: false };
}

/** The message of `e` without a leading `path: `. */
function withoutPath(path: string, e: Error): string {
  return e.message.startsWith(`${path}: `) ? e.message.slice(path.length + 2) : e.message;
}

/** `problems` as issues, the first {@link PROBLEMS_SHOWN} listed and the rest counted. */
function capped(path: string, problems: ConfigIssue[]): ConfigIssue[] {
  if (problems.length <= PROBLEMS_SHOWN) return problems;
  const more = problems.length - PROBLEMS_SHOWN;
  return [
    ...problems.slice(0, PROBLEMS_SHOWN),
    issue(path, 0, `${more} more row${more === 1 ? "" : "s"} skipped (not listed)`, true),
  ];
}

/** The server's bad-data guard, at start-up (no table in use), as an issue. */
function guardIssue(path: string, rows: number, readRows: number | undefined, maxLoss: number) {
  const owner = {};
  try {
    guardRows(path, { rows, readRows, maxLoss }, owner);
    releaseRows(path, owner);
    return [];
  } catch (e) {
    if (!(e instanceof DataSourceRefused)) throw e;
    return [issue(path, 0, `${withoutPath(path, e)}: the server would not start`, false)];
  }
}

/** The problems of one CSV file (none when it does not exist: the loader reports that). */
export async function checkCsvFile(
  path: string,
  maxRowLoss = DEFAULT_MAX_ROW_LOSS,
): Promise<ConfigIssue[]> {
  if (!existsSync(path)) return [];
  try {
    const { source, problems } = await loadCsvAssignments(path);
    const issues = capped(path, problems.map((p) => issue(path, p.line, p.message, true)));
    issues.push(...guardIssue(path, source.size, source.rowsRead, maxRowLoss));
    return issues;
  } catch (e) {
    if (!(e instanceof CsvFileError)) throw e;
    // The message starts with the path, and may name a line.
    const rest = withoutPath(path, e);
    const line = /^line (\d+): (.*)$/s.exec(rest);
    return [line ? issue(path, Number(line[1]), line[2], false) : issue(path, 0, rest, false)];
  }
}

/** The problems of one SQLite database (none when it does not exist: the loader reports that). */
export function checkSqliteFile(path: string, maxRowLoss = DEFAULT_MAX_ROW_LOSS): ConfigIssue[] {
  if (!existsSync(path)) return [];
  let rows: number;
  try {
    const source = new SqliteAssignmentSource(path);
    try {
      rows = source.count();
    } finally {
      source.close();
    }
  } catch (e) {
    if (!(e instanceof SqliteFileError)) throw e;
    return [issue(path, 0, withoutPath(path, e), false)];
  }
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const check = (db.prepare("PRAGMA quick_check(5)").all() as { quick_check: string }[])
      .map((r) => r.quick_check);
    if (check.length !== 1 || check[0] !== "ok") {
      return [issue(path, 0, `the database is damaged: ${check.join("; ")}`, false)];
    }
    const problems: ConfigIssue[] = [];
    const select = db.prepare("SELECT id, address, prefix FROM assignments");
    for (const row of select.iterate() as Iterable<Record<string, unknown>>) {
      const id = String(row.id ?? "");
      try {
        if (canonicalId(id) !== id) {
          throw new AssignmentFormatError("id is not in canonical form (use build-sqlite)");
        }
        assignmentFrom(row.address as string | null, row.prefix as string | null);
      } catch (e) {
        if (!(e instanceof AssignmentFormatError)) throw e;
        problems.push(issue(path, 0, `row ${quoteValue(id)}: ${e.message}; never used`, true));
      }
    }
    return [...capped(path, problems), ...guardIssue(path, rows, undefined, maxRowLoss)];
  } catch (e) {
    return [issue(path, 0, `the database is damaged: ${(e as Error).message}`, false)];
  } finally {
    db.close();
  }
}

/** The problems of every static data file below `root`. */
export async function checkStaticDataFiles(root: ConfigSection): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  for (const file of staticDataFiles(root)) {
    issues.push(
      ...file.kind === "csv"
        ? await checkCsvFile(file.path, file.maxRowLoss)
        : checkSqliteFile(file.path, file.maxRowLoss),
    );
  }
  return issues;
}
