// The page's two views, Map and Analytics, as tabs (the ARIA tablist pattern: arrow keys move between
// them). The analytics panel lies over the map, which stays laid out at its size underneath, so that
// the map's view, and the bbox the URL keeps, do not change while it is hidden.

export function createViews({ tabs, mapPane, analyticsPane, onChoose }) {
  const buttons = [...tabs.querySelectorAll("[role=tab]")];

  tabs.addEventListener("click", (event) => {
    const tab = event.target.closest("[role=tab]");
    if (tab) onChoose(tab.dataset.view);
  });
  tabs.addEventListener("keydown", (event) => {
    const at = buttons.indexOf(document.activeElement);
    if (at < 0 || !["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) return;
    event.preventDefault();
    const next =
      event.key === "Home" ? 0 : event.key === "End" ? buttons.length - 1 : (at + (event.key === "ArrowRight" ? 1 : buttons.length - 1)) % buttons.length;
    buttons[next].focus();
    onChoose(buttons[next].dataset.view);
  });

  /** Shows a view: "analytics", or anything else for the map. */
  function show(view) {
    const analytics = view === "analytics";
    for (const button of buttons) {
      const on = (button.dataset.view === "analytics") === analytics;
      button.setAttribute("aria-selected", on ? "true" : "false");
      button.tabIndex = on ? 0 : -1;
    }
    analyticsPane.hidden = !analytics;
    mapPane.inert = analytics;
    mapPane.classList.toggle("is-covered", analytics);
    document.body.dataset.view = analytics ? "analytics" : "map";
    return analytics;
  }

  return { show };
}
