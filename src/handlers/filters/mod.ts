/**
 * The filters extension: `<subnet>`, `<subnet-group>`, `<marked-with>` and `<elapsed-time>`.
 * @module
 */

import { defineExtension, filterFor } from "../extension.ts";
import { ElapsedTimeFilter, MarkedWithFilter, SubnetFilter, SubnetGroupFilter } from "./handler.ts";
import {
  elapsedTimeSection,
  markedWithSection,
  subnetGroupSection,
  subnetSection,
} from "./section.ts";

/** The built-in filters. */
export const filtersExtension = defineExtension({
  name: "filters",
  filters: [
    filterFor(subnetSection, (v) => new SubnetFilter(v.prefix)),
    filterFor(subnetGroupSection, (v) => new SubnetGroupFilter(v.prefixes, v.match === "outside")),
    filterFor(markedWithSection, (v) => new MarkedWithFilter(v.mark)),
    filterFor(elapsedTimeSection, (v) => new ElapsedTimeFilter(v.moreThan, v.lessThan)),
  ],
});
