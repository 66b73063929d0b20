// The analytics view's plots, drawn by Observable Plot: Kaplan–Meier survival steps, a lag histogram
// over the band of what chance gives, and the Knox table as a heat grid. Plot draws the marks and the
// axes; this module adds what Plot leaves to us. Each plot is one focusable element (its inner groups
// are hidden from assistive technology): the arrow keys move a cursor along it (Left/Right: along the
// axis, Shift: farther; Up/Down: to the next series), placed with the plot's own scales, and a live
// region reads out the value under it. The full figures are also in a table next to each plot
// (analytics.js). Plot's marks carry class names (and data attributes, through its render hook) so that
// the stylesheet and the tests can find them.

import Plot from "@observablehq/plot";
import { el, svg } from "./dom.js";
import { number } from "./format.js";

const MARGIN = { top: 14, right: 14, bottom: 38, left: 44 };
// Roughly how wide a character of the axis labels is (11px, tabular figures), and where the y axis's
// title (rotated, at the left edge) ends: the labels start to the right of it, whatever their length.
const CHAR_PX = 6.6;
const TITLE_PX = 20;
// One bar dwarfs the rest when it is this many times the next tallest: the y axis is then logarithmic.
const DWARFS = 10;

function percent(share) {
  return share === null || share === undefined ? "?" : `${Math.round(share * 100)}%`;
}

/** The left margin that fits the y axis's title and its longest tick label. */
function leftMargin(labels, extra = 10) {
  return Math.max(MARGIN.left, TITLE_PX + extra + Math.max(0, ...labels.map((text) => text.length)) * CHAR_PX);
}

/** A render transform (Plot's hook into the SVG it makes) that sets attributes on the mark's <g>. */
function stamp(attributes) {
  return (index, scales, values, dimensions, context, next) => {
    const g = next(index, scales, values, dimensions, context);
    for (const [name, value] of Object.entries(attributes)) g.setAttribute(name, value);
    return g;
  };
}

/** A render transform that sets each drawn element's attributes from its datum: `of(datum)`. */
export function stampEach(data, of) {
  return (index, scales, values, dimensions, context, next) => {
    const g = next(index, scales, values, dimensions, context);
    // Plot draws one element per index, in the index's order.
    [...g.children].forEach((node, k) => {
      for (const [name, value] of Object.entries(of(data[index[k]]))) if (value !== null && value !== false) node.setAttribute(name, value);
    });
    return g;
  };
}

/** Puts the nodes (children of one parent) in a new group where the first of them was (or before `fallback`). */
export function wrap(nodes, attributes, fallback = null) {
  if (!nodes.length && !fallback) return null;
  const group = svg("g", attributes);
  (nodes[0] ?? fallback).before(group);
  group.append(...nodes);
  return group;
}

/**
 * A Plot chart placed inside another SVG (the timeline's and the troop chart's, which carry the
 * interactions) at `y`. Plot's own stylesheet gives its SVG `height: auto`, which an inner <svg> reads
 * as 100% of the outer one: its size is set again, inline, where that rule cannot win.
 */
export function nested(chart, y = 0) {
  chart.style.width = `${chart.getAttribute("width")}px`;
  chart.style.height = `${chart.getAttribute("height")}px`;
  chart.setAttribute("x", "0");
  chart.setAttribute("y", String(y));
  return chart;
}

/**
 * The timeline's and the troop chart's axes in the groups their stylesheet knows, hidden from assistive
 * technology: the y labels and the `grid-lines` mark in .grid; the x ticks, their labels and the
 * `baseline` mark in .axis.
 */
export function axisGroups(chart) {
  const children = (selector) => [...chart.querySelectorAll(selector)];
  wrap(children(':scope > .grid-lines, :scope > [aria-label="y-axis tick label"]'), { class: "grid", "aria-hidden": "true" });
  wrap(children(':scope > [aria-label="x-axis tick"], :scope > [aria-label="x-axis tick label"], :scope > .baseline'), { class: "axis", "aria-hidden": "true" });
  return chart;
}

