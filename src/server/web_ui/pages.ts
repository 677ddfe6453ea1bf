/**
 * The looking glass's pages, rendered from plain data. Every value that comes from a packet, a
 * file or the configuration is escaped with `esc`; links are built with `link`/`query`.
 * @module
 */

import { CLIENT_REQUEST_TYPES } from "../../tools/client_messages.ts";
import type { ExplainTrace } from "../../pipeline/mod.ts";
import type { ExplainRequest } from "../explain_request.ts";
import type { TransactionRecord } from "../transactions.ts";
import { duration, esc, facts, link, page, query, table, timestamp } from "./html.ts";
import { explainParamsOfKey } from "./subscribers.ts";
import type { SearchResults } from "./search.ts";

/** What the overview shows about the server. */
export interface Overview {
  /** Server DUID as hex. */
  duid: string;
  /** dhcpkit version. */
  version: string;
  /** Start time (milliseconds since the epoch). */
  startedAt: number;
  /** The configuration file. */
  configFile: string;
  /** The last configuration load. */
  lastReload: { time: number; successful: boolean; errors: string[] };
  /** The listeners, as log lines describe them. */
  listeners: string[];
  /** UDP I/O backend and threads. */
  workers: string;
}

/** The explain parameters a transaction's client is asked about with. */
export function explainParamsOf(r: TransactionRecord): Record<string, string> {
  const type = r.request.replace(/ /g, "-");
  return {
    duid: r.client,
    "interface-id": r.interfaceId ?? "",
    "remote-id": r.remoteId ?? "",
    "subscriber-id": r.subscriberId ?? "",
    "link-address": r.relays.length ? r.linkAddress : "",
    interface: r.interface,
    type: ["solicit", "request", "renew", "rebind", "release", "confirm", "information-request"]
        .includes(type)
      ? type
      : "",
  };
}

function counterRows(stats: Record<string, unknown>, prefix = ""): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(stats)) {
    const name = prefix + k;
    if (typeof v === "number") {
      out.push(
        `<div data-counter="${esc(name)}"><span>${esc(name)}</span><span>${esc(v)}</span></div>`,
      );
    } else if (v && typeof v === "object") {
      out.push(...counterRows(v as Record<string, unknown>, name + "."));
    }
  }
  return out;
}

/** `/`: the server and its counters. */
export function overviewPage(o: Overview, statsJson: string, now = Date.now()): string {
  const stats = JSON.parse(statsJson) as Record<string, Record<string, unknown>>;
  const reload = o.lastReload;
  const reloadText = `${esc(timestamp(reload.time))} · ${
    reload.successful ? '<span class="ok">successful</span>' : '<span class="bad">failed</span>'
  }${
    reload.errors.length
      ? `<ul>${reload.errors.map((e) => `<li>${esc(e)}</li>`).join("")}</ul>`
      : ""
  }`;
  const sections = Object.entries(stats).filter(([k, v]) =>
    k !== "global" && v && typeof v === "object" && Object.keys(v).length > 0
  );
  return page(
    "Overview",
    "/",
    `${
      facts([
        ["Server DUID", esc(o.duid)],
        ["Version", esc(o.version)],
        [
          "Uptime",
          `${esc(duration((now - o.startedAt) / 1000))} (since ${esc(timestamp(o.startedAt))})`,
        ],
        ["Configuration", esc(o.configFile)],
        ["Last reload", reloadText],
        ["Listeners", o.listeners.map(esc).join("<br>") || "none"],
        ["Workers", esc(o.workers)],
      ])
    }
<h2>Requests and replies per second, last 15 minutes</h2>
<figure>
<canvas id="rate-chart" role="img" aria-label="requests and replies per second"></canvas>
<figcaption class="legend"><span class="in">&#9632; requests</span><span class="out">&#9632; replies</span>
<span class="muted">(the numbers: <a href="/rates.json">/rates.json</a>)</span></figcaption>
</figure>
<h2>Counters (as <code>dhcpkit ctl stats-json</code>)</h2>
<div class="counters" id="global-counters">${counterRows(stats.global ?? {}).join("\n")}</div>
${
      sections.map(([k, v]) =>
        `<h2>${esc(k)}</h2><div class="counters">${
          counterRows(v as Record<string, unknown>).join("\n")
        }</div>`
      ).join("\n")
    }`,
    ["/assets/chart.js"],
  );
}

function searchForm(action: string, fields: string): string {
  return `<form method="get" action="${
    esc(action)
  }">${fields}<button type="submit">Search</button></form>`;
}

function input(name: string, label: string, value: string | undefined, placeholder = ""): string {
  return `<label>${esc(label)}<input name="${esc(name)}" value="${esc(value ?? "")}"${
    placeholder ? ` placeholder="${esc(placeholder)}"` : ""
  }></label>`;
}

