// From the analytics API's JSON to what the plots draw: one small function per endpoint, so that a
// change in a response's shape is answered here and nowhere else. Days are numbers of days, dates
// epoch milliseconds (format.js's parseDay), intervals [low, high] with null for an open end. A figure
// the API calls too thin comes through as `insufficient` (the API's words) instead of a number.

import { parseDay } from "./format.js";

const INSUFFICIENT = "insufficient data";
const NOT_REACHED = "not reached";

const num = (value) => (value === null || value === undefined ? null : Number(value));

/** A figure {n, status, value, low, high}: its value, interval and, when too thin, why not. */
function figure(f) {
  if (!f) return { value: null, ci: [null, null], n: null, insufficient: "", notReached: false };
  const thin = f.status === INSUFFICIENT;
  return {
    value: thin ? null : num(f.value),
    ci: thin ? [null, null] : [num(f.low), num(f.high)],
    n: num(f.n),
    insufficient: thin ? `${INSUFFICIENT} (n = ${f.n})` : "",
    notReached: f.status === NOT_REACHED,
  };
}

/** Histogram bins: the API's `to` is inclusive, so a bin covers the days [from, to + 1). */
const bins = (list, extra = () => ({})) => (list ?? []).map((b) => ({ lo: num(b.from), hi: num(b.to) + 1, count: num(b.count) ?? 0, ...extra(b) }));

const share = (part, whole) => (whole ? part / whole : null);

/** With within_km, the incidents without a point, which no distance can be measured from, left out. */
const unplaced = (response) => num(typeof response.unplaced === "object" ? response.unplaced?.count : response.unplaced);

/**
 * The share of lags under a day. Dates are days, so a lag of 0 or 1 is as short as they can tell; where
 * the API's bins are wider than that (3 days at the 30-day window), its first bin is the nearest it
 * tells, and `upTo` says how many days that covers.
 */
function underADay(list, n) {
  // The bins hold the lags up to the window; n counts them all (the longer ones too).
  const total = Math.max(n, list.reduce((sum, b) => sum + b.count, 0));
  if (!list.length || !total) return { share: null, n: total, upTo: 1 };
  const upTo = Math.max(1, list[0].hi - 1);
  const count = list.filter((b) => b.hi - 1 <= upTo).reduce((sum, b) => sum + b.count, 0);
  return { share: count / total, n: total, upTo };
}

/** Degenerate: more than this share of the windows close, or of the lags fall, within a day. */
export const DEGENERATE_SHARE = 0.9;
// Below this many windows or lags a share says little either way.
const DEGENERATE_MIN_N = 10;

/** Whether a {share, n} says the figures are degenerate. */
export function isDegenerate(part) {
  return Boolean(part && part.n >= DEGENERATE_MIN_N && part.share !== null && part.share > DEGENERATE_SHARE);
}

/** The radius to propose when the figures are degenerate: the next step down from the current one. */
export function proposeRadius(current) {
  const steps = [250, 100, 50, 25, 10, 5, 2, 1];
  const km = Number(current);
  if (!current || !Number.isFinite(km)) return 50;
  return steps.find((step) => step < km) ?? null;
}

/**
 * GET analytics/space-time/: the Knox table of a pair of sides, cell by cell, and its reading. A cell's
 * distance band runs from km_from (exclusive, but 0) to km_to, its days from days_from to days_to (both
 * inclusive, from the day after the act); a cell too thin for a ratio is `insufficient`.
 */
export function toSpaceTime(response) {
  const seed = response.seed ?? null;
  return {
    insufficient: response.status === INSUFFICIENT,
    minEvents: num(response.min_events),
    cells: (response.cells ?? []).map((c) => ({
      kmFrom: num(c.km_from),
      kmTo: num(c.km_to),
      daysFrom: num(c.days_from),
      daysTo: num(c.days_to),
      observed: num(c.observed),
      expected: num(c.expected),
      insufficient: c.status === INSUFFICIENT,
      ratio: c.status === INSUFFICIENT ? null : num(c.ratio),
      p: c.status === INSUFFICIENT ? null : num(c.p_value),
    })),
    nFirst: num(response.n_first),
    nAnswering: num(response.n_answering),
    unplaced: unplaced(response),
    permutations: num(response.permutations),
    // A 63-bit seed does not survive JSON.parse exactly: only one that does is shown.
    seed: Number.isSafeInteger(seed) ? seed : null,
    reading: response.status === INSUFFICIENT ? "" : (response.reading ?? ""),
  };
}

