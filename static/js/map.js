// The Leaflet map: offline borders (plus online tiles when configured), bases, troop labels, and the
// incidents of the current filters.
//
// Incidents are drawn on a canvas (circleMarker), never as one DOM node each. The map first asks the
// API for server-side clusters of a padded view; only when that holds few enough incidents does it
// fetch the individual features. Panning inside the padded area and zooming into it fetch nothing.

import L from "leaflet";
import { drawBorders, quietPoint } from "./borders.js";
import { clear, el, svg } from "./dom.js";
import { lagLabel, longDay, number, shortDay } from "./format.js";
import { radiusFor } from "./palette.js";
import { buildIncidentCard } from "./popup.js";
import { apiParams, formatBbox, parseBbox } from "./state.js";

export const POINTS_MAX = 2500;
const SELECT_ZOOM = 7;
const REDUCED_MOTION = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

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

function clampedBounds(bounds) {
  const sw = bounds.getSouthWest();
  const ne = bounds.getNorthEast();
  return L.latLngBounds(
    [Math.max(sw.lat, -85), Math.max(sw.lng, -180)],
    [Math.min(ne.lat, 85), Math.min(ne.lng, 180)],
  );
}

function boundsToBbox(bounds) {
  const b = clampedBounds(bounds);
  return formatBbox([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]);
}

/** A performance mark once the frame that shows the change has been painted (for bench/). */
const painted = new Set();
function markPainted(name) {
  if (painted.has(name)) return;
  painted.add(name);
  requestAnimationFrame(() => setTimeout(() => performance.mark(name)));
}