/** The rows of the transactions table. */
function transactionRows(records: readonly TransactionRecord[]): string[][] {
  return records.map((r) => [
    esc(timestamp(r.time)),
    r.client ? link("/subscribers", { q: r.client }, r.client) : '<span class="muted">-</span>',
    esc(
      [
        ...r.relays.map((a) => `via ${a}`),
        r.interfaceId !== undefined ? `interface-id ${r.interfaceId}` : "",
        r.remoteId !== undefined ? `remote-id ${r.remoteId}` : "",
        r.subscriberId !== undefined ? `subscriber-id ${r.subscriberId}` : "",
      ].filter((x) => x).join(", ") || `direct on ${r.interface || "?"}`,
    ),
    esc(r.request),
    `${esc(r.reply ?? r.outcome.replaceAll("_", " "))}${
      r.assigned.length ? `<br>${r.assigned.map(esc).join("<br>")}` : ""
    }${r.statuses.length ? `<br><span class="bad">${r.statuses.map(esc).join(", ")}</span>` : ""}`,
    esc(`${r.ms} ms`),
    r.request === "unparsable" ? "" : link("/explain", explainParamsOf(r), "explain"),
  ]);
}

const TRANSACTION_HEADERS = ["Time", "Client", "Relay chain", "Request", "Reply", "Took", ""];

/** `/subscribers?q=`. */
export function subscribersPage(
  q: string,
  found: SearchResults,
  transactions: readonly TransactionRecord[],
): string {
  const { statics, leases, poolLeases, problems } = found;
  const form = searchForm(
    "/subscribers",
    input(
      "q",
      "DUID, address, prefix, remote-id, interface-id or subscriber-id",
      q,
      "customer-1042",
    ),
  );
  if (q.trim() === "") return page("Subscribers", "/subscribers", form);
  const staticRows = statics.map((s) => {
    const params = explainParamsOfKey(s.key, s.address);
    return [
      esc(s.readable),
      esc(s.address ?? "-"),
      esc(s.prefix ?? "-"),
      esc(s.source),
      params ? link("/explain", params, "explain") : "",
    ];
  });
  const leaseRows = leases.map((l) => [
    link("/subscribers", { q: l.client }, l.client),
    esc(l.lease),
    esc(duration(l.remaining)),
    esc(l.linkAddress),
    esc(timestamp(l.lastSeen * 1000)),
    esc(l.source),
  ]);
  // A delegated prefix says nothing of the client's link; the same client's address lease does.
  const addressOf = new Map<string, string>();
  for (const l of poolLeases) {
    if (l.pool.startsWith("na ") && !addressOf.has(l.client)) addressOf.set(l.client, l.lease);
  }
  const poolRows = poolLeases.map((l) => [
    link("/subscribers", { q: l.client }, l.client),
    esc(l.lease),
    esc(l.state),
    esc(l.remaining > 0 ? duration(l.remaining) : "-"),
    esc(l.pool),
    esc(l.iaid),
    esc(l.source),
    link("/explain", {
      duid: l.client,
      iaid: String(l.iaid),
      type: "renew",
      // As if relayed from the address's link, so that subnet filters see the customer's link.
      "link-address": l.pool.startsWith("na ") ? l.lease : addressOf.get(l.client),
    }, "explain"),
  ]);
  return page(
    "Subscribers",
    "/subscribers",
    `${form}
${problems.map((p) => `<p class="bad">${esc(p)}</p>`).join("\n")}
<h2>Static assignments</h2>
${table(["Client", "Address", "Prefix", "Source", ""], staticRows, "static")}
<h2>Current leases</h2>
${table(["Client", "Lease", "Remaining", "Link", "Last seen", "Store"], leaseRows, "leases")}
<h2>Pool leases</h2>
${
      table(
        ["Client", "Lease", "State", "Remaining", "Pool", "IAID", "Store", ""],
        poolRows,
        "pool-leases",
      )
    }
<h2>Recent transactions</h2>
${table(TRANSACTION_HEADERS, transactionRows(transactions), "transactions")}`,
  );
}

/** `/transactions?q=&outcome=`. */
export function transactionsPage(
  q: string,
  outcome: string,
  records: readonly TransactionRecord[],
  kept: number,
): string {
  const outcomes = [
    "",
    "reply",
    "do_not_respond",
    "for_other_server",
    "status",
    "unparsable",
    "handling_error",
    "lookup_failure",
    "lookup_timeout",
  ];
  const select = `<label>Outcome<select name="outcome">${
    outcomes.map((o) =>
      `<option value="${esc(o)}"${o === outcome ? " selected" : ""}>${esc(o || "any")}</option>`
    ).join("")
  }</select></label>`;
  return page(
    "Transactions",
    "/transactions",
    `${
      searchForm(
        "/transactions",
        input("q", "Filter", q, "DUID, address, relay, id, type") + select,
      )
    }
<p class="muted">${esc(records.length)} shown of the ${esc(kept)} most recent kept in memory.</p>
${table(TRANSACTION_HEADERS, transactionRows(records), "transactions")}`,
  );
}

