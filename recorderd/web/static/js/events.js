// Events: the incident list with the outcome of each action, filtered, kept current by the
// server-sent events (a new or ended incident reloads the list; outcomes every 10 s).
import { get, q } from "./api.js";
import { onEvent } from "./events-feed.js";
import { el, fmtDuration, fmtTime } from "./util.js";

function actions(list) {
  if (!list.length) return "—";
  // one entry per target: the latest event's outcome (a start's mail and an end's mail are two rows)
  return el("ul", { class: "actions" }, list.map((a) => el("li", { class: `outcome ${a.outcome}`,
    title: a.error || "" }, `${a.target} (${a.event}): ${a.outcome}${a.attempts > 1 ? ` ×${a.attempts}` : ""}`)));
}

export async function eventsPage(main, params) {
  const cams = (await get("/ui/api/cameras")).cameras;
  const camera = el("select", { id: "ev-camera", "aria-label": "camera" },
    el("option", { value: "" }, "all cameras"), cams.map((c) => el("option", { value: c.name }, c.name)));
  const trigger = el("input", { id: "ev-trigger", type: "search", placeholder: "trigger (motion, input:1…)",
    "aria-label": "trigger" });
  camera.value = params.get("camera") || "";
  trigger.value = params.get("trigger") || "";
  const body = el("tbody");
  const count = el("p", { class: "muted", "aria-live": "polite" });
  main.append(el("h1", {}, "Events"),
    el("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); load(); } }, camera, trigger,
      el("button", { type: "submit" }, "Filter")),
    count,
    el("div", { class: "scroll" }, el("table", { class: "events" },
      el("thead", {}, el("tr", {}, ["Camera", "Trigger", "Start", "End", "Armed", "Actions", ""].map(
        (h) => el("th", { scope: "col" }, h)))), body)));
  camera.addEventListener("change", () => load());

  async function load() {
    const data = await get(`/ui/api/incidents?${q({ camera: camera.value, trigger: trigger.value, limit: 200 })}`);
    body.replaceChildren(...data.incidents.map((i) => el("tr", { dataset: { incident: i.id }, class: i.end ? "" : "open" },
      el("td", {}, i.camera),
      el("td", {}, i.triggers.join(", ")),
      el("td", {}, fmtTime(i.start, i.zone)),
      el("td", {}, i.end ? `${fmtTime(i.end, i.zone)} (${fmtDuration(i.end - i.start)})` : "open"),
      el("td", {}, i.armed ? "armed" : "not armed"),
      el("td", {}, actions(i.actions)),
      el("td", {}, el("a", { class: "button", href: `#/play?incident=${encodeURIComponent(i.id)}` }, "Play")))));
    count.textContent = `${data.incidents.length} incident(s), newest first`;
  }
  await load();
  let pending = null;
  const off = onEvent((kind) => {
    if (kind !== "incident" || pending) return;
    pending = setTimeout(() => { pending = null; load().catch(() => {}); }, 150);
  });
  const timer = setInterval(() => load().catch(() => {}), 10000);
  return () => { off(); clearInterval(timer); clearTimeout(pending); };
}
