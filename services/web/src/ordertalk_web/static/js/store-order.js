// Customer order page: "Contact seller" thread, reply box, open/close a dispute.
import { ApiError, messaging, projections } from "./api.js";
import { errorBox, h, replace } from "./dom.js";
import { formatDateTime } from "./format.js";
import { onBell } from "./bell.js";
import { storeShell } from "./store-shell.js";
import { disputeBanner, disputeButton, messageList, olderMessages, replyForm, threadPages } from "./thread-view.js";

storeShell();
const orderId = decodeURIComponent(location.pathname.split("/").pop());
const main = document.getElementById("main");
const state = { order: null, thread: null, readBefore: null };
const pages = threadPages((params) => projections.threadIfAny(orderId, params)); // the latest page, older on demand

async function refresh() {
  state.thread = await pages.latest();
  render();
  const thread = state.thread;
  if (thread && (thread.unread || thread.unseen_dispute) && !document.hidden) { // reading marks the dispute seen
    await messaging.markRead(orderId);
    state.thread = await pages.latest();
    render();
  }
}

function render() {
  const { order, thread } = state;
  if (state.readBefore === null) state.readBefore = thread && thread.read_positions ? thread.read_positions.customer || 0 : 0;
  document.title = `Order ${order.order_number}`;
  const hasMessages = thread && (thread.messages || []).length > 0;
  const hasDisputes = thread && (thread.disputes || []).length > 0;
  const draft = document.getElementById("reply-body")?.value || "";
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
  replace(main,
    h("nav", { class: "breadcrumbs", "aria-label": "Breadcrumb" }, h("a", { href: "/store/messages" }, "My account"), " / ", `Order ${order.order_number}`),
    h("div", { class: "page-head" }, h("h1", {}, `Order ${order.order_number}`),
      h("span", { class: "muted" }, order.placed_at ? `Placed ${formatDateTime(order.placed_at)}` : "")),
    h("section", { class: "card", id: "messages-panel" },
      h("div", { class: "panel-toolbar" }, h("h2", {}, "Contact seller"), disputeButton(thread, order.order_number, actions, "customer")),
      disputeBanner(thread && thread.dispute, true),
      olderMessages(thread, async () => {
        state.thread = await pages.older();
        render();
      }),
      hasMessages || hasDisputes ? messageList(thread, "customer", state.readBefore) : null,
      hasMessages ? null : h("p", { class: "empty", id: "no-messages" }, "Questions about this order? Write to the seller below."),
      replyForm(async (body) => {
        await messaging.post(orderId, body);
        await refresh();
      }, "Send")));
  const box = document.getElementById("reply-body");
  if (box) {
    box.value = draft;
    box.dispatchEvent(new Event("input")); // the character counter follows the restored draft
  }
}

async function load() {
  try {
    state.order = await projections.order(orderId);
  } catch (error) {
    const text = error instanceof ApiError && error.status === 404 ? "We could not find this order." : error.message;
    replace(main, h("h1", {}, "Order"), errorBox(new Error(text)));
    return;
  }
  await refresh();
}

onBell((counts, alert) => {
  if (alert && alert.order_id === orderId && state.order) refresh().catch(() => {});
});
load();
