// Live counts: the notifier's SSE stream, falling back to polling the projection API's /v1/bell.
import { notePosition, projections, streamUrl } from "./api.js";

const POLL_MS = 4000;
const REOPEN_MS = 2000;
export const RELOAD_DELAY_MS = 150; // a burst of bell updates causes one reload, this long after the last
const listeners = [];

// Register a callback for every bell update (counts, alert); pages refresh from it.
export function onBell(listener) {
  listeners.push(listener);
}

// Call `load` once a burst of bell updates is over (only updates with an alert unless `always`).
export function reloadOnBell(load, { always = false } = {}) {
  let pending = null;
  onBell((counts, alert) => {
    if (!alert && !always) return;
    clearTimeout(pending);
    pending = setTimeout(load, RELOAD_DELAY_MS);
  });
}

// Calls shellUpdate(counts, alert), then every onBell listener, whenever the counts change; alert is
// the stream's payload or null.
export function watchBell(shellUpdate) {
  const onCounts = (counts, alert) => {
    shellUpdate(counts, alert);
    for (const listener of listeners) listener(counts, alert);
  };
  let pollTimer = null;
  const poll = async () => {
    try {
      onCounts(await projections.bell(), null);
    } catch {
      /* the next poll tries again */
    }
  };
  const startPolling = () => {
    if (pollTimer !== null) return;
    poll();
    pollTimer = setInterval(poll, POLL_MS);
  };
  const stopPolling = () => {
    if (pollTimer !== null) clearInterval(pollTimer);
    pollTimer = null;
  };
  if (typeof EventSource !== "function") {
    startPolling();
    return;
  }
  let source = null;
  let leaving = false;
  // Open the stream with a new ticket; when the stream closes for good (its ticket expired or the
  // notifier restarted and forgot it), poll meanwhile and open it again with another ticket.
  const open = async () => {
    const url = leaving ? null : await streamUrl();
    if (leaving) return;
    if (!url) {
      startPolling();
      setTimeout(open, REOPEN_MS * 5);
      return;
    }
    source = new EventSource(url);
    source.addEventListener("bell", (event) => {
      stopPolling();
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      if (typeof data.position === "number") notePosition(data.position, data.order_id);
      onCounts(data.counts || data, data);
    });
    source.addEventListener("error", (event) => {
      startPolling();
      if (event.target.readyState === EventSource.CLOSED) setTimeout(open, REOPEN_MS);
    });
  };
  window.addEventListener("pagehide", () => {
    leaving = true;
    if (source) source.close();
  });
  open();
}
