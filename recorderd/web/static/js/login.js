// The login form: the token goes in a JSON body; the answer sets the HttpOnly session cookie.
const form = document.getElementById("login");
const error = document.getElementById("error");

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  error.textContent = "";
  const token = document.getElementById("token").value;
  const r = await fetch("/ui/api/login", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Recorderd-CSRF": "login" },
    body: JSON.stringify({ token }),
    credentials: "same-origin",
  });
  if (r.ok) {
    const back = sessionStorage.getItem("recorderd.after-login") || "#/cameras";
    sessionStorage.removeItem("recorderd.after-login");
    location.replace("/ui/" + back);
    return;
  }
  let why = `${r.status}`;
  try { why = (await r.json()).error || why; } catch { /* not JSON */ }
  error.textContent = why;
});
