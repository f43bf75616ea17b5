// Timeline: one day on a 24 h axis, per camera (or all together): recordings as bars, incidents as
// marks; zoom to minutes, filter by trigger; clicking a point plays from there.
import { get, q } from "./api.js";
import { el, fmtClock, fmtDay, fmtTime } from "./util.js";

const ZOOMS = [["24 h", 24 * 3600e3], ["6 h", 6 * 3600e3], ["1 h", 3600e3], ["10 min", 600e3], ["1 min", 60e3]];

export async function timelinePage(main, params) {
  const cams = (await get("/ui/api/cameras")).cameras;
  const camera = el("select", { "aria-label": "camera" }, el("option", { value: "" }, "all cameras"),
    cams.map((c) => el("option", { value: c.name }, c.name)));
  const day = el("input", { type: "date", "aria-label": "day" });
  const trigger = el("input", { type: "search", placeholder: "trigger filter", "aria-label": "trigger" });
  const zoom = el("select", { "aria-label": "zoom" }, ZOOMS.map(([n, ms]) => el("option", { value: ms }, n)));
  const prev = el("button", { type: "button", "aria-label": "earlier" }, "◀");
  const next = el("button", { type: "button", "aria-label": "later" }, "▶");
  const chart = el("div", { class: "timeline", role: "group", "aria-label": "timeline" });
  const info = el("p", { class: "muted" });
  camera.value = params.get("camera") || "";
  main.append(el("h1", {}, "Timeline"),
    el("div", { class: "filters" }, camera, day, trigger, zoom, prev, next), info, chart);

  let data = null;
  let view = null; // [from, to] ms shown
  async function load() {
    data = await get(`/ui/api/timeline?${q({ camera: camera.value, day: day.value })}`);
    day.value = data.day;
    view = [data.from, data.to];
    zoom.value = String(ZOOMS[0][1]);
    draw();
  }
  function draw() {
    const [a, b] = view;
    const span = b - a;
    const pct = (t) => `${Math.max(0, Math.min(100, ((t - a) / span) * 100))}%`;
    const wpct = (s, e) => `${Math.max(0.15, ((Math.min(e, b) - Math.max(s, a)) / span) * 100)}%`;
    const want = trigger.value.trim();
    const now = Date.now();
    const zone = data.zone;
    const ticks = el("div", { class: "axis", "aria-hidden": "true" });
    const step = [60e3, 300e3, 600e3, 1800e3, 3600e3, 3 * 3600e3].find((s) => span / s <= 12) || 3 * 3600e3;
    for (let t = Math.ceil(a / step) * step; t <= b; t += step) {
      const tick = el("span", {}, fmtClock(t, zone).slice(0, span > 600e3 ? 5 : 8));
      tick.style.left = pct(t);
      ticks.append(tick);
    }
    const rows = data.cameras.map((cam) => {
      const row = el("div", { class: "track", dataset: { camera: cam }, title: `${cam}: click to play from there` });
      for (const r of data.recordings) {
        if (r.camera !== cam) continue;
        const end = r.end ?? now;
        if (end < a || r.start > b) continue;
        const bar = el("span", { class: `rec ${r.reason === "continuous" ? "cont" : "event"}` });
        bar.style.left = pct(r.start);
        bar.style.width = wpct(r.start, end);
        row.append(bar);
      }
      for (const i of data.incidents) {
        if (i.camera !== cam || (want && !i.triggers.some((t) => t === want || t.split(":")[0] === want))) continue;
        const end = i.end ?? now;
        if (end < a || i.start > b) continue;
        const mark = el("button", { type: "button", class: "inc", title: `${i.triggers.join(", ")} ${fmtTime(i.start, zone)}`,
          "aria-label": `incident ${i.triggers.join(", ")} at ${fmtTime(i.start, zone)}, play`,
          onclick: (e) => { e.stopPropagation(); location.hash = `#/play?camera=${encodeURIComponent(cam)}&t=${i.start}`; } });
        mark.style.left = pct(i.start);
        mark.style.width = wpct(i.start, end);
        row.append(mark);
      }
      row.addEventListener("click", (e) => {
        const box = row.getBoundingClientRect();
        const t = a + ((e.clientX - box.left) / box.width) * span;
        location.hash = `#/play?camera=${encodeURIComponent(cam)}&t=${Math.round(t)}`;
      });
      return el("div", { class: "lane" }, el("span", { class: "label" }, cam), row);
    });
    chart.replaceChildren(ticks, ...rows);
    const n = data.incidents.length;
    info.textContent = `${fmtDay(a, zone)} ${fmtClock(a, zone).slice(0, 8)} – ${fmtClock(b, zone).slice(0, 8)} (${zone}); ` +
      `${data.recordings.length} recording(s), ${n} incident(s)`;
  }
  function setZoom(ms, centre) {
    // from the whole day, zoom in on the latest activity rather than on noon
    const latest = Math.max(0, ...data.incidents.map((i) => i.start), ...data.recordings.map((r) => r.end ?? Date.now()));
    const whole = view[1] - view[0] >= data.to - data.from;
    const c = centre ?? (whole && latest ? latest : (view[0] + view[1]) / 2);
    const lo = Math.max(data.from, Math.min(data.to - ms, c - ms / 2));
    view = [lo, Math.min(data.to, lo + ms)];
    draw();
  }
  camera.addEventListener("change", load);
  day.addEventListener("change", load);
  trigger.addEventListener("input", draw);
  zoom.addEventListener("change", () => setZoom(+zoom.value));
  prev.addEventListener("click", () => setZoom(view[1] - view[0], (view[0] + view[1]) / 2 - (view[1] - view[0]) / 2));
  next.addEventListener("click", () => setZoom(view[1] - view[0], (view[0] + view[1]) / 2 + (view[1] - view[0]) / 2));
  await load();
  return null;
}
