// The Analytics view (`view=analytics`), on the same page and driven by the same filters: does a
// deterrent action hold (Kaplan–Meier survival per kind of action), how long an answer takes (the lag
// histogram against the shuffled-date baseline), whether answers come close by and soon (the Knox
// table of a pair of sides, as a heat grid), and which weeks surged (also marked on the timeline).
// Each plot has a sentence that says what it shows and a table of its figures. The radius control
// (`within_km`, off by default) pairs only incidents that far apart, in every panel; a panel whose
// figures are degenerate (nearly everything within a day) says so and proposes a radius.

import { isDegenerate, proposeRadius, toLags, toSpaceTime, toSurges, toSurvival } from "./analytics-data.js";
import { clear, el } from "./dom.js";
import { intervalText, isoDay, longDay, number, plural } from "./format.js";
import { markPainted } from "./marks.js";
import { heatGrid, lagPlot, plotKey, ratioColor, ratioText, survivalPlot } from "./plots.js";
import { apiParams } from "./state.js";

const PLOT_HEIGHT = 250;
const HELD = [7, 14, 30];
// The Knox table's bands: km apart and days apart (each band up to its edge), and its shufflings.
const KM_BANDS = [1, 5, 10, 25];
const DAY_BANDS = [1, 3, 7, 14, 30];
const PERMUTATIONS = 199;

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

/** The Knox table's distance bands for a radius: those inside it, and the radius itself. */
function kmBands(withinKm) {
  const radius = Number(withinKm);
  if (!withinKm || !Number.isFinite(radius)) return KM_BANDS;
  return [...KM_BANDS.filter((km) => km < radius), radius];
}

/** The panels' parameters: the filters, and the radius when one is set. */
function withRadius(state) {
  const params = apiParams(state);
  if (state.within_km) params.set("within_km", state.within_km);
  return params;
}

