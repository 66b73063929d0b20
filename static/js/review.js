// Accepting or rejecting a suggested link from the page, as an editor: the page runs the review
// queue's own admin action on that one suggestion, so the write, its permission check and its history
// are the queue's (events/cycles/review.py), not a second path. The suggestion's admin id is read from the
// queue filtered to the pair, and the API then confirms that the pair has left the suggestions.

import { ApiError } from "./api.js";
import { toSuggestions } from "./analytics-data.js";

async function adminPage(url, init) {
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", ...init });
  } catch {
    throw new ApiError("The server could not be reached. Check the connection and retry.", { url: String(url) });
  }
  if (response.status === 403 || (response.redirected && new URL(response.url).pathname.endsWith("/login/"))) {
    throw new ApiError("Only editors may review suggestions: sign in as one.", { status: 403, url: String(url) });
  }
  if (!response.ok) throw new ApiError(`The review queue failed to answer (HTTP ${response.status}).`, { status: response.status, url: String(url) });
  return response.text();
}

/** Accepts (verdict "accept") or rejects ("reject") one suggestion; resolves to true once it is done. */
export async function reviewSuggestion(verdict, suggestion, { api, editor }) {
  const queue = new URL(editor.queueUrl, window.location.origin);
  queue.search = new URLSearchParams({ incident: suggestion.incidentId, prior: suggestion.priorId }).toString();
  // Parsed as an inert document and only read: nothing from it is put into the page.
  const page = new DOMParser().parseFromString(await adminPage(queue), "text/html");
  const ids = [...page.querySelectorAll("input[name=_selected_action]")].map((input) => input.value);
  if (ids.length !== 1) throw new ApiError("This suggestion is no longer in the review queue: reload the page.", { status: 409 });
  const form = new URLSearchParams({ csrfmiddlewaretoken: editor.csrfToken, action: verdict, index: "0", _selected_action: ids[0] });
  await adminPage(queue, { method: "POST", body: form, headers: { "Content-Type": "application/x-www-form-urlencoded" } });
  const day = suggestion.incident.occurred_on;
  const left = toSuggestions(await api.suggestions(new URLSearchParams({ start: day, end: day }), { page_size: "1000" }));
  if (left.some((s) => s.incidentId === suggestion.incidentId && s.priorId === suggestion.priorId)) {
    throw new ApiError(`The ${verdict === "accept" ? "acceptance" : "rejection"} did not go through: see the review queue.`, { status: 409 });
  }
  return true;
}
