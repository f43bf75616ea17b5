"""Names the HTTP endpoint's two halves share: the guard (service/guard.py) and the web UI
(web/auth.py) are sibling layers, and a page's same-origin proof must be the one header both read."""

from __future__ import annotations

# A state-changing request carries it: a cross-site page cannot send a custom header without a
# CORS preflight, which the endpoint never answers.
CSRF_HEADER = "x-recorderd-csrf"
