// The incidents of the current range and view as a list: the keyboard path to every incident on the
// map. Selecting one flies the map to it and opens its popup. Its numberMatched is the page's count.

import { isAbort } from "./api.js";
import { clear, el } from "./dom.js";
import { longDay, number } from "./format.js";
import { apiParams } from "./state.js";

const PAGE = 100;

export function createList({ container, moreButton, api, status, palette, onSelect, onCount, onFeatures }) {
  let controller = null;
  let next = null;
  let selected = "";
  let shown = 0;
  let matched = 0;

  function item(feature) {
    const p = feature.properties;
    const id = String(p.id ?? feature.id);
    const who = [p.attackers?.join(", "), p.targets?.join(", ")].filter(Boolean).join(" → ");
    const meta = [p.place_name || p.country, who].filter(Boolean).join(" · ");
    return el(
      "li",
      {},
      el(
        "button",
        {
          type: "button",
          class: "incident-item",
          "data-incident": id,
          "aria-current": id === selected ? "true" : null,
          onclick: () => onSelect(id),
        },
        el("span", { class: "swatch", style: { background: palette.kind(p.kind) }, "aria-hidden": "true" }),
        el(
          "span",
          { class: "item-body" },
          el(
            "span",
            { class: "item-head" },
            el("time", { datetime: p.occurred_on, text: p.date_label && p.date_precision !== "day" ? p.date_label : longDay(p.occurred_on) }),
            el("span", { class: "item-kind", text: p.kind_label ?? palette.kindLabel(p.kind) }),
            p.casualties_best ? el("span", { class: "item-cas", text: `${number(p.casualties_best)} cas.` }) : null,
          ),
          el("span", { class: "item-title", text: p.title }),
          meta ? el("span", { class: "item-meta", text: meta }) : null,
          feature.geometry ? null : el("span", { class: "item-meta", text: "no map location" }),
        ),
      ),
    );
  }

  function append(collection) {
    onFeatures?.(collection.features);
    const items = collection.features.map(item);
    container.append(...items);
    shown += items.length;
    next = collection.links?.find((link) => link.rel === "next")?.href ?? null;
    moreButton.hidden = !next;
    moreButton.textContent = next ? `Show more (${number(Math.max(matched - shown, 0))} left)` : "";
  }

  async function load(state) {
    controller?.abort();
    const mine = new AbortController();
    controller = mine;
    container.setAttribute("aria-busy", "true");
    const params = apiParams(state);
    const collection = await status.track(
      "list",
      () => api.incidents(params, { limit: PAGE, ordering: "occurred_on" }, { signal: mine.signal }),
      () => load(state),
    );
    if (mine !== controller) return;
    container.setAttribute("aria-busy", "false");
    if (!collection) {
      onCount(null);
      return;
    }
    // Keyboard users keep their place: the focused incident stays focused across a reload.
    const focused = container.contains(document.activeElement) ? document.activeElement.dataset.incident : null;
    clear(container);
    shown = 0;
    matched = collection.numberMatched ?? collection.features.length;
    if (!collection.features.length) {
      container.append(el("li", { class: "empty", text: "No incidents match these filters in this view." }));
    }
    append(collection);
    onCount(matched);
    if (focused) {
      const again = container.querySelector(`.incident-item[data-incident="${CSS.escape(focused)}"]`);
      (again ?? container).focus({ preventScroll: !again });
    }
  }

  moreButton.addEventListener("click", async () => {
    if (!next) return;
    const url = next;
    moreButton.disabled = true;
    const mine = controller;
    try {
      const page = await status.track("list-more", () => api.getUrl(url, { signal: mine?.signal }), null);
      if (page && mine === controller) append(page);
    } catch (error) {
      if (!isAbort(error)) throw error;
    } finally {
      moreButton.disabled = false;
    }
  });

  return {
    load,
    setSelected(id) {
      selected = id ? String(id) : "";
      for (const button of container.querySelectorAll(".incident-item")) {
        if (button.dataset.incident === selected) button.setAttribute("aria-current", "true");
        else button.removeAttribute("aria-current");
      }
    },
  };
}
