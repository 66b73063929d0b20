// The filter bar: date range, kinds, actor and country. Each change is one history entry.

import { clear, el } from "./dom.js";

export function createFilters({ form, palette, onChange, onReset }) {
  const start = form.elements.start;
  const end = form.elements.end;
  const actor = form.elements.actor;
  const country = form.elements.country;
  const kindPicker = form.querySelector("[data-role=kinds]");
  const kindSummary = kindPicker.querySelector("summary");
  const kindBox = kindPicker.querySelector("[data-role=kind-options]");
  let state = null;

  // Kinds, grouped by category, from /api/v1/kinds/; each category can be picked alone.
  for (const category of palette.categories) {
    const kinds = palette.kinds.filter((k) => k.category === category.code);
    kindBox.append(
      el(
        "fieldset",
        { class: "kind-group" },
        el(
          "legend",
          {},
          el("span", { text: category.label }),
          el("button", {
            type: "button",
            class: "only-button",
            text: "only",
            "aria-label": `${category.label} only`,
            onclick: () => {
              for (const input of kindInputs) input.checked = kinds.some((k) => k.code === input.value);
              kindBox.dispatchEvent(new Event("change"));
            },
          }),
        ),
        kinds.map((k) =>
          el(
            "label",
            { class: "kind-option" },
            el("input", { type: "checkbox", name: "kind", value: k.code }),
            el("span", { class: "swatch", style: { background: k.color }, "aria-hidden": "true" }),
            el("span", { text: k.label }),
          ),
        ),
      ),
    );
  }
  const kindInputs = [...kindBox.querySelectorAll("input[name=kind]")];

  function selectedKinds() {
    const checked = kindInputs.filter((input) => input.checked).map((input) => input.value);
    return checked.length === kindInputs.length ? [] : checked;
  }

  function summarize(kinds) {
    kindSummary.textContent = kinds.length === 0 ? "All kinds" : kinds.length === 1 ? palette.kindLabel(kinds[0]) : `${kinds.length} kinds`;
  }

  // A dropdown: Escape or a click elsewhere folds it.
  kindPicker.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && kindPicker.open) {
      kindPicker.open = false;
      kindSummary.focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (kindPicker.open && !kindPicker.contains(event.target)) kindPicker.open = false;
  });

  kindBox.addEventListener("change", () => {
    const kinds = selectedKinds();
    summarize(kinds);
    onChange({ kind: kinds });
  });
  kindPicker.querySelector("[data-role=kinds-all]").addEventListener("click", () => {
    for (const input of kindInputs) input.checked = true;
    summarize([]);
    onChange({ kind: [] });
  });

  function dates() {
    let a = start.value;
    let b = end.value;
    if (a && b && a > b) [a, b] = [b, a];
    return { start: a, end: b };
  }
  start.addEventListener("change", () => onChange(dates()));
  end.addEventListener("change", () => onChange(dates()));
  actor.addEventListener("change", () => onChange({ actor: actor.value }));
  country.addEventListener("change", () => onChange({ country: country.value }));
  form.querySelector("[data-role=reset]").addEventListener("click", onReset);
  form.addEventListener("submit", (event) => event.preventDefault());

  function fillSelect(select, options, current, anyLabel) {
    const values = new Set(options.map((o) => o.value));
    clear(select).append(el("option", { value: "", text: anyLabel }));
    for (const option of options) select.append(el("option", { value: option.value, text: option.label }));
    if (current && !values.has(current)) select.append(el("option", { value: current, text: current }));
    select.value = current || "";
  }

  let actorOptions = [];
  let countryOptions = [];

  return {
    setActors(actors) {
      actorOptions = actors
        .map((a) => ({ value: a.slug, label: a.name }))
        .sort((a, b) => a.label.localeCompare(b.label));
      fillSelect(actor, actorOptions, state?.actor, "Any actor");
    },
    setCountries(list) {
      countryOptions = list.sort((a, b) => a.label.localeCompare(b.label));
      fillSelect(country, countryOptions, state?.country, "Any country");
    },
    setState(next) {
      state = next;
      start.value = next.start && /^\d{4}-\d{2}-\d{2}$/.test(next.start) ? next.start : "";
      end.value = next.end && /^\d{4}-\d{2}-\d{2}$/.test(next.end) ? next.end : "";
      const kinds = new Set(next.kind);
      for (const input of kindInputs) input.checked = kinds.size === 0 || kinds.has(input.value);
      summarize(next.kind);
      fillSelect(actor, actorOptions, next.actor, "Any actor");
      fillSelect(country, countryOptions, next.country, "Any country");
    },
  };
}
