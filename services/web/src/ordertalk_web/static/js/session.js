// Who is signed in: the token and user kept in localStorage, so every tab of the browser shares them
// (a link opened from an e-mail lands in a new tab, signed in).
const KEY = "ordertalk.session";

export function getSession() {
  try {
    const raw = localStorage.getItem(KEY);
    const session = raw ? JSON.parse(raw) : null;
    return session && typeof session.token === "string" && session.user ? session : null;
  } catch {
    return null;
  }
}

export function setSession(session) {
  localStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession() {
  localStorage.removeItem(KEY);
}

export function signInUrl() {
  const next = location.pathname + location.search + location.hash;
  return "/?next=" + encodeURIComponent(next);
}

// The session if its user has `role`; otherwise go to the sign-in page.
export function requireRole(role) {
  const session = getSession();
  if (!session || session.user.role !== role) {
    location.replace(signInUrl());
    throw new Error("sign-in required");
  }
  return session;
}

export function signOut() {
  clearSession();
  sessionStorage.removeItem("ordertalk.position");
  location.assign("/");
}
