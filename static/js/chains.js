// Escalation chains: attack → response → counter-response, with the lag in days on every step.
// The selected incident's chain comes from /api/v1/incidents/{id}/chain/ (its whole connected
// sequence, with coordinates for the map) and is shown first. The chains of the range come from
// /api/v1/links/ with the page's filters (the links with a matching incident at either end), grouped
// into connected sequences.

import { isAbort } from "./api.js";
import { clear, el } from "./dom.js";
import { daysBetween, lagLabel, longDay, number, parseDay, plural, shortDay } from "./format.js";
import { apiParams } from "./state.js";

// Beyond this many, chains are summed up rather than drawn: narrowing the range shows them.
const MAX_CHAINS = 30;

export function createChains({ container, api, status, palette, store, onSelect, onLinks, onSelectedChain }) {
  let rangeChains = [];
  let selectedChain = null;
  let selectedId = "";
  let rangeController = null;
  let selectController = null;
  const cache = new Map(); // incident id -> chain

  async function fetchChain(id, signal) {
    const key = String(id);
    if (cache.has(key)) return cache.get(key);
    let chain;
    try {
      chain = await api.chain(id, { signal });
    } catch (error) {
      // A retracted incident (410) is in no chain: its notice says why, not an error banner.
      if (error?.status === 410) return null;
      throw error;
    }
    for (const incident of chain.incidents) cache.set(String(incident.id), chain);
    return chain;
  }

  function chainKey(chain) {
    return chain.incidents.map((i) => i.id).sort((a, b) => a - b).join(",");
  }

  function renderChain(chain) {
    const incidents = chain.incidents;
    const byId = new Map(incidents.map((i) => [i.id, i]));
    const first = incidents[0];
    const last = incidents.at(-1);
    const span = daysBetween(parseDay(first.occurred_on), parseDay(last.occurred_on));
    const contains = incidents.some((i) => String(i.id) === selectedId);
    const incoming = new Map();
    for (const link of chain.links) {
      if (!incoming.has(link.incident)) incoming.set(link.incident, []);
      incoming.get(link.incident).push(link);
    }
    const steps = incidents.map((incident, index) => {
      const previous = incidents[index - 1];
      const lags = (incoming.get(incident.id) ?? []).map((link) => {
        const prior = byId.get(link.prior);
        const adjacent = previous && link.prior === previous.id;
        return el(
          "p",
          { class: adjacent ? "lag" : "lag lag-branch" },
          el("span", { class: "lag-days", text: adjacent ? `+${lagLabel(link.lag_days)}` : `${lagLabel(link.lag_days)} after ${shortDay(prior?.occurred_on)}` }),
          el("span", { class: "lag-relation", text: ` ${link.relation_label}` }),
          link.confidence ? el("span", { class: "muted", text: ` · ${link.confidence} confidence` }) : null,
        );
      });
      const current = String(incident.id) === selectedId;
      return el(
        "li",
        { class: current ? "step is-current" : "step" },
        lags,
        el(
          "button",
          {
            type: "button",
            class: "node",
            "data-incident": incident.id,
            "aria-current": current ? "true" : null,
            onclick: () => onSelect(String(incident.id)),
          },
          el("span", { class: "node-dot", style: { background: palette.kind(incident.kind) }, "aria-hidden": "true" }),
          el("time", { class: "node-date", datetime: incident.occurred_on, text: longDay(incident.occurred_on) }),
          el("span", { class: "node-kind", text: incident.kind_label ?? palette.kindLabel(incident.kind) }),
          el("span", { class: "node-title", text: incident.title }),
        ),
      );
    });
    const title = `${longDay(first.occurred_on)} – ${longDay(last.occurred_on)}`;
    return el(
      "section",
      { class: contains ? "chain is-selected" : "chain", "aria-label": `Chain ${title}`, "data-chain": chainKey(chain) },
      el(
        "h3",
        { class: "chain-head" },
        el("span", { text: title }),
        el("span", { class: "muted", text: ` · ${plural(incidents.length, "incident")} over ${plural(span, "day")}` }),
        // The API walks at most so many links out from the selected incident; say that the chain goes on.
        chain.truncated ? el("span", { class: "muted", text: " · the nearest only: the chain goes on" }) : null,
      ),
      el("ol", { class: "chain-steps" }, steps),
    );
  }

  function chainsToShow() {
    const out = [];
    const selectedIds = new Set(selectedChain?.incidents.map((i) => i.id) ?? []);
    if (selectedChain?.links.length) out.push(selectedChain);
    for (const chain of rangeChains) {
      // A range may cut the selected chain: show it whole, once.
      if (chain.links.length && !chain.incidents.every((i) => selectedIds.has(i.id))) out.push(chain);
    }
    // The selected incident's chain first, the rest in date order.
    const [head, ...rest] = out;
    if (head && head === selectedChain) return [head, ...rest.sort(byStart)];
    return out.sort(byStart);
  }

  function byStart(a, b) {
    return a.incidents[0].occurred_on.localeCompare(b.incidents[0].occurred_on);
  }

  function render() {
    clear(container);
    const all = chainsToShow();
    const chains = all.slice(0, MAX_CHAINS);
    if (!chains.length) {
      container.append(el("p", { class: "empty", text: "No linked incidents in this range." }));
    }
    for (const chain of chains) container.append(renderChain(chain));
    if (all.length > chains.length || linksMatched > rangeChains.reduce((n, c) => n + c.links.length, 0)) {
      container.append(
        el("p", {
          class: "empty",
          text: `Showing ${plural(chains.length, "chain")} of the ${number(linksMatched)} links in this range: narrow the range or the filters to see them all.`,
        }),
      );
    }
    const selected = container.querySelector(".chain.is-selected");
    // Scroll the panel (not the page) to the selected chain's head.
    if (selected) container.scrollTop = selected.offsetTop - 4;
    const links = [];
    for (const chain of chains) {
      const byId = new Map(chain.incidents.map((i) => [i.id, i]));
      for (const link of chain.links) {
        const prior = byId.get(link.prior);
        const incident = byId.get(link.incident);
        if (!prior || !incident) continue;
        links.push({
          priorDay: parseDay(prior.occurred_on),
          incidentDay: parseDay(incident.occurred_on),
          category: incident.category ?? palette.categoryOf(incident.kind),
          incidentId: String(incident.id),
          label: `${shortDay(prior.occurred_on)} ${prior.title} → ${link.relation_label} → ${shortDay(incident.occurred_on)} ${incident.title} (${lagLabel(link.lag_days)})`,
        });
      }
    }
    onLinks(links);
  }

  let linksMatched = 0;

  /** Links grouped into connected sequences, each {incidents (date order), links}. */
  function group(links) {
    const parent = new Map();
    const find = (id) => {
      while (parent.get(id) !== id) {
        parent.set(id, parent.get(parent.get(id)));
        id = parent.get(id);
      }
      return id;
    };
    const incidents = new Map();
    for (const link of links) {
      for (const ref of [link.incident, link.prior]) {
        incidents.set(ref.id, ref);
        if (!parent.has(ref.id)) parent.set(ref.id, ref.id);
      }
      parent.set(find(link.incident.id), find(link.prior.id));
    }
    const chains = new Map();
    for (const link of links) {
      const root = find(link.prior.id);
      if (!chains.has(root)) chains.set(root, { ids: new Set(), links: [] });
      const chain = chains.get(root);
      chain.ids.add(link.incident.id).add(link.prior.id);
      chain.links.push({ ...link, incident: link.incident.id, prior: link.prior.id });
    }
    return [...chains.values()].map((chain) => ({
      incidents: [...chain.ids]
        .map((id) => incidents.get(id))
        .sort((a, b) => a.occurred_on.localeCompare(b.occurred_on) || a.id - b.id),
      links: chain.links,
    }));
  }

  /** The chains of the range: the links with an incident of the filters at either end, grouped. */
  async function loadRange(state) {
    rangeController?.abort();
    const mine = new AbortController();
    rangeController = mine;
    const params = apiParams(state, { without: ["bbox"] });
    const page = await status.track("chains", () => api.links(params, { signal: mine.signal }), () => loadRange(store()));
    if (!page || mine !== rangeController) return;
    linksMatched = page.count;
    rangeChains = group(page.results);
    render();
  }

  async function setSelected(id) {
    selectedId = id ? String(id) : "";
    selectController?.abort();
    if (!selectedId) {
      selectedChain = null;
      onSelectedChain(null);
      render();
      return;
    }
    const mine = new AbortController();
    selectController = mine;
    try {
      const chain = await status.track("chain", () => fetchChain(selectedId, mine.signal), () => setSelected(id));
      if (mine !== selectController) return;
      selectedChain = chain ?? null;
      onSelectedChain(chain && chain.links.length ? chain : null);
      render();
    } catch (error) {
      if (!isAbort(error)) throw error;
    }
  }

  /** The links changed (a suggestion accepted): forget the chains known and load them again. */
  function reload(state) {
    cache.clear();
    loadRange(state);
    const id = selectedId;
    selectedId = "";
    setSelected(id);
  }

  return { loadRange, setSelected, reload };
}
