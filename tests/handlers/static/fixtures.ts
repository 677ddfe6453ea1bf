/**
 * Shared fixtures of the static assignment tests: a sample assignment file, temp files, and
 * pipelines for both backends.
 * @module
 */

import { buildSqlite } from "../../../src/handlers/static/build_sqlite.ts";
import type { MessageHandler, PipelineOptions } from "../../../src/pipeline/mod.ts";
import {
  ClientIdOption,
  ConfirmMessage,
  DeclineMessage,
  type Duid,
  LinkLayerDuid,
  type Option,
  RebindMessage,
  ReleaseMessage,
  RenewMessage,
  RequestMessage,
  SolicitMessage,
} from "../../../src/protocol/mod.ts";
import { CLIENT_DUID, elapsed, pipelineFromConfig, serverId } from "../../pipeline/helpers.ts";

/** Hex of the test client's DUID (`CLIENT_DUID` of the pipeline helpers). */
export const CLIENT_DUID_HEX = CLIENT_DUID.toHex();

/** A client that has no DUID row. */
export const OTHER_CLIENT = new LinkLayerDuid(
  1,
  new Uint8Array([0x00, 0x99, 0x88, 0x77, 0x66, 0x55]),
);

/** The sample assignment file: one row per id form. */
export const SAMPLE_CSV = [
  "id,address,prefix",
  `duid:${CLIENT_DUID_HEX},2001:db8:1::10,2001:db8:100::/56`,
  "interface-id-str:eth7,2001:db8:1::20,",
  "interface-id:66:61:32:32,2001:DB8:1:0::21,", // "fa22", written with colons and upper case
  "remote-id:9:0102,2001:db8:1::30,2001:db8:300::/56",
  "remote-id-str:40208:SomeRemote,2001:db8:1::31,",
  "subscriber-id:abcd,2001:db8:1::40,",
  "subscriber-id-str:sub-1,2001:db8:1::41,",
  "linklayer-id:1:001122334466,2001:db8:1::50,2001:db8:500::/48",
  "linklayer-id-str:1:AB,2001:db8:1::51,",
  "interface-id-str:prefix-only,,2001:db8:600::/56",
].join("\n") + "\n";

/** Create a temp folder removed by the returned function. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-static-" });
  return { dir, cleanup: () => Deno.removeSync(dir, { recursive: true }) };
}

/** The lifetimes used by {@link staticPipeline}. */
export const LIFETIMES = { ap: 1000, av: 2000, pp: 3000, pv: 4000 };

/** The backends under test. */
export const BACKENDS = ["csv", "sqlite"] as const;
/** A backend name. */
export type Backend = typeof BACKENDS[number];

/**
 * A pipeline with one static assignment section using `csv` (converted with build-sqlite for the
 * SQLite backend), after worker initialisation. Returns the pipeline and a cleanup function.
 */
export async function staticPipeline(
  backend: Backend,
  csv: string = SAMPLE_CSV,
  extra: Partial<PipelineOptions> = {},
): Promise<{ pipeline: MessageHandler; dir: string; file: string; cleanup: () => Promise<void> }> {
  const { dir, cleanup } = tempDir();
  const csvPath = `${dir}/assignments.csv`;
  Deno.writeTextFileSync(csvPath, csv);
  let file = csvPath;
  if (backend === "sqlite") {
    file = `${dir}/assignments.sqlite`;
    const result = await buildSqlite({ source: csvPath, destination: file, pauseMs: 0 });
    if (result.exitCode !== 0) throw new Error(result.message);
  }
  const pipeline = pipelineFromConfig(
    `<static-${backend} ${file}>
  address-preferred-lifetime ${LIFETIMES.ap}
  address-valid-lifetime ${LIFETIMES.av}
  prefix-preferred-lifetime ${LIFETIMES.pp}
  prefix-valid-lifetime ${LIFETIMES.pv}
</static-${backend}>`,
    extra,
  );
  await pipeline.workerInit();
  return {
    pipeline,
    dir,
    file,
    cleanup: async () => {
      await pipeline.close();
      cleanup();
    },
  };
}

/** Client ID option for `duid`. */
export const clientIdOf = (duid: Duid): ClientIdOption => new ClientIdOption(duid);

/** A Solicit from `duid` with `options`. */
export const solicit = (duid: Duid, ...options: Option[]): SolicitMessage =>
  new SolicitMessage(0x010203, [clientIdOf(duid), elapsed(0), ...options]);
/** A Request from `duid` with `options`. */
export const request = (duid: Duid, ...options: Option[]): RequestMessage =>
  new RequestMessage(0x010204, [clientIdOf(duid), serverId(), elapsed(0), ...options]);
/** A Renew from `duid` with `options`. */
export const renew = (duid: Duid, ...options: Option[]): RenewMessage =>
  new RenewMessage(0x010205, [clientIdOf(duid), serverId(), elapsed(0), ...options]);
/** A Rebind from `duid` with `options`. */
export const rebind = (duid: Duid, ...options: Option[]): RebindMessage =>
  new RebindMessage(0x010206, [clientIdOf(duid), elapsed(0), ...options]);
/** A Confirm from `duid` with `options`. */
export const confirm = (duid: Duid, ...options: Option[]): ConfirmMessage =>
  new ConfirmMessage(0x010207, [clientIdOf(duid), elapsed(0), ...options]);
/** A Release from `duid` with `options`. */
export const release = (duid: Duid, ...options: Option[]): ReleaseMessage =>
  new ReleaseMessage(0x010208, [clientIdOf(duid), serverId(), elapsed(0), ...options]);
/** A Decline from `duid` with `options`. */
export const decline = (duid: Duid, ...options: Option[]): DeclineMessage =>
  new DeclineMessage(0x010209, [clientIdOf(duid), serverId(), elapsed(0), ...options]);
