import {
  alwaysSendKey,
  ConfigValueError,
  datatypes,
  defineSection,
  type OptionHandlerValues,
} from "@dhcpkit/dhcpkit";

/** The typed values of a `<captive-portal>` section (`alwaysSend` comes with alwaysSendKey). */
export interface CaptivePortalValues extends OptionHandlerValues {
  /** The portal's API URI. */
  uri: string;
}

/** A datatype turns the text after a key into a typed value, or throws saying what is wrong. */
const httpsUri = datatypes.dataType("HTTPS URI", (text) => {
  if (text === "urn:ietf:params:capport:unrestricted") return text;
  if (!URL.canParse(text) || new URL(text).protocol !== "https:") {
    throw new ConfigValueError(`\`${text}\` is not an https: URI`);
  }
  return new URL(text).href;
}, "an `https:` URI, or `urn:ietf:params:capport:unrestricted`");

/** `<captive-portal>`: where it may appear (kind), what it means and which keys it takes. */
export const captivePortalSection = defineSection<CaptivePortalValues>({
  type: "captive-portal",
  kind: "handler",
  description: "Tells clients where the network's captive portal API is (RFC 8910, option 103).",
  example: "<captive-portal>\n    uri https://portal.example.net/api\n</captive-portal>",
  keys: [alwaysSendKey, {
    name: "uri",
    type: httpsUri,
    required: true,
    description: "The URI of the captive portal API.",
    example: "https://portal.example.net/api",
  }],
});
