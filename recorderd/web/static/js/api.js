// Calls to the daemon: the session cookie goes along by itself; requests that change state carry
// the session's CSRF token in the X-Recorderd-CSRF header (and a JSON body).
let csrf = null;

export async function session() {
  const r = await fetch("/ui/api/session", { credentials: "same-origin" });
  const s = await r.json();
  csrf = s.csrf;
  if (!s.ok) toLogin();
  return s;
}

export function toLogin() {
  sessionStorage.setItem("recorderd.after-login", location.hash || "#/cameras");
  location.replace("/ui/login");
}

export async function get(path) {
  const r = await fetch(path, { credentials: "same-origin" });
  if (r.status === 401) { toLogin(); throw new Error("not logged in"); }
  if (!r.ok) throw new Error(await reason(r));
  return r.json();
}

export async function post(path, body = {}) {
  const r = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-Recorderd-CSRF": csrf || "" },
    body: JSON.stringify(body),
  });
  if (r.status === 401) { toLogin(); throw new Error("not logged in"); }
  if (!r.ok) throw new Error(await reason(r));
  return r.json();
}

async function reason(r) {
  try { return (await r.json()).error || `${r.status}`; } catch { return `${r.status} ${r.statusText}`; }
}

export const q = (params) => new URLSearchParams(
  Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ""));
