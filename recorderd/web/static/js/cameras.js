// Cameras: live views (MJPEG straight into <img>), state, and the buttons that arm and trigger.
import { get, post } from "./api.js";
import { onEvent } from "./events-feed.js";
import { el, fmtTime, toast } from "./util.js";

// Browsers open at most six connections per host over HTTP/1.1: at most this many live views at
// once, the others show a snapshot every few seconds until switched to live.
const MAX_LIVE = 4;

function armedSource(c) {
  if (c.privacy) return "privacy";
  if (c.override !== "auto") return "override";
  return "schedule";
}

function tile(c, live) {
  const img = el("img", { alt: `live view of ${c.name}`, class: "live", width: 640, height: 480 });
  const state = el("p", { class: "state" });
  const last = el("p", { class: "last" });
  const buttons = {};
  const arm = el("div", { class: "group", role: "group", "aria-label": `arming of ${c.name}` },
    ["on", "off", "auto"].map((mode) => (buttons[mode] = el("button", {
      type: "button", dataset: { mode },
      onclick: async () => {
        try { await post(`/api/cameras/${encodeURIComponent(c.name)}/armed`, { armed: mode.toUpperCase() }); }
        catch (e) { toast(`${c.name}: ${e.message}`); }
      },
    }, `Arm ${mode.toUpperCase()}`))));
  const trigger = el("button", {
    type: "button", class: "trigger",
    onclick: async () => {
      try {
        const r = await post(`/api/cameras/${encodeURIComponent(c.name)}/trigger`);
        toast(r.incident ? `${c.name}: incident ${r.incident}` : `${c.name}: no incident (privacy)`);
      } catch (e) { toast(`${c.name}: ${e.message}`); }
    },
  }, "Trigger");
  const snap = el("a", { class: "button", href: `/api/cameras/${encodeURIComponent(c.name)}/snapshot.jpg`,
    target: "_blank", rel: "noopener" }, "Snapshot");
  const liveBtn = el("button", { type: "button", class: "golive" }, "Live");
  const node = el("article", { class: "camera card", dataset: { camera: c.name } },
    el("h2", {}, c.name), el("div", { class: "view" }, img, liveBtn), state, last,
    el("div", { class: "controls" }, arm, trigger, snap));
  let timer = null;
  const setLive = (on) => {
    clearInterval(timer);
    if (c.record === "off") { // the daemon opens a camera's video only to record it: snapshots
      liveBtn.hidden = true;
      img.alt = `${c.name}: snapshots (no live view: recording is off for this camera)`;
      on = false;
    }
    liveBtn.hidden = on || c.record === "off";
    if (on) img.src = `/ui/api/cameras/${encodeURIComponent(c.name)}/live.mjpg`;
    else {
      const still = () => { img.src = `/api/cameras/${encodeURIComponent(c.name)}/snapshot.jpg?t=${Date.now()}`; };
      still();
      timer = setInterval(still, 3000);
    }
  };
  liveBtn.addEventListener("click", () => setLive(true));
  setLive(live);
  const update = (c2) => {
    Object.assign(c, c2);
    node.classList.toggle("down", !c.connected);
    state.replaceChildren(
      el("span", { class: c.connected ? "ok" : "bad" }, c.connected ? "connected" : "disconnected"), " · ",
      el("span", { class: c.armed ? "armed" : "disarmed" }, c.armed ? "armed" : "disarmed"),
      ` (${armedSource(c)}) · ${Number(c.fps || 0).toFixed(1)} fps`);
    const li = c.last_incident;
    last.replaceChildren(li
      ? el("a", { href: `#/play?camera=${encodeURIComponent(c.name)}&t=${li.start}` },
        `last incident ${fmtTime(li.start, c.zone)} (${li.triggers.join(", ")})`)
      : "no incident yet");
    for (const [mode, b] of Object.entries(buttons)) b.setAttribute("aria-pressed", String(c.override === mode));
  };
  update(c);
  return { node, update, stop: () => { clearInterval(timer); img.src = ""; } };
}

export async function camerasPage(main) {
  const grid = el("section", { class: "grid", "aria-label": "cameras" });
  main.append(el("h1", {}, "Cameras"), grid);
  const tiles = new Map();
  const refresh = async () => {
    const data = await get("/ui/api/cameras");
    for (const c of data.cameras) {
      if (!tiles.has(c.name)) {
        const t = tile(c, tiles.size < MAX_LIVE);
        tiles.set(c.name, t);
        grid.append(t.node);
      } else tiles.get(c.name).update(c);
    }
    if (!data.cameras.length) grid.replaceChildren(el("p", { class: "muted" }, "No cameras configured."));
  };
  await refresh();
  const timer = setInterval(() => refresh().catch(() => {}), 2000);
  const off = onEvent((kind, d) => {
    const t = tiles.get(d.camera);
    if (!t) return;
    if (kind === "armed") t.update({ armed: d.armed, override: d.override, privacy: d.privacy });
    else if (kind === "connected") t.update({ connected: d.connected });
    else if (kind === "incident" && d.type === "start") t.update({ last_incident: { ...d, start: d.time, triggers: [d.trigger] } });
  });
  return () => { clearInterval(timer); off(); for (const t of tiles.values()) t.stop(); };
}
