"""Logging: readable lines on stderr (with the time, unless journald adds it) or JSON lines; secrets masked."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal, TextIO

if TYPE_CHECKING:
    from recorderd.config.model import LogLevel

LogFormat = Literal["text", "json"]
_MASK = "***"


class SecretFilter(logging.Filter):
    """Masks every registered secret in the final message: a last line of defence, not the first."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def add(self, secrets: Iterable[str | None]) -> None:
        self.secrets.update(s for s in secrets if s and len(s) >= 3)

    def mask(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, _MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            msg = record.getMessage()
            masked = self.mask(msg)
            if masked != msg:
                record.msg, record.args = masked, None
            if record.exc_info and not record.exc_text:
                # Formatters reuse exc_text once it is set, so the traceback is masked too.
                record.exc_text = self.mask(_PLAIN.formatException(record.exc_info))
            if record.stack_info:
                record.stack_info = self.mask(record.stack_info)
        return True


_PLAIN = logging.Formatter()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("camera", "target", "incident"):
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info or record.exc_text:
            out["exception"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(out, ensure_ascii=False)


SECRETS = SecretFilter()


TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"
# local time, as the recordings' names and `recordings list` show it
TIMED_FORMAT = "%(asctime)s.%(msecs)03d " + TEXT_FORMAT
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def to_journal(stream: TextIO) -> bool:
    """True when `stream` is connected to journald, which stamps every line itself: systemd then
    sets JOURNAL_STREAM to the stream's "device:inode" (systemd.exec(5))."""
    wanted = os.environ.get("JOURNAL_STREAM")
    if not wanted:
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is an OSError
        return False
    return wanted == f"{st.st_dev}:{st.st_ino}"


def setup_logging(
    level: LogLevel = "info",
    fmt: LogFormat = "text",
    stream: TextIO | None = None,
    *,
    timestamps: bool | None = None,
) -> None:
    """Log lines to `stream` (stderr). Text lines carry the time unless `timestamps` is False, or
    it is None (the default) and the stream goes to journald."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.addFilter(SECRETS)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    elif timestamps or (timestamps is None and not to_journal(stream)):
        handler.setFormatter(logging.Formatter(TIMED_FORMAT, TIME_FORMAT))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # recorderd.http is hypercorn's own log: its "Running on ... (CTRL + C to quit)" repeats the
    # daemon's "HTTP endpoint on ..."; its warnings and errors still show
    for noisy in ("httpx", "httpcore", "hpack", "aioftp", "aiosmtplib", "hypercorn.access", "recorderd.http"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
