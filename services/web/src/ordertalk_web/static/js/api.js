// Calls to the projection API (reads) and the messaging API (writes), with read-your-writes.
import config from "/config.js";
import { clearSession, getSession, signInUrl } from "./session.js";

const POSITION_KEY = "ordertalk.position";
const POSITION_ORDER_KEY = "ordertalk.position.order"; // the order whose event stands at that position

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `request failed (${status})`);
    this.status = status;
    this.problem = problem || {};
  }
}

// The highest event-store position this tab has written or been told about.
export function lastPosition() {
  return Number(sessionStorage.getItem(POSITION_KEY) || 0);
}

// The order of the last position noted, when it is known: reads then wait for that thread exactly.
function lastPositionOrder() {
  return sessionStorage.getItem(POSITION_ORDER_KEY) || undefined;
}

export function notePosition(position, orderId) {
  if (Number.isSafeInteger(position) && position > lastPosition()) {
    sessionStorage.setItem(POSITION_KEY, String(position));
    if (typeof orderId === "string" && orderId) sessionStorage.setItem(POSITION_ORDER_KEY, orderId);
    else sessionStorage.removeItem(POSITION_ORDER_KEY);
  }
}

function newKey() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

async function send(url, init) {
  try {
    return await fetch(url, init);
  } catch {
    return null;
  }
}

async function request(base, path, { method = "GET", body, params } = {}) {
  const url = new URL(base + path);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, String(value));
  }
  const session = getSession();
  const headers = { Accept: "application/json" };
  if (session) headers.Authorization = `Bearer ${session.token}`;
  const init = { method, headers };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    headers["Idempotency-Key"] = newKey(); // the same key on a retry: the write lands once
    init.body = JSON.stringify(body ?? {});
  }
  let response = null;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    response = await send(url, init);
    if (response && response.status < 500) break;
  }
  if (!response) throw new ApiError(0, { title: "Network error", detail: "The service could not be reached." });
  if (response.status === 401) {
    clearSession();
    location.assign(signInUrl());
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  if (data && typeof data.position === "number") notePosition(data.position, data.order_id);
  return data;
}

function read(path, params = {}) {
  const after = lastPosition();
  const since = after > 0 ? { after, after_order: lastPositionOrder() } : {};
  return request(config.projectionsUrl, path, { params: { ...params, ...since } });
}

function write(path, body) {
  return request(config.messagingUrl, path, { method: "POST", body });
}

const order = (id) => `/v1/orders/${encodeURIComponent(id)}`;

export const projections = {
  threads: (params) => read("/v1/threads", params),
  // params: `limit`, `before_seq` (a page of older messages); without them, the latest page.
  thread: (orderId, params) => read(`/v1/threads/${encodeURIComponent(orderId)}`, params),
  // The order's thread, or null while the order has none (no message yet).
  threadIfAny: async (orderId, params) => {
    try {
      return await read(`/v1/threads/${encodeURIComponent(orderId)}`, params);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  },
  // One thread as a row of the thread list, once it has the event at `position` (a bell alert's).
  threadRow: (orderId, position) =>
    request(config.projectionsUrl, `/v1/threads/${encodeURIComponent(orderId)}/row`,
      { params: { after: position, after_order: orderId } }),
  orders: (params) => read("/v1/orders", params),
  order: (orderId) => read(order(orderId)),
  bell: () => read("/v1/bell"),
};

export const messaging = {
  post: (orderId, body) => write(`${order(orderId)}/messages`, { body }),
  openDispute: (orderId, reason) => write(`${order(orderId)}/dispute`, { reason }),
  closeDispute: (orderId) => write(`${order(orderId)}/dispute/close`, {}),
  markRead: (orderId) => write(`${order(orderId)}/read`, {}),
  markUnread: (orderId) => write(`${order(orderId)}/unread`, {}),
  markThreads: (read, selection) => write(read ? "/v1/threads/read" : "/v1/threads/unread", selection),
};

// The bell stream's URL with a short-lived stream ticket in it: an EventSource cannot send the bearer
// header, and a URL ends up in logs, so it carries the ticket, never the token. null without one.
export async function streamUrl() {
  const session = getSession();
  if (!session) return null;
  const headers = { Accept: "application/json", Authorization: `Bearer ${session.token}` };
  const response = await send(`${config.notifierUrl}/v1/stream/tickets`, { method: "POST", headers });
  const data = response && response.ok ? await response.json().catch(() => null) : null;
  if (!data || typeof data.ticket !== "string") return null;
  return `${config.notifierUrl}/v1/stream?ticket=${encodeURIComponent(data.ticket)}`;
}

export { config };
