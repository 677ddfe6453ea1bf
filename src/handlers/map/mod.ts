/**
 * The MAP extension: `<map-e>` and `<map-t>` (options 94 and 95) with their `<map-rule>`s.
 * @module
 */

import { type ConfigSection, isSectionOf } from "../../config/mod.ts";
import { defineExtension, handlerFor } from "../extension.ts";
import { MapEOptionHandler, type MapRule, MapTOptionHandler } from "./handler.ts";
import { mapESection, mapRuleSection, mapTSection } from "./section.ts";

/** The `<map-rule>` sub-sections of a MAP section, in file order. */
function rulesOf(section: ConfigSection): MapRule[] {
  return section.children.filter((c) => isSectionOf(c, mapRuleSection)).map((c) => c.values);
}

/** The MAP-E and MAP-T handlers. */
export const mapExtension = defineExtension({
  name: "map",
  kinds: {
    "map-rule": {
      title: "MAP rules",
      description: "Mapping rules inside `<map-e>` and `<map-t>`.",
    },
  },
  sections: [mapRuleSection],
  handlers: [
    handlerFor(
      mapESection,
      (v, _ctx, section) =>
        new MapEOptionHandler(v.brAddresses.map((a) => a.text), rulesOf(section), v.alwaysSend),
    ),
    handlerFor(
      mapTSection,
      (v, _ctx, section) => new MapTOptionHandler(v.defaultMapping, rulesOf(section), v.alwaysSend),
    ),
  ],
});
