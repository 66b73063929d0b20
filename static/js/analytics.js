// The Analytics view (`view=analytics`), on the same page and driven by the same filters: does a
// deterrent action hold (Kaplan–Meier survival per kind of action), how long an answer takes (the lag
// histogram against the shuffled-date baseline), and which weeks surged (also marked on the
// timeline). Each plot has a sentence that says what it shows and a table of its figures.

import { toLags, toSurges, toSurvival } from "./analytics-data.js";
import { clear, el } from "./dom.js";
import { intervalText, isoDay, longDay, number, plural } from "./format.js";
import { markPainted } from "./marks.js";
import { lagPlot, plotKey, survivalPlot } from "./plots.js";
import { apiParams } from "./state.js";

const PLOT_HEIGHT = 250;
const HELD = [7, 14, 30];

function percent(share) {
  return share === null || share === undefined ? "–" : `${Math.round(share * 100)}%`;
}

function days(value) {
  return value === null || value === undefined ? "–" : plural(value, "day");
}

/** Appends the nodes that are there (Element.append would write "null" for the others). */
function add(parent, ...nodes) {
  parent.append(...nodes.flat().filter(Boolean));
}

function table(caption, head, rows) {
  return el(
    "details",
    { class: "plot-table" },
    el("summary", { text: `${caption}: the figures as a table` }),
    el(
      "table",
      {},
      el("caption", { class: "visually-hidden", text: caption }),
      el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, rows.map((row) => el("tr", {}, row.map((cell, k) => (k ? el("td", { text: cell }) : el("th", { scope: "row", text: cell })))))),
    ),
  );
}

