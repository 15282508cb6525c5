// My account → Messages: the customer's conversations with unread markers.
import { ApiError, projections } from "./api.js";
import { errorBox, h, replace } from "./dom.js";
import { formatDateTime, plural } from "./format.js";
import { reloadOnBell } from "./bell.js";
import { storeShell } from "./store-shell.js";
import { disputeLine, hasNews, rowNews, rowTime, shownMessage } from "./thread-rows.js";

storeShell();
const main = document.getElementById("main");
const orderUrl = (id) => `/store/orders/${encodeURIComponent(id)}`;
const threadsBox = h("section", { class: "card", id: "results" });
const ordersBox = h("section", { class: "card", id: "my-orders", hidden: true });
replace(main, h("div", { class: "page-head" }, h("h1", {}, "My messages")), threadsBox, ordersBox);

// One conversation: what is new for the customer (messages by the store, a dispute the store opened) first.
function threadItem(row) {
  const shown = shownMessage(row);
  const unread = rowNews(row).unread_messages;
  const open = row.dispute && !row.dispute.closed_at;
  const when = rowTime(row);
  const item = h("li", { class: hasNews(row) ? "store-thread unread" : "store-thread", dataset: { orderId: row.order_id } },
    h("div", { class: "store-thread-head" },
      h("a", { href: orderUrl(row.order_id), class: "order-link" }, `Order ${row.order_number}`),
      unread ? h("span", { class: "new-chip" }, plural(unread, "new message", "new messages")) : null,
      open ? h("span", { class: "dispute-flag" }, "Dispute in progress") : null,
      h("time", { class: "muted small", datetime: when || null }, formatDateTime(when))),
    shown ? h("div", { class: "excerpt" }, h("span", { class: "excerpt-author" }, `${shown.author.display_name}: `),
      h("span", { class: "excerpt-text", dir: "auto" }, shown.excerpt)) : null,
    disputeLine(row));
  item.addEventListener("click", (event) => {
    if (!event.target.closest("a")) location.assign(orderUrl(row.order_id));
  });
  return item;
}

async function loadOrders() {
  // Shown when the projection API lists the customer's own orders (to start a conversation).
  try {
    const result = await projections.orders({ messages: "all", per_page: 50 });
    replace(ordersBox, h("h2", {}, "My orders"), h("ul", { class: "plain-list" }, result.items.map((order) =>
      h("li", {}, h("a", { href: orderUrl(order.order_id) }, `Order ${order.order_number}`), " ",
        h("span", { class: "muted small" }, formatDateTime(order.placed_at))))));
    ordersBox.hidden = result.items.length === 0;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    ordersBox.hidden = true;
  }
}

async function load() {
  try {
    const result = await projections.threads({ type: "all", per_page: 50 });
    replace(threadsBox, result.items.length
      ? h("ul", { class: "store-threads", id: "threads" }, result.items.map(threadItem))
      : h("p", { class: "empty", id: "no-threads" }, "You have no messages yet. Open one of your orders to contact the seller."));
  } catch (error) {
    replace(threadsBox, errorBox(error));
  }
}

reloadOnBell(load);
load();
loadOrders();
