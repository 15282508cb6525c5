// Pieces of a conversation view shared by the admin order page and the customer's order page.
import { ApiError } from "./api.js";
import { age, disputeNote, duration, formatCount, formatDateTime, roleLabel } from "./format.js";
import { errorBox, h, messageBody, replace } from "./dom.js";

// The messaging API's limits, counted as it counts them: characters (code points) after trimming.
export const MAX_MESSAGE_CHARS = 5000;
export const MAX_REASON_CHARS = 1000;
const COUNTER_FROM = 0.9; // the character counter shows from 90 % of the limit

const partyOf = (actor) => (actor.role === "vendor" ? `vendor:${actor.id}` : actor.role);

// "by Jane Doe (Customer)"
function byWhom(actor) {
  if (!actor) return null;
  return h("span", { class: "dispute-who" }, "by ", h("span", { class: "dispute-actor" }, actor.display_name), " ",
    h("span", { class: "role-chip" }, roleLabel(actor.role)));
}

// The timeline entries of one dispute: where it was opened and, once closed, where it was closed (B5).
function disputeEntries(dispute) {
  const no = dispute.dispute_no;
  const open = !dispute.closed_at;
  const reason = () => h("div", { class: "dispute-reason" }, h("span", { class: "muted" }, "Reason: "),
    h("span", { dir: "auto" }, dispute.reason));
  const opened = h(
    "li",
    { class: `timeline-dispute dispute-opened${open ? " dispute-open" : ""}`, id: `dispute-${no}-opened`, dataset: { disputeNo: no } },
    h("div", { class: "message-meta" },
      h("strong", { class: "dispute-event" }, "Dispute opened"), byWhom(dispute.opened_by),
      h("time", { datetime: dispute.opened_at, class: "message-time" }, formatDateTime(dispute.opened_at))),
    reason(),
    h("div", { class: "dispute-duration" }, open ? `Open for ${duration(dispute.opened_at)}`
      : `Closed after ${duration(dispute.opened_at, dispute.closed_at)}`),
  );
  const entries = [{ at: dispute.opened_at, node: opened }];
  if (!open) {
    entries.push({
      at: dispute.closed_at,
      node: h(
        "li",
        { class: "timeline-dispute dispute-closed", id: `dispute-${no}-closed`, dataset: { disputeNo: no } },
        h("div", { class: "message-meta" },
          h("strong", { class: "dispute-event" }, "Dispute closed"), byWhom(dispute.closed_by),
          h("time", { datetime: dispute.closed_at, class: "message-time" }, formatDateTime(dispute.closed_at))),
        reason(),
        h("div", { class: "dispute-duration" },
          `It was open for ${duration(dispute.opened_at, dispute.closed_at)}, since ${formatDateTime(dispute.opened_at)}`),
      ),
    });
  }
  return entries;
}

// The thread oldest first: the messages shown and every dispute, opened and closed, in its place (B5).
// `readBefore` is the viewer's read position before this visit ("New" marks). While older messages are
// not loaded (`thread.older`), a dispute entry from before the first message shown waits for them: it
// stands in its place once the page it belongs to is shown.
export function messageList(thread, viewerParty, readBefore) {
  const messages = thread ? thread.messages || [] : [];
  const shownFrom = thread && thread.older && messages.length ? new Date(messages[0].posted_at).getTime() : null;
  const other = viewerParty === "admin" ? "customer" : "admin";
  const readByOther = thread && thread.read_positions ? thread.read_positions[other] || 0 : 0;
  const ownRead = messages.filter((m) => partyOf(m.author) === viewerParty && m.seq <= readByOther);
  const lastSeen = ownRead.length ? ownRead[ownRead.length - 1].seq : null;
  const items = messages.map((message) => {
    const mine = partyOf(message.author) === viewerParty;
    const isNew = !mine && message.seq > readBefore;
    const node = h(
      "li",
      { class: `message ${mine ? "message-own" : "message-other"} role-${message.author.role}`, dataset: { seq: message.seq } },
      h(
        "div",
        { class: "message-meta" },
        h("span", { class: "message-author" }, message.author.display_name),
        h("span", { class: "role-chip" }, roleLabel(message.author.role)),
        h("time", { datetime: message.posted_at, class: "message-time" }, formatDateTime(message.posted_at)),
        isNew ? h("span", { class: "new-chip" }, "New") : null,
      ),
      messageBody(message.body),
      message.seq === lastSeen ? h("div", { class: "read-receipt" }, `Seen by ${other === "admin" ? "the store" : "the customer"}`) : null,
    );
    return { at: message.posted_at, node };
  });
  const disputes = (thread ? thread.disputes || [] : []).flatMap(disputeEntries);
  const entries = [...items, ...disputes.filter((entry) => shownFrom === null || new Date(entry.at).getTime() >= shownFrom)];
  // A stable sort by time: messages keep their order, a dispute stands where it happened.
  entries.sort((a, b) => new Date(a.at).getTime() - new Date(b.at).getTime());
  return h("ol", { class: "thread", id: "thread", tabindex: "-1", "aria-label": "Messages" },
    entries.map((entry) => entry.node));
}

