// The storefront frame: shop header, "My account" links and the live unread indicator.
import { config } from "./api.js";
import { watchBell } from "./bell.js";
import { badge, h, replace, setBadge } from "./dom.js";
import { requireRole, signOut } from "./session.js";

// What the header badge counts (product.md, "Counts").
const NEWS = "Conversations with news for you: unread messages or a dispute the shop opened";

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
      h("a", { href: "/store/messages", class: "nav-link", id: "store-messages-link" }, "Messages", " ", unread),
      h("span", { class: "user-name", id: "user-name" }, session.user.name),
      h("button", { type: "button", class: "link-button", onclick: signOut }, "Sign out"),
    ),
  );
  const link = () => document.getElementById("store-messages-link");
  watchBell((counts) => {
    const news = Number(counts.threads_with_news) || 0;
    setBadge(unread, news);
    unread.title = `${NEWS}: ${news}`;
    link().setAttribute("aria-label", `Messages: ${news} ${news === 1 ? "conversation" : "conversations"} with news for you`);
    link().dataset.threadsWithNews = String(news);
  });
  return session;
}
