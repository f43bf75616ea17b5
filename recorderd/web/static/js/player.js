// The player: recorded JPEGs fetched by number and drawn on a canvas at their recorded times, the
// audio decoded by the daemon to PCM and scheduled on the same clock. No transcoding anywhere.
//
// One clock drives both: while sound plays it is the AudioContext's, else performance.now(). The
// playhead t (epoch ms) = anchorT + (clock - anchorClock) × speed; the frame shown is the last one
// recorded at or before t, and each audio chunk starts when the playhead reaches its first sample.
import { get, q } from "./api.js";
import { el, fmtDuration, fmtFull, parseZoned, toast } from "./util.js";

const CHUNK_MS = 4000; // audio is fetched and scheduled in chunks of this much file time
const AHEAD = 12; // frames fetched ahead of the playhead
// fetches ahead in flight at once: of the browser's six connections per host, the others stay
// free for a seek's own frame. A fetch once sent is never aborted: an aborted request's
// connection was held by the browser until the endpoint closed it (a seek stalled 4 s)
const AHEAD_PARALLEL = 3;
const CACHE = 180; // bound: decoded frames kept
const SPEEDS = [0.5, 1, 2, 4, 8];

function lastAtOrBefore(arr, x) { // binary search: index of the last arr[i] <= x, or -1
  let lo = 0, hi = arr.length - 1, ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] <= x) { ans = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return ans;
}

class Player {
  constructor(camera, zone, ui) {
    this.camera = camera;
    this.zone = zone;
    this.ui = ui;
    this.segments = []; // recordings of the camera, oldest first
    this.files = new Map(); // recording id -> Promise of its frame table
    this.bitmaps = new Map(); // "id:n" -> Promise<ImageBitmap>, LRU
    this.seg = -1; // index in segments of the file shown
    this.fi = null; // its frame table
    this.n = -1; // the frame shown
    this.t = 0; // playhead, epoch ms
    this.playing = false;
    this.speed = 1;
    this.audio = null; // AudioContext, made on the first play (a user gesture)
    this.sources = []; // scheduled audio chunks {src, wallStart, ctxStart}
    this.scheduledTo = null; // wall ms up to which audio chunks are scheduled
    this.gen = 0; // bumped at every seek: late answers of an earlier one are dropped
    // byTime: frames a seek drew before it had their file's frame table
    this.stats = { opened: null, firstDraw: null, seeks: [], av: [], byTime: 0 };
    this.aheadQueue = []; // prefetches not sent yet (a seek drops them)
    this.aheadBusy = 0; // prefetches in flight
    this.ctx = ui.canvas.getContext("2d", { alpha: false });
  }

  // -- data ------------------------------------------------------------------------------------

  async loadSegments(around) {
    const day = 24 * 3600e3;
    const r = await get(`/ui/api/recordings?${q({ camera: this.camera, from: around - day, to: around + day })}`);
    const keep = this.seg >= 0 ? this.segments[this.seg].id : null;
    this.segments = r.recordings;
    this.loadedAt = performance.now();
    if (keep !== null) this.seg = this.segments.findIndex((s) => s.id === keep);
  }

  file(seg, fresh = false) {
    const id = this.segments[seg].id;
    if (fresh || !this.files.has(id)) {
      this.files.set(id, get(`/ui/api/recordings/${id}/index${fresh ? "?fresh=1" : ""}`).catch((e) => {
        this.files.delete(id);
        throw e;
      }));
    }
    return this.files.get(id);
  }

  // a frame's picture; `ahead` fetches wait in a queue that the next seek drops (they would hold
  // up its frame)
  bitmap(fi, n, ahead = false) {
    const key = `${fi.id}:${n}`;
    let p = this.bitmaps.get(key);
    if (p) { this.bitmaps.delete(key); this.bitmaps.set(key, p); return p; }
    if (ahead) {
      p = new Promise((resolve, reject) => this.aheadQueue.push({ fi, n, resolve, reject }));
      this.pumpAhead();
    } else {
      p = this.fetchBitmap(fi, n);
    }
    p.catch(() => this.bitmaps.delete(key));
    this.bitmaps.set(key, p);
    while (this.bitmaps.size > CACHE) {
      const [oldest, q0] = this.bitmaps.entries().next().value;
      this.bitmaps.delete(oldest);
      q0.then((b) => b.close()).catch(() => {});
    }
    return p;
  }

