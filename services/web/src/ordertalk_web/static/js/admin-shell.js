// The admin panel frame: header with the bell and its menu, left navigation, live counts.
import { config } from "./api.js";
import { watchBell } from "./bell.js";
import { BELL_PATH, badge, h, replace, setBadge, svgIcon } from "./dom.js";
import { requireRole, signOut } from "./session.js";

function bellMenu() {
  const total = badge(0, "badge-bell");
  const messages = badge(0);
  const disputes = badge(0, "badge-danger");
  const menu = h(
    "div",
    { class: "bell-menu", id: "bell-menu", role: "menu", hidden: true },
    h("div", { class: "bell-menu-title" }, "Notifications"),
    h("a", { href: "/admin/messages?type=unread", role: "menuitem", class: "bell-link", id: "bell-messages" },
      "Messages", messages),
    h("a", { href: "/admin/messages?type=disputes", role: "menuitem", class: "bell-link", id: "bell-disputes" },
      "Disputes", disputes),
  );
  const button = h(
    "button",
    { type: "button", class: "bell", id: "bell", "aria-haspopup": "menu", "aria-expanded": "false", title: "Notifications" },
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
    setBadge(total, (counts.unread_messages || 0) + (counts.open_disputes || 0));
    setBadge(messages, counts.unread_messages);
    setBadge(disputes, counts.open_disputes);
    button.dataset.unreadMessages = String(counts.unread_messages || 0);
    button.dataset.openDisputes = String(counts.open_disputes || 0);
  };
  return { element: h("div", { class: "bell-wrap" }, button, menu), update };
}

function navLink(href, label, active, extra) {
  return h("a", { href, class: active ? "nav-link active" : "nav-link", "aria-current": active ? "page" : null },
    label, extra);
}

// Build the frame around #main; `section` is "orders" or "messages".
export function adminShell(section) {
  const session = requireRole("admin");
  const bell = bellMenu();
  const navUnread = badge(0);
  replace(
    document.getElementById("topbar"),
    h("a", { class: "brand", href: "/admin/messages" }, h("span", { class: "brand-mark" }, "ot"),
      h("span", {}, config.storeName), h("span", { class: "brand-sub" }, "Admin")),
    h("div", { class: "topbar-right" }, bell.element,
      h("span", { class: "user-name", id: "user-name" }, session.user.name),
      h("button", { type: "button", class: "link-button", onclick: signOut }, "Sign out")),
  );
  replace(
    document.getElementById("sidenav"),
    h("div", { class: "nav-group" }, "Orders"),
    navLink("/admin/orders", "Orders list", section === "orders"),
    navLink("/admin/messages", "Messages", section === "messages", navUnread),
  );
  watchBell((counts) => {
    bell.update(counts);
    setBadge(navUnread, counts.unread_threads);
  });
  return session;
}
