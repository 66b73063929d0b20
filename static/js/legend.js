// The map legend doubles as the layer control: one checkbox per incident category (a layer each),
// and for bases, troop labels, escalation chains and country names. Built with DOM APIs (Leaflet's
// own layer control writes labels with innerHTML, and these labels come from the API).

import L from "leaflet";
import { el } from "./dom.js";
import { baseGlyph } from "./map.js";
import { radiusFor } from "./palette.js";

function toggle(label, checked, onChange, swatch) {
  const input = el("input", { type: "checkbox" });
  input.checked = checked;
  input.addEventListener("change", () => onChange(input.checked));
  return el("label", { class: "legend-toggle" }, input, swatch, el("span", { text: label }));
}

export function createLegend({ map, palette, onCategory, onLayer, collapsed, tilesOn }) {
  const control = L.control({ position: "topright" });
  const baseList = el("ul", { class: "legend-bases" });
  control.onAdd = () => {
    const categories = palette.categories.map((category) => {
      const kinds = palette.kinds.filter((k) => k.category === category.code);
      return el(
        "li",
        { class: "legend-category" },
        toggle(category.label, true, (on) => onCategory(category.code, on), el("span", { class: "swatch swatch-category", style: { background: category.color }, "aria-hidden": "true" })),
        el(
          "ul",
          { class: "legend-kinds" },
          kinds.map((k) => el("li", {}, el("span", { class: "swatch", style: { background: k.color }, "aria-hidden": "true" }), el("span", { text: k.label }))),
        ),
      );
    });
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
      { class: "legend-body", id: "legend-body" },
      el("h3", { text: "Incidents, by kind" }),
      el("ul", { class: "legend-categories" }, categories),
      el("p", { class: "legend-sizes" }, el("span", { class: "muted", text: "Size: casualties " }), sizes),
      el("p", { class: "legend-note" }, el("span", { class: "cluster-key", "aria-hidden": "true" }), " Numbered rings: many incidents, split by category (zoom in)"),
      el("h3", { text: "Also on the map" }),
      toggle("Bases", true, (on) => onLayer("bases", on)),
      baseList,
      toggle("Troop levels per country", true, (on) => onLayer("troops", on)),
      toggle("Escalation chain of the selection", true, (on) => onLayer("chains", on), el("span", { class: "chain-key", "aria-hidden": "true" })),
      toggle("Country names", !tilesOn, (on) => onLayer("countries", on)),
    );
    const button = el("button", { type: "button", class: "legend-button", "aria-expanded": collapsed ? "false" : "true", "aria-controls": "legend-body", text: "Legend & layers" });
    const container = el("section", { class: "legend leaflet-bar", "aria-label": "Legend and layers" }, button, body);
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
      baseList.replaceChildren(...kinds.map((b) => el("li", {}, baseGlyph(b.kind, 14), el("span", { text: b.label }))));
    },
  };
}