/**
 * What Plot leaves to us on its SVG: the plot is one keyboard stop labelled as a whole, its parts are
 * hidden from assistive technology (the live region and the tables speak for them), and the axes' texts
 * carry the classes the stylesheet (and the tests) know.
 */
function finish(root, { label, roleDescription = "plot", scale = null, keep = null }) {
  root.classList.add("plot-svg");
  root.setAttribute("role", "group");
  root.setAttribute("tabindex", "0");
  root.setAttribute("aria-roledescription", roleDescription);
  root.setAttribute("aria-label", label);
  if (scale) root.dataset.scale = scale;
  for (const child of root.children) if (child.tagName !== "style" && child !== keep) child.setAttribute("aria-hidden", "true");
  for (const [axis, name] of [
    ["x", "x-tick"],
    ["y", "y-tick"],
  ]) {
    for (const text of root.querySelectorAll(`[aria-label="${axis}-axis tick label"] text`)) text.classList.add("tick-label", name);
    for (const text of root.querySelectorAll(`[aria-label="${axis}-axis label"] text`)) text.classList.add("axis-title");
  }
  return root;
}

/** 5, 10, 20, 25, 50, 100, 200, 250, 500…: the nearest round number at or above n. */
export function niceCeil(n) {
  const magnitude = 10 ** Math.floor(Math.log10(n));
  return ([1, 2, 2.5, 5, 10].find((step) => step * magnitude >= n) ?? 10) * magnitude;
}

function ticksUpTo(max, count = 6) {
  const step = [1, 2, 5, 7, 10, 14, 20, 30, 50, 60, 90, 100, 180, 365].find((s) => max / s <= count) ?? Math.ceil(max / count);
  const out = [];
  for (let v = 0; v <= max; v += step) out.push(v);
  return out;
}

/** Axis options shared by the two plots: ticks where we want them, labels with thousands separators. */
function axis(label, ticks, tickFormat = number) {
  return { label, ticks, tickFormat, labelAnchor: "center", labelArrow: "none", nice: false };
}

/**
 * The keyboard cursor: `series` is a list of lists of points {x, y, text}; the cursor starts on the
 * first point of the first series. `x` and `y` are the plot's scales (Plot's `scale(...).apply`), `live`
 * the element that announces the point.
 */
function cursor(root, series, { x, y, live, top, bottom }) {
  const line = svg("line", { class: "plot-cursor", y1: top, y2: bottom, "aria-hidden": "true" });
  const dot = svg("circle", { class: "plot-cursor-dot", r: 4, "aria-hidden": "true" });
  const group = svg("g", { class: "plot-cursor-group", visibility: "hidden", "aria-hidden": "true" }, line, dot);
  root.append(group);
  let s = 0;
  let i = 0;
  function show() {
    const point = series[s]?.[i];
    if (!point) return;
    group.setAttribute("visibility", "visible");
    line.setAttribute("x1", x(point.x));
    line.setAttribute("x2", x(point.x));
    dot.setAttribute("cx", x(point.x));
    dot.setAttribute("cy", y(point.y));
    if (point.color) dot.setAttribute("fill", point.color);
    live.textContent = point.text;
    root.dataset.cursor = `${s}:${i}`;
  }
  root.addEventListener("focus", show);
  root.addEventListener("blur", () => group.setAttribute("visibility", "hidden"));
  root.addEventListener("keydown", (event) => {
    const points = series[s] ?? [];
    const far = event.shiftKey ? 5 : 1;
    if (event.key === "ArrowRight") i = Math.min(i + far, points.length - 1);
    else if (event.key === "ArrowLeft") i = Math.max(i - far, 0);
    else if (event.key === "Home") i = 0;
    else if (event.key === "End") i = points.length - 1;
    else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (series.length < 2) return;
      const at = points[i]?.x ?? 0;
      s = (s + (event.key === "ArrowDown" ? 1 : series.length - 1)) % series.length;
      // Stay at the same place along the axis on the other series.
      const next = series[s];
      i = Math.max(0, next.findLastIndex((p) => p.x <= at));
    } else return;
    event.preventDefault();
    show();
  });
}

