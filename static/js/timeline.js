// The timeline: a histogram of incidents per bucket, stacked by kind, from /api/v1/timeline/ (computed
// in the database), with a range brush that sets `start`/`end`. The brush is dragged with the pointer
// (edges, the whole range, or a new range) and its two edges are keyboard sliders. Escalation links
// in view are drawn as arcs above the bars. createTimelinePane adds its loading: the histogram's
// request for the filters, with a bucket (day, week, month) that suits the data's extent.

import { clear, el, svg } from "./dom.js";
import { addDays, addMonths, daysBetween, isoDay, longDay, monthLabel, number, parseDay, plural, startOfMonth } from "./format.js";
import { renderKindKey } from "./legend.js";
import { apiParams } from "./state.js";

const DAY = 86400000;
const MARGIN = { top: 34, right: 12, bottom: 22, left: 38 };
const BUCKET_DAYS = { day: 1, week: 7 };
const BUCKET_NAMES = { day: "day", week: "week", month: "month" };

function bucketEnd(startMs, bucket) {
  return bucket === "month" ? addMonths(startMs, 1) : addDays(startMs, BUCKET_DAYS[bucket] ?? 7);
}

/** "950", "2.5k", "10k": axis labels that fit the margin. */
function compactNumber(n) {
  if (n < 1000) return number(n);
  const k = n / 1000;
  return `${Number.isInteger(k) || k >= 10 ? Math.round(k) : k.toFixed(1)}k`;
}

function niceMax(n) {
  if (n <= 4) return Math.max(n, 1);
  const magnitude = 10 ** Math.floor(Math.log10(n));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= n) return step * magnitude;
  }
  return 10 * magnitude;
}