function compact(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)}k`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

export function createMap({ container, config, api, palette, status, borders, onSelect, onDeselect, onView }) {
  const map = L.map(container, {
    center: config.center,
    zoom: config.zoom,
    minZoom: config.minZoom,
    maxZoom: config.maxZoom,
    worldCopyJump: false,
    zoomSnap: 0.5,
    keyboardPanDelta: 120,
  });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("Leaflet · Borders: Natural Earth");

  // Panes, bottom to top: offline borders, online tiles (200), country names, incidents (overlayPane
  // 400), chain arrows, the selection ring, base markers and clusters (markerPane 600), and the troop
  // labels, which let clicks through to what they cover.
  const panes = [
    ["borders", 150],
    ["countryLabels", 250],
    ["troopLabels", 640],
    ["chains", 450],
    ["selection", 460],
  ];
  for (const [name, z] of panes) {
    const pane = map.createPane(name);
    pane.style.zIndex = String(z);
    if (name === "countryLabels" || name === "troopLabels") pane.style.pointerEvents = "none";
  }

  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: config.maxZoom }).addTo(map);
  }

  const incidentRenderer = L.canvas({ padding: 0.4, tolerance: 3 });
  const categoryLayers = new Map(palette.categories.map((c) => [c.code, L.layerGroup().addTo(map)]));
  const clusterLayer = L.layerGroup().addTo(map);
  const hidden = new Set();
  const basesLayer = L.layerGroup().addTo(map);
  const troopLayer = L.layerGroup().addTo(map);
  const chainLayer = L.layerGroup().addTo(map);
  const selectionLayer = L.layerGroup().addTo(map);
  let countryLabels = null;
  let countries = new Map();
  let lastClusters = null;

  // ----- the offline basemap -------------------------------------------------------------------
  const hostNumeric = new Set();
  const bordersReady = drawBorders(map, borders, { hostCountries: hostNumeric })
    .then((result) => {
      countries = result.countries;
      countryLabels = result.labels;
      if (!config.tileUrl) countryLabels.addTo(map);
      container.dataset.borders = "ready";
      markPainted("dashboard:borders");
      return result;
    })
    .catch((error) => {
      container.dataset.borders = "failed";
      status.showError("borders", error, null);
      return null;
    });

  // The container can change size without the window doing so (a grid track, a folding panel).
  new ResizeObserver(() => map.invalidateSize({ pan: false })).observe(container);

  function zoomClass() {
    const z = map.getZoom();
    container.classList.toggle("zoom-lt-4", z < 4);
    container.classList.toggle("zoom-lt-6", z < 6);
    container.classList.toggle("zoom-lt-5", z < 5);
  }
  map.on("zoomend", zoomClass);
  zoomClass();

  // ----- view <-> state -------------------------------------------------------------------------
  let silentMoves = 0; // moves we make to follow the URL must not write the URL back
  let viewBbox = "";

  function fitToBbox(text) {
    const bbox = parseBbox(text);
    if (!bbox) return false;
    const [minLon, minLat, maxLon, maxLat] = bbox;
    silentMoves += 1;
    map.fitBounds(
      [
        [minLat, minLon],
        [maxLat, maxLon],
      ],
      { animate: false },
    );
    viewBbox = text;
    return true;
  }

  map.on("moveend", () => {
    if (silentMoves > 0) {
      silentMoves -= 1;
      refreshData();
      return;
    }
    viewBbox = boundsToBbox(map.getBounds());
    onView(viewBbox);
  });

  // ----- incidents ------------------------------------------------------------------------------
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

  function renderPoints(collection) {
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
  }

  async function refreshData({ force = false } = {}) {
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
      () => refreshData({ force: true }),
    );
    if (controller !== dataController) return; // a newer request took over
    loadingNote.hidden = true;
    container.dataset.loading = "false";
    if (!result) {
      firstDataDone();
      return;
    }
    loaded = { key, bounds: padded, zoom, mode: result.mode };
    if (result.mode === "points") renderPoints(result.data);
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

  function setLayerVisible(name, visible) {
    const layer = { bases: basesLayer, troops: troopLayer, chains: chainLayer, countries: countryLabels }[name];
    if (!layer) return;
    if (visible) layer.addTo(map);
    else layer.remove();
  }

  // ----- selection ------------------------------------------------------------------------------
  let selectController = null;
  let currentPopup = null;
  let selectedId = "";
  const detail = el("div", { class: "detail-card", role: "dialog", "aria-label": "Incident details", hidden: true });
  const detailClose = el("button", { type: "button", class: "detail-close", "aria-label": "Close details", text: "×" });
  const detailBody = el("div", { class: "detail-body" });
  detail.append(detailClose, detailBody);
  container.append(detail);
  L.DomEvent.disableClickPropagation(detail);
  L.DomEvent.disableScrollPropagation(detail);
  detailClose.addEventListener("click", () => {
    detail.hidden = true;
    onDeselect();
  });

  map.on("popupclose", (event) => {
    if (event.popup === currentPopup) {
      currentPopup = null;
      selectionLayer.clearLayers();
      onDeselect();
    }
  });

  function closeSelection() {
    selectedId = "";
    const popup = currentPopup;
    currentPopup = null;
    if (popup) map.closePopup(popup);
    selectionLayer.clearLayers();
    detail.hidden = true;
  }

  async function select(id, { fly = true } = {}) {
    if (!id) {
      selectController?.abort();
      closeSelection();
      return;
    }
    if (String(id) === String(selectedId) && (currentPopup || !detail.hidden)) return;
    selectController?.abort();
    const controller = new AbortController();
    selectController = controller;
    selectedId = String(id);
    // Where the incident is may already be known (from the list or the markers): fly there while its
    // details load, rather than after.
    const known = locations.get(String(id));
    const flight = fly && known ? flyTo(L.latLng(known[1], known[0])) : null;
    const feature = await status.track("incident", () => api.incident(id, { signal: controller.signal }), () => select(id));
    if (flight) await flight;
    if (controller !== selectController || !feature) return;
    const card = buildIncidentCard(feature, { palette, onSelect, countryName: (code) => config.countries[code]?.[1] ?? code });
    const previous = currentPopup;
    currentPopup = null;
    if (previous) map.closePopup(previous);
    selectionLayer.clearLayers();
    detail.hidden = true;
    if (!feature.geometry) {
      clear(detailBody).append(
        el("p", { class: "muted small", text: "No map location: shown here instead of on the map." }),
        card,
      );
      detail.hidden = false;
      detailClose.focus({ preventScroll: true });
      return;
    }
    const [lon, lat] = feature.geometry.coordinates;
    const latlng = L.latLng(lat, lon);
    L.circleMarker(latlng, {
      pane: "selection",
      radius: radiusFor(feature.properties.casualties_best) + 5,
      fill: false,
      color: "#000000",
      weight: 2.5,
      className: "selection-ring",
      interactive: false,
    }).addTo(selectionLayer);
    const open = () => {
      if (controller !== selectController) return;
      // Following the URL (load, back/forward), the popup may pan the map into view, but that move
      // must not rewrite the bbox the URL restored.
      if (!fly) map.once("autopanstart", () => (silentMoves += 1));
      const popup = L.popup({
        maxWidth: 360,
        minWidth: 260,
        maxHeight: Math.max(220, Math.round(container.clientHeight * 0.7)),
        autoPanPaddingTopLeft: L.point(16, 16),
        className: "incident-popup",
      })
        .setLatLng(latlng)
        .setContent(card);
      currentPopup = popup;
      popup.openOn(map);
    };
    if (fly) await flyTo(latlng);
    open();
  }

  const locations = new Map(); // incident id -> [lon, lat], as seen in lists and on the map

  /** Moves to a point unless it is already well in view at a useful zoom; resolves when the map is still. */
  function flyTo(latlng) {
    const inner = map.getBounds().pad(-0.15);
    if (map.getZoom() >= SELECT_ZOOM && inner.contains(latlng)) return Promise.resolve();
    return new Promise((resolve) => {
      map.once("moveend", resolve);
      if (REDUCED_MOTION) map.setView(latlng, Math.max(map.getZoom(), SELECT_ZOOM), { animate: false });
      else map.flyTo(latlng, Math.max(map.getZoom(), SELECT_ZOOM), { duration: 0.6 });
    });
  }

  // ----- bases ----------------------------------------------------------------------------------
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

  function setBases(features) {
    basesLayer.clearLayers();
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
      marker.addTo(basesLayer);
      marker.getElement()?.setAttribute("aria-label", `${p.name}, ${p.kind_label ?? p.kind}`);
    }
    container.dataset.bases = String(features.length);
  }

  async function setHostCountries(codes) {
    for (const code of codes) {
      const numeric = config.countries[code]?.[0];
      if (numeric) hostNumeric.add(numeric);
    }
    (await bordersReady)?.restyle();
  }

  // ----- troop labels ---------------------------------------------------------------------------
  const obstacles = []; // [lon, lat] of the bases
  const anchors = new Map(); // country code -> [lat, lon], chosen once so labels do not jump

  async function setTroopLabels(labels) {
    await bordersReady;
    troopLayer.clearLayers();
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
      }).addTo(troopLayer);
    }
  }

  // ----- chains ---------------------------------------------------------------------------------
  function curve(from, to) {
    // A quadratic arc bowed to the left of the direction of travel, in projected space.
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
    chainLayer.clearLayers();
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
      L.polyline(points, { pane: "chains", color: "#111111", weight: 5, opacity: 0.35, interactive: false }).addTo(chainLayer);
      L.polyline(points, { pane: "chains", color, weight: 2.5, opacity: 1, interactive: false }).addTo(chainLayer);
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
      }).addTo(chainLayer);
      L.marker(points[12], {
        pane: "chains",
        interactive: false,
        keyboard: false,
        icon: L.divIcon({
          className: "chain-lag-icon",
          html: el("span", { class: "chain-lag", title: `${shortDay(from.occurred_on)} → ${shortDay(to.occurred_on)}`, text: `+${lagLabel(link.lag_days)}` }),
          iconSize: null,
        }),
      }).addTo(chainLayer);
    }
  }

  // ----- state ----------------------------------------------------------------------------------
  function setState(state, changed, source) {
    currentState = state;
    if (changed.has("bbox") && state.bbox && state.bbox !== viewBbox) {
      // The URL moved the view (load, back/forward): follow it without writing it back.
      if (fitToBbox(state.bbox)) return;
    }
    refreshData();
  }

  /** The bbox of the map view right now, as the API spells it. */
  function currentBbox() {
    return boundsToBbox(map.getBounds());
  }

  return {
    map,
    setState,
    select,
    setBases,
    setHostCountries,
    setTroopLabels,
    showChain,
    setCategoryVisible,
    setLayerVisible,
    currentBbox,
    /** Remember where incidents are (the list knows), so selecting one can fly before its details arrive. */
    rememberLocations(features) {
      for (const f of features) if (f.geometry) locations.set(String(f.properties?.id ?? f.id), f.geometry.coordinates);
    },
    setViewBbox: (text) => {
      viewBbox = text;
    },
    refresh: () => refreshData({ force: true }),
    bordersReady,
    /** Resolves once the first incidents are drawn (or failed): the rest of the page can wait for it. */
    firstData,
  };
}
