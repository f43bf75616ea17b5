// Small DOM and time helpers. Times travel as epoch milliseconds and are shown in the camera's zone.

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c);
  return e;
}

const formats = new Map();
function fmt(zone, kind) {
  const key = `${zone}|${kind}`;
  if (!formats.has(key)) {
    const o = { timeZone: zone, hourCycle: "h23" };
    if (kind !== "time" && kind !== "ms") Object.assign(o, { year: "numeric", month: "2-digit", day: "2-digit" });
    if (kind !== "date") Object.assign(o, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    if (kind === "ms" || kind === "fullms") o.fractionalSecondDigits = 3;
    formats.set(key, new Intl.DateTimeFormat("sv-SE", o));
  }
  return formats.get(key);
}

export const fmtTime = (ms, zone) => (ms == null ? "—" : fmt(zone, "full").format(new Date(ms)));
export const fmtClock = (ms, zone) => fmt(zone, "ms").format(new Date(ms)).replace(",", ".");
export const fmtFull = (ms, zone) => fmt(zone, "fullms").format(new Date(ms)).replace(",", ".");
export const fmtDay = (ms, zone) => fmt(zone, "date").format(new Date(ms));

function zoneOffset(ms, zone) {
  const p = Object.fromEntries(fmt(zone, "full").formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

// "2026-03-01 08:00:05.250" in `zone` -> epoch ms (null if it does not parse)
export function parseZoned(text, zone) {
  const m = /^\s*(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d{1,3}))?)?\s*$/.exec(text);
  if (!m) return null;
  const ms = m[7] ? +m[7].padEnd(3, "0") : 0;
  const guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0), ms);
  let t = guess - zoneOffset(guess, zone);
  t = guess - zoneOffset(t, zone);
  return t;
}

export function toast(text) {
  const t = document.getElementById("toast");
  t.textContent = text;
  t.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove("show"), 4000);
}

export function fmtDuration(ms) {
  if (ms == null) return "open";
  const s = ms / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}
