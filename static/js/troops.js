// Troop levels from /api/v1/deployments/: a step chart per contributor and host country (reported
// actual levels solid, planned/announced/authorized levels dashed), and the labels the map shows over
// each host country ("US 2,500 · NATO 500 → 4,000+ planned", with as-of dates) for the range's end.
// Observable Plot draws the chart inside the chart's own SVG, which is one labelled image; the end
// labels, laid out so that none overlap, are ours.

import Plot from "@observablehq/plot";
import { clear, el, svg } from "./dom.js";
import { addMonths, isoDay, longDay, monthLabel, number, parseDay, startOfMonth } from "./format.js";
import { SERIES_COLORS } from "./palette.js";
import { axisGroups, nested } from "./plots.js";

const DAY = 86400000;
const MARGIN = { top: 12, bottom: 22, left: 40 };

const shortNames = new Map(); // slug -> short name, from /api/v1/actors/

/** "United States" has the alias "US": labels use the shortest all-capitals alias of a long name. */
export function learnShortNames(actors) {
  for (const actor of actors) {
    const abbreviations = (actor.aliases ?? []).filter((alias) => /^[A-Z][A-Z0-9-]{1,9}$/.test(alias));
    abbreviations.sort((a, b) => a.length - b.length);
    shortNames.set(actor.slug, actor.name.length <= 6 ? actor.name : (abbreviations[0] ?? actor.name));
  }
}

export function shortName(actor) {
  return shortNames.get(actor?.slug) || actor?.name || actor?.slug || "?";
}

function reportedOn(t) {
  return parseDay(t.reported_on) ?? parseDay(t.as_of);
}

/**
 * Per host country, what each contributor had as of `day` (the latest reported actual level) and
 * any pending plan (planned/announced/authorized, known by then, for a date at or after that level).
 */
export function troopLabels(levels, day) {
  const byCountry = new Map();
  for (const t of levels) {
    if (t.base) continue; // base-level figures are shown on the base, not summed into the country
    if (reportedOn(t) > day) continue;
    const key = t.host_country;
    if (!byCountry.has(key)) byCountry.set(key, { name: t.host_country_name || key, contributors: new Map() });
    const entry = byCountry.get(key);
    const slug = t.contributor?.slug ?? "";
    if (!entry.contributors.has(slug)) entry.contributors.set(slug, { actor: t.contributor, actual: null, plan: null });
    const c = entry.contributors.get(slug);
    if (t.status === "actual") {
      if (parseDay(t.as_of) <= day && (!c.actual || t.as_of > c.actual.as_of)) c.actual = t;
    } else if (!c.plan || reportedOn(t) > reportedOn(c.plan) || (reportedOn(t) === reportedOn(c.plan) && t.as_of > c.plan.as_of)) {
      c.plan = t;
    }
  }
  const labels = [];
  for (const [country, entry] of byCountry) {
    const parts = [];
    const dates = [];
    const rows = [...entry.contributors.values()]
      .map((c) => {
        // A plan is pending until an actual level at or after its date is reported.
        const pending = c.plan && (!c.actual || c.plan.as_of >= c.actual.as_of) ? c.plan : null;
        return { ...c, pending };
      })
      .filter((c) => c.actual || c.pending)
      .sort((a, b) => (b.actual?.figure ?? b.actual?.best ?? 0) - (a.actual?.figure ?? a.actual?.best ?? 0));
    for (const c of rows) {
      let text = shortName(c.actor);
      if (c.actual) {
        text += ` ${c.actual.label}`;
        dates.push(c.actual.as_of);
      }
      if (c.pending && (!c.actual || c.pending.label !== c.actual.label)) {
        text += `${c.actual ? " →" : ""} ${c.pending.label} ${String(c.pending.status_label || c.pending.status).toLowerCase()}`;
        if (!c.actual) dates.push(c.pending.reported_on || c.pending.as_of);
      }
      parts.push(text);
    }
    if (!parts.length) continue;
    dates.sort();
    const asOf = dates.length ? `as of ${longDay(dates.at(-1))}` : "";
    labels.push({ country, countryName: entry.name, text: parts.join(" · "), asOf });
  }
  return labels;
}

function seriesOf(levels) {
  const series = new Map();
  for (const t of levels) {
    if (t.base) continue;
    const key = `${t.contributor?.slug}|${t.host_country}`;
    if (!series.has(key)) {
      series.set(key, { key, actor: t.contributor, country: t.host_country, countryName: t.host_country_name || t.host_country, points: [] });
    }
    series.get(key).points.push(t);
  }
  for (const s of series.values()) {
    s.points.sort((a, b) => a.as_of.localeCompare(b.as_of) || (a.status === "actual" ? -1 : 1));
  }
  return [...series.values()];
}

