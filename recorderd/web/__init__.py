"""The web UI: live view, timeline, player, events and arming, served by the daemon's endpoint.

`WebUi(source, token)` gives the endpoint its routes and its session check (recorderd/service/
http.py `build_app(..., ui=)`); everything it shows comes from `source` (source.py). Design:
docs/webui.md.
"""

from recorderd.web.app import WebUi

__all__ = ["WebUi"]
