"""The UI's files (recorderd/web/static), read once into memory and served with a strict CSP.

Only the files that ship in the package are served, by exact name: no path from a request ever
reaches the filesystem.
"""

from __future__ import annotations

import hashlib
from importlib.resources import files

from starlette.requests import Request
from starlette.responses import Response

# No inline script or style, nothing from elsewhere; pictures and sound from blobs the page makes.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}


def secured(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


class Assets:
    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str, str]] = {}  # name -> bytes, type, etag
        root = files("recorderd.web") / "static"
        stack = [("", root)]
        while stack:
            prefix, d = stack.pop()
            for entry in d.iterdir():
                name = prefix + entry.name
                if entry.is_dir():
                    stack.append((name + "/", entry))
                    continue
                kind = TYPES.get("." + entry.name.rsplit(".", 1)[-1])
                if kind is not None:
                    data = entry.read_bytes()
                    self.files[name] = (data, kind, hashlib.sha256(data).hexdigest()[:16])

    def response(self, name: str, request: Request) -> Response:
        found = self.files.get(name)
        if found is None:
            return secured(Response("not found\n", status_code=404, media_type="text/plain"))
        data, kind, etag = found
        headers = {"ETag": f'"{etag}"', "Cache-Control": "no-cache"}
        if request.headers.get("if-none-match") == f'"{etag}"':
            return secured(Response(status_code=304, headers=headers))
        return secured(Response(data, media_type=kind, headers=headers))
