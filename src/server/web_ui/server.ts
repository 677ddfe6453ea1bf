/**
 * The looking glass's HTTP server (`<web-ui>`), in the main thread: read-only pages (GET and
 * HEAD only), a strict Content-Security-Policy, and, when a token is configured, the token
 * compared in constant time (HTTP Basic with the token as password, or `Bearer`).
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { HttpEndpoint } from "../http_endpoint.ts";
import type { ExplainTrace } from "../../pipeline/mod.ts";
import type { ExplainRequest } from "../explain_request.ts";
import { transactionMatches, type TransactionRing } from "../transactions.ts";
import { CHART_JS, STYLE_CSS } from "./assets.ts";
import {
  explainPage,
  explainRequestOf,
  type Overview,
  overviewPage,
  subscribersPage,
  transactionsPage,
} from "./pages.ts";
import type { RateSeries } from "./rates.ts";
import { type SearchSources, searchTerm } from "./subscribers.ts";
import { searchEverywhere } from "./search.ts";

const log = getLogger(["dhcpkit", "web-ui"]);

/** What the pages are made from. */
export interface LookingGlassSources {
  /** The server's facts. */
  overview(): Overview;
  /** The `stats-json` line (every worker's statistics so far). */
  statsJson(): Promise<string>;
  /** The chart's data. */
  rates(): RateSeries;
  /** The recent transactions. */
  transactions(): Promise<TransactionRing>;
  /** Where static assignments and leases are kept. */
  searchSources(): SearchSources;
  /** Explain a request with the running pipeline. */
  explain(request: ExplainRequest): Promise<ExplainTrace>;
}

/** The Content-Security-Policy of every answer: same-origin scripts, styles and data only. */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; " +
  "style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; " +
  "form-action 'self'; frame-ancestors 'none'";

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

const encoder = new TextEncoder();

/** SHA-256 of `text`. */
async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/**
 * Whether `given` equals `expected`, in time that does not depend on where they differ: both
 * are hashed first, so lengths do not show either.
 */
export async function tokenMatches(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** The token an `Authorization` header carries (Bearer, or the password of Basic). */
export function tokenOfHeader(header: string | null): string | undefined {
  if (!header) return undefined;
  const [scheme, value = ""] = header.trim().split(/\s+/, 2);
  if (/^bearer$/i.test(scheme)) return value;
  if (/^basic$/i.test(scheme)) {
    try {
      const text = atob(value);
      const colon = text.indexOf(":");
      return colon < 0 ? undefined : text.slice(colon + 1);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Read the token from the first line of `path`; throws with one line when it is unusable. */
export function readToken(
  path: string,
  read: (p: string) => string = Deno.readTextFileSync,
): string {
  let text: string;
  try {
    text = read(path);
  } catch (e) {
    throw new Error(`cannot read the web UI token file ${path}: ${(e as Error).message}`);
  }
  const token = text.split("\n")[0].trim();
  if (token.length < 16) {
    throw new Error(`the web UI token in ${path} is shorter than 16 characters`);
  }
  return token;
}

function respond(
  body: string | null,
  status = 200,
  type = "text/html; charset=utf-8",
  extra: Record<string, string> = {},
): Response {
  return new Response(body, {
    status,
    headers: { ...SECURITY_HEADERS, "content-type": type, ...extra },
  });
}

/** Route one request (authorised already) to its page. */
export async function route(url: URL, sources: LookingGlassSources): Promise<Response> {
  const params = url.searchParams;
  switch (url.pathname) {
    case "/":
      return respond(overviewPage(sources.overview(), await sources.statsJson()));
    case "/rates.json":
      return respond(JSON.stringify(sources.rates()), 200, "application/json");
    case "/assets/style.css":
      return respond(STYLE_CSS, 200, "text/css; charset=utf-8");
    case "/assets/chart.js":
      return respond(CHART_JS, 200, "text/javascript; charset=utf-8");
    case "/subscribers": {
      const q = (params.get("q") ?? "").slice(0, 200);
      const term = searchTerm(q);
      const found = await searchEverywhere(sources.searchSources(), term);
      const ring = await sources.transactions();
      const recent = term.text === "" ? [] : ring.recent(50, (r) => transactionMatches(r, q));
      return respond(subscribersPage(q, found, recent));
    }
    case "/transactions": {
      const q = (params.get("q") ?? "").slice(0, 200);
      const outcome = params.get("outcome") ?? "";
      const ring = await sources.transactions();
      const records = ring.recent(
        500,
        (r) => (!outcome || r.outcome === outcome) && transactionMatches(r, q),
      );
      return respond(transactionsPage(q, outcome, records, ring.size));
    }
    case "/explain": {
      const request = explainRequestOf(params);
      if (Object.keys(request).length === 0 || [...params.keys()].length === 0) {
        return respond(explainPage(request));
      }
      try {
        return respond(explainPage(request, await sources.explain(request)));
      } catch (e) {
        return respond(explainPage(request, undefined, (e as Error).message), 400);
      }
    }
    default:
      return respond("not found\n", 404, "text/plain; charset=utf-8");
  }
}

/** A running looking glass. */
export class WebUiServer extends HttpEndpoint {
  /** Serve on `address`:`port`; with `token`, every request must carry it. */
  static start(
    address: string,
    port: number,
    token: string | undefined,
    sources: LookingGlassSources,
  ): WebUiServer {
    return new WebUiServer(address, port, log, "Web UI", async (request) => {
      if (request.method !== "GET" && request.method !== "HEAD") {
        return respond("read-only: GET and HEAD only\n", 405, "text/plain; charset=utf-8", {
          allow: "GET, HEAD",
        });
      }
      if (token !== undefined) {
        const given = tokenOfHeader(request.headers.get("authorization"));
        if (given === undefined || !(await tokenMatches(given, token))) {
          return respond("the looking glass needs its token\n", 401, "text/plain; charset=utf-8", {
            "www-authenticate": 'Basic realm="dhcpkit looking glass", charset="UTF-8"',
          });
        }
      }
      const response = await route(new URL(request.url), sources);
      return request.method === "HEAD"
        ? new Response(null, { status: response.status, headers: response.headers })
        : response;
    }, `${address}|${port}|${token ?? ""}`);
  }
}
