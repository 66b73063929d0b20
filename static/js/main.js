// Wires the dashboard together: one Store (the URL), and the map, timeline, list, chains, suggested
// links, troop chart and the Analytics view reacting to it. Every component reads the public API
// through api.js.

import { createAnalytics } from "./analytics.js";
import { createApi } from "./api.js";
import { prepareBorders } from "./borders.js";
import { createChains } from "./chains.js";
import { createFilters } from "./filters.js";
import { isoDay, number, parseDay, plural } from "./format.js";
import { createFreshness } from "./history.js";
import { createMapLegend } from "./legend.js";
import { createList } from "./list.js";
import { createMap } from "./map.js";
import { createPalette } from "./palette.js";
import { FILTER_KEYS, parseQuery, Store } from "./state.js";
import { createStatus } from "./status.js";
import { createSuggestions } from "./suggestions.js";
import { createTimelinePane } from "./timeline.js";
import { createTroopChart, learnShortNames, troopLabels } from "./troops.js";
import { createViews } from "./views.js";

performance.mark("dashboard:start");

const $ = (selector) => document.querySelector(selector);
const config = JSON.parse($("#dashboard-config").textContent);
const api = createApi(config.apiBase);
const status = createStatus({ progress: $("#progress"), banner: $("#error-banner") });
const store = new Store(parseQuery(window.location.search));
const narrow = window.matchMedia("(max-width: 900px)");
// Editors' pages carry their CSRF token and the review queue's address: they may review suggested links.
const editorMeta = document.querySelector("meta[name=dashboard-editor]");
const editor = {
  csrfToken: editorMeta?.content ?? "",
  queueUrl: editorMeta?.dataset.queue ?? "",
  canAccept: editorMeta?.dataset.accept === "true",
  canReject: editorMeta?.dataset.reject === "true",
};
// The basemap starts loading (in a worker) before anything else; full detail around the default view.
const [lat0, lon0] = config.center;
const borders = prepareBorders(config.bordersUrl, [lon0 - 30, lat0 - 20, lon0 + 30, lat0 + 20]);
borders.catch(() => {}); // failures are reported where the borders are drawn
// On a phone the filters start folded away, under their summary.
if (narrow.matches) $(".filters-toggle").open = false;

const countOutput = $("#incident-count");
const countScope = $("#count-scope");

function setCount(n) {
  if (n !== null && !performance.getEntriesByName("dashboard:count").length) performance.mark("dashboard:count");
  countOutput.dataset.count = n === null ? "" : String(n);
  countOutput.textContent = n === null ? "—" : number(n);
  countOutput.closest(".count").classList.toggle("is-stale", false);
  $("#count-noun").textContent = n === 1 ? "incident" : "incidents";
}

function describeScope(state) {
  const parts = ["in view"];
  if (state.start || state.end) parts.push(`${state.start || "…"} to ${state.end || "…"}`);
  if (state.kind.length) parts.push(plural(state.kind.length, "kind"));
  if (state.actor) parts.push(`actor ${state.actor}`);
  if (state.country) parts.push(state.country);
  countScope.textContent = parts.join(" · ");
  countScope.title = countScope.textContent;
}

