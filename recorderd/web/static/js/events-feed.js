// One server-sent event stream for the whole app (browsers allow few connections per host).
const listeners = new Set();
let source = null;

function open() {
  source = new EventSource("/ui/api/events");
  for (const kind of ["incident", "armed", "connected"]) {
    source.addEventListener(kind, (m) => {
      const data = JSON.parse(m.data);
      for (const fn of listeners) fn(kind, data);
    });
  }
  source.addEventListener("open", () => document.body.classList.remove("offline"));
  source.addEventListener("error", () => document.body.classList.add("offline"));
}

export function onEvent(fn) {
  if (!source) open();
  listeners.add(fn);
  return () => listeners.delete(fn);
}
