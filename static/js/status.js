// Loading and error states the user can see: a progress bar while any request is in flight, and an
// alert banner (with Retry) when the API fails. Aborted requests are neither.

import { isAbort } from "./api.js";

export function createStatus({ progress, banner }) {
  let pending = 0;
  const message = banner.querySelector("[data-role=message]");
  const retry = banner.querySelector("[data-role=retry]");
  const dismiss = banner.querySelector("[data-role=dismiss]");
  const failures = new Map(); // channel -> retry function
  let lastRetry = null;

  function render() {
    progress.hidden = pending === 0;
    document.body.setAttribute("aria-busy", pending > 0 ? "true" : "false");
  }

  function showError(channel, error, again) {
    failures.set(channel, again);
    lastRetry = () => {
      const retries = [...failures.values()];
      failures.clear();
      banner.hidden = true;
      for (const fn of retries) fn?.();
    };
    message.textContent = error?.message || String(error);
    retry.hidden = !again;
    banner.hidden = false;
  }

  function clearError(channel) {
    failures.delete(channel);
    if (failures.size === 0) banner.hidden = true;
  }

  retry.addEventListener("click", () => lastRetry?.());
  dismiss.addEventListener("click", () => {
    failures.clear();
    banner.hidden = true;
  });

  /**
   * Runs `task()` as the named channel's current request. Resolves to its value, or to undefined if
   * it was aborted or failed (failure shown in the banner, with `again` as Retry).
   */
  async function track(channel, task, again) {
    pending += 1;
    render();
    try {
      const value = await task();
      clearError(channel);
      return value;
    } catch (error) {
      if (!isAbort(error)) {
        showError(channel, error, again);
        console.warn(`${channel}:`, error.message);
      }
      return undefined;
    } finally {
      pending -= 1;
      render();
    }
  }

  return { track, showError, clearError };
}
