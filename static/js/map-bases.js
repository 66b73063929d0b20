// The bases: a marker per base, its shape telling the kind, with a popup of who uses it and the
// troop levels reported there.

import L from "leaflet";
import { el, svg } from "./dom.js";
import { longDay } from "./format.js";

const BASE_SHAPES = {
  air_base: "square",
  airport: "circle",
  garrison: "triangle",
  outpost: "triangle-small",
  hq: "star",
  embassy: "diamond",
  consulate: "diamond",
  logistics: "hexagon",
  naval: "pentagon",
};

function polygonPoints(n, r, rotation = -Math.PI / 2, inner = null) {
  const points = [];
  const steps = inner ? n * 2 : n;
  for (let i = 0; i < steps; i++) {
    const radius = inner && i % 2 ? inner : r;
    const angle = rotation + (i * 2 * Math.PI) / steps;
    points.push(`${(10 + radius * Math.cos(angle)).toFixed(2)},${(10 + radius * Math.sin(angle)).toFixed(2)}`);
  }
  return points.join(" ");
}

/** A small SVG glyph per base kind; shapes (not only colours) tell the kinds apart. */
export function baseGlyph(kind, size = 18) {
  const shape = BASE_SHAPES[kind] ?? "square";
  const attrs = { class: "base-shape", fill: "#1f2d3a", stroke: "#ffffff", "stroke-width": "1.6" };
  let node;
  if (shape === "square") node = svg("rect", { ...attrs, x: 3, y: 3, width: 14, height: 14 });
  else if (shape === "circle") node = svg("circle", { ...attrs, cx: 10, cy: 10, r: 7.5 });
  else if (shape === "triangle") node = svg("polygon", { ...attrs, points: polygonPoints(3, 9, -Math.PI / 2) });
  else if (shape === "triangle-small") node = svg("polygon", { ...attrs, points: polygonPoints(3, 6.5, -Math.PI / 2) });
  else if (shape === "star") node = svg("polygon", { ...attrs, points: polygonPoints(5, 9, -Math.PI / 2, 4) });
  else if (shape === "diamond") node = svg("polygon", { ...attrs, points: polygonPoints(4, 8.5, 0) });
  else if (shape === "hexagon") node = svg("polygon", { ...attrs, points: polygonPoints(6, 8) });
  else node = svg("polygon", { ...attrs, points: polygonPoints(5, 8.5) });
  const inner = shape === "circle" || shape === "square" ? svg("circle", { cx: 10, cy: 10, r: 2.2, fill: "#ffffff" }) : null;
  return svg("svg", { viewBox: "0 0 20 20", width: size, height: size, "aria-hidden": "true", focusable: "false" }, node, inner);
}

function basePopup(p) {
  const levels = p.troop_levels ?? [];
  return el(
    "article",
    { class: "base-card" },
    el("p", { class: "card-kicker" }, baseGlyph(p.kind, 14), ` ${p.kind_label ?? p.kind} · ${p.country_name ?? p.country}`),
    el("h3", { class: "card-title", text: p.name }),
    p.alternate_names?.length ? el("p", { class: "muted", text: `Also: ${p.alternate_names.join(", ")}` }) : null,
    p.status ? el("p", {}, el("strong", { text: "Status: " }), String(p.status_label ?? p.status)) : null,
    p.users?.length ? el("p", {}, el("strong", { text: "Used by: " }), p.users.map((u) => u.name).join(", ")) : null,
    levels.length
      ? el(
          "ul",
          { class: "plain" },
          levels.map((t) =>
            el("li", { text: `${t.contributor?.name ?? ""} ${t.label ?? t.figure ?? ""} (${t.status_label ?? t.status}, as of ${longDay(t.as_of)})` }),
          ),
        )
      : null,
  );
}

/** `obstacles` receives each base's [lon, lat]: the troop labels keep clear of them. */
export function createBaseLayer({ map, container, obstacles }) {
  const layer = L.layerGroup().addTo(map);

  function setBases(features) {
    layer.clearLayers();
    for (const f of features) {
      if (!f.geometry) continue;
      const p = f.properties;
      const [lon, lat] = f.geometry.coordinates;
      obstacles.push([lon, lat]);
      const icon = L.divIcon({
        className: "base-icon",
        html: el("div", { class: "base-marker" }, baseGlyph(p.kind), el("span", { class: "base-name", text: p.name })),
        iconSize: [18, 18],
        iconAnchor: [9, 9],
        popupAnchor: [0, -8],
      });
      const marker = L.marker([lat, lon], { icon, title: `${p.name} (${p.kind_label ?? p.kind})`, alt: p.name });
      marker.bindPopup(() => basePopup(p), { maxWidth: 300, className: "base-popup" });
      marker.addTo(layer);
      marker.getElement()?.setAttribute("aria-label", `${p.name}, ${p.kind_label ?? p.kind}`);
    }
    container.dataset.bases = String(features.length);
  }

  return { layer, setBases };
}
