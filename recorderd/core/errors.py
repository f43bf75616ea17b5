"""One root for the failures recorderd expects, and one way to say any failure safely.

An expected failure (a camera that refuses, a config that is wrong, a full disk, a broker that is
down) reaches the user as one line that names the thing and the cause, never as a traceback, and
never with a secret in it: credentials ride in URLs (Foscam's `user=&pwd=` query) and in the texts
of the libraries' own exceptions, so a text that may hold a URL is replaced by the exception's class.
"""

from __future__ import annotations

import socket
import ssl


class RecorderdError(Exception):
    """Root of the errors recorderd raises for expected failures; `str(e)` is safe to show as it is."""


def _first_line(text: str, limit: int) -> str:
    return text.strip().split("\n", 1)[0][:limit]


def safe_reason(e: BaseException, *, limit: int = 200) -> str:
    """A one-line reason for any exception, safe to log and to show.

    recorderd's own errors say what they say; OS, TLS and name-resolution errors give their words;
    any other exception gives its class and the first line of its text, unless that line may hold
    a URL (and with it a password), when the class alone is given.
    """
    if isinstance(e, RecorderdError):
        return _first_line(str(e), limit) or type(e).__name__
    if isinstance(e, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {e.verify_message or getattr(e, 'reason', None) or e}"
    if isinstance(e, ssl.CertificateError):
        return f"TLS certificate does not match the host: {e}"
    if isinstance(e, ssl.SSLError):
        return f"TLS error: {getattr(e, 'reason', None) or e.strerror or type(e).__name__}"
    if isinstance(e, socket.gaierror):
        return f"cannot resolve the host name: {e.strerror or e}"
    if isinstance(e, TimeoutError):
        return "timed out"
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    text = _first_line(str(e), limit)
    if not text or "://" in text or "?" in text:
        return type(e).__name__
    return f"{type(e).__name__}: {text}"


class UnknownCamera(RecorderdError, LookupError):
    """A control (MQTT command, HTTP API) named a camera that is not running."""


def expected_failure(exc: BaseException) -> RecorderdError | None:
    """The first of recorderd's own errors in `exc`: trio's nurseries wrap what their tasks raise
    in exception groups, so `except RecorderdError` alone misses an error raised in a task."""
    if isinstance(exc, RecorderdError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for sub in exc.exceptions:
            if (found := expected_failure(sub)) is not None:
                return found
    return None
