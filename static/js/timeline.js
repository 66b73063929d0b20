// The timeline: a histogram of incidents per bucket, stacked by kind, from /api/v1/timeline/ (computed
// in the database), with a range that sets `start`/`end`. The histogram is a detail over the chosen
// range (all dates when none is chosen) above an overview strip of the whole span, which carries the
// range's brush: drag it (its edges, its middle, or a new range), or use its two edges as keyboard
// sliders. Dragging across the detail, or clicking a bar, chooses a range inside it (zooming in).
// Escalation links in view are drawn as arcs above the bars. createTimelinePane adds its loading: the
// whole span for the filters, and the range's detail, each with a bucket (day, week, month) that suits
// its length.

import Plot from "@observablehq/plot";
import { clear, el, svg } from "./dom.js";
import { addDays, addMonths, daysBetween, isoDay, longDay, monthLabel, number, parseDay, plural, shortDay, startOfMonth } from "./format.js";
import { renderKindKey } from "./legend.js";
import { axisGroups, nested, niceCeil, stampEach } from "./plots.js";
import { apiParams } from "./state.js";

const DAY = 86400000;
const MARGIN = { top: 28, right: 12, bottom: 22, left: 38 };
// Under the detail's axis: the overview strip, its years written inside it.
const OVERVIEW = { height: 20, below: 3 };
const BUCKET_DAYS = { day: 1, week: 7 };
const BUCKET_NAMES = { day: "day", week: "week", month: "month" };
// Roughly how wide a digit or a comma of the axis labels is (11px, tabular figures).
const DIGIT_PX = 6.6;
const LABEL_PX = 7.5; // a character of an x-axis label at most (the years are bold)

function bucketEnd(startMs, bucket) {
  return bucket === "month" ? addMonths(startMs, 1) : addDays(startMs, BUCKET_DAYS[bucket] ?? 7);
}

/** The bucket that suits a span of so many days: days for a few months, months beyond eight years. */
export function bucketFor(days) {
  return days <= 120 ? "day" : days > 8 * 365 ? "month" : "week";
}

/** The y axis's top: the count itself up to 4 (at least 1), then a round number at or above it. */
function niceMax(n) {
  return n <= 4 ? Math.max(n, 1) : niceCeil(n);
}

function toBuckets(response) {
  return {
    bucket: response.bucket,
    buckets: (response.buckets ?? []).map((b) => {
      const startMs = parseDay(b.start);
      return { startMs, endMs: bucketEnd(startMs, response.bucket), counts: b.counts ?? {}, total: b.total ?? 0 };
    }),
  };
}

