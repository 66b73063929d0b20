// Troop levels from /api/v1/deployments/: a step chart per contributor and host country (reported
// actual levels solid, planned/announced/authorized levels dashed), and the labels the map shows over
// each host country ("US 2,500 · NATO 500 → 4,000+ planned", with as-of dates) for the range's end.

import { clear, el, svg } from "./dom.js";
import { addMonths, isoDay, longDay, monthLabel, number, parseDay, startOfMonth } from "./format.js";
import { SERIES_COLORS } from "./palette.js";

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
    const x = (ms) => MARGIN.left + ((ms - lo) / (hi - lo)) * (width - MARGIN.left - labelRoom);
    const y = (v) => height - MARGIN.bottom - (v / yMax) * (height - MARGIN.top - MARGIN.bottom);
    const right = width - labelRoom;

    const grid = svg("g", { class: "grid", "aria-hidden": "true" });
    for (const v of [0, yMax / 2, yMax]) {
      grid.append(
        svg("line", { x1: MARGIN.left, x2: right, y1: y(v), y2: y(v) }),
        svg("text", { x: MARGIN.left - 6, y: y(v) + 4, "text-anchor": "end", text: v >= 1000 ? `${number(v / 1000)}k` : number(v) }),
      );
    }
    const axis = svg("g", { class: "axis", "aria-hidden": "true" });
    const spanMonths = (hi - lo) / (30.4 * DAY);
    const step = [1, 2, 3, 6, 12, 24].find((s) => spanMonths / s <= Math.max((right - MARGIN.left) / 60, 1)) ?? 48;
    for (let t = startOfMonth(lo); t <= hi; t = addMonths(t, 1)) {
      const d = new Date(t);
      if (t < lo || (d.getUTCFullYear() * 12 + d.getUTCMonth()) % step !== 0) continue;
      axis.append(
        svg("line", { x1: x(t), x2: x(t), y1: height - MARGIN.bottom, y2: height - MARGIN.bottom + 4 }),
        svg("text", {
          x: x(t),
          y: height - MARGIN.bottom + 16,
          "text-anchor": "middle",
          text: d.getUTCMonth() === 0 || step >= 12 ? String(d.getUTCFullYear()) : monthLabel(t, false),
        }),
      );
    }
    root.append(grid, axis);

    if (marker !== null && marker >= lo && marker <= hi) {
      root.append(
        svg("line", { class: "asof-line", x1: x(marker), x2: x(marker), y1: MARGIN.top, y2: height - MARGIN.bottom }),
        svg("text", { class: "asof-text", x: x(marker) - 4, y: MARGIN.top + 9, "text-anchor": "end", text: `range end ${longDay(marker)}` }),
      );
    }

    const endLabels = [];
    const description = [];
    series.forEach((s, index) => {
      const color = SERIES_COLORS[index % SERIES_COLORS.length];
      const name = `${shortName(s.actor)} ${s.countryName}`;
      // Dashed: the path including plans; solid on top: reported actual levels only.
      const all = s.points;
      const actual = s.points.filter((t) => t.status === "actual");
      const step = (points, endAt) => {
        if (!points.length) return "";
        let d = "";
        points.forEach((t, i) => {
          const px = x(parseDay(t.as_of));
          const py = y(t.figure ?? t.best ?? 0);
          d += i === 0 ? `M${px},${py}` : `H${px}V${py}`;
        });
        return `${d}H${endAt}`;
      };
      const group = svg("g", { class: "series" });
      const planned = all.filter((t) => t.status !== "actual");
      if (planned.length) {
        // The expected path: every observation in date order, plans included.
        group.append(svg("path", { d: step(all, right), class: "planned", stroke: color }));
      }
      if (actual.length) {
        for (const t of actual) {
          if (t.low !== null && t.low !== undefined && t.high !== null && t.high !== undefined && t.low !== t.high) {
            group.append(svg("line", { class: "range-bar", stroke: color, x1: x(parseDay(t.as_of)), x2: x(parseDay(t.as_of)), y1: y(t.low), y2: y(t.high) }));
          }
        }
        group.append(svg("path", { d: step(actual, right), class: "actual", stroke: color }));
        for (const t of actual) {
          group.append(
            svg("circle", { cx: x(parseDay(t.as_of)), cy: y(t.figure ?? t.best ?? 0), r: 2.6, fill: color }, svg("title", { text: `${name}: ${t.label} (${t.status_label || t.status}, as of ${longDay(t.as_of)})` })),
          );
        }
      }
      for (const t of planned) {
        group.append(
          svg(
            "circle",
            { cx: x(parseDay(t.as_of)), cy: y(t.figure ?? t.best ?? 0), r: 3, fill: "#ffffff", stroke: color, "stroke-width": 1.5 },
            svg("title", { text: `${name}: ${t.label} ${String(t.status_label || t.status).toLowerCase()} for ${longDay(t.as_of)}` }),
          ),
        );
      }
      // End label; laid out with the others below, so that none overlap.
      const lastActual = actual.at(-1);
      const lastPlan = planned.at(-1);
      const endValue = (lastActual ?? lastPlan).figure ?? (lastActual ?? lastPlan).best ?? 0;
      endLabels.push({ y: y(endValue) + 4, color, text: fit(endLabel(s)), full: endLabel(s) });
      root.append(group);
      description.push(
        `${name}: ${all.map((t) => `${t.label} ${t.status === "actual" ? "" : `${String(t.status_label || t.status).toLowerCase()} `}as of ${isoDay(parseDay(t.as_of))}`).join("; ")}`,
      );
    });
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
