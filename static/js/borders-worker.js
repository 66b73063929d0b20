// Off the main thread: fetch the Natural Earth TopoJSON, parse it, turn it into GeoJSON and thin what
// lies outside the area of interest. The page only has to draw the result. (Import maps do not reach
// workers, hence the relative import.)

import { feature } from "../vendor/topojson-client/src/index.js";

/**
 * Outside the area of interest, rings keep one vertex in `step`: at the zoom levels where those parts
 * are in view nobody can tell, and the map has far fewer points to project on every zoom.
 */
function thinOutside(collection, [minLon, minLat, maxLon, maxLat], step = 6) {
  const thin = (ring) => {
    if (ring.length <= 4 * step) return ring;
    const kept = ring.filter(([x, y], i) => i % step === 0 || (x >= minLon && x <= maxLon && y >= minLat && y <= maxLat));
    kept.push(ring[ring.length - 1]);
    return kept;
  };
  for (const f of collection.features) {
    const geometry = f.geometry;
    if (!geometry) continue;
    if (geometry.type === "Polygon") geometry.coordinates = geometry.coordinates.map(thin);
    else geometry.coordinates = geometry.coordinates.map((polygon) => polygon.map(thin));
  }
}

self.onmessage = async ({ data: { url, focus } }) => {
  try {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`The offline basemap could not be loaded (HTTP ${response.status}).`);
    const topology = await response.json();
    const collection = feature(topology, topology.objects.countries);
    if (focus) thinOutside(collection, focus);
    self.postMessage({ collection });
  } catch (error) {
    self.postMessage({ error: error.message });
  }
};
