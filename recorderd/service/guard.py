"""Who may ask the HTTP endpoint for what: pure decisions over a request's method, path and headers.

With a token (`http_token`, `http_token_file`) every route but /healthz needs `Authorization:
Bearer <token>`. A page on another site cannot send it: a browser attaches an Authorization header
cross-origin only after a CORS preflight, and this endpoint never answers one.

Without a token the endpoint listens on loopback only (the config refuses anything else), and:
- every route but /healthz needs a `Host` that is a loopback address or `localhost` (a page whose
  own domain name was re-pointed at 127.0.0.1, DNS rebinding, sends its own name);
- a state-changing request (not GET/HEAD) needs the same-origin proof: the `X-Recorderd-CSRF`
  header (any value today), and an `Origin`/`Sec-Fetch-Site`, when the browser sends them, of
  this very endpoint. A cross-site page can send a `no-cors` POST of text/plain without a
  preflight, but not with a custom header; curl and scripts simply add it.

The web UI (web/auth.py) keeps this shape: its pages send their session's CSRF token in the same
header, and the guard's `csrf_ok` compares it with the session's token.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from recorderd.core.endpoint import CSRF_HEADER

SAFE_METHODS = frozenset({"GET", "HEAD"})
OPEN_PATHS = frozenset({"/healthz", "/readyz"})  # probes carry no token


@dataclass(frozen=True, slots=True)
class Denied:
    status: int  # 401 (no or wrong token) or 403 (cross-site, foreign Host)
    reason: str


def is_loopback_host(host: str) -> bool:
    """`127.0.0.1`, `[::1]`, `localhost` (with or without a port) and other loopback literals."""
    name = host.strip().lower()
    if name.startswith("["):
        name = name[1 : name.find("]")] if "]" in name else name[1:]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _origin_of(url: str) -> tuple[str, str] | None:
    """(scheme, host[:port]) of an Origin or Referer value, lower-case; None if unreadable."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return parts.scheme.lower(), parts.netloc.lower()


@dataclass(frozen=True)
class Guard:
    token: str | None
    # the web UI's session check; by default the header's presence is the proof
    csrf_ok: Callable[[str, Mapping[str, str]], bool] = lambda value, headers: bool(value)

    def check(self, method: str, path: str, scheme: str, headers: Mapping[str, str]) -> Denied | None:
        """None when the request may go on; `headers` are lower-case names."""
        if path in OPEN_PATHS:
            return None
        if self.token:
            given = headers.get("authorization", "")
            if hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
                return None
            return Denied(401, "missing or wrong bearer token")
        host = headers.get("host", "")
        if not is_loopback_host(host):
            return Denied(403, f"Host {host[:64]!r} is not this endpoint's (loopback only without a token)")
        if method.upper() in SAFE_METHODS:
            return None
        origin = headers.get("origin")
        if origin is not None and _origin_of(origin) != (scheme.lower(), host.strip().lower()):
            return Denied(403, "cross-site request refused (Origin is not this endpoint)")
        site = headers.get("sec-fetch-site")
        if site is not None and site.lower() not in ("same-origin", "none"):
            return Denied(403, f"cross-site request refused (Sec-Fetch-Site: {site[:20]})")
        if not self.csrf_ok(headers.get(CSRF_HEADER, ""), headers):
            return Denied(
                403,
                "a state-changing request needs the bearer token or the X-Recorderd-CSRF header "
                "(curl: -H 'X-Recorderd-CSRF: 1')",
            )
        return None
