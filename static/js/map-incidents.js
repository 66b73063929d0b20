// The incidents of the current filters, drawn on a canvas (circleMarker), never as one DOM node each.
// The layer first asks the API for server-side clusters of a padded view; only when that holds few
// enough incidents does it fetch the individual features. Panning inside the padded area and zooming
// into it fetch nothing.

import L from "leaflet";
import { el } from "./dom.js";
import { longDay, number } from "./format.js";
import { boundsToBbox, clampedBounds } from "./map-basemap.js";
import { markPainted } from "./marks.js";
import { radiusFor } from "./palette.js";
import { apiParams } from "./state.js";

export const POINTS_MAX = 2500;

function compact(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)}k`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

/** `locations` (incident id -> [lon, lat]) is shared with the selection and the troop labels. */
/** `onDrawn(features, params)`: the incidents drawn one by one and the query that fetched them (none for clusters). */
export function createIncidentLayer({ map, container, config, api, palette, status, locations, onSelect, onDrawn }) {
  const incidentRenderer = L.canvas({ padding: 0.4, tolerance: 3 });
  const categoryLayers = new Map(palette.categories.map((c) => [c.code, L.layerGroup().addTo(map)]));
  const clusterLayer = L.layerGroup().addTo(map);
  const hidden = new Set();
  let lastClusters = null;

  let firstDataDone;
  const firstData = new Promise((resolve) => (firstDataDone = resolve));
  let currentState = null;
  let loaded = null; // {key, bounds, zoom, mode}
  let dataController = null;
  const loadingNote = el("div", { class: "map-loading", role: "status", hidden: true }, "Loading incidents…");
  container.append(loadingNote);

  function clearIncidents() {
    for (const layer of categoryLayers.values()) layer.clearLayers();
    clusterLayer.clearLayers();
  }

  function tooltipFor(p) {
    return () =>
      el(
        "div",
        { class: "map-tip" },
        el("strong", { text: p.title }),
        el("br"),
        `${p.date_label || longDay(p.occurred_on)} · ${p.kind_label ?? palette.kindLabel(p.kind)}`,
        p.casualties_best ? ` · ${number(p.casualties_best)} casualties` : "",
      );
  }

  function renderPoints(collection, params) {
    clearIncidents();
    lastClusters = null;
    let drawn = 0;
    // Largest first, so small markers stay clickable on top of big ones.
    const features = collection.features
      .filter((f) => f.geometry)
      .sort((a, b) => (b.properties.casualties_best ?? 0) - (a.properties.casualties_best ?? 0));
    for (const f of features) {
      const p = f.properties;
      const [lon, lat] = f.geometry.coordinates;
      const category = p.category ?? palette.categoryOf(p.kind);
      const marker = L.circleMarker([lat, lon], {
        renderer: incidentRenderer,
        radius: radiusFor(p.casualties_best),
        fillColor: palette.kind(p.kind),
        fillOpacity: 0.85,
        color: "#1a1a1a",
        weight: 1,
        opacity: 0.9,
      });
      marker.bindTooltip(tooltipFor(p), { direction: "top", offset: [0, -6], opacity: 1 });
      locations.set(String(p.id ?? f.id), f.geometry.coordinates);
      marker.on("click", () => onSelect(p.id ?? f.id));
      (categoryLayers.get(category) ?? categoryLayers.values().next().value).addLayer(marker);
      drawn += 1;
    }
    container.dataset.mode = "points";
    container.dataset.drawn = String(drawn);
    onDrawn?.(features, params);
  }

  function clusterIcon(total, categories) {
    const size = Math.round(Math.min(26 + 9 * Math.log10(total + 1), 58));
    let angle = 0;
    const stops = [];
    for (const c of palette.categories) {
      const n = hidden.has(c.code) ? 0 : (categories[c.code] ?? 0);
      if (!n) continue;
      const next = angle + (n / total) * 360;
      stops.push(`${c.color} ${angle.toFixed(1)}deg ${next.toFixed(1)}deg`);
      angle = next;
    }
    const ring = el(
      "div",
      {
        class: "cluster",
        style: { width: `${size}px`, height: `${size}px`, background: `conic-gradient(${stops.join(", ")})` },
      },
      el("span", { text: compact(total) }),
    );
    return L.divIcon({ html: ring, className: "cluster-icon", iconSize: [size, size] });
  }

  function renderClusters(collection) {
    clearIncidents();
    lastClusters = collection;
    let drawn = 0;
    for (const f of collection.features) {
      if (!f.geometry) continue;
      const p = f.properties;
      const categories = p.categories ?? {};
      const total = Object.entries(categories).reduce((sum, [code, n]) => sum + (hidden.has(code) ? 0 : n), 0);
      if (!total) continue;
      const [lon, lat] = f.geometry.coordinates;
      if (p.count === 1 && p.incident) {
        const category = Object.keys(categories).find((c) => categories[c]) ?? "attack";
        const marker = L.circleMarker([lat, lon], {
          renderer: incidentRenderer,
          radius: radiusFor(p.casualties_best),
          fillColor: palette.category(category),
          fillOpacity: 0.85,
          color: "#1a1a1a",
          weight: 1,
        });
        marker.on("click", () => onSelect(p.incident));
        clusterLayer.addLayer(marker);
      } else {
        const marker = L.marker([lat, lon], {
          icon: clusterIcon(total, categories),
          title: `${number(total)} incidents here; select to zoom in`,
          riseOnHover: true,
        });
        marker.on("click", () => map.flyTo([lat, lon], Math.min(map.getZoom() + 2, config.maxZoom), { duration: 0.5 }));
        clusterLayer.addLayer(marker);
      }
      drawn += 1;
    }
    container.dataset.mode = "clusters";
    container.dataset.drawn = String(drawn);
    onDrawn?.([], null);
  }

  async function refresh({ force = false } = {}) {
    if (!currentState) return;
    const params = apiParams(currentState, { without: ["bbox"] });
    const key = params.toString();
    const view = map.getBounds();
    const zoom = Math.round(map.getZoom());
    if (
      !force &&
      loaded &&
      loaded.key === key &&
      loaded.bounds.contains(view) &&
      (loaded.mode === "points" || loaded.zoom === zoom)
    ) {
      return;
    }
    dataController?.abort();
    const controller = new AbortController();
    dataController = controller;
    const { signal } = controller;
    const padded = clampedBounds(view.pad(0.5));
    params.set("bbox", boundsToBbox(padded));
    loadingNote.hidden = false;
    container.dataset.loading = "true";
    const result = await status.track(
      "map",
      async () => {
        const clusters = await api.clusters(params, { zoom }, { signal });
        if ((clusters.numberMatched ?? Infinity) <= POINTS_MAX) {
          const points = await api.incidents(params, { limit: POINTS_MAX }, { signal });
          return { mode: "points", data: points };
        }
        return { mode: "clusters", data: clusters };
      },
      () => refresh({ force: true }),
    );
    if (controller !== dataController) return; // a newer request took over
    loadingNote.hidden = true;
    container.dataset.loading = "false";
    if (!result) {
      firstDataDone();
      return;
    }
    loaded = { key, bounds: padded, zoom, mode: result.mode };
    if (result.mode === "points") renderPoints(result.data, params);
    else renderClusters(result.data);
    container.dataset.matched = String(result.data.numberMatched ?? "");
    markPainted("dashboard:first-incidents");
    firstDataDone();
  }

  function setCategoryVisible(code, visible) {
    if (visible) hidden.delete(code);
    else hidden.add(code);
    const layer = categoryLayers.get(code);
    if (layer) {
      if (visible) layer.addTo(map);
      else layer.remove();
    }
    if (lastClusters) renderClusters(lastClusters);
  }

  return {
    /** Follows the filters; fetches only what the loaded data cannot answer (nothing with `fetch: false`). */
    setState(state, { fetch = true } = {}) {
      currentState = state;
      if (fetch) refresh();
    },
    refresh,
    setCategoryVisible,
    /** Resolves once the first incidents are drawn (or failed). */
    firstData,
  };
}
