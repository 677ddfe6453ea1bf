/**
 * HTML building blocks of the looking glass: escaping (every string from a packet or a file
 * goes through {@link esc}), the page frame and small tables. Pages are plain strings put
 * together on the server; the only script is the chart's, from `/assets/chart.js`.
 * @module
 */

import { durationText } from "../../pipeline/mod.ts";

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  "`": "&#96;",
};

/** `text` escaped for HTML text and (quoted) attribute values. */
export function esc(text: unknown): string {
  return String(text ?? "").replace(/[&<>"'`]/g, (c) => ESCAPES[c]);
}

/** A query string from `params` (empty values left out), each part URL-encoded. */
export function query(params: Record<string, string | undefined>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== "") {
      parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
    }
  }
  return parts.length ? "?" + parts.join("&") : "";
}

/** A link to `path` with `params`, showing `text` (escaped). */
export function link(
  path: string,
  params: Record<string, string | undefined>,
  text: string,
): string {
  return `<a href="${esc(path + query(params))}">${esc(text)}</a>`;
}

/** A table with a header row; cells are HTML already escaped by the caller. */
export function table(headers: readonly string[], rows: readonly string[][], cls = ""): string {
  if (rows.length === 0) return `<p class="empty">Nothing to show.</p>`;
  const head = headers.map((h) => `<th>${esc(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("\n");
  return `<table${cls ? ` class="${esc(cls)}"` : ""}><thead><tr>${head}</tr></thead>` +
    `<tbody>\n${body}\n</tbody></table>`;
}

/** A definition list of label → HTML value. */
export function facts(items: ReadonlyArray<[string, string]>): string {
  return `<dl class="facts">${
    items.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join("")
  }</dl>`;
}

/** The navigation entries. */
const NAV: ReadonlyArray<[string, string]> = [
  ["/", "Overview"],
  ["/subscribers", "Subscribers"],
  ["/transactions", "Transactions"],
  ["/explain", "Explain"],
];

/** A whole page: `title` (escaped), `body` (HTML), `scripts` (same-origin paths). */
export function page(title: string, current: string, body: string, scripts: string[] = []): string {
  const nav = NAV.map(([href, label]) =>
    `<a href="${href}"${href === current ? ' aria-current="page"' : ""}>${esc(label)}</a>`
  ).join(" ");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${esc(title)} · dhcpkit looking glass</title>
<link rel="stylesheet" href="/assets/style.css">
${scripts.map((s) => `<script src="${esc(s)}" defer></script>`).join("\n")}
</head>
<body>
<header><strong>dhcpkit</strong> looking glass <nav>${nav}</nav></header>
<main>
<h1>${esc(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

/** A duration in seconds as `2d 3h`, `4h 5m`, `6m 7s` or `8s` (explain's own form). */
export const duration: (seconds: number) => string = durationText;

/** A time (milliseconds since the epoch) as ISO 8601 UTC to the second. */
export function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}
