// Who is signed in: the token and user kept in this tab's sessionStorage.
const KEY = "ordertalk.session";

export function getSession() {
  try {
    const raw = sessionStorage.getItem(KEY);
    const session = raw ? JSON.parse(raw) : null;
    return session && typeof session.token === "string" && session.user ? session : null;
  } catch {
    return null;
  }
}

export function setSession(session) {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
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
