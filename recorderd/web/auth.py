"""Sessions of the web UI: a login with the endpoint's bearer token sets an HttpOnly, SameSite=Strict
cookie; requests that change state must also carry the session's CSRF token in a header.

A bearer token in the Authorization header (scripts, curl) needs neither: no browser adds it on its
own, so it cannot be forged across sites. Without a configured token the endpoint is open (loopback
only, as check-config requires); the UI then needs no login and the CSRF token is one per process.
"""

from __future__ import annotations

import hmac
import secrets
from collections import OrderedDict
from dataclasses import dataclass

from starlette.requests import Request

from recorderd.core.endpoint import CSRF_HEADER

COOKIE = "recorderd_session"
MAX_SESSIONS = 64  # bound: sessions kept; the oldest is dropped (logged out) past it
SESSION_TTL = 12 * 3600.0
FAILURE_WINDOW = 10.0
MAX_FAILURES = 5  # bound: wrong tokens per FAILURE_WINDOW before logins are refused (429)
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(slots=True)
class Session:
    csrf: str
    expires: float


class Sessions:
    def __init__(self, token: str | None) -> None:
        self.token = token
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._failures: list[float] = []
        # without a token there are no logins; one CSRF token for every page of this process
        self.open_csrf = secrets.token_urlsafe(24)

    @property
    def required(self) -> bool:
        return bool(self.token)

    def login(self, given: str, now: float) -> tuple[str, Session] | None:
        """A new session for the right token; None for a wrong one."""
        if not self.token or not hmac.compare_digest(given.encode(), self.token.encode()):
            self._failures.append(now)
            return None
        sid = secrets.token_urlsafe(32)
        s = self._sessions[sid] = Session(secrets.token_urlsafe(24), now + SESSION_TTL)
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)
        return sid, s

    def throttled(self, now: float) -> bool:
        """Too many wrong tokens lately (guessing): refuse logins for a while."""
        self._failures = [t for t in self._failures if t > now - FAILURE_WINDOW][-MAX_FAILURES:]
        return len(self._failures) >= MAX_FAILURES

    def logout(self, request: Request) -> None:
        self._sessions.pop(request.cookies.get(COOKIE, ""), None)

    def session(self, request: Request, now: float) -> Session | None:
        sid = request.cookies.get(COOKIE)
        s = self._sessions.get(sid) if sid else None
        if s is None:
            return None
        if s.expires < now:
            del self._sessions[sid]  # type: ignore[arg-type]
            return None
        return s

    def csrf_for(self, request: Request, now: float) -> str | None:
        """The CSRF token the page must send: its session's, or the process's one when open."""
        if not self.required:
            return self.open_csrf
        s = self.session(request, now)
        return s.csrf if s is not None else None

    def authorized(self, request: Request, now: float) -> bool:
        """A request admitted by its session cookie; one that changes state also needs the
        session's CSRF token in the X-Recorderd-CSRF header."""
        if not self.required:
            return False  # open endpoint: the endpoint admits it by itself
        s = self.session(request, now)
        if s is None:
            return False
        return request.method in SAFE or csrf_ok(request, s.csrf)


def csrf_ok(request: Request, expected: str) -> bool:
    return hmac.compare_digest(request.headers.get(CSRF_HEADER, "").encode(), expected.encode())
