// Orders → Messages: thread list with filter panel, bulk read/unread, pagination, live refresh (row by row).
import { messaging, projections } from "./api.js";
import { adminShell } from "./admin-shell.js";
import { onBell, RELOAD_DELAY_MS } from "./bell.js";
import { errorBox, h, replace } from "./dom.js";
import { formatDateTime } from "./format.js";
import { patchPage } from "./list-patch.js";
import { disputeLine, hasNews, rowNews, rowTime, shownMessage } from "./thread-rows.js";

adminShell("messages");
const PER_PAGE = 25;
const main = document.getElementById("main");
const params = new URLSearchParams(location.search);
const state = {
  q: params.get("q") || "",
  type: ["all", "unread", "disputes", "unseen_disputes"].includes(params.get("type")) ? params.get("type") : "all",
  page: Math.max(1, Number(params.get("page")) || 1),
  result: null,
  selected: new Set(),
  status: null,
};
const orderUrl = (row) => `/admin/orders/${encodeURIComponent(row.order_id)}#messages`;

function syncUrl() {
  const query = new URLSearchParams();
  if (state.q) query.set("q", state.q);
  if (state.type !== "all") query.set("type", state.type);
  if (state.page > 1) query.set("page", String(state.page));
  const search = query.toString();
  history.replaceState(null, "", search ? `?${search}` : location.pathname);
}

let loading = 0; // list reads in flight
let loads = 0; // list reads started

async function load() {
  syncUrl();
  loading += 1;
  loads += 1;
  try {
    state.result = await projections.threads({ q: state.q, type: state.type, page: state.page, per_page: PER_PAGE });
  } catch (error) {
    state.result = null;
    state.status = errorBox(error);
  } finally {
    loading -= 1;
  }
  render();
}

// The order ids of every thread that matches the current filter (all pages).
async function matchingOrderIds() {
  const ids = [];
  for (let page = 1; ; page += 1) {
    const result = await projections.threads({ q: state.q, type: state.type, page, per_page: 100 });
    ids.push(...result.items.map((row) => row.order_id));
    if (result.items.length === 0 || ids.length >= result.total) return ids;
  }
}

async function mark(read, scope) {
  let selection;
  if (scope === "filter") {
    selection = !state.q && state.type === "all" ? { all: true } : { order_ids: await matchingOrderIds() };
  } else {
    selection = { order_ids: [...state.selected] };
  }
  if (!selection.all && selection.order_ids.length === 0) {
    state.status = h("div", { class: "alert" }, "Select one or more threads first.");
    render();
    return;
  }
  try {
    const result = await messaging.markThreads(read, selection);
    const n = selection.all ? "All" : String(selection.order_ids.length);
    state.status = h("div", { class: "alert alert-ok", role: "status" },
      `${n} thread(s) marked as ${read ? "read" : "unread"}.`, result && result.results ? "" : "");
    state.selected.clear();
  } catch (error) {
    state.status = errorBox(error);
  }
  await load();
}

function filterPanel() {
  const q = h("input", { type: "search", name: "q", id: "filter-q", dir: "auto", value: state.q, placeholder: "Order number or message text", "aria-label": "Keywords" });
  const type = h("select", { name: "type", id: "filter-type", "aria-label": "Type" },
    h("option", { value: "all" }, "All messages"),
    h("option", { value: "unread" }, "Unread messages"),
    h("option", { value: "disputes" }, "Open disputes"),
    h("option", { value: "unseen_disputes" }, "Open disputes not seen yet"));
  type.value = state.type;
  const form = h("form", { class: "filter-panel card", id: "filter-form", role: "search" },
    h("label", { class: "field grow" }, h("span", {}, "Keywords"), q),
    h("label", { class: "field" }, h("span", {}, "Show"), type),
    h("button", { type: "submit", class: "button button-primary", id: "filter-search" }, "Search"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    Object.assign(state, { q: q.value.trim(), type: type.value, page: 1, status: null });
    state.selected.clear();
    load();
  });
  type.addEventListener("change", () => form.requestSubmit());
  return form;
}