export function createTimeline({ container, caption, clearButton, palette, onRange, onPickIncident }) {
  let data = null; // the whole span: {bucket, buckets: [{startMs, endMs, counts, total}]}
  let detail = null; // the chosen range at a finer bucket, or null: the whole span's buckets serve
  let range = null; // [startMs, endMs] inclusive days, or null for everything
  let draft = null; // range while dragging / typing
  let links = []; // [{priorDay, incidentDay, label, category, priorId, incidentId}]
  let suggested = []; // the same, for suggested links: drawn dashed
  let surges = []; // [{startMs, endMs, scope, count, mean}]: shaded behind the bars
  let message = "";
  let width = 0;
  let height = 0;
  let left = MARGIN.left;

  const root = svg("svg", { class: "timeline-svg", role: "group", "aria-label": "Incident histogram and date range" });
  const status = el("p", { class: "timeline-status", role: "status" });
  container.append(root, status);

  /** The whole span: the data's extent, and the range (or the draft) where it reaches beyond. */
  function wholeDomain() {
    let lo = Infinity;
    let hi = -Infinity;
    if (data?.buckets.length) {
      lo = data.buckets[0].startMs;
      hi = data.buckets[data.buckets.length - 1].endMs;
    }
    for (const r of [range, draft]) {
      if (!r) continue;
      lo = Math.min(lo, r[0]);
      hi = Math.max(hi, r[1] + DAY);
    }
    if (!Number.isFinite(lo)) {
      const now = Date.now();
      hi = now - (now % DAY) + DAY;
      lo = addMonths(hi, -12);
    }
    if (hi - lo < 7 * DAY) hi = lo + 7 * DAY;
    return [lo, hi];
  }

  /** The detail: the chosen range, edge to edge, or the whole span when there is none. */
  function detailDomain() {
    return range ? [range[0], range[1] + DAY] : wholeDomain();
  }

  function scaleFor([lo, hi]) {
    const inner = Math.max(width - left - MARGIN.right, 10);
    const x = (ms) => left + ((ms - lo) / (hi - lo)) * inner;
    const invert = (px) => lo + ((px - left) / inner) * (hi - lo);
    return { lo, hi, x, invert, inner };
  }

  function layout() {
    const overviewBottom = height - OVERVIEW.below;
    const overviewTop = overviewBottom - OVERVIEW.height;
    return { top: MARGIN.top, bottom: overviewTop - MARGIN.bottom, overviewTop, overviewBottom };
  }

  function snapDay(ms) {
    return Math.floor(ms / DAY) * DAY;
  }

  /** Axis ticks: days (a few months at most), months, or years, as many as fit in `pixels`. */
  function ticks(lo, hi, pixels, spacing = 70) {
    const fit = Math.max(pixels / spacing, 1);
    if (hi - lo <= 100 * DAY) {
      const step = [1, 2, 7, 14].find((s) => (hi - lo) / (s * DAY) <= fit) ?? 28;
      const out = [];
      for (let t = Math.ceil(lo / DAY) * DAY; t <= hi; t += DAY) {
        const d = new Date(t);
        if (step >= 7 ? d.getUTCDay() === 1 && Math.round((t - lo) / DAY) % step < 7 : Math.round(t / DAY) % step === 0) out.push(t);
      }
      return { values: out, days: true, yearly: false };
    }
    const months = (hi - lo) / (30.4 * DAY);
    const perTick = Math.max(1, Math.ceil(months / fit));
    const step = [1, 2, 3, 6, 12, 24, 60].find((s) => s >= perTick) ?? 120;
    const out = [];
    let t = startOfMonth(lo);
    if (t < lo) t = addMonths(t, 1);
    while (t <= hi) {
      const d = new Date(t);
      if ((d.getUTCFullYear() * 12 + d.getUTCMonth()) % step === 0) out.push(t);
      t = addMonths(t, 1);
    }
    return { values: out, days: false, yearly: step >= 12 };
  }

  const detailBuckets = () => (detail ?? data)?.buckets ?? [];
  const detailBucketName = () => (detail ?? data)?.bucket ?? "week";

  // ----- drawing --------------------------------------------------------------------------------
  let brushGroup = null;

  function render() {
    width = container.clientWidth;
    height = Math.max(container.clientHeight - status.offsetHeight, 120);
    clear(root);
    root.setAttribute("width", String(width));
    root.setAttribute("height", String(height));
    root.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const { top, bottom, overviewTop, overviewBottom } = layout();
    const [lo, hi] = detailDomain();
    const shown = detailBuckets().filter((b) => b.endMs > lo && b.startMs < hi);

    // Y axis and grid, over the buckets in the detail; the left margin fits the widest label.
    const maxTotal = niceMax(Math.max(0, ...shown.map((b) => b.total)));
    const yValues = [0, maxTotal / 2, maxTotal].filter((v) => v === Math.round(v) || maxTotal >= 4);
    left = Math.max(MARGIN.left, 12 + Math.max(...yValues.map((v) => number(v).length)) * DIGIT_PX);
    // The same mapping as Plot's x scale below (domain [lo, hi], range [left, width - right]): the
    // arcs, the brush and the pointer use it.
    const { x } = scaleFor([lo, hi]);
    root.dataset.detailStart = isoDay(lo);
    root.dataset.detailEnd = isoDay(hi - DAY);
    root.dataset.bucket = detailBucketName();

    // X axis: days, months or years, the years in bold.
    const { values: candidates, days, yearly } = ticks(lo, hi, width - left - MARGIN.right);
    const isNewYear = (t) => new Date(t).getUTCMonth() === 0 && (!days || new Date(t).getUTCDate() === 1);
    const tickLabel = (t) => {
      const year = String(new Date(t).getUTCFullYear());
      if (days) return isNewYear(t) ? year : shortDay(+t);
      return yearly || isNewYear(t) ? year : monthLabel(+t, false);
    };
    // A tick whose centred label would be cut by the pane's edge is left out; its neighbours still place it.
    const values = candidates.filter((t) => {
      const half = (tickLabel(t).length * LABEL_PX) / 2;
      return x(t) - half >= 0 && x(t) + half <= width;
    });

    // Surge weeks behind the bars, and a mark under the axis for each (several scopes may share a week).
    const weeks = new Map();
    for (const surge of surges) {
      if (surge.endMs < lo || surge.startMs > hi) continue;
      if (!weeks.has(surge.startMs)) weeks.set(surge.startMs, { ...surge, scopes: [] });
      weeks.get(surge.startMs).scopes.push(`${surge.scope} ${surge.count}`);
    }
    const surgeWeeks = [...weeks.values()];
    const surgeTitle = (week) => `Surge, week of ${longDay(week.startMs)}: ${week.scopes.join(", ")}`;

    // Bars, stacked by kind in the palette's order (categories stay together): a segment per kind.
    const bucketName = detailBucketName();
    const segments = [];
    const titles = new Map();
    for (const b of shown) {
      let acc = 0;
      const parts = [];
      for (const kind of palette.kinds) {
        const n = b.counts[kind.code] ?? 0;
        if (!n) continue;
        segments.push({ bucket: b, y1: acc, y2: acc + n, color: kind.color });
        acc += n;
        parts.push(`${kind.label} ${number(n)}`);
      }
      titles.set(
        b,
        `${bucketName === "month" ? monthLabel(b.startMs) : `${BUCKET_NAMES[bucketName] === "day" ? "" : "Week of "}${longDay(b.startMs)}`}: ` +
          `${plural(b.total, "incident")}${parts.length ? ` (${parts.join(", ")})` : ""}`,
      );
    }
    // A pixel between bars wide enough to spare one.
    const gap = shown.length && Math.min(...shown.map((b) => x(b.endMs) - x(b.startMs))) > 4 ? 1 : 0;
    // Each bucket's segments in one group with the bucket's title, as the stylesheet (hover) and the tests know them.
    const byBucket = (index, scales, values, dimensions, context, next) => {
      const g = next(index, scales, values, dimensions, context);
      const groups = new Map();
      [...g.children].forEach((rect, k) => {
        const { bucket } = segments[index[k]];
        if (!groups.has(bucket)) groups.set(bucket, g.appendChild(svg("g", { class: "bucket" })));
        groups.get(bucket).append(rect);
      });
      for (const [bucket, group] of groups) group.append(svg("title", { text: titles.get(bucket) }));
      return g;
    };

    // Plot draws the detail; the x scale clamps, so that a bucket or a week that starts before the range
    // stops at the plot's edge rather than spilling into the margin.
    const chart = Plot.plot({
      className: "timeline-plot",
      width: left + scaleFor([lo, hi]).inner + MARGIN.right,
      height: overviewTop,
      marginTop: top,
      marginRight: MARGIN.right,
      marginBottom: overviewTop - bottom,
      marginLeft: left,
      x: { type: "utc", domain: [new Date(lo), new Date(hi)], clamp: true, ticks: values.map((t) => new Date(t)), tickFormat: tickLabel, tickSize: 4, label: null },
      y: { domain: [0, maxTotal], ticks: yValues, tickFormat: number, tickSize: 0, label: null },
      // The bars' fills are the palette's colours themselves.
      color: { type: "identity" },
      marks: [
        Plot.ruleY(yValues, { className: "grid-lines" }),
        Plot.rect(surgeWeeks, {
          x1: "startMs",
          x2: "endMs",
          title: surgeTitle,
          ariaLabel: "surge weeks",
          render: stampEach(surgeWeeks, (week) => ({ class: "surge surge-band", "data-week": isoDay(week.startMs) })),
        }),
        // Under the axis: y1 = y2 = 0, inset to the 3 pixels below it.
        Plot.rect(surgeWeeks, { x1: "startMs", x2: "endMs", y1: 0, y2: 0, insetTop: 1, insetBottom: -4, title: surgeTitle, ariaHidden: true, render: stampEach(surgeWeeks, () => ({ class: "surge-mark" })) }),
        Plot.rect(segments, {
          x1: (s) => s.bucket.startMs,
          x2: (s) => s.bucket.endMs,
          y1: "y1",
          y2: "y2",
          fill: "color",
          insetRight: gap,
          className: "bars",
          ariaLabel: `incidents per ${bucketName}`,
          render: byBucket,
        }),
        Plot.ruleY([0], { className: "baseline" }),
      ],
    });
    // The axes in the groups the stylesheet knows (.grid, .axis with its .baseline), and hidden from
    // assistive technology: the root's label and the sliders speak for the plot.
    axisGroups(chart);
    for (const text of chart.querySelectorAll('.axis [aria-label="x-axis tick label"] text')) if (/^\d{4}$/.test(text.textContent)) text.classList.add("year");
    // Not an image of its own inside the root's group: its bars (with their titles) are the root's.
    chart.setAttribute("role", "none");
    root.append(nested(chart));

    // Chain arcs above the bars.
    const arcs = svg("g", { class: "chain-arcs" });
    for (const link of [...suggested, ...links]) {
      if (link.priorDay < lo || link.incidentDay >= hi) continue;
      const x1 = x(link.priorDay + DAY / 2);
      const x2 = x(link.incidentDay + DAY / 2);
      const span = Math.abs(x2 - x1);
      const lift = Math.min(4 + span * 0.5, MARGIN.top - 6);
      const base = MARGIN.top - 1;
      const color = palette.category(link.category);
      const path = svg("path", {
        d: `M${x1},${base} Q${(x1 + x2) / 2},${base - lift * 2} ${x2},${base}`,
        stroke: color,
        class: link.suggested ? "arc is-suggested" : "arc",
      });
      const group = svg("g", { class: link.suggested ? "arc-group suggested" : "arc-group" }, path, svg("circle", { cx: x2, cy: base, r: 2.4, fill: color }), svg("title", { text: link.label }));
      group.addEventListener("click", () => onPickIncident?.(link.incidentId));
      arcs.append(group);
    }
    root.append(arcs);

    renderOverview(overviewTop, overviewBottom);

    brushGroup = svg("g", { class: "brush" });
    root.append(brushGroup);
    renderBrush();

    const empty = data?.buckets.length && !shown.some((b) => b.total) ? "No incidents match these filters in the chosen range." : "";
    status.textContent = message || empty;
    status.hidden = !(message || empty);
  }

  /** The whole span, small, under the detail: every bucket's total, and the years. */
  function renderOverview(overviewTop, overviewBottom) {
    const whole = scaleFor(wholeDomain());
    const buckets = (data?.buckets ?? []).filter((b) => b.total);
    const h = overviewBottom - overviewTop;
    const most = Math.max(1, ...buckets.map((b) => b.total));
    // A year is named right of its tick: one whose name the strip's right edge would cut is only ticked.
    const edge = left + whole.inner + MARGIN.right;
    const years = ticks(whole.lo, whole.hi, whole.inner, 40).values.filter((t) => new Date(t).getUTCMonth() === 0);
    const named = years.filter((t) => whole.x(t) + 3 + 4 * LABEL_PX <= edge);
    const strip = Plot.plot({
      className: "overview",
      // As scaleFor: ten pixels at least, while the pane has no width yet (or none at all).
      width: left + whole.inner + MARGIN.right,
      height: h,
      margin: 0,
      marginLeft: left,
      marginRight: MARGIN.right,
      x: { type: "utc", domain: [new Date(whole.lo), new Date(whole.hi)], axis: null },
      // Two pixels spare above the tallest bar; every bar at least one pixel tall.
      y: { domain: [0, (most * h) / (h - 2)], axis: null },
      marks: [
        Plot.frame({ className: "overview-frame" }),
        Plot.rect(buckets, { x1: "startMs", x2: "endMs", y1: 0, y2: (b) => Math.max(b.total, most / (h - 2)), render: stampEach(buckets, () => ({ class: "overview-bar" })) }),
        Plot.ruleX(years, { className: "overview-tick" }),
        Plot.text(named, { x: (t) => t, text: (t) => String(new Date(t).getUTCFullYear()), frameAnchor: "top", lineAnchor: "top", dx: 3, dy: 2, textAnchor: "start" }),
      ],
    });
    strip.setAttribute("aria-hidden", "true");
    root.append(nested(strip, overviewTop));
  }

  function renderBrush() {
    if (!brushGroup) return;
    clear(brushGroup);
    const { top, bottom, overviewTop, overviewBottom } = layout();
    // On the detail: a range being chosen by dragging across it.
    if (draft && drag?.zone === "detail") {
      const { x } = scaleFor(detailDomain());
      const xa = x(draft[0]);
      const xb = x(draft[1] + DAY);
      brushGroup.append(svg("rect", { class: "selection", x: xa, y: top - 2, width: Math.max(xb - xa, 1), height: bottom - top + 2 }));
    }
    // On the overview: the range (or everything), with its two edges as sliders.
    const { lo, hi, x } = scaleFor(wholeDomain());
    const r = draft ?? range ?? [lo, hi - DAY];
    const xa = x(r[0]);
    const xb = x(r[1] + DAY);
    const y0 = overviewTop - 3;
    const y1 = overviewBottom + 3;
    brushGroup.append(
      svg("rect", { class: "outside", x: left, y: y0, width: Math.max(xa - left, 0), height: y1 - y0 }),
      svg("rect", { class: "outside", x: xb, y: y0, width: Math.max(width - MARGIN.right - xb, 0), height: y1 - y0 }),
      svg("rect", { class: "selection overview-selection", x: xa, y: y0, width: Math.max(xb - xa, 1), height: y1 - y0 }),
    );
    for (const edge of ["start", "end"]) {
      const at = edge === "start" ? xa : xb;
      const value = edge === "start" ? r[0] : r[1];
      const handle = svg(
        "g",
        {
          class: `handle handle-${edge}`,
          role: "slider",
          tabindex: "0",
          "aria-label": edge === "start" ? "Range start" : "Range end",
          "aria-valuemin": String(Math.round(lo / DAY)),
          "aria-valuemax": String(Math.round((hi - DAY) / DAY)),
          "aria-valuenow": String(Math.round(value / DAY)),
          "aria-valuetext": longDay(value),
          "data-edge": edge,
        },
        svg("rect", { class: "handle-hit", x: at - 8, y: y0, width: 16, height: y1 - y0 }),
        svg("line", { class: "handle-line", x1: at, x2: at, y1: y0, y2: y1 }),
        svg("rect", { class: "handle-grip", x: at - 4, y: (y0 + y1) / 2 - 8, width: 8, height: 16, rx: 2 }),
      );
      handle.addEventListener("keydown", (event) => onKey(event, edge));
      handle.addEventListener("blur", commitSoon);
      brushGroup.append(handle);
    }
    updateCaption();
  }

  function updateCaption() {
    const r = draft ?? range;
    if (!caption) return;
    caption.textContent = r
      ? `${longDay(r[0])} – ${longDay(r[1])} (${plural(daysBetween(r[0], r[1]) + 1, "day")})`
      : "All dates";
    if (clearButton) clearButton.disabled = !range;
  }

  // ----- interaction ----------------------------------------------------------------------------
  let drag = null;
  let commitTimer = null;

  function commit() {
    clearTimeout(commitTimer);
    commitTimer = null;
    if (!draft) return;
    const [a, b] = draft;
    draft = null;
    range = [Math.min(a, b), Math.max(a, b)];
    renderBrush();
    onRange(isoDay(range[0]), isoDay(range[1]));
  }

  function commitSoon() {
    clearTimeout(commitTimer);
    commitTimer = setTimeout(commit, 450);
  }

  function onKey(event, edge) {
    const [lo, hi] = wholeDomain();
    const r = draft ?? range ?? [lo, hi - DAY];
    let value = edge === "start" ? r[0] : r[1];
    const step = event.shiftKey ? 7 : 1;
    switch (event.key) {
      case "ArrowLeft":
      case "ArrowDown":
        value -= step * DAY;
        break;
      case "ArrowRight":
      case "ArrowUp":
        value += step * DAY;
        break;
      case "PageDown":
        value -= 30 * DAY;
        break;
      case "PageUp":
        value += 30 * DAY;
        break;
      case "Home":
        value = edge === "start" ? lo : r[0];
        break;
      case "End":
        value = edge === "end" ? hi - DAY : r[1];
        break;
      case "Enter":
        event.preventDefault();
        commit();
        return;
      default:
        return;
    }
    event.preventDefault();
    draft = edge === "start" ? [Math.min(value, r[1]), r[1]] : [r[0], Math.max(value, r[0])];
    renderBrush();
    root.querySelector(`.handle-${edge}`)?.focus();
    commitSoon();
  }

  function pointer(event) {
    const box = root.getBoundingClientRect();
    return { px: event.clientX - box.left, py: event.clientY - box.top };
  }

  root.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || !data) return;
    if (event.target.closest?.(".arc-group")) return;
    const { px, py } = pointer(event);
    // The overview strip (and its handles, which reach a little beyond it) or the detail above it.
    const zone = py >= layout().overviewTop - 6 ? "overview" : "detail";
    const scale = scaleFor(zone === "overview" ? wholeDomain() : detailDomain());
    const r = range ?? [scale.lo, scale.hi - DAY];
    const handle = event.target.closest?.(".handle");
    let mode = "new";
    if (handle) mode = handle.dataset.edge;
    else if (zone === "overview" && range && px >= scale.x(r[0]) && px <= scale.x(r[1] + DAY)) mode = "move";
    drag = { zone, scale, mode, startPx: px, startDay: snapDay(scale.invert(px)), original: r, moved: false, id: event.pointerId };
    root.setPointerCapture(event.pointerId);
    event.preventDefault();
  });

  root.addEventListener("pointermove", (event) => {
    if (!drag || event.pointerId !== drag.id) return;
    const { lo, hi, invert } = drag.scale;
    const { px } = pointer(event);
    if (Math.abs(px - drag.startPx) > 3) drag.moved = true;
    if (!drag.moved) return;
    const day = Math.min(Math.max(snapDay(invert(px)), lo), hi - DAY);
    const [a, b] = drag.original;
    if (drag.mode === "start") draft = [Math.min(day, b), b];
    else if (drag.mode === "end") draft = [a, Math.max(day, a)];
    else if (drag.mode === "move") {
      const shift = day - drag.startDay;
      const length = b - a;
      const start = Math.min(Math.max(a + shift, lo), hi - DAY - length);
      draft = [start, start + length];
    } else draft = [Math.min(drag.startDay, day), Math.max(drag.startDay, day)];
    renderBrush();
  });

  function endDrag(event) {
    if (!drag || event.pointerId !== drag.id) return;
    const { moved, mode, startDay, zone } = drag;
    drag = null;
    if (!moved && (mode === "new" || mode === "move") && data) {
      // A click picks the bucket under the pointer.
      const buckets = zone === "detail" ? detailBuckets() : data.buckets;
      const bucket = buckets.find((b) => startDay >= b.startMs && startDay < b.endMs);
      if (bucket) draft = [bucket.startMs, bucket.endMs - DAY];
    }
    if (draft) commit();
  }
  root.addEventListener("pointerup", endDrag);
  root.addEventListener("pointercancel", (event) => {
    if (drag && event.pointerId === drag.id) {
      drag = null;
      draft = null;
      renderBrush();
    }
  });

  new ResizeObserver(() => {
    if (container.clientWidth !== width) render();
  }).observe(container);

  // ----- public ---------------------------------------------------------------------------------
  return {
    setData(response) {
      data = toBuckets(response);
      message = data.buckets.length ? "" : "No incidents match these filters in this view.";
      render();
    },
    /** The chosen range's own buckets (a finer bucket than the whole span's), or null to use the whole span's. */
    setDetail(response) {
      detail = response ? toBuckets(response) : null;
      render();
    },
    setMessage(text) {
      message = text;
      status.textContent = message;
      status.hidden = !message;
    },
    setRange(start, end) {
      const a = parseDay(start);
      const b = parseDay(end);
      if (a === null && b === null) range = null;
      else {
        const [lo, hi] = data?.buckets.length ? [data.buckets[0].startMs, data.buckets.at(-1).endMs - DAY] : [a ?? b, b ?? a];
        range = [a ?? Math.min(lo, b), b ?? Math.max(hi, a)];
      }
      draft = null;
      render();
    },
    /** The chosen range as [first day, last day] in epoch ms, or null. */
    range: () => range,
    hasData: () => data !== null,
    setLinks(list) {
      links = list;
      render();
    },
    /** Suggested links, drawn dashed and titled "suggested". */
    setSuggestions(list) {
      suggested = list;
      render();
    },
    setSurges(list) {
      surges = list;
      render();
    },
    /** The extent of the current data, for choosing the next bucket size. */
    extentDays() {
      if (!data?.buckets.length) return null;
      return daysBetween(data.buckets[0].startMs, data.buckets.at(-1).endMs);
    },
    bucketName: () => data?.bucket ?? "week",
  };
}