  fetchBitmap(fi, n) {
    return fetch(`/ui/api/recordings/${fi.id}/frames/${n}`, { credentials: "same-origin" })
      .then((r) => { if (!r.ok) throw new Error(`frame ${n}: ${r.status}`); return r.blob(); })
      .then((b) => createImageBitmap(b));
  }

  // the frame shown at t, by time, before the file's frame table is here: {bmp, time} or null
  frameAt(id, t) {
    return fetch(`/ui/api/recordings/${id}/frame?${q({ at: t })}`, { credentials: "same-origin" })
      .then(async (r) => {
        if (!r.ok) return null;
        const time = Number(r.headers.get("X-Frame-Time"));
        return { bmp: await createImageBitmap(await r.blob()), time };
      })
      .catch(() => null);
  }

  pumpAhead() {
    while (this.aheadBusy < AHEAD_PARALLEL && this.aheadQueue.length) {
      const job = this.aheadQueue.shift();
      this.aheadBusy++;
      this.fetchBitmap(job.fi, job.n).then(job.resolve, job.reject)
        .finally(() => { this.aheadBusy--; this.pumpAhead(); });
    }
  }

  dropAhead() {
    const dropped = this.aheadQueue;
    this.aheadQueue = [];
    for (const job of dropped) job.reject(new DOMException("dropped by a seek", "AbortError"));
  }

  // the last file that starts at or before t (a file's end is its close, after the next one's
  // start), or the first after t when t falls in a gap or before everything
  segmentFor(t) {
    const s = this.segments;
    let i = -1;
    while (i + 1 < s.length && s[i + 1].start <= t) i++;
    if (i >= 0 && (s[i].end ?? Infinity) >= t) return i;
    return i + 1 < s.length ? i + 1 : Math.max(0, i);
  }

  // -- showing a frame -------------------------------------------------------------------------

  async show(seg, fi, n, gen) {
    let bmp;
    try { bmp = await this.bitmap(fi, n); } catch (e) {
      if (e.name !== "AbortError") throw e;
      bmp = await this.bitmap(fi, n); // fetched ahead, dropped by a seek: fetch it again
    }
    if (gen !== this.gen && !this.playing) return false;
    const ft = fi.origin + fi.frames[n];
    this.paint(bmp, fi.id, n, ft);
    if (this.playing && this.audio && this.sources.length) {
      this.stats.av.push(this.audioTime() - ft); // what is heard minus what is seen, at each new frame
      if (this.stats.av.length > 20000) this.stats.av.shift();
    }
    this.seg = seg; this.fi = fi; this.n = n;
    this.ui.time.textContent = fmtFull(ft, this.zone);
    this.ui.download.href = `/ui/api/recordings/${fi.id}/file`;
    this.ui.frameInfo.textContent = `frame ${n + 1}/${fi.frames.length} · ${this.segments[seg].reason}` +
      (fi.growing ? " · being recorded" : "");
    const [a, b] = this.span();
    this.ui.scrub.value = String(Math.round(((ft - a) / Math.max(1, b - a)) * 100000));
    return true;
  }

  paint(bmp, id, n, ft) {
    const c = this.ui.canvas;
    if (c.width !== bmp.width || c.height !== bmp.height) { c.width = bmp.width; c.height = bmp.height; }
    this.ctx.drawImage(bmp, 0, 0);
    Object.assign(c.dataset, { recording: id, frame: n, time: ft });
    if (this.stats.firstDraw === null) this.stats.firstDraw = performance.now();
  }

  // what the scrub bar covers: the recordings loaded around the playhead
  span() {
    const s = this.segments;
    return s.length ? [s[0].start, s.at(-1).end ?? Date.now()] : [0, 1];
  }

