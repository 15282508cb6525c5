// Pieces of a conversation list row shared by Orders → Messages and My account → Messages.
import { h } from "./dom.js";

// What is new in a row for the viewer (projection API ThreadRow.news): the latest unread message by
// others, and the open dispute while the viewer has not seen it.
export function rowNews(row) {
  return row.news || { unread_messages: 0, message: null, dispute: null };
}

// The message a row shows: what is new from others, else the latest one (null in a dispute-only thread).
export function shownMessage(row) {
  return rowNews(row).message || row.last_message;
}

// The row's dispute line: the unseen dispute (marked "New"); else the latest dispute when no message is shown.
export function disputeLine(row) {
  const news = rowNews(row);
  const dispute = news.dispute || row.last_dispute;
  const isNew = Boolean(news.dispute);
  if (!dispute || (!isNew && shownMessage(row))) return null;
  const what = dispute.closed_at ? "Dispute closed" : `Dispute opened by ${dispute.opened_by.display_name}`;
  return h("div", { class: "dispute-line" },
    isNew ? h("span", { class: "new-mark" }, "New") : null, isNew ? " " : null,
    h("span", { class: "excerpt-author" }, `${what}: `),
    h("span", { class: "dispute-line-reason", dir: "auto" }, dispute.reason));
}

// When the row's news (or latest activity) happened.
export function rowTime(row) {
  const news = rowNews(row);
  if (news.dispute && !news.message) return news.dispute.opened_at;
  const shown = shownMessage(row);
  return shown ? shown.posted_at : row.last_activity_at;
}

export function hasNews(row) {
  const news = rowNews(row);
  return Boolean(news.message || news.dispute);
}
