// The admin's map widget (django-leaflet) gets the same offline basemap as the dashboard: Natural Earth
// country borders served by this server, so editors can place points with no tile server at all. Online
// tiles, when MAP_TILE_URL is set, still draw on top of it.
//
// A classic script, because django-leaflet includes form plugins with plain <script> tags; it pulls the
// ES module of topojson-client with a dynamic import.
(function () {
  "use strict";
  const vendor = new URL("../vendor/", document.currentScript.src);

  window.addEventListener("map:init", async (event) => {
    const map = event.detail.map;
    try {
      const [{ feature }, response] = await Promise.all([
        import(new URL("topojson-client/src/index.js", vendor).href),
        fetch(new URL("world-atlas/countries-50m.json", vendor)),
      ]);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const topology = await response.json();
      const pane = map.createPane("offlineBorders");
      pane.style.zIndex = 150; // below tiles (200): tiles, when online, cover it
      L.geoJSON(feature(topology, topology.objects.countries), {
        pane,
        interactive: false,
        style: { fillColor: "#f4f1ea", fillOpacity: 1, color: "#8d8a84", weight: 0.8 },
      }).addTo(map);
    } catch (error) {
      console.warn("The offline borders could not be loaded for the map widget:", error);
    }
  });
})();