/** GET analytics/deterrence/: per kind of deterrent action, the Kaplan–Meier curve and its figures. */
export function toSurvival(response) {
  const censored = new Map();
  const windows = response.windows ?? [];
  for (const w of windows) {
    if (!w.censored) continue;
    if (!censored.has(w.kind)) censored.set(w.kind, []);
    censored.get(w.kind).push(num(w.days));
  }
  return {
    censoredAt: parseDay(response.censored_at),
    // Windows closed by an attack the next day (dates are days: within a day, as far as they tell).
    closedWithinADay: { n: windows.length, share: share(windows.filter((w) => !w.censored && num(w.days) <= 1).length, windows.length) },
    unplaced: unplaced(response),
    groups: (response.summary ?? []).map((group) => {
      const median = figure(group.median_days);
      return {
        key: group.kind,
        label: group.kind_label ?? group.kind,
        n: num(group.n) ?? 0,
        attacks: num(group.attacks),
        open: num(group.censored),
        insufficient: group.status === INSUFFICIENT ? INSUFFICIENT : "",
        median: median.value,
        medianNotReached: median.notReached,
        medianCi: median.ci,
        held: Object.entries(group.held ?? {})
          .map(([days, f]) => ({ days: Number(days), share: figure(f).value, ci: figure(f).ci }))
          .sort((a, b) => a.days - b.days),
        steps: (group.curve ?? []).map((p) => ({ t: num(p.days), s: num(p.survival), low: num(p.low), high: num(p.high), atRisk: num(p.at_risk) })),
        censored: censored.get(group.kind) ?? [],
      };
    }),
  };
}

function lagSeries(series) {
  if (!series) return null;
  const median = figure(series.median);
  const iqr = figure(series.iqr);
  const n = num(series.count) ?? 0;
  return {
    n,
    underADay: underADay(bins(series.bins), n),
    insufficient: median.insufficient,
    median: median.value,
    medianCi: median.ci,
    iqr: iqr.ci,
    bins: bins(series.bins),
  };
}

/** GET analytics/response-lags/: per pair of sides, the lags of confirmed links, of suggestions, and of chance. */
export function toLags(response) {
  return {
    window: num(response.window),
    truncated: Boolean(response.truncated),
    unplaced: unplaced(response),
    pairs: (response.pairs ?? []).map((pair) => {
      const baseline = pair.baseline ?? {};
      const shuffled = baseline.shuffled ?? {};
      const observed = bins(baseline.observed?.bins);
      return {
        key: `${pair.first?.key}>${pair.answering?.key}`,
        first: pair.first?.key,
        answering: pair.answering?.key,
        firstLabel: pair.first?.label ?? pair.first?.key,
        answeringLabel: pair.answering?.label ?? pair.answering?.key,
        label: `${pair.first?.label} → answered by ${pair.answering?.label}`,
        confirmed: lagSeries(pair.links),
        suggested: lagSeries(pair.suggestions),
        baseline: {
          insufficient: baseline.status === INSUFFICIENT ? INSUFFICIENT : "",
          verdict: baseline.verdict ?? "",
          p: num(baseline.p_value),
          permutations: num(shuffled.permutations),
          median: figure(shuffled.median).value,
          bins: bins(shuffled.bins, (b) => ({ low: num(b.low), high: num(b.high), mean: num(b.count) })),
          // Each answer's nearest earlier attack, the pairing the shuffles redo: what the band is for.
          observed,
          underADay: underADay(observed, num(baseline.answers) ?? 0),
        },
      };
    }),
  };
}

/** GET analytics/before-after/?incident=ID&days=N: attacks by its targeted sides on its attacking sides. */
export function toBeforeAfter(response) {
  const names = (sides) => (sides ?? []).map((s) => s.label).join(" and ");
  const ratio = figure(response.rate_ratio);
  return {
    days: num(response.days),
    by: names(response.targeted_sides),
    on: names(response.attacking_sides),
    before: num(response.before?.attacks),
    after: num(response.after?.attacks),
    daysBefore: num(response.before?.days),
    daysAfter: num(response.after?.days),
    ratio: ratio.value,
    ci: ratio.ci,
    insufficient: ratio.insufficient,
    warnings: response.warnings ?? [],
  };
}

/** GET analytics/surges/: the weeks with at least twice the mean of the four before. */
export function toSurges(response) {
  return (response.surges ?? []).map((surge) => {
    const startMs = parseDay(surge.week);
    const end = parseDay(surge.week_end);
    return {
      startMs,
      endMs: (end ?? startMs + 6 * 86400000) + 86400000,
      scope: surge.scope === "base" ? `at ${surge.label}` : `by ${surge.label}`,
      count: num(surge.count),
      mean: num(surge.previous_mean),
    };
  });
}

/** GET links/suggestions/: each item pairs a later incident with the earlier one it may answer (ids). */
export function toSuggestions(response) {
  return (response.results ?? []).map((item) => ({
    incidentId: String(item.incident),
    priorId: String(item.prior),
    relation: item.relation,
    lag: num(item.lag_days),
    km: num(item.distance_km),
    score: num(item.score),
    rank: num(item.rank),
  }));
}