  // -- seeking ---------------------------------------------------------------------------------

  async seek(t) {
    const gen = ++this.gen;
    this.dropAhead();
    const t0 = performance.now();
    // the list is read again when it may be stale: new files are written all the time
    if (!this.segments.length || performance.now() - this.loadedAt > 2000 || t < this.segments[0].start ||
        t > (this.segments.at(-1).end ?? Date.now())) await this.loadSegments(t);
    if (!this.segments.length) { this.ui.frameInfo.textContent = "no recordings around this time"; return; }
    const seg = this.segmentFor(t);
    const id = this.segments[seg].id;
    let quick = null;
    if (!this.files.has(id)) {
      // the file's frame table is not here (a 1 h file's takes the daemon ~0.15 s to read): its
      // frame at t is fetched by time and drawn first, then the table is asked for
      quick = await this.frameAt(id, t);
      if (gen !== this.gen) return;
      if (quick) {
        this.paint(quick.bmp, id, "", quick.time);
        this.stats.byTime++;
        this.ui.time.textContent = fmtFull(quick.time, this.zone);
        this.stats.seeks.push(performance.now() - t0);
      }
    }
    let fi = await this.file(seg);
    let n = lastAtOrBefore(fi.frames, t - fi.origin);
    if (fi.growing && n === fi.frames.length - 1) { fi = await this.file(seg, true); n = lastAtOrBefore(fi.frames, t - fi.origin); }
    if (n < 0) n = 0; // before the file's first frame (a gap): its first frame
    if (!fi.frames.length) return;
    if (quick) {
      if (Math.abs(fi.origin + fi.frames[n] - quick.time) < 0.5 && !this.bitmaps.has(`${id}:${n}`)) {
        this.bitmaps.set(`${id}:${n}`, Promise.resolve(quick.bmp)); // the same frame: not fetched again
      } else {
        quick.bmp.close();
      }
    }
    this.t = Math.max(t, fi.origin + fi.frames[n]);
    if (await this.show(seg, fi, n, gen) && !quick) this.stats.seeks.push(performance.now() - t0);
    if (this.playing) this.restartClock();
    this.prefetch();
  }

  async step(d) {
    if (this.playing) this.pause();
    if (!this.fi) return;
    let seg = this.seg, fi = this.fi, n = this.n + d;
    if (n >= fi.frames.length) {
      if (fi.growing) { fi = await this.file(seg, true); }
      if (n >= fi.frames.length) {
        if (seg + 1 >= this.segments.length) return;
        seg += 1; fi = await this.file(seg); n = 0;
      }
    } else if (n < 0) {
      if (seg === 0) return;
      seg -= 1; fi = await this.file(seg); n = fi.frames.length - 1;
    }
    const gen = ++this.gen;
    this.t = fi.origin + fi.frames[n];
    await this.show(seg, fi, n, gen);
  }

  prefetch() {
    const fi = this.fi;
    if (!fi) return;
    const ahead = Math.ceil(AHEAD * Math.max(1, this.speed / 2));
    for (let k = 1; k <= ahead && this.n + k < fi.frames.length; k++) this.bitmap(fi, this.n + k, true);
    if (this.n + ahead >= fi.frames.length && this.seg + 1 < this.segments.length) {
      this.file(this.seg + 1).then((nf) => { for (let k = 0; k < Math.min(ahead, nf.frames.length); k++) this.bitmap(nf, k, true); })
        .catch(() => {});
    }
  }

  // -- playing ---------------------------------------------------------------------------------

  clock() { return this.audio && this.audio.state === "running" ? this.audio.currentTime * 1000 : performance.now(); }

  restartClock() {
    this.stopAudio();
    this.anchorClock = this.clock();
    this.anchorT = this.t;
    this.scheduledTo = null;
    this.scheduleAudio();
  }

