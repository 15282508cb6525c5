// Pieces of a conversation view shared by the admin order page and the customer's order page.
import { ApiError } from "./api.js";
import { age, disputeNote, formatDateTime, roleLabel } from "./format.js";
import { errorBox, h, messageBody, replace } from "./dom.js";

const partyOf = (actor) => (actor.role === "vendor" ? `vendor:${actor.id}` : actor.role);

// The messages oldest first; `readBefore` is the viewer's read position before this visit ("New" marks).
export function messageList(thread, viewerParty, readBefore) {
  const messages = thread ? thread.messages || [] : [];
  const other = viewerParty === "admin" ? "customer" : "admin";
  const readByOther = thread && thread.read_positions ? thread.read_positions[other] || 0 : 0;
  const ownRead = messages.filter((m) => partyOf(m.author) === viewerParty && m.seq <= readByOther);
  const lastSeen = ownRead.length ? ownRead[ownRead.length - 1].seq : null;
  const items = messages.map((message) => {
    const mine = partyOf(message.author) === viewerParty;
    const isNew = !mine && message.seq > readBefore;
    return h(
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
  });
  return h("ol", { class: "thread", id: "thread" }, items);
}

// The red note at the top of the thread while a dispute is open (nothing otherwise).
export function disputeBanner(dispute, customerView) {
  if (!dispute || dispute.closed_at) return null;
  return h(
    "div",
    { class: "dispute-note", id: "dispute-note", role: "status" },
    h("strong", {}, customerView ? "A dispute is in progress. " : "", disputeNote(dispute)),
    h("div", { class: "dispute-reason" }, h("span", { class: "muted" }, "Reason: "), dispute.reason),
    h("div", { class: "dispute-age muted" }, `Opened ${age(dispute.opened_at)}`),
  );
}

// "Write your message here" + Submit; onSubmit(text) returns a promise.
export function replyForm(onSubmit, label = "Submit") {
  const text = h("textarea", {
    name: "body", id: "reply-body", rows: 4, maxlength: 5000, required: true,
    placeholder: "Write your message here", "aria-label": "Write your message here",
  });
  const status = h("div", { class: "form-status" });
  const button = h("button", { type: "submit", class: "button button-primary", id: "reply-submit" }, label);
  const form = h("form", { class: "reply-form", id: "reply-form" }, text, h("div", { class: "form-row" }, button, status));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = text.value.trim();
    if (!body) return;
    button.disabled = true;
    replace(status);
    try {
      await onSubmit(body);
      // The page may have re-rendered (keeping the draft) while the write landed: clear what is on screen now.
      const current = document.getElementById("reply-body");
      if (current && current !== text && current.value.trim() === body) current.value = "";
      text.value = "";
    } catch (error) {
      replace(status, errorBox(error));
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
  const reason = h("textarea", { name: "reason", id: "dispute-reason", rows: 4, maxlength: 1000, required: true });
  const content = h("label", { class: "field" }, h("span", {}, "Reason for opening the dispute"), reason);
  const shell = dialogShell("open-dispute-dialog", "Open dispute", content, "Open dispute", true);
  shell.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = reason.value.trim();
    if (text) runDialogAction(shell, () => onOpen(text));
  });
  shell.dialog.showModal();
  reason.focus();
}

// The confirmation step before closing a dispute; onClose() returns a promise.
export function closeDisputeDialog(orderNumber, onClose) {
  const content = h("p", {}, `Close the dispute on order ${orderNumber}? The customer will be notified.`);
  const shell = dialogShell("close-dispute-dialog", "Close dispute", content, "Close dispute", false);
  shell.form.addEventListener("submit", (event) => {
    event.preventDefault();
    runDialogAction(shell, onClose);
  });
  shell.dialog.showModal();
}

// Dispute actions for the toolbar: "Open dispute" or "Close dispute".
export function disputeButton(thread, orderNumber, { open, close }) {
  const dispute = thread && thread.dispute && !thread.dispute.closed_at ? thread.dispute : null;
  if (dispute) {
    return h("button", { type: "button", class: "button", id: "close-dispute", onclick: () => closeDisputeDialog(orderNumber, close) }, "Close dispute");
  }
  return h("button", { type: "button", class: "button button-danger-outline", id: "open-dispute", onclick: () => openDisputeDialog(open) }, "Open dispute");
}