// The pages of a thread view (GET /v1/threads/{id} answers the latest page; `older` and `next_before_seq` lead
// to the page before). `fetchPage(params)` answers a page (null: no thread). Older pages loaded on demand are
// kept, merged by seq, when the view reloads its latest page (a post, a live update): what the reader scrolled
// up to stays on screen and nothing above the reader moves.
export function threadPages(fetchPage) {
  const loaded = new Map(); // seq -> message, once an older page is loaded: every message shown since
  let oldest = null; // the oldest page loaded on demand: { older, next_before_seq }
  let current = null;
  const keep = (messages) => messages.forEach((message) => loaded.set(message.seq, message));
  const merged = (thread) => ({
    ...thread,
    messages: [...loaded.values()].sort((a, b) => a.seq - b.seq),
    older: oldest.older,
    next_before_seq: oldest.next_before_seq,
  });
  return {
    // The latest page, with the older pages already loaded before it (and whatever came between them).
    async latest() {
      const thread = await fetchPage({});
      if (!thread) {
        loaded.clear();
        oldest = null;
        current = null;
        return null;
      }
      if (oldest === null) {
        current = thread;
        return current;
      }
      keep(thread.messages);
      // More than a page came since the last reload: fetch the pages between, so no gap opens in the thread.
      let page = thread;
      const top = Math.max(0, ...[...loaded.keys()].filter((seq) => seq < thread.messages[0]?.seq));
      while (page && page.older && page.messages.length && page.messages[0].seq > top + 1) {
        page = await fetchPage({ before_seq: page.messages[0].seq, limit: 200 });
        if (page) keep(page.messages);
      }
      current = merged(thread);
      return current;
    },
    // The page before the oldest shown, added to the thread shown.
    async older() {
      if (!current || !current.older) return current;
      const before = current.next_before_seq;
      const page = await fetchPage({ before_seq: before });
      if (!page || !current || current.next_before_seq !== before) return current; // a reload got there first
      keep(current.messages);
      keep(page.messages);
      oldest = { older: page.older, next_before_seq: page.next_before_seq };
      current = merged(current);
      return current;
    },
  };
}

// The first entry of the thread on screen and where it stands, to keep it there when older entries come above.
function screenAnchor() {
  const entry = document.querySelector("#thread > li");
  if (!entry) return null;
  const selector = entry.dataset.seq ? `#thread > li[data-seq="${entry.dataset.seq}"]` : `#${CSS.escape(entry.id)}`;
  return { selector, top: entry.getBoundingClientRect().top };
}