  async play() {
    if (!this.fi) return;
    if (!this.audio) {
      try { this.audio = new AudioContext(); } catch { this.audio = null; }
    }
    if (this.audio && this.audio.state !== "running") {
      await Promise.race([this.audio.resume(), new Promise((r) => setTimeout(r, 300))]);
    }
    this.playing = true;
    this.ui.play.textContent = "Pause";
    this.ui.play.setAttribute("aria-pressed", "true");
    this.restartClock();
    const loop = () => { if (!this.playing) return; this.tick().finally(() => { this.raf = requestAnimationFrame(loop); }); };
    this.raf = requestAnimationFrame(loop);
  }

  pause() {
    this.playing = false;
    cancelAnimationFrame(this.raf);
    this.stopAudio();
    this.ui.play.textContent = "Play";
    this.ui.play.setAttribute("aria-pressed", "false");
  }

  setSpeed(s) {
    this.speed = s;
    this.ui.speed.value = String(s);
    if (this.playing) this.restartClock();
  }

  async tick() {
    if (this.busy) return;
    this.busy = true;
    try {
      this.t = this.anchorT + (this.clock() - this.anchorClock) * this.speed;
      let seg = this.seg, fi = this.fi;
      let n = lastAtOrBefore(fi.frames, this.t - fi.origin);
      if (n === fi.frames.length - 1 && this.t - fi.origin > fi.frames[n] + 1000) {
        if (fi.growing) {
          fi = await this.file(seg, true);
          if (!fi.growing || fi.frames.length - 1 > n) { this.fi = fi; n = lastAtOrBefore(fi.frames, this.t - fi.origin); }
          else { this.restartAt(fi.origin + fi.frames[n]); return; } // caught up with the camera: wait
        }
      }
      if (n === fi.frames.length - 1 && seg + 1 < this.segments.length) {
        const nextSeg = this.segments[seg + 1];
        const nf = await this.file(seg + 1);
        const first = nf.origin + (nf.frames[0] ?? 0);
        const lastOfThis = fi.origin + fi.frames[n] + (fi.frames.length > 1 ? fi.frames[n] - fi.frames[n - 1] : 100);
        if (this.t >= lastOfThis || this.t >= first) {
          // crossing into the next file: no gap to play through (a clip's gap is skipped)
          seg += 1; fi = nf;
          if (this.t < first) { this.restartAt(first); }
          n = Math.max(0, lastAtOrBefore(fi.frames, this.t - fi.origin));
          void nextSeg;
        }
      } else if (n === fi.frames.length - 1 && !fi.growing && this.t - fi.origin > fi.frames[n] + 1000) {
        this.pause(); // the end of what was recorded
        return;
      }
      if (n < 0) n = 0;
      if (seg !== this.seg || n !== this.n) {
        await this.show(seg, fi, n, this.gen);
        this.prefetch();
      }
      this.scheduleAudio();
    } catch (e) {
      this.pause();
      toast(`playback stopped: ${e.message}`);
    } finally {
      this.busy = false;
    }
  }

  restartAt(t) { this.t = t; this.restartClock(); }

  // -- audio -----------------------------------------------------------------------------------

  audioOn() { return this.audio && this.audio.state === "running" && this.speed <= 2 && !this.ui.mute.checked; }

  // the wall time being heard now (the chunk playing, from the audio clock)
  audioTime() {
    const now = this.audio.currentTime;
    let best = null;
    for (const s of this.sources) if (s.ctxStart <= now) best = s;
    if (!best) return NaN;
    return best.wallStart + (now - best.ctxStart) * 1000 * this.speed;
  }

