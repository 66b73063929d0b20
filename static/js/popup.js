// The incident card shown in a map popup (or, for incidents without a location, over the map): built
// from /api/v1/incidents/{id}/ with DOM APIs only. Its before/after line comes from a second request
// (analytics/before-after/) and is filled in when it arrives.

import { el, safeHref } from "./dom.js";
import { intervalText, lagLabel, longDay, number } from "./format.js";

const PRECISION_NOTE = { week: "date known to the week", month: "date known to the month" };

export const BEFORE_AFTER_DAYS = 14;

function ratioText(value) {
  return value >= 10 ? String(Math.round(value)) : String(Math.round(value * 10) / 10);
}

/**
 * "14 days after: 5 attacks by Iran and aligned groups on United States and partners, 2 before; rate
 * ratio 2.5 (95% CI 0.5–24)". The windows may be cut at the data's ends: the API's warnings say so.
 */
export function beforeAfterText(ba) {
  const plural = (n) => `${number(n)} attack${n === 1 ? "" : "s"}`;
  const who = [ba.by ? ` by ${ba.by}` : "", ba.on ? ` on ${ba.on}` : ""].join("");
  const counts = `${ba.daysAfter ?? ba.days} days after: ${plural(ba.after)}${who}; ${number(ba.before)} in the ${ba.daysBefore ?? ba.days} days before`;
  const ratio = ba.insufficient
    ? `rate ratio: ${ba.insufficient}`
    : ba.ratio === null
      ? "no rate ratio"
      : `rate ratio ${ratioText(ba.ratio)}${intervalText(ba.ci, ratioText) ? ` (95% CI ${intervalText(ba.ci, ratioText)})` : ""}`;
  return `${counts}; ${ratio}.`;
}

/** Fills a card's before/after line (null: it could not be loaded). */
export function fillBeforeAfter(card, ba) {
  const slot = card.querySelector("[data-role=before-after]");
  if (!slot) return;
  if (!ba) {
    slot.textContent = "Before and after: not available.";
    return;
  }
  slot.textContent = beforeAfterText(ba);
  for (const warning of ba.warnings) slot.append(el("span", { class: "before-after-warning", text: ` ${warning}` }));
  slot.dataset.state = "ready";
}

function swatch(color) {
  return el("span", { class: "swatch", style: { background: color }, "aria-hidden": "true" });
}

function actorsLine(actors, role) {
  return actors.filter((a) => a.role === role).map((a) => a.name);
}

function casualtyText(c) {
  const range =
    c.low !== null && c.high !== null && c.low !== undefined && c.high !== undefined && c.low !== c.high
      ? `${number(c.low)}–${number(c.high)}`
      : number(c.best ?? c.low ?? c.high ?? 0);
  return `${c.group_label} ${c.kind_label}: ${range}`;
}

function row(label, ...value) {
  return [el("dt", { text: label }), el("dd", {}, ...value)];
}

function sourceItem(source) {
  const href = source.url ? safeHref(source.url) : null;
  const title = source.title || source.publisher;
  const meta = [source.publisher, source.published_on ? longDay(source.published_on) : null].filter(Boolean).join(", ");
  return el(
    "li",
    {},
    href ? el("a", { href, target: "_blank", rel: "noopener noreferrer", text: title }) : el("span", { text: title }),
    el("span", { class: "muted", text: ` — ${meta}` }),
    source.reliability ? el("abbr", { class: "reliability", title: "Source reliability (Admiralty scale)", text: source.reliability }) : null,
  );
}

function relatedItem(link, direction, onSelect) {
  const other = direction === "out" ? link.prior : link.incident;
  const when = lagLabel(link.lag_days);
  const text =
    direction === "out" ? `${link.relation_label} (${when} earlier)` : `followed by, as ${link.relation_label} (${when} later)`;
  return el(
    "li",
    {},
    el("span", { class: "muted", text: `${text}: ` }),
    el("button", {
      type: "button",
      class: "link-button",
      text: `${longDay(other.occurred_on)} · ${other.title}`,
      "data-incident": other.id,
      onclick: () => onSelect(other.id),
    }),
  );
}

export function buildIncidentCard(feature, { palette, onSelect, countryName = (code) => code }) {
  const p = feature.properties;
  const attackers = p.actors ? actorsLine(p.actors, "attacker") : (p.attackers ?? []);
  const targets = p.actors ? actorsLine(p.actors, "target") : (p.targets ?? []);
  const claimed = p.actors ? actorsLine(p.actors, "claimed_by") : [];
  const casualties = (p.casualties ?? []).filter((c) => (c.best ?? c.low ?? c.high ?? 0) > 0 || c.kind === "killed");
  const precision = PRECISION_NOTE[p.date_precision];
  const place = [p.place_name, countryName(p.country)].filter(Boolean).join(", ");

  const details = el("dl", { class: "facts" });
  if (attackers.length || targets.length) {
    details.append(...row("Who", `${attackers.join(", ") || "unknown"} → ${targets.join(", ") || "unknown"}`));
  }
  if (claimed.length) details.append(...row("Claimed by", claimed.join(", ")));
  if (p.attribution) details.append(...row("Attribution", p.attribution));
  if (place) details.append(...row("Where", place));
  if (p.base_name) details.append(...row("Targeted base", p.base_name));
  else if (p.nearest_base && p.nearest_base_km !== null && p.nearest_base_km !== undefined) {
    details.append(...row("Nearest base", `${p.nearest_base.name}, ${number(Math.round(p.nearest_base_km))} km`));
  }
  if (p.weapon || p.munitions) {
    details.append(...row("Weapon", [p.weapon, p.munitions ? `${number(p.munitions)} fired` : null].filter(Boolean).join(", ")));
  }
  details.append(
    ...row(
      "Casualties",
      casualties.length ? el("ul", { class: "plain" }, casualties.map((c) => el("li", { text: casualtyText(c) }))) : "none reported",
    ),
  );

  const related = [
    ...(p.links_out ?? []).map((link) => relatedItem(link, "out", onSelect)),
    ...(p.links_in ?? []).map((link) => relatedItem(link, "in", onSelect)),
  ];
  const sources = p.sources ?? [];

  return el(
    "article",
    { class: "incident-card", "data-incident": p.id ?? feature.id },
    el(
      "p",
      { class: "card-kicker" },
      swatch(palette.kind(p.kind)),
      el("span", { text: p.kind_label ?? palette.kindLabel(p.kind) }),
      el("span", { class: "muted", text: " · " }),
      el("time", { datetime: p.occurred_on, text: p.date_label || longDay(p.occurred_on) }),
      precision ? el("span", { class: "muted", text: ` (${precision})` }) : null,
    ),
    el("h3", { class: "card-title", text: p.title }),
    p.summary ? el("p", { class: "card-summary", text: p.summary }) : null,
    details,
    el("p", { class: "before-after", "data-role": "before-after", "aria-live": "polite", text: "Before and after: loading…" }),
    el("div", { class: "card-history", "data-role": "history", "aria-live": "polite", text: "History: loading…" }),
    related.length ? [el("h4", { text: "Related incidents" }), el("ul", { class: "related" }, related)] : null,
    el("h4", { text: `Sources (${sources.length})` }),
    sources.length ? el("ol", { class: "sources" }, sources.map(sourceItem)) : el("p", { class: "muted", text: "No sources." }),
  );
}
