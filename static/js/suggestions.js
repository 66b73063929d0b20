// Suggested links (/api/v1/links/suggestions/): the earlier incidents a later one may answer, found by
// the reversed dyad and ranked by score. While the map draws incidents one by one, the best candidate
// of each is a dashed arc on the timeline (a clustered map, thousands of incidents, draws none); the
// selected incident's candidates are dashed arcs on the map and a list under the chains, each marked
// "suggested", with Accept and Reject for editors.
//
// The API gives incidents as ids: dates, titles and places come from what the page already holds
// (`known`), and the selected incident's candidates from their details.

import { toSuggestions } from "./analytics-data.js";
import { clear, el } from "./dom.js";
import { lagLabel, longDay, number, parseDay, shortDay } from "./format.js";
import { reviewSuggestion } from "./review.js";

const DAY = 86400000;
const PAGE = 1000; // the API's largest page
const SHOWN = 5; // candidates listed for the selected incident

const relationLabel = (code) => String(code ?? "response").replaceAll("_", " ");
const scoreText = (s) => (s.score === null ? "" : `score ${s.score.toFixed(2)}`);

export function createSuggestions({ container, api, status, palette, editor, known, onSelect, onRange, onSelected, onReviewed }) {
  let rangeController = null;
  let selectController = null;
  let rangeList = [];
  let lastParams = null;
  let selected = null; // the selected incident's feature
  let candidates = []; // its suggestions, each with the prior's details

  /** The timeline's arcs: each known incident's best candidate. */
  function drawRange() {
    const arcs = [];
    for (const s of rangeList) {
      const incident = known.get(s.incidentId);
      const day = parseDay(incident?.occurred_on);
      if (s.rank !== 1 || day === null || s.lag === null) continue;
      const prior = known.get(s.priorId);
      arcs.push({
        priorDay: day - s.lag * DAY,
        incidentDay: day,
        category: incident.category ?? palette.categoryOf(incident.kind),
        incidentId: s.incidentId,
        suggested: true,
        label:
          `suggested: ${shortDay(day)} ${incident.title ?? ""} may answer ` +
          `${prior ? `${shortDay(prior.occurred_on)} ${prior.title}` : "an incident"} ${lagLabel(s.lag)} earlier (${scoreText(s)})`,
      });
    }
    onRange(arcs);
  }

  /** The suggestions for the incidents the map drew, by the query it drew them with (null: none). */
  async function loadRange(params) {
    rangeController?.abort();
    lastParams = params;
    if (!params) {
      rangeList = [];
      drawRange();
      return;
    }
    const mine = new AbortController();
    rangeController = mine;
    const page = await status.track("suggestions", () => api.suggestions(params, { page_size: String(PAGE) }, { signal: mine.signal }), () => loadRange(params));
    if (!page || mine !== rangeController) return;
    rangeList = toSuggestions(page);
    drawRange();
  }

  async function review(verdict, s, row) {
    for (const button of row.querySelectorAll("button[data-verdict]")) button.disabled = true;
    const done = await status.track("review", () => reviewSuggestion(verdict, s, { api, editor }), null);
    if (!done) {
      for (const button of row.querySelectorAll("button[data-verdict]")) button.disabled = false;
      return;
    }
    candidates = candidates.filter((other) => other !== s);
    rangeList = rangeList.filter((other) => other.incidentId !== s.incidentId || other.priorId !== s.priorId);
    render();
    drawRange();
    onSelected(candidates);
    onReviewed(verdict, s);
  }

  function row(s) {
    const prior = s.prior;
    const item = el(
      "li",
      { class: "suggestion", "data-prior": s.priorId, "data-incident": s.incidentId },
      el("span", { class: "suggested-tag", text: "suggested" }),
      el("button", {
        type: "button",
        class: "link-button",
        "data-incident": s.priorId,
        text: prior ? `${longDay(prior.occurred_on)} · ${prior.title}` : `incident ${s.priorId}`,
        onclick: () => onSelect(s.priorId),
      }),
      el("span", {
        class: "muted",
        text: ` · ${relationLabel(s.relation)}, ${lagLabel(s.lag)} earlier${s.km !== null ? `, ${number(Math.round(s.km))} km` : ""} · ${scoreText(s)}, rank ${s.rank}`,
      }),
    );
    if (editor.canAccept || editor.canReject) {
      item.append(
        el(
          "span",
          { class: "review" },
          editor.canAccept ? el("button", { type: "button", class: "small-button", "data-verdict": "accept", text: "Accept", "aria-label": `Accept the suggested link to ${prior?.title ?? "it"}`, onclick: () => review("accept", s, item) }) : null,
          editor.canReject ? el("button", { type: "button", class: "small-button", "data-verdict": "reject", text: "Reject", "aria-label": `Reject the suggested link to ${prior?.title ?? "it"}`, onclick: () => review("reject", s, item) }) : null,
        ),
      );
    }
    return item;
  }

  function render() {
    clear(container);
    container.hidden = !candidates.length;
    if (!candidates.length) return;
    container.append(
      el("h3", { class: "chain-head", text: "Suggested links" }),
      el("p", { class: "muted small", text: "Not drawn by an editor: earlier incidents this one may answer (the side it attacked had attacked it), best first." }),
      el("ol", { class: "suggestion-list" }, candidates.map(row)),
    );
  }

  /**
   * The selected incident's candidates, from its details (`feature`, null when none is selected):
   * the suggestions of its day and place, then the details of the few best priors.
   */
  async function setSelected(feature) {
    selectController?.abort();
    selected = feature;
    candidates = [];
    render();
    onSelected([]);
    if (!feature) return;
    const mine = new AbortController();
    selectController = mine;
    const p = feature.properties;
    const id = String(p.id ?? feature.id);
    const params = new URLSearchParams({ start: p.occurred_on, end: p.occurred_on, kind: p.kind, page_size: String(PAGE) });
    if (feature.geometry) {
      const [lon, lat] = feature.geometry.coordinates;
      params.set("bbox", [lon - 0.001, lat - 0.001, lon + 0.001, lat + 0.001].map((n) => n.toFixed(5)).join(","));
    }
    const found = await status.track(
      "suggestions",
      async () => {
        const page = await api.suggestions(params, {}, { signal: mine.signal });
        const mineOnly = toSuggestions(page)
          .filter((s) => s.incidentId === id)
          .sort((a, b) => a.rank - b.rank)
          .slice(0, SHOWN);
        const priors = await Promise.all(mineOnly.map((s) => api.incident(s.priorId, { signal: mine.signal })));
        return mineOnly.map((s, k) => {
          const f = priors[k];
          return {
            ...s,
            prior: { ...f.properties, id: s.priorId, coordinates: f.geometry?.coordinates ?? null },
            incident: { ...p, id, coordinates: feature.geometry?.coordinates ?? null },
          };
        });
      },
      () => setSelected(selected),
    );
    if (!found || mine !== selectController) return;
    candidates = found;
    render();
    onSelected(candidates);
  }

  return { loadRange, reloadRange: () => loadRange(lastParams), setSelected, redraw: drawRange };
}