export function createTimeline({ container, caption, clearButton, palette, onRange, onPickIncident }) {
  let data = null; // {bucket, buckets: [{startMs, endMs, counts, total}]}
  let range = null; // [startMs, endMs] inclusive days, or null for everything
  let draft = null; // range while dragging / typing
  let links = []; // [{priorDay, incidentDay, label, category, priorId, incidentId}]
  let suggested = []; // the same, for suggested links: drawn dashed
  let surges = []; // [{startMs, endMs, scope, count, mean}]: shaded behind the bars
  let message = "";
  let width = 0;
  let height = 0;

  const root = svg("svg", { class: "timeline-svg", role: "group", "aria-label": "Incident histogram and date range" });
  const status = el("p", { class: "timeline-status", role: "status" });
  container.append(root, status);

  function domain() {
    let lo = Infinity;
    let hi = -Infinity;
    if (data?.buckets.length) {
      lo = data.buckets[0].startMs;
      hi = data.buckets[data.buckets.length - 1].endMs;
    }
    const r = draft ?? range;
    if (r) {
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

  const scale = () => {
    const [lo, hi] = domain();
    const inner = Math.max(width - MARGIN.left - MARGIN.right, 10);
    const x = (ms) => MARGIN.left + ((ms - lo) / (hi - lo)) * inner;
    const invert = (px) => lo + ((px - MARGIN.left) / inner) * (hi - lo);
    return { lo, hi, x, invert, inner };
  };

  function snapDay(ms) {
    return Math.floor(ms / DAY) * DAY;
  }

  function ticks(lo, hi, pixels) {
    const months = (hi - lo) / (30.4 * DAY);
    const perTick = Math.max(1, Math.ceil(months / Math.max(pixels / 70, 1)));
    const step = [1, 2, 3, 6, 12, 24, 60].find((s) => s >= perTick) ?? 120;
    const out = [];
    let t = startOfMonth(lo);
    if (t < lo) t = addMonths(t, 1);
    while (t <= hi) {
      const d = new Date(t);
      if ((d.getUTCFullYear() * 12 + d.getUTCMonth()) % step === 0) out.push(t);
      t = addMonths(t, 1);
    }
    return { values: out, yearly: step >= 12 };
  }

  // ----- drawing --------------------------------------------------------------------------------
  let brushGroup = null;

  function render() {
    width = container.clientWidth;
    height = Math.max(container.clientHeight - status.offsetHeight, 120);
    clear(root);
    root.setAttribute("width", String(width));
    root.setAttribute("height", String(height));
    root.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const { lo, hi, x } = scale();
    const bottom = height - MARGIN.bottom;
    const top = MARGIN.top;

    // Y axis and grid.
    const maxTotal = niceMax(Math.max(0, ...(data?.buckets ?? []).map((b) => b.total)));
    const y = (n) => bottom - (n / maxTotal) * (bottom - top);
    const grid = svg("g", { class: "grid", "aria-hidden": "true" });
    for (const value of [0, maxTotal / 2, maxTotal]) {
      if (value !== Math.round(value) && maxTotal < 4) continue;
      grid.append(
        svg("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: y(value), y2: y(value) }),
        svg("text", { x: MARGIN.left - 6, y: y(value) + 4, "text-anchor": "end", text: compactNumber(value) }),
      );
    }
    root.append(grid);

    // X axis.
    const axis = svg("g", { class: "axis", "aria-hidden": "true" });
    const { values, yearly } = ticks(lo, hi, width - MARGIN.left - MARGIN.right);
    for (const t of values) {
      const d = new Date(t);
      const label = yearly || d.getUTCMonth() === 0 ? String(d.getUTCFullYear()) : monthLabel(t, false);
      axis.append(
        svg("line", { x1: x(t), x2: x(t), y1: bottom, y2: bottom + 4 }),
        svg("text", { x: x(t), y: bottom + 16, "text-anchor": "middle", class: d.getUTCMonth() === 0 ? "year" : "", text: label }),
      );
    }
    axis.append(svg("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: bottom, y2: bottom, class: "baseline" }));
    root.append(axis);

    // Surge weeks behind the bars, and a mark under the axis for each (several scopes may share a week).
    const surgeMarks = svg("g", { class: "surges" });
    const weeks = new Map();
    for (const surge of surges) {
      if (surge.endMs < lo || surge.startMs > hi) continue;
      if (!weeks.has(surge.startMs)) weeks.set(surge.startMs, { ...surge, scopes: [] });
      weeks.get(surge.startMs).scopes.push(`${surge.scope} ${surge.count}`);
    }
    for (const week of weeks.values()) {
      const x0 = x(week.startMs);
      const w = Math.max(x(week.endMs) - x0, 2);
      surgeMarks.append(
        svg(
          "g",
          { class: "surge", "data-week": isoDay(week.startMs) },
          svg("rect", { class: "surge-band", x: x0, width: w, y: top, height: bottom - top }),
          svg("rect", { class: "surge-mark", x: x0, width: w, y: bottom + 1, height: 3 }),
          svg("title", { text: `Surge, week of ${longDay(week.startMs)}: ${week.scopes.join(", ")}` }),
        ),
      );
    }
    root.append(surgeMarks);

    // Bars, stacked by kind in the palette's order (categories stay together).
    const bars = svg("g", { class: "bars" });
    for (const b of data?.buckets ?? []) {
      const x0 = x(b.startMs);
      const w = Math.max(x(b.endMs) - x0 - (x(b.endMs) - x0 > 4 ? 1 : 0), 1);
      const group = svg("g", { class: "bucket" });
      let acc = 0;
      const parts = [];
      for (const kind of palette.kinds) {
        const n = b.counts[kind.code] ?? 0;
        if (!n) continue;
        group.append(svg("rect", { x: x0, width: w, y: y(acc + n), height: Math.max(y(acc) - y(acc + n), 0.5), fill: kind.color }));
        acc += n;
        parts.push(`${kind.label} ${n}`);
      }
      const title =
        `${data.bucket === "month" ? monthLabel(b.startMs) : `${BUCKET_NAMES[data.bucket] === "day" ? "" : "Week of "}${longDay(b.startMs)}`}: ` +
        `${plural(b.total, "incident")}${parts.length ? ` (${parts.join(", ")})` : ""}`;
      group.append(svg("title", { text: title }));
      bars.append(group);
    }
    root.append(bars);

    // Chain arcs above the bars.
    const arcs = svg("g", { class: "chain-arcs" });
    for (const link of [...suggested, ...links]) {
      if (link.priorDay < lo || link.incidentDay > hi) continue;
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

    brushGroup = svg("g", { class: "brush" });
    root.append(brushGroup);
    renderBrush();

    status.textContent = message;
    status.hidden = !message;
  }

  function renderBrush() {
    if (!brushGroup) return;
    const { lo, hi, x } = scale();
    clear(brushGroup);
    const top = MARGIN.top - 2;
    const bottom = height - MARGIN.bottom;
    const r = draft ?? range ?? [lo, hi - DAY];
    const xa = x(r[0]);
    const xb = x(r[1] + DAY);
    // Shade what lies outside the range.
    brushGroup.append(
      svg("rect", { class: "outside", x: MARGIN.left, y: top, width: Math.max(xa - MARGIN.left, 0), height: bottom - top }),
      svg("rect", { class: "outside", x: xb, y: top, width: Math.max(width - MARGIN.right - xb, 0), height: bottom - top }),
      svg("rect", { class: "selection", x: xa, y: top, width: Math.max(xb - xa, 1), height: bottom - top }),
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
        svg("rect", { class: "handle-hit", x: at - 8, y: top, width: 16, height: bottom - top }),
        svg("line", { class: "handle-line", x1: at, x2: at, y1: top, y2: bottom }),
        svg("rect", { class: "handle-grip", x: at - 4, y: (top + bottom) / 2 - 11, width: 8, height: 22, rx: 2 }),
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
    const { lo, hi } = scale();
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

  function pointerX(event) {
    const box = root.getBoundingClientRect();
    return event.clientX - box.left;
  }

  root.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || !data) return;
    const { lo, hi, x, invert } = scale();
    const px = pointerX(event);
    const r = range ?? [lo, hi - DAY];
    const handle = event.target.closest?.(".handle");
    const arc = event.target.closest?.(".arc-group");
    if (arc) return;
    let mode = "new";
    if (handle) mode = handle.dataset.edge;
    else if (range && px >= x(r[0]) && px <= x(r[1] + DAY)) mode = "move";
    drag = { mode, startPx: px, startDay: snapDay(invert(px)), original: r, moved: false, id: event.pointerId };
    root.setPointerCapture(event.pointerId);
    event.preventDefault();
  });

  root.addEventListener("pointermove", (event) => {
    if (!drag || event.pointerId !== drag.id) return;
    const { lo, hi, invert } = scale();
    const px = pointerX(event);
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
    const wasClick = !drag.moved;
    const mode = drag.mode;
    const startDay = drag.startDay;
    drag = null;
    if (wasClick && (mode === "new" || mode === "move") && data) {
      // A click picks the bucket under the pointer.
      const bucket = data.buckets.find((b) => startDay >= b.startMs && startDay < b.endMs);
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
      data = {
        bucket: response.bucket,
        buckets: (response.buckets ?? []).map((b) => {
          const startMs = parseDay(b.start);
          return { startMs, endMs: bucketEnd(startMs, response.bucket), counts: b.counts ?? {}, total: b.total ?? 0 };
        }),
      };
      message = data.buckets.length ? "" : "No incidents match these filters in this view.";
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

/** The timeline with its loading: `load(state)` fetches the histogram for the filters and draws it. */
export function createTimelinePane({ container, unit, kindKey, api, status, palette, store, ...options }) {
  const timeline = createTimeline({ container, palette, ...options });
  let bucket = "week";
  let controller = null;

  async function load(state) {
    controller?.abort();
    const mine = new AbortController();
    controller = mine;
    container.setAttribute("aria-busy", "true");
    // The histogram spans all dates (the range is drawn on it), filtered by everything else.
    const params = apiParams(state, { without: ["start", "end"] });
    const fetchBuckets = () =>
      status.track("timeline", () => api.timeline(params, { bucket }, { signal: mine.signal }), () => load(store()));
    let response = await fetchBuckets();
    if (response && mine === controller) {
      // Pick the bucket that suits the extent: days for a few months, months beyond eight years.
      const first = parseDay(response.buckets?.[0]?.start);
      const last = parseDay(response.buckets?.at(-1)?.start);
      const days = first !== null && last !== null ? (last - first) / DAY : null;
      const better = days === null ? bucket : days <= 120 ? "day" : days > 8 * 365 ? "month" : "week";
      if (better !== bucket) {
        bucket = better;
        response = await fetchBuckets();
      }
    }
    if (mine !== controller) return;
    container.setAttribute("aria-busy", "false");
    unit.textContent = `per ${bucket}`;
    if (response) {
      renderKindKey(kindKey, palette, response.kinds ?? []);
      timeline.setData(response);
      timeline.setRange(store().start, store().end);
    } else {
      timeline.setMessage("The histogram could not be loaded.");
    }
  }

  return { ...timeline, load };
}