function bulkBar() {
  const scope = h("select", { id: "bulk-scope", "aria-label": "Apply to" },
    h("option", { value: "selected" }, "Selected threads"),
    h("option", { value: "filter" }, "All threads matching the filter"));
  const run = (read) => () => mark(read, scope.value);
  return h("div", { class: "bulk-bar" },
    h("span", { class: "muted" }, "Apply to"), scope,
    h("button", { type: "button", class: "button", id: "mark-read", onclick: run(true) }, "Mark as read"),
    h("button", { type: "button", class: "button", id: "mark-unread", onclick: run(false) }, "Mark as unread"),
    h("span", { class: "muted", id: "selected-count" }));
}

// "New message for order #00011" / "New dispute on order #00011" / both; nothing when nothing is new.
function newNote(item, news) {
  const count = news.unread_messages > 1 ? ` (${news.unread_messages})` : "";
  let text = null;
  if (news.message && news.dispute) text = `New message and dispute for order ${item.order_number}${count}`;
  else if (news.message) text = `New message for order ${item.order_number}${count}`;
  else if (news.dispute) text = `New dispute on order ${item.order_number}`;
  return text ? h("div", { class: "new-note" }, text) : null;
}

function row(item) {
  const checked = state.selected.has(item.order_id);
  const box = h("input", { type: "checkbox", class: "row-check", checked, "aria-label": `Select order ${item.order_number}` });
  box.addEventListener("change", () => {
    if (box.checked) state.selected.add(item.order_id);
    else state.selected.delete(item.order_id);
    showSelectedCount();
  });
  const shown = shownMessage(item);
  const tr = h("tr", { class: hasNews(item) ? "thread-row unread" : "thread-row", dataset: { orderId: item.order_id } },
    h("td", { class: "col-check" }, box),
    h("td", { class: "col-link" }, h("a", { href: orderUrl(item), class: "order-link" }, item.order_number),
      h("div", { class: "muted small" }, item.customer ? item.customer.name : "")),
    h("td", { class: "col-message" },
      newNote(item, rowNews(item)),
      shown ? h("div", { class: "excerpt" }, h("span", { class: "excerpt-author" }, `${shown.author.display_name}: `),
        h("span", { class: "excerpt-text", dir: "auto" }, shown.excerpt)) : null,
      disputeLine(item)),
    h("td", { class: "col-date" }, h("div", {}, formatDateTime(rowTime(item))),
      item.dispute && !item.dispute.closed_at ? h("div", { class: "dispute-flag" }, "Dispute") : null));
  tr.addEventListener("click", (event) => {
    if (event.target.closest("input, a, label")) return;
    location.assign(orderUrl(item));
  });
  return tr;
}

// Nothing to page through in an empty list: the list says so itself (never "0–0 of 0").
function pagination(result) {
  if (!result.total) return null;
  const pages = Math.max(1, Math.ceil(result.total / PER_PAGE));
  const first = result.total ? (state.page - 1) * PER_PAGE + 1 : 0;
  const lastShown = Math.min(result.total, state.page * PER_PAGE);
  const go = (page) => () => {
    state.page = page;
    load();
  };
  return h("div", { class: "pagination" },
    h("span", { class: "muted", id: "page-info" }, `${first}–${lastShown} of ${result.total}`),
    h("button", { type: "button", class: "button", disabled: state.page <= 1, onclick: go(state.page - 1) }, "‹ Previous"),
    h("span", {}, `Page ${state.page} of ${pages}`),
    h("button", { type: "button", class: "button", disabled: state.page >= pages, onclick: go(state.page + 1) }, "Next ›"));
}

