// Dates are calendar days (YYYY-MM-DD) in UTC throughout: no time zones, no local midnight shifts.

const DAY = 86400000;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

export function parseDay(text) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text ?? "")) return null;
  const ms = Date.parse(`${text}T00:00:00Z`);
  return Number.isNaN(ms) ? null : ms;
}

export function isoDay(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

export function addDays(ms, days) {
  return ms + days * DAY;
}

export function daysBetween(a, b) {
  return Math.round((b - a) / DAY);
}

export function addMonths(ms, months) {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1);
}

export function startOfMonth(ms) {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** "3 Mar 2021" */
export function longDay(text) {
  const ms = typeof text === "number" ? text : parseDay(text);
  if (ms === null) return text ?? "";
  const d = new Date(ms);
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

/** "3 Mar" */
export function shortDay(text) {
  const ms = typeof text === "number" ? text : parseDay(text);
  if (ms === null) return text ?? "";
  const d = new Date(ms);
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
}

export function monthLabel(ms, withYear = true) {
  const d = new Date(ms);
  return withYear ? `${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}` : MONTHS[d.getUTCMonth()];
}

export function number(n) {
  return new Intl.NumberFormat("en-US").format(n);
}

export function plural(n, one, many = `${one}s`) {
  return `${number(n)} ${n === 1 ? one : many}`;
}

export function lagLabel(days) {
  if (days === null || days === undefined) return "";
  if (days === 0) return "same day";
  return plural(days, "day");
}

/** "0.5–24" for an interval [low, high]; an open end (null) reads "?" below and "∞" above. */
export function intervalText([low, high], format = String) {
  if (low === null && high === null) return "";
  return `${low === null ? "?" : format(low)}–${high === null ? "∞" : format(high)}`;
}
