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

// How long between two moments, in words: "less than a minute", "5 minutes", "2 hours 5 minutes", "3 days 4 hours".
export function duration(fromIso, toIso) {
  const minutes = Math.max(0, Math.floor((new Date(toIso || Date.now()).getTime() - new Date(fromIso).getTime()) / 60000));
  if (minutes < 1) return "less than a minute";
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  const parts = days ? [[days, "day", "days"], [hours, "hour", "hours"]] : [[hours, "hour", "hours"], [rest, "minute", "minutes"]];
  return parts.filter(([n]) => n > 0).map(([n, one, many]) => plural(n, one, many)).join(" ");
}

// A count in the viewer's locale ("6,000").
export function formatCount(n) {
  return Number(n).toLocaleString();
}