// "Show older messages" above the thread while older messages exist (nothing otherwise). `onOlder()` loads
// the page before and shows it (a promise); the entries on screen stay where they were, the focus stays on
// the button while more remain, and goes to the thread once everything is shown.
export function olderMessages(thread, onOlder) {
  if (!thread || !thread.older) return null;
  const status = h("div", { class: "form-status", id: "older-messages-status" });
  const button = h("button", { type: "button", class: "button", id: "older-messages", "aria-controls": "thread" },
    "Show older messages");
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    replace(status);
    const anchor = screenAnchor();
    try {
      await onOlder();
    } catch (error) {
      const shown = document.getElementById("older-messages-status") || status;
      replace(shown, errorBox(error instanceof ApiError ? error : new Error(String(error))));
      return;
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
    const same = anchor && document.querySelector(anchor.selector);
    if (same) window.scrollBy(0, same.getBoundingClientRect().top - anchor.top);
    const next = document.getElementById("older-messages") || document.getElementById("thread");
    if (next) next.focus({ preventScroll: true });
  });
  return h("div", { class: "thread-older" }, button, status);
}

// The red note at the top of the thread while a dispute is open (nothing otherwise).
export function disputeBanner(dispute, customerView) {
  if (!dispute || dispute.closed_at) return null;
  return h(
    "div",
    { class: "dispute-note", id: "dispute-note", role: "status" },
    h("strong", {}, customerView ? "A dispute is in progress. " : "", disputeNote(dispute)),
    h("div", { class: "dispute-reason" }, h("span", { class: "muted" }, "Reason: "), h("span", { dir: "auto" }, dispute.reason)),
    h("div", { class: "dispute-age muted" }, `Opened ${age(dispute.opened_at)}`),
  );
}

// A textarea for text with a length limit: nothing is cut (no maxlength), a counter shows near the limit,
// and problem() says why the text cannot be sent (empty, only spaces, too long) — null when it can.
function limitedText({ limit, noun, ...attrs }) {
  const counterId = `${attrs.id}-counter`;
  const textarea = h("textarea", { ...attrs, dir: "auto", "aria-required": "true", "aria-describedby": counterId });
  const counter = h("div", { class: "char-counter", id: counterId, "aria-live": "polite", hidden: true });
  const length = () => [...textarea.value.replace(/\r\n/g, "\n").trim()].length;
  const problem = () => {
    const n = length();
    if (n === 0) return `Write a ${noun} first: it cannot be empty or only spaces.`;
    if (n > limit) {
      return `The ${noun} is ${formatCount(n)} characters long; at most ${formatCount(limit)} are allowed. `
        + `Shorten it by ${formatCount(n - limit)}.`;
    }
    return null;
  };
  const update = () => {
    const n = length();
    const over = n - limit;
    counter.hidden = n < limit * COUNTER_FROM;
    counter.classList.toggle("char-counter-over", over > 0);
    counter.textContent = `${formatCount(n)} / ${formatCount(limit)} characters`
      + (over > 0 ? `: ${formatCount(over)} too many` : "");
    if (!problem()) textarea.removeAttribute("aria-invalid");
  };
  textarea.addEventListener("input", update);
  return { textarea, counter, problem, update };
}

// Shows why a text cannot be sent; answers whether it can.
function checkText(field, status) {
  const problem = field.problem();
  if (!problem) return true;
  field.textarea.setAttribute("aria-invalid", "true");
  replace(status, h("div", { class: "alert alert-error", role: "alert", id: `${field.textarea.id}-problem` }, problem));
  field.textarea.focus();
  return false;
}

