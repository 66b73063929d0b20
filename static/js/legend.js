// Two legends. On the map, a layer control that is also the map's key: one checkbox per incident
// category (a layer each), bases by shape, troop labels, the selection's chain and country names.
// Under the histogram, the kinds' colours, shared by the bars and the map's circles. All built with
// DOM APIs (Leaflet's own layer control writes labels with innerHTML, and these labels come from the API).

import L from "leaflet";
import { el } from "./dom.js";
import { baseGlyph } from "./map-bases.js";
import { radiusFor } from "./palette.js";

function toggle(label, checked, onChange, ...decorations) {
  const input = el("input", { type: "checkbox" });
  input.checked = checked;
  input.addEventListener("change", () => onChange(input.checked));
  return el("label", { class: "legend-toggle" }, input, decorations, el("span", { text: label }));
}

export function createMapLegend({ map, palette, onCategory, onLayer, collapsed, tilesOn }) {
  const control = L.control({ position: "bottomright" });
  const baseList = el("ul", { class: "legend-bases" });
  control.onAdd = () => {
    const categories = palette.categories.map((category) =>
      el(
        "li",
        {},
        toggle(
          category.label,
          true,
          (on) => onCategory(category.code, on),
          el("span", { class: "swatch swatch-category", style: { background: category.color }, "aria-hidden": "true" }),
        ),
      ),
    );
    const sizes = [0, 10, 100].map((n) => {
      const r = radiusFor(n);
      return el(
        "span",
        { class: "size-key" },
        el("span", { class: "size-dot", style: { width: `${2 * r}px`, height: `${2 * r}px` }, "aria-hidden": "true" }),
        el("span", { text: String(n) }),
      );
    });
    const body = el(
      "div",
      { class: "legend-body", id: "map-legend-body" },
      el(
        "div",
        { class: "legend-col" },
        el("h3", { text: "Incidents" }),
        el("ul", { class: "legend-categories" }, categories),
        el("p", { class: "legend-sizes" }, el("span", { class: "muted", text: "Casualties" }), sizes),
        el("p", { class: "legend-note" }, el("span", { class: "cluster-key", "aria-hidden": "true" }), " Rings: many incidents, by category"),
      ),
      el(
        "div",
        { class: "legend-col" },
        el("h3", { text: "Posture" }),
        toggle("Bases", true, (on) => onLayer("bases", on)),
        baseList,
        toggle("Troop levels", true, (on) => onLayer("troops", on), el("span", { class: "troop-key", "aria-hidden": "true" })),
        toggle("Chain of the selection", true, (on) => onLayer("chains", on), el("span", { class: "chain-key", "aria-hidden": "true" })),
        toggle("Country names", !tilesOn, (on) => onLayer("countries", on)),
      ),
    );
    const button = el("button", {
      type: "button",
      class: "legend-button",
      "aria-expanded": collapsed ? "false" : "true",
      "aria-controls": "map-legend-body",
      text: "Layers & key",
    });
    const container = el("section", { class: "legend leaflet-bar", "aria-label": "Map layers and key" }, button, body);
    body.hidden = collapsed;
    button.addEventListener("click", () => {
      body.hidden = !body.hidden;
      button.setAttribute("aria-expanded", body.hidden ? "false" : "true");
    });
    L.DomEvent.disableClickPropagation(container);
    L.DomEvent.disableScrollPropagation(container);
    return container;
  };
  control.addTo(map);
  return {
    setBaseKinds(kinds) {
      baseList.replaceChildren(...kinds.map((b) => el("li", {}, baseGlyph(b.kind, 13), el("span", { text: b.label }))));
    },
  };
}

/** The kinds' colours, for the kinds present (all when `present` is empty), grouped by category. */
export function renderKindKey(container, palette, present = []) {
  const shown = new Set(present);
  const groups = palette.categories
    .map((category) => {
      const kinds = palette.kinds.filter((k) => k.category === category.code && (shown.size === 0 || shown.has(k.code)));
      if (!kinds.length) return null;
      return el(
        "li",
        { class: "key-group" },
        el("span", { class: "key-category", text: category.label }),
        kinds.map((k) => el("span", { class: "key-kind" }, el("span", { class: "swatch", style: { background: k.color }, "aria-hidden": "true" }), k.label)),
      );
    })
    .filter(Boolean);
  container.replaceChildren(el("ul", { class: "kind-key", "aria-label": "Colours by kind" }, groups));
}