// A censored window's mark: a short vertical stroke (a d3 symbol type, which Plot's dot accepts).
const CENSOR_TICK = {
  draw(context, size) {
    const r = Math.sqrt(size / Math.PI);
    context.moveTo(0, -r);
    context.lineTo(0, r);
  },
};

/**
 * Survival curves: per group, the share of windows that still held (no answering attack yet) after
 * so many days, as steps with the 95% band, censored windows as ticks, and guides at 7, 14 and 30 days.
 */
export function survivalPlot({ groups, colorOf, width, height, live }) {
  const drawn = groups.filter((g) => !g.insufficient && g.steps.length);
  // Up to a little past the last drop (and at least the 30-day guide): a window open for a year would
  // otherwise squash every curve against the axis. Longer windows end at the plot's edge.
  const drops = drawn.flatMap((g) => g.steps.filter((p, k) => k && p.s < g.steps[k - 1].s).map((p) => p.t));
  const last = Math.max(30, ...drops);
  const xMax = Math.min(Math.ceil((last * 1.15) / 5) * 5, 365);
  const yFormat = (v) => `${Math.round(v * 100)}%`;
  const yTicks = [0, 0.25, 0.5, 0.75, 1];
  const guides = [7, 14, 30].filter((days) => days <= xMax);
  const marks = [
    Plot.ruleX(guides, { className: "plot-guides" }),
    Plot.text(guides, { x: (d) => d, y: 1, text: (d) => `${d} d`, dx: 3, dy: 4, textAnchor: "start", lineAnchor: "top", className: "plot-guides" }),
  ];
  const series = [];
  for (const group of drawn) {
    const color = colorOf(group.key);
    const kind = stamp({ "data-kind": group.key });
    const points = [...group.steps].sort((a, b) => a.t - b.t);
    if (points[0]?.t !== 0) points.unshift({ t: 0, s: 1, low: 1, high: 1, atRisk: group.n });
    // Steps hold each value until the next time: the last one until the last window ends.
    const end = Math.min(Math.max(points.at(-1).t, ...group.censored, 0), xMax);
    const steps = end > points.at(-1).t ? [...points, { ...points.at(-1), t: end }] : points;
    const censored = group.censored.filter((days) => days <= xMax).map((days) => ({ t: days, s: (points.findLast((p) => p.t <= days) ?? points[0]).s }));
    marks.push(
      Plot.area(steps, { x1: "t", y1: (p) => p.low ?? p.s, y2: (p) => p.high ?? p.s, curve: "step-after", fill: color, className: "survival-band", render: kind }),
      Plot.line(steps, { x: "t", y: "s", curve: "step-after", stroke: color, className: "survival-line", render: kind }),
      Plot.dot(censored, { x: "t", y: "s", symbol: CENSOR_TICK, r: 4, fill: "none", stroke: color, className: "censor-tick", render: kind }),
    );
    series.push(
      points.map((p) => ({
        x: p.t,
        y: p.s,
        color,
        text:
          `${group.label}, day ${p.t}: ${percent(p.s)} of windows still holding` +
          `${p.low !== null && p.high !== null ? ` (95% CI ${percent(p.low)}–${percent(p.high)})` : ""}` +
          `${p.atRisk !== null && p.atRisk !== undefined ? `, ${p.atRisk} at risk` : ""}.`,
      })),
    );
  }
  const chart = Plot.plot({
    width,
    height,
    marginTop: MARGIN.top,
    marginRight: MARGIN.right,
    marginBottom: MARGIN.bottom,
    marginLeft: leftMargin(yTicks.map(yFormat)),
    x: { ...axis("days since the action", ticksUpTo(xMax)), domain: [0, xMax], clamp: true },
    y: { ...axis("windows still holding", yTicks, yFormat), domain: [0, 1], grid: true },
    marks,
  });
  finish(chart, { label: "Deterrence: share of windows without an answering attack, by days since the action" });
  // Each group's band, line and ticks in one group, as the stylesheet and the tests know them.
  for (const group of drawn) {
    wrap(
      [...chart.children].filter((node) => node.getAttribute("data-kind") === group.key),
      { class: "survival", "data-kind": group.key, "aria-hidden": "true" },
    );
  }
  const x = chart.scale("x");
  const y = chart.scale("y");
  cursor(chart, series, { x: (v) => x.apply(Math.min(v, xMax)), y: y.apply, live, top: y.apply(1), bottom: y.apply(0) });
  return chart;
}

