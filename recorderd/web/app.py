"""The UI's routes on the daemon's endpoint: pages, login, and the JSON, media and event API.

    /ui/                       the pages (one document; hash routes: cameras, timeline, events, play)
    /ui/login                  the login form (only when the endpoint has a token)
    /ui/static/<file>          scripts and styles of the package
    /ui/api/...                what the pages read (guarded by the endpoint: token or session)

Arming, manual trigger and snapshot are the endpoint's own /api routes; the pages call them with
the session's CSRF token in a header.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import trio
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from recorderd.actions.runtime import OUTBOX_FILE
from recorderd.cameras.live import TooManyViewers
from recorderd.core.errors import UnknownCamera
from recorderd.recording.export import ExportError
from recorderd.recording.index import IncidentRow, RecordingRow
from recorderd.web import auth
from recorderd.web.assets import Assets, secured
from recorderd.web.exports import Exporter, ExportFormat, mp4_available
from recorderd.web.media import Media, NotFound
from recorderd.web.outcomes import read_outcomes
from recorderd.web.source import UiSource
from recorderd.web.streams import MAX_SSE, SSE_QUEUE, EventStreams, mjpeg_response

Handler = Callable[[Request], Awaitable[Response]]
Guard = Callable[[Handler], Handler]
MAX_LIST = 1000  # bound: rows in one list answer
_EXPORT_FORMATS: dict[str, ExportFormat] = {"mkv": "mkv", "mp4": "mp4"}


def _ms(t: datetime | None) -> float | None:
    return None if t is None else t.timestamp() * 1000.0


def _at(ms: str | None) -> datetime | None:
    return None if ms in (None, "") else datetime.fromtimestamp(float(ms) / 1000.0, UTC)


def incident_json(r: IncidentRow) -> dict[str, Any]:
    return {**r.as_json(), "start": _ms(r.start), "end": _ms(r.end)}  # times as epoch ms for the pages


def recording_json(r: RecordingRow) -> dict[str, Any]:
    return {
        "id": r.id,
        "camera": r.camera,
        "start": _ms(r.start),
        "end": _ms(r.end),
        "frames": r.frames,
        "bytes": r.bytes,
        "reason": r.reason,
        "incident": r.incident,
        "complete": r.complete,
    }


def _json(data: Any, status: int = 200) -> Response:
    return secured(JSONResponse(data, status_code=status, headers={"Cache-Control": "no-store"}))


def _error(message: str, status: int) -> Response:
    return _json({"error": message}, status)


class WebUi:
    def __init__(self, source: UiSource, token: str | None) -> None:
        self.source = source
        self.sessions = auth.Sessions(token)
        self.assets = Assets()
        self.events = EventStreams()
        self._media: Media | None = None
        self._exporter: Exporter | None = None

    # -- what the endpoint asks ------------------------------------------------------------

    def authorized(self, request: Request) -> bool:
        """A request the session cookie admits (CSRF token included where it changes state)."""
        return self.sessions.authorized(request, time.monotonic())

    def routes(self, guard: Guard) -> list[BaseRoute]:
        g = guard
        return [
            Route("/", self.root),
            Route("/ui", self.root),
            Route("/ui/", self.page),
            Route("/ui/login", self.login_page),
            Route("/ui/static/{name:path}", self.static),
            Route("/ui/api/session", self.session),
            Route("/ui/api/login", self.login, methods=["POST"]),
            Route("/ui/api/logout", g(self.logout), methods=["POST"]),
            Route("/ui/api/cameras", g(self.cameras)),
            Route("/ui/api/cameras/{camera}/live.mjpg", g(self.live)),
            Route("/ui/api/cameras/{camera}/export", g(self.export)),
            Route("/ui/api/events", g(self.event_stream)),
            Route("/ui/api/incidents", g(self.incidents)),
            Route("/ui/api/incidents/{incident}", g(self.incident)),
            Route("/ui/api/timeline", g(self.timeline)),
            Route("/ui/api/recordings", g(self.recordings)),
            Route("/ui/api/recordings/{rid:int}/index", g(self.recording_index)),
            Route("/ui/api/recordings/{rid:int}/frames/{n:int}", g(self.frame)),
            Route("/ui/api/recordings/{rid:int}/frame", g(self.frame_at)),
            Route("/ui/api/recordings/{rid:int}/audio.wav", g(self.audio)),
            Route("/ui/api/recordings/{rid:int}/file", g(self.download)),
        ]

    @property
    def media(self) -> Media:
        if self._media is None or self._media.index is not self.source.index():
            self._media = Media(self.source.index())
        return self._media

    # -- pages -----------------------------------------------------------------------------

    async def root(self, request: Request) -> Response:
        return RedirectResponse("/ui/", status_code=307)

    async def page(self, request: Request) -> Response:
        return self.assets.response("index.html", request)

    async def login_page(self, request: Request) -> Response:
        return self.assets.response("login.html", request)

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name in ("index.html", "login.html"):
            return _error("not found", 404)
        return self.assets.response(name, request)

    # -- session ---------------------------------------------------------------------------

    async def session(self, request: Request) -> Response:
        now = time.monotonic()
        csrf = self.sessions.csrf_for(request, now)
        return _json({"login": self.sessions.required, "ok": csrf is not None, "csrf": csrf})

    async def login(self, request: Request) -> Response:
        now = time.monotonic()
        if not self.sessions.required:
            return _json({"ok": True, "csrf": self.sessions.open_csrf})
        origin = request.headers.get("origin")
        if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host", ""):
            return _error("a login from another site's page is refused", 403)
        if self.sessions.throttled(now):
            return _error("too many wrong tokens; wait a few seconds", 429)
        try:
            body = await request.json()
            given = str(body.get("token", "")) if isinstance(body, dict) else ""
        except ValueError:
            given = ""
        made = self.sessions.login(given, now)
        if made is None:
            await trio.sleep(0.25)  # a guess costs time
            return _error("wrong token", 401)
        sid, s = made
        r = _json({"ok": True, "csrf": s.csrf})
        r.set_cookie(
            auth.COOKIE,
            sid,
            max_age=int(auth.SESSION_TTL),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return r

    async def logout(self, request: Request) -> Response:
        self.sessions.logout(request)
        r = _json({"ok": True})
        r.delete_cookie(auth.COOKIE, path="/", httponly=True, samesite="strict")
        return r

    # -- cameras and events ------------------------------------------------------------------

    def _zone(self, camera: str | None) -> str:
        cfg = self.source.config()
        cam = cfg.cameras.get(camera) if camera else None
        return (cam.timezone if cam is not None else None) or cfg.daemon.timezone

    async def cameras(self, request: Request) -> Response:
        status = self.source.status().get("cameras", {})
        cfg = self.source.config()
        index = self.source.index()

        def last() -> dict[str, IncidentRow | None]:
            return {c: next(iter(index.recent_incidents(c, limit=1)), None) for c in status}

        latest = await trio.to_thread.run_sync(last)
        out = []
        for name, st in status.items():
            cc = cfg.cameras.get(name)
            inc = latest.get(name)
            out.append(
                {
                    "name": name,
                    "zone": self._zone(name),
                    "record": cc.record.mode if cc is not None else None,
                    "connected": st.get("connected", False),
                    "armed": st.get("armed", False),
                    "override": st.get("override", "auto"),
                    "privacy": st.get("privacy", False),
                    "schedule_armed": st.get("schedule_armed", True),
                    "fps": st.get("fps", 0.0),
                    "incident": st.get("incident"),
                    "last_incident": incident_json(inc) if inc is not None else None,
                }
            )
        return _json({"cameras": out, "zone": cfg.daemon.timezone, "mp4": mp4_available()})

    async def live(self, request: Request) -> Response:
        camera = request.path_params["camera"]
        try:
            feed = self.source.live(camera)
            # the newest frame at once (from the camera's snapshot CGI when no stream is open)
            return mjpeg_response(feed, await self.source.snapshot(camera))
        except UnknownCamera:
            return _error(f"unknown camera {camera!r}", 404)
        except TooManyViewers as e:
            return _error(str(e), 503)

    async def event_stream(self, request: Request) -> Response:
        if self.events.open >= MAX_SSE:
            return _error(f"at most {MAX_SSE} event streams at once", 503)
        return self.events.response(self.source.subscribe(self.events.name(), SSE_QUEUE))

    async def incidents(self, request: Request) -> Response:
        q = request.query_params
        camera = q.get("camera") or None
        trigger = q.get("trigger") or None
        try:
            until = _at(q.get("until"))
            limit = max(1, min(MAX_LIST, int(q.get("limit", "200"))))
        except ValueError:
            return _error("until: epoch milliseconds; limit: a number", 400)
        index = self.source.index()
        state_dir = self.source.config().daemon.state_dir

        def query() -> tuple[list[IncidentRow], dict[str, Any]]:
            rows = index.recent_incidents(camera, until, limit=limit if trigger is None else MAX_LIST)
            if trigger is not None:
                rows = [
                    r for r in rows if any(t.split(":")[0] == trigger or t == trigger for t in r.triggers)
                ]
                rows = rows[:limit]
            return rows, read_outcomes(state_dir / OUTBOX_FILE, [r.id for r in rows])

        rows, outcomes = await trio.to_thread.run_sync(query)
        items = [
            {**incident_json(r), "zone": self._zone(r.camera), "actions": outcomes.get(r.id, [])}
            for r in rows
        ]
        return _json({"incidents": items})

    async def incident(self, request: Request) -> Response:
        iid = request.path_params["incident"]
        row = await trio.to_thread.run_sync(self.source.index().get_incident, iid)
        if row is None:
            return _error(f"no incident {iid!r}", 404)
        return _json({**incident_json(row), "zone": self._zone(row.camera)})

    # -- timeline and recordings -------------------------------------------------------------

    async def timeline(self, request: Request) -> Response:
        """One day (in the camera's zone, or the daemon's for all cameras): recordings and incidents."""
        q = request.query_params
        camera = q.get("camera") or None
        zone = self._zone(camera)
        try:
            day = date.fromisoformat(q["day"]) if q.get("day") else datetime.now(ZoneInfo(zone)).date()
        except ValueError:
            return _error("day: YYYY-MM-DD", 400)
        start = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone))
        end = datetime.combine(day + timedelta(days=1), start.timetz())
        index = self.source.index()

        def query() -> tuple[list[RecordingRow], list[IncidentRow]]:
            return (
                index.list_recordings(camera, start, end, limit=MAX_LIST * 10),
                index.list_incidents(camera, start, end, limit=MAX_LIST * 10),
            )

        recs, incs = await trio.to_thread.run_sync(query)
        return _json(
            {
                "day": day.isoformat(),
                "zone": zone,
                "from": _ms(start),
                "to": _ms(end),
                "cameras": sorted(self.source.cameras()) if camera is None else [camera],
                "recordings": [recording_json(r) for r in recs],
                "incidents": [incident_json(r) for r in incs],
            }
        )

    async def recordings(self, request: Request) -> Response:
        q = request.query_params
        camera = q.get("camera")
        if not camera or camera not in self.source.cameras():
            return _error("camera: a configured camera", 400)
        try:
            since, until = _at(q.get("from")), _at(q.get("to"))
        except ValueError:
            return _error("from, to: epoch milliseconds", 400)
        rows = await trio.to_thread.run_sync(
            lambda: self.source.index().list_recordings(camera, since, until, limit=MAX_LIST)
        )
        return _json(
            {"camera": camera, "zone": self._zone(camera), "recordings": [recording_json(r) for r in rows]}
        )

    async def recording_index(self, request: Request) -> Response:
        try:
            fi = await self.media.file(
                request.path_params["rid"], fresh=bool(request.query_params.get("fresh"))
            )
        except NotFound as e:
            return _error(str(e), 404)
        return _json(fi.as_json())

    async def frame(self, request: Request) -> Response:
        try:
            jpeg = await self.media.frame(request.path_params["rid"], request.path_params["n"])
        except NotFound as e:
            return _error(str(e), 404)
        # a recorded frame never changes: the browser may keep it
        headers = {"Cache-Control": "private, max-age=86400, immutable"}
        return secured(Response(jpeg, media_type="image/jpeg", headers=headers))

    async def frame_at(self, request: Request) -> Response:
        try:
            at = float(request.query_params["at"])
            if not math.isfinite(at):
                raise ValueError(at)
        except (KeyError, ValueError):
            return _error("at: a time in ms since the epoch", 400)
        try:
            shown, jpeg = await self.media.frame_at(request.path_params["rid"], at)
        except NotFound as e:
            return _error(str(e), 404)
        headers = {"X-Frame-Time": f"{shown:.3f}", "Cache-Control": "private, no-store"}
        return secured(Response(jpeg, media_type="image/jpeg", headers=headers))

    async def audio(self, request: Request) -> Response:
        q = request.query_params
        try:
            t0, t1 = int(q.get("from", "0")), int(q["to"])
            wav = await self.media.wav(request.path_params["rid"], t0, t1)
        except (KeyError, ValueError):
            return _error("from, to: milliseconds of the file", 400)
        except NotFound as e:
            return _error(str(e), 404)
        return secured(
            Response(wav, media_type="audio/wav", headers={"Cache-Control": "private, max-age=60"})
        )

    async def download(self, request: Request) -> Response:
        try:
            fi = await self.media.file(request.path_params["rid"])
        except NotFound as e:
            return _error(str(e), 404)
        name = f"{fi.row.camera}-{fi.row.start.strftime('%Y%m%dT%H%M%S')}-{fi.row.reason}.mkv"
        return secured(FileResponse(fi.path, media_type="video/x-matroska", filename=name))

    async def export(self, request: Request) -> Response:
        q = request.query_params
        fmt = _EXPORT_FORMATS.get(q.get("format", "mkv"))
        try:
            start, end = _at(q["from"]), _at(q["to"])
        except (KeyError, ValueError):
            return _error("from, to: epoch milliseconds", 400)
        if fmt is None or start is None or end is None:
            return _error("format: mkv or mp4; from and to needed", 400)
        if self._exporter is None:
            self._exporter = Exporter(self.source.index(), self.source.config().daemon.state_dir)
        try:
            path = await self._exporter.make(request.path_params["camera"], start, end, fmt)
        except ExportError as e:
            return _error(str(e), 422 if "ffmpeg" not in str(e) else 501)
        media = "video/mp4" if fmt == "mp4" else "video/x-matroska"
        task = BackgroundTask(trio.to_thread.run_sync, Exporter.remove, path)
        return secured(FileResponse(path, media_type=media, filename=path.name, background=task))
