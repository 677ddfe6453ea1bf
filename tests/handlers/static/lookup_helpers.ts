/**
 * Helpers of the `<static-postgresql>` tests: drive handlers as the pipeline drives a handler
 * with a lookup, read the answers, and fill a table from CSV text.
 * @module
 */

import { iterateAssignmentCsv } from "../../../src/handlers/static/csv/reader.ts";
import { bundleFromPacket, type Handler } from "../../../src/pipeline/mod.ts";
import {
  AdvertiseMessage,
  type ClientServerMessage,
  IAAddressOption,
  IANAOption,
  IAPDOption,
  type Message,
  ReplyMessage,
  serializeMessage,
  SolicitMessage,
} from "../../../src/protocol/mod.ts";
import { acquirePool, parseConnectionUrl } from "../../../src/storage/postgresql/mod.ts";
import { LIFETIMES } from "./fixtures.ts";
import { packet } from "../../pipeline/helpers.ts";

/**
 * Run `handlers` on `message` as the pipeline does: lookups, then handle(). The lookups start
 * before the first await, so answers asked together in one turn have their lookups in one batch.
 */
export async function answer(
  handlers: Handler[],
  message: Message,
  interfaceName = "eth0",
): Promise<ClientServerMessage> {
  const bundle = bundleFromPacket(packet(message, { interfaceName }), false);
  for (const h of handlers) {
    const pending = h.lookup?.(bundle);
    if (pending) await pending;
  }
  const xid = bundle.request.transactionId;
  bundle.responses = [
    bundle.request instanceof SolicitMessage
      ? new AdvertiseMessage(xid, [])
      : new ReplyMessage(xid, []),
  ];
  bundle.createOutgoingRelayMessages();
  for (const h of handlers) h.handle(bundle);
  return bundle.response;
}

/** The IAs of a response as comparable bytes. */
export function iasOf(response: ClientServerMessage): string {
  const ias = response.options.filter((o) => o instanceof IANAOption || o instanceof IAPDOption);
  return ias.map((o) => JSON.stringify(Array.from(serializeMessage(new ReplyMessage(1, [o])))))
    .join("|");
}

/** The first address of the response's IA_NA, if any. */
export const addressOf = (response: ClientServerMessage): string | undefined =>
  (response.getOption(IANAOption)?.options.find((o) => o instanceof IAAddressOption) as
    | IAAddressOption
    | undefined)?.address;

/** Create `table` and fill it with the rows of CSV text `csv` (canonical ids), in one insert. */
export async function fillTable(
  url: string,
  passwordFile: string,
  csv: string,
  table = "assignments",
): Promise<void> {
  const dir = Deno.makeTempDirSync();
  const pool = acquirePool(parseConnectionUrl(url), { passwordFile });
  try {
    Deno.writeTextFileSync(`${dir}/a.csv`, csv);
    await pool.query(
      `CREATE TABLE ${table} (id TEXT PRIMARY KEY, address TEXT NULL, prefix TEXT NULL)`,
    );
    const rows = [];
    for await (const row of iterateAssignmentCsv(`${dir}/a.csv`, () => {})) {
      rows.push({ id: row.key, address: row.address ?? null, prefix: row.prefix ?? null });
    }
    await pool.query(
      `INSERT INTO ${table} SELECT id, address, prefix FROM json_to_recordset($1::text::json) ` +
        "AS r(id TEXT, address TEXT, prefix TEXT)",
      [JSON.stringify(rows)],
    );
  } finally {
    await pool.release();
    Deno.removeSync(dir, { recursive: true });
  }
}

/** A `<static-postgresql URL>` section with the fixtures' lifetimes and `extra` lines. */
export function staticPostgresqlConfig(url: string, passwordFile: string, extra = ""): string {
  return `<static-postgresql ${url}>
    password-file ${passwordFile}
    address-preferred-lifetime ${LIFETIMES.ap}
    address-valid-lifetime ${LIFETIMES.av}
    prefix-preferred-lifetime ${LIFETIMES.pp}
    prefix-valid-lifetime ${LIFETIMES.pv}
${extra}</static-postgresql>`;
}