/** "US Iraq 2,500", "NATO Iraq 500 → 4,000+": the latest level, and a pending plan after it. */
function endLabel(s) {
  const actual = s.points.filter((t) => t.status === "actual").at(-1);
  const plan = s.points.filter((t) => t.status !== "actual").at(-1);
  const name = `${shortName(s.actor)} ${s.countryName}`;
  if (!actual) return `${name} ${plan.label} (plan)`;
  const pending = plan && plan.as_of >= actual.as_of && plan.label !== actual.label;
  return `${name} ${actual.label}${pending ? ` → ${plan.label}` : ""}`;
}

export function createTroopChart({ container, legend }) {
  let levels = [];
  let marker = null; // the range's end, drawn as a vertical line
  const root = svg("svg", { class: "troops-svg", role: "img" });
  const fallback = el("div", { class: "visually-hidden" });
  container.append(root, fallback);

  function render() {
    const width = container.clientWidth;
    const height = Math.max(container.clientHeight, 140);
    clear(root);
    clear(fallback);
    root.setAttribute("width", String(width));
    root.setAttribute("height", String(height));
    root.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const series = seriesOf(levels);
    if (!series.length) {
      root.append(svg("text", { x: 12, y: 24, class: "empty", text: "No troop levels recorded." }));
      root.setAttribute("aria-label", "No troop levels recorded.");
      return;
    }
    const days = levels.flatMap((t) => [parseDay(t.as_of), reportedOn(t)]).filter((d) => d !== null);
    let lo = startOfMonth(Math.min(...days));
    let hi = addMonths(Math.max(...days), 2);
    if (marker !== null) {
      lo = Math.min(lo, startOfMonth(marker));
      hi = Math.max(hi, marker + 15 * DAY);
    }
    const maxValue = Math.max(...levels.map((t) => t.high ?? t.figure ?? t.best ?? 0), 1);
    const yMax = [1000, 2000, 4000, 6000, 8000, 10000, 20000, 40000, 60000, 100000].find((v) => v >= maxValue * 1.05) ?? maxValue * 1.1;
    // Room on the right for the longest end label, measured as drawn; long names are shortened to fit.
    const probe = svg("text", { class: "series-label", x: 0, y: -20 });
    root.append(probe);
    const textWidth = (text) => {
      probe.textContent = text;
      return probe.getComputedTextLength();
    };
    const labelRoom = Math.min(Math.max(...series.map((s) => textWidth(endLabel(s)))) + 12, width * 0.45);
    const fit = (text) => {
      let shown = text;
      while (shown.length > 4 && textWidth(shown) > labelRoom - 10) shown = shown.slice(0, -2);
      return shown === text ? text : `${shown.trimEnd()}…`;
    };
    const right = width - labelRoom;
    const valueOf = (t) => t.figure ?? t.best ?? 0;
    const dayOf = (t) => parseDay(t.as_of);

    // Month ticks, as many as fit; years in January (or when a tick is a year or more apart).
    const spanMonths = (hi - lo) / (30.4 * DAY);
    const step = [1, 2, 3, 6, 12, 24].find((s) => spanMonths / s <= Math.max((right - MARGIN.left) / 60, 1)) ?? 48;
    const monthTicks = [];
    for (let t = startOfMonth(lo); t <= hi; t = addMonths(t, 1)) {
      const d = new Date(t);
      if (t >= lo && (d.getUTCFullYear() * 12 + d.getUTCMonth()) % step === 0) monthTicks.push(new Date(t));
    }
    const marks = [Plot.ruleY([0, yMax / 2, yMax], { className: "grid-lines" })];
    if (marker !== null && marker >= lo && marker <= hi) {
      marks.push(
        Plot.ruleX([marker], { className: "asof-line" }),
        // Written on the side of the line with room for it: left of it, unless it is in the left half.
        Plot.text([marker], {
          x: (d) => d,
          text: () => `range end ${longDay(marker)}`,
          frameAnchor: "top",
          lineAnchor: "top",
          dy: 1,
          ...(marker - lo < (hi - lo) / 2 ? { dx: 4, textAnchor: "start" } : { dx: -4, textAnchor: "end" }),
          className: "asof-text",
        }),
      );
    }

    const endLabels = [];
    const description = [];
    series.forEach((s, index) => {
      const color = SERIES_COLORS[index % SERIES_COLORS.length];
      const name = `${shortName(s.actor)} ${s.countryName}`;
      // Dashed: the path including plans; solid on top: reported actual levels only. Each holds its last
      // value to the plot's right edge.
      const all = s.points;
      const actual = s.points.filter((t) => t.status === "actual");
      const planned = all.filter((t) => t.status !== "actual");
      const steps = (points) => [...points.map((t) => ({ day: dayOf(t), value: valueOf(t) })), { day: hi, value: valueOf(points.at(-1)) }];
      // The expected path: every observation in date order, plans included.
      if (planned.length) marks.push(Plot.line(steps(all), { x: "day", y: "value", curve: "step-after", stroke: color, className: "planned" }));
      if (actual.length) {
        const ranges = actual.filter((t) => t.low !== null && t.low !== undefined && t.high !== null && t.high !== undefined && t.low !== t.high);
        marks.push(
          Plot.ruleX(ranges, { x: dayOf, y1: "low", y2: "high", stroke: color, className: "range-bar" }),
          Plot.line(steps(actual), { x: "day", y: "value", curve: "step-after", stroke: color, className: "actual" }),
          Plot.dot(actual, { x: dayOf, y: valueOf, r: 2.6, fill: color, title: (t) => `${name}: ${t.label} (${t.status_label || t.status}, as of ${longDay(t.as_of)})` }),
        );
      }
      marks.push(
        Plot.dot(planned, {
          x: dayOf,
          y: valueOf,
          r: 3,
          fill: "#ffffff",
          stroke: color,
          strokeWidth: 1.5,
          title: (t) => `${name}: ${t.label} ${String(t.status_label || t.status).toLowerCase()} for ${longDay(t.as_of)}`,
        }),
      );
      const last = actual.at(-1) ?? planned.at(-1);
      endLabels.push({ value: valueOf(last), color, text: fit(endLabel(s)), full: endLabel(s) });
      description.push(
        `${name}: ${all.map((t) => `${t.label} ${t.status === "actual" ? "" : `${String(t.status_label || t.status).toLowerCase()} `}as of ${isoDay(parseDay(t.as_of))}`).join("; ")}`,
      );
    });

    // Plot draws the chart; the right margin is the end labels' room.
    const chart = Plot.plot({
      className: "troops-plot",
      // Ten pixels of plot at least, while the pane has no width yet.
      width: Math.max(width, MARGIN.left + labelRoom + 10),
      height,
      marginTop: MARGIN.top,
      marginRight: labelRoom,
      marginBottom: MARGIN.bottom,
      marginLeft: MARGIN.left,
      x: { type: "utc", domain: [new Date(lo), new Date(hi)], ticks: monthTicks, tickFormat: (t) => (t.getUTCMonth() === 0 || step >= 12 ? String(t.getUTCFullYear()) : monthLabel(+t, false)), tickSize: 4, label: null },
      y: { domain: [0, yMax], ticks: [0, yMax / 2, yMax], tickFormat: (v) => (v >= 1000 ? `${number(v / 1000)}k` : number(v)), tickSize: 0, label: null },
      marks,
    });
    axisGroups(chart);
    // The root is one image, labelled with every level in words.
    chart.setAttribute("aria-hidden", "true");
    root.append(nested(chart));

    // End labels at each series' last level, moved down where they would overlap (Plot's y scale places them).
    const y = chart.scale("y");
    for (const label of endLabels) label.y = y.apply(label.value) + 4;
    probe.remove();
    endLabels.sort((a, b) => a.y - b.y);
    for (let i = 1; i < endLabels.length; i++) endLabels[i].y = Math.max(endLabels[i].y, endLabels[i - 1].y + 13);
    const overflow = endLabels.length ? endLabels.at(-1).y - (height - MARGIN.bottom + 4) : 0;
    for (const label of endLabels) {
      root.append(
        svg(
          "text",
          { class: "series-label", x: right + 6, y: label.y - Math.max(overflow, 0), fill: label.color, text: label.text },
          svg("title", { text: label.full }),
        ),
      );
    }
    root.setAttribute("aria-label", `Troop levels over time. ${description.join(". ")}`);
  }

  if (legend) {
    clear(legend).append(
      el("span", { class: "key" }, svg("svg", { width: 22, height: 8, "aria-hidden": "true" }, svg("line", { x1: 0, x2: 22, y1: 4, y2: 4, class: "key-actual" })), " reported"),
      el("span", { class: "key" }, svg("svg", { width: 22, height: 8, "aria-hidden": "true" }, svg("line", { x1: 0, x2: 22, y1: 4, y2: 4, class: "key-planned" })), " planned / announced"),
    );
  }

  new ResizeObserver(() => render()).observe(container);

  return {
    setLevels(list) {
      levels = list;
      render();
    },
    refresh: () => render(),
    setMarker(day) {
      marker = day;
      render();
    },
  };
}
