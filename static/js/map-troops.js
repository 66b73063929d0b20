// Troop labels: one box per host country with its latest reported levels, placed once, in a quiet
// part of the country (away from bases and incidents), so that labels do not jump as data changes.

import L from "leaflet";
import { quietPoint } from "./borders.js";
import { el } from "./dom.js";

export function createTroopLayer({ map, config, basemap, locations, obstacles }) {
  const layer = L.layerGroup().addTo(map);
  const anchors = new Map(); // country code -> [lat, lon]

  async function setTroopLabels(labels) {
    await basemap.bordersReady;
    layer.clearLayers();
    const countries = basemap.countries();
    for (const label of labels) {
      const place = countries.get(config.countries[label.country]?.[0]);
      if (!anchors.has(label.country) && place) {
        // Bases, and the incidents drawn so far, are what a label should leave uncovered.
        const drawn = [...locations.values()].slice(0, 3000);
        anchors.set(label.country, quietPoint(place.ring, [...obstacles, ...drawn]) ?? place.center);
      }
      const at = anchors.get(label.country);
      if (!at) continue;
      const node = el(
        "div",
        { class: "troop-label", "data-country": label.country },
        el("span", { class: "troop-country", text: `${label.countryName} · ${label.asOf}` }),
        el("span", { class: "troop-figures", text: label.text }),
      );
      L.marker(at, {
        pane: "troopLabels",
        interactive: false,
        keyboard: false,
        icon: L.divIcon({ className: "troop-icon", html: node, iconSize: null }),
      }).addTo(layer);
    }
  }

  return { layer, setTroopLabels };
}
