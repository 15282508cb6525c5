// Admin order page: details tab and the Messages tab (thread, reply, disputes, read marking).
import { ApiError, messaging, projections } from "./api.js";
import { adminShell, labelCount } from "./admin-shell.js";
import { onBell } from "./bell.js";
import { badge, errorBox, h, replace } from "./dom.js";
import { formatDateTime, plural } from "./format.js";
import { disputeBanner, disputeButton, messageList, olderMessages, replyForm, threadPages } from "./thread-view.js";

adminShell("orders");
const orderId = decodeURIComponent(location.pathname.split("/").pop());
const main = document.getElementById("main");
const state = { order: null, thread: null, tab: location.hash === "#messages" ? "messages" : "details", readBefore: null };
const pages = threadPages((params) => projections.threadIfAny(orderId, params)); // the latest page, older on demand
const tabBadge = badge(0, "badge-danger");
tabBadge.id = "messages-tab-badge";
// The tab label (product.md, "Counts"): this thread's unread messages, and a marker while an unseen dispute is open.
const UNREAD = "Unread messages in this conversation";
const UNSEEN_DISPUTE = "An open dispute you have not seen";
const tabDispute = h("span", { class: "badge badge-danger tab-dispute", id: "messages-tab-dispute", title: UNSEEN_DISPUTE,
  hidden: true }, "!");

async function load() {
  try {
    [state.order, state.thread] = await Promise.all([projections.order(orderId), pages.latest()]);
  } catch (error) {
    const text = error instanceof ApiError && error.status === 404 ? "This order does not exist." : error.message;
    replace(main, h("h1", {}, "Order"), errorBox(new Error(text)));
    return;
  }
  render();
  if (state.tab === "messages") await markRead();
}

async function markRead() {
  const thread = state.thread;
  if (!thread || !(thread.unread || thread.unseen_dispute)) return; // reading also marks the dispute seen
  await messaging.markRead(orderId);
  state.thread = await pages.latest();
  render();
}

async function refresh() {
  state.thread = await pages.latest();
  render();
  if (state.tab === "messages" && !document.hidden) await markRead();
}

function selectTab(tab) {
  state.tab = tab;
  history.replaceState(null, "", tab === "messages" ? "#messages" : location.pathname);
  render();
  if (tab === "messages") markRead().catch(() => {});
}

function detailsPanel(order, thread) {
  const messages = thread ? thread.message_count : order.message_count; // the thread follows the bell, the order not
  const row = (label, value) => [h("dt", {}, label), h("dd", {}, value)];
  return h(
    "section",
    { class: "card", id: "details-panel" },
    h("dl", { class: "details" },
      row("Order number", order.order_number),
      row("Customer", order.customer.name),
      row("E-mail", order.customer.email),
      row("Placed", formatDateTime(order.placed_at) || "—"),
      row("Messages", plural(messages || 0, "message", "messages"))),
  );
}

function messagesPanel(order, thread) {
  if (state.readBefore === null) state.readBefore = thread && thread.read_positions ? thread.read_positions.admin || 0 : 0;
  const hasMessages = thread && (thread.messages || []).length > 0;
  const hasDisputes = thread && (thread.disputes || []).length > 0;
  const actions = {
    open: async (reason) => {
      await messaging.openDispute(orderId, reason);
      await refresh();
    },
    close: async () => {
      await messaging.closeDispute(orderId);
      await refresh();
    },
  };
  return h(
    "section",
    { class: "card", id: "messages-panel" },
    h("div", { class: "panel-toolbar" }, h("h2", {}, "Messages"), disputeButton(thread, order.order_number, actions)),
    disputeBanner(thread && thread.dispute, false),
    olderMessages(thread, async () => {
      state.thread = await pages.older();
      render();
    }),
    hasMessages || hasDisputes ? messageList(thread, "admin", state.readBefore) : null,
    hasMessages ? null : h("p", { class: "empty", id: "no-messages" },
      `There are no messages for this order yet. You can contact the customer, ${order.customer.name}, here:`),
    replyForm(async (body) => {
      await messaging.post(orderId, body);
      await refresh();
    }),
  );
}

function render() {
  const { order, thread } = state;
  if (!order) return;
  document.title = `Order ${order.order_number} — Admin`;
  const unread = labelCount(tabBadge, thread ? thread.unread : 0, UNREAD);
  const unseenDispute = Boolean(thread && thread.unseen_dispute);
  tabDispute.hidden = !unseenDispute;
  const tabLabel = [`Messages: ${plural(unread, "unread message", "unread messages")}`,
    unseenDispute ? UNSEEN_DISPUTE.toLowerCase() : null].filter(Boolean).join(", ");
  const tab = (name, label, ...extra) =>
    h("button", { type: "button", role: "tab", class: state.tab === name ? "tab active" : "tab", id: `tab-${name}`,
      "aria-label": name === "messages" ? tabLabel : null, "aria-selected": String(state.tab === name),
      onclick: () => selectTab(name) }, label, ...extra);
  const focused = document.activeElement && document.activeElement.id === "reply-body";
  const draft = document.getElementById("reply-body")?.value || "";
  replace(
    main,
    h("nav", { class: "breadcrumbs", "aria-label": "Breadcrumb" }, h("a", { href: "/admin/orders" }, "Orders"), " / ", order.order_number),
    h("div", { class: "page-head" },
      h("h1", {}, `Order ${order.order_number}`),
      h("span", { class: "muted" }, `${order.customer.name} · ${order.customer.email}`)),
    h("div", { class: "tabs", role: "tablist" }, tab("details", "Details"), tab("messages", "Messages", tabBadge, tabDispute)),
    state.tab === "messages" ? messagesPanel(order, thread) : detailsPanel(order, thread),
  );
  const box = document.getElementById("reply-body");
  if (box) {
    box.value = draft;
    box.dispatchEvent(new Event("input")); // the character counter follows the restored draft
    if (focused) box.focus();
  }
}

onBell((counts, alert) => {
  if (alert && alert.order_id === orderId) refresh().catch(() => {});
});
load();
