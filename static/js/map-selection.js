// The selected incident: a ring on the map and its card in a popup, or, for an incident without a
// location, in a panel over the map. The map flies to it first unless it is already well in view.

import L from "leaflet";
import { clear, el } from "./dom.js";
import { radiusFor } from "./palette.js";
import { toBeforeAfter } from "./analytics-data.js";
import { fillHistory, retractedNotice } from "./history.js";
import { BEFORE_AFTER_DAYS, buildIncidentCard, fillBeforeAfter } from "./popup.js";

const SELECT_ZOOM = 7;
const REDUCED_MOTION = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

/**
 * `locations` (incident id -> [lon, lat]) lets it fly before the details arrive; `ignoreNextMove` is
 * called before a move that must not write the view back to the URL.
 */
export function createSelection({ map, container, config, api, palette, status, locations, onSelect, onDeselect, onDetails, ignoreNextMove }) {
  const selectionLayer = L.layerGroup().addTo(map);
  let selectController = null;
  let currentPopup = null;
  let selectedId = "";
  const detail = el("div", { class: "detail-card", role: "dialog", "aria-label": "Incident details", hidden: true });
  const detailClose = el("button", { type: "button", class: "detail-close", "aria-label": "Close details", text: "×" });
  const detailBody = el("div", { class: "detail-body" });
  detail.append(detailClose, detailBody);
  container.append(detail);
  L.DomEvent.disableClickPropagation(detail);
  L.DomEvent.disableScrollPropagation(detail);
  detailClose.addEventListener("click", () => {
    detail.hidden = true;
    onDeselect();
  });

  map.on("popupclose", (event) => {
    if (event.popup === currentPopup) {
      currentPopup = null;
      selectionLayer.clearLayers();
      onDeselect();
    }
  });

  function closeSelection() {
    selectedId = "";
    const popup = currentPopup;
    currentPopup = null;
    if (popup) map.closePopup(popup);
    selectionLayer.clearLayers();
    detail.hidden = true;
  }

  /** A retracted incident's permalink answers 410: it is shown as retracted, with the reason, not lost. */
  const loadIncident = (id, signal) =>
    api.incident(id, { signal }).catch((error) => {
      if (error?.status === 410) return { gone: error.body ?? {} };
      throw error;
    });

  /** Fills a part of the card once its request answers; a failure only says so there. */
  const fillLater = (request, fill) => request.then(fill).catch((error) => error?.name !== "AbortError" && fill(null));

  /** The panel over the map, in place of any popup, showing `nodes`. */
  function showInPanel(...nodes) {
    const previous = currentPopup;
    currentPopup = null;
    if (previous) map.closePopup(previous);
    selectionLayer.clearLayers();
    clear(detailBody).append(...nodes);
    detail.hidden = false;
    detailClose.focus({ preventScroll: true });
  }

  /** Moves to a point unless it is already well in view at a useful zoom; resolves when the map is still. */
  function flyTo(latlng) {
    const inner = map.getBounds().pad(-0.15);
    if (map.getZoom() >= SELECT_ZOOM && inner.contains(latlng)) return Promise.resolve();
    return new Promise((resolve) => {
      map.once("moveend", resolve);
      if (REDUCED_MOTION) map.setView(latlng, Math.max(map.getZoom(), SELECT_ZOOM), { animate: false });
      else map.flyTo(latlng, Math.max(map.getZoom(), SELECT_ZOOM), { duration: 0.6 });
    });
  }

  async function select(id, { fly = true } = {}) {
    if (!id) {
      selectController?.abort();
      closeSelection();
      return;
    }
    if (String(id) === String(selectedId) && (currentPopup || !detail.hidden)) return;
    selectController?.abort();
    const controller = new AbortController();
    selectController = controller;
    selectedId = String(id);
    // Where the incident is may already be known (from the list or the markers): fly there while its
    // details load, rather than after.
    const known = locations.get(String(id));
    const flight = fly && known ? flyTo(L.latLng(known[1], known[0])) : null;
    const feature = await status.track("incident", () => loadIncident(id, controller.signal), () => select(id));
    if (flight) await flight;
    if (controller !== selectController || !feature) return;
    if (feature.gone) {
      const notice = retractedNotice(id, feature.gone);
      showInPanel(notice);
      fillLater(api.history(id, { signal: controller.signal }), (history) => fillHistory(notice, history));
      return;
    }
    onDetails?.(feature);
    const card = buildIncidentCard(feature, { palette, onSelect, countryName: (code) => config.countries[code]?.[1] ?? code });
    // The before/after figures and the history load while the card opens.
    const { signal } = controller;
    fillLater(api.beforeAfter(id, BEFORE_AFTER_DAYS, { signal }).then(toBeforeAfter), (ba) => fillBeforeAfter(card, ba));
    fillLater(api.history(id, { signal }), (history) => fillHistory(card, history));
    const previous = currentPopup;
    currentPopup = null;
    if (previous) map.closePopup(previous);
    selectionLayer.clearLayers();
    detail.hidden = true;
    if (!feature.geometry) {
      showInPanel(el("p", { class: "muted small", text: "No map location: shown here instead of on the map." }), card);
      return;
    }
    const [lon, lat] = feature.geometry.coordinates;
    const latlng = L.latLng(lat, lon);
    L.circleMarker(latlng, {
      pane: "selection",
      radius: radiusFor(feature.properties.casualties_best) + 5,
      fill: false,
      color: "#000000",
      weight: 2.5,
      className: "selection-ring",
      interactive: false,
    }).addTo(selectionLayer);
    const open = () => {
      if (controller !== selectController) return;
      // Following the URL (load, back/forward), the popup may pan the map into view, but that move
      // must not rewrite the bbox the URL restored.
      if (!fly) map.once("autopanstart", ignoreNextMove);
      const popup = L.popup({
        maxWidth: 360,
        minWidth: 260,
        maxHeight: Math.max(220, Math.round(container.clientHeight * 0.7)),
        autoPanPaddingTopLeft: L.point(16, 16),
        className: "incident-popup",
      })
        .setLatLng(latlng)
        .setContent(card);
      currentPopup = popup;
      popup.openOn(map);
    };
    if (fly) await flyTo(latlng);
    open();
  }

  return { select };
}