/**
 * The timeline with its loading: `load(state)` fetches the whole span for the filters and draws it, and
 * then the chosen range's detail, which `setRange` fetches again when the range changes.
 */
export function createTimelinePane({ container, unit, kindKey, api, status, palette, store, ...options }) {
  const timeline = createTimeline({ container, palette, ...options });
  let bucket = "week";
  let controller = null;
  let detailController = null;
  let detailQuery = ""; // what the detail drawn, or being fetched, is for
  let loading = false;

  const showBusy = () => container.setAttribute("aria-busy", loading || detailController ? "true" : "false");

  async function load(state) {
    controller?.abort();
    const mine = new AbortController();
    controller = mine;
    loading = true;
    showBusy();
    // The histogram spans all dates (the range is drawn on it), filtered by everything else.
    const params = apiParams(state, { without: ["start", "end"] });
    const fetchBuckets = () =>
      status.track("timeline", () => api.timeline(params, { bucket }, { signal: mine.signal }), () => load(store()));
    let response = await fetchBuckets();
    if (response && mine === controller) {
      // Pick the bucket that suits the extent: days for a few months, months beyond eight years.
      const first = parseDay(response.buckets?.[0]?.start);
      const last = parseDay(response.buckets?.at(-1)?.start);
      const better = first !== null && last !== null ? bucketFor((last - first) / DAY) : bucket;
      if (better !== bucket) {
        bucket = better;
        response = await fetchBuckets();
      }
    }
    if (mine !== controller) return;
    loading = false;
    if (response) {
      renderKindKey(kindKey, palette, response.kinds ?? []);
      timeline.setData(response);
      timeline.setRange(store().start, store().end);
      detailQuery = ""; // the data may have changed under the same filters
      await loadDetail(store());
    } else {
      timeline.setMessage("The histogram could not be loaded.");
    }
    showBusy();
  }

  /** The chosen range at the bucket that suits its length, unless the whole span's bucket does. */
  async function loadDetail(state) {
    const range = timeline.range();
    const want = range ? bucketFor((range[1] - range[0]) / DAY + 1) : bucket;
    unit.textContent = `per ${want}`;
    if (want === bucket) {
      detailController?.abort();
      detailController = null;
      detailQuery = "";
      timeline.setDetail(null);
      showBusy();
      return;
    }
    const params = apiParams(state);
    const query = `${params}&bucket=${want}`;
    if (query === detailQuery) return;
    detailController?.abort();
    const mine = new AbortController();
    detailController = mine;
    detailQuery = query;
    showBusy();
    const response = await status.track("timeline-detail", () => api.timeline(params, { bucket: want }, { signal: mine.signal }), () => loadDetail(store()));
    if (mine !== detailController) return;
    detailController = null;
    if (response) timeline.setDetail(response);
    else detailQuery = "";
    showBusy();
  }

  return {
    ...timeline,
    load,
    setRange(start, end) {
      timeline.setRange(start, end);
      if (timeline.hasData() && !loading) loadDetail(store());
    },
  };
}