// "Write your message here" + Submit; onSubmit(text) returns a promise. A text that cannot be sent says
// why; a refused post shows the API's reason (problem+json `detail`).
export function replyForm(onSubmit, label = "Submit") {
  const field = limitedText({
    name: "body", id: "reply-body", rows: 4, limit: MAX_MESSAGE_CHARS, noun: "message",
    placeholder: "Write your message here", "aria-label": "Write your message here",
  });
  const text = field.textarea;
  const status = h("div", { class: "form-status", id: "reply-status" });
  const button = h("button", { type: "submit", class: "button button-primary", id: "reply-submit" }, label);
  const form = h("form", { class: "reply-form", id: "reply-form", novalidate: true }, text, field.counter,
    h("div", { class: "form-row" }, button, status));
  text.addEventListener("input", () => {
    if (status.querySelector("#reply-body-problem") && !field.problem()) replace(status);
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(status);
    if (!checkText(field, status)) return;
    const body = text.value.trim();
    button.disabled = true;
    try {
      await onSubmit(body);
      // The page may have re-rendered (keeping the draft) while the write landed: clear what is on screen now.
      const current = document.getElementById("reply-body");
      if (current && current !== text && current.value.trim() === body) {
        current.value = "";
        current.dispatchEvent(new Event("input"));
      }
      text.value = "";
      field.update();
    } catch (error) {
      // Still on screen after a re-render? Show the reason where the reader is.
      const shown = document.getElementById("reply-status") || status;
      replace(shown, errorBox(error));
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

function dialogShell(id, title, content, confirmLabel, danger) {
  const status = h("div", { class: "form-status" });
  const confirm = h("button", { type: "submit", class: danger ? "button button-danger" : "button button-primary", value: "confirm" }, confirmLabel);
  const cancel = h("button", { type: "button", class: "button", value: "cancel" }, "Cancel");
  const form = h("form", { method: "dialog" }, h("h2", {}, title), content, status, h("div", { class: "dialog-buttons" }, cancel, confirm));
  const dialog = h("dialog", { id, class: "dialog" }, form);
  cancel.addEventListener("click", () => dialog.close("cancel"));
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  return { dialog, form, status, confirm };
}

async function runDialogAction(shell, action) {
  shell.confirm.disabled = true;
  replace(shell.status);
  try {
    await action();
    shell.dialog.close("done");
  } catch (error) {
    replace(shell.status, errorBox(error instanceof ApiError ? error : new Error(String(error))));
  } finally {
    shell.confirm.disabled = false;
  }
}

// The popup asking for the reason of a new dispute; onOpen(reason) returns a promise.
export function openDisputeDialog(onOpen) {
  const field = limitedText({ name: "reason", id: "dispute-reason", rows: 4, limit: MAX_REASON_CHARS, noun: "reason" });
  const reason = field.textarea;
  const content = [h("label", { class: "field" }, h("span", {}, "Reason for opening the dispute"), reason), field.counter];
  const shell = dialogShell("open-dispute-dialog", "Open dispute", content, "Open dispute", true);
  shell.form.noValidate = true;
  shell.form.addEventListener("submit", (event) => {
    event.preventDefault();
    replace(shell.status);
    if (checkText(field, shell.status)) runDialogAction(shell, () => onOpen(reason.value.trim()));
  });
  shell.dialog.showModal();
  reason.focus();
}

// The confirmation step before closing a dispute, worded for who closes it; onClose() returns a promise.
export function closeDisputeDialog(orderNumber, onClose, viewerParty = "admin") {
  const outcome = viewerParty === "customer"
    ? "The store will be notified. If the problem comes back, you can open a new dispute."
    : "The customer will be notified.";
  const content = h("p", { id: "close-dispute-text" }, `Close the dispute on order ${orderNumber}? ${outcome}`);
  const shell = dialogShell("close-dispute-dialog", "Close dispute", content, "Close dispute", false);
  shell.form.addEventListener("submit", (event) => {
    event.preventDefault();
    runDialogAction(shell, onClose);
  });
  shell.dialog.showModal();
}

// Dispute actions for the toolbar: "Open dispute" or "Close dispute" (the viewer's party words the confirmation).
export function disputeButton(thread, orderNumber, { open, close }, viewerParty = "admin") {
  const dispute = thread && thread.dispute && !thread.dispute.closed_at ? thread.dispute : null;
  if (dispute) {
    return h("button", { type: "button", class: "button", id: "close-dispute",
      onclick: () => closeDisputeDialog(orderNumber, close, viewerParty) }, "Close dispute");
  }
  return h("button", { type: "button", class: "button button-danger-outline", id: "open-dispute", onclick: () => openDisputeDialog(open) }, "Open dispute");
}
