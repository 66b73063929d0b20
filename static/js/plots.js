// The analytics view's two plots, in SVG like the timeline and the troop chart: Kaplan–Meier survival
// steps, and a lag histogram over the band of what chance gives. Each plot is one focusable element:
// the arrow keys move a cursor along it (Left/Right: along the axis, Shift: farther; Up/Down: to the
// next series) and a live region reads out the value under it. The full figures are also in a table
// next to each plot (analytics.js).

import { el, svg } from "./dom.js";

const MARGIN = { top: 14, right: 14, bottom: 34, left: 44 };

function percent(share) {
  return share === null || share === undefined ? "?" : `${Math.round(share * 100)}%`;
}

function frame({ width, height, label, xMax, yMax, xTicks, yTicks, xLabel, yLabel, yFormat }) {
  const inner = { w: width - MARGIN.left - MARGIN.right, h: height - MARGIN.top - MARGIN.bottom };
  const x = (v) => MARGIN.left + (Math.min(v, xMax) / xMax) * inner.w;
  const y = (v) => MARGIN.top + inner.h - (v / yMax) * inner.h;
  const root = svg("svg", {
    class: "plot-svg",
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "group",
    tabindex: "0",
    "aria-roledescription": "plot",
    "aria-label": label,
  });
  const axes = svg("g", { class: "grid", "aria-hidden": "true" });
  for (const value of yTicks) {
    axes.append(
      svg("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: y(value), y2: y(value) }),
      svg("text", { x: MARGIN.left - 6, y: y(value) + 4, "text-anchor": "end", text: yFormat(value) }),
    );
  }
  const xAxis = svg("g", { class: "axis", "aria-hidden": "true" });
  for (const value of xTicks) {
    xAxis.append(
      svg("line", { x1: x(value), x2: x(value), y1: y(0), y2: y(0) + 4 }),
      svg("text", { x: x(value), y: y(0) + 16, "text-anchor": "middle", text: String(value) }),
    );
  }
  xAxis.append(
    svg("line", { class: "baseline", x1: MARGIN.left, x2: width - MARGIN.right, y1: y(0), y2: y(0) }),
    svg("text", { class: "axis-title", x: MARGIN.left + inner.w / 2, y: height - 4, "text-anchor": "middle", text: xLabel }),
    svg("text", { class: "axis-title", x: 10, y: MARGIN.top + inner.h / 2, "text-anchor": "middle", transform: `rotate(-90 10 ${MARGIN.top + inner.h / 2})`, text: yLabel }),
  );
  root.append(axes, xAxis);
  return { root, x, y, inner };
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
  const top = Math.max(1, ...bins.map((b) => Math.max(b.confirmed, b.suggested, b.high ?? 0, b.mean ?? 0, b.observed ?? 0)));
  const yMax = top <= 4 ? top : Math.ceil(top / 5) * 5;
  const { root, x, y } = frame({
    width,
    height,
    label: `Response lags, ${pair.label}: links per lag in days, against chance`,
    xMax,
    yMax,
    xTicks: ticksUpTo(xMax),
    yTicks: [0, yMax / 2, yMax].filter((v, k, all) => Number.isInteger(v) && all.indexOf(v) === k),
    xLabel: "days from the attack to the answer",
    yLabel: "links",
    yFormat: (v) => String(v),
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
    b.low === null ? "" : `; observed pairing ${b.observed ?? 0} against chance ${b.low}–${b.high}${b.mean !== null ? ` (mean ${b.mean})` : ""}`;
  cursor(
    root,
    [
      bins.map((b) => ({
        x: (b.lo + b.hi) / 2,
        y: Math.max(b.confirmed, b.suggested),
        text: `${b.hi - b.lo === 1 ? `${b.lo} days` : `${b.lo} to ${b.hi - 1} days`}: ${b.confirmed} confirmed, ${b.suggested} suggested${chance(b)}.`,
      })),
    ],
    { x, y, live, top: y(yMax), bottom: y(0) },
  );
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
