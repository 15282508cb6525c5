// The admin panel frame: header with the bell and its menu, left navigation, live counts.
import { config } from "./api.js";
import { watchBell } from "./bell.js";
import { BELL_PATH, badge, h, replace, setBadge, svgIcon } from "./dom.js";
import { requireRole, signOut } from "./session.js";

// What each figure counts (product.md, "Counts"); every count on screen says it.
const NEWS = "Conversations that need your attention: unread messages or a dispute you have not seen";
const MESSAGES = "Conversations with unread messages";
const DISPUTES = "Open disputes you have not seen";

// A count's figure with what it counts as its tooltip (the link or button around it says it to screen readers).
export function labelCount(element, count, what) {
  const n = Number(count) || 0;
  setBadge(element, n);
  element.title = `${what}: ${n}`;
  return n;
}

const conversations = (n) => `${n} ${n === 1 ? "conversation" : "conversations"}`;

function bellMenu() {
  const total = badge(0, "badge-bell");
  total.id = "bell-badge";
  const messages = badge(0);
  messages.id = "bell-messages-count";
  const disputes = badge(0, "badge-danger");
  disputes.id = "bell-disputes-count";
  const messagesLink = h("a", { href: "/admin/messages?type=unread", role: "menuitem", class: "bell-link",
    id: "bell-messages", title: MESSAGES }, "Messages", " ", messages);
  const disputesLink = h("a", { href: "/admin/messages?type=unseen_disputes", role: "menuitem", class: "bell-link",
    id: "bell-disputes", title: DISPUTES }, "Disputes", " ", disputes);
  const menu = h(
    "div",
    { class: "bell-menu", id: "bell-menu", role: "menu", hidden: true },
    h("div", { class: "bell-menu-title" }, "Notifications"),
    messagesLink,
    disputesLink,
  );
  const button = h(
    "button",
    { type: "button", class: "bell", id: "bell", "aria-haspopup": "menu", "aria-expanded": "false", title: NEWS },
    svgIcon(BELL_PATH),
    total,
  );
  button.addEventListener("click", (event) => {
    event.stopPropagation();
    menu.hidden = !menu.hidden;
    button.setAttribute("aria-expanded", String(!menu.hidden));
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !menu.hidden) {
      menu.hidden = true;
      button.setAttribute("aria-expanded", "false");
    }
  });
  document.addEventListener("click", (event) => {
    if (!menu.contains(event.target)) {
      menu.hidden = true;
      button.setAttribute("aria-expanded", "false");
    }
  });
  const update = (counts) => {
    const news = Number(counts.threads_with_news) || 0;
    const unread = Number(counts.threads_with_unread_messages) || 0;
    const unseen = Number(counts.unseen_disputes) || 0;
    labelCount(total, news, NEWS);
    labelCount(messages, unread, MESSAGES);
    labelCount(disputes, unseen, DISPUTES);
    button.title = `${NEWS}: ${news}`;
    button.setAttribute("aria-label", `Notifications: ${conversations(news)} with news for you`);
    messagesLink.setAttribute("aria-label", `Messages: ${conversations(unread)} with unread messages`);
    disputesLink.setAttribute("aria-label", `Disputes: ${unseen} open ${unseen === 1 ? "dispute" : "disputes"} you have not seen`);
    button.dataset.threadsWithNews = String(news);
    button.dataset.threadsWithUnreadMessages = String(unread);
    button.dataset.unseenDisputes = String(unseen);
  };
  return { element: h("div", { class: "bell-wrap" }, button, menu), update };
}

// A space before the count: the visible text ("Messages 3") must be part of the link's aria-label.
function navLink(href, label, active, extra) {
  return h("a", { href, class: active ? "nav-link active" : "nav-link", "aria-current": active ? "page" : null },
    label, extra ? " " : null, extra);
}

// Build the frame around #main; `section` is "orders" or "messages".
export function adminShell(section) {
  const session = requireRole("admin");
  const bell = bellMenu();
  const navUnread = badge(0);
  navUnread.id = "nav-messages-count";
  replace(
    document.getElementById("topbar"),
    h("a", { class: "brand", href: "/admin/messages" }, h("span", { class: "brand-mark" }, "ot"),
      h("span", {}, config.storeName), h("span", { class: "brand-sub" }, "Admin")),
    h("div", { class: "topbar-right" }, bell.element,
      h("span", { class: "user-name", id: "user-name" }, session.user.name),
      h("button", { type: "button", class: "link-button", onclick: signOut }, "Sign out")),
  );
  const messagesNav = navLink("/admin/messages", "Messages", section === "messages", navUnread);
  messagesNav.id = "nav-messages";
  replace(
    document.getElementById("sidenav"),
    h("div", { class: "nav-group" }, "Orders"),
    navLink("/admin/orders", "Orders list", section === "orders"),
    messagesNav,
  );
  watchBell((counts) => {
    bell.update(counts);
    const unread = labelCount(navUnread, counts.threads_with_unread_messages, MESSAGES); // the bell's Messages figure
    messagesNav.setAttribute("aria-label", `Messages: ${conversations(unread)} with unread messages`);
  });
  return session;
}