export function createAnalytics({ container, api, status, palette, store, onSurges, onRange }) {
  let visible = false;
  let stale = true;
  let controller = null;
  let data = { survival: null, lags: null, surges: null };
  let pairKey = "";
  let firstDone;
  const ready = new Promise((resolve) => (firstDone = resolve));

  const live = el("p", { class: "visually-hidden", "aria-live": "polite" });
  const deterrence = el("section", { class: "analytics-block", "aria-labelledby": "deterrence-title", "aria-busy": "true" });
  const lags = el("section", { class: "analytics-block", "aria-labelledby": "lags-title", "aria-busy": "true" });
  const surges = el("section", { class: "analytics-block analytics-surges", "aria-labelledby": "surges-title", "aria-busy": "true" });
  container.append(live, el("div", { class: "analytics-grid" }, deterrence, lags, surges));

  // A group is a kind of incident, or a category of kinds.
  const colorOf = (code) => (palette.kinds.some((k) => k.code === code) ? palette.kind(code) : palette.category(code));
  const head = (id, title, help) => [el("h3", { id, class: "analytics-title", text: title }), el("p", { class: "muted small", text: help })];

  function plotWidth(block) {
    return Math.max(Math.min(block.clientWidth - 4, 720), 260);
  }

  function renderDeterrence() {
    clear(deterrence).append(
      ...head(
        "deterrence-title",
        "Deterrence: how long a strike or a show of force held",
        "After each action, the days until the side it was aimed at next attacked the acting side's forces or bases. Windows still open are cut at the data's last date (ticks).",
      ),
    );
    if (!data.survival) return;
    const { groups, censoredAt } = data.survival;
    if (!groups.length) {
      deterrence.append(el("p", { class: "empty", text: "No strikes or shows of force match these filters." }));
      return;
    }
    const drawn = groups.filter((g) => !g.insufficient && g.steps.length);
    add(
      deterrence,
      drawn.length
        ? [survivalPlot({ groups: drawn, colorOf, width: plotWidth(deterrence), height: PLOT_HEIGHT, live }), plotKey(drawn.map((g) => ({ label: g.label, color: colorOf(g.key) })))]
        : el("p", { class: "empty", text: "Too few windows of any one kind to draw its curve: see the figures below." }),
      el(
        "ul",
        { class: "analytics-summary" },
        groups.map((g) =>
          el(
            "li",
            { "data-kind": g.key },
            el("strong", { text: `${g.label} (n = ${number(g.n)}): ` }),
            g.insufficient
              ? `${g.insufficient}.`
              : `median ${g.median === null ? "not reached" : days(g.median)}${intervalText(g.medianCi) ? ` (95% CI ${intervalText(g.medianCi)} days)` : ""}; ` +
                  g.held.map((h) => `held ${h.days} days: ${percent(h.share)}`).join(", ") +
                  `; ${plural(g.attacks ?? 0, "window")} ended by an attack, ${number(g.open ?? 0)} still open.`,
          ),
        ),
      ),
      censoredAt ? el("p", { class: "muted small", text: `Open windows are cut at ${longDay(censoredAt)}, the data's last date.` }) : null,
      table(
        "Deterrence by kind of action",
        ["kind", "n", "ended by an attack", "still open", "median days", "95% CI", ...HELD.map((d) => `held ${d} days`)],
        groups.map((g) => [
          g.label,
          number(g.n),
          number(g.attacks ?? 0),
          number(g.open ?? 0),
          g.insufficient ? g.insufficient : g.median === null ? "not reached" : String(g.median),
          g.insufficient ? "" : intervalText(g.medianCi),
          ...HELD.map((d) => (g.insufficient ? "" : percent(g.held.find((h) => h.days === d)?.share))),
        ]),
      ),
    );
  }

  function seriesText(name, series) {
    if (!series) return null;
    if (series.insufficient) return `${name}: ${series.insufficient}`;
    return `${name} (n = ${number(series.n)}): median ${days(series.median)}${intervalText(series.medianCi) ? ` (95% CI ${intervalText(series.medianCi)})` : ""}, IQR ${intervalText(series.iqr)}`;
  }

  function chanceText(baseline) {
    if (baseline.insufficient) return `Against chance: ${baseline.insufficient}`;
    const p = baseline.p === null ? "" : `, p = ${baseline.p < 0.001 ? "< 0.001" : baseline.p.toFixed(3)}`;
    const runs = baseline.permutations ? ` over ${number(baseline.permutations)} shufflings of the dates` : "";
    return `Against chance: ${baseline.verdict}${p}${runs}${baseline.median !== null ? `; shuffled median ${days(baseline.median)}` : ""}`;
  }

  function renderLags() {
    clear(lags).append(
      ...head(
        "lags-title",
        "Response lags: attack to answer",
        "Days from an attack to the answer by the side attacked: confirmed links (filled), suggestions (outlined). The black step pairs every answer with the nearest earlier attack on it; the grey band is what that pairing gives with the dates shuffled. Above the band is more than chance.",
      ),
    );
    if (!data.lags) return;
    const { pairs, truncated } = data.lags;
    if (!pairs.length) {
      lags.append(el("p", { class: "empty", text: "No linked or suggested answers match these filters." }));
      return;
    }
    // At first, the pair with the most answers.
    const size = (p) => (p.confirmed?.n ?? 0) + (p.suggested?.n ?? 0);
    const pair = pairs.find((p) => p.key === pairKey) ?? pairs.reduce((best, p) => (size(p) > size(best) ? p : best));
    pairKey = pair.key;
    const picker = el(
      "select",
      { "aria-label": "Pair of sides", onchange: (event) => ((pairKey = event.target.value), renderLags()) },
      pairs.map((p) => el("option", { value: p.key, text: p.label, selected: p.key === pair.key })),
    );
    const bins = new Map();
    for (const [field, series] of [
      ["confirmed", pair.confirmed],
      ["suggested", pair.suggested],
    ]) {
      for (const b of series?.bins ?? []) bins.set(b.lo, { ...(bins.get(b.lo) ?? { lo: b.lo, hi: b.hi }), [field]: b.count });
    }
    for (const b of pair.baseline.observed) bins.set(b.lo, { ...(bins.get(b.lo) ?? { lo: b.lo, hi: b.hi }), observed: b.count });
    for (const b of pair.baseline.bins) bins.set(b.lo, { ...(bins.get(b.lo) ?? { lo: b.lo, hi: b.hi }), chance: `${b.low}–${b.high} (mean ${b.mean})` });
    add(
      lags,
      el("label", { class: "field inline" }, el("span", { text: "Pair of sides " }), picker),
      lagPlot({ pair, width: plotWidth(lags), height: PLOT_HEIGHT, live }),
      plotKey([
        { label: "confirmed links", class: "key-confirmed" },
        { label: "suggestions", class: "key-suggested" },
        { label: "nearest earlier attack", class: "key-observed" },
        { label: "the same with shuffled dates (95% range)", class: "key-chance" },
      ]),
      el(
        "ul",
        { class: "analytics-summary" },
        [seriesText("Confirmed links", pair.confirmed), seriesText("Suggestions", pair.suggested), chanceText(pair.baseline)]
          .filter(Boolean)
          .map((text) => el("li", { text: `${text}.` })),
      ),
      truncated ? el("p", { class: "muted small", text: "Only the pairs with the most answers are listed." }) : null,
      table(
        `Response lags, ${pair.label}`,
        ["days", "confirmed", "suggested", "nearest earlier attack", "shuffled dates (95% range)"],
        [...bins.values()]
          .sort((a, b) => a.lo - b.lo)
          .map((b) => [b.hi - b.lo === 1 ? String(b.lo) : `${b.lo}–${b.hi - 1}`, String(b.confirmed ?? 0), String(b.suggested ?? 0), b.observed === undefined ? "" : String(b.observed), b.chance ?? ""]),
      ),
    );
  }

  function renderSurges() {
    clear(surges).append(
      ...head("surges-title", "Surges", "Weeks with at least twice the mean of the four weeks before (ACLED's rule), per side and per base; marked on the timeline."),
    );
    const list = data.surges;
    if (!list) return;
    if (!list.length) {
      surges.append(el("p", { class: "empty", text: "No surge weeks match these filters." }));
      return;
    }
    surges.append(
      el(
        "ol",
        { class: "surge-list" },
        list.map((s) =>
          el(
            "li",
            {},
            el("button", {
              type: "button",
              class: "link-button",
              text: `Week of ${longDay(s.startMs)}`,
              title: "Show this week",
              onclick: () => onRange(isoDay(s.startMs), isoDay(s.endMs - 86400000)),
            }),
            el("span", { text: ` · ${s.scope}: ${plural(s.count, "incident")}${s.mean !== null ? `, against a mean of ${number(Math.round(s.mean * 10) / 10)}` : ""}` }),
          ),
        ),
      ),
    );
  }

  function render() {
    renderDeterrence();
    renderLags();
    renderSurges();
  }

  async function part(block, channel, fetch, map, key) {
    block.setAttribute("aria-busy", "true");
    const response = await status.track(channel, fetch, () => load(store()));
    if (response === undefined) return false;
    data[key] = map(response);
    block.setAttribute("aria-busy", "false");
    return true;
  }

  async function load(state) {
    controller?.abort();
    const mine = new AbortController();
    controller = mine;
    stale = false;
    const params = apiParams(state);
    const options = { signal: mine.signal };
    container.setAttribute("aria-busy", "true");
    const done = await Promise.all([
      part(deterrence, "deterrence", () => api.deterrence(params, options), toSurvival, "survival").then((ok) => ok && mine === controller && renderDeterrence()),
      part(lags, "response-lags", () => api.responseLags(params, options), toLags, "lags").then((ok) => ok && mine === controller && renderLags()),
      part(surges, "surges", () => api.surges(params, options), toSurges, "surges").then((ok) => {
        if (!ok || mine !== controller) return;
        renderSurges();
        onSurges(data.surges);
      }),
    ]);
    if (mine !== controller) return done;
    container.setAttribute("aria-busy", "false");
    markPainted("dashboard:analytics");
    firstDone();
    return done;
  }

  let width = 0;
  new ResizeObserver(() => {
    if (!visible || container.clientWidth === width) return;
    width = container.clientWidth;
    render();
  }).observe(container);
  render();

  return {
    /** Resolves once the figures have been drawn (or failed) for the first time. */
    ready,
    /** The filters changed: reload now if the view is shown, otherwise when it next is. */
    setState(state) {
      if (visible) load(state);
      else stale = true;
    },
    setVisible(on, state) {
      visible = on;
      if (on && stale) load(state);
      if (on) onSurges(data.surges ?? []);
      else onSurges([]);
    },
  };
}
