// The analytics view's two plots, in SVG like the timeline and the troop chart: Kaplan–Meier survival
// steps, and a lag histogram over the band of what chance gives. Each plot is one focusable element:
// the arrow keys move a cursor along it (Left/Right: along the axis, Shift: farther; Up/Down: to the
// next series) and a live region reads out the value under it. The full figures are also in a table
// next to each plot (analytics.js).

import { el, svg } from "./dom.js";
import { number } from "./format.js";

const MARGIN = { top: 14, right: 14, bottom: 34, left: 44 };
// Roughly how wide a character of the axis labels is (11px, tabular figures), and where the y axis's
// title (rotated, at x = 10) ends: the labels start to the right of it, whatever their length.
const CHAR_PX = 6.6;
const TITLE_PX = 20;
// One bar dwarfs the rest when it is this many times the next tallest: the y axis is then logarithmic.
const DWARFS = 10;

function percent(share) {
  return share === null || share === undefined ? "?" : `${Math.round(share * 100)}%`;
}

function frame({ width, height, label, xMax, yMax, xTicks, yTicks, xLabel, yLabel, yFormat, log = false }) {
  const left = Math.max(MARGIN.left, TITLE_PX + 10 + Math.max(...yTicks.map((v) => yFormat(v).length)) * CHAR_PX);
  const inner = { w: width - left - MARGIN.right, h: height - MARGIN.top - MARGIN.bottom };
  const x = (v) => left + (Math.min(v, xMax) / xMax) * inner.w;
  // A log axis counts from 0 as log(1 + v), so that an empty bin still sits on the baseline.
  const y = log
    ? (v) => MARGIN.top + inner.h - (Math.log10(1 + Math.max(v, 0)) / Math.log10(1 + yMax)) * inner.h
    : (v) => MARGIN.top + inner.h - (v / yMax) * inner.h;
  const root = svg("svg", {
    class: "plot-svg",
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "group",
    tabindex: "0",
    "aria-roledescription": "plot",
    "aria-label": label,
    "data-scale": log ? "log" : "linear",
  });
  const axes = svg("g", { class: "grid", "aria-hidden": "true" });
  for (const value of yTicks) {
    axes.append(
      svg("line", { x1: left, x2: width - MARGIN.right, y1: y(value), y2: y(value) }),
      svg("text", { class: "tick-label y-tick", x: left - 6, y: y(value) + 4, "text-anchor": "end", text: yFormat(value) }),
    );
  }
  const xAxis = svg("g", { class: "axis", "aria-hidden": "true" });
  for (const value of xTicks) {
    xAxis.append(
      svg("line", { x1: x(value), x2: x(value), y1: y(0), y2: y(0) + 4 }),
      svg("text", { class: "tick-label x-tick", x: x(value), y: y(0) + 16, "text-anchor": "middle", text: number(value) }),
    );
  }
  xAxis.append(
    svg("line", { class: "baseline", x1: left, x2: width - MARGIN.right, y1: y(0), y2: y(0) }),
    svg("text", { class: "axis-title", x: left + inner.w / 2, y: height - 4, "text-anchor": "middle", text: xLabel }),
    svg("text", { class: "axis-title", x: 10, y: MARGIN.top + inner.h / 2, "text-anchor": "middle", transform: `rotate(-90 10 ${MARGIN.top + inner.h / 2})`, text: yLabel }),
  );
  root.append(axes, xAxis);
  return { root, x, y, inner };
}

/** 5, 10, 20, 25, 50, 100, 200, 250, 500…: the nearest round number at or above n. */
function niceCeil(n) {
  const magnitude = 10 ** Math.floor(Math.log10(n));
  return ([1, 2, 2.5, 5, 10].find((step) => step * magnitude >= n) ?? 10) * magnitude;
}

function ticksUpTo(max, count = 6) {
  const step = [1, 2, 5, 7, 10, 14, 20, 30, 50, 60, 90, 100, 180, 365].find((s) => max / s <= count) ?? Math.ceil(max / count);
  const out = [];
  for (let v = 0; v <= max; v += step) out.push(v);
  return out;
}

/**
 * The keyboard cursor: `series` is a list of lists of points {x, y, text}; the cursor starts on the
 * first point of the first series. `live` is the element that announces the point.
 */
