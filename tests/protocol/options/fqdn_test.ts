/** Tests for the fqdn option module. */

import assert from "node:assert/strict";
import {
  ClientFQDNOption,
  FQDN_FLAG_N,
  FQDN_FLAG_O,
  FQDN_FLAG_S,
  InformationRequestMessage,
  optionToBytes,
  SolicitMessage,
  ValidationError,
} from "../../../src/protocol/mod.ts";
import { b, bad, clientId, decode, invalid, reply, total, valid, vector } from "./helpers.ts";

// RFC 4704 §4: option 39, flags(1) then the domain name in DNS wire format (§4.2).
const FQDN_ABSOLUTE = "0027 0013 01 04686f7374076578616d706c6503636f6d00"; // S, "host.example.com."
const FQDN_RELATIVE = "0027 0006 00 04686f7374"; // partial name "host" (no root label)
const FQDN_EMPTY = "0027 0001 00"; // client asks the server for a name
const FQDN_ROOT = "0027 0002 06 00"; // O+N flags, root name only

Deno.test("client-fqdn: absolute name", () => {
  const o = vector(FQDN_ABSOLUTE, ClientFQDNOption, new ClientFQDNOption(1, "host.example.com"));
  assert.equal(o.flags, FQDN_FLAG_S);
  assert.equal(o.domainName, "host.example.com");
  assert.equal(o.absolute, true);
  assert.equal(o.serverAaaaUpdate, true);
  assert.equal(o.serverAaaaOverride, false);
  assert.equal(o.noServerDnsUpdate, false);
});

Deno.test("client-fqdn: relative and empty names are kept as such (decision 28)", () => {
  const rel = decode(FQDN_RELATIVE) as ClientFQDNOption;
  assert.equal(rel.domainName, "host");
  assert.equal(rel.absolute, false);
  assert.deepEqual(optionToBytes(new ClientFQDNOption(0, "host", false)), b(FQDN_RELATIVE));
  rel.validate();
  total(FQDN_RELATIVE);
  const empty = decode(FQDN_EMPTY) as ClientFQDNOption;
  assert.equal(empty.domainName, "");
  assert.equal(empty.absolute, false);
  assert.deepEqual(optionToBytes(new ClientFQDNOption()), b(FQDN_EMPTY));
  empty.validate();
  const root = decode(FQDN_ROOT) as ClientFQDNOption;
  assert.equal(root.domainName, "");
  assert.equal(root.absolute, true);
  assert.equal(root.serverAaaaOverride, true);
  assert.equal(root.noServerDnsUpdate, true);
});

Deno.test("client-fqdn: malformed input", () => {
  bad("0027 0000");
  bad("0027 0003 01 00 00"); // data after the absolute name
  bad("0027 0004 01 05 6162"); // label runs past the end
  bad("0027 0003 00 c0 0c"); // compression pointer
  bad("0027 0014 01 04686f7374076578616d706c6503636f6d00"); // length lies
});

Deno.test("client-fqdn: flag accessors", () => {
  const o = new ClientFQDNOption(0x08, "host.example.com");
  o.serverAaaaUpdate = true;
  o.serverAaaaOverride = true;
  assert.equal(o.flags, 0x08 | FQDN_FLAG_S | FQDN_FLAG_O);
  o.serverAaaaUpdate = false;
  o.noServerDnsUpdate = true;
  assert.equal(o.flags, 0x08 | FQDN_FLAG_O | FQDN_FLAG_N);
  o.validate(); // MBZ bits are ignored
});

Deno.test("client-fqdn: validate", () => {
  assert.throws(
    () => new ClientFQDNOption(FQDN_FLAG_N | FQDN_FLAG_S, "a.b").validate(),
    ValidationError,
  );
  assert.throws(() => new ClientFQDNOption(256, "a.b").validate(), ValidationError);
  assert.throws(() => new ClientFQDNOption(0, "a..b").validate(), ValidationError);
  assert.throws(() => new ClientFQDNOption(0, "x".repeat(64)).validate(), ValidationError);
});

Deno.test("client-fqdn: placement", () => {
  const o = new ClientFQDNOption(1, "host.example.com");
  valid(new SolicitMessage(1, [clientId(), o]));
  valid(reply(o));
  invalid(new SolicitMessage(1, [clientId(), o, o]));
  invalid(new InformationRequestMessage(1, [clientId(), o]));
});
