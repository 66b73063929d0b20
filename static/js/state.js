// The page's state lives in the URL, under the API's own parameter names, so a view can be shared,
// reloaded and navigated with back/forward. `incident` (the selected incident) and `view` ("analytics"
// for the Analytics view, empty for the map) are the page's own, and so is `within_km`, the Analytics
// view's radius (pairs of incidents at most that far apart), which only its panels send.
//
// Range and filter changes push a history entry; map moves replace the current one (back should not
// step through every pan).

export const FILTER_KEYS = ["start", "end", "kind", "actor", "country", "bbox"];
const KEYS = [...FILTER_KEYS, "within_km", "incident", "view"];

export function emptyState() {
  return { start: "", end: "", kind: [], actor: "", country: "", bbox: "", within_km: "", incident: "", view: "" };
}

export function parseQuery(search) {
  const params = new URLSearchParams(search);
  const state = emptyState();
  for (const key of KEYS) {
    if (key === "kind") state.kind = params.getAll("kind").filter(Boolean);
    else state[key] = params.get(key) ?? "";
  }
  return state;
}

/** The URL query for a state: only what is set, in a stable order. */
export function toQuery(state) {
  const params = new URLSearchParams();
  for (const key of KEYS) {
    if (key === "kind") for (const kind of state.kind) params.append("kind", kind);
    else if (state[key]) params.set(key, state[key]);
  }
  return params;
}

/** The API filters for a state, without the keys in `without` (e.g. the timeline ignores start/end). */
export function apiParams(state, { without = [] } = {}) {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    if (without.includes(key)) continue;
    if (key === "kind") for (const kind of state.kind) params.append("kind", kind);
    else if (state[key]) params.set(key, state[key]);
  }
  return params;
}

/** [minLon, minLat, maxLon, maxLat] from a bbox parameter, or null if it does not parse. */
export function parseBbox(text) {
  if (!text) return null;
  const parts = text.split(",").map(Number);
  if (parts.length !== 4 || parts.some((n) => !Number.isFinite(n))) return null;
  const [minLon, minLat, maxLon, maxLat] = parts;
  if (minLon >= maxLon || minLat >= maxLat) return null;
  return parts;
}

export function formatBbox([minLon, minLat, maxLon, maxLat]) {
  const r = (n) => String(Math.round(n * 1e4) / 1e4);
  return [r(minLon), r(minLat), r(maxLon), r(maxLat)].join(",");
}

function same(a, b) {
  return Array.isArray(a) ? a.length === b.length && a.every((v, i) => v === b[i]) : a === b;
}

export class Store {
  constructor(initial) {
    this.state = { ...emptyState(), ...initial };
    this.listeners = [];
    window.addEventListener("popstate", () => this.replaceAll(parseQuery(window.location.search), "history"));
  }

  get() {
    return this.state;
  }

  subscribe(listener) {
    this.listeners.push(listener);
  }

  /** history: "push" (a new entry), "replace" (amend the current one) or "none". */
  set(patch, { history = "push", source = "user" } = {}) {
    const next = { ...this.state, ...patch };
    const changed = new Set(KEYS.filter((key) => !same(this.state[key], next[key])));
    if (changed.size === 0) return;
    this.state = next;
    if (history !== "none") {
      const query = toQuery(next).toString();
      const url = `${window.location.pathname}${query ? `?${query}` : ""}`;
      if (history === "push") window.history.pushState(null, "", url);
      else window.history.replaceState(null, "", url);
    }
    for (const listener of this.listeners) listener(this.state, changed, source);
  }

  replaceAll(state, source) {
    this.set(state, { history: "none", source });
  }
}
