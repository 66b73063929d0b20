// The selected incident's escalation chain on the map: an arc per link, bowed to the left of the
// direction of travel, with an arrowhead and the lag in days. Its suggested links are drawn the same
// way but dashed, and labelled "suggested".

import L from "leaflet";
import { el } from "./dom.js";
import { lagLabel, shortDay } from "./format.js";

/** `locate(id)` gives an incident's [lon, lat] when a reference carries no coordinates. */
export function createChainLayer({ map, palette, locate }) {
  const layer = L.layerGroup().addTo(map);
  const confirmed = L.layerGroup().addTo(layer);
  const suggested = L.layerGroup().addTo(layer);

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

  function where(ref) {
    const at = ref?.coordinates ?? ref?.geometry?.coordinates ?? (ref ? locate(String(ref.id)) : null);
    return at ? L.latLng(at[1], at[0]) : null;
  }

  function drawArc(target, from, to, lag, { dashed = false } = {}) {
    const a = where(from);
    const b = where(to);
    if (!a || !b || a.equals(b, 1e-4)) return;
    const points = curve(a, b);
    const color = palette.kind(to.kind);
    const dash = dashed ? "7 6" : null;
    L.polyline(points, { pane: "chains", color: "#111111", weight: 5, opacity: dashed ? 0.2 : 0.35, dashArray: dash, interactive: false }).addTo(target);
    L.polyline(points, { pane: "chains", color, weight: 2.5, opacity: 1, dashArray: dash, className: dashed ? "chain-suggested" : "", interactive: false }).addTo(target);
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
    }).addTo(target);
    L.marker(points[12], {
      pane: "chains",
      interactive: false,
      keyboard: false,
      icon: L.divIcon({
        className: "chain-lag-icon",
        html: el("span", {
          class: dashed ? "chain-lag is-suggested" : "chain-lag",
          title: `${dashed ? "suggested link, " : ""}${shortDay(from.occurred_on)} → ${shortDay(to.occurred_on)}`,
          text: `${dashed ? "suggested " : ""}+${lagLabel(lag)}`,
        }),
        iconSize: null,
      }),
    }).addTo(target);
  }

  function showChain(chain) {
    confirmed.clearLayers();
    if (!chain) return;
    const byId = new Map(chain.incidents.map((i) => [i.id, i]));
    for (const link of chain.links) drawArc(confirmed, byId.get(link.prior), byId.get(link.incident), link.lag_days);
  }

  /** The selected incident's suggested links (analytics-data.js's toSuggestions), dashed. */
  function showSuggestions(list) {
    suggested.clearLayers();
    for (const s of list) drawArc(suggested, s.prior, s.incident, s.lag, { dashed: true });
  }

  return { layer, showChain, showSuggestions };
}
