// The offline basemap: Natural Earth 1:50m country polygons (the world-atlas package, copied into
// static/vendor/ at setup), drawn on a canvas below any tile layer. It needs nothing but this server.
// A worker (borders-worker.js) fetches and converts the TopoJSON, so the page's thread stays free for
// the incidents.

import L from "leaflet";
import { el } from "./dom.js";

const LAND = { fillColor: "#f4f1ea", fillOpacity: 1, color: "#8d8a84", weight: 0.8, opacity: 1 };
const HOST = { ...LAND, fillColor: "#ebe4d6", color: "#6c6760", weight: 1.1 };

function ringArea(ring) {
  let sum = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    sum += (ring[j][0] - ring[i][0]) * (ring[j][1] + ring[i][1]);
  }
  return sum / 2;
}

function ringCentroid(ring) {
  let x = 0;
  let y = 0;
  let a = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const f = ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
    x += (ring[j][0] + ring[i][0]) * f;
    y += (ring[j][1] + ring[i][1]) * f;
    a += f;
  }
  if (a === 0) return ring[0];
  return [x / (3 * a), y / (3 * a)];
}

/** Centre of a country's largest polygon, as [lat, lon], and that polygon's area in square degrees. */
function largestPart(geometry) {
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  let best = null;
  let bestArea = 0;
  for (const polygon of polygons) {
    const area = Math.abs(ringArea(polygon[0]));
    if (area > bestArea) {
      bestArea = area;
      best = polygon[0];
    }
  }
  if (!best) return null;
  const [lon, lat] = ringCentroid(best);
  return { center: [lat, lon], area: bestArea, ring: best };
}

/**
 * Starts fetching and converting the borders in a worker, as early as the page can: resolves to a
 * GeoJSON FeatureCollection. `focus` ([minLon, minLat, maxLon, maxLat]) keeps full detail.
 */
export function prepareBorders(url, focus) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./borders-worker.js", import.meta.url), { type: "module" });
    worker.onmessage = ({ data }) => {
      worker.terminate();
      if (data.error) reject(new Error(data.error));
      else resolve(data.collection);
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error(`The offline basemap could not be prepared: ${event.message || "worker failed"}`));
    };
    worker.postMessage({ url: new URL(url, window.location.href).href, focus });
  });
}

/**
 * Draws the prepared borders. Resolves to {countries: Map(numeric code -> {name, center, area, ring}),
 * labels: layer of country names, restyle()}. `hostCountries` (numeric codes) are tinted.
 */
export async function drawBorders(map, prepared, { hostCountries = new Set() } = {}) {
  const collection = await prepared;
  const renderer = L.canvas({ pane: "borders", padding: 0.3 });
  const style = (f) => (hostCountries.has(f.id) ? HOST : LAND);
  const layer = L.geoJSON(null, { renderer, interactive: false, style }).addTo(map);
  // In slices, yielding in between, so the incidents' responses are not kept waiting behind the world.
  const features = collection.features;
  for (let i = 0; i < features.length; i += 40) {
    layer.addData({ type: "FeatureCollection", features: features.slice(i, i + 40) });
    await new Promise((resolve) => setTimeout(resolve));
  }

  const countries = new Map();
  const labels = L.layerGroup();
  for (const f of collection.features) {
    if (!f.geometry) continue;
    const part = largestPart(f.geometry);
    if (!part) continue;
    const name = f.properties?.name ?? "";
    countries.set(f.id, { name, ...part });
    const size = part.area > 40 ? "large" : part.area > 4 ? "medium" : "small";
    labels.addLayer(
      L.marker(part.center, {
        pane: "countryLabels",
        interactive: false,
        keyboard: false,
        icon: L.divIcon({
          className: `country-label country-label--${size}`,
          html: el("span", { text: name }),
          iconSize: null,
        }),
      }),
    );
  }
  // Host countries may become known after the borders are drawn (the bases arrive separately).
  const restyle = () => layer.setStyle(style);
  return { countries, labels, restyle };
}

function inside(ring, x, y) {
  let hit = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

function segmentDistance(px, py, [ax, ay], [bx, by]) {
  const dx = bx - ax;
  const dy = by - ay;
  const t = dx || dy ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy))) : 0;
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/**
 * Where a label fits best inside a country: the point farthest from both its border and the given
 * obstacles ([lon, lat] of bases and incidents), so the label covers as little as possible.
 * Horizontal distances count half, because labels are wide.
 */
export function quietPoint(ring, obstacles, step = 0.2) {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const [x, y] of ring) {
    minX = Math.min(minX, x);
    maxX = Math.max(maxX, x);
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  }
  const squash = (points) => points.map(([x, y]) => [x * 0.5, y]);
  const flat = squash(ring);
  const blockers = squash(obstacles.filter(([x, y]) => x > minX - 2 && x < maxX + 2 && y > minY - 2 && y < maxY + 2));
  let best = null;
  let bestScore = -Infinity;
  for (let x = minX + step / 2; x < maxX; x += step) {
    for (let y = minY + step / 2; y < maxY; y += step) {
      if (!inside(ring, x, y)) continue;
      const px = x * 0.5;
      let edge = Infinity;
      for (let i = 0, j = flat.length - 1; i < flat.length; j = i++) edge = Math.min(edge, segmentDistance(px, y, flat[j], flat[i]));
      let near = Infinity;
      for (const [bx, by] of blockers) near = Math.min(near, Math.hypot(px - bx, y - by));
      const score = Math.min(edge, near * 0.8);
      if (score > bestScore) {
        bestScore = score;
        best = [y, x];
      }
    }
  }
  return best;
}
