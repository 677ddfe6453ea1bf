/**
 * Tests of the Technicolor extension, written the way an extension author would: only through
 * dhcpkit's public API (`@dhcpkit/dhcpkit`), from outside the dhcpkit source tree.
 */

import assert from "node:assert/strict";
import {
  AdvertiseMessage,
  buildMessageHandler,
  BUILTIN_EXTENSIONS,
  ClientIdOption,
  describeMessage,
  ElapsedTimeOption,
  formatIssue,
  type HandleResult,
  InformationRequestMessage,
  installExtensions,
  LinkLayerDuid,
  loadConfigText,
  type Message,
  type MessageHandler,
  OptionRequestOption,
  optionTypes,
  optionTypesByName,
  parseMessage,
  RelayForwardMessage,
  RelayMessageOption,
  RelayReplyMessage,
  ReplyMessage,
  serializeMessage,
  ServerIdOption,
  SolicitMessage,
  StatisticsStore,
  toHex,
  ValidationError,
} from "@dhcpkit/dhcpkit";
import { technicolorExtension } from "./mod.ts";
import { OPTION_SOL_MAX_RT_TECHNICOLOR, SolMaxRTTechnicolorOption } from "./option.ts";
import { solMaxRtTechnicolorSection } from "./section.ts";

// What the server does: install the built-in extensions (the tests use <subnet> and
// <subnet-group> next to the extension's section) and the ones the configuration names.
installExtensions([...BUILTIN_EXTENSIONS, technicolorExtension]);

const SERVER = new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, 1]));
const SERVER_ID = new ServerIdOption(SERVER);
const CLIENT = new ClientIdOption(new LinkLayerDuid(1, new Uint8Array([0, 0x11, 0x22, 0, 0, 1])));

/** Build the pipeline of a configuration text (its handlers only). */
function pipeline(text: string): MessageHandler {
  const result = loadConfigText(text, "/tmp/technicolor.conf", { hostChecks: false });
  if (!result.config) throw new Error(result.errors.map(formatIssue).join("\n"));
  return buildMessageHandler(result.config, SERVER);
}

/** Send `request` through `handler` as a relayed packet; return the client message answered. */
function answer(handler: MessageHandler, request: Message): Message | undefined {
  const result = handler.handle({
    data: serializeMessage(
      new RelayForwardMessage(0, "2001:db8:1::1", "fe80::1", [
        new RelayMessageOption(request),
      ]),
    ),
    source: "2001:db8:1::2",
    sourcePort: 547,
    interfaceName: "eth0",
    linkAddress: "::",
    receivedOverMulticast: false,
    receivedOverTcp: false,
    marks: ["unmarked"],
  }, new StatisticsStore()) as HandleResult; // no lookups: answered at once
  if (result.replies.length === 0) return undefined;
  let message = parseMessage(result.replies[0].data);
  while (message instanceof RelayReplyMessage) {
    message = message.getOption(RelayMessageOption)!.message;
  }
  return message;
}

const request = (...oro: number[]) =>
  new InformationRequestMessage(0x010203, [
    CLIENT,
    new ElapsedTimeOption(0),
    ...(oro.length ? [new OptionRequestOption(oro)] : []),
  ]);

Deno.test("technicolor: the option class registered from outside parses, serializes and decodes", () => {
  assert.equal(optionTypes.get(65279), SolMaxRTTechnicolorOption);
  assert.equal(optionTypesByName.get("sol-max-rt-technicolor"), SolMaxRTTechnicolorOption);
  const reply = new ReplyMessage(0xabcdef, [
    CLIENT,
    SERVER_ID,
    new SolMaxRTTechnicolorOption(3600),
  ]);
  const bytes = serializeMessage(reply);
  assert.match(toHex(bytes), /feff000400000e10$/);
  const parsed = parseMessage(bytes);
  parsed.validate();
  const option = parsed.options[2];
  assert.ok(option instanceof SolMaxRTTechnicolorOption);
  assert.equal(option.solMaxRt, 3600);
  const json = describeMessage(parsed) as { options: Record<string, unknown>[] };
  assert.deepEqual(json.options[2], {
    code: OPTION_SOL_MAX_RT_TECHNICOLOR,
    name: "sol-max-rt-technicolor",
    sol_max_rt: 3600,
  });
});

Deno.test("technicolor: placement rules and value checks are enforced", () => {
  new AdvertiseMessage(1, [CLIENT, SERVER_ID, new SolMaxRTTechnicolorOption(60)]).validate();
  assert.throws(
    () => new SolicitMessage(1, [CLIENT, SERVER_ID, new SolMaxRTTechnicolorOption(60)]).validate(),
    ValidationError,
  );
  assert.throws(
    () =>
      new ReplyMessage(1, [
        CLIENT,
        new SolMaxRTTechnicolorOption(60),
        new SolMaxRTTechnicolorOption(61),
      ])
        .validate(),
    ValidationError,
  );
  assert.throws(() => new SolMaxRTTechnicolorOption(59).validate(), ValidationError);
  assert.throws(() => parseMessage(new Uint8Array([7, 0, 0, 1, 0xfe, 0xff, 0, 2, 0, 1])));
});

Deno.test("technicolor: a configuration using the section parses, and bad values are reported", () => {
  const ok = loadConfigText(
    "<subnet 2001:db8::/32>\n<sol-max-rt-technicolor>\nlimit 3600\nalways-send yes\n" +
      "</sol-max-rt-technicolor>\n</subnet>\n",
    "/tmp/t.conf",
    { hostChecks: false },
  );
  assert.deepEqual(ok.errors, []);
  const section = ok.config!.handlers[0].children[0];
  assert.equal(section.type, solMaxRtTechnicolorSection.type);
  assert.deepEqual(section.values, { limit: 3600, alwaysSend: true });
  const bad = loadConfigText(
    "<sol-max-rt-technicolor>\nlimit 30\n</sol-max-rt-technicolor>\n",
    "/tmp/t.conf",
    { hostChecks: false },
  );
  assert.deepEqual(bad.errors.map(formatIssue), [
    "/tmp/t.conf:2: limit: 30 is out of range: must be between 60 and 86400",
  ]);
});

Deno.test("technicolor: a Reply carries option 65279 with the configured value", () => {
  const always = pipeline(
    "<sol-max-rt-technicolor>\nlimit 7200\nalways-send yes\n</sol-max-rt-technicolor>",
  );
  const reply = answer(always, request(23));
  assert.ok(reply instanceof ReplyMessage);
  const option = reply.getOption(SolMaxRTTechnicolorOption);
  assert.equal(option?.solMaxRt, 7200);

  const asked = pipeline("<sol-max-rt-technicolor>\nlimit 600\n</sol-max-rt-technicolor>");
  assert.equal(answer(asked, request(82))!.getOption(SolMaxRTTechnicolorOption)?.solMaxRt, 600);
  assert.equal(answer(asked, request(65279))!.getOption(SolMaxRTTechnicolorOption)?.solMaxRt, 600);
  assert.equal(answer(asked, request(23))!.getOption(SolMaxRTTechnicolorOption), undefined);
});

Deno.test("technicolor: the outermost section wins", () => {
  const p = pipeline(
    "<subnet-group>\nprefix 2001:db8::/32\n<sol-max-rt-technicolor>\nlimit 600\n</sol-max-rt-technicolor>\n" +
      "</subnet-group>\n<sol-max-rt-technicolor>\nlimit 900\n</sol-max-rt-technicolor>",
  );
  assert.equal(answer(p, request(82))!.getOption(SolMaxRTTechnicolorOption)?.solMaxRt, 900);
});
