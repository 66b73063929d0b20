// The one place that talks to the public API (/api/v1/). Every call can be aborted, and every
// failure becomes an ApiError with a message fit to show the user.

export class ApiError extends Error {
  constructor(message, { status = 0, fields = null, url = "", body = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.fields = fields; // {param: [messages]} for a 400
    this.url = url;
    this.body = body; // a 410's {detail, reason, retracted_at}
  }
}

export function isAbort(error) {
  return error?.name === "AbortError";
}

function describe400(body) {
  const errors = body?.errors ?? body;
  if (!errors || typeof errors !== "object") return { message: "The request was rejected.", fields: null };
  const parts = [];
  for (const [field, messages] of Object.entries(errors)) {
    const text = Array.isArray(messages) ? messages.join(" ") : String(messages);
    parts.push(field === "detail" || field === "non_field_errors" ? text : `${field}: ${text}`);
  }
  return { message: parts.join(" · ") || "The request was rejected.", fields: errors };
}

export function createApi(base) {
  const root = new URL(base, window.location.origin);

  function urlFor(path, params) {
    const url = new URL(path, root);
    if (params) url.search = params.toString();
    return url;
  }

  async function getUrl(url, { signal } = {}) {
    let response;
    try {
      response = await fetch(url, { signal, headers: { Accept: "application/json, application/geo+json" } });
    } catch (error) {
      if (isAbort(error)) throw error;
      throw new ApiError("The server could not be reached. Check the connection and retry.", { url: String(url) });
    }
    if (response.ok) return response.json();
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (response.status === 400) {
      const { message, fields } = describe400(body);
      throw new ApiError(`Invalid filter: ${message}`, { status: 400, fields, url: String(url) });
    }
    if (response.status === 404) throw new ApiError("Not found.", { status: 404, url: String(url) });
    // A retracted incident's own URL: its source withdrew it, and the body says why.
    if (response.status === 410) throw new ApiError(body?.detail ?? "Retracted.", { status: 410, url: String(url), body });
    if (response.status === 429) {
      throw new ApiError("Too many requests in a short time: wait a moment, then retry.", { status: 429, url: String(url) });
    }
    if (response.status === 503) {
      throw new ApiError("The service is unavailable for a moment (HTTP 503): retry shortly.", { status: 503, url: String(url) });
    }
    throw new ApiError(`The server failed to answer (HTTP ${response.status}).`, {
      status: response.status,
      url: String(url),
    });
  }

  const get = (path, params, options) => getUrl(urlFor(path, params), options);

  /** Follows `next` links (GeoJSON `links` or DRF `next`) and concatenates the pages. */
  async function getAll(path, params, { maxPages = 50, ...options } = {}) {
    let page = await get(path, params, options);
    const isGeo = page.type === "FeatureCollection";
    const items = [...(isGeo ? page.features : page.results)];
    for (let pages = 1; pages < maxPages; pages++) {
      const next = isGeo ? page.links?.find((link) => link.rel === "next")?.href : page.next;
      if (!next) break;
      page = await getUrl(new URL(next, root), options);
      items.push(...(isGeo ? page.features : page.results));
    }
    return items;
  }

  const withExtra = (params, extra) => {
    const copy = new URLSearchParams(params);
    for (const [key, value] of Object.entries(extra)) if (value !== undefined && value !== null) copy.set(key, value);
    return copy;
  };

  return {
    getUrl,
    kinds: (options) => get("kinds/", null, options),
    actors: (options) => getAll("actors/", null, options),
    bases: (options) => getAll("bases/", null, options),
    deployments: (options) => getAll("deployments/", null, options),
    /** One page (up to 1,000) of the links touching the incidents the filters match: {count, results}. */
    links: (params, options) => get("links/", withExtra(params, { page_size: "1000" }), options),
    incidents: (params, extra, options) => get("incidents/", withExtra(params, extra), options),
    incident: (id, options) => get(`incidents/${encodeURIComponent(id)}/`, null, options),
    chain: (id, options) => get(`incidents/${encodeURIComponent(id)}/chain/`, null, options),
    /** What the public saw change in an incident, newest first: {incident, status, changes}. */
    history: (id, options) => get(`incidents/${encodeURIComponent(id)}/history/`, null, options),
    /** Each dataset's newest event, last sync and version: {datasets}. */
    sourcesStatus: (options) => get("sources/status/", null, options),
    clusters: (params, extra, options) => get("incidents/clusters/", withExtra(params, extra), options),
    timeline: (params, extra, options) => get("timeline/", withExtra(params, extra), options),
    deterrence: (params, options) => get("analytics/deterrence/", params, options),
    responseLags: (params, options) => get("analytics/response-lags/", params, options),
    surges: (params, options) => get("analytics/surges/", params, options),
    /** The Knox table of a pair of sides: {first, answering} side keys, km and days band edges. */
    spaceTime: (params, extra, options) => get("analytics/space-time/", withExtra(params, extra), options),
    beforeAfter: (id, days, options) => get("analytics/before-after/", new URLSearchParams({ incident: String(id), days: String(days) }), options),
    /** One page of suggested links, best first: {count, results}. */
    suggestions: (params, extra, options) => get("links/suggestions/", withExtra(params, extra), options),
  };
}