function cursor(root, series, { x, y, live, top, bottom }) {
  const line = svg("line", { class: "plot-cursor", y1: top, y2: bottom, "aria-hidden": "true" });
  const dot = svg("circle", { class: "plot-cursor-dot", r: 4, "aria-hidden": "true" });
  const group = svg("g", { class: "plot-cursor-group", visibility: "hidden" }, line, dot);
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
  const { root, x, y } = frame({
    width,
    height,
    label: "Deterrence: share of windows without an answering attack, by days since the action",
    xMax,
    yMax: 1,
    xTicks: ticksUpTo(xMax),
    yTicks: [0, 0.25, 0.5, 0.75, 1],
    xLabel: "days since the action",
    yLabel: "windows still holding",
    yFormat: (v) => `${Math.round(v * 100)}%`,
  });
  const guides = svg("g", { class: "plot-guides", "aria-hidden": "true" });
  for (const days of [7, 14, 30]) {
    if (days > xMax) continue;
    guides.append(svg("line", { x1: x(days), x2: x(days), y1: y(1), y2: y(0) }), svg("text", { x: x(days) + 3, y: y(1) + 10, text: `${days} d` }));
  }
  root.append(guides);
  const series = [];
  for (const group of drawn) {
    const color = colorOf(group.key);
    // Steps: hold each value until the next time, then drop.
    const points = [...group.steps].sort((a, b) => a.t - b.t);
    if (points[0]?.t !== 0) points.unshift({ t: 0, s: 1, low: 1, high: 1, atRisk: group.n });
    const end = Math.min(Math.max(points.at(-1).t, ...group.censored, 0), xMax);
    let line = "";
    let upper = "";
    let lower = "";
    points.forEach((p, k) => {
      const next = k + 1 < points.length ? points[k + 1].t : end;
      line += `${k ? "L" : "M"}${x(p.t)},${y(p.s)}H${x(next)}`;
      upper += `${k ? "L" : "M"}${x(p.t)},${y(p.high ?? p.s)}H${x(next)}`;
      lower = `L${x(next)},${y(p.low ?? p.s)}H${x(p.t)}${lower}`;
    });
    const g = svg(
      "g",
      { class: "survival", "data-kind": group.key, "aria-hidden": "true" },
      svg("path", { class: "survival-band", d: `${upper}${lower}Z`, fill: color }),
      svg("path", { class: "survival-line", d: line, stroke: color }),
    );
    for (const days of group.censored) {
      if (days > xMax) continue;
      const at = points.findLast((p) => p.t <= days) ?? points[0];
      g.append(svg("line", { class: "censor-tick", x1: x(days), x2: x(days), y1: y(at.s) - 4, y2: y(at.s) + 4, stroke: color }));
    }
    root.append(g);
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
  cursor(root, series, { x, y, live, top: y(1), bottom: y(0) });
  return root;
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
  const log = (heights[1] ?? 0) > 0 && top >= DWARFS * heights[1];
  const yMax = log ? 10 ** Math.ceil(Math.log10(top)) : top <= 4 ? top : niceCeil(top);
  const yTicks = log
    ? Array.from({ length: Math.log10(yMax) + 1 }, (_, k) => (k ? 10 ** k : 0)).filter((v, k, all) => all.length <= 7 || k % 2 === 0 || v === yMax)
    : [0, yMax / 2, yMax].filter((v, k, all) => Number.isInteger(v) && all.indexOf(v) === k);
  const { root, x, y } = frame({
    width,
    height,
    label: `Response lags, ${pair.label}: links per lag in days, against chance${log ? " (logarithmic scale)" : ""}`,
    xMax,
    yMax,
    xTicks: ticksUpTo(xMax),
    yTicks,
    xLabel: "days from the attack to the answer",
    yLabel: log ? "links (log scale)" : "links",
    yFormat: number,
    log,
  });
  let band = "";
  let bandBack = "";
  let mean = "";
  for (const [k, b] of bins.entries()) {
    if (b.low === null || b.high === null) continue;
    band += `${band ? "L" : "M"}${x(b.lo)},${y(b.high)}H${x(b.hi)}`;
    bandBack = `L${x(b.hi)},${y(b.low)}H${x(b.lo)}${bandBack}`;
    if (b.mean !== null) mean += `${mean && bins[k - 1]?.mean !== null ? "L" : "M"}${x(b.lo)},${y(b.mean)}H${x(b.hi)}`;
  }
  if (band) root.append(svg("path", { class: "chance-band", d: `${band}${bandBack}Z`, "aria-hidden": "true" }));
  const bars = svg("g", { class: "lag-bars", "aria-hidden": "true" });
  for (const b of bins) {
    const w = x(b.hi) - x(b.lo);
    const gap = w > 6 ? 1 : 0;
    const half = (w - 2 * gap) / 2;
    if (b.confirmed) bars.append(svg("rect", { class: "bar-confirmed", x: x(b.lo) + gap, width: Math.max(half, 1), y: y(b.confirmed), height: y(0) - y(b.confirmed) }));
    if (b.suggested) bars.append(svg("rect", { class: "bar-suggested", x: x(b.lo) + gap + half, width: Math.max(half, 1), y: y(b.suggested), height: y(0) - y(b.suggested) }));
  }
  root.append(bars);
  if (mean) root.append(svg("path", { class: "chance-mean", d: mean, "aria-hidden": "true" }));
  let observed = "";
  for (const b of bins) if (b.observed !== null) observed += `${observed ? "L" : "M"}${x(b.lo)},${y(b.observed)}H${x(b.hi)}`;
  if (observed) root.append(svg("path", { class: "observed-line", d: observed, "aria-hidden": "true" }));
  const chance = (b) =>
    b.low === null ? "" : `; observed pairing ${number(b.observed ?? 0)} against chance ${number(b.low)}–${number(b.high)}${b.mean !== null ? ` (mean ${number(b.mean)})` : ""}`;
  cursor(
    root,
    [
      bins.map((b) => ({
        x: (b.lo + b.hi) / 2,
        y: Math.max(b.confirmed, b.suggested),
        text: `${b.hi - b.lo === 1 ? `${b.lo} days` : `${b.lo} to ${b.hi - 1} days`}: ${number(b.confirmed)} confirmed, ${number(b.suggested)} suggested${chance(b)}.`,
      })),
    ],
    { x, y, live, top: y(yMax), bottom: y(0) },
  );
  return root;
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
  const left = TITLE_PX + 12 + Math.max(...rows.map((b) => rowText(b).length)) * CHAR_PX;
  const top = 40;
  const cellWidth = Math.max((width - left - MARGIN.right) / Math.max(columns.length, 1), 36);
  const cellHeight = Math.max(26, Math.min(40, cellWidth * 0.55));
  const height = top + rows.length * cellHeight + 6;
  const root = svg("svg", {
    class: "plot-svg heat-grid",
    width: left + columns.length * cellWidth + MARGIN.right,
    height,
    viewBox: `0 0 ${left + columns.length * cellWidth + MARGIN.right} ${height}`,
    role: "group",
    tabindex: "0",
    "aria-roledescription": "heat grid",
    "aria-label": label,
  });
  const axes = svg("g", { class: "axis", "aria-hidden": "true" });
  columns.forEach((b, k) =>
    axes.append(svg("text", { class: "tick-label", x: left + (k + 0.5) * cellWidth, y: top - 6, "text-anchor": "middle", text: columnText(b) })),
  );
  rows.forEach((b, k) =>
    axes.append(svg("text", { class: "tick-label", x: left - 6, y: top + (k + 0.5) * cellHeight + 4, "text-anchor": "end", text: rowText(b) })),
  );
  axes.append(
    svg("text", { class: "axis-title", x: left + (columns.length * cellWidth) / 2, y: 12, "text-anchor": "middle", text: "days apart" }),
    svg("text", {
      class: "axis-title",
      x: 10,
      y: top + (rows.length * cellHeight) / 2,
      "text-anchor": "middle",
      transform: `rotate(-90 10 ${top + (rows.length * cellHeight) / 2})`,
      text: "distance apart",
    }),
  );
  root.append(axes);
  const at = (row, column) => cells.find((c) => c.kmFrom === rows[row].from && c.kmTo === rows[row].to && c.daysFrom === columns[column].from && c.daysTo === columns[column].to);
  const grid = svg("g", { class: "knox-cells" });
  rows.forEach((_, r) =>
    columns.forEach((_, k) => {
      const cell = at(r, k);
      if (!cell) return;
      const significant = cell.p !== null && cell.p < 0.05;
      const fill = ratioColor(cell.ratio);
      const strong = cell.ratio !== null && Math.abs(Math.log2(Math.max(cell.ratio, 1e-6))) > 1.2;
      grid.append(
        svg(
          "g",
          {
            class: ["knox-cell", significant && "is-significant", cell.insufficient && "is-insufficient"],
            "data-km": `${cell.kmFrom}-${cell.kmTo}`,
            "data-days": `${cell.daysFrom}-${cell.daysTo}`,
          },
          svg("rect", { x: left + k * cellWidth + 1, y: top + r * cellHeight + 1, width: cellWidth - 2, height: cellHeight - 2, rx: 2, fill }),
          svg("text", {
            class: strong ? "knox-ratio on-dark" : "knox-ratio",
            x: left + (k + 0.5) * cellWidth,
            y: top + (r + 0.5) * cellHeight + 4,
            "text-anchor": "middle",
            "aria-hidden": "true",
            text: cell.insufficient ? "·" : `${ratioText(cell.ratio)}${significant ? "*" : ""}`,
          }),
          svg("title", { text: describe(cell) }),
        ),
      );
    }),
  );
  root.append(grid);
  // The keyboard cursor: an outline on the cell, read out.
  const outline = svg("rect", { class: "plot-cursor-cell", width: cellWidth, height: cellHeight, visibility: "hidden", "aria-hidden": "true" });
  root.append(outline);
  let row = 0;
  let column = 0;
  function show() {
    const cell = at(row, column);
    if (!cell) return;
    outline.setAttribute("x", left + column * cellWidth);
    outline.setAttribute("y", top + row * cellHeight);
    outline.setAttribute("visibility", "visible");
    live.textContent = describe(cell);
    root.dataset.cursor = `${row}:${column}`;
  }
  root.addEventListener("focus", show);
  root.addEventListener("blur", () => outline.setAttribute("visibility", "hidden"));
  root.addEventListener("keydown", (event) => {
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
  return root;
}

/** The key of a plot: swatches with their names, as a list. */
export function plotKey(items) {
  return el(
    "ul",
    { class: "plot-key" },
    items.map((item) => el("li", {}, el("span", { class: `key-swatch ${item.class ?? ""}`, style: item.color ? { background: item.color } : null, "aria-hidden": "true" }), item.label)),
  );
}