async function boot() {
  const kinds = await status.track("kinds", () => api.kinds(), () => window.location.reload());
  if (!kinds) {
    setCount(null);
    return;
  }
  const palette = createPalette(kinds);

  const select = (id) => store.set({ incident: String(id) }, { history: "push" });
  // The incidents the page has seen (on the map, in the list), by id: suggestions come as ids.
  const known = new Map();
  const remember = (features) => {
    for (const f of features) known.set(String(f.properties?.id ?? f.id), { ...f.properties, coordinates: f.geometry?.coordinates ?? null });
    suggestions?.redraw();
  };
  let suggestions = null;
  // The freshness line takes its place before the map measures its own: added later, it moved the map.
  const freshness = createFreshness({ api, container: countOutput.closest(".count") });

  const mapView = createMap({
    container: $("#map"),
    config,
    api,
    palette,
    status,
    borders,
    onSelect: select,
    onDeselect: () => store.set({ incident: "" }, { history: "replace", source: "map" }),
    onView: (bbox) => store.set({ bbox }, { history: "replace", source: "map" }),
    onDrawn: (features, params) => {
      remember(features);
      suggestions.loadRange(params);
    },
    onDetails: (feature) => suggestions.setSelected(feature),
  });

  const legend = createMapLegend({
    map: mapView.map,
    palette,
    // Expanded where the map has room for it; a button away otherwise.
    collapsed: narrow.matches || $("#map").clientHeight < 640,
    tilesOn: Boolean(config.tileUrl),
    onCategory: (code, on) => mapView.setCategoryVisible(code, on),
    onLayer: (name, on) => mapView.setLayerVisible(name, on),
  });

  const timeline = createTimelinePane({
    container: $("#timeline"),
    caption: $("#range-caption"),
    clearButton: $("#range-clear"),
    unit: $("#timeline-unit"),
    kindKey: $("#kind-key"),
    api,
    status,
    palette,
    store: () => store.get(),
    onRange: (start, end) => store.set({ start, end }, { history: "push" }),
    onPickIncident: select,
  });
  $("#range-clear").addEventListener("click", () => store.set({ start: "", end: "" }, { history: "push" }));

  const list = createList({
    container: $("#incident-list"),
    moreButton: $("#list-more"),
    api,
    status,
    palette,
    onSelect: select,
    onCount: setCount,
    onFeatures: (features) => {
      mapView.rememberLocations(features);
      remember(features);
    },
  });

  const chains = createChains({
    container: $("#chains"),
    api,
    status,
    palette,
    store: () => store.get(),
    onSelect: select,
    onLinks: (links) => timeline.setLinks(links),
    onSelectedChain: (chain) => mapView.showChain(chain),
  });

  suggestions = createSuggestions({
    container: $("#suggestions"),
    api,
    status,
    palette,
    editor,
    known,
    onSelect: select,
    onRange: (list) => timeline.setSuggestions(list),
    onSelected: (list) => mapView.showSuggestions(list),
    onReviewed: () => {
      chains.reload(store.get());
      suggestions.reloadRange();
    },
  });

  const analytics = createAnalytics({
    container: $("#analytics-body"),
    api,
    status,
    palette,
    store: () => store.get(),
    radius: $("#analytics-radius"),
    onRadius: (km) => store.set({ within_km: km }, { history: "push" }),
    onSurges: (list) => timeline.setSurges(list),
    onRange: (start, end) => store.set({ start, end }, { history: "push" }),
  });

  const views = createViews({
    tabs: $(".view-tabs"),
    mapPane: $("#map-pane"),
    analyticsPane: $("#analytics"),
    onChoose: (view) => store.set({ view }, { history: "push" }),
  });

  const troopChart = createTroopChart({ container: $("#troop-chart"), legend: $("#troop-legend") });

  const filters = createFilters({
    form: $("#filters"),
    palette,
    onChange: (patch) => store.set(patch, { history: "push" }),
    onReset: () => store.set({ start: "", end: "", kind: [], actor: "", country: "", incident: "" }, { history: "push" }),
  });

  // ----- reference data (small, loaded once) ----------------------------------------------------
  let levels = [];
  const countryNames = new Map();
  const addCountry = (code, name) => {
    if (code && !countryNames.has(code)) countryNames.set(code, name || config.countries[code]?.[1] || code);
  };
  const refreshCountries = () =>
    filters.setCountries([...countryNames].map(([value, label]) => ({ value, label: `${label} (${value})` })));

  function asOfDay(state) {
    return parseDay(state.end) ?? parseDay(isoDay(Date.now()));
  }

  function updateTroops(state) {
    const day = asOfDay(state);
    mapView.setTroopLabels(troopLabels(levels, day));
    troopChart.setMarker(parseDay(state.end));
  }

  // Troop labels need the levels, the actors' short names, and the bases (which labels avoid).
  const waiting = new Set(["bases", "levels", "actors"]);
  const arrived = (part) => {
    waiting.delete(part);
    if (waiting.size) return;
    troopChart.setLevels(levels);
    updateTroops(store.get());
  };
  const loadBases = () =>
    status.track("bases", () => api.bases(), loadBases).then((bases) => {
      if (!bases) return;
      mapView.setBases(bases);
      const seen = new Map();
      for (const f of bases) {
        seen.set(f.properties.kind, f.properties.kind_label ?? f.properties.kind);
        addCountry(f.properties.country, f.properties.country_name);
      }
      legend.setBaseKinds([...seen].map(([kind, label]) => ({ kind, label })));
      mapView.setHostCountries(bases.map((f) => f.properties.country));
      refreshCountries();
      arrived("bases");
    });
  const loadLevels = () =>
    status.track("deployments", () => api.deployments(), loadLevels).then((results) => {
      if (!results) return;
      levels = results;
      for (const t of levels) addCountry(t.host_country, t.host_country_name);
      mapView.setHostCountries(levels.map((t) => t.host_country));
      refreshCountries();
      arrived("levels");
    });
  const loadActors = () =>
    status.track("actors", () => api.actors(), loadActors).then((actors) => {
      if (!actors) return;
      filters.setActors(actors);
      learnShortNames(actors);
      for (const a of actors) addCountry(a.country);
      refreshCountries();
      arrived("actors");
    });

  // ----- reacting to state ------------------------------------------------------------------------
  let viewTimer = null;
  const affects = (changed, keys) => keys.some((key) => changed.has(key));

  function apply(state, changed, source) {
    filters.setState(state);
    describeScope(state);
    // Opened on the Analytics view, its figures come first and alone: the map (out of sight) and all
    // that waits for it start once they are drawn. On two cores, concurrent aggregations slow each other.
    if (source === "initial" && state.view === "analytics") analytics.ready.then(() => mapView.setState(store.get(), everything, "initial"));
    else mapView.setState(state, changed, source);
    const reloadList = () => list.load(store.get());
    const reloadTimeline = () => timeline.load(store.get());
    if (affects(changed, FILTER_KEYS)) {
      countOutput.closest(".count").classList.add("is-stale");
      clearTimeout(viewTimer);
      if (changed.size === 1 && changed.has("bbox") && source === "map") {
        // Map moves come in bursts: wait until it settles.
        document.body.dataset.settling = "true";
        viewTimer = setTimeout(() => {
          document.body.dataset.settling = "false";
          reloadList();
          reloadTimeline();
          analytics.setState(store.get());
        }, 250);
      } else if (source === "initial") {
        // The map's data first, alone: on two cores, concurrent aggregations slow each other down.
        mapView.firstData.then(() => {
          reloadList();
          reloadTimeline();
        });
        analytics.setState(state);
      } else {
        document.body.dataset.settling = "false";
        reloadList();
        if (affects(changed, ["kind", "actor", "country", "bbox"])) reloadTimeline();
        analytics.setState(state);
      }
    }
    // The radius is the Analytics view's alone: nothing else reloads for it.
    if (changed.has("within_km") && !affects(changed, FILTER_KEYS)) analytics.setState(state);
    if (changed.has("view")) analytics.setVisible(views.show(state.view), state);
    if (affects(changed, ["start", "end"])) {
      timeline.setRange(state.start, state.end);
      updateTroops(state);
    }
    if (affects(changed, ["start", "end", "kind", "actor", "country"])) {
      // On the first load the chains wait for the map's first data: the map paints first.
      if (source === "initial") mapView.firstData.then(() => chains.loadRange(store.get()));
      else chains.loadRange(state);
    }
    if (changed.has("incident")) {
      mapView.select(state.incident, { fly: source === "user" });
      list.setSelected(state.incident);
      chains.setSelected(state.incident);
      if (!state.incident) suggestions.setSelected(null);
    }
  }

  const everything = new Set([...FILTER_KEYS, "within_km", "incident", "view"]);
  if (!store.get().bbox) {
    // No view in the URL: the default view is the filter, and the URL says so. The map is already
    // there, so it has nothing to follow.
    store.set({ bbox: mapView.currentBbox() }, { history: "replace", source: "initial" });
    mapView.setViewBbox(store.get().bbox);
  }
  store.subscribe(apply);
  apply(store.get(), everything, "initial");
  // Reference data after the map's first paint, so it does not compete with it.
  mapView.firstData.then(() => {
    loadBases();
    loadLevels();
    loadActors();
    freshness.load();
  });
  narrow.addEventListener("change", () => mapView.map.invalidateSize());
}

boot();
