// The Leaflet map, put together from one module per layer: the basemap (map-basemap.js), incidents
// (map-incidents.js), bases (map-bases.js), troop labels (map-troops.js), the selected chain
// (map-chains.js) and the selection (map-selection.js). This module keeps the view and the URL's bbox
// in step and hands each layer what it shares with the others.

import { boundsToBbox, createBasemap } from "./map-basemap.js";
import { createBaseLayer } from "./map-bases.js";
import { createChainLayer } from "./map-chains.js";
import { createIncidentLayer } from "./map-incidents.js";
import { createSelection } from "./map-selection.js";
import { createTroopLayer } from "./map-troops.js";
import { parseBbox } from "./state.js";

/**
 * `onDrawn(features, params)`: the incidents drawn one by one and their query (none when clustered);
 * `onDetails(feature)`: the selected incident's details.
 */
export function createMap({ container, config, api, palette, status, borders, onSelect, onDeselect, onView, onDrawn, onDetails }) {
  const basemap = createBasemap({ container, config, status, borders });
  const { map } = basemap;
  const locations = new Map(); // incident id -> [lon, lat], as seen in lists and on the map
  const obstacles = []; // [lon, lat] of the bases

  const incidents = createIncidentLayer({ map, container, config, api, palette, status, locations, onSelect, onDrawn });
  const bases = createBaseLayer({ map, container, obstacles });
  const troops = createTroopLayer({ map, config, basemap, locations, obstacles });
  const chains = createChainLayer({ map, palette, locate: (id) => locations.get(id) });

  // ----- view <-> state -------------------------------------------------------------------------
  let silentMoves = 0; // moves we make to follow the URL must not write the URL back
  let viewBbox = "";

  const selection = createSelection({
    map,
    container,
    config,
    api,
    palette,
    status,
    locations,
    onSelect,
    onDeselect,
    onDetails,
    ignoreNextMove: () => (silentMoves += 1),
  });

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
      incidents.refresh();
      return;
    }
    viewBbox = boundsToBbox(map.getBounds());
    onView(viewBbox);
  });

  function setState(state, changed) {
    if (changed.has("bbox") && state.bbox && state.bbox !== viewBbox) {
      // The URL moved the view (load, back/forward): follow it without writing it back. The move's
      // moveend then refreshes the incidents.
      incidents.setState(state, { fetch: false });
      if (fitToBbox(state.bbox)) return;
    }
    incidents.setState(state);
  }

  function setLayerVisible(name, visible) {
    const layer = { bases: bases.layer, troops: troops.layer, chains: chains.layer, countries: basemap.countryLabels() }[name];
    if (!layer) return;
    if (visible) layer.addTo(map);
    else layer.remove();
  }

  return {
    map,
    setState,
    select: selection.select,
    setBases: bases.setBases,
    setHostCountries: basemap.setHostCountries,
    setTroopLabels: troops.setTroopLabels,
    showChain: chains.showChain,
    showSuggestions: chains.showSuggestions,
    setCategoryVisible: incidents.setCategoryVisible,
    setLayerVisible,
    /** The bbox of the map view right now, as the API spells it. */
    currentBbox: () => boundsToBbox(map.getBounds()),
    /** Remember where incidents are (the list knows), so selecting one can fly before its details arrive. */
    rememberLocations(features) {
      for (const f of features) if (f.geometry) locations.set(String(f.properties?.id ?? f.id), f.geometry.coordinates);
    },
    setViewBbox: (text) => {
      viewBbox = text;
    },
    refresh: () => incidents.refresh({ force: true }),
    bordersReady: basemap.bordersReady,
    /** Resolves once the first incidents are drawn (or failed): the rest of the page can wait for it. */
    firstData: incidents.firstData,
  };
}