/**
 * A lag histogram: confirmed links as filled bars, suggestions as outlined bars beside them, and the
 * shuffled-date baseline as a grey band (its 95% range per bin) with its mean as a dashed step. The
 * solid step is the pairing the shuffles redo (each answer's nearest earlier attack): where it rises
 * above the band, answers follow attacks more closely than chance would have them.
 */
export function lagPlot({ pair, width, height, live }) {
  const edges = new Map();
  const add = (bin, field, value) => {
    const key = `${bin.lo}`;
    if (!edges.has(key)) edges.set(key, { lo: bin.lo, hi: bin.hi, confirmed: 0, suggested: 0, low: null, high: null, mean: null, observed: null });
    edges.get(key)[field] = value;
  };
  for (const bin of pair.confirmed?.bins ?? []) add(bin, "confirmed", bin.count);
  for (const bin of pair.suggested?.bins ?? []) add(bin, "suggested", bin.count);
  for (const bin of pair.baseline?.observed ?? []) add(bin, "observed", bin.count);
  for (const bin of pair.baseline?.bins ?? []) {
    add(bin, "low", bin.low);
    add(bin, "high", bin.high);
    add(bin, "mean", bin.mean);
  }
  const bins = [...edges.values()].sort((a, b) => a.lo - b.lo);
  const xMax = Math.max(1, ...bins.map((b) => b.hi));
  const heights = bins.map((b) => Math.max(b.confirmed, b.suggested, b.high ?? 0, b.mean ?? 0, b.observed ?? 0)).sort((a, b) => b - a);
  const top = Math.max(1, heights[0] ?? 0);
  // One bin towering over the others would flatten them to nothing: then a log axis, in powers of ten.
  // It is symlog (log(1 + v)), so that an empty bin still sits on the baseline.
  const log = (heights[1] ?? 0) > 0 && top >= DWARFS * heights[1];
  const yMax = log ? 10 ** Math.ceil(Math.log10(top)) : top <= 4 ? top : niceCeil(top);
  const yTicks = log
    ? Array.from({ length: Math.log10(yMax) + 1 }, (_, k) => (k ? 10 ** k : 0)).filter((v, k, all) => all.length <= 7 || k % 2 === 0 || v === yMax)
    : [0, yMax / 2, yMax].filter((v, k, all) => Number.isInteger(v) && all.indexOf(v) === k);
  // Steps drawn as two points per bin (its two edges); a bin without the figure breaks the line.
  const stepsOf = (value) => bins.flatMap((b) => [b.lo, b.hi].map((x) => ({ x, ...value(b) })));
  const band = stepsOf((b) => ({ low: b.low, high: b.high })).filter((p) => p.low !== null && p.high !== null);
  const mean = stepsOf((b) => ({ y: b.mean }));
  const observed = stepsOf((b) => ({ y: b.observed }));
  const mid = (b) => (b.lo + b.hi) / 2;
  const chart = Plot.plot({
    width,
    height,
    marginTop: MARGIN.top,
    marginRight: MARGIN.right,
    marginBottom: MARGIN.bottom,
    marginLeft: leftMargin(yTicks.map(number)),
    x: { ...axis("days from the attack to the answer", ticksUpTo(xMax)), domain: [0, xMax] },
    y: { ...axis(log ? "links (log scale)" : "links", yTicks), type: log ? "symlog" : "linear", domain: [0, yMax], grid: true },
    marks: [
      band.length ? Plot.area(band, { x1: "x", y1: "low", y2: "high", className: "chance-band" }) : null,
      Plot.rect(
        bins.filter((b) => b.confirmed),
        { x1: "lo", x2: mid, y1: 0, y2: "confirmed", insetLeft: 1, className: "bar-confirmed" },
      ),
      Plot.rect(
        bins.filter((b) => b.suggested),
        { x1: mid, x2: "hi", y1: 0, y2: "suggested", insetRight: 1, className: "bar-suggested" },
      ),
      Plot.line(mean, { x: "x", y: "y", className: "chance-mean" }),
      Plot.line(observed, { x: "x", y: "y", className: "observed-line" }),
    ],
  });
  finish(chart, {
    label: `Response lags, ${pair.label}: links per lag in days, against chance${log ? " (logarithmic scale)" : ""}`,
    scale: log ? "log" : "linear",
  });
  // Both kinds of bar in one group, as the stylesheet and the tests know them (there even without bars).
  const barsAttributes = { class: "lag-bars", "aria-hidden": "true" };
  const bars = [...chart.querySelectorAll(":scope > .bar-confirmed, :scope > .bar-suggested")];
  if (!wrap(bars, barsAttributes, chart.querySelector(":scope > .chance-mean"))) chart.append(svg("g", barsAttributes));
  const chance = (b) =>
    b.low === null ? "" : `; observed pairing ${number(b.observed ?? 0)} against chance ${number(b.low)}–${number(b.high)}${b.mean !== null ? ` (mean ${number(b.mean)})` : ""}`;
  const x = chart.scale("x");
  const y = chart.scale("y");
  cursor(
    chart,
    [
      bins.map((b) => ({
        x: mid(b),
        y: Math.max(b.confirmed, b.suggested),
        text: `${b.hi - b.lo === 1 ? `${b.lo} days` : `${b.lo} to ${b.hi - 1} days`}: ${number(b.confirmed)} confirmed, ${number(b.suggested)} suggested${chance(b)}.`,
      })),
    ],
    { x: x.apply, y: y.apply, live, top: y.apply(yMax), bottom: y.apply(0) },
  );
  return chart;
}

