// Dates and labels in the viewer's locale (Intl), plus the admin guide's dispute-note wording.
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const noteDate = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", year: "numeric" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

export function formatDateTime(iso) {
  return iso ? dateTime.format(new Date(iso)) : "";
}

export function formatDate(iso) {
  return iso ? dateOnly.format(new Date(iso)) : "";
}

// "Dispute opened on Aug 29, 2018, by Admin Admin"
export function disputeNote(dispute) {
  const who = dispute.opened_by ? dispute.opened_by.display_name : "";
  return `Dispute opened on ${noteDate.format(new Date(dispute.opened_at))}, by ${who}`;
}

export function age(iso) {
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  const steps = [
    [60, "second"],
    [60, "minute"],
    [24, "hour"],
    [30, "day"],
    [12, "month"],
  ];
  let value = seconds;
  for (const [size, unit] of steps) {
    if (Math.abs(value) < size) return relative.format(Math.round(value), unit);
    value /= size;
  }
  return relative.format(Math.round(value), "year");
}

const ROLE_LABELS = { admin: "Store staff", customer: "Customer", vendor: "Vendor", system: "System" };

export function roleLabel(role) {
  return ROLE_LABELS[role] || role;
}

export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}
