// Live counts: the notifier's SSE stream, falling back to polling the projection API's /v1/bell.
import { notePosition, projections, streamUrl } from "./api.js";

const POLL_MS = 4000;

// Calls onCounts(counts, alert) whenever the counts change; alert is the stream's payload or null.
export function watchBell(onCounts) {
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
  const source = new EventSource(streamUrl());
  source.addEventListener("bell", (event) => {
    stopPolling();
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    if (typeof data.position === "number") notePosition(data.position);
    onCounts(data.counts || data, data);
  });
  source.addEventListener("error", startPolling);
  window.addEventListener("pagehide", () => source.close());
}