  scheduleAudio() {
    if (!this.playing || !this.audioOn() || !this.fi || !this.fi.audio) return;
    const horizon = this.t + CHUNK_MS * this.speed * 1.5;
    let from = this.scheduledTo ?? this.t;
    if (from >= horizon || this.loadingAudio) return;
    const fi = this.fi;
    const fileFrom = Math.max(0, Math.floor(from - fi.origin));
    const end = fi.origin + Math.max(fi.audio_end, fi.frames.at(-1));
    if (fi.origin + fileFrom >= end) return;
    const fileTo = Math.min(fileFrom + CHUNK_MS, Math.ceil(end - fi.origin));
    this.scheduledTo = fi.origin + fileTo;
    this.loadingAudio = true;
    const gen = this.gen, anchorClock = this.anchorClock, anchorT = this.anchorT;
    fetch(`/ui/api/recordings/${fi.id}/audio.wav?${q({ from: fileFrom, to: fileTo })}`, { credentials: "same-origin" })
      .then((r) => r.arrayBuffer())
      .then((buf) => {
        if (gen !== this.gen || anchorClock !== this.anchorClock || !this.playing) return;
        const view = new DataView(buf);
        const rate = view.getUint32(24, true);
        const count = (buf.byteLength - 44) >> 1;
        const audioBuf = this.audio.createBuffer(1, Math.max(1, count), rate);
        const ch = audioBuf.getChannelData(0);
        for (let i = 0; i < count; i++) ch[i] = view.getInt16(44 + 2 * i, true) / 32768;
        const wallStart = fi.origin + fileFrom;
        const ctxStart = (anchorClock + (wallStart - anchorT) / this.speed) / 1000;
        const src = this.audio.createBufferSource();
        src.buffer = audioBuf;
        src.playbackRate.value = this.speed;
        src.connect(this.audio.destination);
        const now = this.audio.currentTime;
        if (ctxStart >= now) src.start(ctxStart);
        else src.start(now, ((now - ctxStart) * this.speed));
        const s = { src, wallStart, ctxStart };
        this.sources.push(s);
        src.onended = () => { this.sources = this.sources.filter((x) => x !== s); };
      })
      .catch(() => { this.scheduledTo = null; })
      .finally(() => { this.loadingAudio = false; });
  }

  stopAudio() {
    for (const s of this.sources) { try { s.src.stop(); } catch { /* not started */ } }
    this.sources = [];
    this.scheduledTo = null;
  }

  async nextIncident() {
    const from = this.t + 1;
    for (let d = 0; d < 7; d++) {
      const day = new Date(from + d * 864e5).toISOString().slice(0, 10);
      const tl = await get(`/ui/api/timeline?${q({ camera: this.camera, day })}`);
      const next = tl.incidents.find((i) => i.start > from);
      if (next) { await this.seek(next.start); return; }
    }
    toast("no later incident within a week");
  }
}