const EXPLAIN_FIELDS: ReadonlyArray<[keyof ExplainRequest, string, string]> = [
  ["type", "type", "Type"],
  ["duid", "duid", "Client DUID (hex)"],
  ["iaid", "iaid", "IAID of the IA_NA and IA_PD"],
  ["interfaceId", "interface-id", "Interface-ID (text or 0xHEX)"],
  ["remoteId", "remote-id", "Remote-ID (ENT:TEXT or ENT:0xHEX)"],
  ["subscriberId", "subscriber-id", "Subscriber-ID"],
  ["linkAddress", "link-address", "Relay link address"],
  ["interface", "interface", "Server interface"],
  ["hex", "hex", "Captured message (hex)"],
];

/** The explain request a query string asks for (parameter names as on the command line). */
export function explainRequestOf(params: URLSearchParams): ExplainRequest {
  const request: ExplainRequest = {};
  for (const [field, name] of EXPLAIN_FIELDS) {
    const v = params.get(name);
    if (v !== null && v !== "") request[field] = v;
  }
  return request;
}

function explainForm(request: ExplainRequest): string {
  const typeSelect = `<label>Type<select name="type">${
    CLIENT_REQUEST_TYPES.map((t) =>
      `<option${t === (request.type ?? "solicit") ? " selected" : ""}>${esc(t)}</option>`
    ).join("")
  }</select></label>`;
  return `<form method="get" action="/explain">${typeSelect}${
    EXPLAIN_FIELDS.slice(1).map(([field, name, label]) => input(name, label, request[field])).join(
      "",
    )
  }<button type="submit">Explain</button></form>`;
}

/** `/explain?...`: the form, and the explanation when something was asked. */
export function explainPage(
  request: ExplainRequest,
  trace?: ExplainTrace,
  error?: string,
): string {
  const parts = [explainForm(request)];
  if (error) parts.push(`<p class="bad">${esc(error)}</p>`);
  if (trace) {
    parts.push(
      facts([
        ["Request", esc(trace.request.summary)],
        ["Received on", esc(trace.request.interface || "-")],
        [
          "Outcome",
          `<span class="${trace.outcome === "reply" ? "ok" : "bad"}">${esc(trace.outcome)}</span>${
            trace.reason ? ` · ${esc(trace.reason)}` : ""
          }`,
        ],
      ]),
      "<h2>Filters</h2>",
      trace.filters.length === 0
        ? `<p class="empty">No filters configured.</p>`
        : `<ol class="filters">${
          trace.filters.map((f) =>
            `<li class="depth-${Math.min(f.depth, 6)}"><span class="${f.matched ? "ok" : "bad"}">${
              f.matched ? "&#10003;" : "&#10007;"
            }</span> <code>${esc(f.filter)}</code> ${esc(f.reason)}</li>`
          ).join("")
        }</ol>`,
      "<h2>Handlers</h2>",
      table(
        ["Phase", "Handler", "Scope", "What happened"],
        trace.handlers.map((h) => [
          esc(h.phase),
          esc(h.handler),
          esc(h.scope),
          [
            h.skipped ? `<span class="muted">skipped: ${esc(h.skipped)}</span>` : "",
            ...h.notes.map((n) => esc(n)),
            ...h.changes.map((c) => esc(c)),
            h.signal ? `<span class="bad">${esc(h.signal)}</span>` : "",
          ].filter((x) => x).join("<br>"),
        ]),
        "handlers",
      ),
      "<h2>Assignment sources</h2>",
      table(
        ["Source", "Asked", "Result", "At"],
        trace.sources.map((s) => [
          esc(s.source),
          s.asked.map(esc).join("<br>"),
          esc(s.result),
          esc(s.location ?? "-"),
        ]),
        "sources",
      ),
    );
    if (trace.pools?.length) {
      parts.push(
        "<h2>Pools</h2>",
        table(
          ["Pool", "IA", "Result", "Client's leases in the pool", "Store"],
          trace.pools.map((p) => [
            esc(p.pool),
            esc(p.ia ?? "-"),
            esc(p.result),
            p.held.length ? p.held.map(esc).join("<br>") : "-",
            esc(p.store),
          ]),
          "pools",
        ),
      );
    }
    if (trace.reply) {
      parts.push(
        `<h2>Reply: ${esc(trace.reply.type)}</h2>`,
        `<pre>${esc(JSON.stringify(trace.reply.message, null, 2))}</pre>`,
      );
    }
    if (trace.dryRun.length) {
      parts.push(`<p class="muted">Dry run: ${esc(trace.dryRun.join("; "))}.</p>`);
    }
    parts.push(
      `<p class="muted">Link to this explanation: <a href="/explain${
        esc(query(Object.fromEntries(
          EXPLAIN_FIELDS.map(([field, name]) => [name, request[field]]),
        )))
      }">permalink</a></p>`,
    );
  }
  return page("Explain", "/explain", parts.join("\n"));
}
