// What changed, from the API's public history: the incident card's "updated 3 times, last on 12 Nov 2026
// (ACLED sync)" line that opens onto the list of changes, the notice a retracted incident's permalink
// shows instead of its card, and the datasets' freshness beside the count. DOM built with textContent only.

import { el } from "./dom.js";
import { longDay, plural } from "./format.js";

const HOUR = 3600000;
const DONE = { published: "Published", updated: "Updated", retracted: "Retracted", restored: "Restored" };

/** The calendar day (UTC) of an API timestamp: "2026-11-12T10:00:00+00:00" -> "12 Nov 2026". */
function dayOf(timestamp) {
  return longDay(String(timestamp).slice(0, 10));
}

/** "ACLED sync #123" -> "ACLED sync", "import #12" -> "import", "editor" -> "editor". */
export function whoShort(by) {
  return String(by).replace(/\s*#\d+$/, "");
}

function valueText(value) {
  if (value === null || value === undefined || value === "") return "(none)";
  // The sources cited: "Example Wire: Report 1; Ministry of Defence: Statement 7".
  if (Array.isArray(value)) return value.map((s) => (s.publisher == null ? `source ${s.id}` : `${s.publisher}: ${s.title}`)).join("; ") || "(none)";
  if (typeof value === "object") return value.type === "Point" ? value.coordinates.join(", ") : (value.name ?? JSON.stringify(value));
  return String(value);
}

/** "updated 3 times, last on 12 Nov 2026 (ACLED sync)", or when it was published if nothing changed since. */
export function historySummary(changes) {
  const updates = changes.filter((c) => c.change !== "published");
  if (!updates.length) {
    const published = changes.find((c) => c.change === "published");
    return published ? `published ${dayOf(published.changed_at)} (${whoShort(published.by)}), not changed since` : "no public changes";
  }
  const [last] = updates; // newest first
  const times = updates.length === 1 ? "once" : `${plural(updates.length, "time")}`;
  return `${last.change === "updated" ? "updated" : "changed"} ${times}, last on ${dayOf(last.changed_at)} (${whoShort(last.by)})`;
}

function changeItem(change) {
  return el(
    "li",
    { class: "history-change", "data-change": change.change },
    el("time", { datetime: change.changed_at, text: dayOf(change.changed_at) }),
    el("span", { text: ` · ${DONE[change.change] ?? change.change} by ${change.by}` }),
    change.properties.length
      ? el(
          "ul",
          { class: "plain history-properties" },
          change.properties.map((p) => el("li", { text: `${p.name}: ${valueText(p.old)} → ${valueText(p.new)}` })),
        )
      : null,
    change.reason ? el("p", { class: "muted history-reason", text: `Reason: ${change.reason}` }) : null,
  );
}

/** The history as a details element: the summary line, and the changes newest first when opened. */
export function historyDetails(history) {
  return el(
    "details",
    { class: "card-history-details" },
    el("summary", { text: historySummary(history.changes) }),
    el("ol", { class: "plain history-list" }, history.changes.map(changeItem)),
  );
}

/** Fills a card's history line (null: it could not be loaded). */
export function fillHistory(card, history) {
  const slot = card.querySelector("[data-role=history]");
  if (!slot) return;
  slot.replaceChildren(history ? historyDetails(history) : "History: not available.");
  slot.dataset.state = history ? "ready" : "failed";
}

/** What a retracted incident's permalink shows: the API's 410 body ({detail, reason, retracted_at}); its
 * history line is filled by fillHistory. */
export function retractedNotice(id, gone) {
  return el(
    "article",
    { class: "incident-card retracted-notice", "data-incident": id },
    el("p", { class: "card-kicker", text: `Incident ${id}` }),
    el("h3", { class: "card-title", text: `Retracted: ${gone?.reason || "withdrawn by its source"}` }),
    gone?.retracted_at ? el("p", { class: "muted", text: `Retracted on ${dayOf(gone.retracted_at)}. It is no longer on the map or in the counts.` }) : null,
    el("div", { class: "card-history", "data-role": "history", "aria-live": "polite", text: "History: loading…" }),
  );
}

function ago(timestamp, now) {
  const hours = (now - Date.parse(timestamp)) / HOUR;
  if (hours < 1) return "under an hour ago";
  if (hours < 48) return `${Math.round(hours)} h ago`;
  return `${Math.round(hours / 24)} days ago`;
}

/** "ACLED: synced 2 h ago, events to 6 Dec 2026 · UCDP GED 26.0.7: events to 31 Dec 2025". */
export function freshnessText(datasets, now = Date.now()) {
  return datasets
    .map((d) => {
      const name = d.version ? `${d.label} ${d.version}` : d.label;
      const parts = [];
      if (d.synced_at) parts.push(`synced ${ago(d.synced_at, now)}${d.sync_failing ? " (last try failed)" : ""}`);
      else if (d.imported_at) parts.push(`imported ${ago(d.imported_at, now)}`);
      if (d.events_to) parts.push(`events to ${longDay(d.events_to)}`);
      return parts.length ? `${name}: ${parts.join(", ")}` : name;
    })
    .join(" · ");
}

/** The freshness line under the count: filled once from /api/v1/sources/status/, left empty if that fails. */
export function createFreshness({ api, container }) {
  const line = el("span", { class: "count-freshness", "data-role": "freshness" });
  container.append(line);
  return {
    load: () =>
      api
        .sourcesStatus()
        .then(({ datasets }) => {
          line.textContent = freshnessText(datasets);
          line.title = line.textContent;
        })
        .catch(() => {}),
  };
}
