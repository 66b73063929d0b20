// The selected incident's escalation chain on the map: an arc per link, bowed to the left of the
// direction of travel, with an arrowhead and the lag in days.

import L from "leaflet";
import { el } from "./dom.js";
import { lagLabel, shortDay } from "./format.js";

export function createChainLayer({ map, palette }) {
  const layer = L.layerGroup().addTo(map);

  function curve(from, to) {
    // A quadratic arc, in projected space.
    const a = map.project(from, 8);
    const b = map.project(to, 8);
    const mid = a.add(b).divideBy(2);
    const d = b.subtract(a);
    const normal = L.point(-d.y, d.x).multiplyBy(0.22);
    const control = mid.add(normal);
    const points = [];
    for (let i = 0; i <= 24; i++) {
      const t = i / 24;
      const x = (1 - t) * (1 - t) * a.x + 2 * (1 - t) * t * control.x + t * t * b.x;
      const y = (1 - t) * (1 - t) * a.y + 2 * (1 - t) * t * control.y + t * t * b.y;
      points.push(map.unproject(L.point(x, y), 8));
    }
    return points;
  }

  function showChain(chain) {
    layer.clearLayers();
    if (!chain) return;
    const byId = new Map(chain.incidents.map((i) => [i.id, i]));
    for (const link of chain.links) {
      const from = byId.get(link.prior);
      const to = byId.get(link.incident);
      if (!from?.coordinates || !to?.coordinates) continue;
      const a = L.latLng(from.coordinates[1], from.coordinates[0]);
      const b = L.latLng(to.coordinates[1], to.coordinates[0]);
      if (a.equals(b, 1e-4)) continue;
      const points = curve(a, b);
      const color = palette.kind(to.kind);
      L.polyline(points, { pane: "chains", color: "#111111", weight: 5, opacity: 0.35, interactive: false }).addTo(layer);
      L.polyline(points, { pane: "chains", color, weight: 2.5, opacity: 1, interactive: false }).addTo(layer);
      // The arrowhead sits at 60% of the arc, turned along it; the lag label at the middle.
      const p1 = map.project(points[17], 8);
      const p0 = map.project(points[16], 8);
      const angle = (Math.atan2(p1.y - p0.y, p1.x - p0.x) * 180) / Math.PI;
      const arrow = el("div", { class: "chain-arrow", style: { transform: `rotate(${angle.toFixed(1)}deg)`, borderLeftColor: color } });
      L.marker(points[17], {
        pane: "chains",
        interactive: false,
        keyboard: false,
        icon: L.divIcon({ className: "chain-arrow-icon", html: arrow, iconSize: [12, 12], iconAnchor: [6, 6] }),
      }).addTo(layer);
      L.marker(points[12], {
        pane: "chains",
        interactive: false,
        keyboard: false,
        icon: L.divIcon({
          className: "chain-lag-icon",
          html: el("span", { class: "chain-lag", title: `${shortDay(from.occurred_on)} → ${shortDay(to.occurred_on)}`, text: `+${lagLabel(link.lag_days)}` }),
          iconSize: null,
        }),
      }).addTo(layer);
    }
  }

  return { layer, showChain };
}