export function createAnalytics({ container, api, status, palette, store, radius, onRadius, onSurges, onRange }) {
  let visible = false;
  let stale = true;
  let controller = null;
  let spaceController = null;
  let data = { survival: null, lags: null, surges: null, spaceTime: null };
  let pairKey = "";
  let spacePairKey = "";
  let firstDone;
  const ready = new Promise((resolve) => (firstDone = resolve));

  const live = el("p", { class: "visually-hidden", "aria-live": "polite" });
  const deterrence = el("section", { class: "analytics-block", "aria-labelledby": "deterrence-title", "aria-busy": "true" });
  const lags = el("section", { class: "analytics-block", "aria-labelledby": "lags-title", "aria-busy": "true" });
  const spaceTime = el("section", { class: "analytics-block analytics-space-time", "aria-labelledby": "space-time-title", "aria-busy": "true" });
  const surges = el("section", { class: "analytics-block analytics-surges", "aria-labelledby": "surges-title", "aria-busy": "true" });
  container.append(live, el("div", { class: "analytics-grid" }, deterrence, lags, spaceTime, surges));

  // ----- the radius ------------------------------------------------------------------------------
  const radiusOn = radius.elements.on;
  const radiusKm = radius.elements.km;
  function chooseRadius() {
    radiusKm.disabled = !radiusOn.checked;
    if (!radiusOn.checked) return onRadius("");
    if (radiusKm.value === "" || !radiusKm.checkValidity()) return radiusKm.reportValidity();
    return onRadius(String(Number(radiusKm.value)));
  }
  radiusOn.addEventListener("change", chooseRadius);
  radiusKm.addEventListener("change", chooseRadius);
  radius.addEventListener("submit", (event) => {
    event.preventDefault();
    chooseRadius();
  });
  function showRadius(km) {
    radiusOn.checked = Boolean(km);
    radiusKm.disabled = !km;
    if (km) radiusKm.value = km;
  }

  /** Says, in words, that a panel's figures are degenerate, and offers a radius that may tell more. */
  function degenerate(block, isIt, what, pairs) {
    block.dataset.degenerate = isIt ? "true" : "false";
    if (!isIt) return null;
    const current = store().within_km;
    const km = proposeRadius(current);
    return el(
      "div",
      { class: "degenerate", role: "note" },
      el("p", {
        text:
          `Degenerate figures: ${what}. On data this dense ${pairs} almost always follows within a day somewhere, ` +
          `${current ? `even within ${number(Number(current))} km, ` : ""}so this measures how dense the data are, not the cycle. ` +
          (km ? `Pairing only incidents within ${number(km)} km of each other may tell more.` : "Narrow the filters or the map view."),
      }),
      km ? el("button", { type: "button", class: "small-button", "data-km": String(km), text: `Use within ${number(km)} km`, onclick: () => onRadius(String(km)) }) : null,
    );
  }

  function unplacedNote(n) {
    return n ? el("p", { class: "muted small unplaced", text: `${plural(n, "incident")} without a point left out: no distance can be measured from them.` }) : null;
  }

  // A group is a kind of incident, or a category of kinds.
  const colorOf = (code) => (palette.kinds.some((k) => k.code === code) ? palette.kind(code) : palette.category(code));
  const head = (id, title, help) => [el("h3", { id, class: "analytics-title", text: title }), el("p", { class: "muted small", text: help })];

  function plotWidth(block) {
    return Math.max(Math.min(block.clientWidth - 4, 720), 260);
  }

  function renderDeterrence() {
    deterrence.dataset.degenerate = "false";
    clear(deterrence).append(
      ...head(
        "deterrence-title",
        "Deterrence: how long a strike or a show of force held",
        "After each action, the days until the side it was aimed at next attacked the acting side's forces or bases. Windows still open are cut at the data's last date (ticks).",
      ),
    );
    if (!data.survival) return;
    const { groups, censoredAt, closedWithinADay: closed } = data.survival;
    if (!groups.length) {
      deterrence.append(el("p", { class: "empty", text: "No strikes or shows of force match these filters." }));
      return;
    }
    const drawn = groups.filter((g) => !g.insufficient && g.steps.length);
    add(
      deterrence,
      degenerate(
        deterrence,
        isDegenerate(closed),
        `${percent(closed.share)} of the ${number(closed.n)} windows closed within a day`,
        "an attack on the acting side",
      ),
      unplacedNote(data.survival.unplaced),
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
    lags.dataset.degenerate = "false";
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
    for (const b of pair.baseline.bins) bins.set(b.lo, { ...(bins.get(b.lo) ?? { lo: b.lo, hi: b.hi }), chance: `${number(b.low)}–${number(b.high)} (mean ${number(b.mean)})` });
    const within = (d) => (d.upTo === 1 ? "within a day" : `within ${d.upTo} days, as finely as these bins tell`);
    const flat = [
      ["confirmed", pair.confirmed?.underADay],
      ["suggested", pair.suggested?.underADay],
      ["nearest-earlier-attack", pair.baseline.underADay],
    ].find(([, d]) => isDegenerate(d));
    add(
      lags,
      el("label", { class: "field inline" }, el("span", { text: "Pair of sides " }), picker),
      degenerate(
        lags,
        Boolean(flat),
        flat ? `${percent(flat[1].share)} of the ${number(flat[1].n)} ${flat[0]} lags are ${within(flat[1])}` : "",
        "an attack by the other side",
      ),
      unplacedNote(data.lags.unplaced),
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
          .map((b) => [b.hi - b.lo === 1 ? String(b.lo) : `${b.lo}–${b.hi - 1}`, number(b.confirmed ?? 0), number(b.suggested ?? 0), b.observed === undefined ? "" : number(b.observed), b.chance ?? ""]),
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

  /** The pair the space-time panel tests: its own choice, or at first the response-lags panel's. */
  function spacePair() {
    const pairs = data.lags?.pairs ?? [];
    return pairs.find((p) => p.key === spacePairKey) ?? pairs.find((p) => p.key === pairKey) ?? pairs[0] ?? null;
  }

  const kmBand = (c) => `${number(c.kmFrom)}–${number(c.kmTo)} km`;
  const dayBand = (c) => (c.daysFrom === c.daysTo ? plural(c.daysFrom, "day") : `${number(c.daysFrom)}–${number(c.daysTo)} days`);
  const expected = (c) => (c.expected === null ? "–" : number(Math.round(c.expected * 10) / 10));
  const pText = (c) => (c.p === null ? "–" : `${c.p < 0.001 ? "< 0.001" : c.p.toFixed(3)}${c.p < 0.05 ? " (below 0.05)" : ""}`);

  /** A cell in words: its tooltip, and what the keyboard cursor reads out. */
  function describeCell(c) {
    const figures = `${number(c.observed ?? 0)} observed, ${expected(c)} expected`;
    if (c.insufficient) return `${kmBand(c)} and ${dayBand(c)} apart: ${figures}; too few pairs for a ratio (insufficient data).`;
    return `${kmBand(c)} and ${dayBand(c)} apart: ${figures}, ratio ${ratioText(c.ratio)}, p = ${pText(c)}.`;
  }

  function renderSpaceTime() {
    clear(spaceTime).append(
      ...head(
        "space-time-title",
        "Space and time: answers close by and soon",
        "Knox test: each act of the first side against the other (an attack, a strike, a show of force) paired with each later attack by the other side on it, counted by how far apart (rows) and how many days later (columns), against the counts with the dates shuffled. Colour: observed over expected, vermilion above chance, blue below; * marks p < 0.05.",
      ),
    );
    if (!data.lags) return;
    const pair = spacePair();
    if (!pair) {
      spaceTime.append(el("p", { class: "empty", text: "No pair of sides to test for these filters." }));
      return;
    }
    spaceTime.dataset.pair = pair.key;
    add(
      spaceTime,
      el(
        "label",
        { class: "field inline" },
        el("span", { text: "Pair of sides " }),
        el(
          "select",
          {
            "aria-label": "Pair of sides for space and time",
            onchange: (event) => {
              spacePairKey = event.target.value;
              loadSpaceTime(store());
            },
          },
          data.lags.pairs.map((p) => el("option", { value: p.key, text: p.label, selected: p.key === pair.key })),
        ),
      ),
    );
    const answer = data.spaceTime;
    if (!answer) return;
    if (answer.insufficient || !answer.cells.length) {
      const counts = `${plural(answer.nFirst ?? 0, "act")} by ${pair.firstLabel} and ${plural(answer.nAnswering ?? 0, "attack")} by ${pair.answeringLabel} with a point`;
      add(
        spaceTime,
        el("p", { class: "empty", text: `Insufficient data: ${counts}${answer.minEvents ? `; the test needs ${number(answer.minEvents)} of each` : ""}.` }),
        unplacedNote(answer.unplaced),
      );
      return;
    }
    const label = `Space and time, ${pair.label}: pairs of attacks by distance and days apart, observed over expected`;
    add(
      spaceTime,
      heatGrid({ cells: answer.cells, width: plotWidth(spaceTime), live, label, describe: describeCell }),
      plotKey([
        ...[0.25, 0.5, 1, 2, 4].map((r) => ({ label: r === 1 ? "1× (as chance)" : ratioText(r), color: ratioColor(r) })),
        { label: "* p < 0.05", class: "key-significant" },
      ]),
      answer.reading ? el("p", { class: "reading", text: answer.reading }) : null,
      el("p", {
        class: "muted small",
        text:
          `${plural(answer.nFirst ?? 0, "act")} by ${pair.firstLabel}, ${plural(answer.nAnswering ?? 0, "attack")} by ${pair.answeringLabel}` +
          (answer.permutations ? `; expected: the mean over ${number(answer.permutations)} shufflings of the dates` : "") +
          (answer.seed !== null ? ` (seed ${answer.seed})` : ", seeded by the data") +
          ".",
      }),
      unplacedNote(answer.unplaced),
      table(
        `Space and time, ${pair.label}`,
        ["distance", "days apart", "observed", "expected", "ratio", "p"],
        answer.cells.map((c) => [kmBand(c), dayBand(c), number(c.observed ?? 0), expected(c), c.insufficient ? "insufficient data" : ratioText(c.ratio), pText(c)]),
      ),
    );
  }

  /** The Knox table of the chosen pair, for the filters and the radius (its distance bands stop there). */
  async function loadSpaceTime(state) {
    spaceController?.abort();
    const mine = new AbortController();
    spaceController = mine;
    data.spaceTime = null;
    const pair = spacePair();
    if (!pair) {
      spaceTime.setAttribute("aria-busy", "false");
      renderSpaceTime();
      return true;
    }
    renderSpaceTime();
    const extra = { first: pair.first, answering: pair.answering, km: kmBands(state.within_km).join(","), days: DAY_BANDS.join(","), permutations: String(PERMUTATIONS) };
    const ok = await part(spaceTime, "space-time", () => api.spaceTime(apiParams(state), extra, { signal: mine.signal }), toSpaceTime, "spaceTime");
    if (ok && mine === spaceController) renderSpaceTime();
    return ok;
  }

  function render() {
    renderDeterrence();
    renderLags();
    renderSpaceTime();
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
    showRadius(state.within_km);
    // Surges count incidents, not pairs of them: no radius.
    const params = withRadius(state);
    const options = { signal: mine.signal };
    container.setAttribute("aria-busy", "true");
    const done = await Promise.all([
      part(deterrence, "deterrence", () => api.deterrence(params, options), toSurvival, "survival").then((ok) => ok && mine === controller && renderDeterrence()),
      part(lags, "response-lags", () => api.responseLags(params, options), toLags, "lags").then((ok) => {
        if (!ok || mine !== controller) return ok;
        renderLags();
        // The space-time panel chooses among the pairs the lags found.
        return loadSpaceTime(state);
      }),
      part(surges, "surges", () => api.surges(apiParams(state), options), toSurges, "surges").then((ok) => {
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
      showRadius(state.within_km);
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
