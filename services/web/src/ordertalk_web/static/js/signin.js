// Dev sign-in (local stack only): pick the admin or a demo customer; the web service mints the JWT.
import config from "/config.js";
import { errorBox, h, replace } from "./dom.js";
import { setSession } from "./session.js";

const main = document.getElementById("main");

// Where to go once signed in: the page that sent the user here (?next=), if it is a path of this origin in the
// signed-in role's section; anything else (another origin, "//host", "/\\host", a scheme) goes to the role's list.
function returnPath(role) {
  const section = role === "admin" ? "/admin/" : "/store/";
  const fallback = `${section}messages`;
  const next = new URLSearchParams(location.search).get("next") || "";
  if (!next.startsWith(section)) return fallback;
  let url;
  try {
    url = new URL(next, location.origin);
  } catch {
    return fallback;
  }
  if (url.origin !== location.origin || !url.pathname.startsWith(section)) return fallback;
  return url.pathname + url.search + url.hash;
}

async function signIn(subject) {
  const response = await fetch("/dev/token", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ subject }),
  });
  const data = await response.json().catch(() => null);
  if (!response.ok || !data) throw new Error((data && data.detail) || "Sign-in failed.");
  sessionStorage.removeItem("ordertalk.position");
  setSession({ token: data.token, user: data.user });
  location.assign(returnPath(data.user.role));
}

function personaButton(person, status) {
  return h("button", {
    type: "button", class: "persona", dataset: { subject: person.subject },
    onclick: () => signIn(person.subject).catch((error) => replace(status, errorBox(error))),
  },
  h("span", { class: "persona-name" }, person.name),
  h("span", { class: "muted small" }, person.role === "admin" ? `${person.subject} · store staff` : `${person.subject} · ${person.email}`));
}

async function main_() {
  if (!config.devSignin) {
    replace(main, h("div", { class: "card signin-card" }, h("h1", {}, config.storeName),
      h("p", {}, "Sign in through the shop's account pages. The local dev sign-in is turned off here.")));
    return;
  }
  const status = h("div", { class: "form-status" });
  const people = await (await fetch("/dev/personas")).json();
  replace(main, h("div", { class: "card signin-card" },
    h("h1", {}, `${config.storeName} — sign in`),
    h("p", { class: "muted" }, "Local stack: choose who you are."),
    h("h2", {}, "Store admin"),
    h("div", { class: "persona-list" }, people.filter((p) => p.role === "admin").map((p) => personaButton(p, status))),
    h("h2", {}, "Customers"),
    h("div", { class: "persona-list" }, people.filter((p) => p.role !== "admin").map((p) => personaButton(p, status))),
    status));
}

main_();
