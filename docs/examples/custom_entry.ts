// dhcpkit with the captive portal extension built in.
import { main, useExtensions } from "@dhcpkit/dhcpkit";
import "./captive_portal/mod.ts"; // static: registers it here and lets deno compile embed it

// Worker threads start from dhcpkit's own worker module: have them import it too.
await useExtensions(import.meta.resolve("./captive_portal/mod.ts"));

if (import.meta.main) Deno.exitCode = await main(Deno.args);
