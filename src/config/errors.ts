/**
 * Configuration problems: every one carries the file and line it was found at.
 *
 * @module
 */

/** How bad a configuration issue is: errors make the configuration unusable, warnings do not. */
export type IssueSeverity = "error" | "warning";

/** One problem found while reading or validating a configuration. */
export interface ConfigIssue {
  /** The file the problem is in, as it was named to the loader (or resolved from an include). */
  readonly file: string;
  /** The 1-based line number, or 0 when the problem concerns the file as a whole. */
  readonly line: number;
  /** What is wrong, in one sentence. */
  readonly message: string;
  /** Error (default) or warning. */
  readonly severity: IssueSeverity;
  /** True when the check needs the host (interfaces, addresses, users, files). */
  readonly host: boolean;
}

/** Render an issue as `FILE:LINE: message` (or `FILE: message` when there is no line). */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}` : issue.file;
  const prefix = issue.severity === "warning" ? "warning: " : "";
  return `${where}: ${prefix}${issue.message}`;
}

/** A value that failed to convert; thrown by datatypes and caught by the loader. */
export class ConfigValueError extends Error {
  /** True when the failure comes from a check against the host system. */
  readonly host: boolean;

  /** Create a value error; `host` marks host-dependent checks. */
  constructor(message: string, host = false) {
    super(message);
    this.name = "ConfigValueError";
    this.host = host;
  }
}

/** Thrown by `loadConfigOrThrow` when a configuration has errors; carries all of them. */
export class ConfigError extends Error {
  /** Every issue that was found, in file and line order. */
  readonly issues: readonly ConfigIssue[];

  /** Create the error from the list of issues found. */
  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join("\n"));
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/** Collects issues while reading a configuration, so that processing can continue past them. */
export class IssueCollector {
  /** The issues collected so far, in the order they were reported. */
  readonly issues: ConfigIssue[] = [];

  /** Record an error at a file and line. */
  error(file: string, line: number, message: string, host = false): void {
    this.issues.push({ file, line, message, severity: "error", host });
  }

  /** Record a warning at a file and line. */
  warning(file: string, line: number, message: string): void {
    this.issues.push({ file, line, message, severity: "warning", host: false });
  }

  /** True when at least one error (not warning) was recorded. */
  get hasErrors(): boolean {
    return this.issues.some((i) => i.severity === "error");
  }

  /** The issues sorted by file (in order of first appearance) and line; ties keep report order. */
  sorted(): ConfigIssue[] {
    const fileOrder = new Map<string, number>();
    for (const i of this.issues) if (!fileOrder.has(i.file)) fileOrder.set(i.file, fileOrder.size);
    return this.issues
      .map((issue, index) => ({ issue, index }))
      .sort((a, b) =>
        (fileOrder.get(a.issue.file)! - fileOrder.get(b.issue.file)!) ||
        (a.issue.line - b.issue.line) || (a.index - b.index)
      )
      .map((x) => x.issue);
  }
}

/** Levenshtein edit distance between two strings. */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/**
 * The candidate closest to `word`, if it is close enough to be a likely typo
 * (distance at most a third of the word's length, minimum 2).
 */
export function closestName(word: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(2, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** A `; did you mean `x`?` suffix for an unknown name, or an empty string. */
export function didYouMean(word: string, candidates: Iterable<string>, wrap = (s: string) => s) {
  const best = closestName(word, candidates);
  return best === undefined ? "" : `; did you mean \`${wrap(best)}\`?`;
}