const BELOW = [0, 114, 178]; // Okabe–Ito blue: fewer pairs than chance
const ABOVE = [213, 94, 0]; // Okabe–Ito vermilion: more

/** The colour of a ratio of observed to expected pairs: white at 1, deepest at 4× either way (log scale). */
export function ratioColor(ratio) {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return "#e4e7eb";
  const t = Math.max(-1, Math.min(1, Math.log2(Math.max(ratio, 1e-6)) / 2));
  const [r, g, b] = (t < 0 ? BELOW : ABOVE).map((c) => Math.round(255 + (c - 255) * Math.abs(t)));
  return `rgb(${r}, ${g}, ${b})`;
}

/** "2.4×", "0.5×", "12×": a ratio short enough for a cell. */
export function ratioText(ratio) {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return "–";
  return `${ratio >= 10 ? number(Math.round(ratio)) : ratio.toFixed(ratio < 0.95 ? 2 : 1)}×`;
}

function bands(cells, from, to) {
  const seen = new Map();
  for (const c of cells) seen.set(`${c[from]}–${c[to]}`, { from: c[from], to: c[to] });
  return [...seen.values()].sort((a, b) => a.from - b.from);
}

/**
 * The Knox table as a heat grid: a row per band of distance (nearest at the top) and a column per band
 * of days apart, each cell coloured by observed over expected pairs (ratioColor), with its ratio written
 * in it and, where p < 0.05, outlined and starred. Each cell's title (the tooltip) is `describe(cell)`.
 * The grid is one keyboard stop: the arrow keys move between cells, Home/End along a row, and the live
 * region reads the cell out.
 */
