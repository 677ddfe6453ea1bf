/**
 * The rows of the static CSV files a configuration names, checked the way the server reads
 * them (`loadCsvAssignments`): each row it would skip (bad id, address or prefix, too few
 * fields, a duplicate id) becomes a warning `FILE:LINE: message`, a file without usable rows a
 * warning, and a file it cannot use at all (no header, a quote never closed) an error, since the
 * server would not start with it.
 * @module
 */

import { existsSync } from "node:fs";
import type { ConfigIssue, ConfigSection } from "../src/config/mod.ts";
import { CsvFileError, loadCsvAssignments } from "../src/handlers/static/csv/mod.ts";
import type { StaticAssignmentValues } from "../src/handlers/static/section.ts";

/** The files of every `<static-csv>` section below `root`, in file order, each once. */
export function staticCsvFiles(root: ConfigSection): string[] {
  const files: string[] = [];
  const visit = (section: ConfigSection) => {
    if (section.type === "static-csv") {
      const path = (section.values as StaticAssignmentValues).path;
      if (path && !files.includes(path)) files.push(path);
    }
    section.children.forEach(visit);
  };
  visit(root);
  return files;
}

function issue(file: string, line: number, message: string, warning: boolean): ConfigIssue {
  return { file, line, message, severity: warning ? "warning" : "error", host: false };
}

/** The problems of one CSV file (none when it does not exist: the loader reports that). */
export async function checkCsvFile(path: string): Promise<ConfigIssue[]> {
  if (!existsSync(path)) return [];
  try {
    const { source, problems } = await loadCsvAssignments(path);
    const issues = problems.map((p) => issue(path, p.line, p.message, true));
    if (source.size === 0) {
      issues.push(issue(path, 0, "no usable assignments: the server would assign nothing", true));
    }
    return issues;
  } catch (e) {
    if (!(e instanceof CsvFileError)) throw e;
    // The message starts with the path, and may name a line.
    const rest = e.message.startsWith(`${path}: `) ? e.message.slice(path.length + 2) : e.message;
    const line = /^line (\d+): (.*)$/s.exec(rest);
    return [line ? issue(path, Number(line[1]), line[2], false) : issue(path, 0, rest, false)];
  }
}

/** The problems of every static CSV file below `root`. */
export async function checkStaticCsvFiles(root: ConfigSection): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  for (const file of staticCsvFiles(root)) issues.push(...await checkCsvFile(file));
  return issues;
}
