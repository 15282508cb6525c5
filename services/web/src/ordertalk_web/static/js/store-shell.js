// The storefront frame: shop header, "My account" links and the live unread indicator.
import { config } from "./api.js";
import { watchBell } from "./bell.js";
import { badge, h, replace, setBadge } from "./dom.js";
import { requireRole, signOut } from "./session.js";

export function storeShell() {
  const session = requireRole("customer");
  const unread = badge(0, "badge-bell");
  unread.id = "store-unread";
  replace(
    document.getElementById("topbar"),
    h("a", { class: "brand", href: "/store/messages" }, h("span", { class: "brand-mark" }, "ds"), config.storeName),
    h(
      "nav",
      { class: "store-nav" },
      h("span", { class: "muted" }, "My account:"),
      h("a", { href: "/store/messages", class: "nav-link", id: "store-messages-link" }, "Messages", unread),
      h("span", { class: "user-name", id: "user-name" }, session.user.name),
      h("button", { type: "button", class: "link-button", onclick: signOut }, "Sign out"),
    ),
  );
  watchBell((counts) => {
    setBadge(unread, counts.unread_messages);
    document.getElementById("store-messages-link").dataset.unreadMessages = String(counts.unread_messages || 0);
  });
  return session;
}