function table(result) {
  if (!result.items.length) {
    const text = result.total ? "Nothing on this page." : state.q || state.type !== "all" ? "No conversations match the filter."
      : "No conversations yet.";
    return h("p", { class: "empty", id: "no-threads" }, text);
  }
  const all = h("input", { type: "checkbox", id: "check-all", "aria-label": "Select all on this page",
    checked: result.items.every((item) => state.selected.has(item.order_id)) });
  all.addEventListener("change", () => {
    for (const item of result.items) {
      if (all.checked) state.selected.add(item.order_id);
      else state.selected.delete(item.order_id);
    }
    render();
  });
  return h("table", { class: "grid", id: "threads" },
    h("thead", {}, h("tr", {}, h("th", { class: "col-check" }, all), h("th", {}, "Link"), h("th", {}, "Message"), h("th", {}, "Date"))),
    h("tbody", {}, result.items.map(row)));
}

const listArea = h("div", { id: "thread-list" });
const results = h("section", { class: "card", id: "results" }, bulkBar(), listArea);
replace(main,
  h("nav", { class: "breadcrumbs", "aria-label": "Breadcrumb" }, "Orders / Messages"),
  h("div", { class: "page-head" }, h("h1", {}, "Messages")),
  filterPanel(),
  results);

function showSelectedCount() {
  document.getElementById("selected-count").textContent = state.selected.size ? `${state.selected.size} selected` : "";
}

function render() {
  replace(listArea, state.status, state.result ? [table(state.result), pagination(state.result)] : null);
  showSelectedCount();
}

// Live refresh: bell alerts naming threads read those threads' rows alone and patch the page in place
// (list-patch.js); alerts that come while rows are read wait, then each thread's are handled together (one row read
// per thread however many alerts it had). The page and its total are read again (once a burst is over) only when
// - the bell update names no thread: the stream's first update on (re)connecting, polling while it is down;
// - a list read is in flight or due already (it shows the alerts' events too);
// - a row cannot be read (an error, or 404);
// - patchPage cannot patch the page correctly (a keyword search, a page other than 1 where rows moved, a total
//   that cannot be known, ...: see list-patch.js).
let reloadTimer = null;
let waiting = []; // alerts not handled yet, in the order they came
let working = false;

function reloadSoon() {
  waiting = []; // the reload shows their events: the tab has noted their positions
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => {
    reloadTimer = null;
    load();
  }, RELOAD_DELAY_MS);
}

const settled = () => reloadTimer === null && !loading && state.result !== null;

// Each thread's alerts, in the order of their latest one.
function byThread(alerts) {
  const groups = new Map();
  for (const alert of alerts) {
    const group = groups.get(alert.order_id) || [];
    groups.delete(alert.order_id);
    groups.set(alert.order_id, [...group, alert]);
  }
  return [...groups.values()];
}

async function patchFrom(alerts) {
  const groups = byThread(alerts);
  const started = loads;
  let rows;
  try {
    const latest = (group) => group[group.length - 1];
    rows = await Promise.all(groups.map((group) => projections.threadRow(latest(group).order_id, latest(group).position)));
  } catch {
    return false;
  }
  if (loads !== started) return true; // the list was read since the alerts came (another filter or page, say): done
  if (!settled()) return false;
  let result = state.result;
  for (const [n, group] of groups.entries()) {
    const last = n === groups.length - 1;
    const view = { type: state.type, q: state.q, page: state.page, perPage: PER_PAGE };
    result = patchPage(result, rows[n], { ...view, alerts: group, last });
    if (!result) return false;
  }
  if (result !== state.result) {
    state.result = result;
    render();
  }
  return true;
}

async function work() {
  working = true;
  try {
    while (waiting.length) {
      if (!settled()) return reloadSoon();
      const alerts = waiting;
      waiting = [];
      if (!(await patchFrom(alerts))) return reloadSoon();
    }
  } finally {
    working = false;
  }
  return undefined;
}

onBell((counts, alert) => {
  const named = alert && typeof alert.order_id === "string" && alert.order_id && Number.isSafeInteger(alert.position);
  if (!named) {
    reloadSoon();
    return;
  }
  waiting.push(alert);
  if (!working) work();
});
load();
