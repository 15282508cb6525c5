// Pure: how one page of Orders → Messages changes when one thread's row changed (bell alerts), or null when the
// page cannot be patched correctly from that row alone and must be read again.

// The bell figure that is each attention filter's total (the notifier's counts, the same definition as the list's).
const FIGURES = { unread: "threads_with_unread_messages", unseen_disputes: "unseen_disputes", news: "threads_with_news" };
const FILTERS = new Set(["all", "disputes", ...Object.keys(FIGURES)]);
const QUIET = new Set(["ThreadRead", "ThreadMarkedUnread"]); // events that move no row: the latest activity stays

// Whether the row belongs to the list under the filter (the projection API's thread filter, keywords aside).
export function inFilter(row, type) {
  if (!(row.message_count > 0 || row.last_dispute)) return false; // no message nor dispute: not a conversation
  if (type === "unread") return row.unread > 0;
  if (type === "disputes") return Boolean(row.dispute);
  if (type === "unseen_disputes") return Boolean(row.unseen_dispute);
  if (type === "news") return Boolean(row.has_news);
  return true;
}

// The list's order (latest activity first, then order id): < 0 when a comes first; null when the two times differ
// below the millisecond the page can compare.
export function compareRows(a, b) {
  const ta = Date.parse(a.last_activity_at || "") || 0;
  const tb = Date.parse(b.last_activity_at || "") || 0;
  if (ta !== tb) return tb - ta;
  if ((a.last_activity_at || "") !== (b.last_activity_at || "")) return null;
  return a.order_id < b.order_id ? -1 : a.order_id > b.order_id ? 1 : 0;
}

// The filter's total after the alerts' events (one thread's, in the order they came), or null when it cannot be
// known here. `before` is the row the page held for the thread (it was in the filter then), or undefined when the
// thread was not on the page.
export function totalAfter(result, row, before, { type, alerts }) {
  const last = alerts[alerts.length - 1];
  const figure = FIGURES[type];
  if (figure) {
    const value = last.counts ? last.counts[figure] : undefined;
    return Number.isSafeInteger(value) && value >= 0 ? value : null;
  }
  const now = inFilter(row, type);
  if (before) return result.total + (now ? 0 : -1);
  // Not on the page: whether it was in the filter follows from the events, read on the row exactly after them.
  if (row.position !== last.position) return null; // the thread moved on since: the row says more than the events
  const count = (kind) => alerts.filter((alert) => alert.event_type === kind).length;
  const opened = count("DisputeOpened");
  if (type === "disputes") return result.total + opened - count("DisputeClosed"); // one open dispute at a time
  const posted = count("MessagePosted");
  if (!posted && !opened) return result.total; // a conversation stays one, and nothing else makes one
  if (row.message_count > posted) return result.total; // it had messages before: it was listed
  if (opened) return null; // whether it had a dispute before cannot be told from the latest one
  return result.total + (row.last_dispute ? 0 : 1); // its first messages made it a conversation, or a dispute had
}

// The page after one thread's row changed (`alerts`: that thread's alerts not handled yet, oldest first), or null:
// the page must be read again. Falls back (null) when:
// - a keyword search is active (the row does not say whether its messages match the words);
// - the filter is not one the page knows;
// - the total cannot be known (see totalAfter);
// - two rows' times differ below the millisecond (their order cannot be told here);
// - on a page other than 1: any change of the total, a thread on the page changing place or latest activity, and
//   a thread elsewhere whose latest activity moved (rows of other pages may have shifted onto or off this one);
// - a thread moves down the list (it cannot: activity only grows), or leaves page 1 while more rows match (the row
//   that would move up is unknown), or would come last on a page with room while rows follow on the next page;
// - the patched page is not as long as the total says it must be (e.g. an alert the page missed); checked on the
//   `last` of several threads patched in a row only (the bell's totals in alerts are those after all of them).
export function patchPage(result, row, { type, q, page, perPage, alerts, last = true }) {
  if (q || !FILTERS.has(type)) return null;
  const index = result.items.findIndex((item) => item.order_id === row.order_id);
  const before = index >= 0 ? result.items[index] : undefined;
  if (before && before.position > row.position) return result; // the page already shows a later state
  const total = totalAfter(result, row, before, { type, alerts });
  if (total === null) return null;
  const others = result.items.filter((item) => item.order_id !== row.order_id);
  let items = others;
  if (inFilter(row, type)) {
    let place = 0;
    for (const other of others) {
      const order = compareRows(row, other);
      if (order === null) return null;
      if (order > 0) place += 1;
    }
    if (before && place > index) return null; // later in the list than it was: the rows that pass it are unknown
    items = [...others.slice(0, place), row, ...others.slice(place)];
    const beyond = result.total > (page - 1) * perPage + result.items.length; // rows after this page, before the patch
    if (!before && place === others.length && beyond) {
      if (others.length < perPage) return null; // it or the next page's first row: which comes first is unknown
      items = others; // it sorts after this full page
    }
  }
  if (page > 1) {
    if (total !== result.total) return null; // rows entered or left the filter: this page's rows shifted
    if (!before) {
      // A thread not on this page: it stays where it was (a read, a mark-unread, still outside the filter), or it
      // moved to the top from a page that is not known (this one's rows shifted, or not).
      return alerts.every((alert) => QUIET.has(alert.event_type)) || !inFilter(row, type) ? result : null;
    }
    if (items[index] !== row || before.last_activity_at !== row.last_activity_at) return null; // it moved up
  }
  const patched = { ...result, items: items.slice(0, perPage), total };
  return !last || fits(patched, page, perPage) ? patched : null;
}

// Whether a page holds as many rows as its total says it must.
export function fits(result, page, perPage) {
  return result.items.length === Math.max(0, Math.min(perPage, result.total - (page - 1) * perPage));
}
