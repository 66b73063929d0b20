// The map itself: the Leaflet instance and its panes, the offline borders (plus online tiles when
// configured), host countries shaded, and country names. The layers on top are their own modules.

import L from "leaflet";
import { drawBorders } from "./borders.js";
import { markPainted } from "./marks.js";
import { formatBbox } from "./state.js";

/** Bounds cut to what Web Mercator can show. */
export function clampedBounds(bounds) {
  const sw = bounds.getSouthWest();
  const ne = bounds.getNorthEast();
  return L.latLngBounds(
    [Math.max(sw.lat, -85), Math.max(sw.lng, -180)],
    [Math.min(ne.lat, 85), Math.min(ne.lng, 180)],
  );
}

/** A view's bounds as the API's bbox parameter. */
export function boundsToBbox(bounds) {
  const b = clampedBounds(bounds);
  return formatBbox([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]);
}

export function createBasemap({ container, config, status, borders }) {
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

  let countryLabels = null;
  let countries = new Map();
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

  async function setHostCountries(codes) {
    for (const code of codes) {
      const numeric = config.countries[code]?.[0];
      if (numeric) hostNumeric.add(numeric);
    }
    (await bordersReady)?.restyle();
  }

  return {
    map,
    bordersReady,
    setHostCountries,
    /** ISO numeric code -> {center, ring} of the country's largest part, once the borders are drawn. */
    countries: () => countries,
    countryLabels: () => countryLabels,
  };
}
