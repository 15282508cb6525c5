// Orders list with the "Messages" filter: all orders / with unread messages / with any messages.
import { projections } from "./api.js";
import { adminShell } from "./admin-shell.js";
import { reloadOnBell } from "./bell.js";
import { badge, errorBox, h, replace } from "./dom.js";
import { formatDateTime, plural } from "./format.js";

adminShell("orders");
const PER_PAGE = 25;
const main = document.getElementById("main");
const params = new URLSearchParams(location.search);
const state = {
  messages: ["all", "unread", "any"].includes(params.get("messages")) ? params.get("messages") : "all",
  page: Math.max(1, Number(params.get("page")) || 1),
};
const orderUrl = (row) => `/admin/orders/${encodeURIComponent(row.order_id)}`;

function filterPanel() {
  const select = h("select", { name: "messages", id: "filter-messages", "aria-label": "Messages" },
    h("option", { value: "all" }, "All orders"),
    h("option", { value: "unread" }, "Orders with unread messages"),
    h("option", { value: "any" }, "Orders with any messages"));
  select.value = state.messages;
  const form = h("form", { class: "filter-panel card", id: "orders-filter" },
    h("label", { class: "field" }, h("span", {}, "Messages"), select),
    h("button", { type: "submit", class: "button button-primary" }, "Search"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    state.messages = select.value;
    state.page = 1;
    load();
  });
  select.addEventListener("change", () => form.requestSubmit());
  return form;
}

// The order's unread messages (product.md, "Counts"), saying so in its tooltip.
function unreadBadge(n) {
  const element = badge(n, "badge-danger");
  element.title = `Unread messages in this conversation: ${Number(n) || 0}`;
  return element;
}

function row(order) {
  const tr = h("tr", { class: "order-row", dataset: { orderId: order.order_id } },
    h("td", {}, h("a", { href: orderUrl(order), class: "order-link" }, order.order_number)),
    h("td", {}, order.customer.name, h("div", { class: "muted small" }, order.customer.email)),
    h("td", {}, formatDateTime(order.placed_at) || "—"),
    h("td", { class: "col-count" }, order.has_messages ? String(order.message_count) : h("span", { class: "muted" }, "—"),
      " ", unreadBadge(order.unread_for_admin)));
  tr.addEventListener("click", (event) => {
    if (!event.target.closest("a")) location.assign(orderUrl(order));
  });
  return tr;
}

const results = h("section", { class: "card", id: "results" });
replace(main, h("nav", { class: "breadcrumbs", "aria-label": "Breadcrumb" }, "Orders / Orders list"),
  h("div", { class: "page-head" }, h("h1", {}, "Orders")), filterPanel(), results);

async function load() {
  const query = new URLSearchParams();
  if (state.messages !== "all") query.set("messages", state.messages);
  if (state.page > 1) query.set("page", String(state.page));
  history.replaceState(null, "", query.toString() ? `?${query}` : location.pathname);
  let result;
  try {
    result = await projections.orders({ messages: state.messages, page: state.page, per_page: PER_PAGE });
  } catch (error) {
    replace(results, errorBox(error));
    return;
  }
  const pages = Math.max(1, Math.ceil(result.total / PER_PAGE));
  const go = (page) => () => {
    state.page = page;
    load();
  };
  replace(results,
    result.items.length
      ? h("table", { class: "grid", id: "orders" },
          h("thead", {}, h("tr", {}, h("th", {}, "Order #"), h("th", {}, "Customer"), h("th", {}, "Date"), h("th", {}, "Messages"))),
          h("tbody", {}, result.items.map(row)))
      : h("p", { class: "empty", id: "no-orders" }, result.total ? "Nothing on this page."
        : state.messages === "all" ? "No orders yet." : "No orders match the filter."),
    // An empty list says so above; no "0 orders, page 1 of 1".
    result.total === 0 ? null : h("div", { class: "pagination" },
      h("span", { class: "muted", id: "orders-info" }, plural(result.total, "order", "orders")),
      h("button", { type: "button", class: "button", disabled: state.page <= 1, onclick: go(state.page - 1) }, "‹ Previous"),
      h("span", {}, `Page ${state.page} of ${pages}`),
      h("button", { type: "button", class: "button", disabled: state.page >= pages, onclick: go(state.page + 1) }, "Next ›")));
}

reloadOnBell(load);
load();