export async function playerPage(main, params) {
  const opened = performance.now();
  let camera = params.get("camera");
  let t = Number(params.get("t")) || null;
  let zone = "UTC";
  if (params.get("incident")) {
    const inc = await get(`/ui/api/incidents/${encodeURIComponent(params.get("incident"))}`);
    camera = inc.camera; t = inc.start; zone = inc.zone;
  }
  const cams = (await get("/ui/api/cameras")).cameras;
  const cam = cams.find((c) => c.name === camera) || cams[0];
  if (!cam) { main.append(el("p", {}, "No cameras.")); return null; }
  camera = cam.name; zone = cam.zone;
  const ui = {
    canvas: el("canvas", { id: "frame", width: 640, height: 480, tabindex: "0", "aria-label": `recording of ${camera}` }),
    time: el("output", { id: "ptime", "aria-live": "off" }),
    frameInfo: el("span", { class: "muted" }),
    play: el("button", { type: "button", id: "play", "aria-pressed": "false" }, "Play"),
    speed: el("select", { id: "speed", "aria-label": "speed" }, SPEEDS.map((s) => el("option", { value: s }, `${s}×`))),
    scrub: el("input", { type: "range", min: 0, max: 100000, "aria-label": "position in the day" }),
    mute: el("input", { type: "checkbox", id: "mute" }),
    go: el("input", { id: "goto", type: "text", placeholder: "YYYY-MM-DD HH:MM:SS.mmm", "aria-label": "go to time" }),
  };
  ui.speed.value = "1";
  const p = new Player(camera, zone, ui);
  window.recorderdPlayer = p; // for the browser tests and the benchmark
  p.stats.opened = opened;
  const exportFrom = el("input", { type: "text", "aria-label": "export from", placeholder: "from" });
  const exportTo = el("input", { type: "text", "aria-label": "export to", placeholder: "to" });
  const exportMp4 = el("button", { type: "button", disabled: !cam.mp4 ? true : null,
    title: cam.mp4 ? "" : "MP4 export needs ffmpeg, which is not installed on the server" }, "Export MP4");
  const exportMkv = el("button", { type: "button" }, "Export MKV");
  const download = el("a", { class: "button", href: "#", download: "" }, "Download MKV");
  ui.download = download;
  main.append(
    el("h1", {}, `Player · ${camera}`, el("small", { class: "muted" }, ` (${zone})`)),
    el("div", { class: "stage" }, ui.canvas),
    el("div", { class: "bar" }, ui.time, " ", ui.frameInfo),
    el("div", { class: "controls" },
      el("button", { type: "button", id: "back1", "aria-label": "one frame back", onclick: () => p.step(-1) }, "◀ 1"),
      ui.play,
      el("button", { type: "button", id: "fwd1", "aria-label": "one frame forward", onclick: () => p.step(1) }, "1 ▶"),
      ui.speed,
      el("button", { type: "button", id: "nextinc", onclick: () => p.nextIncident() }, "Next incident"),
      el("label", {}, ui.mute, " mute")),
    el("form", { class: "filters", onsubmit: (e) => {
      e.preventDefault();
      const when = parseZoned(ui.go.value, zone);
      if (when === null) toast("time: YYYY-MM-DD HH:MM:SS.mmm"); else p.seek(when);
    } }, ui.go, el("button", { type: "submit" }, "Go")),
    ui.scrub,
    el("details", { class: "export" }, el("summary", {}, "Download and export"),
      el("p", {}, download),
      el("p", {}, exportFrom, " – ", exportTo, " ", exportMkv, " ", exportMp4),
      cam.mp4 ? null : el("p", { class: "muted" }, "MP4 export needs ffmpeg, which is not installed on the server.")),
  );
  ui.play.addEventListener("click", () => (p.playing ? p.pause() : p.play()));
  ui.speed.addEventListener("change", () => p.setSpeed(Number(ui.speed.value)));
  ui.mute.addEventListener("change", () => { if (p.playing) p.restartClock(); });
  ui.scrub.addEventListener("change", () => {
    const [a, b] = p.span();
    p.seek(a + (Number(ui.scrub.value) / 100000) * (b - a));
  });
  const doExport = (fmt) => {
    const a = parseZoned(exportFrom.value, zone), b = parseZoned(exportTo.value, zone);
    if (a === null || b === null) { toast("export: from and to as YYYY-MM-DD HH:MM:SS"); return; }
    location.href = `/ui/api/cameras/${encodeURIComponent(camera)}/export?${q({ from: a, to: b, format: fmt })}`;
  };
  exportMkv.addEventListener("click", () => doExport("mkv"));
  exportMp4.addEventListener("click", () => doExport("mp4"));
  const keys = (e) => {
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
    const k = e.key;
    if (k === " " || k === "k") { e.preventDefault(); p.playing ? p.pause() : p.play(); }
    else if (k === "ArrowLeft" || k === ",") { e.preventDefault(); p.step(-1); }
    else if (k === "ArrowRight" || k === ".") { e.preventDefault(); p.step(1); }
    else if (k === "n") p.nextIncident();
    else if (k === "]" || k === "[") {
      const i = SPEEDS.indexOf(p.speed) + (k === "]" ? 1 : -1);
      if (i >= 0 && i < SPEEDS.length) p.setSpeed(SPEEDS[i]);
    }
  };
  document.addEventListener("keydown", keys);
  await p.seek(t ?? Date.now() - 60e3);
  const fi = p.fi;
  if (fi) {
    exportFrom.value = fmtFull(p.t, zone).slice(0, 19);
    exportTo.value = fmtFull(p.t + 60e3, zone).slice(0, 19);
    ui.frameInfo.title = `recording ${fi.id}, ${fmtDuration(fi.frames.at(-1))}`;
  }
  return () => { p.pause(); document.removeEventListener("keydown", keys); if (p.audio) p.audio.close(); };
}
