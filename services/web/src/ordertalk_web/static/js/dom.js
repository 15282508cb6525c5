// Building DOM from data: text always goes in as text nodes, never as HTML.
const SVG_NS = "http://www.w3.org/2000/svg";

function appendChildren(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// h("a", {href, class, onclick}, "text", childNode, [more]) — attributes are set as attributes, text as text.
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (name === "value" || name === "checked" || name === "disabled") element[name] = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  appendChildren(element, children);
  return element;
}

export function replace(element, ...children) {
  element.replaceChildren();
  appendChildren(element, children);
  return element;
}

export function svgIcon(pathData, label) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "20");
  svg.setAttribute("height", "20");
  svg.setAttribute("aria-hidden", "true");
  svg.classList.add("icon");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", pathData);
  svg.append(path);
  if (label) svg.setAttribute("aria-label", label);
  return svg;
}

export const BELL_PATH =
  "M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2z";

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING_PUNCTUATION = /[.,;:!?)\]}'"]+$/;

function safeLink(text) {
  let url;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  const link = h("a", { href: url.href, rel: "noopener noreferrer nofollow", target: "_blank" });
  link.textContent = text;
  return link;
}

// A message body: plain text with its line breaks (CSS pre-wrap) and http(s) URLs as links.
export function messageBody(text) {
  const body = h("div", { class: "message-body", dir: "auto" });
  let last = 0;
  for (const match of String(text).matchAll(URL_PATTERN)) {
    const raw = match[0].replace(TRAILING_PUNCTUATION, "");
    if (!raw) continue;
    body.append(document.createTextNode(text.slice(last, match.index)));
    body.append(safeLink(raw) ?? document.createTextNode(raw));
    last = match.index + raw.length;
  }
  body.append(document.createTextNode(text.slice(last)));
  return body;
}

export function badge(count, extraClass = "") {
  const n = Number(count) || 0;
  return h("span", { class: `badge ${extraClass}`.trim(), hidden: n === 0 }, String(n));
}

export function setBadge(element, count) {
  const n = Number(count) || 0;
  element.textContent = String(n);
  element.hidden = n === 0;
}

export function errorBox(error) {
  const detail = error && error.message ? error.message : String(error);
  return h("div", { class: "alert alert-error", role: "alert" }, detail);
}