export function heatGrid({ cells, width, live, label, describe }) {
  const rows = bands(cells, "kmFrom", "kmTo");
  const columns = bands(cells, "daysFrom", "daysTo");
  const rowText = (b) => `${number(b.from)}–${number(b.to)} km`;
  const columnText = (b) => (b.from === b.to ? `${number(b.from)} d` : `${number(b.from)}–${number(b.to)} d`);
  // Cells sit on band scales of the rows' and columns' positions, labelled with their bands.
  const rowOf = (c) => rows.findIndex((b) => b.from === c.kmFrom && b.to === c.kmTo);
  const columnOf = (c) => columns.findIndex((b) => b.from === c.daysFrom && b.to === c.daysTo);
  const left = leftMargin(rows.map(rowText), 12);
  const top = 40;
  const cellWidth = Math.max((width - left - MARGIN.right) / Math.max(columns.length, 1), 36);
  const cellHeight = Math.max(26, Math.min(40, cellWidth * 0.55));
  const significant = (c) => c.p !== null && c.p < 0.05;
  const strong = (c) => c.ratio !== null && Math.abs(Math.log2(Math.max(c.ratio, 1e-6))) > 1.2;
  const where = (c) => ({ "data-km": `${c.kmFrom}-${c.kmTo}`, "data-days": `${c.daysFrom}-${c.daysTo}` });
  const chart = Plot.plot({
    width: left + columns.length * cellWidth + MARGIN.right,
    height: top + rows.length * cellHeight + 6,
    marginTop: top,
    marginRight: MARGIN.right,
    marginBottom: 6,
    marginLeft: left,
    x: { type: "band", domain: columns.map((_, k) => k), padding: 0, axis: "top", tickSize: 0, tickFormat: (k) => columnText(columns[k]), label: "days apart", labelAnchor: "center", labelArrow: "none" },
    y: { type: "band", domain: rows.map((_, k) => k), padding: 0, tickSize: 0, tickFormat: (k) => rowText(rows[k]), label: "distance apart", labelAnchor: "center", labelArrow: "none" },
    color: { type: "identity" },
    marks: [
      Plot.cell(cells, {
        x: columnOf,
        y: rowOf,
        fill: (c) => ratioColor(c.ratio),
        title: describe,
        inset: 1,
        rx: 2,
        className: "knox-cells",
        render: stampEach(cells, (c) => ({ ...where(c), class: ["knox-cell", significant(c) && "is-significant", c.insufficient && "is-insufficient"].filter(Boolean).join(" ") })),
      }),
      Plot.text(cells, {
        x: columnOf,
        y: rowOf,
        text: (c) => (c.insufficient ? "·" : `${ratioText(c.ratio)}${significant(c) ? "*" : ""}`),
        className: "knox-ratios",
        render: stampEach(cells, (c) => ({ ...where(c), class: ["knox-ratio", strong(c) && "on-dark", significant(c) && "is-significant"].filter(Boolean).join(" ") })),
      }),
    ],
  });
  // The cells keep their tooltips for assistive technology, as before; the rest is hidden.
  finish(chart, { label, roleDescription: "heat grid", keep: chart.querySelector(":scope > .knox-cells") });
  chart.classList.add("heat-grid");
  const x = chart.scale("x");
  const y = chart.scale("y");
  // The keyboard cursor: an outline on the cell, read out.
  const outline = svg("rect", { class: "plot-cursor-cell", width: x.bandwidth, height: y.bandwidth, visibility: "hidden", "aria-hidden": "true" });
  chart.append(outline);
  const at = (row, column) => cells.find((c) => rowOf(c) === row && columnOf(c) === column);
  let row = 0;
  let column = 0;
  function show() {
    const cell = at(row, column);
    if (!cell) return;
    outline.setAttribute("x", x.apply(column));
    outline.setAttribute("y", y.apply(row));
    outline.setAttribute("visibility", "visible");
    live.textContent = describe(cell);
    chart.dataset.cursor = `${row}:${column}`;
  }
  chart.addEventListener("focus", show);
  chart.addEventListener("blur", () => outline.setAttribute("visibility", "hidden"));
  chart.addEventListener("keydown", (event) => {
    const moves = {
      ArrowRight: [0, 1],
      ArrowLeft: [0, -1],
      ArrowDown: [1, 0],
      ArrowUp: [-1, 0],
      Home: [0, -columns.length],
      End: [0, columns.length],
    };
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    row = Math.max(0, Math.min(rows.length - 1, row + move[0]));
    column = Math.max(0, Math.min(columns.length - 1, column + move[1]));
    show();
  });
  return chart;
}

/** The key of a plot: swatches with their names, as a list. */
export function plotKey(items) {
  return el(
    "ul",
    { class: "plot-key" },
    items.map((item) => el("li", {}, el("span", { class: `key-swatch ${item.class ?? ""}`, style: item.color ? { background: item.color } : null, "aria-hidden": "true" }), item.label)),
  );
}
