// The pages: one document, hash routes (#/cameras, #/timeline, #/events, #/play?...).
import { post, session } from "./api.js";
import { camerasPage } from "./cameras.js";
import { eventsPage } from "./events.js";
import { playerPage } from "./player.js";
import { timelinePage } from "./timeline.js";

const pages = { cameras: camerasPage, timeline: timelinePage, events: eventsPage, play: playerPage };
let leave = null;

async function route() {
  const [name, query] = (location.hash.slice(2) || "cameras").split("?");
  const page = pages[name] || camerasPage;
  if (leave) { leave(); leave = null; }
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.page === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const main = document.getElementById("main");
  main.replaceChildren();
  leave = (await page(main, new URLSearchParams(query || ""))) || null;
}

async function start() {
  const s = await session();
  if (!s.ok) return;
  const out = document.getElementById("logout");
  out.hidden = !s.login;
  out.addEventListener("click", async () => { await post("/ui/api/logout"); location.replace("/ui/login"); });
  window.addEventListener("hashchange", route);
  await route();
}

start();
